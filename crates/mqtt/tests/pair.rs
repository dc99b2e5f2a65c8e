//! The client core against the hub session core, in memory, with a simulated clock.

use std::time::Duration;

use bytes::Bytes;
use hubwire_mqtt::{
    Client, ClientConfig, ClientState, CloseReason, CommandError, Connect, ConnectReturnCode,
    DisconnectReason, Event, MqttString, Packet, PacketId, ProtocolError, Publish, QoS,
    ServerConfig, ServerEvent, ServerSession, SessionState, SubscribeFilter, SubscribeReturnCode,
    TopicFilter, TopicName,
};

const SECOND: Duration = Duration::from_secs(1);

/// How the simulated hub answers requests.
#[derive(Clone, Copy, Debug)]
struct HubPolicy {
    /// `Some(code)`: answer CONNECT with it; `None`: leave CONNECT unanswered.
    connect: Option<ConnectReturnCode>,
    /// Ack incoming QoS 1 PUBLISH immediately.
    ack_publishes: bool,
    /// Grant SUBSCRIBE (min(requested, 1); filters containing "deny" fail with 0x80).
    grant_subscribes: bool,
}

impl Default for HubPolicy {
    fn default() -> Self {
        Self {
            connect: Some(ConnectReturnCode::Accepted),
            ack_publishes: true,
            grant_subscribes: true,
        }
    }
}

/// Two peers exchanging bytes through in-memory queues.
struct Pair {
    now: Duration,
    client: Client,
    server: ServerSession,
    policy: HubPolicy,
    /// Deliver client→server / server→client bytes (false = the link silently drops them).
    c2s_up: bool,
    s2c_up: bool,
    /// Split transmissions into chunks of this size, like WebSocket messages that do not align
    /// with packets.
    chunk: usize,
    client_events: Vec<Event>,
    server_events: Vec<ServerEvent>,
    /// Every packet the server decoded, in order (from a second decoder watching the wire).
    c2s_packets: Vec<Packet>,
    s2c_packets: Vec<Packet>,
    c2s_watch: hubwire_mqtt::Decoder,
    s2c_watch: hubwire_mqtt::Decoder,
}

impl Pair {
    fn new(config: ClientConfig) -> Self {
        Self {
            now: Duration::ZERO,
            client: Client::new(config),
            server: ServerSession::new(ServerConfig::default(), Duration::ZERO),
            policy: HubPolicy::default(),
            c2s_up: true,
            s2c_up: true,
            chunk: 5,
            client_events: Vec::new(),
            server_events: Vec::new(),
            c2s_packets: Vec::new(),
            s2c_packets: Vec::new(),
            c2s_watch: hubwire_mqtt::Decoder::default(),
            s2c_watch: hubwire_mqtt::Decoder::default(),
        }
    }

    /// A connected pair (keep-alive `ka` seconds).
    fn connected(config: ClientConfig, ka: u16) -> Self {
        let mut pair = Self::new(config);
        pair.connect(ka);
        assert_eq!(
            pair.take_client_events(),
            vec![Event::Connected {
                session_present: false
            }]
        );
        assert!(matches!(
            pair.take_server_events().as_slice(),
            [ServerEvent::Connect(_)]
        ));
        pair.c2s_packets.clear();
        pair.s2c_packets.clear();
        pair
    }

    fn connect(&mut self, ka: u16) {
        let mut connect = Connect::new(MqttString::new("device1").expect("valid"));
        connect.keep_alive = ka;
        connect.clean_session = false;
        self.client.connect(self.now, connect).expect("connect");
        self.drive();
    }

    /// A new transport to a fresh hub session (the old one is dropped).
    fn new_transport(&mut self) {
        self.server = ServerSession::new(ServerConfig::default(), self.now);
        self.c2s_watch = hubwire_mqtt::Decoder::default();
        self.s2c_watch = hubwire_mqtt::Decoder::default();
        self.c2s_up = true;
        self.s2c_up = true;
    }

    fn move_bytes(&mut self) -> bool {
        let mut moved = false;
        let mut buf = Vec::new();
        let _ = self.client.poll_transmit(&mut buf);
        if !buf.is_empty() && self.c2s_up {
            moved = true;
            watch(&mut self.c2s_watch, &buf, &mut self.c2s_packets);
            for chunk in buf.chunks(self.chunk) {
                let _ = self.server.handle_bytes(self.now, chunk);
            }
        }
        let mut buf = Vec::new();
        let _ = self.server.poll_transmit(&mut buf);
        if !buf.is_empty() && self.s2c_up {
            moved = true;
            watch(&mut self.s2c_watch, &buf, &mut self.s2c_packets);
            for chunk in buf.chunks(self.chunk) {
                let _ = self.client.handle_bytes(self.now, chunk);
            }
        }
        moved
    }

    fn hub_reacts(&mut self) -> bool {
        let mut acted = false;
        while let Some(ev) = self.server.poll_event() {
            acted = true;
            match &ev {
                ServerEvent::Connect(_) => match self.policy.connect {
                    Some(ConnectReturnCode::Accepted) => {
                        self.server.accept(self.now, false).expect("accept")
                    }
                    Some(code) => self.server.refuse(self.now, code).expect("refuse"),
                    None => {}
                },
                ServerEvent::Publish(p) if self.policy.ack_publishes => {
                    if let Some(id) = p.packet_id {
                        self.server.ack_publish(self.now, id).expect("ack");
                    }
                }
                ServerEvent::Subscribe(s) if self.policy.grant_subscribes => {
                    let codes = s
                        .filters
                        .iter()
                        .map(|f| {
                            if f.filter.as_str().contains("deny") {
                                SubscribeReturnCode::Failure
                            } else {
                                SubscribeReturnCode::Success(f.qos.min(QoS::AtLeastOnce))
                            }
                        })
                        .collect();
                    self.server
                        .grant_subscribe(self.now, s.packet_id, codes)
                        .expect("grant");
                }
                ServerEvent::Unsubscribe(u) => {
                    self.server
                        .ack_unsubscribe(self.now, u.packet_id)
                        .expect("unsuback");
                }
                _ => {}
            }
            self.server_events.push(ev);
        }
        while let Some(ev) = self.client.poll_event() {
            self.client_events.push(ev);
        }
        acted
    }

