//! Sans-IO hub-side session core: one MQTT connection as the server sees it.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use crate::decode::Decoder;
use crate::encode::{encode_packet, encoded_len, Body, Empty};
use crate::error::{CommandError, DecodeError, ProtocolError};
use crate::idset::PacketIdSet;
use crate::packet::{
    ConnAck, Connect, Packet, PubAck, Publish, SubAck, Subscribe, UnsubAck, Unsubscribe,
};
use crate::timer::TimerTable;
use crate::types::{
    ConnectReturnCode, PacketId, PacketType, QoS, Stats, SubscribeReturnCode, TopicName,
};

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
///
/// `Debug` prints state and counters only, never buffered bytes.
pub struct ServerSession {
    config: ServerConfig,
    state: SessionState,
    decoder: Decoder,
    outbox: Vec<u8>,
    events: VecDeque<ServerEvent>,
    /// Packets received between CONNECT and the host's answer; already validated.
    held: VecDeque<Packet>,
    timers: TimerTable<2>,
    keep_alive: Option<Duration>,
    /// Outgoing QoS 1 messages awaiting PUBACK, in send order.
    inflight: VecDeque<PacketId>,
    next_packet_id: PacketId,
    ids_in_use: PacketIdSet,
    /// Incoming QoS 1 messages in arrival order with their "acked by host" flag.
    incoming: VecDeque<(PacketId, bool)>,
    /// SUBSCRIBEs awaiting `grant_subscribe`, with their filter count.
    pending_subscribes: Vec<(PacketId, usize)>,
    pending_unsubscribes: Vec<PacketId>,
    stats: Stats,
    error: Option<ProtocolError>,
}

impl core::fmt::Debug for ServerSession {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ServerSession")
            .field("state", &self.state)
            .field("keep_alive", &self.keep_alive)
            .field("inflight", &self.inflight.len())
            .field("pending_transmit", &self.outbox.len())
            .field("pending_events", &self.events.len())
            .field("stats", &self.stats)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

/// Timer slots.
const T_CONNECT: usize = 0;
const T_KEEP_ALIVE: usize = 1;

/// Bound on packets held between CONNECT and the host's answer, and on unanswered requests;
/// a client exceeding it is flooding.
const MAX_PENDING: usize = 1024;
/// Bound on incoming QoS 1 messages awaiting the host's ack.
const MAX_UNACKED_INCOMING: usize = u16::MAX as usize;

impl ServerSession {
    /// A session for a freshly opened transport.
    #[must_use]
    pub fn new(config: ServerConfig, now: Duration) -> Self {
        let mut timers = TimerTable::new();
        if let Some(t) = config.connect_timeout {
            timers.set(T_CONNECT, now.saturating_add(t));
        }
        Self {
            decoder: Decoder::new(config.max_packet_size),
            config,
            state: SessionState::AwaitingConnect,
            outbox: Vec::new(),
            events: VecDeque::new(),
            held: VecDeque::new(),
            timers,
            keep_alive: None,
            inflight: VecDeque::new(),
            next_packet_id: PacketId::MIN,
            ids_in_use: PacketIdSet::default(),
            incoming: VecDeque::new(),
            pending_subscribes: Vec::new(),
            pending_unsubscribes: Vec::new(),
            stats: Stats::default(),
            error: None,
        }
    }

    /// Current state.
    #[must_use]
    pub fn state(&self) -> SessionState {
        self.state
    }

    /// The effective keep-alive timeout (1.5 × the client's value, capped), once CONNECT
    /// arrived; `None` when the client disabled keep-alive.
    #[must_use]
    pub fn keep_alive_timeout(&self) -> Option<Duration> {
        self.keep_alive
    }

    /// Number of unacknowledged outgoing QoS 1 messages.
    #[must_use]
    pub fn inflight_len(&self) -> usize {
        self.inflight.len()
    }

