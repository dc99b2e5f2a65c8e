//! The nine performatives (AMQP 1.0 §2.7) and the [`Performative`] enum.

use alloc::boxed::Box;

use bytes::Bytes;

use crate::codes::{descriptor, format_code as fc};
use crate::definitions::{AmqpError, Fields, ReceiverSettleMode, Role, SenderSettleMode};
use crate::error::{DecodeError, EncodeError};
use crate::messaging::{DeliveryState, Source, Target};
use crate::read::{Dec, Reader};
use crate::types::{Map, Str, Symbol};
use crate::value::Value;
use crate::write::{Enc, EncodeBuf};

composite! {
    /// `open` (AMQP 2.7.1): negotiate connection parameters.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Open (descriptor::OPEN, "open") {
        /// `container-id`: the id of the source container.
        container_id: req Str,
        /// `hostname`: the name of the target host.
        hostname: opt Str,
        /// `max-frame-size`: proposed maximum frame size (default 4294967295).
        max_frame_size: def u32 = u32::MAX,
        /// `channel-max`: the maximum channel number that can be used (default 65535).
        channel_max: def u16 = u16::MAX,
        /// `idle-time-out`: idle time-out in milliseconds.
        idle_time_out: opt u32,
        /// `outgoing-locales`: locales available for outgoing text.
        outgoing_locales: multi Symbol,
        /// `incoming-locales`: desired locales for incoming text in decreasing preference.
        incoming_locales: multi Symbol,
        /// `offered-capabilities`: extension capabilities the sender supports.
        offered_capabilities: multi Symbol,
        /// `desired-capabilities`: extension capabilities the sender can use if the receiver
        /// supports them.
        desired_capabilities: multi Symbol,
        /// `properties`: connection properties.
        properties: opt Fields,
    }
}

composite! {
    /// `begin` (AMQP 2.7.2): begin a session on a channel.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Begin (descriptor::BEGIN, "begin") {
        /// `remote-channel`: the remote channel for this session (set when answering).
        remote_channel: opt u16,
        /// `next-outgoing-id`: the transfer-id of the first transfer id the sender will send.
        next_outgoing_id: req u32,
        /// `incoming-window`: the initial incoming-window of the sender.
        incoming_window: req u32,
        /// `outgoing-window`: the initial outgoing-window of the sender.
        outgoing_window: req u32,
        /// `handle-max`: the maximum handle value that can be used on the session.
        handle_max: def u32 = u32::MAX,
        /// `offered-capabilities`: session capabilities the sender supports.
        offered_capabilities: multi Symbol,
        /// `desired-capabilities`: session capabilities the sender can use.
        desired_capabilities: multi Symbol,
        /// `properties`: session properties.
        properties: opt Fields,
    }
}

composite! {
    /// `attach` (AMQP 2.7.3): attach a link to a session.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Attach (descriptor::ATTACH, "attach") {
        /// `name`: the name of the link.
        name: req Str,
        /// `handle`: the handle for the link while attached.
        handle: req u32,
        /// `role`: role of the link endpoint.
        role: req Role,
        /// `snd-settle-mode`: settlement policy for the sender (default mixed).
        snd_settle_mode: def SenderSettleMode = SenderSettleMode::Mixed,
        /// `rcv-settle-mode`: the settlement policy of the receiver (default first).
        rcv_settle_mode: def ReceiverSettleMode = ReceiverSettleMode::First,
        /// `source`: the source for messages.
        source: opt Source,
        /// `target`: the target for messages.
        target: opt Target,
        /// `unsettled`: unsettled delivery state (delivery-tag → delivery-state).
        unsettled: opt Map<Value, Value>,
        /// `incomplete-unsettled`: the unsettled map is incomplete.
        incomplete_unsettled: def bool = false,
        /// `initial-delivery-count`: the sender's initial delivery-count (senders only).
        initial_delivery_count: opt u32,
        /// `max-message-size`: the maximum message size supported by the link endpoint.
        max_message_size: opt u64,
        /// `offered-capabilities`: extension capabilities the sender supports.
        offered_capabilities: multi Symbol,
        /// `desired-capabilities`: extension capabilities the sender can use.
        desired_capabilities: multi Symbol,
        /// `properties`: link properties (IoT Hub: `com.microsoft:client-version`, …).
        properties: opt Fields,
    }
}