    /// Moves bytes and lets the hub react until nothing happens; bounded so a livelock fails.
    fn drive(&mut self) {
        for _ in 0..100 {
            let moved = self.move_bytes();
            let acted = self.hub_reacts();
            if !moved && !acted {
                return;
            }
        }
        panic!("pair did not settle");
    }

    /// Advances the clock by `dt`, running timers on both sides.
    fn advance(&mut self, dt: Duration) {
        self.now += dt;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
        self.drive();
    }

    /// Advances to the earlier of both sides' next timer.
    fn advance_to_next_timer(&mut self) -> Duration {
        let next = [self.client.poll_timeout(), self.server.poll_timeout()]
            .into_iter()
            .flatten()
            .min()
            .expect("a timer is armed");
        assert!(next >= self.now);
        self.advance(next - self.now);
        self.now
    }

    fn take_client_events(&mut self) -> Vec<Event> {
        std::mem::take(&mut self.client_events)
    }

    fn take_server_events(&mut self) -> Vec<ServerEvent> {
        std::mem::take(&mut self.server_events)
    }

    fn publish(&mut self, qos: QoS, payload: &'static [u8]) -> Option<PacketId> {
        let id = self
            .client
            .publish(self.now, topic(), Bytes::from_static(payload), qos, false)
            .expect("publish");
        self.drive();
        id
    }
}

fn watch(decoder: &mut hubwire_mqtt::Decoder, mut bytes: &[u8], out: &mut Vec<Packet>) {
    while let Some(p) = decoder
        .decode(&mut bytes)
        .expect("peers produce valid bytes")
    {
        out.push(p);
    }
}

fn topic() -> TopicName {
    TopicName::new("devices/device1/messages/events/").expect("valid")
}

fn c2d_topic() -> TopicName {
    TopicName::new("devices/device1/messages/devicebound/%24.mid=1").expect("valid")
}

fn id(v: u16) -> PacketId {
    PacketId::new(v).expect("non-zero")
}

fn published_ids(events: &[ServerEvent]) -> Vec<(u16, bool)> {
    events
        .iter()
        .filter_map(|e| match e {
            ServerEvent::Publish(p) => Some((p.packet_id.map_or(0, PacketId::get), p.dup)),
            _ => None,
        })
        .collect()
}

#[test]
fn connect_accepted() {
    let mut pair = Pair::new(ClientConfig::default());
    assert_eq!(pair.client.state(), ClientState::Disconnected);
    pair.connect(240);
    assert_eq!(
        pair.take_client_events(),
        vec![Event::Connected {
            session_present: false
        }]
    );
    let events = pair.take_server_events();
    let [ServerEvent::Connect(c)] = events.as_slice() else {
        panic!("expected one Connect, got {events:?}");
    };
    assert_eq!(c.client_id, "device1");
    assert_eq!(c.keep_alive, 240);
    assert!(pair.client.is_connected());
    assert_eq!(pair.server.state(), SessionState::Connected);
    assert_eq!(
        pair.server.keep_alive_timeout(),
        Some(Duration::from_secs(360))
    );
    // The byte counters on both sides agree.
    let (c, s) = (pair.client.stats(), pair.server.stats());
    assert_eq!(c.bytes_sent, s.bytes_received);
    assert_eq!(c.bytes_received, s.bytes_sent);
    assert_eq!(c.bytes_received, 4, "one CONNACK");
    assert_eq!((c.packets_sent, c.packets_received), (1, 1));
}

#[test]
fn connect_refused_with_every_code() {
    for code in [
        ConnectReturnCode::UnacceptableProtocolVersion,
        ConnectReturnCode::IdentifierRejected,
        ConnectReturnCode::ServerUnavailable,
        ConnectReturnCode::BadUserNameOrPassword,
        ConnectReturnCode::NotAuthorized,
    ] {
        let mut pair = Pair::new(ClientConfig::default());
        pair.policy.connect = Some(code);
        pair.connect(60);
        assert_eq!(
            pair.take_client_events(),
            vec![Event::Disconnected(DisconnectReason::Refused(code))]
        );
        assert_eq!(pair.client.state(), ClientState::Disconnected);
        assert_eq!(pair.client.poll_timeout(), None);
        let events = pair.take_server_events();
        assert_eq!(
            events.last(),
            Some(&ServerEvent::Closed(CloseReason::Refused(code)))
        );
        assert_eq!(pair.server.state(), SessionState::Closed);
        assert_eq!(
            pair.client
                .publish(pair.now, topic(), Bytes::new(), QoS::AtMostOnce, false),
            Err(CommandError::NotConnected)
        );
    }
}

#[test]
fn refuse_requires_a_refusal_code_and_a_pending_connect() {
    let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    assert_eq!(
        s.refuse(Duration::ZERO, ConnectReturnCode::NotAuthorized),
        Err(CommandError::NoPendingConnect)
    );
    assert_eq!(
        s.accept(Duration::ZERO, false),
        Err(CommandError::NoPendingConnect)
    );
    assert_eq!(
        s.refuse(Duration::ZERO, ConnectReturnCode::Accepted),
        Err(CommandError::AcceptedIsNotARefusal)
    );
}

