//! Error types, layered as decode errors (malformed bytes), protocol errors (legal bytes, illegal
//! protocol), encode errors (a packet value that cannot be put on the wire) and command errors
//! (the caller used a core at the wrong time or with the wrong arguments).

use crate::types::{PacketId, PacketType, QoS};

/// Why a string is not a valid MQTT UTF-8 string (MQTT 1.5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StringError {
    /// Longer than 65535 bytes.
    #[error("string of {0} bytes exceeds 65535")]
    TooLong(usize),
    /// Not well-formed UTF-8 (this includes encoded surrogates, MQTT-1.5.3-1).
    #[error("invalid UTF-8")]
    InvalidUtf8,
    /// Contains U+0000 (MQTT-1.5.3-2).
    #[error("string contains U+0000")]
    NullCharacter,
}

/// Why a string is not a valid topic name or topic filter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// Topic names and filters must be at least one character long (MQTT-4.7.3-1).
    #[error("empty topic")]
    Empty,
    /// Longer than 65535 bytes.
    #[error("topic of {0} bytes exceeds 65535")]
    TooLong(usize),
    /// Not well-formed UTF-8.
    #[error("invalid UTF-8 in topic")]
    InvalidUtf8,
    /// Contains U+0000.
    #[error("topic contains U+0000")]
    NullCharacter,
    /// A topic name contains `+` or `#` (MQTT-3.3.2-2).
    #[error("wildcard in topic name")]
    Wildcard,
    /// A filter uses `+` or `#` other than as a whole level (`#` only last) (MQTT-4.7.1-2/3).
    #[error("misplaced wildcard in topic filter")]
    MisplacedWildcard,
}

/// Malformed bytes. Every decode error is fatal for the connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// Packet type 0 or 15 (reserved).
    #[error("reserved packet type {0}")]
    InvalidPacketType(u8),
    /// The lower nibble of the first byte differs from what the packet type requires
    /// (MQTT-2.2.2-1/2), or PUBLISH has DUP=1 with QoS 0 (MQTT-3.3.1-2).
    #[error("invalid fixed header flags {flags:#06b} for {packet_type:?}")]
    InvalidFlags {
        /// The packet type.
        packet_type: PacketType,
        /// The received flag bits.
        flags: u8,
    },
    /// A QoS field holds 3 (MQTT-3.3.1-4).
    #[error("invalid QoS 3")]
    InvalidQoS,
    /// The remaining length uses more than four bytes.
    #[error("remaining length longer than four bytes")]
    RemainingLengthTooLong,
    /// The remaining length is not in its shortest form (a trailing 0x80 continuation byte
    /// followed by 0x00).
    #[error("remaining length not minimally encoded")]
    NonMinimalRemainingLength,
    /// The declared packet size exceeds the configured maximum. Checked before the payload is
    /// buffered.
    #[error("packet of {size} bytes exceeds the maximum of {max}")]
    PacketTooLarge {
        /// Declared size of the whole packet (fixed header included).
        size: usize,
        /// Configured maximum.
        max: usize,
    },
    /// A field runs past the end of the packet.
    #[error("{0:?} packet ends inside a field")]
    UnexpectedEnd(PacketType),
    /// Bytes remain inside the packet after its last field.
    #[error("{0:?} packet has trailing bytes")]
    TrailingBytes(PacketType),
    /// A buffer handed to a one-shot decode does not hold a complete packet.
    #[error("incomplete packet")]
    Incomplete,
    /// A buffer handed to a one-shot decode holds bytes after the packet.
    #[error("bytes after the packet")]
    BytesAfterPacket,
    /// CONNECT protocol name is not `MQTT` (MQTT-3.1.2-1).
    #[error("protocol name is not MQTT")]
    InvalidProtocolName,
    /// CONNECT protocol level is not 4 (MQTT-3.1.2-2).
    #[error("unsupported protocol level {0}")]
    UnsupportedProtocolLevel(u8),
    /// CONNECT flags bit 0 is set (MQTT-3.1.2-3).
    #[error("CONNECT reserved flag set")]
    ConnectReservedFlag,
    /// Will QoS or Will Retain set without the Will flag (MQTT-3.1.2-11/13/15), or Will QoS 3
    /// (MQTT-3.1.2-14).
    #[error("invalid will flags")]
    InvalidWillFlags,
    /// Password flag set without the User Name flag (MQTT-3.1.2-22).
    #[error("password without user name")]
    PasswordWithoutUsername,
    /// CONNACK acknowledge flags have reserved bits set (MQTT 3.2.2.1), or session present is set
    /// with a non-zero return code (MQTT-3.2.2-4).
    #[error("invalid CONNACK flags {0:#04x}")]
    InvalidConnAckFlags(u8),
    /// CONNACK return code 6–255 (reserved).
    #[error("reserved CONNACK return code {0}")]
    InvalidConnectReturnCode(u8),
    /// SUBACK return code other than 0x00, 0x01, 0x02, 0x80 (MQTT-3.9.3-2).
    #[error("invalid SUBACK return code {0:#04x}")]
    InvalidSubscribeReturnCode(u8),
    /// SUBSCRIBE requested-QoS byte has reserved bits set or QoS 3 (MQTT-3.8.3-4).
    #[error("invalid SUBSCRIBE options byte {0:#04x}")]
    InvalidSubscribeOptions(u8),
    /// Packet identifier 0 (MQTT-2.3.1-1).
    #[error("packet identifier 0")]
    ZeroPacketId,
    /// SUBSCRIBE without any filter (MQTT-3.8.3-3).
    #[error("SUBSCRIBE without topic filters")]
    EmptySubscribe,
    /// UNSUBSCRIBE without any filter (MQTT-3.10.3-2).
    #[error("UNSUBSCRIBE without topic filters")]
    EmptyUnsubscribe,
    /// SUBACK without any return code.
    #[error("SUBACK without return codes")]
    EmptySubAck,
    /// A string field (client id, user name) breaks the MQTT string rules.
    #[error("invalid string: {0}")]
    InvalidString(#[source] StringError),
    /// A PUBLISH or will topic is not a valid topic name (includes wildcards, MQTT-3.3.2-2).
    #[error("invalid topic name: {0}")]
    InvalidTopicName(#[source] TopicError),
    /// A SUBSCRIBE/UNSUBSCRIBE filter is not a valid topic filter.
    #[error("invalid topic filter: {0}")]
    InvalidTopicFilter(#[source] TopicError),
}

/// A packet value that cannot be encoded. Nothing is written when encoding fails.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The remaining length would exceed 268,435,455 bytes.
    #[error("remaining length {0} exceeds the MQTT maximum")]
    PacketTooLarge(usize),
    /// A length-prefixed binary field (password, will payload) exceeds 65535 bytes.
    #[error("{field} of {len} bytes exceeds 65535")]
    FieldTooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
    },
    /// PUBLISH with QoS 1/2 but no packet identifier.
    #[error("QoS {0:?} PUBLISH without packet identifier")]
    MissingPacketId(QoS),
    /// PUBLISH with QoS 0 and a packet identifier (MQTT-2.3.1-5).
    #[error("QoS 0 PUBLISH with a packet identifier")]
    UnexpectedPacketId,
    /// PUBLISH with QoS 0 and DUP=1 (MQTT-3.3.1-2).
    #[error("QoS 0 PUBLISH with DUP set")]
    DupWithQoS0,
    /// CONNECT with a password but no user name (MQTT-3.1.2-22).
    #[error("password without user name")]
    PasswordWithoutUsername,
    /// CONNACK with session present and a non-zero return code (MQTT-3.2.2-4).
    #[error("session present with a refusing return code")]
    SessionPresentWithRefusal,
    /// SUBSCRIBE without filters (MQTT-3.8.3-3).
    #[error("SUBSCRIBE without topic filters")]
    EmptySubscribe,
    /// UNSUBSCRIBE without filters (MQTT-3.10.3-2).
    #[error("UNSUBSCRIBE without topic filters")]
    EmptyUnsubscribe,
    /// SUBACK without return codes.
    #[error("SUBACK without return codes")]
    EmptySubAck,
}

