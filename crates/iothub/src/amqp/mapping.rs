//! [`Message`] ↔ AMQP message (§5.6).
//!
//! Encoding follows the Node SDK: ids as AMQP `string`, `user-id` as the UTF-8 bytes,
//! content type/encoding as symbols, the body as one `data` section, `iothub-*` application
//! properties for ack, creation time and output name. Decoding is lenient about the shapes
//! other senders use (uuid/ulong/binary ids, several data sections, amqp-value bodies,
//! non-string property values) and strict only where a value cannot mean anything
//! (an unknown `iothub-ack`, an unparsable creation time).

use hubwire_amqp::{
    AnnotationKey, Annotations, ApplicationProperties, Body, Bytes, Header, Message as AmqpMessage,
    MessageId, Properties as AmqpProperties, Str, Symbol, Timestamp as AmqpTimestamp, Uuid, Value,
};

use super::{
    ANNOTATION_DELIVERY_COUNT, ANNOTATION_ENQUEUED_TIME, ANNOTATION_LOCK_TOKEN,
    ANNOTATION_SEQUENCE_NUMBER, APP_PROP_ACK, APP_PROP_CREATION_TIME, APP_PROP_OUTPUT_NAME,
};
use crate::{Ack, DeviceId, Message, ReceivedInfo, Timestamp};

/// Why a message cannot be mapped to or from AMQP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmqpMappingError {
    /// Content type or content encoding is not ASCII, so it cannot be an AMQP symbol.
    #[error("{field} is not ASCII and cannot be an AMQP symbol")]
    NotAscii {
        /// `content-type` or `content-encoding`.
        field: &'static str,
    },
    /// A time does not fit the other side's range (AMQP timestamps are signed, ours are not).
    #[error("{field} is outside the representable time range")]
    TimestampOutOfRange {
        /// The AMQP field or property name.
        field: &'static str,
    },
    /// An `iothub-*` application property has a value that means nothing
    /// (`iothub-ack` not one of `none|positive|negative|full`, creation time not a time).
    #[error("application property {key} has an invalid value")]
    InvalidProperty {
        /// The property name.
        key: String,
    },
    /// The body is neither data sections nor an amqp-value string, binary or null.
    #[error("unsupported message body: {kind}")]
    UnsupportedBody {
        /// `amqp-sequence` or `amqp-value`.
        kind: &'static str,
    },
}

/// A symbol for one of this module's constant names (all ASCII; checked by a test).
fn sym(name: &'static str) -> Symbol {
    Symbol::from_static(name).unwrap_or_default()
}

fn annotation_key(name: &'static str) -> AnnotationKey {
    AnnotationKey::Symbol(sym(name))
}

fn to_symbol(value: Option<&str>, field: &'static str) -> Result<Option<Symbol>, AmqpMappingError> {
    value
        .map(|v| Symbol::new(v).map_err(|_| AmqpMappingError::NotAscii { field }))
        .transpose()
}

fn to_amqp_time(t: Timestamp, field: &'static str) -> Result<AmqpTimestamp, AmqpMappingError> {
    i64::try_from(t.unix_millis())
        .map(AmqpTimestamp)
        .map_err(|_| AmqpMappingError::TimestampOutOfRange { field })
}

fn from_amqp_time(t: AmqpTimestamp, field: &'static str) -> Result<Timestamp, AmqpMappingError> {
    u64::try_from(t.0)
        .map(Timestamp::from_unix_millis)
        .map_err(|_| AmqpMappingError::TimestampOutOfRange { field })
}

