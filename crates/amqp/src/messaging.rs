//! Messaging definitions used by the transport (AMQP 1.0 §3.4, §3.5): delivery states and
//! outcomes, and the `source` and `target` termini.

use crate::codes::{descriptor, format_code as fc};
use crate::definitions::{AmqpError, Fields};
use crate::error::{DecodeError, EncodeError};
use crate::read::{Dec, Reader};
use crate::types::{Map, Str, Symbol};
use crate::value::Value;
use crate::write::{self, Enc, EncodeBuf};

/// Durability of a terminus (AMQP 3.5.5), encoded as a uint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TerminusDurability {
    /// No terminus state is retained durably (the default).
    #[default]
    None,
    /// Only the existence and configuration of the terminus is retained durably.
    Configuration,
    /// Configuration and unsettled state are retained durably.
    UnsettledState,
}

impl Enc for TerminusDurability {
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
        let n: u32 = match self {
            Self::None => 0,
            Self::Configuration => 1,
            Self::UnsettledState => 2,
        };
        n.enc(w)
    }
}

impl Dec for TerminusDurability {
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match u32::decode_code(code, r)? {
            0 => Ok(Self::None),
            1 => Ok(Self::Configuration),
            2 => Ok(Self::UnsettledState),
            n => Err(DecodeError::InvalidEnumValue {
                ty: "terminus-durability",
                value: u64::from(n),
            }),
        }
    }
}

/// When the expiry timer of a terminus starts (AMQP 3.5.6), encoded as a symbol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum TerminusExpiryPolicy {
    /// `link-detach`.
    LinkDetach,
    /// `session-end` (the default).
    #[default]
    SessionEnd,
    /// `connection-close`.
    ConnectionClose,
    /// `never`.
    Never,
}

impl TerminusExpiryPolicy {
    /// The wire symbol.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LinkDetach => "link-detach",
            Self::SessionEnd => "session-end",
            Self::ConnectionClose => "connection-close",
            Self::Never => "never",
        }
    }
}

impl Enc for TerminusExpiryPolicy {
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
        write::variable(w, fc::SYM8, fc::SYM32, self.as_str().as_bytes(), "symbol")
    }
}

impl Dec for TerminusExpiryPolicy {
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let s = Symbol::decode_code(code, r)?;
        Ok(match s.as_bytes() {
            b"link-detach" => Self::LinkDetach,
            b"session-end" => Self::SessionEnd,
            b"connection-close" => Self::ConnectionClose,
            b"never" => Self::Never,
            _ => {
                return Err(DecodeError::UnknownSymbol {
                    ty: "terminus-expiry-policy",
                    value: s,
                })
            }
        })
    }
}

composite! {
    /// `received` (AMQP 3.4.1): how much of a delivery has arrived, for resumption.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct Received (descriptor::RECEIVED, "received") {
        /// `section-number`: the section to resume from.
        section_number: req u32,
        /// `section-offset`: the first byte of that section still to send.
        section_offset: req u64,
    }
}

composite! {
    /// `rejected` (AMQP 3.4.3): the message is invalid and cannot be processed.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Rejected (descriptor::REJECTED, "rejected") {
        /// `error`: why.
        error: opt AmqpError,
    }
}

composite! {
    /// `modified` (AMQP 3.4.5): the message was not processed and is modified before
    /// redelivery.
    #[derive(Clone, Debug, PartialEq)]
    pub struct Modified (descriptor::MODIFIED, "modified") {
        /// `delivery-failed`: count the transfer as an unsuccessful delivery attempt.
        delivery_failed: opt bool,
        /// `undeliverable-here`: do not redeliver to this link endpoint.
        undeliverable_here: opt bool,
        /// `message-annotations`: annotations to merge into the message.
        message_annotations: opt Fields,
    }
}

/// A delivery state (AMQP 3.4): `received`, or one of the four outcomes.
#[derive(Clone, Debug, PartialEq)]
pub enum DeliveryState {
    /// `received` (not an outcome: only for resuming partially transferred deliveries).
    Received(Received),
    /// `accepted`: the message was processed successfully.
    Accepted,
    /// `rejected`: the message is invalid.
    Rejected(Rejected),
    /// `released`: the message was not (and will not be) processed.
    Released,
    /// `modified`: the message was modified but not processed.
    Modified(Modified),
}

impl DeliveryState {
    /// Whether this is a terminal outcome (anything but `received`).
    #[must_use]
    pub fn is_outcome(&self) -> bool {
        !matches!(self, Self::Received(_))
    }

    /// `rejected` with an error.
    #[must_use]
    pub fn rejected(error: AmqpError) -> Self {
        Self::Rejected(Rejected { error: Some(error) })
    }
}

