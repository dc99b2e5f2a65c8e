//! Shared access signature tokens (§3): build, parse, verify.

use core::fmt;

use crate::ids::{DeviceId, ModuleId};
use crate::secret::Secret;

/// The literal token prefix (followed by one space).
pub const SAS_PREFIX: &str = "SharedAccessSignature";

/// Why a key or token could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SasError {
    /// The key is not valid base64 (or is empty).
    #[error("shared access key is not valid base64")]
    InvalidKey,
    /// The token text does not have the SAS token shape.
    #[error("malformed SAS token: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
}

/// Why the emulator refuses a token (§3.4 "Emulator rule").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SasVerifyError {
    /// The token text does not parse, or its `sig` is not URL-encoded base64.
    #[error("malformed SAS token: {reason}")]
    Malformed {
        /// What is wrong.
        reason: &'static str,
    },
    /// No configured key produces this signature.
    #[error("SAS signature does not match")]
    BadSignature,
    /// `se` is not after `now`.
    #[error("SAS token expired at {expiry} (now {now})")]
    Expired {
        /// The token's `se`.
        expiry: u64,
        /// The `now` passed in.
        now: u64,
    },
    /// The token's resource does not cover the identity that is connecting.
    #[error("SAS token resource does not cover {expected}")]
    WrongResource {
        /// The resource URI that needed to be covered.
        expected: String,
    },
    /// `skn` names a policy the verifier does not know.
    #[error("unknown shared access policy '{name}'")]
    UnknownPolicy {
        /// The `skn` value.
        name: String,
    },
}

/// A symmetric shared access key (the base64-decoded bytes).
///
/// `Debug` is redacted. Equality is by key bytes.
#[derive(Clone)]
pub struct SasKey {
    bytes: Vec<u8>,
    text: Secret,
}

impl SasKey {
    /// Decodes a base64 key as found in connection strings (padding optional).
    pub fn from_base64(key: &str) -> Result<Self, SasError> {
        todo!("{key}")
    }

    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        let _ = bytes;
        todo!()
    }

    /// The key bytes. Do not log them.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The key as base64 (as originally given, or standard base64 for byte keys).
    pub fn expose_base64(&self) -> &str {
        self.text.expose()
    }

    /// HMAC-SHA256 of `message` with this key.
    pub fn sign(&self, message: &[u8]) -> [u8; 32] {
        todo!("{}", message.len())
    }
}

impl PartialEq for SasKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for SasKey {}

impl fmt::Debug for SasKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SasKey(<redacted>)")
    }
}

/// The raw resource URI of a device: `{host}/devices/{deviceId}`.
pub fn device_resource_uri(host_name: &str, device_id: &DeviceId) -> String {
    format!("{host_name}/devices/{device_id}")
}

/// The raw resource URI of a module: `{host}/devices/{deviceId}/modules/{moduleId}`.
pub fn module_resource_uri(host_name: &str, device_id: &DeviceId, module_id: &ModuleId) -> String {
    format!("{host_name}/devices/{device_id}/modules/{module_id}")
}

/// URL-encodes a resource URI the way the Node SDK does (`encodeURIComponent` with `!'()*`
/// escaped too; upper-case hex): `a/b` → `a%2Fb`.
pub fn encode_resource_uri(raw: &str) -> String {
    todo!("{raw}")
}

/// The string that is signed: `sr + "\n" + se`.
pub fn string_to_sign(sr: &str, expiry_unix_secs: u64) -> String {
    format!("{sr}\n{expiry_unix_secs}")
}

/// A SAS token. `Debug` shows `sr`, `se` and `skn` but never the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SasToken {
    raw: Secret,
    sr: String,
    sig: Secret,
    se: u64,
    skn: Option<String>,
}

impl SasToken {
    /// Builds a token the SDK way: encodes `resource_uri` (raw, e.g. `host/devices/d1`),
    /// signs the encoded string, upper-case percent-encodes the signature, and emits
    /// `sr`, `sig`, `se`, then `skn` when `key_name` is given.
    pub fn build(
        key: &SasKey,
        resource_uri: &str,
        expiry_unix_secs: u64,
        key_name: Option<&str>,
    ) -> Self {
        todo!("{key:?}{resource_uri}{expiry_unix_secs}{key_name:?}")
    }

    /// Like [`SasToken::build`] with a base64 key.
    pub fn build_with_base64_key(
        key: &str,
        resource_uri: &str,
        expiry_unix_secs: u64,
        key_name: Option<&str>,
    ) -> Result<Self, SasError> {
        Ok(Self::build(
            &SasKey::from_base64(key)?,
            resource_uri,
            expiry_unix_secs,
            key_name,
        ))
    }

    /// Builds a token whose `sr` is `sr` verbatim (no encoding), signed as given. This is
    /// how the C SDK signs (raw `host/devices/id`) and how the Node unit-test vector works.
    pub fn build_verbatim(
        key: &SasKey,
        sr: &str,
        expiry_unix_secs: u64,
        key_name: Option<&str>,
    ) -> Self {
        todo!("{key:?}{sr}{expiry_unix_secs}{key_name:?}")
    }

