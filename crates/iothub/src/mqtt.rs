//! MQTT conventions (§4.2, §4.4–4.6): client id, user name, topics and system properties.

use crate::ids::{DeviceId, IdError, ModuleId};
use crate::message::{Ack, Message};
use crate::property_bag::{decode_component, encode_component, PropertyBag, PropertyBagError};
use crate::time::Timestamp;

/// The `api-version` sent in user names.
pub const API_VERSION: &str = "2021-04-12";

/// MQTT system property keys (§4.6), as decoded (the wire form percent-encodes `$`).
pub mod props {
    /// message-id.
    pub const MESSAGE_ID: &str = "$.mid";
    /// correlation-id.
    pub const CORRELATION_ID: &str = "$.cid";
    /// user-id.
    pub const USER_ID: &str = "$.uid";
    /// to.
    pub const TO: &str = "$.to";
    /// absolute expiry (ISO 8601).
    pub const EXPIRY: &str = "$.exp";
    /// content-type.
    pub const CONTENT_TYPE: &str = "$.ct";
    /// content-encoding.
    pub const CONTENT_ENCODING: &str = "$.ce";
    /// module output name.
    pub const OUTPUT_NAME: &str = "$.on";
    /// creation time (ISO 8601).
    pub const CREATION_TIME: &str = "$.ctime";
    /// C2D feedback request.
    pub const ACK: &str = "iothub-ack";
}

/// Why an MQTT user name was rejected (hub side).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserNameError {
    /// Not 3 (`host/device/?query`) or 4 (`host/device/module/?query`) `/`-segments.
    #[error("user name has {count} '/'-separated segments; expected 3 or 4")]
    WrongSegmentCount {
        /// Segments found.
        count: usize,
    },
    /// The host segment is empty.
    #[error("user name has an empty host")]
    EmptyHost,
    /// The device segment is not a valid device id.
    #[error("user name device id is invalid: {0}")]
    InvalidDeviceId(IdError),
    /// The module segment is not a valid module id.
    #[error("user name module id is invalid: {0}")]
    InvalidModuleId(IdError),
    /// The query has no `api-version`.
    #[error("user name has no api-version")]
    MissingApiVersion,
    /// A query key or value does not percent-decode to UTF-8.
    #[error("user name query is not valid percent-encoded UTF-8")]
    InvalidEncoding,
}

/// Why a topic could not be interpreted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// The topic is not of the expected kind (e.g. not `devices/{d}/messages/events/…`).
    #[error("topic is not a {expected} topic")]
    UnexpectedTopic {
        /// The kind that was expected.
        expected: &'static str,
    },
    /// The device segment is not a valid device id.
    #[error("topic device id is invalid: {0}")]
    InvalidDeviceId(IdError),
    /// The module segment is not a valid module id.
    #[error("topic module id is invalid: {0}")]
    InvalidModuleId(IdError),
    /// The property bag does not decode.
    #[error("topic property bag is invalid: {0}")]
    PropertyBag(#[from] PropertyBagError),
    /// A system property has a value that does not parse (e.g. `$.exp`).
    #[error("topic property '{key}' has an invalid value")]
    InvalidProperty {
        /// The decoded key.
        key: String,
    },
}

/// The MQTT client identifier: `{deviceId}` or `{deviceId}/{moduleId}`.
pub fn client_id(device_id: &DeviceId, module_id: Option<&ModuleId>) -> String {
    match module_id {
        Some(m) => format!("{device_id}/{m}"),
        None => device_id.to_string(),
    }
}

/// The MQTT user name:
/// `{host}/{deviceId}[/{moduleId}]/?api-version=2021-04-12&DeviceClientType={ua}[&model-id={dtmi}]`.
/// Host and ids are not encoded; query values are percent-encoded.
pub fn user_name(
    host_name: &str,
    device_id: &DeviceId,
    module_id: Option<&ModuleId>,
    device_client_type: &str,
    model_id: Option<&str>,
) -> String {
    let mut out = format!("{host_name}/{device_id}/");
    if let Some(m) = module_id {
        out.push_str(m.as_str());
        out.push('/');
    }
    out.push_str("?api-version=");
    out.push_str(API_VERSION);
    out.push_str("&DeviceClientType=");
    out.push_str(&encode_component(device_client_type));
    if let Some(model) = model_id {
        out.push_str("&model-id=");
        out.push_str(&encode_component(model));
    }
    out
}

