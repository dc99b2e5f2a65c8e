//! MQTT 3.1.1 for hubwire: a strict, zero-copy codec plus two sans-IO protocol cores.
//!
//! * **Codec** ([`Packet`], [`Decoder`]): all 14 packet types of MQTT 3.1.1. Decoding slices
//!   topics and payloads out of the input [`Bytes`] without copying; encoding validates a packet
//!   completely before it writes a single byte.
//! * **[`Client`]**: the device side (CONNECT, keep-alive, QoS 0/1 publish with an in-flight
//!   window and re-send after reconnect, subscribe, in-order PUBACKs).
//! * **[`ServerSession`]**: the hub side of one connection, used by the local emulator.
//!
//! Neither core performs I/O, reads a clock or draws random numbers. Time is passed in as a
//! [`Duration`](core::time::Duration) measured from an arbitrary monotonic origin chosen by the
//! caller; the values passed to one core must never decrease.
//!
//! # Driving a core
//!
//! After every input (`handle_bytes`, `handle_timeout`) or command: drain `poll_transmit` to the
//! transport, drain `poll_event`, then arm one timer for `poll_timeout`.
//!
//! ```
//! use core::time::Duration;
//! use hubwire_mqtt::{
//!     Bytes, Client, ClientConfig, Connect, Event, MqttString, QoS, ServerConfig, ServerEvent,
//!     ServerSession, TopicName,
//! };
//!
//! let now = Duration::ZERO;
//! let mut client = Client::new(ClientConfig::default());
//! let mut hub = ServerSession::new(ServerConfig::default(), now);
//! let mut wire = Vec::new();
//!
//! client.connect(now, Connect::new(MqttString::new("device1")?))?;
//! let _ = client.poll_transmit(&mut wire);
//! hub.handle_bytes(now, &wire)?;
//! wire.clear();
//! assert!(matches!(hub.poll_event(), Some(ServerEvent::Connect(_))));
//! hub.accept(now, false)?;
//! let _ = hub.poll_transmit(&mut wire);
//! client.handle_bytes(now, &wire)?;
//! wire.clear();
//! assert_eq!(client.poll_event(), Some(Event::Connected { session_present: false }));
//!
//! let topic = TopicName::new("devices/device1/messages/events/")?;
//! let id = client.publish(now, topic, Bytes::from_static(b"{}"), QoS::AtLeastOnce, false)?;
//! let _ = client.poll_transmit(&mut wire);
//! hub.handle_bytes(now, &wire)?;
//! wire.clear();
//! let Some(ServerEvent::Publish(p)) = hub.poll_event() else { unreachable!() };
//! hub.ack_publish(now, p.packet_id.expect("QoS 1"))?;
//! let _ = hub.poll_transmit(&mut wire);
//! client.handle_bytes(now, &wire)?;
//! assert_eq!(client.poll_event(), Some(Event::Published { packet_id: id.expect("QoS 1") }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![no_std]

extern crate alloc;

mod client;
mod decode;
mod encode;
mod error;
mod idset;
mod packet;
mod server;
mod timer;
mod types;

pub use bytes::{Bytes, BytesMut};
pub use client::{Client, ClientConfig, ClientState, DisconnectReason, Event};
pub use decode::Decoder;
pub use encode::EncodeBuf;
pub use error::{CommandError, DecodeError, EncodeError, ProtocolError, StringError, TopicError};
pub use packet::{
    ConnAck, Connect, LastWill, Packet, PubAck, PubComp, PubRec, PubRel, Publish, SubAck,
    Subscribe, SubscribeFilter, UnsubAck, Unsubscribe,
};
pub use server::{CloseReason, ServerConfig, ServerEvent, ServerSession, SessionState};
pub use types::{
    ConnectReturnCode, MqttString, PacketId, PacketType, Password, QoS, Stats, SubscribeReturnCode,
    TopicFilter, TopicName,
};

/// Largest remaining length MQTT 3.1.1 can express (four length bytes).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// Largest encoded packet MQTT 3.1.1 can express: one type byte, four length bytes and
/// [`MAX_REMAINING_LENGTH`].
pub const MAX_PACKET_SIZE: usize = MAX_REMAINING_LENGTH + 5;

/// Default maximum packet size for IoT Hub connections: the 256 KiB message limit plus 8 KiB
/// for the topic (property bag) and the packet framing.
pub const IOT_HUB_MAX_PACKET_SIZE: usize = 256 * 1024 + 8 * 1024;
