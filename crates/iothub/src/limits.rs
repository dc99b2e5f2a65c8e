//! Message size and message-id limits (§8).

use crate::message::Message;

/// Largest D2C message: body + system property values + application property names and
/// values (256 KiB).
pub const MAX_D2C_MESSAGE_BYTES: usize = 256 * 1024;
/// Largest C2D message, computed the same way (64 KiB).
pub const MAX_C2D_MESSAGE_BYTES: usize = 64 * 1024;
/// Most C2D messages pending per device.
pub const MAX_C2D_QUEUE_DEPTH: usize = 50;
/// Longest message id, in characters.
pub const MAX_MESSAGE_ID_LEN: usize = 128;
/// Most MQTT topic subscriptions a device may hold.
pub const MAX_MQTT_SUBSCRIPTIONS: usize = 5;
/// Largest direct-method payload, each way.
pub const MAX_METHOD_PAYLOAD_BYTES: usize = 128 * 1024;

/// Why a message id is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageIdError {
    /// Empty id.
    #[error("message id is empty")]
    Empty,
    /// Longer than [`MAX_MESSAGE_ID_LEN`].
    #[error("message id is {len} characters long; the limit is {MAX_MESSAGE_ID_LEN}")]
    TooLong {
        /// Length in characters.
        len: usize,
    },
    /// A character outside ASCII alphanumerics and ``- : . + % _ # * ? ! ( ) , = @ ; $ '``.
    #[error("message id contains {ch:?} at position {position}, which is not allowed")]
    InvalidChar {
        /// The character.
        ch: char,
        /// Its character position.
        position: usize,
    },
}

/// Why a message may not be sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// The message is larger than the limit for its direction.
    #[error("message is {size} bytes; the limit is {limit} bytes")]
    TooLarge {
        /// Computed size (see [`message_size`]).
        size: usize,
        /// The limit that applies.
        limit: usize,
    },
    /// The message id breaks the §8 rules.
    #[error("invalid message id: {0}")]
    InvalidMessageId(#[from] MessageIdError),
}

/// True for characters allowed in message ids.
pub fn is_message_id_char(c: char) -> bool {
    todo!("{c}")
}

/// Checks a message id: 1–128 characters from the allowed set.
pub fn validate_message_id(id: &str) -> Result<(), MessageIdError> {
    todo!("{id}")
}

/// The size the hub counts: body bytes + UTF-8 bytes of each system property value
/// (timestamps in their ISO-8601 wire form, `ack` when not `none`) + UTF-8 bytes of each
/// application property name and value.
pub fn message_size(msg: &Message) -> usize {
    todo!("{msg:?}")
}

/// Checks a message before sending D2C: message id rules and the 256 KiB limit.
pub fn check_d2c(msg: &Message) -> Result<(), LimitError> {
    todo!("{msg:?}")
}

/// Checks a C2D message before enqueueing: message id rules and the 64 KiB limit.
pub fn check_c2d(msg: &Message) -> Result<(), LimitError> {
    todo!("{msg:?}")
}