    /// Traffic counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Accepts the pending CONNECT: queues CONNACK 0 and releases held-back events.
    pub fn accept(&mut self, now: Duration, session_present: bool) -> Result<(), CommandError> {
        if self.state != SessionState::ConnectReceived {
            return Err(CommandError::NoPendingConnect);
        }
        self.send(&ConnAck {
            session_present,
            code: ConnectReturnCode::Accepted,
        });
        self.state = SessionState::Connected;
        while self.state == SessionState::Connected {
            let Some(packet) = self.held.pop_front() else {
                break;
            };
            if let Err(e) = self.handle_packet(now, packet) {
                self.fail(e);
            }
        }
        self.held.clear();
        Ok(())
    }

    /// Refuses the pending CONNECT: queues CONNACK with `code` and ends the session.
    pub fn refuse(&mut self, now: Duration, code: ConnectReturnCode) -> Result<(), CommandError> {
        let _ = now;
        if code == ConnectReturnCode::Accepted {
            return Err(CommandError::AcceptedIsNotARefusal);
        }
        if self.state != SessionState::ConnectReceived {
            return Err(CommandError::NoPendingConnect);
        }
        self.send(&ConnAck {
            session_present: false,
            code,
        });
        self.end(CloseReason::Refused(code));
        Ok(())
    }

    /// Acknowledges an incoming QoS 1 PUBLISH. PUBACKs go out in the order the PUBLISH packets
    /// arrived (MQTT-4.6.0-2); an early ack is held until the earlier ones are acked.
    pub fn ack_publish(&mut self, now: Duration, packet_id: PacketId) -> Result<(), CommandError> {
        let _ = now;
        if self.state != SessionState::Connected {
            return Err(CommandError::NotConnected);
        }
        let entry = self
            .incoming
            .iter_mut()
            .find(|(id, acked)| *id == packet_id && !acked)
            .ok_or(CommandError::UnknownPacketId(packet_id))?;
        entry.1 = true;
        while let Some(&(id, true)) = self.incoming.front() {
            self.incoming.pop_front();
            self.send(&PubAck::new(id));
        }
        Ok(())
    }

    /// Answers a SUBSCRIBE with one return code per filter.
    pub fn grant_subscribe(
        &mut self,
        now: Duration,
        packet_id: PacketId,
        return_codes: Vec<SubscribeReturnCode>,
    ) -> Result<(), CommandError> {
        let _ = now;
        if self.state != SessionState::Connected {
            return Err(CommandError::NotConnected);
        }
        let pos = self
            .pending_subscribes
            .iter()
            .position(|(id, _)| *id == packet_id)
            .ok_or(CommandError::UnknownPacketId(packet_id))?;
        let expected = self.pending_subscribes.get(pos).map_or(0, |(_, n)| *n);
        if return_codes.len() != expected {
            return Err(CommandError::ReturnCodeCountMismatch {
                expected,
                got: return_codes.len(),
            });
        }
        self.pending_subscribes.remove(pos);
        self.send(&SubAck {
            packet_id,
            return_codes,
        });
        Ok(())
    }

    /// Answers an UNSUBSCRIBE.
    pub fn ack_unsubscribe(
        &mut self,
        now: Duration,
        packet_id: PacketId,
    ) -> Result<(), CommandError> {
        let _ = now;
        if self.state != SessionState::Connected {
            return Err(CommandError::NotConnected);
        }
        let pos = self
            .pending_unsubscribes
            .iter()
            .position(|id| *id == packet_id)
            .ok_or(CommandError::UnknownPacketId(packet_id))?;
        self.pending_unsubscribes.remove(pos);
        self.send(&UnsubAck::new(packet_id));
        Ok(())
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
        let _ = now;
        if self.state != SessionState::Connected {
            return Err(CommandError::NotConnected);
        }
        let mut publish = Publish::new(topic, payload);
        publish.retain = retain;
        match qos {
            QoS::AtMostOnce => {
                encoded_len(&publish)?;
                self.send(&publish);
                Ok(None)
            }
            QoS::AtLeastOnce => {
                if self.inflight.len() >= self.config.max_inflight {
                    return Err(CommandError::InflightFull(self.config.max_inflight));
                }
                let id = self.allocate_packet_id()?;
                publish.qos = QoS::AtLeastOnce;
                publish.packet_id = Some(id);
                encoded_len(&publish)?;
                self.send(&publish);
                self.inflight.push_back(id);
                self.ids_in_use.insert(id);
                self.next_packet_id = id.next();
                Ok(Some(id))
            }
            QoS::ExactlyOnce => Err(CommandError::QoS2NotSupported),
        }
    }

