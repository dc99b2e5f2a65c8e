//! Single-pass encoder.
//!
//! Every packet type implements [`Body`]: `remaining_len` validates the value and computes the
//! remaining length (the only place sizes are computed), `write_body` writes the variable header
//! and payload and cannot fail. [`encode_packet`] reserves the exact size once, so encoding
//! allocates at most once and never leaves half a packet in the output.

use alloc::vec::Vec;

use bytes::{Bytes, BytesMut};

use crate::error::EncodeError;
use crate::packet::{
    ConnAck, Connect, Packet, PubAck, PubComp, PubRec, PubRel, Publish, SubAck, Subscribe,
    UnsubAck, Unsubscribe,
};
use crate::types::{PacketType, QoS};
use crate::MAX_REMAINING_LENGTH;

/// An output buffer the encoder can append to: implemented for `Vec<u8>` and [`BytesMut`].
pub trait EncodeBuf {
    /// Reserves room for at least `additional` more bytes.
    fn reserve_bytes(&mut self, additional: usize);
    /// Appends bytes.
    fn put_bytes(&mut self, bytes: &[u8]);
    /// Appends one byte.
    fn put_byte(&mut self, byte: u8);
}

impl EncodeBuf for Vec<u8> {
    #[inline]
    fn reserve_bytes(&mut self, additional: usize) {
        self.reserve(additional);
    }
    #[inline]
    fn put_bytes(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    #[inline]
    fn put_byte(&mut self, byte: u8) {
        self.push(byte);
    }
}

impl EncodeBuf for BytesMut {
    #[inline]
    fn reserve_bytes(&mut self, additional: usize) {
        self.reserve(additional);
    }
    #[inline]
    fn put_bytes(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    #[inline]
    fn put_byte(&mut self, byte: u8) {
        self.extend_from_slice(&[byte]);
    }
}

/// Number of bytes the variable-length encoding of `len` takes (1–4).
const fn remaining_length_len(len: usize) -> usize {
    if len < 128 {
        1
    } else if len < 16_384 {
        2
    } else if len < 2_097_152 {
        3
    } else {
        4
    }
}

#[inline]
fn put_remaining_length<B: EncodeBuf>(out: &mut B, len: usize) {
    // One constant-size write per case: a copy of a variable 1–4 bytes compiles to a call to
    // `memcpy`, which cost more than the rest of the fixed header. `len` is at most
    // MAX_REMAINING_LENGTH here; the masks keep every case well-defined regardless.
    let group = |shift: u32| ((len >> shift) & 0x7f) as u8;
    if len < 0x80 {
        out.put_byte(group(0));
    } else if len < 0x4000 {
        out.put_bytes(&[group(0) | 0x80, group(7)]);
    } else if len < 0x20_0000 {
        out.put_bytes(&[group(0) | 0x80, group(7) | 0x80, group(14)]);
    } else {
        out.put_bytes(&[
            group(0) | 0x80,
            group(7) | 0x80,
            group(14) | 0x80,
            group(21),
        ]);
    }
}

#[inline]
fn put_u16<B: EncodeBuf>(out: &mut B, v: u16) {
    out.put_bytes(&v.to_be_bytes());
}

/// Writes a length-prefixed field whose length was checked to fit in a u16.
#[inline]
fn put_prefixed<B: EncodeBuf>(out: &mut B, bytes: &[u8]) {
    put_u16(out, u16::try_from(bytes.len()).unwrap_or(u16::MAX));
    out.put_bytes(bytes);
}

fn check_field(field: &'static str, len: usize) -> Result<usize, EncodeError> {
    if len > usize::from(u16::MAX) {
        Err(EncodeError::FieldTooLong { field, len })
    } else {
        Ok(2 + len)
    }
}

/// The per-packet encoding contract.
pub(crate) trait Body {
    /// First byte of the fixed header (type and flags).
    fn first_byte(&self) -> u8;
    /// Validates the packet and returns its remaining length.
    fn remaining_len(&self) -> Result<usize, EncodeError>;
    /// Writes everything after the fixed header. Only called after `remaining_len` succeeded.
    fn write_body<B: EncodeBuf>(&self, out: &mut B);
}

/// Validates, then writes the whole packet. Returns the number of bytes written.
#[inline]
pub(crate) fn encode_packet<P: Body, B: EncodeBuf>(
    packet: &P,
    out: &mut B,
) -> Result<usize, EncodeError> {
    let remaining = packet.remaining_len()?;
    if remaining > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLarge(remaining));
    }
    let total = 1 + remaining_length_len(remaining) + remaining;
    out.reserve_bytes(total);
    out.put_byte(packet.first_byte());
    put_remaining_length(out, remaining);
    packet.write_body(out);
    Ok(total)
}

