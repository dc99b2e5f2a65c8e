//! Strict, zero-copy decoder.
//!
//! Decoding is frame first, parse second: the fixed header is parsed and checked (type, flags,
//! remaining length form, maximum size) before any of the payload is buffered; the complete frame
//! is then split off as [`Bytes`] and parsed by a bounded reader that rejects trailing bytes.
//! Topics and payloads are slices of that frame.

use alloc::vec::Vec;

use bytes::{Buf, Bytes, BytesMut};

use crate::error::DecodeError;
use crate::packet::{
    ConnAck, Connect, LastWill, Packet, PubAck, PubComp, PubRec, PubRel, Publish, SubAck,
    Subscribe, SubscribeFilter, UnsubAck, Unsubscribe,
};
use crate::types::{
    ConnectReturnCode, MqttString, PacketId, PacketType, Password, QoS, SubscribeReturnCode,
    TopicFilter, TopicName,
};
use crate::MAX_PACKET_SIZE;

/// A parsed and checked fixed header.
#[derive(Clone, Copy, Debug)]
struct Header {
    packet_type: PacketType,
    flags: u8,
    /// Bytes of the fixed header (2–5).
    header_len: usize,
    /// Header plus remaining length.
    total_len: usize,
}

/// Parses the fixed header at the start of `buf`. `Ok(None)`: more bytes are needed.
///
/// Type and flags are checked as soon as the first byte is known, so garbage is rejected
/// without waiting for more input.
#[inline]
fn parse_header(buf: &[u8]) -> Result<Option<Header>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let type_bits = first >> 4;
    let flags = first & 0x0f;
    let packet_type =
        PacketType::from_u8(type_bits).ok_or(DecodeError::InvalidPacketType(type_bits))?;
    match packet_type.required_flags() {
        Some(required) if required != flags => {
            return Err(DecodeError::InvalidFlags { packet_type, flags });
        }
        Some(_) => {}
        None => {
            // PUBLISH: DUP(3) QoS(2..1) RETAIN(0).
            let qos = (flags >> 1) & 0b11;
            if qos == 3 {
                return Err(DecodeError::InvalidQoS);
            }
            if qos == 0 && flags & 0b1000 != 0 {
                return Err(DecodeError::InvalidFlags { packet_type, flags });
            }
        }
    }
    let mut remaining = 0usize;
    let mut shift = 0u32;
    for i in 1..=4usize {
        let Some(&byte) = buf.get(i) else {
            return Ok(None);
        };
        remaining |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            // A zero final byte after a continuation byte means the length could have been
            // written with fewer bytes.
            if i > 1 && byte == 0 {
                return Err(DecodeError::NonMinimalRemainingLength);
            }
            return Ok(Some(Header {
                packet_type,
                flags,
                header_len: i + 1,
                total_len: i + 1 + remaining,
            }));
        }
        shift += 7;
    }
    Err(DecodeError::RemainingLengthTooLong)
}

/// Bounded reader over one frame. Slices share the frame's buffer.
struct Reader<'a> {
    frame: &'a Bytes,
    pos: usize,
    packet_type: PacketType,
}

impl Reader<'_> {
    #[inline]
    fn remaining(&self) -> usize {
        self.frame.len().saturating_sub(self.pos)
    }

    #[inline]
    fn end(&self) -> DecodeError {
        DecodeError::UnexpectedEnd(self.packet_type)
    }

    #[inline]
    fn u8(&mut self) -> Result<u8, DecodeError> {
        let b = *self.frame.get(self.pos).ok_or_else(|| self.end())?;
        self.pos += 1;
        Ok(b)
    }

    #[inline]
    fn u16(&mut self) -> Result<u16, DecodeError> {
        let s = self
            .frame
            .get(self.pos..)
            .and_then(<[u8]>::first_chunk::<2>)
            .ok_or_else(|| self.end())?;
        self.pos += 2;
        Ok(u16::from_be_bytes(*s))
    }

    #[inline]
    fn packet_id(&mut self) -> Result<PacketId, DecodeError> {
        PacketId::new(self.u16()?).ok_or(DecodeError::ZeroPacketId)
    }

    /// Takes `n` bytes as a zero-copy slice.
    #[inline]
    fn take(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        if self.remaining() < n {
            return Err(self.end());
        }
        let b = self.frame.slice(self.pos..self.pos + n);
        self.pos += n;
        Ok(b)
    }

    /// Takes a u16-length-prefixed field.
    #[inline]
    fn prefixed(&mut self) -> Result<Bytes, DecodeError> {
        let n = usize::from(self.u16()?);
        self.take(n)
    }

    fn string(&mut self) -> Result<MqttString, DecodeError> {
        MqttString::from_bytes(self.prefixed()?).map_err(DecodeError::InvalidString)
    }

    #[inline]
    fn topic_name(&mut self) -> Result<TopicName, DecodeError> {
        TopicName::from_bytes(self.prefixed()?).map_err(DecodeError::InvalidTopicName)
    }

    fn topic_filter(&mut self) -> Result<TopicFilter, DecodeError> {
        TopicFilter::from_bytes(self.prefixed()?).map_err(DecodeError::InvalidTopicFilter)
    }

    /// Fails if any bytes remain inside the packet.
    #[inline]
    fn finish(&self) -> Result<(), DecodeError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes(self.packet_type))
        }
    }
}

