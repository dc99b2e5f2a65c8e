//! The AMQP message format (AMQP 1.0 §3.2): sections, and a whole [`Message`] encoded to or
//! decoded from the payload of a delivery's transfer frames.

use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;

use crate::codes::{descriptor, format_code as fc};
use crate::definitions::{Annotations, ApplicationProperties};
use crate::error::{DecodeError, EncodeError};
use crate::read::{Dec, Reader};
use crate::types::{Str, Symbol, Timestamp, Uuid};
use crate::value::{decode_list_body, enc_list, Value};
use crate::write::{self, Enc, EncodeBuf};

composite! {
    /// `header` section (AMQP 3.2.1): transport headers.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Header (descriptor::HEADER, "header") {
        /// `durable`: specify durability requirements.
        durable: def bool = false,
        /// `priority`: relative message priority (default 4).
        priority: def u8 = 4,
        /// `ttl`: time to live in milliseconds.
        ttl: opt u32,
        /// `first-acquirer`: the message has not been acquired by any other link.
        first_acquirer: def bool = false,
        /// `delivery-count`: the number of prior unsuccessful delivery attempts.
        delivery_count: def u32 = 0,
    }
}

/// A message-id or correlation-id (AMQP 3.2.11–3.2.15).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum MessageId {
    /// `message-id-ulong`.
    Ulong(u64),
    /// `message-id-uuid`.
    Uuid(Uuid),
    /// `message-id-binary`.
    Binary(Bytes),
    /// `message-id-string`.
    String(Str),
}

impl Default for MessageId {
    fn default() -> Self {
        Self::Ulong(0)
    }
}

impl From<u64> for MessageId {
    fn from(n: u64) -> Self {
        Self::Ulong(n)
    }
}

impl From<Uuid> for MessageId {
    fn from(u: Uuid) -> Self {
        Self::Uuid(u)
    }
}

impl From<Str> for MessageId {
    fn from(s: Str) -> Self {
        Self::String(s)
    }
}

impl From<Bytes> for MessageId {
    fn from(b: Bytes) -> Self {
        Self::Binary(b)
    }
}

impl Enc for MessageId {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
        match self {
            Self::Ulong(n) => n.enc(w),
            Self::Uuid(u) => u.enc(w),
            Self::Binary(b) => b.enc(w),
            Self::String(s) => s.enc(w),
        }
    }
}

impl Dec for MessageId {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match code {
            fc::ULONG0 | fc::SMALLULONG | fc::ULONG => Self::Ulong(u64::decode_code(code, r)?),
            fc::UUID => Self::Uuid(Uuid::decode_code(code, r)?),
            fc::VBIN8 | fc::VBIN32 => Self::Binary(r.variable(code)?),
            fc::STR8 | fc::STR32 => Self::String(Str::decode_code(code, r)?),
            _ => {
                return Err(DecodeError::UnexpectedFormatCode {
                    expected: "message-id (ulong, uuid, binary or string)",
                    found: code,
                })
            }
        })
    }
}

composite! {
    /// `properties` section (AMQP 3.2.4): immutable properties of the message.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Properties (descriptor::PROPERTIES, "properties") {
        /// `message-id`: application message identifier.
        message_id: opt MessageId,
        /// `user-id`: creating user id.
        user_id: opt Bytes,
        /// `to`: the address of the node the message is destined for.
        to: opt Str,
        /// `subject`: the subject of the message.
        subject: opt Str,
        /// `reply-to`: the node to send replies to.
        reply_to: opt Str,
        /// `correlation-id`: application correlation identifier.
        correlation_id: opt MessageId,
        /// `content-type`: MIME content type.
        content_type: opt Symbol,
        /// `content-encoding`: MIME content encoding.
        content_encoding: opt Symbol,
        /// `absolute-expiry-time`: the time when this message is considered expired.
        absolute_expiry_time: opt Timestamp,
        /// `creation-time`: the time when this message was created.
        creation_time: opt Timestamp,
        /// `group-id`: the group this message belongs to.
        group_id: opt Str,
        /// `group-sequence`: the sequence-no of this message within its group.
        group_sequence: opt u32,
        /// `reply-to-group-id`: the group the reply message belongs to.
        reply_to_group_id: opt Str,
    }
}

