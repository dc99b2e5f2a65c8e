//! What the page keeps in `localStorage`: the hub URL, the device sessions (name, source, demo
//! device, protocol, poll interval) and, only when the user ticks "remember secrets", their
//! connection strings and SAS tokens.
//!
//! Parsing is lenient on purpose: storage may hold an older layout, a hand-edited value or
//! garbage. Every field falls back to its default on its own, and nothing here can panic.

use core::fmt;
use hubwire_iothub::secret::Secret;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use crate::format::Num;

use super::device::{DeviceState, PollSetting, Protocol, Source};
use super::sessions::SessionsState;

/// The `localStorage` key.
pub const STORAGE_KEY: &str = "hubwire.dashboard.settings";
/// Layout version written; older or newer versions are read field by field.
pub const VERSION: u64 = 1;
/// The most sessions restored (a corrupt value must not open hundreds of tabs).
pub const MAX_STORED_SESSIONS: usize = 16;

/// One session's stored settings.
#[derive(Clone, Debug, PartialEq)]
pub struct SessionSettings {
    /// Where the identity comes from.
    pub source: Source,
    /// Chosen demo device.
    pub demo_device: Option<String>,
    /// Transport.
    pub protocol: Protocol,
    /// HTTPS poll interval form.
    pub poll: PollSetting,
    /// Pasted connection string (secret).
    pub pasted: Secret,
    /// SAS source: host name.
    pub sas_host: String,
    /// SAS source: device id.
    pub sas_device_id: String,
    /// SAS source: token (secret).
    pub sas_token: Secret,
}

impl Default for SessionSettings {
    fn default() -> Self {
        DeviceState::default().settings()
    }
}

impl DeviceState {
    /// The settings this session would store.
    pub fn settings(&self) -> SessionSettings {
        SessionSettings {
            source: self.source,
            demo_device: self.demo_device.clone(),
            protocol: self.protocol,
            poll: self.poll_setting.clone(),
            pasted: self.pasted.clone(),
            sas_host: self.sas_host.clone(),
            sas_device_id: self.sas_device_id.clone(),
            sas_token: self.sas_token.clone(),
        }
    }

    /// A fresh session with these settings.
    pub fn from_settings(settings: &SessionSettings) -> Self {
        let mut state = Self::default();
        state.source = settings.source;
        state.demo_device = settings.demo_device.clone();
        state.protocol = settings.protocol;
        state.poll_setting = settings.poll.clone();
        state.pasted = settings.pasted.clone();
        state.sas_host = settings.sas_host.clone();
        state.sas_device_id = settings.sas_device_id.clone();
        state.sas_token = settings.sas_token.clone();
        state
    }
}

/// Everything read back from storage.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    /// The hub URL last applied, if any.
    pub hub_url: Option<String>,
    /// The sessions.
    pub sessions: SessionsState,
}

/// The JSON written for the hub URL and sessions; secrets only if the user asked for it.
///
/// Written by hand and read through [`Node`] rather than through `serde_json::Value`: the
/// layout is small and fixed, and the page is smaller without `Value` and its map.
pub fn to_json(hub_url: Option<&str>, sessions: &SessionsState) -> String {
    let remember = sessions.remember_secrets;
    let mut out = format!("{{\"version\":{VERSION},\"hubUrl\":");
    push_opt_str(&mut out, hub_url);
    out.push_str(if remember {
        ",\"rememberSecrets\":true"
    } else {
        ",\"rememberSecrets\":false"
    });
    out.push_str(",\"sessions\":[");
    for (i, entry) in sessions.entries.iter().enumerate() {
        let s = &entry.settings;
        if i > 0 {
            out.push(',');
        }
        let mut field = |key: &str, value: Option<&str>| {
            out.push_str(if key == "name" { "{\"" } else { ",\"" });
            out.push_str(key);
            out.push_str("\":");
            push_opt_str(&mut out, value);
        };
        field("name", Some(&entry.name));
        field("source", Some(s.source.as_str()));
        field("demoDevice", s.demo_device.as_deref());
        field("protocol", Some(s.protocol.as_str()));
        field("pollSecs", Some(&s.poll.dev_secs));
        field("sasHost", Some(&s.sas_host));
        field("sasDeviceId", Some(&s.sas_device_id));
        if remember {
            field("connectionString", Some(s.pasted.expose()));
            field("sasToken", Some(s.sas_token.expose()));
        }
        out.push_str(if s.poll.production {
            ",\"pollProduction\":true}"
        } else {
            ",\"pollProduction\":false}"
        });
    }
    out.push_str("]}");
    out
}

