//! Token lifetime and renewal (§3.6).

use crate::connection_string::{Authentication, ConnectionString};
use crate::sas::SasToken;

/// Token lifetime policy. The default is the Node SDK's: 3600 s tokens, renewed 900 s
/// before expiry (every 45 minutes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    /// Lifetime of a generated token, in seconds.
    pub ttl_secs: u64,
    /// How long before expiry a new token is due, in seconds.
    pub renew_before_secs: u64,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self::NODE_DEFAULT
    }
}

impl TokenPolicy {
    /// 3600 s lifetime, renewal 900 s before expiry.
    pub const NODE_DEFAULT: Self = Self {
        ttl_secs: 3600,
        renew_before_secs: 900,
    };

    /// A policy with the given lifetime and renewal margin (seconds).
    pub const fn new(ttl_secs: u64, renew_before_secs: u64) -> Self {
        Self {
            ttl_secs,
            renew_before_secs,
        }
    }

    /// Expiry (`se`) for a token issued at `now_unix_secs`.
    pub fn expiry_for(&self, now_unix_secs: u64) -> u64 {
        todo!("{now_unix_secs}")
    }

    /// When a token issued at `issued_at` and expiring at `expiry` should be replaced:
    /// `expiry - renew_before`, but never before `issued_at`.
    pub fn renewal_at(&self, issued_at: u64, expiry: u64) -> u64 {
        todo!("{issued_at}{expiry}")
    }
}

/// A token ready to present, with its schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuedToken {
    /// The token (redacting `Debug`).
    pub token: SasToken,
    /// Its `se`.
    pub expires_at: u64,
    /// When to generate the next one; `None` when the token is fixed (comes from a
    /// `SharedAccessSignature` connection string) and cannot be renewed.
    pub renew_at: Option<u64>,
}

/// Why no token could be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The connection string uses X.509; there is no token.
    #[error("the connection string uses x509 authentication; there is no SAS token")]
    X509,
    /// The fixed `SharedAccessSignature` has expired and cannot be renewed.
    #[error("the fixed SharedAccessSignature expired at {expiry} and cannot be renewed")]
    FixedTokenExpired {
        /// Its `se`.
        expiry: u64,
    },
}

impl ConnectionString {
    /// The token to present at `now_unix_secs`: a fresh one from the key, or the fixed token
    /// (with `renew_at = None`).
    pub fn issue_token(
        &self,
        policy: &TokenPolicy,
        now_unix_secs: u64,
    ) -> Result<IssuedToken, TokenError> {
        let _ = (policy, now_unix_secs, Authentication::X509);
        todo!()
    }
}