/// A user name as understood by the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParsedUserName {
    /// Host segment (as sent).
    pub host_name: String,
    /// Device id.
    pub device_id: DeviceId,
    /// Module id for 4-segment names.
    pub module_id: Option<ModuleId>,
    /// `api-version` (required).
    pub api_version: String,
    /// `DeviceClientType`, decoded.
    pub device_client_type: Option<String>,
    /// `model-id`, decoded.
    pub model_id: Option<String>,
    /// Other query parameters, decoded, in order.
    pub other: Vec<(String, String)>,
}

/// Parses a user name the way the Edge hub does: split on `/` into 3 segments
/// (`host/device/?query`) or 4 (`host/device/module/?query`); the last segment is the query,
/// with or without a leading `?` (old form `host/device/api-version=…`); query split on `&`
/// then the first `=`, percent-decoded; `api-version` required.
pub fn parse_user_name(user_name: &str) -> Result<ParsedUserName, UserNameError> {
    let segments: Vec<&str> = user_name.split('/').collect();
    let count = segments.len();
    // The query starts at segment 2 (device) or 3 (module) with a '?'. Joining the rest
    // back tolerates an unencoded '/' inside the query (e.g. a raw `DeviceClientType`).
    let query_at = segments
        .iter()
        .enumerate()
        .skip(2)
        .take(2)
        .find(|(_, s)| s.starts_with('?'))
        .map(|(i, _)| i);
    let (path, query) = match query_at {
        Some(at) => {
            let (path, rest) = segments.split_at(at);
            (path, rest.join("/"))
        }
        // Old form without '?': exactly 3 or 4 segments, the last one is the query.
        None if count == 3 || count == 4 => {
            let (query, path) = segments
                .split_last()
                .ok_or(UserNameError::WrongSegmentCount { count })?;
            (path, (*query).to_owned())
        }
        None => return Err(UserNameError::WrongSegmentCount { count }),
    };
    let (host, device, module) = match path {
        [h, d] => (*h, *d, None),
        [h, d, m] => (*h, *d, Some(*m)),
        _ => return Err(UserNameError::WrongSegmentCount { count }),
    };
    if host.is_empty() {
        return Err(UserNameError::EmptyHost);
    }
    let device_id = DeviceId::new(device).map_err(UserNameError::InvalidDeviceId)?;
    let module_id = module
        .map(|m| ModuleId::new(m).map_err(UserNameError::InvalidModuleId))
        .transpose()?;

    let mut api_version = None;
    let mut device_client_type = None;
    let mut model_id = None;
    let mut other = Vec::new();
    let query = query.strip_prefix('?').unwrap_or(&query);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = decode_component(k).ok_or(UserNameError::InvalidEncoding)?;
        let v = decode_component(v).ok_or(UserNameError::InvalidEncoding)?;
        match k.as_str() {
            "api-version" => api_version = Some(v),
            "DeviceClientType" => device_client_type = Some(v),
            "model-id" => model_id = Some(v),
            _ => other.push((k, v)),
        }
    }
    let api_version = api_version
        .filter(|v| !v.is_empty())
        .ok_or(UserNameError::MissingApiVersion)?;
    Ok(ParsedUserName {
        host_name: host.to_owned(),
        device_id,
        module_id,
        api_version,
        device_client_type,
        model_id,
        other,
    })
}

/// `devices/{d}/messages/events/` or `devices/{d}/modules/{m}/messages/events/`.
pub fn d2c_topic_prefix(device_id: &DeviceId, module_id: Option<&ModuleId>) -> String {
    match module_id {
        Some(m) => format!("devices/{device_id}/modules/{m}/messages/events/"),
        None => format!("devices/{device_id}/messages/events/"),
    }
}

