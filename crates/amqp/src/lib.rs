//! AMQP 1.0 codec for hubwire: the type system, frames, performatives, SASL and message
//! sections — everything a sans-IO connection engine (device client or hub) sits on.
//!
//! * **Types** (AMQP part 1): [`Value`] holds any value; [`Symbol`] and [`Str`] are validated
//!   once and backed by [`Bytes`], so decoding slices strings, symbols and binaries out of the
//!   received frame without copying. Encoding always picks the smallest encoding (`uint0`,
//!   `smallulong`, `str8`, `list8`, …) in a single pass: compound sizes are back-patched.
//! * **Frames** (part 2.3): [`FrameDecoder`] reassembles frames from arbitrarily cut input and
//!   checks each declared size against the max-frame-size before buffering it;
//!   [`encode_amqp_frame`], [`encode_transfer_frame`], [`encode_sasl_frame`] and
//!   [`encode_empty_frame`] write frames.
//! * **Performatives** (part 2.7): [`Open`] … [`Close`], gathered in [`Performative`];
//!   SASL bodies (part 5.3) in [`SaslFrame`].
//! * **Messages** (part 3.2): [`Message`] with all sections; [`Header`], [`Properties`],
//!   [`Body`]; delivery states and termini ([`DeliveryState`], [`Source`], [`Target`]).
//!
//! Every decoder is bounded: a value never reads past its container, trailing bytes inside a
//! sized compound are rejected, nesting is limited to [`MAX_DEPTH`], and element counts are
//! checked against the input so a few bytes cannot make the decoder allocate much. Decoders
//! never panic; errors are typed ([`DecodeError`], [`FrameError`], [`EncodeError`]).
//!
//! ```
//! use hubwire_amqp::{
//!     encode_transfer_frame, AmqpFrame, Body, Bytes, Decode, Frame, Message, Performative,
//!     Properties, Str, Transfer,
//! };
//!
//! let message = Message {
//!     properties: Some(Properties {
//!         message_id: Some(Str::from("msg-1").into()),
//!         ..Properties::default()
//!     }),
//!     body: Body::data(Bytes::from_static(b"{\"temp\":21}")),
//!     ..Message::default()
//! };
//! let transfer = Transfer::new(0, 7, Bytes::from_static(&[0, 0, 0, 7]));
//! let mut wire = Vec::new();
//! encode_transfer_frame(&mut wire, 0, &transfer, &message)?;
//!
//! let Frame::Amqp(AmqpFrame { performative: Some(Performative::Transfer(t)), payload, .. }) =
//!     Frame::decode(Bytes::from(wire))?
//! else {
//!     unreachable!()
//! };
//! assert_eq!(t.delivery_id, Some(7));
//! assert_eq!(Message::decode(payload)?, message);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![no_std]

extern crate alloc;

#[macro_use]
mod composite;

mod codes;
mod definitions;
pub mod engine;
mod error;
mod frame;
mod message;
mod messaging;
mod performative;
mod read;
mod sasl;
mod types;
mod value;
mod write;

pub use bytes::{Bytes, BytesMut};
pub use codes::{descriptor, format_code, name_for_code};
pub use definitions::{
    AmqpError, Annotations, ApplicationProperties, ErrorCondition, Fields, ReceiverSettleMode,
    Role, SenderSettleMode,
};
pub use error::{DecodeError, EncodeError, FrameError};
pub use frame::{
    encode_amqp_frame, encode_empty_frame, encode_sasl_frame, encode_transfer_frame, AmqpBody,
    AmqpFrame, Frame, FrameDecoder, FrameType, Incoming, ProtocolHeader, RawFrame, SaslBody,
    FRAME_HEADER_SIZE, MIN_MAX_FRAME_SIZE,
};
pub use message::{Body, Header, Message, MessageId, Properties};
pub use messaging::{
    DeliveryState, FilterSet, Modified, Received, Rejected, Source, Target, TerminusDurability,
    TerminusExpiryPolicy,
};
pub use performative::{
    Attach, Begin, Close, Detach, Disposition, End, Flow, Open, Performative, Transfer,
};
pub use sasl::{
    SaslChallenge, SaslCode, SaslFrame, SaslInit, SaslMechanisms, SaslOutcome, SaslResponse,
};
pub use types::{
    AnnotationKey, Decimal128, Decimal32, Decimal64, Descriptor, Map, Str, Symbol, SymbolError,
    Timestamp, Uuid,
};
pub use value::{Array, Described, Value, ValueKind};
pub use write::EncodeBuf;