    /// Ends the session (MQTT 3.1.1 servers close without a packet). Anything already queued
    /// (e.g. a SUBACK) can still be flushed.
    pub fn close(&mut self, now: Duration) {
        let _ = now;
        if self.state != SessionState::Closed {
            self.end(CloseReason::Local);
        }
    }

    /// Feeds bytes received from the client. Errors end the session (also reported as
    /// [`ServerEvent::Closed`]) and are sticky. Bytes arriving after the session ended
    /// otherwise are ignored.
    pub fn handle_bytes(&mut self, now: Duration, mut data: &[u8]) -> Result<(), ProtocolError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.state == SessionState::Closed {
            return Ok(());
        }
        self.stats.bytes_received += data.len() as u64;
        // IoT Hub: any traffic resets the keep-alive timer.
        if let (Some(ka), false) = (self.keep_alive, data.is_empty()) {
            self.timers.set(T_KEEP_ALIVE, now.saturating_add(ka));
        }
        while self.state != SessionState::Closed {
            match self.decoder.decode(&mut data) {
                Ok(Some(packet)) => {
                    self.stats.packets_received += 1;
                    if let Err(e) = self.receive(now, packet) {
                        return Err(self.fail(e));
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    if let DecodeError::UnsupportedProtocolLevel(_) = e {
                        if self.state == SessionState::AwaitingConnect {
                            // MQTT-3.1.2-2: answer an unsupported level with CONNACK 0x01.
                            self.send(&ConnAck {
                                session_present: false,
                                code: ConnectReturnCode::UnacceptableProtocolVersion,
                            });
                        }
                    }
                    return Err(self.fail(e.into()));
                }
            }
        }
        Ok(())
    }

