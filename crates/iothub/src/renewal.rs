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
        now_unix_secs.saturating_add(self.ttl_secs)
    }

    /// When a token issued at `issued_at` and expiring at `expiry` should be replaced:
    /// `expiry - renew_before_secs`, but never earlier than halfway through the token's
    /// lifetime, so a margin as long as the lifetime cannot cause back-to-back renewals.
    pub fn renewal_at(&self, issued_at: u64, expiry: u64) -> u64 {
        let halfway = issued_at.saturating_add(expiry.saturating_sub(issued_at) / 2);
        expiry.saturating_sub(self.renew_before_secs).max(halfway)
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
        match &self.auth {
            Authentication::SharedAccessKey { key, key_name } => {
                let expiry = policy.expiry_for(now_unix_secs);
                let token = SasToken::build(key, &self.resource_uri(), expiry, key_name.as_deref());
                Ok(IssuedToken {
                    token,
                    expires_at: expiry,
                    renew_at: Some(policy.renewal_at(now_unix_secs, expiry)),
                })
            }
            Authentication::SharedAccessSignature(token) => {
                if token.is_expired(now_unix_secs) {
                    return Err(TokenError::FixedTokenExpired {
                        expiry: token.expiry(),
                    });
                }
                Ok(IssuedToken {
                    token: token.clone(),
                    expires_at: token.expiry(),
                    renew_at: None,
                })
            }
            Authentication::X509 => Err(TokenError::X509),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn node_default_schedule() {
        let p = TokenPolicy::default();
        assert_eq!(p, TokenPolicy::new(3600, 900));
        assert_eq!(p.expiry_for(1000), 4600);
        // Renewed 45 minutes after issue.
        assert_eq!(p.renewal_at(1000, 4600), 1000 + 2700);
    }

    #[test]
    fn configurable_and_clamped() {
        // Python-like: renew 120 s before expiry.
        let p = TokenPolicy::new(3600, 120);
        assert_eq!(p.renewal_at(0, 3600), 3480);
        // A margin longer than the lifetime renews halfway, not immediately.
        let p = TokenPolicy::new(600, 900);
        assert_eq!(p.renewal_at(100, p.expiry_for(100)), 400);
        // Saturation at the top of the range.
        assert_eq!(TokenPolicy::default().expiry_for(u64::MAX), u64::MAX);
        // Expiry before issue (clock skew in the caller) does not underflow.
        assert_eq!(TokenPolicy::default().renewal_at(500, 100), 500);
    }

    #[test]
    fn issues_renewable_token_from_key() {
        let cs = ConnectionString::parse(&format!(
            "HostName=myhub.azure-devices.net;DeviceId=device1;SharedAccessKey={KEY}"
        ))
        .unwrap();
        let issued = cs
            .issue_token(&TokenPolicy::new(3600, 900), 1_699_996_400)
            .unwrap();
        assert_eq!(issued.expires_at, 1_700_000_000);
        assert_eq!(issued.renew_at, Some(1_699_999_100));
        // Same inputs as the §3.5 device vector.
        assert_eq!(
            issued.token.expose(),
            "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdevice1&sig=gFSfLGMXDOvf906%2FiaX3KwzLLNFHgaFZyCbsGjxtd1Y%3D&se=1700000000"
        );
    }

    #[test]
    fn policy_key_and_module_tokens() {
        let cs = ConnectionString::parse(&format!(
            "HostName=myhub.azure-devices.net;DeviceId=device1;ModuleId=module1;SharedAccessKeyName=device;SharedAccessKey={KEY};GatewayHostName=gw"
        ))
        .unwrap();
        let t = cs
            .issue_token(&TokenPolicy::default(), 1_699_996_400)
            .unwrap()
            .token;
        assert_eq!(t.key_name(), Some("device"));
        // Resource uses HostName even with a gateway.
        assert_eq!(
            t.resource_uri(),
            "myhub.azure-devices.net%2Fdevices%2Fdevice1%2Fmodules%2Fmodule1"
        );
        assert!(t.expose().ends_with("&se=1700000000&skn=device"));
    }

    #[test]
    fn fixed_token_is_not_renewable() {
        let token = "SharedAccessSignature sr=h%2Fdevices%2Fd&sig=abc&se=2000";
        let cs = ConnectionString::parse(&format!(
            "HostName=h;DeviceId=d;SharedAccessSignature={token}"
        ))
        .unwrap();
        assert!(!cs.is_token_renewable());
        let issued = cs.issue_token(&TokenPolicy::default(), 1000).unwrap();
        assert_eq!(issued.renew_at, None);
        assert_eq!(issued.expires_at, 2000);
        assert_eq!(issued.token.expose(), token);
        assert_eq!(
            cs.issue_token(&TokenPolicy::default(), 2000),
            Err(TokenError::FixedTokenExpired { expiry: 2000 })
        );
    }

    #[test]
    fn x509_has_no_token() {
        let cs = ConnectionString::parse("HostName=h;DeviceId=d;x509=true").unwrap();
        assert_eq!(
            cs.issue_token(&TokenPolicy::default(), 0),
            Err(TokenError::X509)
        );
    }
}