/// Parses a PUBLISH frame. The payload is the frame itself, advanced past the variable header:
/// taking it by value instead of slicing saves a reference-count increment and decrement per
/// message on the hottest path.
#[inline]
fn parse_publish(h: Header, mut frame: Bytes) -> Result<Publish, DecodeError> {
    let qos = QoS::from_u8((h.flags >> 1) & 0b11).ok_or(DecodeError::InvalidQoS)?;
    let mut r = Reader {
        frame: &frame,
        pos: h.header_len,
        packet_type: h.packet_type,
    };
    let topic = r.topic_name()?;
    let packet_id = match qos {
        QoS::AtMostOnce => None,
        _ => Some(r.packet_id()?),
    };
    let body_start = r.pos;
    // The reader never moves past the end of the frame; checked anyway so `advance` cannot
    // panic.
    if body_start > frame.len() {
        return Err(DecodeError::UnexpectedEnd(h.packet_type));
    }
    frame.advance(body_start);
    Ok(Publish {
        dup: h.flags & 0b1000 != 0,
        qos,
        retain: h.flags & 0b0001 != 0,
        topic,
        packet_id,
        payload: frame,
    })
}

/// Parses the body of a complete frame whose header has been checked.
#[inline]
fn parse_frame(h: Header, frame: Bytes) -> Result<Packet, DecodeError> {
    if h.packet_type == PacketType::Publish {
        return parse_publish(h, frame).map(Packet::Publish);
    }
    parse_other(h, &frame)
}

/// Parses every packet type except PUBLISH.
fn parse_other(h: Header, frame: &Bytes) -> Result<Packet, DecodeError> {
    let mut r = Reader {
        frame,
        pos: h.header_len,
        packet_type: h.packet_type,
    };
    let packet = match h.packet_type {
        // `parse_frame` dispatches PUBLISH before getting here; kept correct regardless.
        PacketType::Publish => return parse_publish(h, frame.clone()).map(Packet::Publish),
        PacketType::PubAck => Packet::PubAck(PubAck::new(r.packet_id()?)),
        PacketType::PubRec => Packet::PubRec(PubRec::new(r.packet_id()?)),
        PacketType::PubRel => Packet::PubRel(PubRel::new(r.packet_id()?)),
        PacketType::PubComp => Packet::PubComp(PubComp::new(r.packet_id()?)),
        PacketType::UnsubAck => Packet::UnsubAck(UnsubAck::new(r.packet_id()?)),
        PacketType::Connect => Packet::Connect(parse_connect(&mut r)?),
        PacketType::ConnAck => {
            let flags = r.u8()?;
            let code = r.u8()?;
            let code = ConnectReturnCode::from_u8(code)
                .ok_or(DecodeError::InvalidConnectReturnCode(code))?;
            // Bits 7–1 are reserved (MQTT 3.2.2.1); session present must be 0 on refusal
            // (MQTT-3.2.2-4).
            if flags > 1 || (flags == 1 && code != ConnectReturnCode::Accepted) {
                return Err(DecodeError::InvalidConnAckFlags(flags));
            }
            Packet::ConnAck(ConnAck {
                session_present: flags == 1,
                code,
            })
        }
        PacketType::Subscribe => {
            let packet_id = r.packet_id()?;
            let mut filters = Vec::new();
            while r.remaining() > 0 {
                let filter = r.topic_filter()?;
                let options = r.u8()?;
                // Upper six bits reserved (MQTT-3.8.3-4), QoS 3 invalid.
                let qos = if options & 0xfc == 0 {
                    QoS::from_u8(options)
                } else {
                    None
                };
                let qos = qos.ok_or(DecodeError::InvalidSubscribeOptions(options))?;
                filters.push(SubscribeFilter { filter, qos });
            }
            if filters.is_empty() {
                return Err(DecodeError::EmptySubscribe);
            }
            Packet::Subscribe(Subscribe { packet_id, filters })
        }
        PacketType::SubAck => {
            let packet_id = r.packet_id()?;
            let mut return_codes = Vec::with_capacity(r.remaining());
            while r.remaining() > 0 {
                let c = r.u8()?;
                return_codes.push(
                    SubscribeReturnCode::from_u8(c)
                        .ok_or(DecodeError::InvalidSubscribeReturnCode(c))?,
                );
            }
            if return_codes.is_empty() {
                return Err(DecodeError::EmptySubAck);
            }
            Packet::SubAck(SubAck {
                packet_id,
                return_codes,
            })
        }
        PacketType::Unsubscribe => {
            let packet_id = r.packet_id()?;
            let mut filters = Vec::new();
            while r.remaining() > 0 {
                filters.push(r.topic_filter()?);
            }
            if filters.is_empty() {
                return Err(DecodeError::EmptyUnsubscribe);
            }
            Packet::Unsubscribe(Unsubscribe { packet_id, filters })
        }
        PacketType::PingReq => Packet::PingReq,
        PacketType::PingResp => Packet::PingResp,
        PacketType::Disconnect => Packet::Disconnect,
    };
    r.finish()?;
    Ok(packet)
}