/// The system and application properties of a D2C message as a bag:
/// `$.mid`, `$.cid`, `$.uid`, `$.to`, `$.ct`, `$.ce`, `$.exp`, `$.ctime`, `$.on`, then the
/// application properties in order. Unset fields are omitted.
pub fn d2c_property_bag(msg: &Message) -> PropertyBag {
    let mut bag = PropertyBag::new();
    let exp = msg.absolute_expiry.map(Timestamp::to_iso8601);
    let ctime = msg.creation_time.map(Timestamp::to_iso8601);
    let system = [
        (props::MESSAGE_ID, msg.message_id.as_deref()),
        (props::CORRELATION_ID, msg.correlation_id.as_deref()),
        (props::USER_ID, msg.user_id.as_deref()),
        (props::TO, msg.to.as_deref()),
        (props::CONTENT_TYPE, msg.content_type.as_deref()),
        (props::CONTENT_ENCODING, msg.content_encoding.as_deref()),
        (props::EXPIRY, exp.as_deref()),
        (props::CREATION_TIME, ctime.as_deref()),
        (props::OUTPUT_NAME, msg.output_name.as_deref()),
    ];
    for (k, v) in system {
        if let Some(v) = v {
            bag.push(k, v);
        }
    }
    for (k, v) in msg.properties.iter() {
        bag.push(k, v);
    }
    bag
}

/// The D2C publish topic for `msg`: prefix + encoded bag.
pub fn d2c_topic(device_id: &DeviceId, module_id: Option<&ModuleId>, msg: &Message) -> String {
    let mut topic = d2c_topic_prefix(device_id, module_id);
    d2c_property_bag(msg).encode_into(&mut topic);
    topic
}

/// A D2C publish as seen by the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct D2cPublish {
    /// The device segment of the topic, as sent.
    pub device_id: DeviceId,
    /// The module segment, for module telemetry.
    pub module_id: Option<ModuleId>,
    /// The message (system properties, application properties, body).
    pub message: Message,
}

impl D2cPublish {
    /// True if the topic names this identity (ids compared exactly, either as sent or
    /// after percent-decoding, since some clients encode ids in topics).
    pub fn is_for(&self, device_id: &DeviceId, module_id: Option<&ModuleId>) -> bool {
        fn same(seg: &str, id: &str) -> bool {
            seg == id || decode_component(seg).as_deref() == Some(id)
        }
        same(self.device_id.as_str(), device_id.as_str())
            && match (&self.module_id, module_id) {
                (None, None) => true,
                (Some(a), Some(b)) => same(a.as_str(), b.as_str()),
                _ => false,
            }
    }
}

/// Parses a D2C publish (hub side): `devices/{d}/messages/events/{bag}` or
/// `devices/{d}/modules/{m}/messages/events/{bag}`. The trailing `/` may be missing when
/// there is no bag.
pub fn parse_d2c_topic(topic: &str, body: Vec<u8>) -> Result<D2cPublish, TopicError> {
    const KIND: TopicError = TopicError::UnexpectedTopic {
        expected: "device-to-cloud",
    };
    let rest = strip_prefix_ci(topic, "devices/").ok_or(KIND)?;
    let (device, rest) = rest.split_once('/').ok_or(KIND)?;
    let (module, rest) = match strip_prefix_ci(rest, "modules/") {
        Some(r) => {
            let (m, r) = r.split_once('/').ok_or(KIND)?;
            (Some(m), r)
        }
        None => (None, rest),
    };
    let bag = strip_prefix_ci(rest, "messages/events")
        .and_then(after_slash)
        .ok_or(KIND)?;
    let device_id = DeviceId::new(device).map_err(TopicError::InvalidDeviceId)?;
    let module_id = module
        .map(|m| ModuleId::new(m).map_err(TopicError::InvalidModuleId))
        .transpose()?;
    let mut message = Message::new(body);
    apply_property_bag(&mut message, PropertyBag::decode(bag)?)?;
    Ok(D2cPublish {
        device_id,
        module_id,
        message,
    })
}