#[test]
fn keep_alive_ping_and_any_packet_resets_the_timer() {
    let mut pair = Pair::connected(ClientConfig::default(), 10);
    assert_eq!(pair.client.poll_timeout(), Some(10 * SECOND));
    // A publish at t=4 moves the next PINGREQ to t=14.
    pair.advance(4 * SECOND);
    pair.publish(QoS::AtMostOnce, b"x");
    assert_eq!(pair.client.poll_timeout(), Some(14 * SECOND));
    pair.c2s_packets.clear();
    assert_eq!(pair.advance_to_next_timer(), 14 * SECOND);
    assert_eq!(pair.c2s_packets, vec![Packet::PingReq]);
    assert_eq!(pair.s2c_packets, vec![Packet::PingResp]);
    assert!(pair.take_client_events().is_empty());
    assert!(pair.client.is_connected());
    // Next ping ten seconds after the last one.
    assert_eq!(pair.client.poll_timeout(), Some(24 * SECOND));
    // Many keep-alive periods pass without trouble.
    for _ in 0..20 {
        pair.advance_to_next_timer();
    }
    assert!(pair.client.is_connected());
    assert_eq!(pair.server.state(), SessionState::Connected);
    assert_eq!(
        pair.c2s_packets
            .iter()
            .filter(|p| **p == Packet::PingReq)
            .count(),
        21
    );
    // handle_timeout before the deadline does nothing.
    pair.c2s_packets.clear();
    pair.advance(SECOND);
    assert!(pair.c2s_packets.is_empty());
}

#[test]
fn keep_alive_zero_disables_pings() {
    let mut pair = Pair::connected(ClientConfig::default(), 0);
    assert_eq!(pair.client.poll_timeout(), None);
    assert_eq!(pair.server.poll_timeout(), None);
    pair.advance(Duration::from_secs(100_000));
    assert!(pair.client.is_connected());
    assert!(pair.c2s_packets.is_empty());
}

#[test]
fn pingresp_timeout_loses_the_connection() {
    let mut pair = Pair::connected(ClientConfig::default(), 10);
    pair.s2c_up = false;
    assert_eq!(pair.advance_to_next_timer(), 10 * SECOND);
    assert_eq!(pair.c2s_packets, vec![Packet::PingReq]);
    // Default PINGRESP timeout: half the keep-alive.
    assert_eq!(pair.client.poll_timeout(), Some(15 * SECOND));
    pair.advance(4 * SECOND);
    assert!(pair.client.is_connected());
    pair.advance(SECOND);
    assert_eq!(
        pair.take_client_events(),
        vec![Event::Disconnected(DisconnectReason::PingTimeout)]
    );
    assert_eq!(pair.client.state(), ClientState::Disconnected);
    assert_eq!(pair.client.poll_timeout(), None);
}

#[test]
fn configured_pingresp_timeout() {
    let config = ClientConfig {
        pingresp_timeout: Some(2 * SECOND),
        ..ClientConfig::default()
    };
    let mut pair = Pair::connected(config, 60);
    pair.s2c_up = false;
    pair.advance_to_next_timer();
    assert_eq!(pair.advance_to_next_timer(), 62 * SECOND);
    assert_eq!(
        pair.take_client_events(),
        vec![Event::Disconnected(DisconnectReason::PingTimeout)]
    );
}

#[test]
fn hub_enforces_one_and_a_half_keep_alive() {
    let mut pair = Pair::connected(ClientConfig::default(), 10);
    // The client goes silent (its pings are lost).
    pair.c2s_up = false;
    pair.s2c_up = false;
    pair.advance(14 * SECOND);
    assert_eq!(pair.server.state(), SessionState::Connected);
    pair.advance(SECOND);
    assert_eq!(
        pair.take_server_events(),
        vec![ServerEvent::Closed(CloseReason::KeepAliveTimeout)]
    );
    assert!(!CloseReason::KeepAliveTimeout.is_clean());
}

#[test]
fn hub_keep_alive_is_capped() {
    let mut pair = Pair::connected(ClientConfig::default(), u16::MAX);
    assert_eq!(
        pair.server.keep_alive_timeout(),
        Some(Duration::from_secs(1767))
    );
    pair.c2s_up = false;
    pair.advance(Duration::from_secs(1767));
    assert_eq!(
        pair.take_server_events(),
        vec![ServerEvent::Closed(CloseReason::KeepAliveTimeout)]
    );
}

#[test]
fn hub_connect_timeout() {
    let mut s = ServerSession::new(ServerConfig::default(), 5 * SECOND);
    assert_eq!(s.poll_timeout(), Some(35 * SECOND));
    s.handle_timeout(34 * SECOND);
    assert_eq!(s.poll_event(), None);
    s.handle_timeout(35 * SECOND);
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Closed(CloseReason::ConnectTimeout))
    );
    assert_eq!(s.state(), SessionState::Closed);
}

#[test]
fn connack_timeout() {
    let mut pair = Pair::new(ClientConfig::default());
    pair.policy.connect = None;
    pair.connect(60);
    assert!(pair.take_client_events().is_empty());
    assert_eq!(pair.client.state(), ClientState::Connecting);
    assert_eq!(pair.advance_to_next_timer(), 30 * SECOND);
    assert_eq!(
        pair.take_client_events(),
        vec![Event::Disconnected(DisconnectReason::ConnAckTimeout)]
    );
}

