//! Sans-IO MQTT 3.1.1 client core.

use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use crate::error::{CommandError, ProtocolError};
use crate::packet::{Connect, Publish, SubscribeFilter};
use crate::types::{
    ConnectReturnCode, PacketId, QoS, Stats, SubscribeReturnCode, TopicFilter, TopicName,
};

/// Client configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientConfig {
    /// Maximum number of unacknowledged outgoing QoS 1 PUBLISH packets. `publish` returns
    /// [`CommandError::InflightFull`] beyond it. Default 64.
    pub max_inflight: usize,
    /// Send PUBACK for incoming QoS 1 PUBLISH automatically. When `false` the host must call
    /// [`Client::ack`]; PUBACKs still go out in the order the PUBLISH packets arrived. Default
    /// `true`.
    pub auto_ack: bool,
    /// How long to wait for PINGRESP after a PINGREQ. `None`: half the keep-alive, at most 30 s.
    pub pingresp_timeout: Option<Duration>,
    /// How long to wait for CONNACK after CONNECT. `None`: wait forever. Default 30 s.
    pub connack_timeout: Option<Duration>,
    /// Largest incoming packet accepted (whole packet). Default [`crate::IOT_HUB_MAX_PACKET_SIZE`].
    pub max_packet_size: usize,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            max_inflight: 64,
            auto_ack: true,
            pingresp_timeout: None,
            connack_timeout: Some(Duration::from_secs(30)),
            max_packet_size: crate::IOT_HUB_MAX_PACKET_SIZE,
        }
    }
}

/// Connection state of a [`Client`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientState {
    /// No connection (initially, and after a connection ended).
    Disconnected,
    /// CONNECT queued, waiting for CONNACK.
    Connecting,
    /// CONNACK accepted.
    Connected,
}

/// Why a connection ended. Each connection ends with exactly one
/// [`Event::Disconnected`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DisconnectReason {
    /// The host called [`Client::disconnect`]; DISCONNECT is queued, flush it and close.
    Local,
    /// The server refused the connection with this CONNACK return code.
    Refused(ConnectReturnCode),
    /// No PINGRESP arrived within the PINGRESP timeout.
    PingTimeout,
    /// No CONNACK arrived within the CONNACK timeout.
    ConnAckTimeout,
    /// The host reported that the transport closed.
    TransportClosed,
    /// The server violated the protocol (also returned by `handle_bytes`).
    Protocol(ProtocolError),
}

impl DisconnectReason {
    /// Whether this is a deliberate, clean close.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        matches!(self, Self::Local)
    }
}

/// Something the host must know about, drained with [`Client::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// CONNACK accepted the connection. Unacknowledged QoS 1 messages have been re-sent.
    Connected {
        /// Session present flag of the CONNACK.
        session_present: bool,
    },
    /// A QoS 1 PUBLISH was acknowledged by PUBACK.
    Published {
        /// Its packet identifier.
        packet_id: PacketId,
    },
    /// An incoming PUBLISH. With `auto_ack == false`, QoS 1 messages need [`Client::ack`].
    Message(Publish),
    /// SUBACK: one result per requested filter, in request order (0x80 is `Failure`).
    Subscribed {
        /// Packet identifier of the SUBSCRIBE.
        packet_id: PacketId,
        /// Each filter with its return code.
        results: Vec<(TopicFilter, SubscribeReturnCode)>,
    },
    /// UNSUBACK.
    Unsubscribed {
        /// Packet identifier of the UNSUBSCRIBE.
        packet_id: PacketId,
    },
    /// The connection ended.
    Disconnected(DisconnectReason),
}

/// The device side of an MQTT 3.1.1 connection, as a deterministic state machine.
///
/// The core never performs I/O or reads a clock. Method groups:
/// * input: [`handle_bytes`](Self::handle_bytes), [`handle_timeout`](Self::handle_timeout),
///   [`handle_transport_closed`](Self::handle_transport_closed);
/// * commands: [`connect`](Self::connect), [`publish`](Self::publish),
///   [`subscribe`](Self::subscribe), [`unsubscribe`](Self::unsubscribe), [`ack`](Self::ack),
///   [`disconnect`](Self::disconnect);
/// * output, polled in this order after every input or command:
///   [`poll_transmit`](Self::poll_transmit), [`poll_event`](Self::poll_event) until `None`,
///   then [`poll_timeout`](Self::poll_timeout) to arm the host's single timer.
///
/// `now` is a monotonic time from an origin of the caller's choosing and must never decrease.
/// The in-flight store of unacknowledged QoS 1 messages survives the end of a connection; the
/// next [`connect`](Self::connect) re-sends them with DUP=1 after CONNACK, in original order.
#[derive(Debug)]
pub struct Client {
    _private: (),
}