composite! {
    /// `flow` (AMQP 2.7.4): update link and session flow state.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Flow (descriptor::FLOW, "flow") {
        /// `next-incoming-id`.
        next_incoming_id: opt u32,
        /// `incoming-window`.
        incoming_window: req u32,
        /// `next-outgoing-id`.
        next_outgoing_id: req u32,
        /// `outgoing-window`.
        outgoing_window: req u32,
        /// `handle`: the link the flow state applies to (absent: session only).
        handle: opt u32,
        /// `delivery-count`: the endpoint's delivery-count.
        delivery_count: opt u32,
        /// `link-credit`: the current maximum number of messages that can be received.
        link_credit: opt u32,
        /// `available`: the number of available messages.
        available: opt u32,
        /// `drain`: indicates drain mode.
        drain: def bool = false,
        /// `echo`: request state from partner.
        echo: def bool = false,
        /// `properties`: link state properties.
        properties: opt Fields,
    }
}

composite! {
    /// `transfer` (AMQP 2.7.5): transfer a message (or part of one); the frame payload after
    /// the performative carries the message bytes.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Transfer (descriptor::TRANSFER, "transfer") {
        /// `handle`: the link the transfer belongs to.
        handle: req u32,
        /// `delivery-id`: alias for the delivery-tag (mandatory on a delivery's first frame).
        delivery_id: opt u32,
        /// `delivery-tag`: the delivery's tag (mandatory on a delivery's first frame).
        delivery_tag: opt Bytes,
        /// `message-format`: the message format (0 for AMQP messages).
        message_format: opt u32,
        /// `settled`: whether the sender settled the delivery.
        settled: opt bool,
        /// `more`: more transfer frames follow for this delivery.
        more: def bool = false,
        /// `rcv-settle-mode`: settle mode override for this delivery.
        rcv_settle_mode: opt ReceiverSettleMode,
        /// `state`: the state of the delivery at the sender.
        state: opt DeliveryState,
        /// `resume`: a resumed delivery.
        resume: def bool = false,
        /// `aborted`: the delivery is aborted.
        aborted: def bool = false,
        /// `batchable`: batchable hint.
        batchable: def bool = false,
    }
}

composite! {
    /// `disposition` (AMQP 2.7.6): inform the peer of delivery state changes.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Disposition (descriptor::DISPOSITION, "disposition") {
        /// `role`: the role of the endpoint issuing the disposition.
        role: req Role,
        /// `first`: lower bound of the deliveries.
        first: req u32,
        /// `last`: upper bound of the deliveries (inclusive; absent = `first`).
        last: opt u32,
        /// `settled`: the deliveries are settled.
        settled: def bool = false,
        /// `state`: the delivery state.
        state: opt DeliveryState,
        /// `batchable`: batchable hint.
        batchable: def bool = false,
    }
}

composite! {
    /// `detach` (AMQP 2.7.7): detach the link endpoint from the session.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Detach (descriptor::DETACH, "detach") {
        /// `handle`: the link.
        handle: req u32,
        /// `closed`: close (not just detach) the link.
        closed: def bool = false,
        /// `error`: error causing the detach.
        error: opt AmqpError,
    }
}

composite! {
    /// `end` (AMQP 2.7.8): end the session.
    #[derive(Clone, Debug, PartialEq)]
    pub struct End (descriptor::END, "end") {
        /// `error`: error causing the end.
        error: opt AmqpError,
    }
}

composite! {
    /// `close` (AMQP 2.7.9): signal a connection close.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Close (descriptor::CLOSE, "close") {
        /// `error`: error causing the close.
        error: opt AmqpError,
    }
}

impl Open {
    /// An `open` with a container id and every other field at its default.
    #[must_use]
    pub fn new(container_id: impl Into<Str>) -> Self {
        Self {
            container_id: container_id.into(),
            ..Self::default()
        }
    }
}

impl Attach {
    /// An `attach` with name, handle and role; every other field at its default.
    #[must_use]
    pub fn new(name: impl Into<Str>, handle: u32, role: Role) -> Self {
        Self {
            name: name.into(),
            handle,
            role,
            ..Self::default()
        }
    }
}

impl Transfer {
    /// The first (or only) transfer of a delivery: handle, delivery-id, delivery-tag and
    /// message-format 0.
    #[must_use]
    pub fn new(handle: u32, delivery_id: u32, delivery_tag: Bytes) -> Self {
        Self {
            handle,
            delivery_id: Some(delivery_id),
            delivery_tag: Some(delivery_tag),
            message_format: Some(0),
            ..Self::default()
        }
    }
}