/// Encodes a message the way a device (or the hub, for C2D) sends it: properties, application
/// properties (user properties, then `iothub-ack` unless none, `iothub-creation-time-utc` in
/// ISO 8601, `iothub-outputname`) and one `data` section. When `received` is set (a C2D
/// message the hub delivers) the message also gets the delivery annotations
/// (`iothub-enqueuedtime`, `iothub-deliverycount`, `x-opt-sequence-number`,
/// `x-opt-lock-token`) and a header with the delivery count.
///
/// # Errors
/// [`AmqpMappingError::NotAscii`] for a non-ASCII content type or encoding,
/// [`AmqpMappingError::TimestampOutOfRange`] for a time past the year 292 million.
pub fn message_to_amqp(msg: &Message) -> Result<AmqpMessage, AmqpMappingError> {
    let properties = AmqpProperties {
        message_id: msg.message_id.as_deref().map(string_id),
        user_id: msg
            .user_id
            .as_ref()
            .map(|u| Bytes::copy_from_slice(u.as_bytes())),
        to: msg.to.as_deref().map(Str::new),
        correlation_id: msg.correlation_id.as_deref().map(string_id),
        content_type: to_symbol(msg.content_type.as_deref(), "content-type")?,
        content_encoding: to_symbol(msg.content_encoding.as_deref(), "content-encoding")?,
        absolute_expiry_time: msg
            .absolute_expiry
            .map(|t| to_amqp_time(t, "absolute-expiry-time"))
            .transpose()?,
        ..AmqpProperties::default()
    };

    let mut app = ApplicationProperties::new();
    for (k, v) in msg.properties.iter() {
        app.insert(Str::new(k), Value::String(Str::new(v)));
    }
    // System values are inserted last so they win over a user property of the same name.
    if msg.ack != Ack::None {
        app.insert(
            Str::from_static(APP_PROP_ACK),
            Value::String(Str::from_static(msg.ack.as_str())),
        );
    }
    if let Some(t) = msg.creation_time {
        app.insert(
            Str::from_static(APP_PROP_CREATION_TIME),
            Value::String(Str::from(t.to_iso8601())),
        );
    }
    if let Some(name) = &msg.output_name {
        app.insert(
            Str::from_static(APP_PROP_OUTPUT_NAME),
            Value::String(Str::new(name)),
        );
    }

    let (header, message_annotations) = match &msg.received {
        Some(r) => {
            let mut ann = Annotations::new();
            if let Some(t) = r.enqueued_time {
                ann.push(
                    annotation_key(ANNOTATION_ENQUEUED_TIME),
                    Value::Timestamp(to_amqp_time(t, ANNOTATION_ENQUEUED_TIME)?),
                );
            }
            // The hub sends a ubyte; larger counts (not seen in practice) widen to uint.
            let count =
                u8::try_from(r.delivery_count).map_or(Value::Uint(r.delivery_count), Value::Ubyte);
            ann.push(annotation_key(ANNOTATION_DELIVERY_COUNT), count);
            ann.push(
                annotation_key(ANNOTATION_SEQUENCE_NUMBER),
                Value::Ulong(r.sequence_number),
            );
            if let Some(lock) = &r.lock_token {
                ann.push(
                    annotation_key(ANNOTATION_LOCK_TOKEN),
                    Value::String(Str::new(lock)),
                );
            }
            let header = Header {
                delivery_count: r.delivery_count,
                ..Header::default()
            };
            (Some(header), Some(ann))
        }
        None => (None, None),
    };

    Ok(AmqpMessage {
        header,
        message_annotations,
        properties: (properties != AmqpProperties::default()).then_some(properties),
        application_properties: (!app.is_empty()).then_some(app),
        body: Body::data(Bytes::copy_from_slice(&msg.body)),
        ..AmqpMessage::default()
    })
}

/// The `to` the hub puts on C2D messages over AMQP: `/devices/{d}/messages/deviceBound`.
pub fn c2d_to(device_id: &DeviceId) -> String {
    format!("/devices/{device_id}/messages/deviceBound")
}

/// Hub side: the AMQP form of a C2D message for `device_id`. As [`message_to_amqp`], with
/// `to` always set to [`c2d_to`] (the message goes to that device, whatever `to` it had) and,
/// when `msg.received` is set, the delivery annotations and header. Send it with the lock
/// token's [`delivery_tag_from_lock_token`] as the delivery tag.
///
/// # Errors
/// As [`message_to_amqp`].
pub fn c2d_message_to_amqp(
    device_id: &DeviceId,
    msg: &Message,
) -> Result<AmqpMessage, AmqpMappingError> {
    let mut m = message_to_amqp(msg)?;
    m.properties.get_or_insert_with(AmqpProperties::default).to =
        Some(Str::from(c2d_to(device_id)));
    Ok(m)
}

/// Decodes an AMQP message into a [`Message`] (either direction).
///
/// * message-id / correlation-id: any of the four AMQP forms, as text
///   ([`message_id_to_string`]).
/// * user-id: the bytes as UTF-8 (invalid sequences replaced).
/// * application properties: `iothub-ack`, `iothub-creation-time-utc` (ISO 8601 text or an AMQP
///   timestamp) and `iothub-outputname` go to their fields, every other one to
///   `properties` with non-string values in their display form ([`value_to_string`]).
///   Without `iothub-creation-time-utc`, `properties.creation-time` is used.
/// * body: all `data` sections concatenated, an amqp-value string or binary, or empty.
/// * `received` is set when any C2D delivery annotation is present (delivery count from
///   `iothub-deliverycount`, else the header's).
///
/// # Errors
/// [`AmqpMappingError::InvalidProperty`] for a bad `iothub-ack` or creation time,
/// [`AmqpMappingError::TimestampOutOfRange`] for a time before 1970,
/// [`AmqpMappingError::UnsupportedBody`] for an amqp-sequence or a non-string amqp-value.
pub fn message_from_amqp(m: &AmqpMessage) -> Result<Message, AmqpMappingError> {
    let mut msg = Message::new(body_bytes(&m.body)?);
    if let Some(p) = &m.properties {
        msg.message_id = p.message_id.as_ref().map(message_id_to_string);
        msg.correlation_id = p.correlation_id.as_ref().map(message_id_to_string);
        msg.user_id = p
            .user_id
            .as_ref()
            .map(|b| String::from_utf8_lossy(b).into_owned());
        msg.to = p.to.as_ref().map(|s| s.as_str().to_owned());
        msg.content_type = p.content_type.as_ref().map(|s| s.as_str().to_owned());
        msg.content_encoding = p.content_encoding.as_ref().map(|s| s.as_str().to_owned());
        msg.absolute_expiry = p
            .absolute_expiry_time
            .map(|t| from_amqp_time(t, "absolute-expiry-time"))
            .transpose()?;
        msg.creation_time = p
            .creation_time
            .map(|t| from_amqp_time(t, "creation-time"))
            .transpose()?;
    }
    if let Some(app) = &m.application_properties {
        for (k, v) in app {
            let key = k.as_str();
            let invalid = || AmqpMappingError::InvalidProperty {
                key: key.to_owned(),
            };
            match key {
                APP_PROP_ACK => {
                    msg.ack = text_value(v).and_then(Ack::parse).ok_or_else(invalid)?;
                }
                APP_PROP_CREATION_TIME => {
                    msg.creation_time = Some(time_value(v).ok_or_else(invalid)?);
                }
                APP_PROP_OUTPUT_NAME => msg.output_name = Some(value_to_string(v)),
                _ => {
                    msg.properties.insert(key, value_to_string(v));
                }
            }
        }
    }
    msg.received = received_info(m);
    Ok(msg)
}

