//! Device and module connection strings (§2.2).

use core::fmt;

use crate::ids::{DeviceId, ModuleId};
use crate::sas::{device_resource_uri, module_resource_uri, SasKey, SasToken};

fn validate_host(host: &str, key: &'static str) -> Result<String, ConnectionStringError> {
    // A host goes verbatim into URLs, SAS resources and the MQTT user name, where any of
    // these characters would change the meaning.
    if host
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '/' | '?' | '#' | '&' | '@'))
    {
        return Err(ConnectionStringError::InvalidValue {
            key,
            reason: "not a host name".into(),
        });
    }
    Ok(host.to_owned())
}

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
    /// A `;`-separated segment is not a `Key=Value` pair: it has no `=`, or it looks like a
    /// stray value (a long "key" with nothing but `=` padding after it, e.g. a pasted base64
    /// key). The segment text is not echoed: it may be a secret.
    #[error("segment {index} of the connection string is not a Key=Value pair")]
    MalformedSegment {
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
        match self {
            Self::UnknownKey { key } => Some(key),
            Self::DuplicateKey { key }
            | Self::MissingKey { key }
            | Self::EmptyValue { key }
            | Self::InvalidValue { key, .. }
            | Self::InvalidCombination { first: key, .. } => Some(key),
            Self::Empty | Self::MalformedSegment { .. } | Self::MissingCredential => None,
        }
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
        use keys::*;
        use ConnectionStringError as E;

        // Slots in the order of `keys::ALL`.
        let mut values: [Option<&str>; 8] = [None; 8];
        let mut any = false;
        for (index, segment) in s.split(';').enumerate() {
            if segment.trim().is_empty() {
                continue;
            }
            any = true;
            let (key, value) = segment
                .split_once('=')
                .ok_or(E::MalformedSegment { index })?;
            // Keys are case-sensitive, but whitespace around them (line breaks when a string
            // is wrapped) is never part of a key.
            let key = key.trim();
            let Some(slot) = ALL.iter().position(|k| *k == key) else {
                // Only echo things that can plausibly be a mistyped key name; a bare base64
                // secret splits into a long "key" and an all-'=' value.
                let stray = key.len() > 64 || value.bytes().all(|b| b == b'=');
                return Err(if stray {
                    E::MalformedSegment { index }
                } else {
                    E::UnknownKey {
                        key: key.to_owned(),
                    }
                });
            };
            let name = ALL[slot];
            if value.is_empty() {
                return Err(E::EmptyValue { key: name });
            }
            if values[slot].replace(value).is_some() {
                return Err(E::DuplicateKey { key: name });
            }
        }
        if !any {
            return Err(E::Empty);
        }
        let [host, device, module, sak, sakn, sas, gateway, x509] = values;

        let host = host.ok_or(E::MissingKey { key: HOST_NAME })?;
        let device = device.ok_or(E::MissingKey { key: DEVICE_ID })?;

        // Invalid combinations, checked in the order the Node SDK checks them.
        let pairs = [
            (sak, SHARED_ACCESS_KEY, x509, X509),
            (sak, SHARED_ACCESS_KEY, sas, SHARED_ACCESS_SIGNATURE),
            (sas, SHARED_ACCESS_SIGNATURE, x509, X509),
            (sakn, SHARED_ACCESS_KEY_NAME, sas, SHARED_ACCESS_SIGNATURE),
            (sakn, SHARED_ACCESS_KEY_NAME, x509, X509),
        ];
        for (a, first, b, second) in pairs {
            if a.is_some() && b.is_some() {
                return Err(E::InvalidCombination { first, second });
            }
        }
        if sakn.is_some() && sak.is_none() {
            return Err(E::MissingKey {
                key: SHARED_ACCESS_KEY,
            });
        }

        let host_name = validate_host(host, HOST_NAME)?;
        let gateway_host_name = gateway
            .map(|g| validate_host(g, GATEWAY_HOST_NAME))
            .transpose()?;
        let device_id = DeviceId::new(device).map_err(|e| E::InvalidValue {
            key: DEVICE_ID,
            reason: e.to_string(),
        })?;
        let module_id = module
            .map(|m| {
                ModuleId::new(m).map_err(|e| E::InvalidValue {
                    key: MODULE_ID,
                    reason: e.to_string(),
                })
            })
            .transpose()?;

        let auth = if let Some(k) = sak {
            let key = SasKey::from_base64(k).map_err(|_| E::InvalidValue {
                key: SHARED_ACCESS_KEY,
                reason: "not valid base64".into(),
            })?;
            Authentication::SharedAccessKey {
                key,
                key_name: sakn.map(str::to_owned),
            }
        } else if let Some(t) = sas {
            let token = SasToken::parse(t).map_err(|e| E::InvalidValue {
                key: SHARED_ACCESS_SIGNATURE,
                // SasError messages are static descriptions, never token content.
                reason: e.to_string(),
            })?;
            Authentication::SharedAccessSignature(token)
        } else if let Some(x) = x509 {
            if !x.eq_ignore_ascii_case("true") {
                return Err(E::InvalidValue {
                    key: X509,
                    reason: "expected 'true'".into(),
                });
            }
            Authentication::X509
        } else {
            return Err(E::MissingCredential);
        };

        Ok(Self {
            host_name,
            device_id,
            module_id,
            gateway_host_name,
            auth,
        })
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
        self.gateway_host_name.as_deref().unwrap_or(&self.host_name)
    }

    /// The raw (unencoded) SAS resource URI of this identity:
    /// `{HostName}/devices/{d}` or `{HostName}/devices/{d}/modules/{m}`.
    pub fn resource_uri(&self) -> String {
        match &self.module_id {
            Some(m) => module_resource_uri(&self.host_name, &self.device_id, m),
            None => device_resource_uri(&self.host_name, &self.device_id),
        }
    }

    /// True when tokens can be generated from a key (so they can be renewed).
    pub fn is_token_renewable(&self) -> bool {
        matches!(self.auth, Authentication::SharedAccessKey { .. })
    }

    /// The full connection string including secrets. Do not log the result.
    pub fn to_connection_string(&self) -> String {
        self.format(false)
    }

    /// Formats in the usual key order; `redact` replaces secrets with `<redacted>`.
    fn format(&self, redact: bool) -> String {
        use keys::*;
        let secret = |s: &str| {
            if redact {
                "<redacted>".to_owned()
            } else {
                s.to_owned()
            }
        };
        let mut out = format!(
            "{HOST_NAME}={};{DEVICE_ID}={}",
            self.host_name, self.device_id
        );
        if let Some(m) = &self.module_id {
            out.push_str(&format!(";{MODULE_ID}={m}"));
        }
        match &self.auth {
            Authentication::SharedAccessKey { key, key_name } => {
                if let Some(n) = key_name {
                    out.push_str(&format!(";{SHARED_ACCESS_KEY_NAME}={n}"));
                }
                out.push_str(&format!(
                    ";{SHARED_ACCESS_KEY}={}",
                    secret(key.expose_base64())
                ));
            }
            Authentication::SharedAccessSignature(t) => {
                out.push_str(&format!(
                    ";{SHARED_ACCESS_SIGNATURE}={}",
                    secret(t.expose())
                ));
            }
            Authentication::X509 => out.push_str(&format!(";{X509}=true")),
        }
        if let Some(g) = &self.gateway_host_name {
            out.push_str(&format!(";{GATEWAY_HOST_NAME}={g}"));
        }
        out
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
        f.write_str(&self.format(true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConnectionStringError as E;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const TOKEN: &str = "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdevice1&sig=gFSfLGMXDOvf906%2FiaX3KwzLLNFHgaFZyCbsGjxtd1Y%3D&se=1700000000";

    fn parse(s: &str) -> Result<ConnectionString, E> {
        ConnectionString::parse(s)
    }

    #[test]
    fn parses_device_key_string() {
        let s = format!("HostName=myhub.azure-devices.net;DeviceId=device1;SharedAccessKey={KEY}");
        let cs = parse(&s).unwrap();
        assert_eq!(cs.host_name, "myhub.azure-devices.net");
        assert_eq!(cs.device_id, "device1");
        assert_eq!(cs.module_id, None);
        assert_eq!(cs.gateway_host_name, None);
        match &cs.auth {
            Authentication::SharedAccessKey { key, key_name } => {
                assert_eq!(key.expose_bytes(), (0u8..32).collect::<Vec<_>>());
                assert_eq!(key_name, &None);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(cs.connect_host(), "myhub.azure-devices.net");
        assert_eq!(cs.resource_uri(), "myhub.azure-devices.net/devices/device1");
        assert!(cs.is_token_renewable());
        assert_eq!(cs.to_connection_string(), s);
        assert_eq!(s.parse::<ConnectionString>().unwrap(), cs);
    }

    #[test]
    fn parses_every_key() {
        let s = format!(
            "HostName=h.example;DeviceId=d1;ModuleId=m1;SharedAccessKeyName=device;SharedAccessKey={KEY};GatewayHostName=edge.local"
        );
        let cs = parse(&s).unwrap();
        assert_eq!(cs.module_id.as_ref().map(ModuleId::as_str), Some("m1"));
        assert_eq!(cs.gateway_host_name.as_deref(), Some("edge.local"));
        assert_eq!(cs.connect_host(), "edge.local");
        // The resource uses HostName, not the gateway.
        assert_eq!(cs.resource_uri(), "h.example/devices/d1/modules/m1");
        assert!(
            matches!(&cs.auth, Authentication::SharedAccessKey { key_name: Some(n), .. } if n == "device")
        );
        assert_eq!(cs.to_connection_string(), s);

        let x = parse("HostName=h;DeviceId=d;x509=true").unwrap();
        assert_eq!(x.auth, Authentication::X509);
        assert!(!x.is_token_renewable());
        assert_eq!(x.to_connection_string(), "HostName=h;DeviceId=d;x509=true");
        assert_eq!(
            parse("HostName=h;DeviceId=d;x509=True").unwrap().auth,
            Authentication::X509
        );

        let sas = parse(&format!(
            "HostName=myhub.azure-devices.net;DeviceId=device1;SharedAccessSignature={TOKEN}"
        ))
        .unwrap();
        match &sas.auth {
            Authentication::SharedAccessSignature(t) => {
                assert_eq!(t.expiry(), 1_700_000_000);
                assert_eq!(t.expose(), TOKEN);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(!sas.is_token_renewable());
        assert_eq!(parse(&sas.to_connection_string()).unwrap(), sas);
    }

    #[test]
    fn splits_at_first_equals_and_tolerates_separators() {
        // Key padding '=' stays in the value; empty segments and a trailing ';' are ignored.
        let cs = parse(&format!(";HostName=h;;DeviceId=d;SharedAccessKey={KEY};")).unwrap();
        assert!(
            matches!(&cs.auth, Authentication::SharedAccessKey { key, .. } if key.expose_base64() == KEY)
        );
        // Whitespace around keys (a wrapped string) is ignored.
        let cs = parse(&format!("HostName=h;\n DeviceId=d; SharedAccessKey={KEY}")).unwrap();
        assert_eq!(cs.device_id, "d");
        // Unpadded key accepted.
        assert!(parse("HostName=h;DeviceId=d;SharedAccessKey=AAECAw").is_ok());
    }

    #[test]
    fn display_redacts_and_debug_redacts() {
        let cs = parse(&format!("HostName=h;DeviceId=d;SharedAccessKey={KEY}")).unwrap();
        assert_eq!(
            cs.to_string(),
            "HostName=h;DeviceId=d;SharedAccessKey=<redacted>"
        );
        assert!(!format!("{cs:?}").contains("AAEC"));
        let sas = parse(&format!(
            "HostName=h;DeviceId=d;SharedAccessSignature={TOKEN}"
        ))
        .unwrap();
        assert_eq!(
            sas.to_string(),
            "HostName=h;DeviceId=d;SharedAccessSignature=<redacted>"
        );
        assert!(!format!("{sas:?}").contains("gFSf"));
    }

    #[test]
    fn with_device_key_builds_devhub_strings() {
        let cs = ConnectionString::with_device_key(
            "localhost",
            DeviceId::new("demo-device-1").unwrap(),
            SasKey::from_base64(KEY).unwrap(),
        );
        assert_eq!(
            cs.to_connection_string(),
            format!("HostName=localhost;DeviceId=demo-device-1;SharedAccessKey={KEY}")
        );
    }

    #[test]
    fn every_error_case() {
        let k = format!("SharedAccessKey={KEY}");
        let cases: Vec<(String, E)> = vec![
            (String::new(), E::Empty),
            (";;".into(), E::Empty),
            (" ; ".into(), E::Empty),
            (
                format!("HostName=h;DeviceId;{k}"),
                E::MalformedSegment { index: 1 },
            ),
            (
                format!("HostName=h;DeviceId=d;{k};Foo=bar"),
                E::UnknownKey { key: "Foo".into() },
            ),
            // Keys are case-sensitive.
            (
                format!("hostname=h;DeviceId=d;{k}"),
                E::UnknownKey {
                    key: "hostname".into(),
                },
            ),
            (
                format!("HostName=h;DeviceId=d;{k};X509=true"),
                E::UnknownKey { key: "X509".into() },
            ),
            (
                format!("HostName=h;HostName=h;DeviceId=d;{k}"),
                E::DuplicateKey { key: "HostName" },
            ),
            (
                format!("HostName=h;DeviceId=d;{k};{k}"),
                E::DuplicateKey {
                    key: "SharedAccessKey",
                },
            ),
            (format!("DeviceId=d;{k}"), E::MissingKey { key: "HostName" }),
            (format!("HostName=h;{k}"), E::MissingKey { key: "DeviceId" }),
            (
                "HostName=h;DeviceId=d;SharedAccessKeyName=p".into(),
                E::MissingKey {
                    key: "SharedAccessKey",
                },
            ),
            (
                format!("HostName=;DeviceId=d;{k}"),
                E::EmptyValue { key: "HostName" },
            ),
            (
                "HostName=h;DeviceId=d;SharedAccessKey=".into(),
                E::EmptyValue {
                    key: "SharedAccessKey",
                },
            ),
            (
                format!("HostName=h;DeviceId=d;{k};x509=true"),
                E::InvalidCombination {
                    first: "SharedAccessKey",
                    second: "x509",
                },
            ),
            (
                format!("HostName=h;DeviceId=d;{k};SharedAccessSignature={TOKEN}"),
                E::InvalidCombination {
                    first: "SharedAccessKey",
                    second: "SharedAccessSignature",
                },
            ),
            (
                format!("HostName=h;DeviceId=d;x509=true;SharedAccessSignature={TOKEN}"),
                E::InvalidCombination {
                    first: "SharedAccessSignature",
                    second: "x509",
                },
            ),
            (
                format!(
                    "HostName=h;DeviceId=d;SharedAccessKeyName=p;SharedAccessSignature={TOKEN}"
                ),
                E::InvalidCombination {
                    first: "SharedAccessKeyName",
                    second: "SharedAccessSignature",
                },
            ),
            (
                "HostName=h;DeviceId=d;SharedAccessKeyName=p;x509=true".into(),
                E::InvalidCombination {
                    first: "SharedAccessKeyName",
                    second: "x509",
                },
            ),
            ("HostName=h;DeviceId=d".into(), E::MissingCredential),
            (
                "HostName=h;DeviceId=d;GatewayHostName=g".into(),
                E::MissingCredential,
            ),
            (
                format!("HostName=h;DeviceId=a/b;{k}"),
                E::InvalidValue {
                    key: "DeviceId",
                    reason: "id contains '/' at position 1, which is not allowed".into(),
                },
            ),
            (
                format!("HostName=h;DeviceId=d;ModuleId=m#;{k}"),
                E::InvalidValue {
                    key: "ModuleId",
                    reason: "id contains '#' at position 1, which is not allowed".into(),
                },
            ),
            (
                "HostName=h;DeviceId=d;SharedAccessKey=not*base64".into(),
                E::InvalidValue {
                    key: "SharedAccessKey",
                    reason: "not valid base64".into(),
                },
            ),
            (
                "HostName=h;DeviceId=d;SharedAccessSignature=sr=a&sig=b&se=1".into(),
                E::InvalidValue {
                    key: "SharedAccessSignature",
                    reason: "malformed SAS token: does not start with 'SharedAccessSignature '"
                        .into(),
                },
            ),
            (
                "HostName=h;DeviceId=d;x509=false".into(),
                E::InvalidValue {
                    key: "x509",
                    reason: "expected 'true'".into(),
                },
            ),
            (
                format!("HostName=a b;DeviceId=d;{k}"),
                E::InvalidValue {
                    key: "HostName",
                    reason: "not a host name".into(),
                },
            ),
            (
                format!("HostName=h/x;DeviceId=d;{k}"),
                E::InvalidValue {
                    key: "HostName",
                    reason: "not a host name".into(),
                },
            ),
            (
                format!("HostName=h;DeviceId=d;{k};GatewayHostName=g?"),
                E::InvalidValue {
                    key: "GatewayHostName",
                    reason: "not a host name".into(),
                },
            ),
        ];
        for (input, want) in cases {
            let got = parse(&input);
            assert_eq!(got.as_ref().err(), Some(&want), "input {input:?}");
            // The message names the key, and never echoes a secret.
            let msg = want.to_string();
            if let Some(key) = want.key() {
                assert!(msg.contains(key), "{msg}");
            }
            assert!(!msg.contains("AAEC") && !msg.contains("gFSf"), "{msg}");
        }
    }

    #[test]
    fn stray_secrets_are_not_echoed() {
        // A bare padded key: "AAEC…Hh8" + "=" would otherwise be an unknown key.
        for s in [
            format!("HostName=h;DeviceId=d;{KEY}"),
            "HostName=h;DeviceId=d;AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=x".into(),
            "HostName=h;DeviceId=d;AAECAwQFBgcICQoLDA0ODxA".into(),
        ] {
            let err = parse(&s).unwrap_err();
            assert_eq!(err, E::MalformedSegment { index: 2 }, "{s}");
            assert!(!err.to_string().contains("AAEC"));
            assert_eq!(err.key(), None);
        }
    }
}