/// One of the nine AMQP performatives: the body of an AMQP frame.
///
/// `open` and `attach` are boxed: they are large and rare, and the common transfer and flow
/// frames should not pay for their size.
#[derive(Clone, Debug, PartialEq)]
pub enum Performative {
    /// `open`.
    Open(Box<Open>),
    /// `begin`.
    Begin(Begin),
    /// `attach`.
    Attach(Box<Attach>),
    /// `flow`.
    Flow(Flow),
    /// `transfer`.
    Transfer(Transfer),
    /// `disposition`.
    Disposition(Disposition),
    /// `detach`.
    Detach(Detach),
    /// `end`.
    End(End),
    /// `close`.
    Close(Close),
}

impl Performative {
    /// The spec name (`"open"`, `"transfer"`, …), for logs and errors.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Open(_) => "open",
            Self::Begin(_) => "begin",
            Self::Attach(_) => "attach",
            Self::Flow(_) => "flow",
            Self::Transfer(_) => "transfer",
            Self::Disposition(_) => "disposition",
            Self::Detach(_) => "detach",
            Self::End(_) => "end",
            Self::Close(_) => "close",
        }
    }

    /// The numeric descriptor.
    #[must_use]
    pub fn descriptor(&self) -> u64 {
        match self {
            Self::Open(_) => Open::DESCRIPTOR,
            Self::Begin(_) => Begin::DESCRIPTOR,
            Self::Attach(_) => Attach::DESCRIPTOR,
            Self::Flow(_) => Flow::DESCRIPTOR,
            Self::Transfer(_) => Transfer::DESCRIPTOR,
            Self::Disposition(_) => Disposition::DESCRIPTOR,
            Self::Detach(_) => Detach::DESCRIPTOR,
            Self::End(_) => End::DESCRIPTOR,
            Self::Close(_) => Close::DESCRIPTOR,
        }
    }
}

macro_rules! performative_from {
    ($($t:ident => $e:expr),* $(,)?) => {
        $(impl From<$t> for Performative {
            fn from(p: $t) -> Self {
                #[allow(clippy::redundant_closure_call)]
                ($e)(p)
            }
        })*
    };
}

performative_from! {
    Open => |p| Self::Open(Box::new(p)),
    Begin => Self::Begin,
    Attach => |p| Self::Attach(Box::new(p)),
    Flow => Self::Flow,
    Transfer => Self::Transfer,
    Disposition => Self::Disposition,
    Detach => Self::Detach,
    End => Self::End,
    Close => Self::Close,
}

impl Enc for Performative {
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
        match self {
            Self::Open(p) => p.enc(w),
            Self::Begin(p) => p.enc(w),
            Self::Attach(p) => p.enc(w),
            Self::Flow(p) => p.enc(w),
            Self::Transfer(p) => p.enc(w),
            Self::Disposition(p) => p.enc(w),
            Self::Detach(p) => p.enc(w),
            Self::End(p) => p.enc(w),
            Self::Close(p) => p.enc(w),
        }
    }
}

impl Dec for Performative {
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        const NAME: &str = "performative";
        if code != fc::DESCRIBED {
            return Err(DecodeError::UnexpectedFormatCode {
                expected: NAME,
                found: code,
            });
        }
        let d = r.descriptor()?;
        Ok(match d.code() {
            Some(descriptor::OPEN) => Self::Open(Box::new(Open::decode_list(r)?)),
            Some(descriptor::BEGIN) => Self::Begin(Begin::decode_list(r)?),
            Some(descriptor::ATTACH) => Self::Attach(Box::new(Attach::decode_list(r)?)),
            Some(descriptor::FLOW) => Self::Flow(Flow::decode_list(r)?),
            Some(descriptor::TRANSFER) => Self::Transfer(Transfer::decode_list(r)?),
            Some(descriptor::DISPOSITION) => Self::Disposition(Disposition::decode_list(r)?),
            Some(descriptor::DETACH) => Self::Detach(Detach::decode_list(r)?),
            Some(descriptor::END) => Self::End(End::decode_list(r)?),
            Some(descriptor::CLOSE) => Self::Close(Close::decode_list(r)?),
            _ => {
                return Err(DecodeError::UnexpectedDescriptor {
                    expected: NAME,
                    found: d,
                })
            }
        })
    }
}
