//! Packet values for the 14 MQTT 3.1.1 control packets.

use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;

use crate::types::{
    ConnectReturnCode, MqttString, PacketId, PacketType, Password, QoS, SubscribeReturnCode,
    TopicFilter, TopicName,
};

/// CONNECT (MQTT 3.1): the first packet a client sends. Protocol name `MQTT`, level 4.
///
/// `Debug` redacts the password.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connect {
    /// Client identifier (IoT Hub: the device id, or `{device}/{module}`). May be empty.
    pub client_id: MqttString,
    /// Clean Session flag (IoT Hub SDKs send `false`).
    pub clean_session: bool,
    /// Keep-alive in seconds; 0 disables keep-alive.
    pub keep_alive: u16,
    /// Optional last will.
    pub will: Option<LastWill>,
    /// Optional user name (IoT Hub: `{host}/{device}/?api-version=...`).
    pub username: Option<MqttString>,
    /// Optional password (IoT Hub: the SAS token). Requires a user name (MQTT-3.1.2-22).
    pub password: Option<Password>,
}

impl Connect {
    /// A CONNECT with clean session, keep-alive 60 s and no will or credentials.
    #[must_use]
    pub fn new(client_id: MqttString) -> Self {
        Self {
            client_id,
            clean_session: true,
            keep_alive: 60,
            will: None,
            username: None,
            password: None,
        }
    }
}

/// The will message of a CONNECT.
#[derive(Clone, PartialEq, Eq)]
pub struct LastWill {
    /// Will topic.
    pub topic: TopicName,
    /// Will message (at most 65535 bytes, checked when encoding).
    pub payload: Bytes,
    /// Will QoS.
    pub qos: QoS,
    /// Will retain flag.
    pub retain: bool,
}

impl fmt::Debug for LastWill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LastWill")
            .field("topic", &self.topic)
            .field("payload_len", &self.payload.len())
            .field("qos", &self.qos)
            .field("retain", &self.retain)
            .finish()
    }
}

/// CONNACK (MQTT 3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnAck {
    /// Session present flag (must be `false` when `code` is not `Accepted`).
    pub session_present: bool,
    /// Return code.
    pub code: ConnectReturnCode,
}

/// PUBLISH (MQTT 3.3). Topic and payload are zero-copy [`Bytes`] slices when decoded.
///
/// Invariants checked by the encoder and guaranteed by the decoder: QoS 0 ⇔ no packet id;
/// DUP only with QoS > 0. `Debug` prints the payload size, not the payload.
#[derive(Clone, PartialEq, Eq)]
pub struct Publish {
    /// DUP flag: this is a re-delivery.
    pub dup: bool,
    /// QoS level.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic name.
    pub topic: TopicName,
    /// Packet identifier, present exactly when `qos` is not `AtMostOnce`.
    pub packet_id: Option<PacketId>,
    /// Application payload.
    pub payload: Bytes,
}

impl Publish {
    /// A QoS 0 PUBLISH without DUP or RETAIN.
    #[must_use]
    pub fn new(topic: TopicName, payload: Bytes) -> Self {
        Self {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic,
            packet_id: None,
            payload,
        }
    }

    /// A QoS 1 PUBLISH without DUP or RETAIN.
    #[must_use]
    pub fn at_least_once(topic: TopicName, payload: Bytes, packet_id: PacketId) -> Self {
        Self {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic,
            packet_id: Some(packet_id),
            payload,
        }
    }
}

impl fmt::Debug for Publish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publish")
            .field("topic", &self.topic)
            .field("qos", &self.qos)
            .field("packet_id", &self.packet_id)
            .field("dup", &self.dup)
            .field("retain", &self.retain)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

macro_rules! id_only_packet {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name {
            /// Packet identifier of the packet being acknowledged.
            pub packet_id: PacketId,
        }

        impl $name {
            /// Creates the packet.
            #[must_use]
            pub const fn new(packet_id: PacketId) -> Self {
                Self { packet_id }
            }
        }
    };
}

id_only_packet!(
    /// PUBACK (MQTT 3.4): acknowledges a QoS 1 PUBLISH.
    PubAck
);
id_only_packet!(
    /// PUBREC (MQTT 3.5): QoS 2, step 1.
    PubRec
);
id_only_packet!(
    /// PUBREL (MQTT 3.6): QoS 2, step 2.
    PubRel
);
id_only_packet!(
    /// PUBCOMP (MQTT 3.7): QoS 2, step 3.
    PubComp
);
id_only_packet!(
    /// UNSUBACK (MQTT 3.11).
    UnsubAck
);

/// One topic filter of a SUBSCRIBE with its requested maximum QoS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscribeFilter {
    /// The filter.
    pub filter: TopicFilter,
    /// Requested maximum QoS.
    pub qos: QoS,
}

impl SubscribeFilter {
    /// Creates a filter entry.
    #[must_use]
    pub const fn new(filter: TopicFilter, qos: QoS) -> Self {
        Self { filter, qos }
    }
}

/// SUBSCRIBE (MQTT 3.8). Must hold at least one filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subscribe {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// Filters with requested QoS.
    pub filters: Vec<SubscribeFilter>,
}

/// SUBACK (MQTT 3.9): one return code per filter, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubAck {
    /// Packet identifier of the SUBSCRIBE.
    pub packet_id: PacketId,
    /// Return codes.
    pub return_codes: Vec<SubscribeReturnCode>,
}

/// UNSUBSCRIBE (MQTT 3.10). Must hold at least one filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unsubscribe {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// Filters to remove.
    pub filters: Vec<TopicFilter>,
}

/// Any MQTT 3.1.1 control packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Packet {
    /// CONNECT.
    Connect(Connect),
    /// CONNACK.
    ConnAck(ConnAck),
    /// PUBLISH.
    Publish(Publish),
    /// PUBACK.
    PubAck(PubAck),
    /// PUBREC.
    PubRec(PubRec),
    /// PUBREL.
    PubRel(PubRel),
    /// PUBCOMP.
    PubComp(PubComp),
    /// SUBSCRIBE.
    Subscribe(Subscribe),
    /// SUBACK.
    SubAck(SubAck),
    /// UNSUBSCRIBE.
    Unsubscribe(Unsubscribe),
    /// UNSUBACK.
    UnsubAck(UnsubAck),
    /// PINGREQ.
    PingReq,
    /// PINGRESP.
    PingResp,
    /// DISCONNECT.
    Disconnect,
}

impl Packet {
    /// The packet type.
    #[must_use]
    pub const fn packet_type(&self) -> PacketType {
        match self {
            Self::Connect(_) => PacketType::Connect,
            Self::ConnAck(_) => PacketType::ConnAck,
            Self::Publish(_) => PacketType::Publish,
            Self::PubAck(_) => PacketType::PubAck,
            Self::PubRec(_) => PacketType::PubRec,
            Self::PubRel(_) => PacketType::PubRel,
            Self::PubComp(_) => PacketType::PubComp,
            Self::Subscribe(_) => PacketType::Subscribe,
            Self::SubAck(_) => PacketType::SubAck,
            Self::Unsubscribe(_) => PacketType::Unsubscribe,
            Self::UnsubAck(_) => PacketType::UnsubAck,
            Self::PingReq => PacketType::PingReq,
            Self::PingResp => PacketType::PingResp,
            Self::Disconnect => PacketType::Disconnect,
        }
    }
}

macro_rules! packet_from {
    ($($name:ident),*) => {
        $(impl From<$name> for Packet {
            fn from(p: $name) -> Self {
                Self::$name(p)
            }
        })*
    };
}

packet_from!(
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