    /// Runs expired timers (connect timeout, keep-alive). Calling it early or repeatedly is
    /// harmless.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.state == SessionState::Closed {
            return;
        }
        if self.timers.is_expired(T_CONNECT, now) {
            self.end(CloseReason::ConnectTimeout);
        } else if self.timers.is_expired(T_KEEP_ALIVE, now) {
            self.end(CloseReason::KeepAliveTimeout);
        }
    }

    /// Appends all bytes waiting to be sent to `out`; returns how many were appended.
    #[must_use]
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> usize {
        let n = self.outbox.len();
        if out.is_empty() {
            core::mem::swap(out, &mut self.outbox);
        } else {
            out.append(&mut self.outbox);
        }
        self.stats.bytes_sent += n as u64;
        n
    }

    /// The earliest time at which [`handle_timeout`](Self::handle_timeout) must be called.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        match self.state {
            SessionState::Closed => None,
            _ => self.timers.next(),
        }
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    fn send<P: Body>(&mut self, packet: &P) {
        // Callers validated the packet (or built it internally), so this cannot fail.
        if encode_packet(packet, &mut self.outbox).is_ok() {
            self.stats.packets_sent += 1;
        }
    }

    fn allocate_packet_id(&self) -> Result<PacketId, CommandError> {
        self.ids_in_use
            .first_free_from(self.next_packet_id)
            .ok_or(CommandError::PacketIdsExhausted)
    }

    fn end(&mut self, reason: CloseReason) {
        self.state = SessionState::Closed;
        self.timers.clear();
        self.held.clear();
        self.events.push_back(ServerEvent::Closed(reason));
    }

    fn fail(&mut self, e: ProtocolError) -> ProtocolError {
        self.error = Some(e.clone());
        self.end(CloseReason::Protocol(e.clone()));
        e
    }

    /// Checks a packet against the rules that do not depend on the session state.
    fn check_client_packet(packet: &Packet) -> Result<(), ProtocolError> {
        match packet {
            Packet::Publish(p) if p.qos == QoS::ExactlyOnce => Err(ProtocolError::QoS2NotSupported),
            Packet::Publish(_)
            | Packet::PubAck(_)
            | Packet::Subscribe(_)
            | Packet::Unsubscribe(_)
            | Packet::PingReq
            | Packet::Disconnect => Ok(()),
            // Server-to-client packets, QoS 2 flow, and a second CONNECT (MQTT-3.1.0-2).
            p => Err(ProtocolError::UnexpectedPacket(p.packet_type())),
        }
    }

    fn receive(&mut self, now: Duration, packet: Packet) -> Result<(), ProtocolError> {
        match self.state {
            SessionState::AwaitingConnect => match packet {
                Packet::Connect(connect) => {
                    self.on_connect(now, connect);
                    Ok(())
                }
                // MQTT-3.1.0-1: the first packet must be CONNECT.
                p => Err(ProtocolError::UnexpectedPacket(p.packet_type())),
            },
            SessionState::ConnectReceived => {
                Self::check_client_packet(&packet)?;
                if let Packet::PubAck(ack) = &packet {
                    // Nothing has been published before the CONNACK.
                    return Err(ProtocolError::UnknownPacketId {
                        packet_type: PacketType::PubAck,
                        packet_id: ack.packet_id,
                    });
                }
                if self.held.len() >= MAX_PENDING {
                    return Err(ProtocolError::ReceiveWindowExceeded);
                }
                self.held.push_back(packet);
                Ok(())
            }
            SessionState::Connected => self.handle_packet(now, packet),
            SessionState::Closed => Ok(()),
        }
    }

    fn on_connect(&mut self, now: Duration, connect: Connect) {
        self.timers.stop(T_CONNECT);
        // IoT Hub waits 1.5 × keep-alive, capped at the load-balancer idle limit.
        self.keep_alive = (connect.keep_alive > 0).then(|| {
            (Duration::from_secs(connect.keep_alive.into()) * 3 / 2).min(self.config.keep_alive_cap)
        });
        if let Some(ka) = self.keep_alive {
            self.timers.set(T_KEEP_ALIVE, now.saturating_add(ka));
        }
        self.state = SessionState::ConnectReceived;
        self.events.push_back(ServerEvent::Connect(connect));
    }

    fn handle_packet(&mut self, now: Duration, packet: Packet) -> Result<(), ProtocolError> {
        let _ = now;
        Self::check_client_packet(&packet)?;
        match packet {
            Packet::Publish(p) => {
                if let Some(id) = p.packet_id {
                    if self.incoming.len() >= MAX_UNACKED_INCOMING {
                        return Err(ProtocolError::ReceiveWindowExceeded);
                    }
                    self.incoming.push_back((id, false));
                }
                self.events.push_back(ServerEvent::Publish(p));
            }
            Packet::PubAck(PubAck { packet_id }) => {
                let pos = self.inflight.iter().position(|id| *id == packet_id).ok_or(
                    ProtocolError::UnknownPacketId {
                        packet_type: PacketType::PubAck,
                        packet_id,
                    },
                )?;
                if let (true, Some(&expected)) = (pos > 0, self.inflight.front()) {
                    self.events.push_back(ServerEvent::PubAckOutOfOrder {
                        packet_id,
                        expected,
                    });
                }
                self.inflight.remove(pos);
                self.ids_in_use.remove(packet_id);
                self.events.push_back(ServerEvent::PubAck { packet_id });
            }
            Packet::Subscribe(s) => {
                if self.pending_subscribes.len() >= MAX_PENDING {
                    return Err(ProtocolError::ReceiveWindowExceeded);
                }
                self.pending_subscribes.push((s.packet_id, s.filters.len()));
                self.events.push_back(ServerEvent::Subscribe(s));
            }
            Packet::Unsubscribe(u) => {
                if self.pending_unsubscribes.len() >= MAX_PENDING {
                    return Err(ProtocolError::ReceiveWindowExceeded);
                }
                self.pending_unsubscribes.push(u.packet_id);
                self.events.push_back(ServerEvent::Unsubscribe(u));
            }
            Packet::PingReq => self.send(&Empty(PacketType::PingResp)),
            Packet::Disconnect => self.end(CloseReason::ClientDisconnect),
            p => return Err(ProtocolError::UnexpectedPacket(p.packet_type())),
        }
        Ok(())
    }
}