#[test]
fn qos0_both_ways() {
    let mut pair = Pair::connected(ClientConfig::default(), 60);
    assert_eq!(pair.publish(QoS::AtMostOnce, b"hello"), None);
    let events = pair.take_server_events();
    let [ServerEvent::Publish(p)] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(
        (p.qos, p.packet_id, &p.payload[..]),
        (QoS::AtMostOnce, None, &b"hello"[..])
    );
    assert_eq!(p.topic, topic());

    let sent = pair
        .server
        .publish(
            pair.now,
            c2d_topic(),
            Bytes::from_static(b"c2d"),
            QoS::AtMostOnce,
            false,
        )
        .expect("publish");
    assert_eq!(sent, None);
    pair.drive();
    let events = pair.take_client_events();
    let [Event::Message(m)] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!((m.qos, &m.payload[..]), (QoS::AtMostOnce, &b"c2d"[..]));
    assert_eq!(m.topic, c2d_topic());
    // No acknowledgement for QoS 0.
    assert!(!pair
        .c2s_packets
        .iter()
        .any(|p| matches!(p, Packet::PubAck(_))));
}

#[test]
fn qos1_client_to_hub() {
    let mut pair = Pair::connected(ClientConfig::default(), 60);
    let id1 = pair.publish(QoS::AtLeastOnce, b"one").expect("id");
    let id2 = pair.publish(QoS::AtLeastOnce, b"two").expect("id");
    assert_ne!(id1, id2);
    assert_eq!(
        pair.take_client_events(),
        vec![
            Event::Published { packet_id: id1 },
            Event::Published { packet_id: id2 }
        ]
    );
    assert_eq!(pair.client.inflight_len(), 0);
    assert_eq!(
        published_ids(&pair.take_server_events()),
        vec![(id1.get(), false), (id2.get(), false)]
    );
}

#[test]
fn hub_acks_in_receive_order_even_when_the_host_acks_out_of_order() {
    let mut pair = Pair::connected(ClientConfig::default(), 60);
    pair.policy.ack_publishes = false;
    let ids: Vec<PacketId> = (0..3)
        .map(|_| pair.publish(QoS::AtLeastOnce, b"m").expect("id"))
        .collect();
    assert_eq!(pair.server.state(), SessionState::Connected);
    // The host stores message 3 first, then 1, then 2.
    pair.server.ack_publish(pair.now, ids[2]).expect("ack");
    pair.drive();
    assert!(pair.take_client_events().is_empty(), "PUBACK 3 is held");
    pair.server.ack_publish(pair.now, ids[0]).expect("ack");
    pair.drive();
    assert_eq!(
        pair.take_client_events(),
        vec![Event::Published { packet_id: ids[0] }]
    );
    pair.server.ack_publish(pair.now, ids[1]).expect("ack");
    pair.drive();
    assert_eq!(
        pair.take_client_events(),
        vec![
            Event::Published { packet_id: ids[1] },
            Event::Published { packet_id: ids[2] }
        ]
    );
    let acks: Vec<_> = pair
        .s2c_packets
        .iter()
        .filter_map(|p| match p {
            Packet::PubAck(a) => Some(a.packet_id),
            _ => None,
        })
        .collect();
    assert_eq!(acks, ids);
    // Acking twice is refused.
    assert_eq!(
        pair.server.ack_publish(pair.now, ids[0]),
        Err(CommandError::UnknownPacketId(ids[0]))
    );
}

#[test]
fn qos1_hub_to_client_with_explicit_in_order_acks() {
    let config = ClientConfig {
        auto_ack: false,
        ..ClientConfig::default()
    };
    let mut pair = Pair::connected(config, 60);
    let ids: Vec<PacketId> = (0..3)
        .map(|i| {
            pair.server
                .publish(
                    pair.now,
                    c2d_topic(),
                    Bytes::from(vec![i]),
                    QoS::AtLeastOnce,
                    false,
                )
                .expect("publish")
                .expect("id")
        })
        .collect();
    pair.drive();
    assert_eq!(pair.server.inflight_len(), 3);
    let events = pair.take_client_events();
    assert_eq!(events.len(), 3);
    for (e, i) in events.iter().zip(&ids) {
        let Event::Message(m) = e else {
            panic!("{e:?}")
        };
        assert_eq!(m.packet_id, Some(*i));
        assert_eq!(m.qos, QoS::AtLeastOnce);
    }
    // The application completes message 2 first: nothing goes out yet.
    pair.client.ack(pair.now, ids[1]).expect("ack");
    pair.drive();
    assert!(pair.take_server_events().is_empty());
    pair.client.ack(pair.now, ids[0]).expect("ack");
    pair.client.ack(pair.now, ids[2]).expect("ack");
    pair.drive();
    assert_eq!(
        pair.take_server_events(),
        ids.iter()
            .map(|&packet_id| ServerEvent::PubAck { packet_id })
            .collect::<Vec<_>>()
    );
    assert_eq!(pair.server.inflight_len(), 0);
    assert_eq!(
        pair.client.ack(pair.now, ids[0]),
        Err(CommandError::UnknownPacketId(ids[0]))
    );
}

#[test]
fn qos1_hub_to_client_auto_ack() {
    let mut pair = Pair::connected(ClientConfig::default(), 60);
    let id = pair
        .server
        .publish(
            pair.now,
            c2d_topic(),
            Bytes::from_static(b"x"),
            QoS::AtLeastOnce,
            false,
        )
        .expect("publish")
        .expect("id");
    pair.drive();
    assert!(matches!(
        pair.take_client_events().as_slice(),
        [Event::Message(_)]
    ));
    assert_eq!(
        pair.take_server_events(),
        vec![ServerEvent::PubAck { packet_id: id }]
    );
}

