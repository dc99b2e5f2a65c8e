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