fn parse_connect(r: &mut Reader<'_>) -> Result<Connect, DecodeError> {
    // MQTT-3.1.2-1: protocol name "MQTT".
    let name = r.prefixed()?;
    if name.as_ref() != b"MQTT" {
        return Err(DecodeError::InvalidProtocolName);
    }
    // MQTT-3.1.2-2: level 4 is 3.1.1.
    let level = r.u8()?;
    if level != 4 {
        return Err(DecodeError::UnsupportedProtocolLevel(level));
    }
    let flags = r.u8()?;
    if flags & 0x01 != 0 {
        return Err(DecodeError::ConnectReservedFlag);
    }
    let clean_session = flags & 0x02 != 0;
    let will_flag = flags & 0x04 != 0;
    let will_qos = (flags >> 3) & 0b11;
    let will_retain = flags & 0x20 != 0;
    let has_password = flags & 0x40 != 0;
    let has_username = flags & 0x80 != 0;
    // MQTT-3.1.2-11/13/15: will QoS and retain must be 0 without the will flag;
    // MQTT-3.1.2-14: will QoS 3 is invalid.
    if (!will_flag && (will_qos != 0 || will_retain)) || will_qos == 3 {
        return Err(DecodeError::InvalidWillFlags);
    }
    if has_password && !has_username {
        return Err(DecodeError::PasswordWithoutUsername);
    }
    let keep_alive = r.u16()?;
    let client_id = r.string()?;
    let will = if will_flag {
        let topic = r.topic_name()?;
        let payload = r.prefixed()?;
        Some(LastWill {
            topic,
            payload,
            qos: QoS::from_u8(will_qos).ok_or(DecodeError::InvalidWillFlags)?,
            retain: will_retain,
        })
    } else {
        None
    };
    let username = if has_username {
        Some(r.string()?)
    } else {
        None
    };
    let password = if has_password {
        Some(Password::new(r.prefixed()?))
    } else {
        None
    };
    Ok(Connect {
        client_id,
        clean_session,
        keep_alive,
        will,
        username,
        password,
    })
}

impl Packet {
    /// Decodes exactly one complete packet from `bytes` (zero-copy: topic and payload are slices
    /// of `bytes`). Fails with [`DecodeError::Incomplete`] if the packet is cut short and with
    /// [`DecodeError::BytesAfterPacket`] if more bytes follow it.
    pub fn decode(bytes: Bytes) -> Result<Self, DecodeError> {
        let h = parse_header(&bytes)?.ok_or(DecodeError::Incomplete)?;
        if bytes.len() < h.total_len {
            return Err(DecodeError::Incomplete);
        }
        if bytes.len() > h.total_len {
            return Err(DecodeError::BytesAfterPacket);
        }
        parse_frame(h, bytes)
    }

    /// Stream decoding from a buffer: if `buf` starts with a complete packet, splits it off and
    /// decodes it; `Ok(None)` if more bytes are needed (nothing is consumed). The declared size
    /// is checked against `max_packet_size` (whole packet, fixed header included) as soon as the
    /// fixed header is complete. After an error the stream cannot be resynchronised.
    pub fn read(buf: &mut BytesMut, max_packet_size: usize) -> Result<Option<Self>, DecodeError> {
        let Some(h) = parse_header(buf)? else {
            return Ok(None);
        };
        if h.total_len > max_packet_size {
            return Err(DecodeError::PacketTooLarge {
                size: h.total_len,
                max: max_packet_size,
            });
        }
        if buf.len() < h.total_len {
            return Ok(None);
        }
        let frame = buf.split_to(h.total_len).freeze();
        parse_frame(h, frame).map(Some)
    }
}