#[test]
fn hub_reports_out_of_order_pubacks() {
    let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    let connect = Packet::Connect(Connect::new(MqttString::new("d").expect("valid")));
    s.handle_bytes(Duration::ZERO, &connect.to_bytes().expect("encodes"))
        .expect("valid");
    assert!(matches!(s.poll_event(), Some(ServerEvent::Connect(_))));
    s.accept(Duration::ZERO, false).expect("accept");
    let a = s
        .publish(
            Duration::ZERO,
            c2d_topic(),
            Bytes::new(),
            QoS::AtLeastOnce,
            false,
        )
        .expect("publish")
        .expect("id");
    let b = s
        .publish(
            Duration::ZERO,
            c2d_topic(),
            Bytes::new(),
            QoS::AtLeastOnce,
            false,
        )
        .expect("publish")
        .expect("id");
    let ack = |id: PacketId| {
        Packet::PubAck(hubwire_mqtt::PubAck::new(id))
            .to_bytes()
            .expect("encodes")
    };
    s.handle_bytes(Duration::ZERO, &ack(b)).expect("valid");
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::PubAckOutOfOrder {
            packet_id: b,
            expected: a
        })
    );
    assert_eq!(s.poll_event(), Some(ServerEvent::PubAck { packet_id: b }));
    s.handle_bytes(Duration::ZERO, &ack(a)).expect("valid");
    assert_eq!(s.poll_event(), Some(ServerEvent::PubAck { packet_id: a }));
    // An ack for nothing in flight is a protocol violation.
    let err = s
        .handle_bytes(Duration::ZERO, &ack(a))
        .expect_err("unknown id");
    assert_eq!(
        err,
        ProtocolError::UnknownPacketId {
            packet_type: hubwire_mqtt::PacketType::PubAck,
            packet_id: a
        }
    );
    assert_eq!(
        s.poll_event(),
        Some(ServerEvent::Closed(CloseReason::Protocol(err.clone())))
    );
    // Sticky.
    assert_eq!(s.handle_bytes(Duration::ZERO, &[0xc0, 0x00]), Err(err));
}

#[test]
fn inflight_window_gives_backpressure() {
    let config = ClientConfig {
        max_inflight: 2,
        ..ClientConfig::default()
    };
    let mut pair = Pair::connected(config, 60);
    pair.policy.ack_publishes = false;
    let a = pair.publish(QoS::AtLeastOnce, b"a").expect("id");
    let _b = pair.publish(QoS::AtLeastOnce, b"b").expect("id");
    assert_eq!(
        pair.client
            .publish(pair.now, topic(), Bytes::new(), QoS::AtLeastOnce, false),
        Err(CommandError::InflightFull(2))
    );
    // QoS 0 is not limited by the window.
    assert_eq!(pair.publish(QoS::AtMostOnce, b"q0"), None);
    pair.server.ack_publish(pair.now, a).expect("ack");
    pair.drive();
    assert_eq!(
        pair.take_client_events(),
        vec![Event::Published { packet_id: a }]
    );
    assert!(pair.publish(QoS::AtLeastOnce, b"c").is_some());
    assert_eq!(
        pair.client
            .publish(pair.now, topic(), Bytes::new(), QoS::ExactlyOnce, false),
        Err(CommandError::QoS2NotSupported)
    );
}

#[test]
fn hub_inflight_window() {
    let mut s = ServerSession::new(
        ServerConfig {
            max_inflight: 1,
            ..ServerConfig::default()
        },
        Duration::ZERO,
    );
    let connect = Packet::Connect(Connect::new(MqttString::new("d").expect("valid")));
    s.handle_bytes(Duration::ZERO, &connect.to_bytes().expect("encodes"))
        .expect("valid");
    s.accept(Duration::ZERO, false).expect("accept");
    assert!(s
        .publish(
            Duration::ZERO,
            c2d_topic(),
            Bytes::new(),
            QoS::AtLeastOnce,
            false
        )
        .is_ok());
    assert_eq!(
        s.publish(
            Duration::ZERO,
            c2d_topic(),
            Bytes::new(),
            QoS::AtLeastOnce,
            false
        ),
        Err(CommandError::InflightFull(1))
    );
    assert_eq!(
        s.publish(
            Duration::ZERO,
            c2d_topic(),
            Bytes::new(),
            QoS::ExactlyOnce,
            false
        ),
        Err(CommandError::QoS2NotSupported)
    );
}

#[test]
fn packet_ids_skip_ids_still_in_use() {
    let config = ClientConfig {
        max_inflight: 10,
        ..ClientConfig::default()
    };
    let mut pair = Pair::connected(config, 0);
    pair.policy.ack_publishes = false;
    // Id 1 stays unacknowledged for the whole test.
    let held = pair.publish(QoS::AtLeastOnce, b"held").expect("id");
    assert_eq!(held, id(1));
    let mut allocated = Vec::new();
    for _ in 0..u16::MAX {
        let got = pair
            .client
            .publish(pair.now, topic(), Bytes::new(), QoS::AtLeastOnce, false)
            .expect("publish")
            .expect("id");
        allocated.push(got.get());
        // Ack with a raw PUBACK written straight to the client (the hub session would hold
        // it behind id 1, since it acks in order).
        let ack = Packet::PubAck(hubwire_mqtt::PubAck::new(got))
            .to_bytes()
            .expect("encodes");
        pair.client.handle_bytes(pair.now, &ack).expect("valid");
        let _ = pair.client.poll_transmit(&mut Vec::new());
    }
    // 2..=65535, then the counter wraps and skips 1, which is still in flight.
    let expected: Vec<u16> = (2..=u16::MAX).chain([2]).collect();
    assert_eq!(allocated, expected);
    assert_eq!(pair.client.inflight_len(), 1);
}

