//! Shared access signature tokens (§3): build, parse, verify.

use core::fmt;

use base64::engine::{general_purpose, DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use hmac::{Hmac, Mac};
use percent_encoding::utf8_percent_encode;
use sha2::Sha256;

use crate::ids::{DeviceId, ModuleId};
use crate::property_bag::{decode_component, COMPONENT};
use crate::secret::Secret;

type HmacSha256 = Hmac<Sha256>;

/// Standard-alphabet base64 that accepts input with or without `=` padding (keys are
/// sometimes pasted without it).
pub(crate) const BASE64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail; the fallback keeps the code
    // panic-free without an unwrap.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| HmacSha256::new(&Default::default()))
}

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
        let bytes = BASE64_LENIENT
            .decode(key.as_bytes())
            .map_err(|_| SasError::InvalidKey)?;
        if bytes.is_empty() {
            return Err(SasError::InvalidKey);
        }
        Ok(Self {
            bytes,
            text: Secret::new(key),
        })
    }

    /// Wraps raw key bytes.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        let bytes = bytes.into();
        let text = Secret::new(general_purpose::STANDARD.encode(&bytes));
        Self { bytes, text }
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
        let mut m = mac(&self.bytes);
        m.update(message);
        m.finalize().into_bytes().into()
    }

    /// Constant-time check that `signature` is the HMAC of `message` under this key.
    fn verifies(&self, message: &[u8], signature: &[u8]) -> bool {
        let mut m = mac(&self.bytes);
        m.update(message);
        m.verify_slice(signature).is_ok()
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
    utf8_percent_encode(raw, COMPONENT).to_string()
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
        Self::build_verbatim(
            key,
            &encode_resource_uri(resource_uri),
            expiry_unix_secs,
            key_name,
        )
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
        let signature = key.sign(string_to_sign(sr, expiry_unix_secs).as_bytes());
        let sig = encode_resource_uri(&general_purpose::STANDARD.encode(signature));
        let mut raw = format!("{SAS_PREFIX} sr={sr}&sig={sig}&se={expiry_unix_secs}");
        if let Some(name) = key_name {
            raw.push_str("&skn=");
            raw.extend(utf8_percent_encode(name, COMPONENT));
        }
        Self {
            raw: Secret::new(raw),
            sr: sr.to_owned(),
            sig: Secret::new(sig),
            se: expiry_unix_secs,
            skn: key_name.map(str::to_owned),
        }
    }

    /// Parses `SharedAccessSignature sr=…&sig=…&se=…[&skn=…]` (any field order; unknown
    /// fields ignored; `sr`, `sig`, `se` required, each at most once).
    pub fn parse(token: &str) -> Result<Self, SasError> {
        let malformed = |reason| SasError::Malformed { reason };
        let mut parts = token.split_whitespace();
        if parts.next() != Some(SAS_PREFIX) {
            return Err(malformed("does not start with 'SharedAccessSignature '"));
        }
        let fields = parts
            .next()
            .ok_or(malformed("no fields after the prefix"))?;
        if parts.next().is_some() {
            return Err(malformed("more than two whitespace-separated parts"));
        }
        let (mut sr, mut sig, mut se, mut skn) = (None, None, None, None);
        for pair in fields.split('&') {
            let (name, value) = pair.split_once('=').ok_or(malformed("field without '='"))?;
            let slot = match name {
                "sr" => &mut sr,
                "sig" => &mut sig,
                "se" => &mut se,
                "skn" => &mut skn,
                // Other fields are ignored, like the SDK parsers do.
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(malformed("duplicate field"));
            }
        }
        let sr = sr
            .filter(|v| !v.is_empty())
            .ok_or(malformed("missing sr"))?;
        let sig = sig
            .filter(|v| !v.is_empty())
            .ok_or(malformed("missing sig"))?;
        let se = se.ok_or(malformed("missing se"))?;
        if se.is_empty() || !se.bytes().all(|b| b.is_ascii_digit()) {
            return Err(malformed("se is not a decimal number"));
        }
        let se: u64 = se.parse().map_err(|_| malformed("se is out of range"))?;
        let skn = match skn {
            Some(v) => Some(decode_component(v).ok_or(malformed("skn is not UTF-8"))?),
            None => None,
        };
        Ok(Self {
            raw: Secret::new(token.trim()),
            sr: sr.to_owned(),
            sig: Secret::new(sig),
            se,
            skn,
        })
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
        decode_component(&self.sr)
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
        let malformed = |reason| SasVerifyError::Malformed { reason };

        let keys: Vec<&SasKey> = match token.key_name() {
            Some(name) => {
                let key = self
                    .policies
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, k)| *k)
                    .ok_or_else(|| SasVerifyError::UnknownPolicy {
                        name: name.to_owned(),
                    })?;
                vec![key]
            }
            None => self.identity_keys.clone(),
        };

        // `sig` is percent-encoded base64; hex digits decode case-insensitively.
        let sig_b64 =
            decode_component(token.expose_signature()).ok_or(malformed("sig is not UTF-8"))?;
        let sig = BASE64_LENIENT
            .decode(sig_b64.as_bytes())
            .map_err(|_| malformed("sig is not base64"))?;
        let decoded_sr = token
            .decoded_resource_uri()
            .ok_or(malformed("sr does not decode to UTF-8"))?;

        // Primary: `sr` exactly as sent. Lenient alternatives: the decoded form and our own
        // encoding of it, for clients that sign one form and send the other.
        let mut candidates = vec![token.resource_uri().to_owned()];
        for alt in [decoded_sr.clone(), encode_resource_uri(&decoded_sr)] {
            if !candidates.contains(&alt) {
                candidates.push(alt);
            }
        }
        let signed = candidates.iter().any(|sr| {
            let msg = string_to_sign(sr, token.expiry());
            keys.iter().any(|k| k.verifies(msg.as_bytes(), &sig))
        });
        if !signed {
            return Err(SasVerifyError::BadSignature);
        }

        if token.is_expired(now_unix_secs) {
            return Err(SasVerifyError::Expired {
                expiry: token.expiry(),
                now: now_unix_secs,
            });
        }

        if !self.covers(&decoded_sr, token.key_name().is_some()) {
            return Err(SasVerifyError::WrongResource {
                expected: self.expected_resource(),
            });
        }

        Ok(VerifiedToken {
            expiry: token.expiry(),
            key_name: token.key_name().map(str::to_owned),
            resource_uri: decoded_sr,
        })
    }

    /// Parses then verifies a token string (e.g. an MQTT password).
    pub fn verify_str(
        &self,
        token: &str,
        now_unix_secs: u64,
    ) -> Result<VerifiedToken, SasVerifyError> {
        let token = SasToken::parse(token).map_err(|e| match e {
            SasError::Malformed { reason } => SasVerifyError::Malformed { reason },
            SasError::InvalidKey => SasVerifyError::Malformed {
                reason: "invalid key",
            },
        })?;
        self.verify(&token, now_unix_secs)
    }

    /// Path-segment prefix check of a decoded `sr` against this identity's resource.
    fn covers(&self, decoded_sr: &str, is_policy: bool) -> bool {
        // A trailing '/' does not add a segment.
        let sr = decoded_sr.strip_suffix('/').unwrap_or(decoded_sr);
        let got: Vec<&str> = sr.split('/').collect();
        let mut want = vec![self.host_name, "devices", self.device_id.as_str()];
        if let Some(m) = self.module_id {
            want.extend(["modules", m.as_str()]);
        }
        // An identity key speaks for its own identity only, never for the whole hub.
        let min = if is_policy { 1 } else { 3 };
        if got.len() < min || got.len() > want.len() {
            return false;
        }
        got.iter().zip(&want).enumerate().all(|(i, (g, w))| {
            if matches!(i, 0 | 1 | 3) {
                // Host names and the literal `devices` / `modules` words are not ids.
                g.eq_ignore_ascii_case(w)
            } else {
                // Ids are case-sensitive. Some clients encode the id before encoding the
                // whole URI, so accept one more level of decoding.
                g == w || decode_component(g).as_deref() == Some(*w)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = "myhub.azure-devices.net";
    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const SE: u64 = 1_700_000_000;
    const DEVICE_TOKEN: &str = "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdevice1&sig=gFSfLGMXDOvf906%2FiaX3KwzLLNFHgaFZyCbsGjxtd1Y%3D&se=1700000000";

    fn key() -> SasKey {
        SasKey::from_base64(KEY).unwrap()
    }

    fn dev(id: &str) -> DeviceId {
        DeviceId::new(id).unwrap()
    }

    #[test]
    fn key_decoding() {
        let k = key();
        assert_eq!(k.expose_bytes(), (0u8..32).collect::<Vec<_>>());
        assert_eq!(k.expose_base64(), KEY);
        // Padding is optional.
        assert_eq!(SasKey::from_base64(KEY.trim_end_matches('=')).unwrap(), k);
        assert_eq!(
            SasKey::from_bytes((0u8..32).collect::<Vec<_>>()).expose_base64(),
            KEY
        );
        assert_eq!(
            SasKey::from_base64("not base64!"),
            Err(SasError::InvalidKey)
        );
        assert_eq!(SasKey::from_base64(""), Err(SasError::InvalidKey));
        assert_eq!(format!("{k:?}"), "SasKey(<redacted>)");
    }

    #[test]
    fn node_sdk_vector() {
        // §3.5: key base64("password"), sr "uri" verbatim, se 12345.
        let k = SasKey::from_base64("cGFzc3dvcmQ=").unwrap();
        assert_eq!(k.expose_bytes(), b"password");
        assert_eq!(string_to_sign("uri", 12345), "uri\n12345");
        let t = SasToken::build_verbatim(&k, "uri", 12345, None);
        assert_eq!(
            t.expose_signature(),
            "kcWxXAK2OAaAoq2oCkaGzX2NMqDB8nCyNuq2fPYCDhk%3D"
        );
        assert_eq!(
            t.expose(),
            "SharedAccessSignature sr=uri&sig=kcWxXAK2OAaAoq2oCkaGzX2NMqDB8nCyNuq2fPYCDhk%3D&se=12345"
        );
    }

    #[test]
    fn device_token_vector() {
        let d = dev("device1");
        let uri = device_resource_uri(HOST, &d);
        assert_eq!(uri, "myhub.azure-devices.net/devices/device1");
        assert_eq!(
            encode_resource_uri(&uri),
            "myhub.azure-devices.net%2Fdevices%2Fdevice1"
        );
        let sig = key().sign(b"myhub.azure-devices.net%2Fdevices%2Fdevice1\n1700000000");
        assert_eq!(
            general_purpose::STANDARD.encode(sig),
            "gFSfLGMXDOvf906/iaX3KwzLLNFHgaFZyCbsGjxtd1Y="
        );
        let t = SasToken::build(&key(), &uri, SE, None);
        assert_eq!(t.expose(), DEVICE_TOKEN);
        let t2 = SasToken::build_with_base64_key(KEY, &uri, SE, None).unwrap();
        assert_eq!(t2, t);
        assert_eq!(
            SasToken::build_with_base64_key("%%", &uri, SE, None),
            Err(SasError::InvalidKey)
        );
    }

    #[test]
    fn module_token_vector() {
        let uri = module_resource_uri(HOST, &dev("device1"), &ModuleId::new("module1").unwrap());
        let t = SasToken::build(&key(), &uri, SE, None);
        assert_eq!(
            t.resource_uri(),
            "myhub.azure-devices.net%2Fdevices%2Fdevice1%2Fmodules%2Fmodule1"
        );
        assert_eq!(
            decode_component(t.expose_signature()).unwrap(),
            "aSJPNyCxfnEudzhZEU6yJNbVb8UQC0RdeXyc7OXVbi8="
        );
        assert_eq!(
            t.expose(),
            "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdevice1%2Fmodules%2Fmodule1&sig=aSJPNyCxfnEudzhZEU6yJNbVb8UQC0RdeXyc7OXVbi8%3D&se=1700000000"
        );
    }

    #[test]
    fn policy_token_vector() {
        // Same key used as a policy key: same sig, plus `skn`.
        let t = SasToken::build(
            &key(),
            &device_resource_uri(HOST, &dev("device1")),
            SE,
            Some("device"),
        );
        assert_eq!(t.expose(), format!("{DEVICE_TOKEN}&skn=device"));
        assert_eq!(t.key_name(), Some("device"));
    }

    #[test]
    fn c_sdk_raw_vector() {
        let t =
            SasToken::build_verbatim(&key(), "myhub.azure-devices.net/devices/device1", SE, None);
        assert_eq!(
            decode_component(t.expose_signature()).unwrap(),
            "NlrxHOPrp0Ykah29gS5LOHFu7Y/i4fWSpV//MjSnuQ8="
        );
    }

    #[test]
    fn parse_round_trip_and_debug() {
        let t = SasToken::parse(DEVICE_TOKEN).unwrap();
        assert_eq!(
            t.resource_uri(),
            "myhub.azure-devices.net%2Fdevices%2Fdevice1"
        );
        assert_eq!(
            t.decoded_resource_uri().as_deref(),
            Some("myhub.azure-devices.net/devices/device1")
        );
        assert_eq!(t.expiry(), SE);
        assert_eq!(t.key_name(), None);
        assert_eq!(t.expose(), DEVICE_TOKEN);
        assert!(t.is_expired(SE));
        assert!(!t.is_expired(SE - 1));
        let dbg = format!("{t:?}");
        assert!(!dbg.contains("gFSf"), "{dbg}");
        assert!(dbg.contains("<redacted>"), "{dbg}");
        // Field order does not matter; unknown fields are ignored; skn is decoded.
        let t2 = SasToken::parse("SharedAccessSignature se=5&x=y&skn=my%20policy&sig=abc&sr=host")
            .unwrap();
        assert_eq!(
            (t2.resource_uri(), t2.expiry(), t2.key_name()),
            ("host", 5, Some("my policy"))
        );
        assert_eq!(t2.expose_signature(), "abc");
        let t3: SasToken = format!("  {DEVICE_TOKEN}\n").parse().unwrap();
        assert_eq!(t3.expose(), DEVICE_TOKEN);
    }

    #[test]
    fn parse_rejects_malformed() {
        for bad in [
            "",
            "SharedAccessSignature",
            "sharedaccesssignature sr=a&sig=b&se=1",
            "Bearer sr=a&sig=b&se=1",
            "SharedAccessSignature sr=a&sig=b&se=1 extra",
            "SharedAccessSignature sr=a&sig=b",
            "SharedAccessSignature sig=b&se=1",
            "SharedAccessSignature sr=a&se=1",
            "SharedAccessSignature sr=&sig=b&se=1",
            "SharedAccessSignature sr=a&sig=&se=1",
            "SharedAccessSignature sr=a&sig=b&se=",
            "SharedAccessSignature sr=a&sig=b&se=-1",
            "SharedAccessSignature sr=a&sig=b&se=1.5",
            "SharedAccessSignature sr=a&sig=b&se=99999999999999999999999",
            "SharedAccessSignature sr=a&sig=b&se=1&sr=c",
            "SharedAccessSignature sr=a&sig=b&se=1&novalue",
            "SharedAccessSignature sr=a&sig=b&se=1&skn=%FF",
        ] {
            assert!(
                matches!(SasToken::parse(bad), Err(SasError::Malformed { .. })),
                "{bad:?}"
            );
        }
    }

    fn verifier<'a>(d: &'a DeviceId, k: &'a SasKey) -> SasVerifier<'a> {
        SasVerifier::new(HOST, d).identity_key(k)
    }

    #[test]
    fn verifies_sdk_token() {
        let (d, k) = (dev("device1"), key());
        let v = verifier(&d, &k).verify_str(DEVICE_TOKEN, SE - 1).unwrap();
        assert_eq!(v.expiry, SE);
        assert_eq!(v.key_name, None);
        assert_eq!(v.resource_uri, "myhub.azure-devices.net/devices/device1");
    }

    #[test]
    fn verifies_c_sdk_raw_token() {
        // Raw sr, signed raw, sig with lower-case hex escapes (C SDK).
        let (d, k) = (dev("device1"), key());
        let token = "SharedAccessSignature sr=myhub.azure-devices.net/devices/device1&sig=NlrxHOPrp0Ykah29gS5LOHFu7Y%2fi4fWSpV%2f%2fMjSnuQ8%3d&se=1700000000";
        let v = verifier(&d, &k).verify_str(token, SE - 1).unwrap();
        assert_eq!(v.resource_uri, "myhub.azure-devices.net/devices/device1");
    }

    #[test]
    fn verifies_docs_lowercase_sr_and_host_case() {
        let (d, k) = (dev("device1"), key());
        // Lower-case escapes in sr, upper-case host: signed over the sr exactly as sent.
        let t =
            SasToken::build_verbatim(&k, "MyHub.Azure-Devices.NET%2fdevices%2fdevice1", SE, None);
        assert!(verifier(&d, &k).verify(&t, 0).is_ok());
        // Signed over the decoded form but sent encoded (lenient alternative).
        let sig = encode_resource_uri(
            &general_purpose::STANDARD
                .encode(k.sign(b"myhub.azure-devices.net/devices/device1\n1700000000")),
        );
        let mixed = format!("SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdevice1&sig={sig}&se={SE}");
        assert!(verifier(&d, &k).verify_str(&mixed, 0).is_ok());
    }

    #[test]
    fn rejects_bad_signature() {
        let (d, k) = (dev("device1"), key());
        let other = SasKey::from_bytes(vec![7u8; 32]);
        assert_eq!(
            SasVerifier::new(HOST, &d)
                .identity_key(&other)
                .verify_str(DEVICE_TOKEN, 0),
            Err(SasVerifyError::BadSignature)
        );
        // No keys at all.
        assert_eq!(
            SasVerifier::new(HOST, &d).verify_str(DEVICE_TOKEN, 0),
            Err(SasVerifyError::BadSignature)
        );
        // Tampered expiry.
        let tampered = DEVICE_TOKEN.replace("se=1700000000", "se=1800000000");
        assert_eq!(
            verifier(&d, &k).verify_str(&tampered, 0),
            Err(SasVerifyError::BadSignature)
        );
        // Truncated signature.
        let t = SasToken::build_verbatim(&k, "x", 1, None);
        let short = t
            .expose()
            .replace("%3D", "")
            .replace(&t.expose_signature()[..4], "");
        assert!(verifier(&d, &k).verify_str(&short, 0).is_err());
        // The secondary key also works.
        assert!(SasVerifier::new(HOST, &d)
            .identity_key(&other)
            .identity_key(&k)
            .verify_str(DEVICE_TOKEN, 0)
            .is_ok());
    }

    #[test]
    fn rejects_malformed_sig() {
        let (d, k) = (dev("device1"), key());
        assert!(matches!(
            verifier(&d, &k).verify_str("SharedAccessSignature sr=a&sig=***&se=1", 0),
            Err(SasVerifyError::Malformed { .. })
        ));
        assert!(matches!(
            verifier(&d, &k).verify_str("SharedAccessSignature sr=a&sig=b", 0),
            Err(SasVerifyError::Malformed { .. })
        ));
    }

    #[test]
    fn rejects_expired() {
        let (d, k) = (dev("device1"), key());
        assert_eq!(
            verifier(&d, &k).verify_str(DEVICE_TOKEN, SE),
            Err(SasVerifyError::Expired {
                expiry: SE,
                now: SE
            })
        );
        assert!(matches!(
            verifier(&d, &k).verify_str(DEVICE_TOKEN, SE + 100),
            Err(SasVerifyError::Expired { .. })
        ));
    }

    #[test]
    fn rejects_wrong_resource() {
        let k = key();
        let expected_err = |d: &DeviceId| SasVerifyError::WrongResource {
            expected: device_resource_uri(HOST, d),
        };
        // Token for device1 presented by device2 (same key, to isolate the resource check).
        let d2 = dev("device2");
        assert_eq!(
            verifier(&d2, &k).verify_str(DEVICE_TOKEN, 0),
            Err(expected_err(&d2))
        );
        // Ids are case-sensitive.
        let upper = dev("Device1");
        assert_eq!(
            verifier(&upper, &k).verify_str(DEVICE_TOKEN, 0),
            Err(expected_err(&upper))
        );
        // Segment prefix, not string prefix: device1 does not cover device10.
        let d10 = dev("device10");
        assert_eq!(
            verifier(&d10, &k).verify_str(DEVICE_TOKEN, 0),
            Err(expected_err(&d10))
        );
        // Other hub.
        let d1 = dev("device1");
        let t = SasToken::build(&k, "otherhub.azure-devices.net/devices/device1", SE, None);
        assert!(matches!(
            verifier(&d1, &k).verify(&t, 0),
            Err(SasVerifyError::WrongResource { .. })
        ));
        // An identity key cannot sign a hub-wide token.
        let t = SasToken::build(&k, HOST, SE, None);
        assert!(matches!(
            verifier(&d1, &k).verify(&t, 0),
            Err(SasVerifyError::WrongResource { .. })
        ));
        // A longer resource than the identity (a module token for a device connection).
        let t = SasToken::build(
            &k,
            "myhub.azure-devices.net/devices/device1/modules/m",
            SE,
            None,
        );
        assert!(matches!(
            verifier(&d1, &k).verify(&t, 0),
            Err(SasVerifyError::WrongResource { .. })
        ));
    }

    #[test]
    fn module_and_prefix_rules() {
        let k = key();
        let d = dev("device1");
        let m = ModuleId::new("module1").unwrap();
        let module_token = SasToken::build(&k, &module_resource_uri(HOST, &d, &m), SE, None);
        let v = SasVerifier::new(HOST, &d).module(&m).identity_key(&k);
        assert!(v.verify(&module_token, 0).is_ok());
        assert_eq!(
            v.expected_resource(),
            "myhub.azure-devices.net/devices/device1/modules/module1"
        );
        // A device-level token covers the device's modules (segment prefix).
        assert!(v.verify_str(DEVICE_TOKEN, 0).is_ok());
        // Another module is not covered.
        let m2 = ModuleId::new("module2").unwrap();
        assert!(matches!(
            SasVerifier::new(HOST, &d)
                .module(&m2)
                .identity_key(&k)
                .verify(&module_token, 0),
            Err(SasVerifyError::WrongResource { .. })
        ));
        // Trailing slash is tolerated.
        let t = SasToken::build(&k, "myhub.azure-devices.net/devices/device1/", SE, None);
        assert!(verifier(&d, &k).verify(&t, 0).is_ok());
    }

    #[test]
    fn ids_needing_encoding() {
        let k = key();
        let d = dev("dev$1=a%b");
        let t = SasToken::build(&k, &device_resource_uri(HOST, &d), SE, None);
        assert_eq!(
            t.resource_uri(),
            "myhub.azure-devices.net%2Fdevices%2Fdev%241%3Da%25b"
        );
        assert!(verifier(&d, &k).verify(&t, 0).is_ok());
        // Id encoded before the whole URI was encoded (double encoding).
        let inner = format!("{HOST}/devices/{}", encode_resource_uri(d.as_str()));
        let t = SasToken::build(&k, &inner, SE, None);
        assert!(verifier(&d, &k).verify(&t, 0).is_ok());
    }

    #[test]
    fn policy_keys() {
        let device_key = key();
        let policy_key = SasKey::from_bytes(vec![9u8; 32]);
        let d = dev("device1");
        let v = SasVerifier::new(HOST, &d)
            .identity_key(&device_key)
            .policy("device", &policy_key);
        // Policy token signed with the policy key.
        let t = SasToken::build(
            &policy_key,
            &device_resource_uri(HOST, &d),
            SE,
            Some("device"),
        );
        let ok = v.verify(&t, 0).unwrap();
        assert_eq!(ok.key_name.as_deref(), Some("device"));
        // Hub-wide and gateway-wide policy tokens cover the device.
        for sr in [HOST.to_owned(), format!("{HOST}/devices")] {
            let t = SasToken::build(&policy_key, &sr, SE, Some("device"));
            assert!(v.verify(&t, 0).is_ok(), "{sr}");
        }
        // skn present but signed with the device key: the policy key is the only one tried.
        let t = SasToken::build(
            &device_key,
            &device_resource_uri(HOST, &d),
            SE,
            Some("device"),
        );
        assert_eq!(v.verify(&t, 0), Err(SasVerifyError::BadSignature));
        // Policy-signed token without skn: identity keys are tried, and fail.
        let t = SasToken::build(&policy_key, &device_resource_uri(HOST, &d), SE, None);
        assert_eq!(v.verify(&t, 0), Err(SasVerifyError::BadSignature));
        // Unknown policy.
        let t = SasToken::build(&policy_key, HOST, SE, Some("iothubowner"));
        assert_eq!(
            v.verify(&t, 0),
            Err(SasVerifyError::UnknownPolicy {
                name: "iothubowner".into()
            })
        );
    }
}
