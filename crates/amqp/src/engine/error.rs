//! Engine errors in the layers the rest of hubwire uses: decode errors (inside
//! [`ProtocolError::Frame`]), peer protocol violations ([`ProtocolError`], each mapped to the AMQP
//! error condition sent in the CLOSE) and local API misuse ([`CommandError`]). There is no IO
//! layer: the engine never touches a socket.

use crate::definitions::{AmqpError, ErrorCondition};
use crate::error::{DecodeError, EncodeError, FrameError};
use crate::frame::ProtocolHeader;
use crate::types::Str;

/// The peer broke the protocol. The engine has already queued the CLOSE carrying
/// [`condition`](Self::condition) (when the connection had got far enough to send one) and
/// reported [`Event::Closed`](super::Event::Closed); the error is sticky.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The byte stream is not valid AMQP framing, or a frame body does not decode.
    #[error("framing: {0}")]
    Frame(#[from] FrameError),
    /// The peer's protocol header is not one this endpoint accepts at this point (another
    /// version, TLS, or SASL where none is offered). Our own header has been sent in reply.
    #[error("protocol header {0:?} not acceptable")]
    Header(ProtocolHeader),
    /// A frame that is valid on the wire but not allowed here.
    #[error("{condition}: {description}")]
    Violation {
        /// The AMQP error condition sent to the peer.
        condition: ErrorCondition,
        /// What was wrong.
        description: &'static str,
    },
}

impl ProtocolError {
    pub(super) fn violation(condition: ErrorCondition, description: &'static str) -> Self {
        Self::Violation {
            condition,
            description,
        }
    }

    pub(super) fn illegal_state(description: &'static str) -> Self {
        Self::violation(ErrorCondition::ILLEGAL_STATE, description)
    }

    /// The AMQP error condition for this violation: `amqp:decode-error` for a body that does
    /// not decode, `amqp:connection:framing-error` for broken framing, otherwise the
    /// violation's own condition.
    #[must_use]
    pub fn condition(&self) -> ErrorCondition {
        match self {
            Self::Frame(FrameError::Body(_)) => ErrorCondition::DECODE_ERROR,
            Self::Frame(_) | Self::Header(_) => ErrorCondition::FRAMING_ERROR,
            Self::Violation { condition, .. } => condition.clone(),
        }
    }

    /// The `error` sent in the CLOSE.
    #[must_use]
    pub fn to_amqp_error(&self) -> AmqpError {
        let description = match self {
            Self::Frame(FrameError::Body(_)) => "frame body does not decode",
            Self::Frame(FrameError::TooLarge { .. }) => "frame larger than max-frame-size",
            Self::Frame(_) => "invalid frame",
            Self::Header(_) => "unexpected protocol header",
            Self::Violation { description, .. } => description,
        };
        AmqpError::new(self.condition(), Some(Str::from_static(description)))
    }
}

impl From<DecodeError> for ProtocolError {
    fn from(e: DecodeError) -> Self {
        Self::Frame(FrameError::Body(e))
    }
}

/// The host used the engine's API wrongly; nothing was sent and the connection is unaffected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The connection has ended (or is closing): no new work is accepted.
    #[error("the connection is closed or closing")]
    Closed,
    /// The command belongs to another phase of the connection (e.g. a SASL decision when none
    /// is pending, or a server-only command on a client).
    #[error("not valid in the current connection state")]
    InvalidState,
    /// No such session (never opened, or already ended).
    #[error("unknown session")]
    UnknownSession,
    /// The session is ending or not yet usable for this command.
    #[error("the session is ending")]
    SessionEnding,
    /// No such link (never attached, or already detached).
    #[error("unknown link")]
    UnknownLink,
    /// The link is not in a state that allows the command (e.g. `accept_attach` on a link the
    /// peer did not attach, or `send` on a detaching link).
    #[error("the link is not in a state that allows this")]
    LinkState,
    /// A sender-only command on a receiver, or the other way round.
    #[error("wrong link role")]
    WrongRole,
    /// Every channel up to the negotiated channel-max is in use.
    #[error("no free channel")]
    ChannelsExhausted,
    /// Every handle up to the negotiated handle-max is in use on this session.
    #[error("no free link handle")]
    HandlesExhausted,
    /// `settled` contradicts the link's sender settle mode.
    #[error("settled={settled} contradicts the link's snd-settle-mode")]
    SettleMode {
        /// What was asked for.
        settled: bool,
    },
    /// The message is larger than the peer's max-message-size for the link.
    #[error("message of {size} bytes exceeds the link's max-message-size {max}")]
    MessageTooLarge {
        /// The encoded message size.
        size: u64,
        /// The peer's limit.
        max: u64,
    },
    /// Delivery tags are at most 32 bytes (AMQP 2.8.7).
    #[error("delivery tag of {0} bytes is longer than 32")]
    TagTooLong(usize),
    /// No unsettled delivery with this id on this link.
    #[error("no unsettled delivery {0} on this link")]
    UnknownDelivery(u32),
    /// A disposition range covers deliveries of another link (dispositions are per session).
    #[error("disposition range covers deliveries of another link")]
    RangeSpansLinks,
    /// A value could not be encoded.
    #[error("encode: {0}")]
    Encode(#[from] EncodeError),
}