#[test]
fn packet_ids_exhausted() {
    let mut client = Client::new(ClientConfig {
        max_inflight: 100_000,
        ..ClientConfig::default()
    });
    // QoS 1 messages are stored while disconnected; each holds an id.
    for _ in 0..u16::MAX {
        client
            .publish(
                Duration::ZERO,
                topic(),
                Bytes::new(),
                QoS::AtLeastOnce,
                false,
            )
            .expect("publish");
    }
    assert_eq!(
        client.publish(
            Duration::ZERO,
            topic(),
            Bytes::new(),
            QoS::AtLeastOnce,
            false
        ),
        Err(CommandError::PacketIdsExhausted)
    );
}

#[test]
fn resend_with_dup_after_reconnect() {
    let mut pair = Pair::connected(ClientConfig::default(), 60);
    pair.policy.ack_publishes = false;
    let ids: Vec<PacketId> = (0..3)
        .map(|_| pair.publish(QoS::AtLeastOnce, b"m").expect("id"))
        .collect();
    assert_eq!(
        published_ids(&pair.take_server_events()),
        ids.iter().map(|i| (i.get(), false)).collect::<Vec<_>>()
    );
    // The transport drops.
    pair.client.handle_transport_closed(pair.now);
    pair.drive();
    assert_eq!(
        pair.take_client_events(),
        vec![Event::Disconnected(DisconnectReason::TransportClosed)]
    );
    assert_eq!(pair.client.inflight_len(), 3);
    // A QoS 1 publish while offline is stored (never sent, so DUP stays 0).
    let offline = pair
        .client
        .publish(
            pair.now,
            topic(),
            Bytes::from_static(b"off"),
            QoS::AtLeastOnce,
            false,
        )
        .expect("publish")
        .expect("id");
    assert_eq!(
        pair.client
            .publish(pair.now, topic(), Bytes::new(), QoS::AtMostOnce, false),
        Err(CommandError::NotConnected)
    );
    pair.advance(5 * SECOND);
    pair.new_transport();
    pair.policy.ack_publishes = true;
    pair.c2s_packets.clear();
    pair.connect(60);
    // CONNECT first, then the re-sends in original order with DUP=1, then the new one.
    assert!(matches!(pair.c2s_packets.first(), Some(Packet::Connect(_))));
    let mut expected: Vec<(u16, bool)> = ids.iter().map(|i| (i.get(), true)).collect();
    expected.push((offline.get(), false));
    assert_eq!(published_ids(&pair.take_server_events()), expected);
    let mut events = pair.take_client_events();
    assert_eq!(
        events.remove(0),
        Event::Connected {
            session_present: false
        }
    );
    let mut all = ids.clone();
    all.push(offline);
    assert_eq!(
        events,
        all.iter()
            .map(|&packet_id| Event::Published { packet_id })
            .collect::<Vec<_>>()
    );
    assert_eq!(pair.client.inflight_len(), 0);
}

#[test]
fn subscribe_with_failure_code() {
    let mut pair = Pair::connected(ClientConfig::default(), 60);
    let c2d = TopicFilter::new("devices/device1/messages/devicebound/#").expect("valid");
    let denied = TopicFilter::new("deny/#").expect("valid");
    let twin = TopicFilter::new("$iothub/twin/res/#").expect("valid");
    let pid = pair
        .client
        .subscribe(
            pair.now,
            vec![
                SubscribeFilter::new(c2d.clone(), QoS::AtLeastOnce),
                SubscribeFilter::new(denied.clone(), QoS::AtLeastOnce),
                SubscribeFilter::new(twin.clone(), QoS::AtMostOnce),
            ],
        )
        .expect("subscribe");
    pair.drive();
    let events = pair.take_server_events();
    let [ServerEvent::Subscribe(s)] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!(s.packet_id, pid);
    assert_eq!(s.filters.len(), 3);
    assert_eq!(
        pair.take_client_events(),
        vec![Event::Subscribed {
            packet_id: pid,
            results: vec![
                (c2d, SubscribeReturnCode::Success(QoS::AtLeastOnce)),
                (denied, SubscribeReturnCode::Failure),
                (twin, SubscribeReturnCode::Success(QoS::AtMostOnce)),
            ],
        }]
    );
    assert_eq!(
        pair.client.subscribe(
            pair.now,
            vec![SubscribeFilter::new(
                TopicFilter::new("a").expect("valid"),
                QoS::ExactlyOnce
            )]
        ),
        Err(CommandError::QoS2NotSupported)
    );
    assert_eq!(
        pair.client.subscribe(pair.now, vec![]),
        Err(CommandError::Encode(
            hubwire_mqtt::EncodeError::EmptySubscribe
        ))
    );
}

#[test]
fn grant_subscribe_checks_the_code_count() {
    let mut pair = Pair::connected(ClientConfig::default(), 60);
    pair.policy.grant_subscribes = false;
    let filter = TopicFilter::new("a/#").expect("valid");
    let pid = pair
        .client
        .subscribe(
            pair.now,
            vec![SubscribeFilter::new(filter, QoS::AtLeastOnce)],
        )
        .expect("subscribe");
    pair.drive();
    assert_eq!(
        pair.server.grant_subscribe(pair.now, pid, vec![]),
        Err(CommandError::ReturnCodeCountMismatch {
            expected: 1,
            got: 0
        })
    );
    assert_eq!(
        pair.server
            .grant_subscribe(pair.now, id(999), vec![SubscribeReturnCode::Failure]),
        Err(CommandError::UnknownPacketId(id(999)))
    );
    pair.server
        .grant_subscribe(pair.now, pid, vec![SubscribeReturnCode::Failure])
        .expect("grant");
    pair.drive();
    assert!(matches!(
        pair.take_client_events().as_slice(),
        [Event::Subscribed { results, .. }] if results[0].1 == SubscribeReturnCode::Failure
    ));
}