/// `s` without `prefix`, compared ASCII case-insensitively.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        s.get(prefix.len()..)
    } else {
        None
    }
}

/// What follows the fixed part of a topic: nothing, or `/` and a (possibly empty) bag.
fn after_slash(rest: &str) -> Option<&str> {
    if rest.is_empty() {
        Some("")
    } else {
        rest.strip_prefix('/')
    }
}

/// The C2D subscription filter: `devices/{d}/messages/devicebound/#`.
pub fn c2d_subscribe_filter(device_id: &DeviceId) -> String {
    format!("devices/{device_id}/messages/devicebound/#")
}

/// `devices/{d}/messages/devicebound/`.
pub fn c2d_topic_prefix(device_id: &DeviceId) -> String {
    format!("devices/{device_id}/messages/devicebound/")
}

/// The `to` value the hub puts on C2D messages: `/devices/{d}/messages/devicebound`.
pub fn c2d_to(device_id: &DeviceId) -> String {
    format!("/devices/{device_id}/messages/devicebound")
}

/// The bag of a C2D message (hub side): `$.mid`, `$.to`, `$.cid`, `$.uid`, `$.ct`, `$.ce`,
/// `$.exp`, `iothub-ack` (unless `none`), then application properties.
pub fn c2d_property_bag(msg: &Message) -> PropertyBag {
    let mut bag = PropertyBag::new();
    let exp = msg.absolute_expiry.map(Timestamp::to_iso8601);
    let system = [
        (props::MESSAGE_ID, msg.message_id.as_deref()),
        (props::TO, msg.to.as_deref()),
        (props::CORRELATION_ID, msg.correlation_id.as_deref()),
        (props::USER_ID, msg.user_id.as_deref()),
        (props::CONTENT_TYPE, msg.content_type.as_deref()),
        (props::CONTENT_ENCODING, msg.content_encoding.as_deref()),
        (props::EXPIRY, exp.as_deref()),
    ];
    for (k, v) in system {
        if let Some(v) = v {
            bag.push(k, v);
        }
    }
    if msg.ack != Ack::None {
        bag.push(props::ACK, msg.ack.as_str());
    }
    for (k, v) in msg.properties.iter() {
        bag.push(k, v);
    }
    bag
}

/// The C2D publish topic for `msg` (hub side).
pub fn c2d_topic(device_id: &DeviceId, msg: &Message) -> String {
    let mut topic = c2d_topic_prefix(device_id);
    c2d_property_bag(msg).encode_into(&mut topic);
    topic
}

/// Parses a C2D publish (client side): `devices/{d}/messages/devicebound/{bag}` (segment
/// `devicebound` matched case-insensitively). Returns the message and the device segment.
pub fn parse_c2d_topic(topic: &str, body: Vec<u8>) -> Result<(DeviceId, Message), TopicError> {
    const KIND: TopicError = TopicError::UnexpectedTopic {
        expected: "cloud-to-device",
    };
    let rest = strip_prefix_ci(topic, "devices/").ok_or(KIND)?;
    let (device, rest) = rest.split_once('/').ok_or(KIND)?;
    let bag = strip_prefix_ci(rest, "messages/devicebound")
        .and_then(after_slash)
        .ok_or(KIND)?;
    let device_id = DeviceId::new(device).map_err(TopicError::InvalidDeviceId)?;
    let mut message = Message::new(body);
    apply_property_bag(&mut message, PropertyBag::decode(bag)?)?;
    Ok((device_id, message))
}

