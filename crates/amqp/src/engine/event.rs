//! What the engine reports to its host.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;

use super::error::ProtocolError;
use super::{LinkId, SessionId};
use crate::definitions::AmqpError;
use crate::error::DecodeError;
use crate::frame::ProtocolHeader;
use crate::message::Message;
use crate::messaging::DeliveryState;
use crate::performative::{Attach, Begin, Open};
use crate::sasl::SaslCode;
use crate::types::{Str, Symbol};
use crate::Decode;

/// Something the host should know or act on. Drain with
/// [`Connection::poll_event`](super::Connection::poll_event) after every input.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// Server: a client chose `PLAIN`. Answer with
    /// [`sasl_accept`](super::Connection::sasl_accept) or
    /// [`sasl_reject`](super::Connection::sasl_reject).
    SaslPlain(PlainCredentials),
    /// The SASL exchange succeeded with this mechanism (both sides).
    SaslCompleted {
        /// The mechanism used.
        mechanism: Symbol,
    },
    /// The peer's OPEN arrived (and, on a server, ours has been sent in reply).
    Opened {
        /// The peer's OPEN.
        remote: Box<Open>,
    },
    /// A session is mapped: the peer answered our BEGIN, or began one that the engine answered.
    SessionBegun {
        /// The session.
        session: SessionId,
        /// Whether the peer began it.
        by_peer: bool,
        /// The peer's BEGIN.
        remote: Begin,
    },
    /// The peer attached a link; answer with
    /// [`accept_attach`](super::Connection::accept_attach) or
    /// [`refuse_attach`](super::Connection::refuse_attach). `link` has the role opposite to
    /// `attach.role`.
    AttachRequested {
        /// The local end of the link.
        link: LinkId,
        /// The peer's ATTACH.
        attach: Box<Attach>,
    },
    /// The peer answered our ATTACH. A reply without a source (our receiver) or target (our
    /// sender) means refusal: a DETACH with the reason follows.
    LinkAttached {
        /// The link.
        link: LinkId,
        /// The peer's ATTACH.
        remote: Box<Attach>,
    },
    /// The peer sent link flow state. On a sender, `credit` is what may be sent now; on a
    /// receiver, the credit left after the peer's report (0 after a drain).
    LinkFlow {
        /// The link.
        link: LinkId,
        /// Current link credit.
        credit: u32,
        /// The peer's `drain` flag.
        drain: bool,
    },
    /// A complete message arrived on a receiving link (reassembled from all its transfer
    /// frames). Unless `settled`, settle it with [`settle`](super::Connection::settle) or
    /// [`disposition`](super::Connection::disposition).
    Delivery(Delivery),
    /// The peer aborted a multi-frame delivery; its frames are discarded.
    DeliveryAborted {
        /// The link.
        link: LinkId,
        /// The delivery.
        delivery_id: u32,
    },
    /// The peer settled (or reached an outcome for) one of our unsettled sends. A terminal
    /// outcome the peer left unsettled is settled by the engine.
    Outcome {
        /// The sending link.
        link: LinkId,
        /// The delivery-id the send got.
        delivery_id: u32,
        /// The tag [`send`](super::Connection::send) returned.
        tag: Bytes,
        /// The peer's delivery state (`accepted`, `rejected`, …; `None` if it settled without
        /// one).
        state: Option<DeliveryState>,
    },
    /// A link ended: the peer answered our DETACH, detached first (the engine answered), we
    /// detached it because of a protocol violation, or its session or connection ended.
    LinkDetached {
        /// The link.
        link: LinkId,
        /// Whether the link was closed (not just detached).
        closed: bool,
        /// Whether the peer detached first.
        by_peer: bool,
        /// The error that ended the link: the peer's when `by_peer`, otherwise ours.
        error: Option<AmqpError>,
        /// Tags of sends that never got an outcome (queued, in flight or unsettled).
        lost: Vec<Bytes>,
    },
    /// A session ended (the links still attached were reported first).
    SessionEnded {
        /// The session.
        session: SessionId,
        /// Whether the peer ended it first.
        by_peer: bool,
        /// The error that ended it: the peer's when `by_peer`, otherwise ours.
        error: Option<AmqpError>,
    },
    /// The connection ended; the last event. Flush [`poll_transmit`](super::Connection::poll_transmit)
    /// (a CLOSE may be waiting), then close the transport.
    Closed(CloseReason),
}

/// Why a connection ended.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum CloseReason {
    /// We closed without an error and the peer answered.
    Local,
    /// We closed with this error and the peer answered.
    LocalError(AmqpError),
    /// The peer closed first (the engine answered), with or without an error.
    Remote(Option<AmqpError>),
    /// The peer broke the protocol; we sent a CLOSE with the matching condition.
    Protocol(ProtocolError),
    /// Nothing arrived from the peer within our idle-time-out; we sent a CLOSE with
    /// `amqp:resource-limit-exceeded`.
    IdleTimeout,
    /// SASL authentication failed: the server's outcome (client), or our rejection (server).
    SaslFailed(SaslCode),
    /// Client: the server does not offer our SASL mechanism.
    SaslMechanismUnavailable,
    /// The header, SASL and OPEN exchange took longer than the handshake timeout.
    HandshakeTimeout,
    /// The peer did not answer our CLOSE within the close timeout.
    CloseTimeout,
    /// The host reported that the transport closed.
    TransportClosed,
}

impl CloseReason {
    /// Whether the connection ended as both sides intended: a CLOSE without error, from
    /// either side.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        matches!(self, Self::Local | Self::Remote(None))
    }

    /// The protocol header that was refused, if that is why the connection ended.
    #[must_use]
    pub fn refused_header(&self) -> Option<ProtocolHeader> {
        match self {
            Self::Protocol(ProtocolError::Header(h)) => Some(*h),
            _ => None,
        }
    }
}

/// A complete incoming message. `Debug` shows the payload's size only.
#[derive(Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The receiving link.
    pub link: LinkId,
    /// The session-scoped delivery-id (for [`settle`](super::Connection::settle) and
    /// dispositions).
    pub delivery_id: u32,
    /// The sender's delivery tag (IoT Hub C2D: the lock token).
    pub tag: Bytes,
    /// The sender settled it already: no disposition is expected.
    pub settled: bool,
    /// `message-format` (0 for plain AMQP messages).
    pub message_format: u32,
    /// The message bytes: the concatenated payloads of the delivery's transfer frames.
    pub payload: Bytes,
}

impl Delivery {
    /// Decodes the message sections.
    ///
    /// # Errors
    /// The payload is not a valid AMQP message.
    pub fn message(&self) -> Result<Message, DecodeError> {
        Message::decode(self.payload.clone())
    }
}

impl fmt::Debug for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("link", &self.link)
            .field("delivery_id", &self.delivery_id)
            .field("tag_len", &self.tag.len())
            .field("settled", &self.settled)
            .field("message_format", &self.message_format)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// SASL `PLAIN` credentials (RFC 4616) put to the host. `Debug` redacts the password.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainCredentials {
    /// The authorization id (usually absent).
    pub authzid: Option<Str>,
    /// The authentication id (IoT Hub: `{deviceId}@sas.{hubName}`).
    pub username: Str,
    /// The password (IoT Hub: a SAS token).
    pub password: Str,
}

impl fmt::Debug for PlainCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlainCredentials")
            .field("authzid", &self.authzid)
            .field("username", &self.username)
            .field(
                "password",
                &format_args!("<redacted, {} bytes>", self.password.len()),
            )
            .finish()
    }
}
