//! One message type for MQTT, AMQP and HTTPS, in both directions.

use core::fmt;

use crate::time::Timestamp;

/// The feedback a C2D sender requests (`iothub-ack`, §7.3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "lowercase"))]
pub enum Ack {
    /// No feedback (the default; the property is not sent).
    #[default]
    None,
    /// Feedback when the message is completed.
    Positive,
    /// Feedback when the message is dead-lettered (rejected, expired, delivery count exceeded).
    Negative,
    /// Both positive and negative feedback.
    Full,
}

impl Ack {
    /// The wire value: `none`, `positive`, `negative` or `full`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Positive => "positive",
            Self::Negative => "negative",
            Self::Full => "full",
        }
    }

    /// Parses a wire value (ASCII case-insensitive). `None` for anything else.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::None, Self::Positive, Self::Negative, Self::Full]
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }

    /// True if feedback is due when the message completes.
    pub fn wants_positive(self) -> bool {
        matches!(self, Self::Positive | Self::Full)
    }

    /// True if feedback is due when the message is dead-lettered.
    pub fn wants_negative(self) -> bool {
        matches!(self, Self::Negative | Self::Full)
    }
}

impl fmt::Display for Ack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Application properties: an insertion-ordered string map.
///
/// [`Properties::insert`] replaces the value of an existing key in place (keeping its
/// position). Serialized as a JSON object in insertion order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(String, String)>,
}

impl Properties {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key` to `value`; returns the previous value if the key existed.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) -> Option<String> {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => Some(core::mem::replace(v, value)),
            None => {
                self.entries.push((key, value));
                None
            }
        }
    }

    /// The value for `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Removes `key` and returns its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(pos).1)
    }

    /// True if `key` is present.
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    /// Iterates `(key, value)` in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Consumes the map and returns the ordered pairs.
    pub fn into_vec(self) -> Vec<(String, String)> {
        self.entries
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Properties {
    fn from_iter<T: IntoIterator<Item = (K, V)>>(iter: T) -> Self {
        let mut p = Self::new();
        for (k, v) in iter {
            p.insert(k, v);
        }
        p
    }
}

impl<K: Into<String>, V: Into<String>> Extend<(K, V)> for Properties {
    fn extend<T: IntoIterator<Item = (K, V)>>(&mut self, iter: T) {
        for (k, v) in iter {
            self.insert(k, v);
        }
    }
}

/// Fields the hub sets on a C2D message as delivered to the device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase", default))]
#[non_exhaustive]
pub struct ReceivedInfo {
    /// How many times the message was delivered before (abandons).
    pub delivery_count: u32,
    /// Hub-assigned sequence number, unique per device queue.
    pub sequence_number: u64,
    /// When the hub enqueued the message.
    pub enqueued_time: Option<Timestamp>,
    /// Lock token (HTTPS ETag / AMQP `x-opt-lock-token`), used to settle the message.
    pub lock_token: Option<String>,
}

impl ReceivedInfo {
    /// Builds the received-side fields.
    pub fn new(
        delivery_count: u32,
        sequence_number: u64,
        enqueued_time: Option<Timestamp>,
        lock_token: Option<String>,
    ) -> Self {
        Self {
            delivery_count,
            sequence_number,
            enqueued_time,
            lock_token,
        }
    }
}

/// A device-to-cloud or cloud-to-device message.
///
/// `Debug` prints the body size, never the body. With the `serde` feature the message
/// serializes in camelCase with the body as base64 under `bodyBase64`.
#[derive(Clone, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "camelCase", default))]
#[non_exhaustive]
pub struct Message {
    /// Payload bytes.
    #[cfg_attr(feature = "serde", serde(rename = "bodyBase64", with = "body_base64"))]
    pub body: Vec<u8>,
    /// `message-id` (`$.mid`).
    pub message_id: Option<String>,
    /// `correlation-id` (`$.cid`).
    pub correlation_id: Option<String>,
    /// `user-id` (`$.uid`).
    pub user_id: Option<String>,
    /// `to` (`$.to`); the hub sets `/devices/{id}/messages/devicebound` on C2D.
    pub to: Option<String>,
    /// `content-type` (`$.ct`), e.g. `application/json`.
    pub content_type: Option<String>,
    /// `content-encoding` (`$.ce`), e.g. `utf-8`.
    pub content_encoding: Option<String>,
    /// Absolute expiry (`$.exp`).
    pub absolute_expiry: Option<Timestamp>,
    /// Creation time (`$.ctime`; `iothub-creation-time-utc` on AMQP).
    pub creation_time: Option<Timestamp>,
    /// Requested feedback (`iothub-ack`), C2D only.
    pub ack: Ack,
    /// Module output name (`$.on`).
    pub output_name: Option<String>,
    /// Application properties, in insertion order.
    pub properties: Properties,
    /// Hub-set delivery fields on a received C2D message.
    pub received: Option<ReceivedInfo>,
}

impl Message {
    /// A message with this body and nothing else set.
    pub fn new(body: impl Into<Vec<u8>>) -> Self {
        Self {
            body: body.into(),
            ..Self::default()
        }
    }

    /// Sets `message_id`.
    pub fn with_message_id(mut self, id: impl Into<String>) -> Self {
        self.message_id = Some(id.into());
        self
    }

    /// Sets `correlation_id`.
    pub fn with_correlation_id(mut self, id: impl Into<String>) -> Self {
        self.correlation_id = Some(id.into());
        self
    }

    /// Sets `user_id`.
    pub fn with_user_id(mut self, id: impl Into<String>) -> Self {
        self.user_id = Some(id.into());
        self
    }

    /// Sets `to`.
    pub fn with_to(mut self, to: impl Into<String>) -> Self {
        self.to = Some(to.into());
        self
    }

    /// Sets `content_type`.
    pub fn with_content_type(mut self, ct: impl Into<String>) -> Self {
        self.content_type = Some(ct.into());
        self
    }

    /// Sets `content_encoding`.
    pub fn with_content_encoding(mut self, ce: impl Into<String>) -> Self {
        self.content_encoding = Some(ce.into());
        self
    }

    /// Sets `content_type = application/json` and `content_encoding = utf-8`, which makes
    /// JSON bodies routable by the hub.
    pub fn with_json_content(self) -> Self {
        self.with_content_type("application/json")
            .with_content_encoding("utf-8")
    }

    /// Sets `absolute_expiry`.
    pub fn with_absolute_expiry(mut self, at: Timestamp) -> Self {
        self.absolute_expiry = Some(at);
        self
    }

    /// Sets `creation_time`.
    pub fn with_creation_time(mut self, at: Timestamp) -> Self {
        self.creation_time = Some(at);
        self
    }

    /// Sets the requested feedback.
    pub fn with_ack(mut self, ack: Ack) -> Self {
        self.ack = ack;
        self
    }

    /// Sets the module output name.
    pub fn with_output_name(mut self, name: impl Into<String>) -> Self {
        self.output_name = Some(name.into());
        self
    }

    /// Sets (or replaces) one application property.
    pub fn with_property(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.properties.insert(key, value);
        self
    }

    /// Sets the received-side fields.
    pub fn with_received(mut self, info: ReceivedInfo) -> Self {
        self.received = Some(info);
        self
    }

    /// The body as UTF-8 text, if it is valid UTF-8.
    pub fn body_str(&self) -> Option<&str> {
        core::str::from_utf8(&self.body).ok()
    }
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The body may carry user data; its size is what diagnostics need.
        f.debug_struct("Message")
            .field("body_len", &self.body.len())
            .field("message_id", &self.message_id)
            .field("correlation_id", &self.correlation_id)
            .field("user_id", &self.user_id)
            .field("to", &self.to)
            .field("content_type", &self.content_type)
            .field("content_encoding", &self.content_encoding)
            .field("absolute_expiry", &self.absolute_expiry)
            .field("creation_time", &self.creation_time)
            .field("ack", &self.ack)
            .field("output_name", &self.output_name)
            .field("properties", &self.properties)
            .field("received", &self.received)
            .finish()
    }
}