/// The body of a message (AMQP 3.2): data sections, amqp-sequence sections, or one amqp-value.
///
/// `Debug` prints the body's kind and size, never its contents: bodies carry user payloads and,
/// for CBS put-token requests, SAS tokens.
#[derive(Clone, PartialEq, Default)]
pub enum Body {
    /// No body section (tolerated on decode; the spec asks for at least one).
    #[default]
    Empty,
    /// One or more `data` sections (IoT Hub always uses exactly one).
    Data(Vec<Bytes>),
    /// One or more `amqp-sequence` sections.
    Sequence(Vec<Vec<Value>>),
    /// One `amqp-value` section.
    Value(Value),
}

impl Body {
    /// A body of one data section.
    #[must_use]
    pub fn data(bytes: impl Into<Bytes>) -> Self {
        Self::Data(alloc::vec![bytes.into()])
    }

    /// The single data section, if the body is exactly one.
    #[must_use]
    pub fn single_data(&self) -> Option<&Bytes> {
        match self {
            Self::Data(v) if v.len() == 1 => v.first(),
            _ => None,
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("Empty"),
            Self::Data(v) => {
                let sizes: Vec<usize> = v.iter().map(Bytes::len).collect();
                write!(f, "Data(bytes: {sizes:?})")
            }
            Self::Sequence(v) => {
                let lens: Vec<usize> = v.iter().map(Vec::len).collect();
                write!(f, "Sequence(elements: {lens:?})")
            }
            Self::Value(v) => write!(f, "Value({:?})", v.kind()),
        }
    }
}

/// An AMQP message: the bare message (properties, application-properties, body) plus the
/// annotated-message sections around it. Every section but the body is optional.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Message {
    /// `header`.
    pub header: Option<Header>,
    /// `delivery-annotations`.
    pub delivery_annotations: Option<Annotations>,
    /// `message-annotations`.
    pub message_annotations: Option<Annotations>,
    /// `properties`.
    pub properties: Option<Properties>,
    /// `application-properties`.
    pub application_properties: Option<ApplicationProperties>,
    /// The body.
    pub body: Body,
    /// `footer`.
    pub footer: Option<Annotations>,
}

impl Message {
    /// A capacity guess for the encoding (payload plus room for the usual sections), so one
    /// allocation usually suffices.
    pub(crate) fn size_hint(&self) -> usize {
        let body = match &self.body {
            Body::Data(v) => v.iter().map(|d| d.len() + 8).sum(),
            _ => 64,
        };
        body + 192
    }

    /// A message with one data section and nothing else.
    #[must_use]
    pub fn with_data(bytes: impl Into<Bytes>) -> Self {
        Self {
            body: Body::data(bytes),
            ..Self::default()
        }
    }

    /// A message with an amqp-value body and nothing else.
    #[must_use]
    pub fn with_value(value: impl Into<Value>) -> Self {
        Self {
            body: Body::Value(value.into()),
            ..Self::default()
        }
    }
}

/// Moves the section stage forward to `to`, or fails if a section at or after it was seen.
fn advance(stage: &mut u8, to: u8, name: &'static str) -> Result<(), DecodeError> {
    if to > *stage {
        *stage = to;
        Ok(())
    } else {
        Err(DecodeError::SectionOrder(name))
    }
}

fn enc_map_section<B: EncodeBuf, T: Enc>(w: &mut B, code: u64, map: &T) -> Result<(), EncodeError> {
    write::descriptor_code(w, code);
    map.enc(w)
}

impl Enc for Message {
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
        if let Some(h) = &self.header {
            h.enc(w)?;
        }
        if let Some(a) = &self.delivery_annotations {
            enc_map_section(w, descriptor::DELIVERY_ANNOTATIONS, a)?;
        }
        if let Some(a) = &self.message_annotations {
            enc_map_section(w, descriptor::MESSAGE_ANNOTATIONS, a)?;
        }
        if let Some(p) = &self.properties {
            p.enc(w)?;
        }
        if let Some(a) = &self.application_properties {
            enc_map_section(w, descriptor::APPLICATION_PROPERTIES, a)?;
        }
        match &self.body {
            Body::Empty => {}
            Body::Data(sections) => {
                for d in sections {
                    write::descriptor_code(w, descriptor::DATA);
                    d.enc(w)?;
                }
            }
            Body::Sequence(sections) => {
                for s in sections {
                    write::descriptor_code(w, descriptor::AMQP_SEQUENCE);
                    enc_list(w, s)?;
                }
            }
            Body::Value(v) => {
                write::descriptor_code(w, descriptor::AMQP_VALUE);
                v.enc(w)?;
            }
        }
        if let Some(a) = &self.footer {
            enc_map_section(w, descriptor::FOOTER, a)?;
        }
        Ok(())
    }
}