/// Device side: a C2D delivery. As [`message_from_amqp`], but `received` is always set
/// (zeros when the hub sent no annotations) and, without `x-opt-lock-token`, the lock token
/// comes from a 16-byte delivery tag ([`lock_token_from_delivery_tag`]).
///
/// # Errors
/// As [`message_from_amqp`].
pub fn c2d_message_from_amqp(
    m: &AmqpMessage,
    delivery_tag: &[u8],
) -> Result<Message, AmqpMappingError> {
    let mut msg = message_from_amqp(m)?;
    let mut info = msg.received.take().unwrap_or_else(|| {
        ReceivedInfo::new(
            m.header.as_ref().map_or(0, |h| h.delivery_count),
            0,
            None,
            None,
        )
    });
    if info.lock_token.is_none() {
        info.lock_token = lock_token_from_delivery_tag(delivery_tag);
    }
    msg.received = Some(info);
    Ok(msg)
}

/// Hub side: a D2C message from a device. As [`message_from_amqp`], but `received` is never
/// set: C2D delivery annotations have no meaning on a message a device sends.
///
/// # Errors
/// As [`message_from_amqp`].
pub fn d2c_message_from_amqp(m: &AmqpMessage) -> Result<Message, AmqpMappingError> {
    let mut msg = message_from_amqp(m)?;
    msg.received = None;
    Ok(msg)
}

fn string_id(s: &str) -> MessageId {
    MessageId::String(Str::new(s))
}

/// A message-id or correlation-id as text: strings as they are, uuids in the lower-case
/// hyphenated form, ulongs in decimal, binaries as their UTF-8 text when that is printable,
/// else as a uuid when 16 bytes long, else in lower-case hex.
pub fn message_id_to_string(id: &MessageId) -> String {
    match id {
        MessageId::String(s) => s.as_str().to_owned(),
        MessageId::Uuid(u) => u.to_string(),
        MessageId::Ulong(n) => n.to_string(),
        MessageId::Binary(b) => binary_to_string(b, true),
    }
}