/// Incremental decoder for a byte stream that arrives in arbitrary chunks (WebSocket messages
/// do not align with packets).
///
/// [`Decoder::decode`] takes from the input only what the current packet needs, so at most one
/// packet (plus up to four bytes of the next header) is ever buffered, and the declared size of
/// each packet is checked against the maximum before its payload is buffered. Errors are sticky:
/// once a decode error occurred every later call returns it again until [`Decoder::reset`].
///
/// `Debug` shows how many bytes are buffered, never the bytes (they may hold a password).
pub struct Decoder {
    buf: BytesMut,
    header: Option<Header>,
    max_packet_size: usize,
    error: Option<DecodeError>,
}

impl core::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Decoder")
            .field("buffered_len", &self.buf.len())
            .field("max_packet_size", &self.max_packet_size)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Default for Decoder {
    /// A decoder that accepts any packet MQTT can express.
    fn default() -> Self {
        Self::new(MAX_PACKET_SIZE)
    }
}

impl Decoder {
    /// A decoder that refuses packets larger than `max_packet_size` bytes (whole packet, fixed
    /// header included).
    #[must_use]
    pub fn new(max_packet_size: usize) -> Self {
        Self {
            buf: BytesMut::new(),
            header: None,
            max_packet_size,
            error: None,
        }
    }

    /// The configured maximum packet size.
    #[must_use]
    pub fn max_packet_size(&self) -> usize {
        self.max_packet_size
    }

    /// Bytes buffered towards the next packet.
    #[must_use]
    pub fn buffered_len(&self) -> usize {
        self.buf.len()
    }

    /// Forgets buffered bytes and any sticky error (for a new connection).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.header = None;
        self.error = None;
    }

    /// Consumes bytes from the front of `input` and returns the next complete packet.
    ///
    /// Three outcomes: `Ok(Some(packet))` (call again, more packets may follow in `input`),
    /// `Ok(None)` (all of `input` has been consumed and buffered; feed the next chunk), or a
    /// fatal `Err`.
    ///
    /// ```
    /// # use hubwire_mqtt::{Decoder, Packet};
    /// let mut decoder = Decoder::default();
    /// let mut input: &[u8] = &[0xc0, 0x00, 0xd0]; // PINGREQ, then half a PINGRESP
    /// assert_eq!(decoder.decode(&mut input), Ok(Some(Packet::PingReq)));
    /// assert_eq!(decoder.decode(&mut input), Ok(None));
    /// let mut input: &[u8] = &[0x00];
    /// assert_eq!(decoder.decode(&mut input), Ok(Some(Packet::PingResp)));
    /// ```
    pub fn decode(&mut self, input: &mut &[u8]) -> Result<Option<Packet>, DecodeError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        match self.decode_inner(input) {
            Ok(p) => Ok(p),
            Err(e) => {
                self.error = Some(e.clone());
                self.buf.clear();
                Err(e)
            }
        }
    }

    fn decode_inner(&mut self, input: &mut &[u8]) -> Result<Option<Packet>, DecodeError> {
        loop {
            let header = match self.header {
                Some(h) => h,
                None => match parse_header(&self.buf)? {
                    Some(h) => {
                        if h.total_len > self.max_packet_size {
                            return Err(DecodeError::PacketTooLarge {
                                size: h.total_len,
                                max: self.max_packet_size,
                            });
                        }
                        self.header = Some(h);
                        h
                    }
                    None => {
                        if input.is_empty() {
                            return Ok(None);
                        }
                        // Up to five header bytes; anything beyond the header stays buffered
                        // for the packet it belongs to.
                        let want = 5usize.saturating_sub(self.buf.len()).max(1);
                        self.take_input(input, want);
                        continue;
                    }
                },
            };
            if self.buf.len() >= header.total_len {
                self.header = None;
                let frame = self.buf.split_to(header.total_len).freeze();
                return parse_frame(header, frame).map(Some);
            }
            if input.is_empty() {
                return Ok(None);
            }
            let want = header.total_len - self.buf.len();
            if self.buf.capacity() < header.total_len {
                // Reserve the whole frame once instead of growing it chunk by chunk.
                self.buf.reserve(want);
            }
            self.take_input(input, want);
        }
    }

    #[inline]
    fn take_input(&mut self, input: &mut &[u8], want: usize) {
        let n = want.min(input.len());
        let (head, tail) = input.split_at(n);
        self.buf.extend_from_slice(head);
        *input = tail;
    }
}