impl Client {
    /// A disconnected client.
    #[must_use]
    pub fn new(config: ClientConfig) -> Self {
        let _ = config;
        todo!()
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        todo!()
    }

    /// Current connection state.
    #[must_use]
    pub fn state(&self) -> ClientState {
        todo!()
    }

    /// Whether CONNACK accepted the current connection.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        todo!()
    }

    /// Number of unacknowledged outgoing QoS 1 messages.
    #[must_use]
    pub fn inflight_len(&self) -> usize {
        todo!()
    }

    /// Traffic counters of the current (or last) connection.
    #[must_use]
    pub fn stats(&self) -> Stats {
        todo!()
    }

    /// Starts a new connection: queues CONNECT. Any previous connection is abandoned without an
    /// event. Resets the decoder, counters, pending subscriptions and the PUBACK queue; keeps the
    /// in-flight store for re-sending after CONNACK.
    pub fn connect(&mut self, now: Duration, connect: Connect) -> Result<(), CommandError> {
        let _ = (now, connect);
        todo!()
    }

    /// Publishes a message. QoS 0 needs a connection; QoS 1 is accepted in any state (it is
    /// stored in flight and sent now or after the next CONNACK) and returns its packet id.
    pub fn publish(
        &mut self,
        now: Duration,
        topic: TopicName,
        payload: Bytes,
        qos: QoS,
        retain: bool,
    ) -> Result<Option<PacketId>, CommandError> {
        let _ = (now, topic, payload, qos, retain);
        todo!()
    }

    /// Sends SUBSCRIBE; the result arrives as [`Event::Subscribed`]. QoS 2 is refused.
    pub fn subscribe(
        &mut self,
        now: Duration,
        filters: Vec<SubscribeFilter>,
    ) -> Result<PacketId, CommandError> {
        let _ = (now, filters);
        todo!()
    }

    /// Sends UNSUBSCRIBE; completion arrives as [`Event::Unsubscribed`].
    pub fn unsubscribe(
        &mut self,
        now: Duration,
        filters: Vec<TopicFilter>,
    ) -> Result<PacketId, CommandError> {
        let _ = (now, filters);
        todo!()
    }

    /// Acknowledges an incoming QoS 1 message (only with `auto_ack == false`). PUBACKs are
    /// released in the order the PUBLISH packets arrived: acking a later message first holds
    /// its PUBACK until the earlier ones are acked.
    pub fn ack(&mut self, now: Duration, packet_id: PacketId) -> Result<(), CommandError> {
        let _ = (now, packet_id);
        todo!()
    }

    /// Queues DISCONNECT and ends the connection with
    /// [`Event::Disconnected`]`(`[`DisconnectReason::Local`]`)`. Flush `poll_transmit`, then
    /// close the transport.
    pub fn disconnect(&mut self, now: Duration) -> Result<(), CommandError> {
        let _ = now;
        todo!()
    }

    /// Feeds bytes received from the transport. A protocol or decode error ends the connection
    /// (also reported as [`Event::Disconnected`]) and is sticky: later calls return it again
    /// until the next [`connect`](Self::connect).
    pub fn handle_bytes(&mut self, now: Duration, data: &[u8]) -> Result<(), ProtocolError> {
        let _ = (now, data);
        todo!()
    }

    /// Runs expired timers (keep-alive PINGREQ, PINGRESP and CONNACK deadlines). Calling it
    /// early or repeatedly is harmless.
    pub fn handle_timeout(&mut self, now: Duration) {
        let _ = now;
        todo!()
    }

    /// The host's transport closed. Ends the connection with
    /// [`DisconnectReason::TransportClosed`] unless it had already ended.
    pub fn handle_transport_closed(&mut self, now: Duration) {
        let _ = now;
        todo!()
    }

    /// Appends all bytes waiting to be sent to `out`; returns how many were appended.
    #[must_use]
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        let _ = out;
        todo!()
    }

    /// The earliest time at which [`handle_timeout`](Self::handle_timeout) must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        todo!()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        todo!()
    }
}