/// Size of the encoded packet, fixed header included.
#[inline]
pub(crate) fn encoded_len<P: Body>(packet: &P) -> Result<usize, EncodeError> {
    let remaining = packet.remaining_len()?;
    if remaining > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLarge(remaining));
    }
    Ok(1 + remaining_length_len(remaining) + remaining)
}

const fn type_byte(t: PacketType) -> u8 {
    t.as_u8() << 4
}

impl Body for Connect {
    fn first_byte(&self) -> u8 {
        type_byte(PacketType::Connect)
    }

    fn remaining_len(&self) -> Result<usize, EncodeError> {
        if self.password.is_some() && self.username.is_none() {
            return Err(EncodeError::PasswordWithoutUsername);
        }
        // Protocol name (6), level (1), flags (1), keep-alive (2).
        let mut len = 10 + 2 + self.client_id.len();
        if let Some(will) = &self.will {
            len += 2 + will.topic.len();
            len += check_field("will payload", will.payload.len())?;
        }
        if let Some(user) = &self.username {
            len += 2 + user.len();
        }
        if let Some(pass) = &self.password {
            len += check_field("password", pass.len())?;
        }
        Ok(len)
    }

    fn write_body<B: EncodeBuf>(&self, out: &mut B) {
        out.put_bytes(&[0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04]);
        let mut flags = 0u8;
        if self.clean_session {
            flags |= 0x02;
        }
        if let Some(will) = &self.will {
            flags |= 0x04 | (will.qos.as_u8() << 3);
            if will.retain {
                flags |= 0x20;
            }
        }
        if self.password.is_some() {
            flags |= 0x40;
        }
        if self.username.is_some() {
            flags |= 0x80;
        }
        out.put_byte(flags);
        put_u16(out, self.keep_alive);
        put_prefixed(out, self.client_id.as_bytes());
        if let Some(will) = &self.will {
            put_prefixed(out, will.topic.as_bytes());
            put_prefixed(out, &will.payload);
        }
        if let Some(user) = &self.username {
            put_prefixed(out, user.as_bytes());
        }
        if let Some(pass) = &self.password {
            put_prefixed(out, pass.expose());
        }
    }
}

impl Body for ConnAck {
    fn first_byte(&self) -> u8 {
        type_byte(PacketType::ConnAck)
    }

    fn remaining_len(&self) -> Result<usize, EncodeError> {
        if self.session_present && self.code != crate::ConnectReturnCode::Accepted {
            return Err(EncodeError::SessionPresentWithRefusal);
        }
        Ok(2)
    }

    fn write_body<B: EncodeBuf>(&self, out: &mut B) {
        out.put_bytes(&[u8::from(self.session_present), self.code.as_u8()]);
    }
}

impl Body for Publish {
    #[inline]
    fn first_byte(&self) -> u8 {
        type_byte(PacketType::Publish)
            | (u8::from(self.dup) << 3)
            | (self.qos.as_u8() << 1)
            | u8::from(self.retain)
    }

    #[inline]
    fn remaining_len(&self) -> Result<usize, EncodeError> {
        let id_len = match (self.qos, self.packet_id) {
            (QoS::AtMostOnce, None) if self.dup => return Err(EncodeError::DupWithQoS0),
            (QoS::AtMostOnce, None) => 0,
            (QoS::AtMostOnce, Some(_)) => return Err(EncodeError::UnexpectedPacketId),
            (qos, None) => return Err(EncodeError::MissingPacketId(qos)),
            (_, Some(_)) => 2,
        };
        Ok(2 + self.topic.len() + id_len + self.payload.len())
    }

    #[inline]
    fn write_body<B: EncodeBuf>(&self, out: &mut B) {
        put_prefixed(out, self.topic.as_bytes());
        if let Some(id) = self.packet_id {
            put_u16(out, id.get());
        }
        out.put_bytes(&self.payload);
    }
}

macro_rules! id_only_body {
    ($name:ident, $first:expr) => {
        impl Body for $name {
            fn first_byte(&self) -> u8 {
                $first
            }
            fn remaining_len(&self) -> Result<usize, EncodeError> {
                Ok(2)
            }
            fn write_body<B: EncodeBuf>(&self, out: &mut B) {
                put_u16(out, self.packet_id.get());
            }
        }
    };
}

id_only_body!(PubAck, type_byte(PacketType::PubAck));
id_only_body!(PubRec, type_byte(PacketType::PubRec));
id_only_body!(PubRel, type_byte(PacketType::PubRel) | 0b0010);
id_only_body!(PubComp, type_byte(PacketType::PubComp));
id_only_body!(UnsubAck, type_byte(PacketType::UnsubAck));

impl Body for Subscribe {
    fn first_byte(&self) -> u8 {
        type_byte(PacketType::Subscribe) | 0b0010
    }