#[test]
fn unsubscribe() {
    let mut pair = Pair::connected(ClientConfig::default(), 60);
    let filter = TopicFilter::new("$iothub/methods/POST/#").expect("valid");
    let pid = pair
        .client
        .unsubscribe(pair.now, vec![filter.clone()])
        .expect("unsubscribe");
    pair.drive();
    let events = pair.take_server_events();
    let [ServerEvent::Unsubscribe(u)] = events.as_slice() else {
        panic!("{events:?}");
    };
    assert_eq!((u.packet_id, &u.filters), (pid, &vec![filter]));
    assert_eq!(
        pair.take_client_events(),
        vec![Event::Unsubscribed { packet_id: pid }]
    );
}

#[test]
fn clean_disconnect() {
    let mut pair = Pair::connected(ClientConfig::default(), 60);
    pair.client.disconnect(pair.now).expect("disconnect");
    pair.drive();
    assert_eq!(
        pair.take_client_events(),
        vec![Event::Disconnected(DisconnectReason::Local)]
    );
    assert!(DisconnectReason::Local.is_clean());
    assert_eq!(pair.c2s_packets, vec![Packet::Disconnect]);
    let events = pair.take_server_events();
    assert_eq!(
        events,
        vec![ServerEvent::Closed(CloseReason::ClientDisconnect)]
    );
    assert!(CloseReason::ClientDisconnect.is_clean());
    assert_eq!(pair.server.state(), SessionState::Closed);
    assert_eq!(
        pair.client.disconnect(pair.now),
        Err(CommandError::NotConnected)
    );
    // A transport close afterwards produces no second event.
    pair.client.handle_transport_closed(pair.now);
    assert!(pair.client.poll_event().is_none());
}

#[test]
fn hub_close_and_transport_loss() {
    let mut pair = Pair::connected(ClientConfig::default(), 60);
    pair.server.close(pair.now);
    assert_eq!(
        pair.server.poll_event(),
        Some(ServerEvent::Closed(CloseReason::Local))
    );
    pair.client.handle_transport_closed(pair.now);
    assert_eq!(
        pair.client.poll_event(),
        Some(Event::Disconnected(DisconnectReason::TransportClosed))
    );
}

#[test]
fn qos2_publish_is_a_protocol_violation_at_the_hub() {
    let mut pair = Pair::connected(ClientConfig::default(), 60);
    let mut p = Publish::new(topic(), Bytes::from_static(b"x"));
    p.qos = QoS::ExactlyOnce;
    p.packet_id = Some(id(9));
    let bytes = Packet::Publish(p).to_bytes().expect("encodes");
    assert_eq!(
        pair.server.handle_bytes(pair.now, &bytes),
        Err(ProtocolError::QoS2NotSupported)
    );
    assert_eq!(
        pair.server.poll_event(),
        Some(ServerEvent::Closed(CloseReason::Protocol(
            ProtocolError::QoS2NotSupported
        )))
    );
}

#[test]
fn client_protocol_errors_are_sticky_until_reconnect() {
    let mut pair = Pair::connected(ClientConfig::default(), 60);
    // A server must never send SUBSCRIBE.
    let err = pair
        .client
        .handle_bytes(pair.now, &[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00])
        .expect_err("violation");
    assert_eq!(
        err,
        ProtocolError::UnexpectedPacket(hubwire_mqtt::PacketType::Subscribe)
    );
    assert_eq!(
        pair.client.poll_event(),
        Some(Event::Disconnected(DisconnectReason::Protocol(err.clone())))
    );
    assert_eq!(pair.client.handle_bytes(pair.now, &[0xd0, 0x00]), Err(err));
    // Garbage is a decode error.
    pair.new_transport();
    pair.connect(60);
    pair.take_client_events();
    let err = pair
        .client
        .handle_bytes(pair.now, &[0xf0, 0x00])
        .expect_err("garbage");
    assert!(matches!(err, ProtocolError::Decode(_)));
    // PUBACK for an id that is not in flight.
    pair.new_transport();
    pair.connect(60);
    pair.take_client_events();
    let err = pair
        .client
        .handle_bytes(pair.now, &[0x40, 0x02, 0x00, 0x63])
        .expect_err("unknown id");
    assert!(matches!(err, ProtocolError::UnknownPacketId { .. }));
}

#[test]
fn first_packet_from_the_server_must_be_connack() {
    let mut client = Client::new(ClientConfig::default());
    client
        .connect(
            Duration::ZERO,
            Connect::new(MqttString::new("d").expect("valid")),
        )
        .expect("connect");
    assert_eq!(
        client.handle_bytes(Duration::ZERO, &[0xd0, 0x00]),
        Err(ProtocolError::UnexpectedPacket(
            hubwire_mqtt::PacketType::PingResp
        ))
    );
}

#[test]
fn hub_holds_packets_until_connect_is_answered() {
    let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    let mut bytes = Vec::new();
    Packet::Connect(Connect::new(MqttString::new("d").expect("valid")))
        .encode(&mut bytes)
        .expect("encodes");
    Packet::Publish(Publish::new(topic(), Bytes::from_static(b"early")))
        .encode(&mut bytes)
        .expect("encodes");
    Packet::PingReq.encode(&mut bytes).expect("encodes");
    s.handle_bytes(Duration::ZERO, &bytes).expect("valid");
    assert!(matches!(s.poll_event(), Some(ServerEvent::Connect(_))));
    assert_eq!(s.poll_event(), None, "held until accepted");
    let mut out = Vec::new();
    assert_eq!(s.poll_transmit(&mut out), 0, "no PINGRESP before CONNACK");
    s.accept(Duration::ZERO, true).expect("accept");
    assert!(matches!(s.poll_event(), Some(ServerEvent::Publish(p)) if &p.payload[..] == b"early"));
    assert_eq!(s.poll_transmit(&mut out), 6);
    assert_eq!(out, [0x20, 0x02, 0x01, 0x00, 0xd0, 0x00]);
}