impl Enc for DeliveryState {
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
        match self {
            Self::Received(x) => x.enc(w),
            Self::Accepted => {
                write::descriptor_code(w, descriptor::ACCEPTED);
                w.put_u8(fc::LIST0);
                Ok(())
            }
            Self::Rejected(x) => x.enc(w),
            Self::Released => {
                write::descriptor_code(w, descriptor::RELEASED);
                w.put_u8(fc::LIST0);
                Ok(())
            }
            Self::Modified(x) => x.enc(w),
        }
    }
}

/// A described list without fields (`accepted`, `released`); unknown extra fields are
/// validated and ignored, like for every composite.
fn decode_no_fields(r: &mut Reader<'_>, name: &'static str) -> Result<(), DecodeError> {
    let code = r.u8()?;
    match code {
        fc::LIST0 => Ok(()),
        fc::LIST8 | fc::LIST32 => {
            let (count, saved) = r.enter_compound(code)?;
            crate::composite::skip_extra(r, count)?;
            r.leave_compound(saved)
        }
        other => Err(DecodeError::UnexpectedFormatCode {
            expected: name,
            found: other,
        }),
    }
}

impl Dec for DeliveryState {
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        const NAME: &str = "delivery-state";
        if code != fc::DESCRIBED {
            return Err(DecodeError::UnexpectedFormatCode {
                expected: NAME,
                found: code,
            });
        }
        let d = r.descriptor()?;
        Ok(match d.code() {
            Some(descriptor::RECEIVED) => Self::Received(Received::decode_list(r)?),
            Some(descriptor::ACCEPTED) => {
                decode_no_fields(r, "accepted list")?;
                Self::Accepted
            }
            Some(descriptor::REJECTED) => Self::Rejected(Rejected::decode_list(r)?),
            Some(descriptor::RELEASED) => {
                decode_no_fields(r, "released list")?;
                Self::Released
            }
            Some(descriptor::MODIFIED) => Self::Modified(Modified::decode_list(r)?),
            _ => {
                return Err(DecodeError::UnexpectedDescriptor {
                    expected: NAME,
                    found: d,
                })
            }
        })
    }
}

/// `filter-set` (AMQP 3.5.8): named filters, usually described values.
pub type FilterSet = Map<Symbol, Value>;

composite! {
    /// `source` terminus (AMQP 3.5.3).
    #[derive(Clone, Debug, PartialEq)]
    pub struct Source (descriptor::SOURCE, "source") {
        /// `address`: the node messages come from (e.g. `/devices/d1/messages/devicebound`).
        address: opt Str,
        /// `durable`: what state of the terminus is retained durably.
        durable: def TerminusDurability = TerminusDurability::None,
        /// `expiry-policy`: when the expiry timer starts.
        expiry_policy: def TerminusExpiryPolicy = TerminusExpiryPolicy::SessionEnd,
        /// `timeout`: seconds until the terminus expires.
        timeout: def u32 = 0,
        /// `dynamic`: ask the peer to create a node.
        dynamic: def bool = false,
        /// `dynamic-node-properties`: properties of the dynamically created node.
        dynamic_node_properties: opt Fields,
        /// `distribution-mode`: `move` or `copy`.
        distribution_mode: opt Symbol,
        /// `filter`: which messages the source delivers.
        filter: opt FilterSet,
        /// `default-outcome`: outcome for unsettled deliveries when the link ends.
        default_outcome: opt DeliveryState,
        /// `outcomes`: descriptors of the outcomes the sender supports.
        outcomes: multi Symbol,
        /// `capabilities`: extension capabilities of the sender.
        capabilities: multi Symbol,
    }
}

composite! {
    /// `target` terminus (AMQP 3.5.4).
    #[derive(Clone, Debug, PartialEq)]
    pub struct Target (descriptor::TARGET, "target") {
        /// `address`: the node messages go to (e.g. `/devices/d1/messages/events`).
        address: opt Str,
        /// `durable`: what state of the terminus is retained durably.
        durable: def TerminusDurability = TerminusDurability::None,
        /// `expiry-policy`: when the expiry timer starts.
        expiry_policy: def TerminusExpiryPolicy = TerminusExpiryPolicy::SessionEnd,
        /// `timeout`: seconds until the terminus expires.
        timeout: def u32 = 0,
        /// `dynamic`: ask the peer to create a node.
        dynamic: def bool = false,
        /// `dynamic-node-properties`: properties of the dynamically created node.
        dynamic_node_properties: opt Fields,
        /// `capabilities`: extension capabilities of the receiver.
        capabilities: multi Symbol,
    }
}

impl Source {
    /// A source with only an address.
    #[must_use]
    pub fn with_address(address: impl Into<Str>) -> Self {
        Self {
            address: Some(address.into()),
            ..Self::default()
        }
    }
}

impl Target {
    /// A target with only an address.
    #[must_use]
    pub fn with_address(address: impl Into<Str>) -> Self {
        Self {
            address: Some(address.into()),
            ..Self::default()
        }
    }
}