/// The peer sent well-formed packets that break the protocol. Fatal for the connection.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The byte stream is malformed.
    #[error("malformed packet: {0}")]
    Decode(#[from] DecodeError),
    /// A packet that is not allowed in this direction or at this point, e.g. anything before
    /// CONNECT/CONNACK (MQTT-3.1.0-1, MQTT-3.2.0-1) or a second CONNECT (MQTT-3.1.0-2).
    #[error("unexpected {0:?} packet")]
    UnexpectedPacket(PacketType),
    /// A QoS 2 PUBLISH (IoT Hub closes the connection on QoS 2).
    #[error("QoS 2 is not supported")]
    QoS2NotSupported,
    /// An acknowledgement for a packet identifier that is not outstanding.
    #[error("{packet_type:?} for unknown packet identifier {packet_id}")]
    UnknownPacketId {
        /// The acknowledgement type.
        packet_type: PacketType,
        /// Its identifier.
        packet_id: PacketId,
    },
    /// A SUBACK whose number of return codes differs from the SUBSCRIBE's filters
    /// (MQTT-3.8.4-5).
    #[error("SUBACK has {got} return codes for {expected} filters")]
    SubAckCountMismatch {
        /// Filters in the SUBSCRIBE.
        expected: usize,
        /// Return codes in the SUBACK.
        got: usize,
    },
    /// The peer has more unacknowledged QoS 1 PUBLISH packets outstanding than allowed.
    #[error("too many unacknowledged QoS 1 messages from the peer")]
    ReceiveWindowExceeded,
}

/// A command was issued at the wrong time or with invalid arguments. The connection is not
/// affected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The connection is not in a state that allows this command.
    #[error("not connected")]
    NotConnected,
    /// The in-flight window is full; retry after a `Published`/`PubAck` event (backpressure).
    #[error("in-flight window of {0} messages is full")]
    InflightFull(usize),
    /// Every packet identifier is in use.
    #[error("no free packet identifier")]
    PacketIdsExhausted,
    /// QoS 2 is not supported by the cores.
    #[error("QoS 2 is not supported")]
    QoS2NotSupported,
    /// The packet identifier does not refer to anything awaiting this answer.
    #[error("packet identifier {0} is not awaiting this answer")]
    UnknownPacketId(PacketId),
    /// The number of SUBACK return codes differs from the number of filters.
    #[error("{got} return codes for {expected} filters")]
    ReturnCodeCountMismatch {
        /// Filters in the SUBSCRIBE.
        expected: usize,
        /// Return codes given.
        got: usize,
    },
    /// `accept`/`refuse` was called while no CONNECT awaits an answer.
    #[error("no CONNECT awaits an answer")]
    NoPendingConnect,
    /// `refuse` was called with `ConnectReturnCode::Accepted`.
    #[error("a refusal needs a non-zero return code")]
    AcceptedIsNotARefusal,
    /// The packet could not be encoded.
    #[error("cannot encode: {0}")]
    Encode(#[from] EncodeError),
}
