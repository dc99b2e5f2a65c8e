//! Sans-IO MQTT 3.1.1 client core.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::time::Duration;

use bytes::Bytes;

use crate::decode::Decoder;
use crate::encode::{encode_packet, encoded_len, Body, Empty};
use crate::error::{CommandError, ProtocolError};
use crate::idset::PacketIdSet;
use crate::packet::{
    ConnAck, Connect, Packet, PubAck, Publish, SubAck, Subscribe, SubscribeFilter, UnsubAck,
    Unsubscribe,
};
use crate::timer::TimerTable;
use crate::types::{
    ConnectReturnCode, PacketId, PacketType, QoS, Stats, SubscribeReturnCode, TopicFilter,
    TopicName,
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
///
/// `Debug` prints state and counters only: queued bytes may contain the CONNECT password.
pub struct Client {
    config: ClientConfig,
    state: ClientState,
    decoder: Decoder,
    outbox: Vec<u8>,
    events: VecDeque<Event>,
    timers: TimerTable<3>,
    /// Keep-alive of the current connection; `None` when disabled.
    keep_alive: Option<Duration>,
    pingresp_timeout: Duration,
    ping_outstanding: bool,
    /// When the last packet was queued; keep-alive counts from here.
    last_sent: Duration,
    /// Outgoing QoS 1 messages awaiting PUBACK, in original send order (MQTT-4.6.0-1).
    inflight: VecDeque<Inflight>,
    next_packet_id: PacketId,
    /// Ids held by in-flight messages and pending (un)subscribes.
    ids_in_use: PacketIdSet,
    pending_subscribes: Vec<(PacketId, Vec<TopicFilter>)>,
    pending_unsubscribes: Vec<PacketId>,
    /// Incoming QoS 1 messages in arrival order with their "acked by host" flag.
    incoming: VecDeque<(PacketId, bool)>,
    stats: Stats,
    /// Sticky fatal error of the current connection.
    error: Option<ProtocolError>,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client")
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

#[derive(Debug)]
struct Inflight {
    publish: Publish,
    /// Whether it went out at least once; a re-send then carries DUP=1.
    sent: bool,
}

/// Timer slots.
const T_KEEP_ALIVE: usize = 0;
const T_PINGRESP: usize = 1;
const T_CONNACK: usize = 2;

/// Bound on incoming QoS 1 messages awaiting the host's ack; more means the host never acks.
const MAX_UNACKED_INCOMING: usize = u16::MAX as usize;

impl Client {
    /// A disconnected client.
    #[must_use]
    pub fn new(config: ClientConfig) -> Self {
        Self {
            decoder: Decoder::new(config.max_packet_size),
            config,
            state: ClientState::Disconnected,
            outbox: Vec::new(),
            events: VecDeque::new(),
            timers: TimerTable::new(),
            keep_alive: None,
            pingresp_timeout: Duration::from_secs(30),
            ping_outstanding: false,
            last_sent: Duration::ZERO,
            inflight: VecDeque::new(),
            next_packet_id: PacketId::MIN,
            ids_in_use: PacketIdSet::default(),
            pending_subscribes: Vec::new(),
            pending_unsubscribes: Vec::new(),
            incoming: VecDeque::new(),
            stats: Stats::default(),
            error: None,
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Current connection state.
    #[must_use]
    pub fn state(&self) -> ClientState {
        self.state
    }

    /// Whether CONNACK accepted the current connection.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.state == ClientState::Connected
    }

    /// Number of unacknowledged outgoing QoS 1 messages.
    #[must_use]
    pub fn inflight_len(&self) -> usize {
        self.inflight.len()
    }

    /// Traffic counters of the current (or last) connection.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Starts a new connection: queues CONNECT. Any previous connection is abandoned without an
    /// event. Resets the decoder, counters, pending subscriptions and the PUBACK queue; keeps the
    /// in-flight store for re-sending after CONNACK.
    pub fn connect(&mut self, now: Duration, connect: Connect) -> Result<(), CommandError> {
        encoded_len(&connect)?;
        self.decoder.reset();
        self.outbox.clear();
        self.timers.clear();
        self.ping_outstanding = false;
        self.pending_subscribes.clear();
        self.pending_unsubscribes.clear();
        self.ids_in_use.clear();
        for m in &self.inflight {
            if let Some(id) = m.publish.packet_id {
                self.ids_in_use.insert(id);
            }
        }
        self.incoming.clear();
        self.stats = Stats::default();
        self.error = None;
        self.keep_alive =
            (connect.keep_alive > 0).then(|| Duration::from_secs(connect.keep_alive.into()));
        self.pingresp_timeout = self.config.pingresp_timeout.unwrap_or_else(|| {
            let half = self.keep_alive.unwrap_or_default() / 2;
            half.clamp(Duration::from_secs(1), Duration::from_secs(30))
        });
        self.state = ClientState::Connecting;
        self.send(now, &connect);
        if let Some(t) = self.config.connack_timeout {
            self.timers.set(T_CONNACK, now.saturating_add(t));
        }
        Ok(())
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
        let mut publish = Publish::new(topic, payload);
        publish.retain = retain;
        match qos {
            QoS::AtMostOnce => {
                if self.state != ClientState::Connected {
                    return Err(CommandError::NotConnected);
                }
                encoded_len(&publish)?;
                self.send(now, &publish);
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
                let sent = self.state == ClientState::Connected;
                if sent {
                    self.send(now, &publish);
                }
                self.inflight.push_back(Inflight { publish, sent });
                self.use_packet_id(id);
                Ok(Some(id))
            }
            QoS::ExactlyOnce => Err(CommandError::QoS2NotSupported),
        }
    }

    /// Sends SUBSCRIBE; the result arrives as [`Event::Subscribed`]. QoS 2 is refused.
    pub fn subscribe(
        &mut self,
        now: Duration,
        filters: Vec<SubscribeFilter>,
    ) -> Result<PacketId, CommandError> {
        if self.state != ClientState::Connected {
            return Err(CommandError::NotConnected);
        }
        if filters.iter().any(|f| f.qos == QoS::ExactlyOnce) {
            return Err(CommandError::QoS2NotSupported);
        }
        let packet_id = self.allocate_packet_id()?;
        let subscribe = Subscribe { packet_id, filters };
        encoded_len(&subscribe)?;
        self.send(now, &subscribe);
        self.use_packet_id(packet_id);
        let names = subscribe.filters.into_iter().map(|f| f.filter).collect();
        self.pending_subscribes.push((packet_id, names));
        Ok(packet_id)
    }

    /// Sends UNSUBSCRIBE; completion arrives as [`Event::Unsubscribed`].
    pub fn unsubscribe(
        &mut self,
        now: Duration,
        filters: Vec<TopicFilter>,
    ) -> Result<PacketId, CommandError> {
        if self.state != ClientState::Connected {
            return Err(CommandError::NotConnected);
        }
        let packet_id = self.allocate_packet_id()?;
        let unsubscribe = Unsubscribe { packet_id, filters };
        encoded_len(&unsubscribe)?;
        self.send(now, &unsubscribe);
        self.use_packet_id(packet_id);
        self.pending_unsubscribes.push(packet_id);
        Ok(packet_id)
    }

    /// Acknowledges an incoming QoS 1 message (only with `auto_ack == false`). PUBACKs are
    /// released in the order the PUBLISH packets arrived: acking a later message first holds
    /// its PUBACK until the earlier ones are acked.
    pub fn ack(&mut self, now: Duration, packet_id: PacketId) -> Result<(), CommandError> {
        if self.state != ClientState::Connected {
            return Err(CommandError::NotConnected);
        }
        let entry = self
            .incoming
            .iter_mut()
            .find(|(id, acked)| *id == packet_id && !acked)
            .ok_or(CommandError::UnknownPacketId(packet_id))?;
        entry.1 = true;
        // MQTT-4.6.0-2: PUBACKs in the order the PUBLISH packets were received.
        while let Some(&(id, true)) = self.incoming.front() {
            self.incoming.pop_front();
            self.send(now, &PubAck::new(id));
        }
        Ok(())
    }

    /// Queues DISCONNECT and ends the connection with
    /// [`Event::Disconnected`]`(`[`DisconnectReason::Local`]`)`. Flush `poll_transmit`, then
    /// close the transport.
    pub fn disconnect(&mut self, now: Duration) -> Result<(), CommandError> {
        if self.state == ClientState::Disconnected {
            return Err(CommandError::NotConnected);
        }
        self.send(now, &Empty(PacketType::Disconnect));
        self.end(DisconnectReason::Local);
        Ok(())
    }

    /// Feeds bytes received from the transport. A protocol or decode error ends the connection
    /// (also reported as [`Event::Disconnected`]) and is sticky: later calls return it again
    /// until the next [`connect`](Self::connect). Bytes arriving after the connection ended
    /// otherwise are ignored.
    pub fn handle_bytes(&mut self, now: Duration, mut data: &[u8]) -> Result<(), ProtocolError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if self.state == ClientState::Disconnected {
            return Ok(());
        }
        self.stats.bytes_received += data.len() as u64;
        while self.state != ClientState::Disconnected {
            match self.decoder.decode(&mut data) {
                Ok(Some(packet)) => {
                    self.stats.packets_received += 1;
                    if let Err(e) = self.handle_packet(now, packet) {
                        return Err(self.fail(e));
                    }
                }
                Ok(None) => break,
                Err(e) => return Err(self.fail(e.into())),
            }
        }
        Ok(())
    }

    /// Runs expired timers (keep-alive PINGREQ, PINGRESP and CONNACK deadlines). Calling it
    /// early or repeatedly is harmless.
    pub fn handle_timeout(&mut self, now: Duration) {
        if self.state == ClientState::Disconnected {
            return;
        }
        if self.timers.is_expired(T_CONNACK, now) {
            self.end(DisconnectReason::ConnAckTimeout);
        } else if self.timers.is_expired(T_PINGRESP, now) {
            self.end(DisconnectReason::PingTimeout);
        } else if self.timers.is_expired(T_KEEP_ALIVE, now) && !self.ping_outstanding {
            self.ping_outstanding = true;
            self.send(now, &Empty(PacketType::PingReq));
            self.timers.stop(T_KEEP_ALIVE);
            self.timers
                .set(T_PINGRESP, now.saturating_add(self.pingresp_timeout));
        }
    }

    /// The host's transport closed. Ends the connection with
    /// [`DisconnectReason::TransportClosed`] unless it had already ended.
    pub fn handle_transport_closed(&mut self, now: Duration) {
        let _ = now;
        if self.state != ClientState::Disconnected {
            self.end(DisconnectReason::TransportClosed);
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
            ClientState::Disconnected => None,
            _ => self.timers.next(),
        }
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Queues an already validated packet and restarts the keep-alive interval.
    fn send<P: Body>(&mut self, now: Duration, packet: &P) {
        // Validation happened in the caller (or the packet is built internally and always
        // valid), so this cannot fail; the result is ignored rather than unwrapped.
        if encode_packet(packet, &mut self.outbox).is_ok() {
            self.stats.packets_sent += 1;
            self.last_sent = now;
            if self.state == ClientState::Connected && !self.ping_outstanding {
                if let Some(ka) = self.keep_alive {
                    self.timers.set(T_KEEP_ALIVE, now.saturating_add(ka));
                }
            }
        }
    }

    /// The next identifier not used by an in-flight message or a pending (un)subscribe. The
    /// caller marks it used once the packet is queued.
    fn allocate_packet_id(&self) -> Result<PacketId, CommandError> {
        self.ids_in_use
            .first_free_from(self.next_packet_id)
            .ok_or(CommandError::PacketIdsExhausted)
    }

    /// Marks `id` used and moves the allocation cursor past it.
    fn use_packet_id(&mut self, id: PacketId) {
        self.ids_in_use.insert(id);
        self.next_packet_id = id.next();
    }

    fn end(&mut self, reason: DisconnectReason) {
        if reason != DisconnectReason::Local {
            // Nothing queued can reach the peer any more.
            self.outbox.clear();
        }
        self.state = ClientState::Disconnected;
        self.timers.clear();
        self.ping_outstanding = false;
        self.incoming.clear();
        self.events.push_back(Event::Disconnected(reason));
    }

    fn fail(&mut self, e: ProtocolError) -> ProtocolError {
        self.error = Some(e.clone());
        self.end(DisconnectReason::Protocol(e.clone()));
        e
    }

    fn handle_packet(&mut self, now: Duration, packet: Packet) -> Result<(), ProtocolError> {
        match (self.state, packet) {
            (ClientState::Connecting, Packet::ConnAck(ack)) => self.on_connack(now, ack),
            // MQTT-3.2.0-1: the first packet from the server must be CONNACK.
            (ClientState::Connecting, p) => Err(ProtocolError::UnexpectedPacket(p.packet_type())),
            (ClientState::Connected, Packet::Publish(p)) => self.on_publish(now, p),
            (ClientState::Connected, Packet::PubAck(ack)) => {
                let pos = self
                    .inflight
                    .iter()
                    .position(|m| m.publish.packet_id == Some(ack.packet_id))
                    .ok_or(ProtocolError::UnknownPacketId {
                        packet_type: PacketType::PubAck,
                        packet_id: ack.packet_id,
                    })?;
                self.inflight.remove(pos);
                self.ids_in_use.remove(ack.packet_id);
                self.events.push_back(Event::Published {
                    packet_id: ack.packet_id,
                });
                Ok(())
            }
            (ClientState::Connected, Packet::SubAck(ack)) => self.on_suback(ack),
            (ClientState::Connected, Packet::UnsubAck(UnsubAck { packet_id })) => {
                let pos = self
                    .pending_unsubscribes
                    .iter()
                    .position(|p| *p == packet_id)
                    .ok_or(ProtocolError::UnknownPacketId {
                        packet_type: PacketType::UnsubAck,
                        packet_id,
                    })?;
                self.pending_unsubscribes.remove(pos);
                self.ids_in_use.remove(packet_id);
                self.events.push_back(Event::Unsubscribed { packet_id });
                Ok(())
            }
            (ClientState::Connected, Packet::PingResp) => {
                // An unsolicited PINGRESP is harmless and ignored.
                if self.ping_outstanding {
                    self.ping_outstanding = false;
                    self.timers.stop(T_PINGRESP);
                    if let Some(ka) = self.keep_alive {
                        self.timers
                            .set(T_KEEP_ALIVE, self.last_sent.saturating_add(ka));
                    }
                }
                Ok(())
            }
            (_, p) => Err(ProtocolError::UnexpectedPacket(p.packet_type())),
        }
    }

    fn on_connack(&mut self, now: Duration, ack: ConnAck) -> Result<(), ProtocolError> {
        self.timers.stop(T_CONNACK);
        if ack.code != ConnectReturnCode::Accepted {
            self.end(DisconnectReason::Refused(ack.code));
            return Ok(());
        }
        self.state = ClientState::Connected;
        if let Some(ka) = self.keep_alive {
            self.timers
                .set(T_KEEP_ALIVE, self.last_sent.saturating_add(ka));
        }
        self.events.push_back(Event::Connected {
            session_present: ack.session_present,
        });
        // MQTT-4.4.0-1 / MQTT-4.6.0-1: re-send unacknowledged PUBLISH packets in their original
        // order; those that went out before carry DUP=1.
        let mut inflight = core::mem::take(&mut self.inflight);
        for m in &mut inflight {
            m.publish.dup = m.sent;
            m.sent = true;
            self.send(now, &m.publish);
        }
        self.inflight = inflight;
        Ok(())
    }

    fn on_publish(&mut self, now: Duration, publish: Publish) -> Result<(), ProtocolError> {
        match (publish.qos, publish.packet_id) {
            (QoS::AtLeastOnce, Some(id)) => {
                if self.config.auto_ack {
                    self.send(now, &PubAck::new(id));
                } else {
                    if self.incoming.len() >= MAX_UNACKED_INCOMING {
                        return Err(ProtocolError::ReceiveWindowExceeded);
                    }
                    self.incoming.push_back((id, false));
                }
            }
            (QoS::ExactlyOnce, _) => return Err(ProtocolError::QoS2NotSupported),
            _ => {}
        }
        self.events.push_back(Event::Message(publish));
        Ok(())
    }

    fn on_suback(&mut self, ack: SubAck) -> Result<(), ProtocolError> {
        let pos = self
            .pending_subscribes
            .iter()
            .position(|(p, _)| *p == ack.packet_id)
            .ok_or(ProtocolError::UnknownPacketId {
                packet_type: PacketType::SubAck,
                packet_id: ack.packet_id,
            })?;
        let (_, filters) = self.pending_subscribes.remove(pos);
        self.ids_in_use.remove(ack.packet_id);
        if filters.len() != ack.return_codes.len() {
            return Err(ProtocolError::SubAckCountMismatch {
                expected: filters.len(),
                got: ack.return_codes.len(),
            });
        }
        self.events.push_back(Event::Subscribed {
            packet_id: ack.packet_id,
            results: filters.into_iter().zip(ack.return_codes).collect(),
        });
        Ok(())
    }
}
