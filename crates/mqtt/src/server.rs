//! Sans-IO hub-side session core: one MQTT connection as the server sees it.

use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use crate::error::{CommandError, ProtocolError};
use crate::packet::{Connect, Publish, Subscribe, Unsubscribe};
use crate::types::{ConnectReturnCode, PacketId, QoS, Stats, SubscribeReturnCode, TopicName};

/// Session configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerConfig {
    /// Largest incoming packet accepted (whole packet). Default
    /// [`crate::IOT_HUB_MAX_PACKET_SIZE`].
    pub max_packet_size: usize,
    /// Maximum number of unacknowledged outgoing QoS 1 PUBLISH packets. Default 16.
    pub max_inflight: usize,
    /// How long to wait for CONNECT after the transport opened. Default 30 s.
    pub connect_timeout: Option<Duration>,
    /// Upper bound of the keep-alive timeout (1.5 × the client's keep-alive). IoT Hub: 1767 s.
    pub keep_alive_cap: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            max_packet_size: crate::IOT_HUB_MAX_PACKET_SIZE,
            max_inflight: 16,
            connect_timeout: Some(Duration::from_secs(30)),
            keep_alive_cap: Duration::from_secs(1767),
        }
    }
}

/// State of a [`ServerSession`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionState {
    /// Waiting for the client's CONNECT.
    AwaitingConnect,
    /// CONNECT surfaced as [`ServerEvent::Connect`]; waiting for `accept` or `refuse`.
    ConnectReceived,
    /// Accepted.
    Connected,
    /// Ended; flush `poll_transmit`, then close the transport.
    Closed,
}

/// Why a session ended. Each session ends with exactly one [`ServerEvent::Closed`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client sent DISCONNECT (clean: the will must be discarded).
    ClientDisconnect,
    /// Nothing arrived within 1.5 × keep-alive (IoT Hub: 404104 DeviceConnectionClosedRemotely).
    KeepAliveTimeout,
    /// No CONNECT arrived within the connect timeout.
    ConnectTimeout,
    /// The host refused the CONNECT; CONNACK with this code is queued.
    Refused(ConnectReturnCode),
    /// The host called [`ServerSession::close`].
    Local,
    /// The client violated the protocol (also returned by `handle_bytes`).
    Protocol(ProtocolError),
}

impl CloseReason {
    /// Whether the client disconnected cleanly (no will message).
    #[must_use]
    pub fn is_clean(&self) -> bool {
        matches!(self, Self::ClientDisconnect)
    }
}

/// Something the host must handle, drained with [`ServerSession::poll_event`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// The client's CONNECT. Answer with [`ServerSession::accept`] or
    /// [`ServerSession::refuse`]; packets the client sends meanwhile are held back until then.
    Connect(Connect),
    /// An incoming PUBLISH (QoS 0 or 1). For QoS 1 call [`ServerSession::ack_publish`] once the
    /// message is stored.
    Publish(Publish),
    /// SUBSCRIBE: answer with [`ServerSession::grant_subscribe`] or close.
    Subscribe(Subscribe),
    /// UNSUBSCRIBE: answer with [`ServerSession::ack_unsubscribe`].
    Unsubscribe(Unsubscribe),
    /// The client acknowledged an outgoing QoS 1 PUBLISH.
    PubAck {
        /// Its packet identifier.
        packet_id: PacketId,
    },
    /// The client acknowledged out of order (MQTT-4.6.0-2); emitted before the `PubAck`. The
    /// host decides whether to close.
    PubAckOutOfOrder {
        /// The identifier the client acknowledged.
        packet_id: PacketId,
        /// The oldest unacknowledged identifier.
        expected: PacketId,
    },
    /// The session ended.
    Closed(CloseReason),
}

/// The hub side of one MQTT 3.1.1 connection, as a deterministic state machine.
///
/// Same driving contract as [`crate::Client`]: feed `handle_bytes` / `handle_timeout`, issue
/// commands, then drain `poll_transmit`, `poll_event` and arm a timer for `poll_timeout`. PINGREQ
/// is answered automatically. Keep-alive is enforced at 1.5 × the client's value, capped by
/// [`ServerConfig::keep_alive_cap`]; any received packet resets it. QoS 2 PUBLISH is a protocol
/// violation.
#[derive(Debug)]
pub struct ServerSession {
    _private: (),
}

impl ServerSession {
    /// A session for a freshly opened transport.
    #[must_use]
    pub fn new(config: ServerConfig, now: Duration) -> Self {
        let _ = (config, now);
        todo!()
    }

    /// Current state.
    #[must_use]
    pub fn state(&self) -> SessionState {
        todo!()
    }

    /// The effective keep-alive timeout (1.5 × the client's value, capped), once CONNECT
    /// arrived; `None` when the client disabled keep-alive.
    #[must_use]
    pub fn keep_alive_timeout(&self) -> Option<Duration> {
        todo!()
    }

    /// Number of unacknowledged outgoing QoS 1 messages.
    #[must_use]
    pub fn inflight_len(&self) -> usize {
        todo!()
    }

    /// Traffic counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        todo!()
    }

    /// Accepts the pending CONNECT: queues CONNACK 0 and releases held-back events.
    pub fn accept(&mut self, now: Duration, session_present: bool) -> Result<(), CommandError> {
        let _ = (now, session_present);
        todo!()
    }

    /// Refuses the pending CONNECT: queues CONNACK with `code` and ends the session.
    pub fn refuse(&mut self, now: Duration, code: ConnectReturnCode) -> Result<(), CommandError> {
        let _ = (now, code);
        todo!()
    }

    /// Acknowledges an incoming QoS 1 PUBLISH. PUBACKs go out in the order the PUBLISH packets
    /// arrived (MQTT-4.6.0-2); an early ack is held until the earlier ones are acked.
    pub fn ack_publish(&mut self, now: Duration, packet_id: PacketId) -> Result<(), CommandError> {
        let _ = (now, packet_id);
        todo!()
    }

    /// Answers a SUBSCRIBE with one return code per filter.
    pub fn grant_subscribe(
        &mut self,
        now: Duration,
        packet_id: PacketId,
        return_codes: Vec<SubscribeReturnCode>,
    ) -> Result<(), CommandError> {
        let _ = (now, packet_id, return_codes);
        todo!()
    }

    /// Answers an UNSUBSCRIBE.
    pub fn ack_unsubscribe(
        &mut self,
        now: Duration,
        packet_id: PacketId,
    ) -> Result<(), CommandError> {
        let _ = (now, packet_id);
        todo!()
    }

    /// Sends a PUBLISH to the client. QoS 1 allocates a packet id and tracks it in flight;
    /// [`CommandError::InflightFull`] when the window is full. QoS 2 is refused.
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

    /// Ends the session (MQTT 3.1.1 servers close without a packet).
    pub fn close(&mut self, now: Duration) {
        let _ = now;
        todo!()
    }

    /// Feeds bytes received from the client. Errors end the session (also reported as
    /// [`ServerEvent::Closed`]) and are sticky.
    pub fn handle_bytes(&mut self, now: Duration, data: &[u8]) -> Result<(), ProtocolError> {
        let _ = (now, data);
        todo!()
    }

    /// Runs expired timers (connect timeout, keep-alive).
    pub fn handle_timeout(&mut self, now: Duration) {
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
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        todo!()
    }
}