#[cfg(feature = "serde")]
mod body_base64 {
    use base64::Engine as _;

    pub(super) fn serialize<S: serde::Serializer>(body: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(body))
    }

    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = <String as serde::Deserialize>::deserialize(d)?;
        crate::sas::BASE64_LENIENT
            .decode(text.as_bytes())
            .map_err(|_| serde::de::Error::custom("bodyBase64 is not valid base64"))
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Properties {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.entries.len()))?;
        for (k, v) in &self.entries {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Properties {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Properties;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map of string properties")
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Properties, A::Error> {
                let mut props = Properties::new();
                // Entries arrive in document order, which is the order we keep.
                while let Some((k, v)) = map.next_entry::<String, String>()? {
                    props.insert(k, v);
                }
                Ok(props)
            }
        }

        d.deserialize_map(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_parse_and_flags() {
        assert_eq!(Ack::parse("positive"), Some(Ack::Positive));
        assert_eq!(Ack::parse("FULL"), Some(Ack::Full));
        assert_eq!(Ack::parse("none"), Some(Ack::None));
        assert_eq!(Ack::parse("Negative"), Some(Ack::Negative));
        assert_eq!(Ack::parse("yes"), None);
        assert!(Ack::Full.wants_positive() && Ack::Full.wants_negative());
        assert!(Ack::Positive.wants_positive() && !Ack::Positive.wants_negative());
        assert!(!Ack::Negative.wants_positive() && Ack::Negative.wants_negative());
        assert!(!Ack::None.wants_positive() && !Ack::None.wants_negative());
        assert_eq!(Ack::default(), Ack::None);
    }

    #[test]
    fn properties_keep_insertion_order_and_replace_in_place() {
        let mut p = Properties::new();
        assert_eq!(p.insert("z", "1"), None);
        p.insert("a", "2");
        p.insert("m", "3");
        assert_eq!(p.insert("a", "4"), Some("2".into()));
        assert_eq!(
            p.iter().collect::<Vec<_>>(),
            vec![("z", "1"), ("a", "4"), ("m", "3")]
        );
        assert_eq!(p.remove("z"), Some("1".into()));
        assert!(!p.contains_key("z"));
        assert_eq!(p.get("m"), Some("3"));
        assert_eq!(p.len(), 2);
    }

    #[test]
    fn builders_set_fields() {
        let m = Message::new("hi")
            .with_message_id("m1")
            .with_correlation_id("c1")
            .with_user_id("u1")
            .with_to("/devices/d/messages/events")
            .with_json_content()
            .with_absolute_expiry(Timestamp::from_unix_secs(10))
            .with_creation_time(Timestamp::from_unix_secs(5))
            .with_ack(Ack::Full)
            .with_output_name("out")
            .with_property("k", "v")
            .with_received(ReceivedInfo::new(1, 2, None, Some("lock".into())));
        assert_eq!(m.body_str(), Some("hi"));
        assert_eq!(m.message_id.as_deref(), Some("m1"));
        assert_eq!(m.correlation_id.as_deref(), Some("c1"));
        assert_eq!(m.user_id.as_deref(), Some("u1"));
        assert_eq!(m.to.as_deref(), Some("/devices/d/messages/events"));
        assert_eq!(m.content_type.as_deref(), Some("application/json"));
        assert_eq!(m.content_encoding.as_deref(), Some("utf-8"));
        assert_eq!(m.absolute_expiry, Some(Timestamp::from_unix_secs(10)));
        assert_eq!(m.creation_time, Some(Timestamp::from_unix_secs(5)));
        assert_eq!(m.ack, Ack::Full);
        assert_eq!(m.output_name.as_deref(), Some("out"));
        assert_eq!(m.properties.get("k"), Some("v"));
        assert_eq!(m.received.as_ref().map(|r| r.sequence_number), Some(2));
    }

    #[test]
    fn debug_shows_size_not_body() {
        let m = Message::new(b"top-secret-payload".to_vec());
        let dbg = format!("{m:?}");
        assert!(dbg.contains("body_len: 18"), "{dbg}");
        assert!(!dbg.contains("top-secret"), "{dbg}");
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_camel_case_round_trip() {
        let m = Message::new(vec![0u8, 1, 2, 255])
            .with_message_id("m1")
            .with_content_type("application/octet-stream")
            .with_absolute_expiry(Timestamp::from_unix_millis(1_700_000_000_123))
            .with_ack(Ack::Negative)
            .with_property("zeta", "1")
            .with_property("alpha", "2")
            .with_received(ReceivedInfo::new(
                3,
                42,
                Some(Timestamp::from_unix_secs(1)),
                None,
            ));
        let json = serde_json::to_value(&m).unwrap();
        assert_eq!(json["bodyBase64"], "AAEC/w==");
        assert_eq!(json["messageId"], "m1");
        assert_eq!(json["contentType"], "application/octet-stream");
        assert_eq!(json["absoluteExpiry"], 1_700_000_000_123u64);
        assert_eq!(json["ack"], "negative");
        assert_eq!(json["received"]["sequenceNumber"], 42);
        assert_eq!(json["received"]["deliveryCount"], 3);
        assert_eq!(json["correlationId"], serde_json::Value::Null);
        let text = serde_json::to_string(&m).unwrap();
        // Property order survives serialization.
        assert!(
            text.find("\"zeta\"").unwrap() < text.find("\"alpha\"").unwrap(),
            "{text}"
        );
        let back: Message = serde_json::from_str(&text).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.properties.iter().next(), Some(("zeta", "1")));
    }

    #[cfg(feature = "serde")]
    #[test]
    fn serde_defaults_and_errors() {
        let m: Message =
            serde_json::from_str(r#"{"bodyBase64":"aGk","properties":{"b":"1","a":"2"}}"#).unwrap();
        assert_eq!(m.body, b"hi");
        assert_eq!(m.ack, Ack::None);
        assert_eq!(
            m.properties.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["b", "a"]
        );
        let empty: Message = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Message::default());
        assert!(serde_json::from_str::<Message>(r#"{"bodyBase64":"!!"}"#).is_err());
        assert!(serde_json::from_str::<Message>(r#"{"ack":"maybe"}"#).is_err());
        assert!(serde_json::from_str::<Message>(r#"{"properties":{"a":1}}"#).is_err());
    }
}