/// How deeply compound and described values may nest before decoding fails with
/// [`DecodeError::DepthLimitExceeded`]. AMQP's own types nest at most five deep.
pub const MAX_DEPTH: usize = 32;

/// Encoding to AMQP bytes.
pub trait Encode {
    /// Appends the encoding to `buf` and returns how many bytes were written. On error nothing
    /// is appended.
    ///
    /// # Errors
    /// See [`EncodeError`].
    fn encode<B: EncodeBuf>(&self, buf: &mut B) -> Result<usize, EncodeError>;

    /// The encoding as a new buffer.
    ///
    /// # Errors
    /// See [`EncodeError`].
    fn to_bytes(&self) -> Result<Bytes, EncodeError> {
        let mut v = alloc::vec::Vec::new();
        self.encode(&mut v)?;
        Ok(Bytes::from(v))
    }
}

/// Decoding from AMQP bytes.
pub trait Decode: Sized {
    /// Decodes a value that fills `bytes` exactly. Strings, symbols and binaries in the result
    /// share `bytes`' buffer.
    ///
    /// # Errors
    /// Malformed input, or [`DecodeError::TrailingBytes`] if bytes are left over.
    fn decode(bytes: Bytes) -> Result<Self, DecodeError>;
}

macro_rules! codec_impls {
    ($($t:ty),* $(,)?) => {
        $(
            impl Encode for $t {
                #[inline]
                fn encode<B: EncodeBuf>(&self, buf: &mut B) -> Result<usize, EncodeError> {
                    write::atomically(buf, |w| write::Enc::enc(self, w))
                }
            }

            impl Decode for $t {
                #[inline]
                fn decode(bytes: Bytes) -> Result<Self, DecodeError> {
                    let mut r = read::Reader::new(&bytes);
                    let code = r.u8()?;
                    let v = <$t as read::Dec>::decode_code(code, &mut r)?;
                    r.finish()?;
                    Ok(v)
                }
            }
        )*
    };
}

codec_impls! {
    Value, Performative, Open, Begin, Attach, Flow, Transfer, Disposition, Detach, End, Close,
    SaslFrame, SaslMechanisms, SaslInit, SaslChallenge, SaslResponse, SaslOutcome,
    AmqpError, DeliveryState, Received, Rejected, Modified, Source, Target, Header, Properties,
    MessageId,
}

impl Encode for Message {
    fn encode<B: EncodeBuf>(&self, buf: &mut B) -> Result<usize, EncodeError> {
        write::atomically(buf, |w| {
            w.reserve_more(self.size_hint());
            write::Enc::enc(self, w)
        })
    }

    fn to_bytes(&self) -> Result<Bytes, EncodeError> {
        let mut v = alloc::vec::Vec::with_capacity(self.size_hint());
        write::Enc::enc(self, &mut v)?;
        Ok(Bytes::from(v))
    }
}

impl Decode for Message {
    /// Decodes the sections of a message: the concatenated payloads of a delivery's transfer
    /// frames. An empty buffer is a message without sections.
    fn decode(bytes: Bytes) -> Result<Self, DecodeError> {
        let mut r = read::Reader::new(&bytes);
        Self::decode_sections(&mut r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_symbols_are_ascii() {
        for c in ErrorCondition::all() {
            assert!(c.0.as_bytes().is_ascii(), "{c}");
            assert_eq!(Symbol::new(c.as_str()).as_ref(), Ok(&c.0));
        }
        assert!(SaslInit::anonymous().mechanism.as_bytes().is_ascii());
    }

    #[test]
    fn descriptor_names_round_trip() {
        for code in 0..=0x80u64 {
            if let Some(name) = name_for_code(code) {
                assert_eq!(codes::code_for_name(name.as_bytes()), Some(code));
                let d = Descriptor::Symbol(Symbol::new(name).expect("ascii"));
                assert_eq!(d.code(), Some(code));
            }
        }
    }
}