fn binary_to_string(b: &[u8], uuid_if_16: bool) -> String {
    if let Ok(s) = core::str::from_utf8(b) {
        if !s.chars().any(char::is_control) {
            return s.to_owned();
        }
    }
    if uuid_if_16 {
        if let Ok(bytes) = <[u8; 16]>::try_from(b) {
            return Uuid(bytes).to_string();
        }
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Parses the hyphenated uuid form (`8-4-4-4-12` hex digits, any case), e.g. to send a
/// correlation-id as an AMQP `uuid` where a peer requires it (direct methods).
pub fn uuid_from_str(s: &str) -> Option<Uuid> {
    let b = s.as_bytes();
    if b.len() != 36 {
        return None;
    }
    let mut out = [0u8; 16];
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        if matches!(i, 8 | 13 | 18 | 23) {
            if b.get(i) != Some(&b'-') {
                return None;
            }
            i += 1;
            continue;
        }
        let hi = hex_digit(*b.get(i)?)?;
        let lo = hex_digit(*b.get(i + 1)?)?;
        *out.get_mut(n)? = hi << 4 | lo;
        n += 1;
        i += 2;
    }
    (n == 16).then_some(Uuid(out))
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// The lock-token GUID's bytes in .NET `Guid.ToByteArray` order (first three groups
/// little-endian), the delivery tag the hub uses for C2D deliveries.
pub fn delivery_tag_from_lock_token(lock_token: &str) -> Option<[u8; 16]> {
    uuid_from_str(lock_token).map(|u| swap_guid_order(u.0))
}

/// The lock token (lower-case hyphenated GUID) from a 16-byte C2D delivery tag in .NET
/// `Guid.ToByteArray` order; `None` for tags of any other length.
pub fn lock_token_from_delivery_tag(tag: &[u8]) -> Option<String> {
    let bytes = <[u8; 16]>::try_from(tag).ok()?;
    Some(Uuid(swap_guid_order(bytes)).to_string())
}

/// Converts between RFC 4122 and .NET byte order (the swap is its own inverse).
fn swap_guid_order(mut b: [u8; 16]) -> [u8; 16] {
    b[..4].reverse();
    b[4..6].reverse();
    b[6..8].reverse();
    b
}

/// The display form of an application-property value: strings and symbols as they are,
/// null as `""`, numbers and booleans as Rust prints them, timestamps in RFC 3339 (numbers
/// of milliseconds if before 1970), uuids hyphenated, binaries as UTF-8 text when printable
/// else hex, anything compound in its debug form.
pub fn value_to_string(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.as_str().to_owned(),
        Value::Symbol(s) => s.as_str().to_owned(),
        Value::Bool(b) => b.to_string(),
        Value::Ubyte(n) => n.to_string(),
        Value::Ushort(n) => n.to_string(),
        Value::Uint(n) => n.to_string(),
        Value::Ulong(n) => n.to_string(),
        Value::Byte(n) => n.to_string(),
        Value::Short(n) => n.to_string(),
        Value::Int(n) => n.to_string(),
        Value::Long(n) => n.to_string(),
        Value::Float(n) => n.to_string(),
        Value::Double(n) => n.to_string(),
        Value::Char(c) => c.to_string(),
        Value::Timestamp(t) => u64::try_from(t.0).map_or_else(
            |_| t.0.to_string(),
            |ms| Timestamp::from_unix_millis(ms).to_rfc3339_millis(),
        ),
        Value::Uuid(u) => u.to_string(),
        Value::Binary(b) => binary_to_string(b, false),
        other => format!("{other:?}"),
    }
}

fn text_value(v: &Value) -> Option<&str> {
    match v {
        Value::String(s) => Some(s.as_str()),
        Value::Symbol(s) => Some(s.as_str()),
        _ => None,
    }
}

/// A time given as ISO 8601 text or an AMQP timestamp.
fn time_value(v: &Value) -> Option<Timestamp> {
    match v {
        Value::Timestamp(t) => u64::try_from(t.0).ok().map(Timestamp::from_unix_millis),
        _ => Timestamp::parse_iso8601(text_value(v)?).ok(),
    }
}

fn body_bytes(body: &Body) -> Result<Vec<u8>, AmqpMappingError> {
    match body {
        Body::Empty | Body::Value(Value::Null) => Ok(Vec::new()),
        Body::Data(sections) => Ok(sections.iter().flat_map(|s| s.iter().copied()).collect()),
        Body::Value(Value::String(s)) => Ok(s.as_bytes().to_vec()),
        Body::Value(Value::Binary(b)) => Ok(b.to_vec()),
        Body::Value(_) => Err(AmqpMappingError::UnsupportedBody { kind: "amqp-value" }),
        Body::Sequence(_) => Err(AmqpMappingError::UnsupportedBody {
            kind: "amqp-sequence",
        }),
    }
}

/// The C2D delivery fields, when the message carries any of the hub's annotations.
fn received_info(m: &AmqpMessage) -> Option<ReceivedInfo> {
    let ann = m.message_annotations.as_ref()?;
    let count = ann.get(ANNOTATION_DELIVERY_COUNT).and_then(Value::as_u64);
    let sequence = ann.get(ANNOTATION_SEQUENCE_NUMBER).and_then(Value::as_u64);
    let enqueued = ann.get(ANNOTATION_ENQUEUED_TIME).and_then(time_value);
    let lock = ann.get(ANNOTATION_LOCK_TOKEN).and_then(|v| match v {
        Value::Uuid(u) => Some(u.to_string()),
        _ => text_value(v).map(str::to_owned),
    });
    if count.is_none() && sequence.is_none() && enqueued.is_none() && lock.is_none() {
        return None;
    }
    let delivery_count = count.map_or_else(
        || m.header.as_ref().map_or(0, |h| h.delivery_count),
        |n| u32::try_from(n).unwrap_or(u32::MAX),
    );
    Some(ReceivedInfo::new(
        delivery_count,
        sequence.unwrap_or(0),
        enqueued,
        lock,
    ))
}

#[cfg(test)]
mod tests {
    use hubwire_amqp::{Decode, Encode};
    use proptest::prelude::*;

    use super::*;

    /// Encodes to AMQP bytes and decodes again, as the wire does.
    fn wire(m: &AmqpMessage) -> AmqpMessage {
        let bytes = m.to_bytes().expect("encodes");
        AmqpMessage::decode(bytes).expect("decodes")
    }

    fn device() -> DeviceId {
        DeviceId::new("dev-1").expect("valid")
    }

    fn full_message() -> Message {
        Message::new(b"\x00\xffbinary body".to_vec())
            .with_message_id("3f2504e0-4f89-11d3-9a0c-0305e82c3301")
            .with_correlation_id("corr/1 & 2")
            .with_user_id("svc-user")
            .with_to("/devices/dev-1/messages/events")
            .with_content_type("application/json")
            .with_content_encoding("utf-8")
            .with_absolute_expiry(Timestamp::from_unix_millis(1_700_000_000_123))
            .with_creation_time(Timestamp::from_unix_millis(1_699_999_999_456))
            .with_ack(Ack::Full)
            .with_output_name("out1")
            .with_property("plain", "v")
            .with_property("", "empty key")
            .with_property("empty value", "")
            .with_property("$.mid", "looks like a system key")
            .with_property("sym&=?#/%", "a=b&c=d%20")
            .with_property("ünïcödé ключ", "値 🚀")
            .with_property("spaces  inside ", " padded ")
    }

    #[test]
    fn d2c_round_trip_keeps_every_field() {
        let msg = full_message();
        let amqp = message_to_amqp(&msg).expect("maps");
        let back = d2c_message_from_amqp(&wire(&amqp)).expect("parses");
        assert_eq!(back, msg);
        // The generic decoder gives the same result for a message without C2D annotations.
        assert_eq!(message_from_amqp(&amqp).expect("parses"), msg);
    }

    #[test]
    fn c2d_round_trip_keeps_received_info_and_sets_to() {
        let info = ReceivedInfo::new(
            3,
            42,
            Some(Timestamp::from_unix_millis(1_700_000_000_000)),
            Some("00112233-4455-6677-8899-aabbccddeeff".into()),
        );
        let msg = full_message().with_to("/elsewhere").with_received(info);
        let amqp = c2d_message_to_amqp(&device(), &msg).expect("maps");
        let tag =
            delivery_tag_from_lock_token("00112233-4455-6677-8899-aabbccddeeff").expect("guid");
        let back = c2d_message_from_amqp(&wire(&amqp), &tag).expect("parses");
        let expected = msg.with_to("/devices/dev-1/messages/deviceBound");
        assert_eq!(back, expected);
    }

    #[test]
    fn wire_layout_follows_the_sdks() {
        let amqp = message_to_amqp(&full_message()).expect("maps");
        let p = amqp.properties.as_ref().expect("properties");
        assert_eq!(
            p.message_id,
            Some(MessageId::String(Str::from_static(
                "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
            )))
        );
        assert_eq!(p.user_id.as_deref(), Some(&b"svc-user"[..]));
        assert_eq!(
            p.content_type.as_ref().map(Symbol::as_str),
            Some("application/json")
        );
        assert_eq!(
            p.content_encoding.as_ref().map(Symbol::as_str),
            Some("utf-8")
        );
        assert_eq!(
            p.absolute_expiry_time,
            Some(AmqpTimestamp(1_700_000_000_123))
        );
        assert_eq!(p.creation_time, None);
        let app = amqp.application_properties.as_ref().expect("app props");
        assert_eq!(app.get("iothub-ack"), Some(&Value::from("full")));
        assert_eq!(
            app.get("iothub-creation-time-utc"),
            Some(&Value::from("2023-11-14T22:13:19.4560000Z"))
        );
        assert_eq!(app.get("iothub-outputname"), Some(&Value::from("out1")));
        assert_eq!(app.get("plain"), Some(&Value::from("v")));
        assert_eq!(
            amqp.body.single_data().map(|b| b.to_vec()),
            Some(b"\x00\xffbinary body".to_vec())
        );
        assert!(amqp.header.is_none() && amqp.message_annotations.is_none());
    }

    #[test]
    fn minimal_message_has_only_a_data_section() {
        let amqp = message_to_amqp(&Message::new(Vec::new())).expect("maps");
        assert_eq!(amqp, AmqpMessage::with_data(Bytes::new()));
        assert_eq!(
            message_from_amqp(&wire(&amqp)).expect("parses"),
            Message::new(Vec::new())
        );
    }

    #[test]
    fn hub_c2d_annotations_have_the_hub_types() {
        let info = ReceivedInfo::new(
            300,
            u64::MAX,
            Some(Timestamp::from_unix_millis(5)),
            Some("lock".into()),
        );
        let amqp =
            c2d_message_to_amqp(&device(), &Message::new("x").with_received(info)).expect("maps");
        let ann = amqp.message_annotations.as_ref().expect("annotations");
        assert_eq!(
            ann.get("iothub-enqueuedtime"),
            Some(&Value::Timestamp(AmqpTimestamp(5)))
        );
        // 300 does not fit the ubyte the hub normally uses.
        assert_eq!(ann.get("iothub-deliverycount"), Some(&Value::Uint(300)));
        assert_eq!(
            ann.get("x-opt-sequence-number"),
            Some(&Value::Ulong(u64::MAX))
        );
        assert_eq!(ann.get("x-opt-lock-token"), Some(&Value::from("lock")));
        assert_eq!(amqp.header.as_ref().map(|h| h.delivery_count), Some(300));
        assert_eq!(
            amqp.properties
                .as_ref()
                .and_then(|p| p.to.as_ref())
                .map(Str::as_str),
            Some("/devices/dev-1/messages/deviceBound")
        );
        let small = c2d_message_to_amqp(
            &device(),
            &Message::new("x").with_received(ReceivedInfo::new(2, 1, None, None)),
        )
        .expect("maps");
        let ann = small.message_annotations.expect("annotations");
        assert_eq!(ann.get("iothub-deliverycount"), Some(&Value::Ubyte(2)));
        assert_eq!(ann.get("iothub-enqueuedtime"), None);
        assert_eq!(ann.get("x-opt-lock-token"), None);
    }

    fn with_ids(id: MessageId, cid: MessageId) -> AmqpMessage {
        AmqpMessage {
            properties: Some(AmqpProperties {
                message_id: Some(id),
                correlation_id: Some(cid),
                ..AmqpProperties::default()
            }),
            ..AmqpMessage::with_data(Bytes::new())
        }
    }

    #[test]
    fn ids_in_every_amqp_form_decode_to_strings() {
        let uuid = uuid_from_str("3F2504E0-4F89-11D3-9A0C-0305E82C3301").expect("uuid");
        let cases = [
            (
                MessageId::Uuid(uuid),
                "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            ),
            (MessageId::Ulong(0), "0"),
            (MessageId::Ulong(u64::MAX), "18446744073709551615"),
            (
                MessageId::Binary(Bytes::from(uuid.0.to_vec())),
                "3f2504e0-4f89-11d3-9a0c-0305e82c3301",
            ),
            (MessageId::Binary(Bytes::from_static(b"text-id")), "text-id"),
            (MessageId::Binary(Bytes::from_static(b"\x01\xfe")), "01fe"),
            (MessageId::Binary(Bytes::new()), ""),
            (MessageId::String(Str::from_static("s")), "s"),
        ];
        for (id, text) in cases {
            let m = wire(&with_ids(id.clone(), id.clone()));
            let msg = message_from_amqp(&m).expect("parses");
            assert_eq!(msg.message_id.as_deref(), Some(text), "{id:?}");
            assert_eq!(msg.correlation_id.as_deref(), Some(text), "{id:?}");
        }
    }

    #[test]
    fn uuid_parsing_is_strict() {
        let u = uuid_from_str("00112233-4455-6677-8899-aabbccddeeff").expect("uuid");
        assert_eq!(u.to_string(), "00112233-4455-6677-8899-aabbccddeeff");
        for bad in [
            "",
            "00112233445566778899aabbccddeeff",
            "00112233-4455-6677-8899-aabbccddeefg",
            "00112233-4455-6677-8899_aabbccddeeff",
            "{00112233-4455-6677-8899-aabbccddeeff}",
            "00112233-4455-6677-8899-aabbccddeeffé",
            "0011223-34455-6677-8899-aabbccddeeff",
        ] {
            assert_eq!(uuid_from_str(bad), None, "{bad}");
        }
    }

    #[test]
    fn lock_token_and_delivery_tag_use_dotnet_byte_order() {
        // Guid("00112233-4455-6677-8899-aabbccddeeff").ToByteArray()
        let tag = [
            0x33, 0x22, 0x11, 0x00, 0x55, 0x44, 0x77, 0x66, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ];
        assert_eq!(
            delivery_tag_from_lock_token("00112233-4455-6677-8899-AABBCCDDEEFF"),
            Some(tag)
        );
        assert_eq!(
            lock_token_from_delivery_tag(&tag).as_deref(),
            Some("00112233-4455-6677-8899-aabbccddeeff")
        );
        assert_eq!(lock_token_from_delivery_tag(&tag[..15]), None);
        assert_eq!(lock_token_from_delivery_tag(&[]), None);
        assert_eq!(delivery_tag_from_lock_token("not-a-guid"), None);
    }

    #[test]
    fn non_string_application_properties_use_their_display_form() {
        let mut app = ApplicationProperties::new();
        let entries: Vec<(&str, Value, &str)> = vec![
            ("int", Value::Int(-7), "-7"),
            ("long", Value::Long(i64::MIN), "-9223372036854775808"),
            ("ubyte", Value::Ubyte(255), "255"),
            ("bool", Value::Bool(true), "true"),
            ("double", Value::Double(1.5), "1.5"),
            ("null", Value::Null, ""),
            ("symbol", Value::Symbol(sym("sym")), "sym"),
            ("char", Value::Char('é'), "é"),
            (
                "time",
                Value::Timestamp(AmqpTimestamp(1_700_000_000_123)),
                "2023-11-14T22:13:20.123Z",
            ),
            ("early", Value::Timestamp(AmqpTimestamp(-1)), "-1"),
            (
                "uuid",
                Value::Uuid(Uuid([0xab; 16])),
                "abababab-abab-abab-abab-abababababab",
            ),
            ("bin-text", Value::Binary(Bytes::from_static(b"hi")), "hi"),
            (
                "bin",
                Value::Binary(Bytes::from_static(b"\x00\x10")),
                "0010",
            ),
            ("list", Value::List(vec![Value::Int(1)]), "List([Int(1)])"),
        ];
        for (k, v, _) in &entries {
            app.push(Str::new(k), v.clone());
        }
        let m = AmqpMessage {
            application_properties: Some(app),
            ..AmqpMessage::with_data(Bytes::new())
        };
        let msg = message_from_amqp(&wire(&m)).expect("parses");
        assert_eq!(msg.properties.len(), entries.len());
        for (k, _, text) in &entries {
            assert_eq!(msg.properties.get(k), Some(*text), "{k}");
        }
    }

    fn with_app(key: &str, value: Value) -> AmqpMessage {
        let mut app = ApplicationProperties::new();
        app.push(Str::new(key), value);
        AmqpMessage {
            application_properties: Some(app),
            ..AmqpMessage::with_data(Bytes::new())
        }
    }

    #[test]
    fn system_application_properties_are_checked() {
        let err = message_from_amqp(&with_app("iothub-ack", Value::from("sometimes")));
        assert_eq!(
            err,
            Err(AmqpMappingError::InvalidProperty {
                key: "iothub-ack".into()
            })
        );
        let err = message_from_amqp(&with_app("iothub-ack", Value::Int(1)));
        assert!(matches!(err, Err(AmqpMappingError::InvalidProperty { .. })));
        let ok = message_from_amqp(&with_app("iothub-ack", Value::Symbol(sym("negative"))))
            .expect("symbol accepted");
        assert_eq!(ok.ack, Ack::Negative);

        let err = message_from_amqp(&with_app(
            "iothub-creation-time-utc",
            Value::from("yesterday"),
        ));
        assert!(
            matches!(err, Err(AmqpMappingError::InvalidProperty { key }) if key == "iothub-creation-time-utc")
        );
        let t = message_from_amqp(&with_app(
            "iothub-creation-time-utc",
            Value::Timestamp(AmqpTimestamp(1234)),
        ))
        .expect("timestamp accepted");
        assert_eq!(t.creation_time, Some(Timestamp::from_unix_millis(1234)));
        let t = message_from_amqp(&with_app(
            "iothub-creation-time-utc",
            Value::from("2020-01-02T03:04:05.678+01:00"),
        ))
        .expect("offset accepted");
        assert_eq!(
            t.creation_time.map(Timestamp::to_rfc3339_millis).as_deref(),
            Some("2020-01-02T02:04:05.678Z")
        );
        let o = message_from_amqp(&with_app("iothub-outputname", Value::Int(5))).expect("ok");
        assert_eq!(o.output_name.as_deref(), Some("5"));
        assert!(o.properties.is_empty());
    }

    #[test]
    fn properties_creation_time_is_a_fallback() {
        let mut m = with_app("k", Value::from("v"));
        m.properties = Some(AmqpProperties {
            creation_time: Some(AmqpTimestamp(10)),
            ..AmqpProperties::default()
        });
        let msg = message_from_amqp(&m).expect("parses");
        assert_eq!(msg.creation_time, Some(Timestamp::from_unix_millis(10)));
        let mut m = with_app(
            "iothub-creation-time-utc",
            Value::Timestamp(AmqpTimestamp(20)),
        );
        m.properties = Some(AmqpProperties {
            creation_time: Some(AmqpTimestamp(10)),
            ..AmqpProperties::default()
        });
        let msg = message_from_amqp(&m).expect("parses");
        assert_eq!(msg.creation_time, Some(Timestamp::from_unix_millis(20)));
    }

    #[test]
    fn body_forms() {
        let body = |b: Body| {
            message_from_amqp(&wire(&AmqpMessage {
                body: b,
                ..AmqpMessage::default()
            }))
            .map(|m| m.body)
        };
        assert_eq!(
            body(Body::Data(vec![
                Bytes::from_static(b"ab"),
                Bytes::new(),
                Bytes::from_static(b"cd")
            ])),
            Ok(b"abcd".to_vec())
        );
        assert_eq!(body(Body::Value(Value::from("text"))), Ok(b"text".to_vec()));
        assert_eq!(
            body(Body::Value(Value::Binary(Bytes::from_static(b"\x01")))),
            Ok(vec![1])
        );
        assert_eq!(body(Body::Value(Value::Null)), Ok(Vec::new()));
        assert_eq!(body(Body::Empty), Ok(Vec::new()));
        assert_eq!(
            body(Body::Value(Value::Int(3))),
            Err(AmqpMappingError::UnsupportedBody { kind: "amqp-value" })
        );
        assert_eq!(
            body(Body::Sequence(vec![vec![Value::Int(3)]])),
            Err(AmqpMappingError::UnsupportedBody {
                kind: "amqp-sequence"
            })
        );
    }

    #[test]
    fn received_info_decoding_is_lenient() {
        // Header delivery-count only, plus a lock token: count comes from the header.
        let mut ann = Annotations::new();
        ann.push(
            annotation_key(ANNOTATION_LOCK_TOKEN),
            Value::Symbol(sym("l1")),
        );
        ann.push(annotation_key(ANNOTATION_SEQUENCE_NUMBER), Value::Long(9));
        ann.push(AnnotationKey::Ulong(7), Value::from("numeric key ignored"));
        let m = AmqpMessage {
            header: Some(Header {
                delivery_count: 4,
                ..Header::default()
            }),
            message_annotations: Some(ann),
            ..AmqpMessage::with_data(Bytes::new())
        };
        let r = message_from_amqp(&wire(&m)).expect("parses").received;
        assert_eq!(r, Some(ReceivedInfo::new(4, 9, None, Some("l1".into()))));

        // The annotation wins over the header; a uuid lock token and huge counts work.
        let mut ann = Annotations::new();
        ann.push(
            annotation_key(ANNOTATION_DELIVERY_COUNT),
            Value::Ulong(u64::MAX),
        );
        ann.push(
            annotation_key(ANNOTATION_LOCK_TOKEN),
            Value::Uuid(Uuid([1; 16])),
        );
        ann.push(
            annotation_key(ANNOTATION_ENQUEUED_TIME),
            Value::Timestamp(AmqpTimestamp(-5)),
        );
        let m = AmqpMessage {
            header: Some(Header {
                delivery_count: 4,
                ..Header::default()
            }),
            message_annotations: Some(ann),
            ..AmqpMessage::with_data(Bytes::new())
        };
        let r = message_from_amqp(&m)
            .expect("parses")
            .received
            .expect("info");
        assert_eq!(r.delivery_count, u32::MAX);
        assert_eq!(
            r.lock_token.as_deref(),
            Some("01010101-0101-0101-0101-010101010101")
        );
        // A pre-1970 enqueued time is dropped, not fatal.
        assert_eq!(r.enqueued_time, None);
        // The hub side never takes C2D annotations from a device.
        assert_eq!(d2c_message_from_amqp(&m).expect("parses").received, None);
    }

    #[test]
    fn device_c2d_without_annotations_uses_header_and_tag() {
        let m = AmqpMessage {
            header: Some(Header {
                delivery_count: 2,
                ..Header::default()
            }),
            ..AmqpMessage::with_data(Bytes::from_static(b"hi"))
        };
        let tag =
            delivery_tag_from_lock_token("a1b2c3d4-0000-1111-2222-333344445555").expect("tag");
        let msg = c2d_message_from_amqp(&m, &tag).expect("parses");
        assert_eq!(
            msg.received,
            Some(ReceivedInfo::new(
                2,
                0,
                None,
                Some("a1b2c3d4-0000-1111-2222-333344445555".into())
            ))
        );
        // A short tag gives no lock token; an annotation lock token beats the tag.
        let msg =
            c2d_message_from_amqp(&AmqpMessage::with_data(Bytes::new()), b"\x00").expect("parses");
        assert_eq!(msg.received, Some(ReceivedInfo::default()));
        let mut ann = Annotations::new();
        ann.push(
            annotation_key(ANNOTATION_LOCK_TOKEN),
            Value::from("from-annotation"),
        );
        let m = AmqpMessage {
            message_annotations: Some(ann),
            ..AmqpMessage::with_data(Bytes::new())
        };
        let msg = c2d_message_from_amqp(&m, &tag).expect("parses");
        assert_eq!(
            msg.received.and_then(|r| r.lock_token).as_deref(),
            Some("from-annotation")
        );
    }

    #[test]
    fn unmappable_values_are_errors() {
        assert_eq!(
            message_to_amqp(&Message::new("x").with_content_type("text/plain; charset=ü")),
            Err(AmqpMappingError::NotAscii {
                field: "content-type"
            })
        );
        assert_eq!(
            message_to_amqp(&Message::new("x").with_content_encoding("ütf")),
            Err(AmqpMappingError::NotAscii {
                field: "content-encoding"
            })
        );
        assert_eq!(
            message_to_amqp(
                &Message::new("x").with_absolute_expiry(Timestamp::from_unix_millis(u64::MAX))
            ),
            Err(AmqpMappingError::TimestampOutOfRange {
                field: "absolute-expiry-time"
            })
        );
        let m = AmqpMessage {
            properties: Some(AmqpProperties {
                absolute_expiry_time: Some(AmqpTimestamp(-1)),
                ..AmqpProperties::default()
            }),
            ..AmqpMessage::default()
        };
        assert_eq!(
            message_from_amqp(&m),
            Err(AmqpMappingError::TimestampOutOfRange {
                field: "absolute-expiry-time"
            })
        );
    }

    #[test]
    fn system_fields_win_over_same_named_user_properties() {
        let msg = Message::new("x")
            .with_property("iothub-ack", "none")
            .with_ack(Ack::Positive);
        let amqp = message_to_amqp(&msg).expect("maps");
        let app = amqp.application_properties.as_ref().expect("app");
        assert_eq!(app.len(), 1);
        assert_eq!(app.get("iothub-ack"), Some(&Value::from("positive")));
    }

    #[test]
    fn invalid_utf8_user_id_is_replaced_not_fatal() {
        let m = AmqpMessage {
            properties: Some(AmqpProperties {
                user_id: Some(Bytes::from_static(b"u\xff")),
                ..AmqpProperties::default()
            }),
            ..AmqpMessage::default()
        };
        let msg = message_from_amqp(&m).expect("parses");
        assert_eq!(msg.user_id.as_deref(), Some("u\u{fffd}"));
    }

    #[test]
    fn constant_names_are_symbols() {
        for name in [
            ANNOTATION_DELIVERY_COUNT,
            ANNOTATION_ENQUEUED_TIME,
            ANNOTATION_LOCK_TOKEN,
            ANNOTATION_SEQUENCE_NUMBER,
        ] {
            assert_eq!(sym(name).as_str(), name);
        }
    }

    fn arb_text() -> impl Strategy<Value = String> {
        prop_oneof![".{0,12}", "[a-z0-9&=%$./ -]{0,12}"]
    }

    fn arb_message() -> impl Strategy<Value = Message> {
        // Creation times stay within four-digit years (their ISO 8601 text form).
        let time = 0u64..253_402_300_799_999;
        (
            proptest::collection::vec(any::<u8>(), 0..64),
            (
                proptest::option::of(arb_text()),
                proptest::option::of(arb_text()),
                proptest::option::of(arb_text()),
                proptest::option::of(arb_text()),
            ),
            (
                proptest::option::of("[ -~]{0,16}"),
                proptest::option::of("[ -~]{0,16}"),
                proptest::option::of(0u64..=i64::MAX as u64),
                proptest::option::of(time),
            ),
            (
                prop_oneof![
                    Just(Ack::None),
                    Just(Ack::Positive),
                    Just(Ack::Negative),
                    Just(Ack::Full)
                ],
                proptest::option::of(arb_text()),
                proptest::collection::vec((arb_text(), arb_text()), 0..6),
            ),
        )
            .prop_map(
                |(body, (mid, cid, uid, to), (ct, ce, exp, ctime), (ack, on, props))| {
                    let mut m = Message::new(body);
                    m.message_id = mid;
                    m.correlation_id = cid;
                    m.user_id = uid;
                    m.to = to;
                    m.content_type = ct;
                    m.content_encoding = ce;
                    m.absolute_expiry = exp.map(Timestamp::from_unix_millis);
                    m.creation_time = ctime.map(Timestamp::from_unix_millis);
                    m.ack = ack;
                    m.output_name = on;
                    for (k, v) in props {
                        // Prefixed so a generated key never collides with an `iothub-*` name.
                        m.properties.insert(format!("p-{k}"), v);
                    }
                    m
                },
            )
    }

    proptest! {
        #[test]
        fn any_message_round_trips_over_the_wire(msg in arb_message()) {
            let amqp = message_to_amqp(&msg).expect("maps");
            prop_assert_eq!(d2c_message_from_amqp(&wire(&amqp)).expect("parses"), msg);
        }
    }
}