/// Applies a decoded bag to a message: system keys (`$.…`, `iothub-ack`) go to their fields,
/// unknown `$.` keys and everything else to application properties (null values become
/// empty strings).
pub fn apply_property_bag(msg: &mut Message, bag: PropertyBag) -> Result<(), TopicError> {
    for (key, value) in bag.into_entries() {
        let time = |v: &Option<String>| match v {
            Some(v) => Timestamp::parse_iso8601(v)
                .map(Some)
                .map_err(|_| TopicError::InvalidProperty { key: key.clone() }),
            None => Ok(None),
        };
        match key.as_str() {
            props::MESSAGE_ID => msg.message_id = value,
            props::CORRELATION_ID => msg.correlation_id = value,
            props::USER_ID => msg.user_id = value,
            props::TO => msg.to = value,
            props::CONTENT_TYPE => msg.content_type = value,
            props::CONTENT_ENCODING => msg.content_encoding = value,
            props::OUTPUT_NAME => msg.output_name = value,
            props::EXPIRY => msg.absolute_expiry = time(&value)?,
            props::CREATION_TIME => msg.creation_time = time(&value)?,
            props::ACK => {
                msg.ack = match value.as_deref() {
                    None | Some("") => Ack::None,
                    Some(v) => Ack::parse(v)
                        .ok_or_else(|| TopicError::InvalidProperty { key: key.clone() })?,
                }
            }
            _ => {
                msg.properties.insert(key, value.unwrap_or_default());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(id: &str) -> DeviceId {
        DeviceId::new(id).unwrap()
    }

    fn m(id: &str) -> ModuleId {
        ModuleId::new(id).unwrap()
    }

    #[test]
    fn client_ids() {
        assert_eq!(client_id(&d("device1"), None), "device1");
        assert_eq!(
            client_id(&d("device1"), Some(&m("module1"))),
            "device1/module1"
        );
    }

    #[test]
    fn user_names() {
        assert_eq!(
            user_name("myhub.azure-devices.net", &d("device1"), None, "hubwire/0.1.0", None),
            "myhub.azure-devices.net/device1/?api-version=2021-04-12&DeviceClientType=hubwire%2F0.1.0"
        );
        assert_eq!(
            user_name(
                "h",
                &d("dev$1"),
                Some(&m("mod1")),
                "hubwire/0.1 (wasm; browser)",
                Some("dtmi:com:example:thermostat;1")
            ),
            "h/dev$1/mod1/?api-version=2021-04-12&DeviceClientType=hubwire%2F0.1%20%28wasm%3B%20browser%29&model-id=dtmi%3Acom%3Aexample%3Athermostat%3B1"
        );
    }

    #[test]
    fn user_name_round_trip() {
        let u = user_name(
            "h",
            &d("dev?1="),
            Some(&m("m")),
            "a b/c&d",
            Some("dtmi:x;1"),
        );
        let p = parse_user_name(&u).unwrap();
        assert_eq!(p.host_name, "h");
        assert_eq!(p.device_id, "dev?1=");
        assert_eq!(p.module_id, Some(m("m")));
        assert_eq!(p.api_version, API_VERSION);
        assert_eq!(p.device_client_type.as_deref(), Some("a b/c&d"));
        assert_eq!(p.model_id.as_deref(), Some("dtmi:x;1"));
        assert!(p.other.is_empty());
    }

    #[test]
    fn parses_sdk_user_names() {
        // C SDK, lower-case escapes.
        let p = parse_user_name(
            "myhub.azure-devices.net/device1/?api-version=2020-09-30&DeviceClientType=iothubclient%2f1.9.0%20(native%3b%20Linux%3b%20aarch64)",
        )
        .unwrap();
        assert_eq!(p.device_id, "device1");
        assert_eq!(p.module_id, None);
        assert_eq!(p.api_version, "2020-09-30");
        assert_eq!(
            p.device_client_type.as_deref(),
            Some("iothubclient/1.9.0 (native; Linux; aarch64)")
        );
        // Old form without '?'.
        let p = parse_user_name("h/device1/api-version=2016-11-14").unwrap();
        assert_eq!(
            (p.device_id.as_str(), p.api_version.as_str()),
            ("device1", "2016-11-14")
        );
        let p = parse_user_name("h/device1/module1/api-version=2016-11-14").unwrap();
        assert_eq!(p.module_id, Some(m("module1")));
        // Unknown parameters are kept; a raw '/' in the query is tolerated.
        let p = parse_user_name("h/d/?api-version=1&DeviceClientType=node/1.0&x=y&flag").unwrap();
        assert_eq!(p.device_client_type.as_deref(), Some("node/1.0"));
        assert_eq!(
            p.other,
            vec![("x".into(), "y".into()), ("flag".into(), String::new())]
        );
        let p = parse_user_name("h/d/m/?api-version=1&DeviceClientType=a/b/c").unwrap();
        assert_eq!(p.module_id, Some(m("m")));
        assert_eq!(p.device_client_type.as_deref(), Some("a/b/c"));
    }

    #[test]
    fn rejects_bad_user_names() {
        use UserNameError as E;
        assert_eq!(
            parse_user_name("h/d"),
            Err(E::WrongSegmentCount { count: 2 })
        );
        assert_eq!(parse_user_name(""), Err(E::WrongSegmentCount { count: 1 }));
        assert_eq!(
            parse_user_name("h/d/m/x/api-version=1"),
            Err(E::WrongSegmentCount { count: 5 })
        );
        assert_eq!(parse_user_name("/d/?api-version=1"), Err(E::EmptyHost));
        assert_eq!(
            parse_user_name("h/d/?DeviceClientType=x"),
            Err(E::MissingApiVersion)
        );
        assert_eq!(
            parse_user_name("h/d/?api-version="),
            Err(E::MissingApiVersion)
        );
        assert_eq!(parse_user_name("h/d/"), Err(E::MissingApiVersion));
        assert!(matches!(
            parse_user_name("h/a+b/?api-version=1"),
            Err(E::InvalidDeviceId(_))
        ));
        assert!(matches!(
            parse_user_name("h//?api-version=1"),
            Err(E::InvalidDeviceId(IdError::Empty))
        ));
        assert!(matches!(
            parse_user_name("h/d/m#/?api-version=1"),
            Err(E::InvalidModuleId(_))
        ));
        assert_eq!(
            parse_user_name("h/d/?api-version=%FF"),
            Err(E::InvalidEncoding)
        );
    }

    #[test]
    fn d2c_topics() {
        let msg = Message::new("{}")
            .with_message_id("msg-1")
            .with_json_content()
            .with_property("temp", "21.5");
        // The documented example (§4.5).
        assert_eq!(
            d2c_topic(&d("device1"), None, &msg),
            "devices/device1/messages/events/%24.mid=msg-1&%24.ct=application%2Fjson&%24.ce=utf-8&temp=21.5"
        );
        assert_eq!(
            d2c_topic(&d("device1"), None, &Message::new("x")),
            "devices/device1/messages/events/"
        );
        let out = Message::new("x").with_output_name("out1");
        assert_eq!(
            d2c_topic(&d("d"), Some(&m("m")), &out),
            "devices/d/modules/m/messages/events/%24.on=out1"
        );
    }

    #[test]
    fn d2c_round_trip_all_fields() {
        let msg = Message::new(b"payload".to_vec())
            .with_message_id("m1")
            .with_correlation_id("c 1")
            .with_user_id("u1")
            .with_to("/devices/d/messages/events")
            .with_content_type("application/json;charset=utf-8")
            .with_content_encoding("utf-8")
            .with_absolute_expiry(Timestamp::from_unix_millis(1_700_000_000_500))
            .with_creation_time(Timestamp::from_unix_secs(1_600_000_000))
            .with_output_name("o")
            .with_property("$", "/")
            .with_property("a;b", "c&d=e")
            .with_property("plus+", "sp ace%")
            .with_property("ünï", "☃🦀")
            .with_property("empty", "");
        let topic = d2c_topic(&d("dev$1"), Some(&m("mod=1")), &msg);
        let parsed = parse_d2c_topic(&topic, b"payload".to_vec()).unwrap();
        assert_eq!(parsed.device_id, "dev$1");
        assert_eq!(parsed.module_id, Some(m("mod=1")));
        assert_eq!(parsed.message, msg);
        assert!(parsed.is_for(&d("dev$1"), Some(&m("mod=1"))));
        assert!(!parsed.is_for(&d("dev$1"), None));
        assert!(!parsed.is_for(&d("dev$2"), Some(&m("mod=1"))));
    }

    #[test]
    fn parses_d2c_variants() {
        // Literal `$.` keys (docs style), leading '?', no trailing slash, case of the words.
        let p = parse_d2c_topic(
            "devices/device1/messages/events/?$.ct=application%2Fjson&$.ce=utf-8&user=&flag",
            vec![],
        )
        .unwrap();
        assert_eq!(p.message.content_type.as_deref(), Some("application/json"));
        assert_eq!(p.message.content_encoding.as_deref(), Some("utf-8"));
        assert_eq!(p.message.properties.get("user"), Some(""));
        assert_eq!(p.message.properties.get("flag"), Some(""));
        let p = parse_d2c_topic("devices/device1/messages/events", vec![1]).unwrap();
        assert_eq!(p.message.body, vec![1]);
        assert!(p.message.properties.is_empty());
        assert!(parse_d2c_topic("Devices/device1/Messages/Events/", vec![]).is_ok());
        // Unknown system keys stay as properties.
        let p =
            parse_d2c_topic("devices/d/messages/events/%24.sub=comp&%24.ifid=x", vec![]).unwrap();
        assert_eq!(p.message.properties.get("$.sub"), Some("comp"));
        assert_eq!(p.message.properties.get("$.ifid"), Some("x"));
        // An encoded id in the topic still matches the identity.
        let p = parse_d2c_topic("devices/dev%241/messages/events/", vec![]).unwrap();
        assert!(p.is_for(&d("dev$1"), None));
    }

    #[test]
    fn rejects_bad_d2c_topics() {
        let kind = TopicError::UnexpectedTopic {
            expected: "device-to-cloud",
        };
        for t in [
            "",
            "devices",
            "devices/d",
            "devices/d/messages",
            "devices/d/messages/eventsX",
            "devices/d/messages/devicebound/",
            "devices/d/modules/m",
            "devices/d/modules/m/messages/other/",
            "$iothub/twin/GET/?$rid=1",
            "x/d/messages/events/",
        ] {
            assert_eq!(parse_d2c_topic(t, vec![]).unwrap_err(), kind, "{t}");
        }
        assert!(matches!(
            parse_d2c_topic("devices/a+b/messages/events/", vec![]),
            Err(TopicError::InvalidDeviceId(_))
        ));
        assert!(matches!(
            parse_d2c_topic("devices/d/modules/#/messages/events/", vec![]),
            Err(TopicError::InvalidModuleId(_))
        ));
        assert_eq!(
            parse_d2c_topic("devices/d/messages/events/%24.exp=tomorrow", vec![]),
            Err(TopicError::InvalidProperty {
                key: "$.exp".into()
            })
        );
        assert!(matches!(
            parse_d2c_topic("devices/d/messages/events/a=%FF", vec![]),
            Err(TopicError::PropertyBag(_))
        ));
    }

    #[test]
    fn c2d_topics_hub_side() {
        let dev = d("fake_device");
        assert_eq!(
            c2d_subscribe_filter(&dev),
            "devices/fake_device/messages/devicebound/#"
        );
        let msg = Message::new("hi")
            .with_message_id("6b822696-f75a-46f5-8b02-0680db65abf5")
            .with_to(c2d_to(&dev));
        assert_eq!(
            c2d_topic(&dev, &msg),
            "devices/fake_device/messages/devicebound/%24.mid=6b822696-f75a-46f5-8b02-0680db65abf5&%24.to=%2Fdevices%2Ffake_device%2Fmessages%2Fdevicebound"
        );
        let full = Message::new("")
            .with_message_id("mid")
            .with_to("/t")
            .with_correlation_id("fake_corid")
            .with_content_type("fake_content_type")
            .with_content_encoding("utf-8")
            .with_absolute_expiry(Timestamp::from_unix_secs(40_000_000_000))
            .with_ack(Ack::Positive)
            .with_property("computerId", "111-222-333-444");
        assert_eq!(
            c2d_topic(&dev, &full),
            "devices/fake_device/messages/devicebound/%24.mid=mid&%24.to=%2Ft&%24.cid=fake_corid&%24.ct=fake_content_type&%24.ce=utf-8&%24.exp=3237-07-19T23%3A06%3A40.0000000Z&iothub-ack=positive&computerId=111-222-333-444"
        );
        // No ack property when none is requested.
        assert!(!c2d_topic(&dev, &Message::new("")).contains("iothub-ack"));
    }

    #[test]
    fn c2d_round_trip_client_side() {
        let dev = d("device1");
        let msg = Message::new(b"\x00\xffbin".to_vec())
            .with_message_id("m-1")
            .with_to(c2d_to(&dev))
            .with_correlation_id("fake+corid")
            .with_user_id("svc")
            .with_json_content()
            .with_absolute_expiry(Timestamp::from_unix_millis(1_700_000_000_123))
            .with_ack(Ack::Full)
            .with_property("$weird/key;&=", "+ %/é");
        let (id, back) = parse_c2d_topic(&c2d_topic(&dev, &msg), msg.body.clone()).unwrap();
        assert_eq!(id, dev);
        assert_eq!(back, msg);
    }

    #[test]
    fn parses_captured_c2d_topics() {
        // Topics seen from the real hub (§4.5).
        let (id, msg) = parse_c2d_topic(
            "devices/fake_device/messages/devicebound/%24.exp=3237-07-19T23%3A06%3A40.0000000Z&%24.cid=fake+corid&%24.mid=abc&%24.to=%2Fdevices%2Ffake_device%2Fmessages%2FdeviceBound&%24.ct=fake_content_type&%24.ce=utf-8&iothub-ack=positive",
            b"x".to_vec(),
        )
        .unwrap();
        assert_eq!(id, "fake_device");
        assert_eq!(
            msg.absolute_expiry.map(Timestamp::unix_secs),
            Some(40_000_000_000)
        );
        assert_eq!(msg.correlation_id.as_deref(), Some("fake+corid"));
        assert_eq!(msg.message_id.as_deref(), Some("abc"));
        assert_eq!(
            msg.to.as_deref(),
            Some("/devices/fake_device/messages/deviceBound")
        );
        assert_eq!(msg.content_type.as_deref(), Some("fake_content_type"));
        assert_eq!(msg.ack, Ack::Positive);
        assert!(msg.properties.is_empty());
        let (_, msg) = parse_c2d_topic(
            "devices/0efc/messages/devicebound/%24.to=%2Fdevices%2F0efc%2Fmessages%2FdeviceBound&computerId=111-222-333-444&messageType=alert",
            vec![],
        )
        .unwrap();
        assert_eq!(
            msg.properties.iter().collect::<Vec<_>>(),
            vec![("computerId", "111-222-333-444"), ("messageType", "alert")]
        );
        // Docs-style bag with '?' and bare keys; no bag at all; `deviceBound` spelling.
        let (_, msg) = parse_c2d_topic(
            "devices/d/messages/devicebound/?prop1&prop2=&prop3=v",
            vec![],
        )
        .unwrap();
        assert_eq!(
            msg.properties.iter().collect::<Vec<_>>(),
            vec![("prop1", ""), ("prop2", ""), ("prop3", "v")]
        );
        assert!(parse_c2d_topic("devices/d/messages/devicebound", vec![]).is_ok());
        assert!(parse_c2d_topic("devices/d/messages/deviceBound/", vec![]).is_ok());
    }

    #[test]
    fn rejects_bad_c2d_topics() {
        let kind = TopicError::UnexpectedTopic {
            expected: "cloud-to-device",
        };
        for t in [
            "devices/d/messages/events/",
            "devices/d/messages/deviceboundx",
            "$iothub/methods/POST/m/?$rid=1",
            "devices/",
        ] {
            assert_eq!(parse_c2d_topic(t, vec![]).unwrap_err(), kind, "{t}");
        }
        assert_eq!(
            parse_c2d_topic(
                "devices/d/messages/devicebound/iothub-ack=sometimes",
                vec![]
            )
            .unwrap_err(),
            TopicError::InvalidProperty {
                key: "iothub-ack".into()
            }
        );
    }
}
