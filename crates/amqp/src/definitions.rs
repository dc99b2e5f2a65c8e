//! Transport definitions (AMQP 1.0 §2.8): roles, settle modes, the `error` type and its
//! conditions, `fields` and annotation maps.

use crate::codes::{descriptor, format_code as fc};
use crate::error::{DecodeError, EncodeError};
use crate::read::{Dec, Reader};
use crate::types::{AnnotationKey, Map, Str, Symbol};
use crate::value::{decode_map_body, enc_map, Value};
use crate::write::{Enc, EncodeBuf};

/// `fields`: a symbol-keyed map (AMQP 2.8.14), used for properties and error info.
pub type Fields = Map<Symbol, Value>;

/// `annotations`: keys are symbols or reserved ulongs (AMQP 3.2.10).
pub type Annotations = Map<AnnotationKey, Value>;

/// The `application-properties` section: string keys, simple values (AMQP 3.2.5).
pub type ApplicationProperties = Map<Str, Value>;

/// The role of a link endpoint (AMQP 2.8.1), encoded as a boolean.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Role {
    /// `false`: the endpoint sends messages.
    #[default]
    Sender,
    /// `true`: the endpoint receives messages.
    Receiver,
}

impl Enc for Role {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
        matches!(self, Self::Receiver).enc(w)
    }
}

impl Dec for Role {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(if bool::decode_code(code, r)? {
            Self::Receiver
        } else {
            Self::Sender
        })
    }
}