impl Message {
    /// Decodes the sections that fill `r` to its end.
    pub(crate) fn decode_sections(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        // Sections must come in the spec's order; `stage` is the last one seen.
        const HEADER: u8 = 1;
        const DELIVERY_ANNOTATIONS: u8 = 2;
        const MESSAGE_ANNOTATIONS: u8 = 3;
        const PROPERTIES: u8 = 4;
        const APPLICATION_PROPERTIES: u8 = 5;
        const BODY: u8 = 6;
        const FOOTER: u8 = 7;

        let mut m = Self::default();
        let mut stage = 0u8;
        while !r.is_empty() {
            let code = r.u8()?;
            if code != fc::DESCRIBED {
                return Err(DecodeError::UnexpectedFormatCode {
                    expected: "message section",
                    found: code,
                });
            }
            let d = r.descriptor()?;
            match d.code() {
                Some(descriptor::HEADER) => {
                    advance(&mut stage, HEADER, "header")?;
                    m.header = Some(Header::decode_list(r)?);
                }
                Some(descriptor::DELIVERY_ANNOTATIONS) => {
                    advance(&mut stage, DELIVERY_ANNOTATIONS, "delivery-annotations")?;
                    let c = r.u8()?;
                    m.delivery_annotations = Some(Annotations::decode_code(c, r)?);
                }
                Some(descriptor::MESSAGE_ANNOTATIONS) => {
                    advance(&mut stage, MESSAGE_ANNOTATIONS, "message-annotations")?;
                    let c = r.u8()?;
                    m.message_annotations = Some(Annotations::decode_code(c, r)?);
                }
                Some(descriptor::PROPERTIES) => {
                    advance(&mut stage, PROPERTIES, "properties")?;
                    m.properties = Some(Properties::decode_list(r)?);
                }
                Some(descriptor::APPLICATION_PROPERTIES) => {
                    advance(&mut stage, APPLICATION_PROPERTIES, "application-properties")?;
                    let c = r.u8()?;
                    m.application_properties = Some(ApplicationProperties::decode_code(c, r)?);
                }
                Some(descriptor::DATA) => {
                    let c = r.u8()?;
                    let bytes = Bytes::decode_code(c, r)?;
                    match &mut m.body {
                        Body::Data(v) if stage == BODY => v.push(bytes),
                        _ => {
                            advance(&mut stage, BODY, "data")?;
                            m.body = Body::Data(alloc::vec![bytes]);
                        }
                    }
                }
                Some(descriptor::AMQP_SEQUENCE) => {
                    let c = r.u8()?;
                    let items = match c {
                        fc::LIST0 => Vec::new(),
                        fc::LIST8 | fc::LIST32 => decode_list_body(c, r)?,
                        other => {
                            return Err(DecodeError::UnexpectedFormatCode {
                                expected: "amqp-sequence list",
                                found: other,
                            })
                        }
                    };
                    match &mut m.body {
                        Body::Sequence(v) if stage == BODY => v.push(items),
                        _ => {
                            advance(&mut stage, BODY, "amqp-sequence")?;
                            m.body = Body::Sequence(alloc::vec![items]);
                        }
                    }
                }
                Some(descriptor::AMQP_VALUE) => {
                    advance(&mut stage, BODY, "amqp-value")?;
                    let c = r.u8()?;
                    m.body = Body::Value(Value::decode_code(c, r)?);
                }
                Some(descriptor::FOOTER) => {
                    advance(&mut stage, FOOTER, "footer")?;
                    let c = r.u8()?;
                    m.footer = Some(Annotations::decode_code(c, r)?);
                }
                _ => {
                    return Err(DecodeError::UnexpectedDescriptor {
                        expected: "message section",
                        found: d,
                    })
                }
            }
        }
        Ok(m)
    }
}