    fn remaining_len(&self) -> Result<usize, EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::EmptySubscribe);
        }
        Ok(self
            .filters
            .iter()
            .fold(2usize, |acc, f| acc.saturating_add(3 + f.filter.len())))
    }

    fn write_body<B: EncodeBuf>(&self, out: &mut B) {
        put_u16(out, self.packet_id.get());
        for f in &self.filters {
            put_prefixed(out, f.filter.as_bytes());
            out.put_byte(f.qos.as_u8());
        }
    }
}

impl Body for SubAck {
    fn first_byte(&self) -> u8 {
        type_byte(PacketType::SubAck)
    }

    fn remaining_len(&self) -> Result<usize, EncodeError> {
        if self.return_codes.is_empty() {
            return Err(EncodeError::EmptySubAck);
        }
        Ok(2usize.saturating_add(self.return_codes.len()))
    }

    fn write_body<B: EncodeBuf>(&self, out: &mut B) {
        put_u16(out, self.packet_id.get());
        for c in &self.return_codes {
            out.put_byte(c.as_u8());
        }
    }
}

impl Body for Unsubscribe {
    fn first_byte(&self) -> u8 {
        type_byte(PacketType::Unsubscribe) | 0b0010
    }

    fn remaining_len(&self) -> Result<usize, EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::EmptyUnsubscribe);
        }
        Ok(self
            .filters
            .iter()
            .fold(2usize, |acc, f| acc.saturating_add(2 + f.len())))
    }

    fn write_body<B: EncodeBuf>(&self, out: &mut B) {
        put_u16(out, self.packet_id.get());
        for f in &self.filters {
            put_prefixed(out, f.as_bytes());
        }
    }
}

/// A packet without variable header or payload (PINGREQ, PINGRESP, DISCONNECT).
pub(crate) struct Empty(pub(crate) PacketType);

impl Body for Empty {
    fn first_byte(&self) -> u8 {
        type_byte(self.0)
    }
    fn remaining_len(&self) -> Result<usize, EncodeError> {
        Ok(0)
    }
    fn write_body<B: EncodeBuf>(&self, _out: &mut B) {}
}

macro_rules! inherent_encode {
    ($($name:ident),*) => {
        $(impl $name {
            /// Validates the packet, then appends its encoding to `out` in one pass. Returns the
            /// number of bytes written; on error nothing is written.
            #[inline]
            pub fn encode<B: EncodeBuf>(&self, out: &mut B) -> Result<usize, EncodeError> {
                encode_packet(self, out)
            }

            /// Size of the encoded packet (fixed header included), after validation.
            pub fn encoded_len(&self) -> Result<usize, EncodeError> {
                encoded_len(self)
            }
        })*
    };
}

inherent_encode!(
    Connect,
    ConnAck,
    Publish,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck
);

impl Packet {
    /// Validates the packet, then appends its encoding to `out` in one pass. Returns the number
    /// of bytes written; on error nothing is written.
    pub fn encode<B: EncodeBuf>(&self, out: &mut B) -> Result<usize, EncodeError> {
        match self {
            Self::Connect(p) => encode_packet(p, out),
            Self::ConnAck(p) => encode_packet(p, out),
            Self::Publish(p) => encode_packet(p, out),
            Self::PubAck(p) => encode_packet(p, out),
            Self::PubRec(p) => encode_packet(p, out),
            Self::PubRel(p) => encode_packet(p, out),
            Self::PubComp(p) => encode_packet(p, out),
            Self::Subscribe(p) => encode_packet(p, out),
            Self::SubAck(p) => encode_packet(p, out),
            Self::Unsubscribe(p) => encode_packet(p, out),
            Self::UnsubAck(p) => encode_packet(p, out),
            Self::PingReq | Self::PingResp | Self::Disconnect => {
                encode_packet(&Empty(self.packet_type()), out)
            }
        }
    }

    /// Size of the encoded packet (fixed header included), after validation.
    pub fn encoded_len(&self) -> Result<usize, EncodeError> {
        match self {
            Self::Connect(p) => encoded_len(p),
            Self::ConnAck(p) => encoded_len(p),
            Self::Publish(p) => encoded_len(p),
            Self::PubAck(p) => encoded_len(p),
            Self::PubRec(p) => encoded_len(p),
            Self::PubRel(p) => encoded_len(p),
            Self::PubComp(p) => encoded_len(p),
            Self::Subscribe(p) => encoded_len(p),
            Self::SubAck(p) => encoded_len(p),
            Self::Unsubscribe(p) => encoded_len(p),
            Self::UnsubAck(p) => encoded_len(p),
            Self::PingReq | Self::PingResp | Self::Disconnect => Ok(2),
        }
    }

    /// Encodes into a fresh buffer.
    pub fn to_bytes(&self) -> Result<Bytes, EncodeError> {
        let mut out = Vec::new();
        self.encode(&mut out)?;
        Ok(Bytes::from(out))
    }
}