macro_rules! ubyte_enum {
    (
        $(#[$m:meta])*
        pub enum $name:ident ($ty_name:literal) {
            $( $(#[$vm:meta])* $v:ident = $n:literal, )*
        }
    ) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
        pub enum $name {
            $( $(#[$vm])* $v = $n, )*
        }

        impl $name {
            /// The wire value.
            #[must_use]
            pub fn as_u8(self) -> u8 {
                self as u8
            }

            /// From the wire value.
            #[must_use]
            pub fn from_u8(n: u8) -> Option<Self> {
                match n {
                    $( $n => Some(Self::$v), )*
                    _ => None,
                }
            }
        }

        impl Enc for $name {
            #[inline]
            fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
                self.as_u8().enc(w)
            }
        }

        impl Dec for $name {
            #[inline]
            fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
                let n = u8::decode_code(code, r)?;
                Self::from_u8(n).ok_or(DecodeError::InvalidEnumValue {
                    ty: $ty_name,
                    value: u64::from(n),
                })
            }
        }
    };
}

ubyte_enum! {
    /// How the sender settles deliveries (AMQP 2.8.2).
    pub enum SenderSettleMode ("sender-settle-mode") {
        /// Every delivery is sent unsettled.
        Unsettled = 0,
        /// Every delivery is sent settled ("fire and forget").
        Settled = 1,
        /// The sender chooses per delivery (the default).
        #[default]
        Mixed = 2,
    }
}

ubyte_enum! {
    /// How the receiver settles deliveries (AMQP 2.8.3).
    pub enum ReceiverSettleMode ("receiver-settle-mode") {
        /// Settle on receipt (the default).
        #[default]
        First = 0,
        /// Settle only after the sender settled.
        Second = 1,
    }
}

/// The condition of an [`AmqpError`]: a symbol, with the spec's conditions (AMQP 2.8.15–2.8.18)
/// and those IoT Hub uses as constants. Any other symbol is allowed.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct ErrorCondition(pub Symbol);

macro_rules! conditions {
    ($( $(#[$m:meta])* $name:ident = $s:literal; )*) => {
        impl ErrorCondition {
            $( $(#[$m])* pub const $name: Self = Self(Symbol::ascii($s)); )*

            /// Every named condition.
            #[cfg(test)]
            pub(crate) fn all() -> alloc::vec::Vec<Self> {
                alloc::vec![$( Self::$name, )*]
            }
        }
    };
}

conditions! {
    /// An internal error occurred.
    INTERNAL_ERROR = "amqp:internal-error";
    /// A peer attempted to work with a remote entity that does not exist.
    NOT_FOUND = "amqp:not-found";
    /// A peer attempted to work with a remote entity to which it has no access.
    UNAUTHORIZED_ACCESS = "amqp:unauthorized-access";
    /// Data could not be decoded.
    DECODE_ERROR = "amqp:decode-error";
    /// A peer exceeded its resource allocation.
    RESOURCE_LIMIT_EXCEEDED = "amqp:resource-limit-exceeded";
    /// The peer tried to use a frame in a manner that is inconsistent with the spec.
    NOT_ALLOWED = "amqp:not-allowed";
    /// An invalid field was passed in a frame body.
    INVALID_FIELD = "amqp:invalid-field";
    /// The peer tried to use functionality that is not implemented in its partner.
    NOT_IMPLEMENTED = "amqp:not-implemented";
    /// The client attempted to work with a server entity to which it has no access because
    /// another client is working with it.
    RESOURCE_LOCKED = "amqp:resource-locked";
    /// The client made a request that was not allowed because some precondition failed.
    PRECONDITION_FAILED = "amqp:precondition-failed";
    /// A server entity the client is working with has been deleted.
    RESOURCE_DELETED = "amqp:resource-deleted";
    /// The peer sent a frame that is not permitted in the current state.
    ILLEGAL_STATE = "amqp:illegal-state";
    /// The peer cannot send a frame because the smallest encoding exceeds max-frame-size.
    FRAME_SIZE_TOO_SMALL = "amqp:frame-size-too-small";
    /// An operator intervened to close the connection.
    CONNECTION_FORCED = "amqp:connection:forced";
    /// A valid frame header cannot be formed from the incoming byte stream.
    FRAMING_ERROR = "amqp:connection:framing-error";
    /// The container is no longer available on the current connection.
    CONNECTION_REDIRECT = "amqp:connection:redirect";
    /// The peer violated incoming window for the session.
    WINDOW_VIOLATION = "amqp:session:window-violation";
    /// Input was received for a link that was detached with an error.
    ERRANT_LINK = "amqp:session:errant-link";
    /// An attach was received using a handle that is already in use for an attached link.
    HANDLE_IN_USE = "amqp:session:handle-in-use";
    /// A frame (other than attach) was received referencing a handle which is not attached.
    UNATTACHED_HANDLE = "amqp:session:unattached-handle";
    /// An operator intervened to detach for some reason.
    DETACH_FORCED = "amqp:link:detach-forced";
    /// The peer sent more message transfers than currently allowed on the link.
    TRANSFER_LIMIT_EXCEEDED = "amqp:link:transfer-limit-exceeded";
    /// The peer sent a larger message than is supported on the link.
    MESSAGE_SIZE_EXCEEDED = "amqp:link:message-size-exceeded";
    /// The address provided cannot be resolved to a terminus at the current container.
    LINK_REDIRECT = "amqp:link:redirect";
    /// The link has been attached elsewhere, causing the existing attachment to be forcibly
    /// closed.
    STOLEN = "amqp:link:stolen";
    /// IoT Hub: the lock of a cloud-to-device message expired before it was settled.
    MESSAGE_LOCK_LOST = "com.microsoft:message-lock-lost";
    /// IoT Hub: an argument was invalid.
    ARGUMENT_ERROR = "com.microsoft:argument-error";
    /// IoT Hub: an argument was out of range.
    ARGUMENT_OUT_OF_RANGE = "com.microsoft:argument-out-of-range";
    /// IoT Hub: the device is being throttled.
    DEVICE_CONTAINER_THROTTLED = "com.microsoft:device-container-throttled";
    /// IoT Hub: a quota was exceeded.
    QUOTA_EXCEEDED = "com.microsoft:quota-exceeded";
    /// IoT Hub: an operation timed out.
    TIMEOUT = "com.microsoft:timeout";
}

impl ErrorCondition {
    /// A condition from any symbol.
    #[must_use]
    pub fn new(s: Symbol) -> Self {
        Self(s)
    }

    /// The condition as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl core::fmt::Debug for ErrorCondition {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        core::fmt::Debug::fmt(&self.0, f)
    }
}

impl core::fmt::Display for ErrorCondition {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Symbol> for ErrorCondition {
    fn from(s: Symbol) -> Self {
        Self(s)
    }
}

impl Enc for ErrorCondition {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
        self.0.enc(w)
    }
}

impl Dec for ErrorCondition {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Symbol::decode_code(code, r).map(Self)
    }
}

composite! {
    /// `error` (AMQP 2.8.14): why a link, session or connection ended, or a delivery was
    /// rejected.
    #[derive(Clone, Debug, PartialEq)]
    pub struct AmqpError (descriptor::ERROR, "error") {
        /// `condition`: a symbolic error code.
        condition: req ErrorCondition,
        /// `description`: human-readable text.
        description: opt Str,
        /// `info`: map carrying information about the error condition.
        info: opt Fields,
    }
}

impl AmqpError {
    /// An error with a condition and an optional description.
    #[must_use]
    pub fn new(condition: ErrorCondition, description: Option<Str>) -> Self {
        Self {
            condition,
            description,
            info: None,
        }
    }
}

impl<K: Enc, V: Enc> Enc for Map<K, V> {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
        enc_map(w, self)
    }
}

impl<K: Dec> Dec for Map<K, Value> {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match code {
            fc::MAP8 | fc::MAP32 => decode_map_body(code, r, |r| {
                let c = r.u8()?;
                K::decode_code(c, r)
            }),
            _ => Err(DecodeError::UnexpectedFormatCode {
                expected: "map",
                found: code,
            }),
        }
    }
}

impl Enc for AnnotationKey {
    #[inline]
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
        match self {
            Self::Symbol(s) => s.enc(w),
            Self::Ulong(n) => n.enc(w),
        }
    }
}

impl Dec for AnnotationKey {
    #[inline]
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match code {
            fc::SYM8 | fc::SYM32 => Symbol::decode_code(code, r).map(Self::Symbol),
            fc::ULONG0 | fc::SMALLULONG | fc::ULONG => u64::decode_code(code, r).map(Self::Ulong),
            _ => Err(DecodeError::UnexpectedFormatCode {
                expected: "symbol or ulong annotation key",
                found: code,
            }),
        }
    }
}