/// Appends `value` as a JSON string, or `null`.
fn push_opt_str(out: &mut String, value: Option<&str>) {
    let Some(value) = value else {
        out.push_str("null");
        return;
    };
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Any stored JSON value, reduced to what the settings read: text, a number (as its text), a
/// flag, an object read as a session, a list; everything else is `Other`. Every field is read
/// into a `Node` so that a field of the wrong type only loses that field. No `Debug`: stored
/// connection strings and tokens pass through it.
#[derive(Default)]
enum Node {
    Text(String),
    Number(String),
    Flag(bool),
    Object(Box<SessionJson>),
    List(Vec<Self>),
    #[default]
    Other,
}

impl Node {
    fn text(node: &Option<Self>) -> Option<String> {
        match node {
            Some(Self::Text(s)) => Some(s.clone()),
            _ => None,
        }
    }

    fn flag(node: &Option<Self>) -> bool {
        matches!(node, Some(Self::Flag(true)))
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NodeVisitor;

        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Node, E> {
                Ok(Node::Text(v))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
                Ok(Node::Flag(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
                Ok(Node::Number(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
                Ok(Node::Number(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
                Ok(Node::Number(Num(v).to_string()))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
                Ok(Node::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut list = Vec::new();
                while let Some(node) = seq.next_element::<Node>()? {
                    list.push(node);
                }
                Ok(Node::List(list))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Node, A::Error> {
                SessionJson::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(|s| Node::Object(Box::new(s)))
            }
        }

        deserializer.deserialize_any(NodeVisitor)
    }
}

/// A stored object: the root and each session use the same field set (unknown fields are
/// skipped). No `Debug`, like [`Node`].
#[derive(Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct SessionJson {
    hub_url: Option<Node>,
    remember_secrets: Option<Node>,
    sessions: Option<Node>,
    name: Option<Node>,
    source: Option<Node>,
    demo_device: Option<Node>,
    protocol: Option<Node>,
    poll_secs: Option<Node>,
    poll_production: Option<Node>,
    sas_host: Option<Node>,
    sas_device_id: Option<Node>,
    connection_string: Option<Node>,
    sas_token: Option<Node>,
}

/// Reads stored settings. `None` (nothing stored) and unreadable text both give the defaults:
/// no hub URL and one default session.
pub fn from_json(text: Option<&str>) -> Stored {
    let root = match text.and_then(|t| serde_json::from_str::<Node>(t).ok()) {
        Some(Node::Object(root)) => *root,
        _ => SessionJson::default(),
    };
    let remember = Node::flag(&root.remember_secrets);
    let sessions: Vec<(String, SessionSettings)> = match &root.sessions {
        Some(Node::List(list)) => list
            .iter()
            .filter_map(|node| match node {
                Node::Object(obj) => Some(session_from(obj, remember)),
                _ => None,
            })
            .take(MAX_STORED_SESSIONS)
            .collect(),
        _ => Vec::new(),
    };
    let sessions = if sessions.is_empty() {
        let mut state = SessionsState::default();
        state.remember_secrets = remember;
        state
    } else {
        SessionsState::from_settings(sessions, remember)
    };
    Stored {
        hub_url: Node::text(&root.hub_url).filter(|u| !u.trim().is_empty()),
        sessions,
    }
}

fn session_from(obj: &SessionJson, remember: bool) -> (String, SessionSettings) {
    let defaults = SessionSettings::default();
    let text = |node: &Option<Node>| Node::text(node).unwrap_or_default();
    let secret = |node: &Option<Node>| {
        // Secrets written while "remember" was on are ignored once it is off.
        Secret::new(if remember { text(node) } else { String::new() })
    };
    let poll_secs = match &obj.poll_secs {
        Some(Node::Text(s) | Node::Number(s)) => s.clone(),
        _ => defaults.poll.dev_secs.clone(),
    };
    let settings = SessionSettings {
        source: Node::text(&obj.source)
            .and_then(|s| Source::parse(&s))
            .unwrap_or(defaults.source),
        demo_device: Node::text(&obj.demo_device).filter(|d| !d.is_empty()),
        protocol: Node::text(&obj.protocol)
            .and_then(|p| Protocol::parse(&p))
            .unwrap_or(defaults.protocol),
        poll: PollSetting {
            dev_secs: poll_secs,
            production: Node::flag(&obj.poll_production),
        },
        pasted: secret(&obj.connection_string),
        sas_host: text(&obj.sas_host),
        sas_device_id: text(&obj.sas_device_id),
        sas_token: secret(&obj.sas_token),
    };
    (text(&obj.name), settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::sessions::SessionsAction;

    const KEY_STRING: &str = "HostName=h;DeviceId=d;SharedAccessKey=c2VjcmV0a2V5";
    const TOKEN: &str = "SharedAccessSignature sr=h%2Fdevices%2Fd&sig=abc&se=1700000000";

    fn two_sessions(remember: bool) -> SessionsState {
        let mut state = SessionsState::default();
        state.apply(SessionsAction::Add);
        state.apply(SessionsAction::Rename(1, "boiler".into()));
        state.apply(SessionsAction::Settings(
            1,
            SessionSettings {
                source: Source::Pasted,
                pasted: Secret::new(KEY_STRING),
                protocol: Protocol::AmqpWs,
                ..SessionSettings::default()
            },
        ));
        state.apply(SessionsAction::Settings(
            2,
            SessionSettings {
                source: Source::Sas,
                sas_host: "myhub.azure-devices.net".into(),
                sas_device_id: "d".into(),
                sas_token: Secret::new(TOKEN),
                protocol: Protocol::Https,
                poll: PollSetting {
                    dev_secs: "30".into(),
                    production: true,
                },
                demo_device: Some("demo-device-2".into()),
                ..SessionSettings::default()
            },
        ));
        state.apply(SessionsAction::RememberSecrets(remember));
        state
    }

    #[test]
    fn round_trip_without_secrets_keeps_everything_else() {
        let sessions = two_sessions(false);
        let json = to_json(Some("http://127.0.0.1:8090"), &sessions);
        assert!(!json.contains("c2VjcmV0a2V5"), "no key stored: {json}");
        assert!(!json.contains("sig=abc"), "no token stored: {json}");
        let back = from_json(Some(&json));
        assert_eq!(back.hub_url.as_deref(), Some("http://127.0.0.1:8090"));
        assert!(!back.sessions.remember_secrets);
        let entries = &back.sessions.entries;
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].name, "boiler");
        assert_eq!(entries[0].settings.source, Source::Pasted);
        assert_eq!(entries[0].settings.protocol, Protocol::AmqpWs);
        assert_eq!(entries[0].settings.pasted.expose(), "");
        let second = &entries[1].settings;
        assert_eq!(second.source, Source::Sas);
        assert_eq!(second.sas_host, "myhub.azure-devices.net");
        assert_eq!(second.sas_device_id, "d");
        assert_eq!(second.sas_token.expose(), "");
        assert_eq!(second.protocol, Protocol::Https);
        assert_eq!(second.poll.dev_secs, "30");
        assert!(second.poll.production);
        assert_eq!(second.demo_device.as_deref(), Some("demo-device-2"));
    }

    #[test]
    fn round_trip_with_secrets_keeps_them() {
        let json = to_json(None, &two_sessions(true));
        let back = from_json(Some(&json));
        assert_eq!(back.hub_url, None);
        assert!(back.sessions.remember_secrets);
        assert_eq!(
            back.sessions.entries[0].settings.pasted.expose(),
            KEY_STRING
        );
        assert_eq!(back.sessions.entries[1].settings.sas_token.expose(), TOKEN);
    }

    #[test]
    fn secrets_left_behind_are_not_read_when_remember_is_off() {
        let json = to_json(None, &two_sessions(true))
            .replace("\"rememberSecrets\":true", "\"rememberSecrets\":false");
        let back = from_json(Some(&json));
        assert_eq!(back.sessions.entries[0].settings.pasted.expose(), "");
    }

    #[test]
    fn unreadable_or_missing_storage_gives_defaults() {
        for text in [
            None,
            Some(""),
            Some("not json"),
            Some("[1,2,3]"),
            Some("null"),
            Some("{\"sessions\": 5}"),
            Some("{\"sessions\": [], \"hubUrl\": 7}"),
            Some("{\"sessions\": [1, \"x\", null]}"),
        ] {
            let back = from_json(text);
            assert_eq!(back.hub_url, None, "{text:?}");
            assert_eq!(back.sessions, SessionsState::default(), "{text:?}");
        }
    }

    #[test]
    fn bad_fields_fall_back_one_by_one() {
        let back = from_json(Some(
            r#"{"hubUrl":"  ","sessions":[{"name":42,"source":"x509","protocol":"carrier-pigeon","pollSecs":7,"pollProduction":"yes","demoDevice":""}],"future":"field"}"#,
        ));
        assert_eq!(back.hub_url, None, "a blank URL is no URL");
        let entry = &back.sessions.entries[0];
        assert_eq!(entry.name, "Device 1");
        assert_eq!(entry.settings.source, Source::Demo);
        assert_eq!(entry.settings.protocol, Protocol::MqttWs);
        assert_eq!(
            entry.settings.poll.dev_secs, "7",
            "a number is accepted too"
        );
        assert!(!entry.settings.poll.production);
        assert_eq!(entry.settings.demo_device, None);
    }

    #[test]
    fn written_text_is_json_with_escapes() {
        let mut sessions = two_sessions(true);
        sessions.apply(SessionsAction::Rename(1, "a \"q\" \\ \n\u{1}é".into()));
        let json = to_json(Some("http://h/\"x\""), &sessions);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["version"], VERSION);
        assert_eq!(value["hubUrl"], "http://h/\"x\"");
        assert_eq!(value["sessions"][0]["name"], "a \"q\" \\ \n\u{1}é");
        assert_eq!(value["sessions"][1]["demoDevice"], "demo-device-2");
        assert_eq!(value["sessions"][0]["demoDevice"], serde_json::Value::Null);
        assert_eq!(value["sessions"][1]["pollProduction"], true);
        let back = from_json(Some(&json));
        assert_eq!(back.sessions.entries[0].name, "a \"q\" \\ \n\u{1}é");
        assert_eq!(back.hub_url.as_deref(), Some("http://h/\"x\""));
    }

    #[test]
    fn nested_and_odd_values_are_skipped() {
        let back = from_json(Some(
            r#"{"extra":{"deep":[1,{"x":null}],"n":-2.5},"sessions":[{"name":"a","pollSecs":2.5,"sasHost":["h"]},[],{"name":"b"}]}"#,
        ));
        let entries = &back.sessions.entries;
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].name, "a");
        assert_eq!(entries[0].settings.poll.dev_secs, "2.5");
        assert_eq!(entries[0].settings.sas_host, "");
        assert_eq!(entries[1].name, "b");
    }

    #[test]
    fn stored_sessions_are_capped() {
        let many: Vec<String> = (0..100).map(|i| format!("{{\"name\":\"s{i}\"}}")).collect();
        let back = from_json(Some(&format!("{{\"sessions\":[{}]}}", many.join(","))));
        assert_eq!(back.sessions.entries.len(), MAX_STORED_SESSIONS);
    }

    #[test]
    fn device_state_round_trips_through_settings() {
        let settings = two_sessions(true).entries[1].settings.clone();
        let state = DeviceState::from_settings(&settings);
        assert_eq!(state.settings(), settings);
        assert_eq!(
            state.session, None,
            "restored sessions do not connect by themselves"
        );
    }
}