    /// Parses `SharedAccessSignature sr=…&sig=…&se=…[&skn=…]` (any field order; unknown
    /// fields ignored; `sr`, `sig`, `se` required, each at most once).
    pub fn parse(token: &str) -> Result<Self, SasError> {
        todo!("{token}")
    }

    /// The whole token string (the MQTT password / `Authorization` header). Do not log it.
    pub fn expose(&self) -> &str {
        self.raw.expose()
    }

    /// The `sr` value exactly as in the token (possibly percent-encoded).
    pub fn resource_uri(&self) -> &str {
        &self.sr
    }

    /// The `sr` value percent-decoded (`None` if that is not UTF-8).
    pub fn decoded_resource_uri(&self) -> Option<String> {
        todo!()
    }

    /// The `sig` value as in the token (percent-encoded base64). Do not log it.
    pub fn expose_signature(&self) -> &str {
        self.sig.expose()
    }

    /// `se`: expiry in Unix seconds.
    pub fn expiry(&self) -> u64 {
        self.se
    }

    /// `skn`: the policy name, if signed with a policy key.
    pub fn key_name(&self) -> Option<&str> {
        self.skn.as_deref()
    }

    /// True when `se <= now_unix_secs`.
    pub fn is_expired(&self, now_unix_secs: u64) -> bool {
        self.se <= now_unix_secs
    }
}

impl fmt::Debug for SasToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SasToken")
            .field("sr", &self.sr)
            .field("se", &self.se)
            .field("skn", &self.skn)
            .field("sig", &"<redacted>")
            .finish()
    }
}

impl core::str::FromStr for SasToken {
    type Err = SasError;
    fn from_str(s: &str) -> Result<Self, SasError> {
        Self::parse(s)
    }
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedToken {
    /// `se` of the token: the connection must end (or re-authenticate) by then.
    pub expiry: u64,
    /// The policy used (`skn`), `None` for an identity key.
    pub key_name: Option<String>,
    /// The decoded `sr`.
    pub resource_uri: String,
}

/// Verifies tokens presented for one identity, per the emulator rule of §3.4.
///
/// * The HMAC is recomputed over `sr` exactly as it appears in the token (leniently also over
///   its decoded and re-encoded forms) and compared in constant time with the URL-decoded `sig`.
/// * Without `skn` the identity keys are tried; with `skn` only that policy's key.
/// * `se <= now` is rejected.
/// * The URL-decoded `sr` must be a path-segment prefix of the identity's resource
///   (`host/devices/{d}[/modules/{m}]`), host compared case-insensitively, ids exactly. An
///   identity key must cover at least `host/devices/{d}`.
#[derive(Debug, Clone)]
pub struct SasVerifier<'a> {
    host_name: &'a str,
    device_id: &'a DeviceId,
    module_id: Option<&'a ModuleId>,
    identity_keys: Vec<&'a SasKey>,
    policies: Vec<(&'a str, &'a SasKey)>,
}

impl<'a> SasVerifier<'a> {
    /// A verifier for device `device_id` on hub `host_name`, with no keys yet.
    pub fn new(host_name: &'a str, device_id: &'a DeviceId) -> Self {
        Self {
            host_name,
            device_id,
            module_id: None,
            identity_keys: Vec::new(),
            policies: Vec::new(),
        }
    }

    /// Verify for a module of the device instead.
    pub fn module(mut self, module_id: &'a ModuleId) -> Self {
        self.module_id = Some(module_id);
        self
    }

    /// Adds a device (or module) key, e.g. primary then secondary.
    pub fn identity_key(mut self, key: &'a SasKey) -> Self {
        self.identity_keys.push(key);
        self
    }

    /// Adds a shared access policy (with device-connect rights) by name.
    pub fn policy(mut self, name: &'a str, key: &'a SasKey) -> Self {
        self.policies.push((name, key));
        self
    }

    /// The raw resource URI this verifier expects to be covered.
    pub fn expected_resource(&self) -> String {
        match self.module_id {
            Some(m) => module_resource_uri(self.host_name, self.device_id, m),
            None => device_resource_uri(self.host_name, self.device_id),
        }
    }

    /// Verifies a parsed token at `now_unix_secs`.
    pub fn verify(
        &self,
        token: &SasToken,
        now_unix_secs: u64,
    ) -> Result<VerifiedToken, SasVerifyError> {
        todo!("{token:?}{now_unix_secs}")
    }

    /// Parses then verifies a token string (e.g. an MQTT password).
    pub fn verify_str(
        &self,
        token: &str,
        now_unix_secs: u64,
    ) -> Result<VerifiedToken, SasVerifyError> {
        todo!("{token}{now_unix_secs}")
    }
}