#[test]
fn hub_rejects_anything_before_connect_and_a_second_connect() {
    let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    assert_eq!(
        s.handle_bytes(Duration::ZERO, &[0xc0, 0x00]),
        Err(ProtocolError::UnexpectedPacket(
            hubwire_mqtt::PacketType::PingReq
        ))
    );
    let connect = Packet::Connect(Connect::new(MqttString::new("d").expect("valid")))
        .to_bytes()
        .expect("encodes");
    let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    s.handle_bytes(Duration::ZERO, &connect).expect("valid");
    s.accept(Duration::ZERO, false).expect("accept");
    assert_eq!(
        s.handle_bytes(Duration::ZERO, &connect),
        Err(ProtocolError::UnexpectedPacket(
            hubwire_mqtt::PacketType::Connect
        ))
    );
}

#[test]
fn hub_answers_an_unsupported_level_with_connack_1() {
    let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    // CONNECT with protocol level 5.
    let bytes = [
        0x10, 0x0d, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x05, 0x02, 0x00, 0x3c, 0x00, 0x01, b'd',
    ];
    assert!(s.handle_bytes(Duration::ZERO, &bytes).is_err());
    let mut out = Vec::new();
    let _ = s.poll_transmit(&mut out);
    assert_eq!(out, [0x20, 0x02, 0x00, 0x01]);
}

#[test]
fn hub_max_packet_size() {
    let mut s = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    let connect = Packet::Connect(Connect::new(MqttString::new("d").expect("valid")))
        .to_bytes()
        .expect("encodes");
    s.handle_bytes(Duration::ZERO, &connect).expect("valid");
    s.accept(Duration::ZERO, false).expect("accept");
    // Just the header of a 1 MiB PUBLISH.
    let err = s
        .handle_bytes(Duration::ZERO, &[0x30, 0x80, 0x80, 0x40])
        .expect_err("too large");
    assert!(matches!(
        err,
        ProtocolError::Decode(hubwire_mqtt::DecodeError::PacketTooLarge { .. })
    ));
}

#[test]
fn byte_counters_follow_the_wire() {
    let mut pair = Pair::connected(ClientConfig::default(), 60);
    let before = pair.client.stats();
    pair.publish(QoS::AtLeastOnce, b"0123456789");
    let after = pair.client.stats();
    let publish_len = 2 + 2 + topic().len() + 2 + 10;
    assert_eq!(after.bytes_sent - before.bytes_sent, publish_len as u64);
    assert_eq!(after.bytes_received - before.bytes_received, 4, "PUBACK");
    assert_eq!(pair.server.stats().bytes_received, after.bytes_sent);
    assert_eq!(pair.server.stats().bytes_sent, after.bytes_received);
    // A new connection starts new counters.
    pair.client.handle_transport_closed(pair.now);
    pair.new_transport();
    pair.connect(60);
    assert_eq!(pair.client.stats().bytes_received, 4);
}

#[test]
fn chunking_does_not_matter() {
    for chunk in [1, 2, 3, 7, 64, 4096] {
        let mut pair = Pair::new(ClientConfig::default());
        pair.chunk = chunk;
        pair.connect(30);
        pair.publish(QoS::AtLeastOnce, b"payload");
        let events = pair.take_client_events();
        assert!(
            matches!(
                events.as_slice(),
                [Event::Connected { .. }, Event::Published { .. }]
            ),
            "chunk {chunk}: {events:?}"
        );
    }
}

#[test]
fn core_debug_output_never_shows_the_password() {
    let secret = "SharedAccessSignature sr=hub&sig=TOPSECRETSIG";
    let mut connect = Connect::new(MqttString::new("device1").expect("valid"));
    connect.username = Some(MqttString::new("hub/device1/?api-version=2021-04-12").expect("valid"));
    connect.password = Some(hubwire_mqtt::Password::from(secret));
    let bytes = Packet::Connect(connect.clone())
        .to_bytes()
        .expect("encodes");

    let mut client = Client::new(ClientConfig::default());
    client.connect(Duration::ZERO, connect).expect("connect");
    let text = format!("{client:?}");
    assert!(!text.contains("TOPSECRET"), "{text}");
    // Not even as a list of byte values: "84, 79, 80" is "TOP".
    assert!(!text.contains("84, 79, 80"), "{text}");

    // A hub session holding half a CONNECT in its decoder.
    let mut server = ServerSession::new(ServerConfig::default(), Duration::ZERO);
    server
        .handle_bytes(Duration::ZERO, &bytes[..bytes.len() - 3])
        .expect("valid so far");
    let text = format!("{server:?}");
    assert!(
        !text.contains("TOPSECRET") && !text.contains("84, 79, 80"),
        "{text}"
    );
    let mut decoder = hubwire_mqtt::Decoder::default();
    let mut input = &bytes[..bytes.len() - 1];
    assert_eq!(decoder.decode(&mut input), Ok(None));
    let text = format!("{decoder:?}");
    assert!(
        !text.contains("TOPSECRET") && !text.contains("84, 79, 80"),
        "{text}"
    );
    // The event surfaced to the host redacts too.
    server
        .handle_bytes(Duration::ZERO, &bytes[bytes.len() - 3..])
        .expect("valid");
    let event = server.poll_event().expect("connect event");
    assert!(!format!("{event:?}").contains("TOPSECRET"));
}
