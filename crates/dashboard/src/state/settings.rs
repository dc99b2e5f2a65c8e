//! What the page keeps in `localStorage`: the hub URL, the device sessions (name, source, demo
//! device, protocol, poll interval) and, only when the user ticks "remember secrets", their
//! connection strings and SAS tokens.
//!
//! Parsing is lenient on purpose: storage may hold an older layout, a hand-edited value or
//! garbage. Every field falls back to its default on its own, and nothing here can panic.

use hubwire_iothub::secret::Secret;
use serde_json::{json, Map, Value};

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
pub fn to_json(hub_url: Option<&str>, sessions: &SessionsState) -> String {
    let remember = sessions.remember_secrets;
    let list: Vec<Value> = sessions
        .entries
        .iter()
        .map(|entry| {
            let s = &entry.settings;
            let mut obj = json!({
                "name": entry.name,
                "source": s.source.as_str(),
                "demoDevice": s.demo_device,
                "protocol": s.protocol.as_str(),
                "pollSecs": s.poll.dev_secs,
                "pollProduction": s.poll.production,
                "sasHost": s.sas_host,
                "sasDeviceId": s.sas_device_id,
            });
            if remember {
                if let Value::Object(map) = &mut obj {
                    map.insert("connectionString".into(), s.pasted.expose().into());
                    map.insert("sasToken".into(), s.sas_token.expose().into());
                }
            }
            obj
        })
        .collect();
    json!({
        "version": VERSION,
        "hubUrl": hub_url,
        "rememberSecrets": remember,
        "sessions": list,
    })
    .to_string()
}

/// Reads stored settings. `None` (nothing stored) and unreadable text both give the defaults:
/// no hub URL and one default session.
pub fn from_json(text: Option<&str>) -> Stored {
    let root = text
        .and_then(|t| serde_json::from_str::<Value>(t).ok())
        .and_then(|v| match v {
            Value::Object(map) => Some(map),
            _ => None,
        })
        .unwrap_or_default();
    let remember = root
        .get("rememberSecrets")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let sessions: Vec<(String, SessionSettings)> = root
        .get("sessions")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(Value::as_object)
                .take(MAX_STORED_SESSIONS)
                .map(|obj| session_from(obj, remember))
                .collect()
        })
        .unwrap_or_default();
    let sessions = if sessions.is_empty() {
        let mut state = SessionsState::default();
        state.remember_secrets = remember;
        state
    } else {
        SessionsState::from_settings(sessions, remember)
    };
    Stored {
        hub_url: text_field(&root, "hubUrl").filter(|u| !u.trim().is_empty()),
        sessions,
    }
}

fn text_field(obj: &Map<String, Value>, key: &str) -> Option<String> {
    obj.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn session_from(obj: &Map<String, Value>, remember: bool) -> (String, SessionSettings) {
    let defaults = SessionSettings::default();
    let text = |key| text_field(obj, key).unwrap_or_default();
    let secret = |key| {
        // Secrets written while "remember" was on are ignored once it is off.
        Secret::new(if remember { text(key) } else { String::new() })
    };
    let poll_secs = match obj.get("pollSecs") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => defaults.poll.dev_secs.clone(),
    };
    let settings = SessionSettings {
        source: text_field(obj, "source")
            .and_then(|s| Source::parse(&s))
            .unwrap_or(defaults.source),
        demo_device: text_field(obj, "demoDevice").filter(|d| !d.is_empty()),
        protocol: text_field(obj, "protocol")
            .and_then(|p| Protocol::parse(&p))
            .unwrap_or(defaults.protocol),
        poll: PollSetting {
            dev_secs: poll_secs,
            production: obj
                .get("pollProduction")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        },
        pasted: secret("connectionString"),
        sas_host: text("sasHost"),
        sas_device_id: text("sasDeviceId"),
        sas_token: secret("sasToken"),
    };
    (text("name"), settings)
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
