//! Device and module connection strings (§2.2).

use core::fmt;

use crate::ids::{DeviceId, ModuleId};
use crate::sas::{SasKey, SasToken};

/// Connection-string key names, exactly as spelled on the wire (case-sensitive).
pub mod keys {
    /// Hub FQDN (required).
    pub const HOST_NAME: &str = "HostName";
    /// Device identity (required).
    pub const DEVICE_ID: &str = "DeviceId";
    /// Module identity (optional).
    pub const MODULE_ID: &str = "ModuleId";
    /// Base64 symmetric key.
    pub const SHARED_ACCESS_KEY: &str = "SharedAccessKey";
    /// Policy name (`skn`), only together with `SharedAccessKey`.
    pub const SHARED_ACCESS_KEY_NAME: &str = "SharedAccessKeyName";
    /// Ready-made SAS token (not renewable).
    pub const SHARED_ACCESS_SIGNATURE: &str = "SharedAccessSignature";
    /// Host to connect to instead of `HostName` (gateway).
    pub const GATEWAY_HOST_NAME: &str = "GatewayHostName";
    /// `true` → X.509 client certificate authentication.
    pub const X509: &str = "x509";
    /// All known keys.
    pub const ALL: [&str; 8] = [
        HOST_NAME,
        DEVICE_ID,
        MODULE_ID,
        SHARED_ACCESS_KEY,
        SHARED_ACCESS_KEY_NAME,
        SHARED_ACCESS_SIGNATURE,
        GATEWAY_HOST_NAME,
        X509,
    ];
}

/// Why a connection string was rejected. Every variant that concerns a key names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionStringError {
    /// The string is empty or only separators.
    #[error("connection string is empty")]
    Empty,
    /// A `;`-separated segment has no `=`. The segment text is not echoed: it may be a secret.
    #[error("segment {index} of the connection string has no '='")]
    MissingEquals {
        /// Zero-based segment index (empty segments counted).
        index: usize,
    },
    /// A key that is not one of the known (case-sensitive) names.
    #[error("unknown connection string key '{key}'")]
    UnknownKey {
        /// The key as written.
        key: String,
    },
    /// A key given twice.
    #[error("connection string key '{key}' is given more than once")]
    DuplicateKey {
        /// The repeated key.
        key: &'static str,
    },
    /// A required key is absent.
    #[error("connection string is missing '{key}'")]
    MissingKey {
        /// The missing key.
        key: &'static str,
    },
    /// A key has an empty value.
    #[error("connection string key '{key}' has an empty value")]
    EmptyValue {
        /// The key.
        key: &'static str,
    },
    /// A key has a value that does not parse (bad id, bad base64, bad token, x509 not `true`).
    #[error("connection string key '{key}' has an invalid value: {reason}")]
    InvalidValue {
        /// The key.
        key: &'static str,
        /// What is wrong (never contains the value of a secret).
        reason: String,
    },
    /// Two keys that must not appear together.
    #[error("connection string keys '{first}' and '{second}' cannot be combined")]
    InvalidCombination {
        /// First key.
        first: &'static str,
        /// Second key.
        second: &'static str,
    },
    /// None of `SharedAccessKey`, `SharedAccessSignature`, `x509=true`.
    #[error("connection string needs one of 'SharedAccessKey', 'SharedAccessSignature' or 'x509'")]
    MissingCredential,
}

impl ConnectionStringError {
    /// The key this error is about, if any.
    pub fn key(&self) -> Option<&str> {
        todo!()
    }
}

/// How the device authenticates.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Authentication {
    /// A symmetric key; tokens are generated (and renewed) from it. `key_name` is set for a
    /// shared access policy key and becomes `skn`.
    SharedAccessKey {
        /// The key (redacting `Debug`).
        key: SasKey,
        /// Policy name (`SharedAccessKeyName`), `None` for a device/module key.
        key_name: Option<String>,
    },
    /// A fixed, ready-made token. It cannot be renewed.
    SharedAccessSignature(SasToken),
    /// TLS client certificate (`x509=true`); no token.
    X509,
}

/// A parsed device or module connection string.
///
/// `Display` writes the string back with secrets replaced by `<redacted>`;
/// [`ConnectionString::to_connection_string`] writes the full, secret-bearing form.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConnectionString {
    /// `HostName`: the hub FQDN, used in SAS resource URIs and the MQTT user name.
    pub host_name: String,
    /// `DeviceId`.
    pub device_id: DeviceId,
    /// `ModuleId`.
    pub module_id: Option<ModuleId>,
    /// `GatewayHostName`: where the socket goes, if not `host_name`.
    pub gateway_host_name: Option<String>,
    /// The credential.
    pub auth: Authentication,
}

impl ConnectionString {
    /// Parses a connection string: `;`-separated `Key=Value` pairs split at the first `=`,
    /// case-sensitive keys, empty segments ignored, values not trimmed.
    pub fn parse(s: &str) -> Result<Self, ConnectionStringError> {
        todo!("{s}")
    }

    /// Builds a device connection string with a device key.
    pub fn with_device_key(host_name: impl Into<String>, device_id: DeviceId, key: SasKey) -> Self {
        Self {
            host_name: host_name.into(),
            device_id,
            module_id: None,
            gateway_host_name: None,
            auth: Authentication::SharedAccessKey {
                key,
                key_name: None,
            },
        }
    }

    /// The host to open the connection to: `GatewayHostName` if set, else `HostName`.
    pub fn connect_host(&self) -> &str {
        todo!()
    }

    /// The raw (unencoded) SAS resource URI of this identity:
    /// `{HostName}/devices/{d}` or `{HostName}/devices/{d}/modules/{m}`.
    pub fn resource_uri(&self) -> String {
        todo!()
    }

    /// True when tokens can be generated from a key (so they can be renewed).
    pub fn is_token_renewable(&self) -> bool {
        todo!()
    }

    /// The full connection string including secrets. Do not log the result.
    pub fn to_connection_string(&self) -> String {
        todo!()
    }
}

impl core::str::FromStr for ConnectionString {
    type Err = ConnectionStringError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for ConnectionString {
    /// The connection string with `SharedAccessKey` / `SharedAccessSignature` redacted.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}
