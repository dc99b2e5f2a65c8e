//! Error types: decode errors (malformed bytes), frame errors (malformed framing or a frame the
//! negotiated limits forbid) and encode errors (a value that cannot be put on the wire).
//!
//! Every decode or frame error is fatal for the connection: the engine answers it with a CLOSE
//! carrying `amqp:decode-error` or `amqp:connection:framing-error`.

use crate::types::{Descriptor, Symbol};
use crate::value::ValueKind;

/// Malformed AMQP-encoded bytes (AMQP 1.0 part 1, types).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input (or the enclosing sized compound) ended inside a value.
    #[error("input ends inside a value")]
    UnexpectedEnd,
    /// A format code that AMQP 1.0 does not define.
    #[error("invalid format code {0:#04x}")]
    InvalidFormatCode(u8),
    /// A valid format code where the field's type allows a different one.
    #[error("expected {expected}, found format code {found:#04x}")]
    UnexpectedFormatCode {
        /// The AMQP type the field requires.
        expected: &'static str,
        /// The format code found.
        found: u8,
    },
    /// A mandatory field or value is null.
    #[error("{ty}.{field} is mandatory but missing or null")]
    MissingField {
        /// The composite type.
        ty: &'static str,
        /// The field.
        field: &'static str,
    },
    /// A `boolean` (0x56) with a byte other than 0 or 1.
    #[error("invalid boolean byte {0:#04x}")]
    InvalidBoolean(u8),
    /// A `string` that is not well-formed UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A `symbol` with a byte outside ASCII.
    #[error("symbol is not ASCII")]
    InvalidSymbol,
    /// A `char` that is not a Unicode scalar value.
    #[error("invalid char {0:#x}")]
    InvalidChar(u32),
    /// A map with an odd number of elements.
    #[error("map has an odd element count {0}")]
    OddMapCount(u32),
    /// A compound's element count cannot fit in its declared size.
    #[error("element count {count} does not fit in {size} bytes")]
    CountExceedsSize {
        /// Declared element count.
        count: u32,
        /// Declared size in bytes (after the size field).
        size: u32,
    },
    /// Bytes left over inside a sized compound, after a composite's fields, or after the
    /// single value a buffer was supposed to hold.
    #[error("{0} trailing bytes")]
    TrailingBytes(usize),
    /// Compound values nested deeper than [`MAX_DEPTH`](crate::MAX_DEPTH).
    #[error("values nested deeper than {}", crate::MAX_DEPTH)]
    DepthLimitExceeded,
    /// Arrays of zero-width elements (null, uint0, …) declare more elements in total than the
    /// input has bytes (plus a small allowance): refused, so a few bytes cannot make the
    /// decoder allocate gigabytes.
    #[error("array element count exceeds the input size")]
    ArrayTooLong,
    /// An array whose element constructor is itself described twice, which this codec does not
    /// represent.
    #[error("unsupported array element constructor")]
    UnsupportedArrayConstructor,
    /// A descriptor that is neither a `ulong` nor a `symbol`.
    #[error("descriptor with format code {0:#04x} is neither ulong nor symbol")]
    InvalidDescriptor(u8),
    /// A described value whose descriptor is not one the field allows.
    #[error("expected {expected}, found descriptor {found}")]
    UnexpectedDescriptor {
        /// What the field allows.
        expected: &'static str,
        /// The descriptor found.
        found: Descriptor,
    },
    /// A restricted type (settle mode, durability, SASL code, …) with an undefined value.
    #[error("invalid {ty} value {value}")]
    InvalidEnumValue {
        /// The restricted type.
        ty: &'static str,
        /// The value found.
        value: u64,
    },
    /// A restricted symbol type (terminus expiry policy) with an undefined value.
    #[error("invalid {ty} value {value}")]
    UnknownSymbol {
        /// The restricted type.
        ty: &'static str,
        /// The symbol found.
        value: Symbol,
    },
    /// A message section out of order, repeated, or mixing body kinds (AMQP 3.2).
    #[error("message section {0} out of order or repeated")]
    SectionOrder(&'static str),
}

/// Malformed framing (AMQP 1.0 part 2.3), or a frame that breaks the negotiated limits.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The declared frame size exceeds the negotiated max-frame-size (checked before the rest
    /// of the frame is buffered).
    #[error("frame of {size} bytes exceeds max-frame-size {max}")]
    TooLarge {
        /// Declared size.
        size: u32,
        /// The current limit.
        max: u32,
    },
    /// A declared frame size below the 8-byte frame header.
    #[error("frame size {0} is smaller than the frame header")]
    TooSmall(u32),
    /// DOFF below 2, or pointing past the end of the frame.
    #[error("invalid data offset {doff} for a frame of {size} bytes")]
    InvalidDataOffset {
        /// The DOFF byte (in 4-byte words).
        doff: u8,
        /// The frame size.
        size: u32,
    },
    /// A frame type other than 0x00 (AMQP) or 0x01 (SASL).
    #[error("unknown frame type {0:#04x}")]
    UnknownFrameType(u8),
    /// Eight bytes that are not an `AMQP` protocol header.
    #[error("invalid protocol header {0:02x?}")]
    InvalidProtocolHeader([u8; 8]),
    /// A SASL frame without a body (SASL frames cannot be heartbeats).
    #[error("empty SASL frame")]
    EmptySaslFrame,
    /// A frame body that does not decode.
    #[error("frame body: {0}")]
    Body(#[from] DecodeError),
}

/// A value that cannot be encoded. Encoding validates as it goes and, on error, truncates the
/// output back to its length before the call: nothing half-written is left behind.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string, binary, compound or frame larger than AMQP's 32-bit sizes allow.
    #[error("{0} too large for a 32-bit AMQP size")]
    TooLarge(&'static str),
    /// A mandatory field is empty (e.g. `sasl-mechanisms` without any mechanism).
    #[error("{ty}.{field} is mandatory but empty")]
    MissingField {
        /// The composite type.
        ty: &'static str,
        /// The field.
        field: &'static str,
    },
    /// An array element whose kind differs from the array's element kind.
    #[error("array of {expected:?} holds a {found:?}")]
    ArrayElementMismatch {
        /// The array's element kind.
        expected: ValueKind,
        /// The offending element's kind.
        found: ValueKind,
    },
}
