//! The AMQP engine, client against hub, in memory with a simulated clock.

mod engine_support;

use std::time::Duration;

use engine_support::{message, Pair, Rng};
use hubwire_amqp::engine::{
    CbsClient, ClientSasl, CloseReason, CommandError, ConnectionConfig, ConnectionState, Event,
    LinkOptions, ProtocolError, PutToken, PutTokenResult, ServerSasl, SessionOptions,
};
use hubwire_amqp::{
    encode_amqp_frame, AmqpError, Bytes, DeliveryState, ErrorCondition, FrameError, Message,
    Modified, ProtocolHeader, Rejected, Role, SaslCode, SenderSettleMode, Str, Symbol, Transfer,
};

fn err(condition: ErrorCondition, text: &'static str) -> AmqpError {
    AmqpError::new(condition, Some(Str::from_static(text)))
}

fn closed(events: &[Event]) -> Vec<CloseReason> {
    events_of!(events, Event::Closed(r) => r.clone())
}

// ---------------------------------------------------------------- handshakes

#[test]
fn no_sasl_handshake_negotiates_open() {
    let mut p = Pair::iot(ClientSasl::None);
    p.drive();
    assert!(p.client.is_open() && p.hub.is_open());
    // The client's first bytes are the plain AMQP header.
    assert_eq!(p.client_wire[..8], ProtocolHeader::AMQP.to_bytes());
    assert_eq!(p.hub_wire[..8], ProtocolHeader::AMQP.to_bytes());
    assert_eq!(p.client.sasl_mechanism(), None);

    // The hub's OPEN carries the IoT Hub values.
    let hub_open = p.client.remote_open().expect("hub open");
    assert_eq!(hub_open.container_id, "DeviceGateway_0123456789abcdef");
    assert_eq!(hub_open.max_frame_size, 65536);
    assert_eq!(hub_open.channel_max, 8191);
    assert_eq!(hub_open.idle_time_out, Some(240_000));
    assert_eq!(
        hub_open.hostname.as_ref().map(Str::as_str),
        Some("localhost")
    );
    assert_eq!(p.client.peer_max_frame_size(), 65536);
    let client_open = p.hub.remote_open().expect("client open");
    assert_eq!(client_open.container_id, "device-container");
    assert_eq!(
        events_of!(p.client_events, Event::Opened { .. } => ()).len(),
        1
    );
    assert_eq!(
        events_of!(p.hub_events, Event::Opened { .. } => ()).len(),
        1
    );
    // Counters agree across the wire.
    assert_eq!(p.client.stats().bytes_sent, p.hub.stats().bytes_received);
    assert_eq!(p.hub.stats().bytes_sent, p.client.stats().bytes_received);
    assert_eq!(p.client.stats().frames_sent, p.hub.stats().frames_received);
    assert_eq!(p.client.stats().bytes_sent, p.client_wire.len() as u64);
}

#[test]
fn sasl_anonymous_and_mssbcbs_handshakes() {
    for (sasl, name) in [
        (ClientSasl::Anonymous, "ANONYMOUS"),
        (ClientSasl::MsSbCbs, "MSSBCBS"),
    ] {
        let mut p = Pair::iot(sasl);
        p.rechunk(7, 3);
        p.drive();
        assert!(p.client.is_open() && p.hub.is_open(), "{name}");
        assert_eq!(p.client_wire[..8], ProtocolHeader::SASL.to_bytes());
        assert_eq!(p.client.sasl_mechanism().map(Symbol::as_str), Some(name));
        assert_eq!(p.hub.sasl_mechanism().map(Symbol::as_str), Some(name));
        let done =
            events_of!(p.hub_events, Event::SaslCompleted { mechanism } => mechanism.clone());
        assert_eq!(done.len(), 1);
        assert_eq!(done[0], name);
        assert_eq!(
            events_of!(p.client_events, Event::SaslCompleted { .. } => ()).len(),
            1
        );
    }
}

#[test]
fn sasl_plain_accepted_by_host() {
    let token = "SharedAccessSignature sr=hub.azure-devices.net%2Fdevices%2Fd1&sig=abc&se=99";
    let mut p = Pair::iot(ClientSasl::plain("d1@sas.hub", token));
    assert!(!format!("{:?}", ClientSasl::plain("u", token)).contains("sig=abc"));
    p.drive();
    assert_eq!(p.hub.state(), ConnectionState::SaslDecision);
    assert!(!p.client.is_open());
    let creds = events_of!(p.hub_events, Event::SaslPlain(c) => c.clone());
    assert_eq!(creds.len(), 1);
    assert_eq!(creds[0].username, "d1@sas.hub");
    assert_eq!(creds[0].password, token);
    assert_eq!(creds[0].authzid, None);
    assert!(!format!("{:?}", creds[0]).contains("sig=abc"));
    // Nothing moves until the host decides; then the connection opens.
    p.advance(Duration::from_secs(5));
    assert!(!p.client.is_open());
    p.hub.sasl_accept(p.now).expect("accept");
    p.drive();
    assert!(p.client.is_open() && p.hub.is_open());
    assert_eq!(p.client.sasl_mechanism().map(Symbol::as_str), Some("PLAIN"));
    // A second decision is misuse.
    assert_eq!(p.hub.sasl_accept(p.now), Err(CommandError::InvalidState));
}

#[test]
fn sasl_plain_refused_by_host() {
    let mut p = Pair::iot(ClientSasl::plain("d1@sas.hub", "wrong"));
    p.drive();
    p.hub.sasl_reject(p.now, SaslCode::Auth).expect("reject");
    p.drive();
    assert_eq!(
        closed(&p.client_events),
        [CloseReason::SaslFailed(SaslCode::Auth)]
    );
    assert_eq!(
        closed(&p.hub_events),
        [CloseReason::SaslFailed(SaslCode::Auth)]
    );
    assert!(p.client.is_closed() && p.hub.is_closed());
    assert!(p.client_error.is_none() && p.hub_error.is_none());
    assert!(!closed(&p.client_events)[0].is_clean());
}

#[test]
fn sasl_mechanism_not_offered() {
    let mut p = Pair::new(
        ConnectionConfig::new("c"),
        ClientSasl::plain("u", "p"),
        ConnectionConfig::iot_hub("h"),
        ServerSasl {
            mechanisms: vec![Symbol::new("ANONYMOUS").unwrap()],
            allow_no_sasl: false,
        },
    );
    p.drive();
    assert_eq!(
        closed(&p.client_events),
        [CloseReason::SaslMechanismUnavailable]
    );
    // The hub is still waiting for an init that will never come; its handshake timer ends it.
    assert!(!p.hub.is_closed());
    p.advance(Duration::from_secs(31));
    assert_eq!(closed(&p.hub_events), [CloseReason::HandshakeTimeout]);
}

#[test]
fn hub_requiring_sasl_refuses_the_plain_header() {
    let mut p = Pair::new(
        ConnectionConfig::new("c"),
        ClientSasl::None,
        ConnectionConfig::iot_hub("h"),
        ServerSasl {
            allow_no_sasl: false,
            ..ServerSasl::iot_hub()
        },
    );
    p.drive();
    // AMQP 2.2: the hub answers with the header it supports and closes.
    assert_eq!(p.hub_wire, ProtocolHeader::SASL.to_bytes());
    assert_eq!(
        closed(&p.hub_events)[0].refused_header(),
        Some(ProtocolHeader::AMQP)
    );
    assert_eq!(
        p.client_error,
        Some(ProtocolError::Header(ProtocolHeader::SASL))
    );
    assert!(p.client.is_closed());
}

#[test]
fn hub_without_sasl_refuses_the_sasl_header() {
    let mut p = Pair::new(
        ConnectionConfig::new("c"),
        ClientSasl::Anonymous,
        ConnectionConfig::iot_hub("h"),
        ServerSasl::none(),
    );
    p.drive();
    assert_eq!(p.hub_wire, ProtocolHeader::AMQP.to_bytes());
    assert_eq!(
        p.hub_error,
        Some(ProtocolError::Header(ProtocolHeader::SASL))
    );
    assert!(p.client.is_closed() && p.hub.is_closed());
}

#[test]
fn frame_size_and_channel_max_negotiation() {
    let mut client = ConnectionConfig::new("c");
    client.max_frame_size = 4096;
    client.channel_max = 1;
    let mut p = Pair::new(
        client,
        ClientSasl::None,
        ConnectionConfig::iot_hub("h"),
        ServerSasl::iot_hub(),
    );
    p.drive();
    assert_eq!(p.hub.peer_max_frame_size(), 4096);
    assert_eq!(p.client.peer_max_frame_size(), 65536);
    // Channels 0 and 1 only.
    let a = p
        .client
        .open_session(p.now, SessionOptions::default())
        .unwrap();
    let b = p
        .client
        .open_session(p.now, SessionOptions::default())
        .unwrap();
    assert_eq!((a.channel(), b.channel()), (0, 1));
    assert_eq!(
        p.client.open_session(p.now, SessionOptions::default()),
        Err(CommandError::ChannelsExhausted)
    );
    p.drive();
    assert_eq!(
        events_of!(p.hub_events, Event::SessionBegun { by_peer: true, .. } => ()).len(),
        2
    );
}

// ---------------------------------------------------------------- timers

#[test]
fn heartbeats_keep_an_idle_connection_alive() {
    let mut p = Pair::iot(ClientSasl::None);
    p.drive();
    let frames_before = p.hub.stats().frames_received;
    // The hub advertised 240 s: the client sends an empty frame 120 s after its last frame.
    let last_sent = p.now;
    assert_eq!(
        p.client.poll_timeout(),
        Some(last_sent + Duration::from_secs(120))
    );
    p.advance(Duration::from_secs(3600));
    assert!(p.client.is_open() && p.hub.is_open());
    let heartbeats = p.hub.stats().frames_received - frames_before;
    assert_eq!(heartbeats, 30, "one empty frame per 120 s");
    assert!(closed(&p.client_events).is_empty() && closed(&p.hub_events).is_empty());
}

#[test]
fn silent_peer_is_declared_dead_after_our_idle_timeout() {
    let mut p = Pair::iot(ClientSasl::None);
    p.drive();
    let opened_at = p.now;
    p.client_muted = true; // the client's frames (heartbeats included) are lost
    p.advance(Duration::from_secs(239));
    assert!(p.hub.is_open());
    p.advance(Duration::from_secs(2));
    assert_eq!(closed(&p.hub_events), [CloseReason::IdleTimeout]);
    // The hub's CLOSE tells the client why.
    let client_close = closed(&p.client_events);
    match &client_close[..] {
        [CloseReason::Remote(Some(e))] => {
            assert_eq!(e.condition, ErrorCondition::RESOURCE_LIMIT_EXCEEDED)
        }
        other => panic!("client saw {other:?}"),
    }
    assert!(p.now >= opened_at + Duration::from_secs(240));
}

#[test]
fn handshake_timeout_ends_a_silent_connection() {
    let mut p = Pair::iot(ClientSasl::None);
    p.client_muted = true;
    p.drive();
    assert_eq!(p.hub.poll_timeout(), Some(p.now + Duration::from_secs(30)));
    p.advance(Duration::from_secs(30));
    assert_eq!(closed(&p.hub_events), [CloseReason::HandshakeTimeout]);
    assert_eq!(p.hub.poll_timeout(), None);
}

#[test]
fn close_timeout_when_the_peer_never_answers() {
    let mut p = Pair::iot(ClientSasl::None);
    p.drive();
    p.hub_muted = true;
    p.client.close(p.now, None).unwrap();
    p.drive();
    assert_eq!(p.client.state(), ConnectionState::CloseSent);
    assert_eq!(closed(&p.hub_events), [CloseReason::Remote(None)]);
    p.advance(Duration::from_secs(31));
    assert_eq!(closed(&p.client_events), [CloseReason::CloseTimeout]);
}

// ---------------------------------------------------------------- sessions and links

#[test]
fn sessions_begin_and_end() {
    let mut p = Pair::iot(ClientSasl::Anonymous);
    let (s0, hub_s0) = p.open_with_session();
    let s1 = p
        .client
        .open_session(p.now, SessionOptions::default())
        .unwrap();
    p.drive();
    assert_ne!(s0.channel(), s1.channel());
    assert_eq!(p.client.session_count(), 2);
    let begun = events_of!(p.client_events, Event::SessionBegun { session, by_peer: false, remote } => (*session, remote.clone()));
    assert_eq!(begun.len(), 2);
    assert_eq!(begun[0].0, s0);
    assert_eq!(begun[0].1.remote_channel, Some(s0.channel()));
    assert_eq!(begun[0].1.incoming_window, 5000);

    p.client.end_session(p.now, s0, None).unwrap();
    assert_eq!(
        p.client.end_session(p.now, s0, None),
        Err(CommandError::SessionEnding)
    );
    p.drive();
    let ended = events_of!(p.client_events, Event::SessionEnded { session, by_peer, error } => (*session, *by_peer, error.clone()));
    assert_eq!(ended, [(s0, false, None)]);
    let hub_ended = events_of!(p.hub_events, Event::SessionEnded { session, by_peer, .. } => (*session, *by_peer));
    assert_eq!(hub_ended, [(hub_s0, true)]);
    assert_eq!(p.client.session_count(), 1);
    assert_eq!(p.hub.session_count(), 1);
    // The old id no longer works; a new session may reuse the channel.
    assert_eq!(
        p.client
            .attach_sender(p.now, s0, LinkOptions::sender("x", "y")),
        Err(CommandError::UnknownSession)
    );
    let s2 = p
        .client
        .open_session(p.now, SessionOptions::default())
        .unwrap();
    assert_eq!(s2.channel(), s0.channel());
    assert_ne!(s2, s0);
}

#[test]
fn sender_and_receiver_attach() {
    let mut p = Pair::iot(ClientSasl::Anonymous);
    let (s, _) = p.open_with_session();
    let mut props = hubwire_amqp::Fields::new();
    props.push(
        Symbol::new("com.microsoft:client-version").unwrap(),
        hubwire_amqp::Value::from("hubwire/0.1"),
    );
    let snd = p
        .client
        .attach_sender(
            p.now,
            s,
            LinkOptions {
                properties: Some(props.clone()),
                ..LinkOptions::sender("link-snd-d1", "/devices/d1/messages/events")
            },
        )
        .unwrap();
    let rcv = p
        .client
        .attach_receiver(
            p.now,
            s,
            LinkOptions::receiver("link-rcv-d1", "/devices/d1/messages/devicebound"),
        )
        .unwrap();
    p.drive();
    let requests = events_of!(p.hub_events, Event::AttachRequested { link, attach } => (*link, attach.clone()));
    assert_eq!(requests.len(), 2);
    let (hub_rcv, a) = &requests[0];
    assert_eq!(a.role, Role::Sender);
    assert_eq!(a.name, "link-snd-d1");
    assert_eq!(a.initial_delivery_count, Some(0));
    assert_eq!(a.properties, Some(props));
    assert_eq!(
        a.target
            .as_ref()
            .and_then(|t| t.address.as_ref())
            .map(Str::as_str),
        Some("/devices/d1/messages/events")
    );
    assert_eq!(p.hub.link_role(*hub_rcv), Some(Role::Receiver));
    let (hub_snd, b) = &requests[1];
    assert_eq!(b.role, Role::Receiver);
    assert_eq!(p.hub.link_role(*hub_snd), Some(Role::Sender));
    assert!(!p.client.is_attached(snd));

    p.hub_events.clear();
    p.hub
        .accept_attach(p.now, *hub_rcv, LinkOptions::default())
        .unwrap();
    p.hub
        .accept_attach(p.now, *hub_snd, LinkOptions::default())
        .unwrap();
    assert_eq!(
        p.hub.accept_attach(p.now, *hub_snd, LinkOptions::default()),
        Err(CommandError::LinkState)
    );
    p.drive();
    let attached = events_of!(p.client_events, Event::LinkAttached { link, remote } => (*link, remote.clone()));
    assert_eq!(attached.len(), 2);
    assert_eq!(attached[0].0, snd);
    // The hub mirrored name and target.
    assert_eq!(attached[0].1.name, "link-snd-d1");
    assert_eq!(attached[0].1.target, a.target);
    assert_eq!(attached[0].1.max_message_size, Some(1024 * 1024));
    assert!(p.client.is_attached(snd) && p.client.is_attached(rcv));
    // The hub's receiver granted 100 credits, the client's receiver too.
    assert_eq!(p.client.link_credit(snd), Some(100));
    assert_eq!(p.hub.link_credit(*hub_snd), Some(100));
    let flows =
        events_of!(p.client_events, Event::LinkFlow { link, credit, .. } => (*link, *credit));
    assert_eq!(flows, [(snd, 100)]);
    // Role misuse.
    assert_eq!(
        p.client.grant_credit(p.now, snd, 5, false),
        Err(CommandError::WrongRole)
    );
    assert_eq!(
        p.client
            .send(p.now, rcv, &Message::with_data(&b"x"[..]), false),
        Err(CommandError::WrongRole)
    );
}

#[test]
fn sender_blocks_at_zero_credit() {
    let mut p = Pair::iot(ClientSasl::None);
    let (s, _) = p.open_with_session();
    let hub_opts = LinkOptions {
        credit: 2,
        auto_credit: false,
        ..LinkOptions::default()
    };
    let (snd, hub_rcv) = p.sender_link(s, LinkOptions::sender("snd", "/q"), &hub_opts);
    assert_eq!(p.client.link_credit(snd), Some(2));
    let mut tags = Vec::new();
    for i in 0..3u8 {
        tags.push(
            p.client
                .send(p.now, snd, &Message::with_data(vec![i]), false)
                .unwrap(),
        );
    }
    p.drive();
    let got = events_of!(p.hub_events, Event::Delivery(d) => d.clone());
    assert_eq!(got.len(), 2);
    assert_eq!(p.client.link_credit(snd), Some(0));
    assert_eq!(p.client.queued(snd), 1);
    assert_eq!(p.hub.link_credit(hub_rcv), Some(0));
    assert_eq!(
        got[0].message().unwrap().body.single_data().unwrap()[..],
        [0]
    );
    assert_eq!(got[0].tag, tags[0]);
    assert_eq!(got[1].tag, tags[1]);

    p.hub_events.clear();
    p.hub.grant_credit(p.now, hub_rcv, 1, false).unwrap();
    p.drive();
    let got = events_of!(p.hub_events, Event::Delivery(d) => d.clone());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].tag, tags[2]);
    assert_eq!(
        got[0].message().unwrap().body.single_data().unwrap()[..],
        [2]
    );
    assert_eq!(p.client.queued(snd), 0);
    // Delivery-ids are consecutive on the session.
    assert_eq!(got[0].delivery_id, 2);
}

#[test]
fn at_least_once_send_gets_accepted() {
    let mut p = Pair::iot(ClientSasl::Anonymous);
    let (s, _) = p.open_with_session();
    let (snd, _) = p.sender_link(
        s,
        LinkOptions::sender("snd", "/events"),
        &LinkOptions::default(),
    );
    let tag = p
        .client
        .send(p.now, snd, &Message::with_data(&b"{\"t\":1}"[..]), false)
        .unwrap();
    p.drive();
    assert_eq!(p.client.unsettled(snd), 1);
    let bodies = p.hub_settle_all(DeliveryState::Accepted);
    assert_eq!(bodies.len(), 1);
    let outcomes = events_of!(p.client_events, Event::Outcome { link, tag, state, .. } => (*link, tag.clone(), state.clone()));
    assert_eq!(outcomes, [(snd, tag, Some(DeliveryState::Accepted))]);
    assert_eq!(p.client.unsettled(snd), 0);
}

#[test]
fn settled_send_needs_no_disposition() {
    let mut p = Pair::iot(ClientSasl::None);
    let (s, _) = p.open_with_session();
    let opts = LinkOptions {
        snd_settle_mode: Some(SenderSettleMode::Settled),
        ..LinkOptions::sender("twin", "/devices/d1/twin")
    };
    let (snd, hub_rcv) = p.sender_link(s, opts, &LinkOptions::default());
    assert_eq!(
        p.client
            .send(p.now, snd, &Message::with_data(&b" "[..]), false),
        Err(CommandError::SettleMode { settled: false })
    );
    p.client
        .send(p.now, snd, &Message::with_data(&b" "[..]), true)
        .unwrap();
    p.drive();
    let got = events_of!(p.hub_events, Event::Delivery(d) => d.clone());
    assert_eq!(got.len(), 1);
    assert!(got[0].settled);
    assert_eq!(p.hub.unsettled(hub_rcv), 0);
    assert_eq!(p.client.unsettled(snd), 0);
    // Settling a settled delivery is misuse.
    assert_eq!(
        p.hub.settle(
            p.now,
            hub_rcv,
            got[0].delivery_id,
            Some(DeliveryState::Accepted)
        ),
        Err(CommandError::UnknownDelivery(got[0].delivery_id))
    );
    assert!(events_of!(p.client_events, Event::Outcome { .. } => ()).is_empty());
}

#[test]
fn release_reject_and_modify_reach_the_sender() {
    let mut p = Pair::iot(ClientSasl::None);
    let (s, _) = p.open_with_session();
    // C2D: the hub sends, the device settles.
    let (rcv, hub_snd) = p.receiver_link(
        s,
        LinkOptions::receiver("c2d", "/devices/d1/messages/devicebound"),
        &LinkOptions::default(),
    );
    let lock_tokens: Vec<Bytes> = (0..3u8).map(|i| Bytes::from(vec![i; 16])).collect();
    for t in &lock_tokens {
        p.hub
            .send_bytes(
                p.now,
                hub_snd,
                Message::with_data(&b"cmd"[..]).to_bytes_for_test(),
                false,
                Some(t.clone()),
            )
            .unwrap();
    }
    p.drive();
    let got = events_of!(p.client_events, Event::Delivery(d) => d.clone());
    assert_eq!(got.len(), 3);
    assert_eq!(
        got.iter().map(|d| d.tag.clone()).collect::<Vec<_>>(),
        lock_tokens
    );
    let reject = DeliveryState::Rejected(Rejected {
        error: Some(err(ErrorCondition::NOT_ALLOWED, "Rejected by application")),
    });
    let modified = DeliveryState::Modified(Modified {
        delivery_failed: Some(true),
        undeliverable_here: Some(false),
        message_annotations: None,
    });
    let states = [DeliveryState::Released, reject, modified];
    for (d, st) in got.iter().zip(states.iter()) {
        p.client
            .settle(p.now, rcv, d.delivery_id, Some(st.clone()))
            .unwrap();
    }
    assert_eq!(p.client.unsettled(rcv), 0);
    p.drive();
    let outcomes =
        events_of!(p.hub_events, Event::Outcome { tag, state, .. } => (tag.clone(), state.clone()));
    let expected: Vec<_> = lock_tokens
        .into_iter()
        .zip(states.into_iter().map(Some))
        .collect();
    assert_eq!(outcomes, expected);
}

trait ToBytesForTest {
    fn to_bytes_for_test(&self) -> Bytes;
}

impl ToBytesForTest for Message {
    fn to_bytes_for_test(&self) -> Bytes {
        use hubwire_amqp::Encode;
        self.to_bytes().unwrap()
    }
}

#[test]
fn disposition_ranges_settle_many_in_one_frame() {
    let mut p = Pair::iot(ClientSasl::None);
    let (s, _) = p.open_with_session();
    let (snd, hub_rcv) =
        p.sender_link(s, LinkOptions::sender("snd", "/q"), &LinkOptions::default());
    for i in 0..5u8 {
        p.client
            .send(p.now, snd, &Message::with_data(vec![i]), false)
            .unwrap();
    }
    p.drive();
    let got = events_of!(p.hub_events, Event::Delivery(d) => d.delivery_id);
    assert_eq!(got, [0, 1, 2, 3, 4]);
    assert_eq!(p.hub.unsettled(hub_rcv), 5);
    let frames_before = p.hub.stats().frames_sent;
    p.hub
        .disposition(p.now, hub_rcv, 1, 3, true, Some(DeliveryState::Accepted))
        .unwrap();
    assert_eq!(p.hub.stats().frames_sent, frames_before + 1);
    assert_eq!(p.hub.unsettled(hub_rcv), 2);
    p.drive();
    let ids = events_of!(p.client_events, Event::Outcome { delivery_id, state: Some(DeliveryState::Accepted), .. } => *delivery_id);
    assert_eq!(ids, [1, 2, 3]);
    assert_eq!(p.client.unsettled(snd), 2);
    // A range without unsettled deliveries is misuse.
    assert_eq!(
        p.hub
            .disposition(p.now, hub_rcv, 1, 3, true, Some(DeliveryState::Accepted)),
        Err(CommandError::UnknownDelivery(1))
    );
    p.hub
        .disposition(p.now, hub_rcv, 0, 4, true, Some(DeliveryState::Released))
        .unwrap();
    p.drive();
    let ids = events_of!(p.client_events, Event::Outcome { delivery_id, state: Some(DeliveryState::Released), .. } => *delivery_id);
    assert_eq!(ids, [0, 4]);
    assert_eq!(p.client.unsettled(snd), 0);
}

#[test]
fn disposition_range_may_not_cover_another_link() {
    let mut p = Pair::iot(ClientSasl::None);
    let (s, _) = p.open_with_session();
    let (a, hub_a) = p.sender_link(s, LinkOptions::sender("a", "/q"), &LinkOptions::default());
    let (b, _) = p.sender_link(s, LinkOptions::sender("b", "/q"), &LinkOptions::default());
    p.client
        .send(p.now, a, &Message::with_data(&b"1"[..]), false)
        .unwrap();
    p.client
        .send(p.now, b, &Message::with_data(&b"2"[..]), false)
        .unwrap();
    p.client
        .send(p.now, a, &Message::with_data(&b"3"[..]), false)
        .unwrap();
    p.drive();
    assert_eq!(
        p.hub
            .disposition(p.now, hub_a, 0, 2, true, Some(DeliveryState::Accepted)),
        Err(CommandError::RangeSpansLinks)
    );
    assert_eq!(p.hub.unsettled(hub_a), 2);
}

// ---------------------------------------------------------------- large messages

fn small_frames_pair() -> Pair {
    let mut c = ConnectionConfig::new("c");
    c.max_frame_size = 4096;
    let mut h = ConnectionConfig::iot_hub("h");
    h.max_frame_size = 4096;
    Pair::new(c, ClientSasl::Anonymous, h, ServerSasl::iot_hub())
}

#[test]
fn large_messages_are_split_and_reassembled_both_ways() {
    let mut p = small_frames_pair();
    let (s, _) = p.open_with_session();
    let (snd, _) = p.sender_link(
        s,
        LinkOptions::sender("up", "/events"),
        &LinkOptions::default(),
    );
    let (_rcv, hub_snd) = p.receiver_link(
        s,
        LinkOptions::receiver("down", "/c2d"),
        &LinkOptions::default(),
    );
    let mut rng = Rng::new(42);
    let up = message(200 * 1024, &mut rng);
    let down = message(200 * 1024, &mut rng);

    let frames_before = p.client.stats().frames_sent;
    p.client.send(p.now, snd, &up, false).unwrap();
    p.drive();
    let transfers = p.client.stats().frames_sent - frames_before;
    assert!(transfers >= 50, "{transfers} frames");
    let got = events_of!(p.hub_events, Event::Delivery(d) => d.clone());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message().unwrap(), up);
    // Every frame on the wire respected the hub's 4096.
    assert_all_frames_within(&p.client_wire, 4096);

    p.hub.send(p.now, hub_snd, &down, false).unwrap();
    p.drive();
    let got = events_of!(p.client_events, Event::Delivery(d) => d.clone());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message().unwrap(), down);
    assert_all_frames_within(&p.hub_wire, 4096);
}

/// Walks a captured byte stream (headers and frames) and checks every frame's size.
fn assert_all_frames_within(wire: &[u8], max: usize) {
    let mut rest = wire;
    let mut frames = 0;
    while !rest.is_empty() {
        if rest.starts_with(b"AMQP") {
            rest = &rest[8..];
            continue;
        }
        let size = u32::from_be_bytes(rest[..4].try_into().unwrap()) as usize;
        assert!(size <= max, "frame of {size} bytes");
        rest = &rest[size..];
        frames += 1;
    }
    assert!(frames > 0);
}

#[test]
fn large_message_through_a_narrow_session_window_and_rechunked_stream() {
    let mut c = ConnectionConfig::new("c");
    c.max_frame_size = 4096;
    let mut h = ConnectionConfig::iot_hub("h");
    h.max_frame_size = 4096;
    h.session.incoming_window = 4; // the client may send only 4 frames at a time
    let mut p = Pair::new(
        c,
        ClientSasl::plain("d1@sas.hub", "tok"),
        h,
        ServerSasl::iot_hub(),
    );
    p.rechunk(99, 700);
    p.drive();
    p.hub.sasl_accept(p.now).unwrap();
    let (s, _) = p.open_with_session();
    let (snd, _) = p.sender_link(
        s,
        LinkOptions::sender("up", "/events"),
        &LinkOptions::default(),
    );
    let mut rng = Rng::new(5);
    let up = message(200 * 1024, &mut rng);
    p.client.send(p.now, snd, &up, false).unwrap();
    p.drive();
    let got = events_of!(p.hub_events, Event::Delivery(d) => d.clone());
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message().unwrap(), up);
    assert!(p.hub_error.is_none() && p.client_error.is_none());
}

#[test]
fn max_message_size_is_checked_on_both_ends() {
    let mut p = small_frames_pair();
    let (s, hub_s) = p.open_with_session();
    let hub_opts = LinkOptions {
        max_message_size: Some(100 * 1024),
        ..LinkOptions::default()
    };
    let (snd, _) = p.sender_link(s, LinkOptions::sender("up", "/events"), &hub_opts);
    let mut rng = Rng::new(1);
    let big = message(200 * 1024, &mut rng);
    match p.client.send(p.now, snd, &big, false) {
        Err(CommandError::MessageTooLarge { max, .. }) => assert_eq!(max, 100 * 1024),
        other => panic!("{other:?}"),
    }

    // A sender that ignores the limit: frames injected as if from the hub, on a client receiver
    // whose max-message-size is 8 KiB.
    let (rcv, hub_snd) = p.receiver_link(
        s,
        LinkOptions {
            max_message_size: Some(8 * 1024),
            ..LinkOptions::receiver("down", "/c2d")
        },
        &LinkOptions::default(),
    );
    let chunk = vec![0u8; 3000];
    let mut wire = Vec::new();
    for i in 0..4 {
        let t = Transfer {
            handle: hub_snd.handle(),
            delivery_id: (i == 0).then_some(0),
            delivery_tag: (i == 0).then(|| Bytes::from_static(b"t")),
            message_format: (i == 0).then_some(0),
            more: true,
            ..Transfer::default()
        };
        encode_amqp_frame(&mut wire, hub_s.channel(), &t, &chunk).unwrap();
    }
    p.client.handle_bytes(p.now, &wire).unwrap();
    let ev: Vec<Event> = std::iter::from_fn(|| p.client.poll_event()).collect();
    let detached = events_of!(ev, Event::LinkDetached { link, error, by_peer, .. } => (*link, error.clone(), *by_peer));
    assert_eq!(detached.len(), 1);
    assert_eq!(detached[0].0, rcv);
    assert!(!detached[0].2);
    assert_eq!(
        detached[0].1.as_ref().map(|e| e.condition.clone()),
        Some(ErrorCondition::MESSAGE_SIZE_EXCEEDED)
    );
    assert!(
        p.client.is_open(),
        "a link error does not close the connection"
    );
}

#[test]
fn transfer_without_credit_detaches_the_link() {
    let mut p = Pair::iot(ClientSasl::None);
    let (s, hub_s) = p.open_with_session();
    let (rcv, hub_snd) = p.receiver_link(
        s,
        LinkOptions {
            credit: 0,
            ..LinkOptions::receiver("down", "/c2d")
        },
        &LinkOptions::default(),
    );
    let t = Transfer::new(hub_snd.handle(), 0, Bytes::from_static(b"x"));
    let mut wire = Vec::new();
    encode_amqp_frame(&mut wire, hub_s.channel(), &t, b"\x00Sw\xa1\x01x").unwrap();
    p.client.handle_bytes(p.now, &wire).unwrap();
    let ev: Vec<Event> = std::iter::from_fn(|| p.client.poll_event()).collect();
    let detached =
        events_of!(ev, Event::LinkDetached { link, error, .. } => (*link, error.clone()));
    assert_eq!(detached[0].0, rcv);
    assert_eq!(
        detached[0].1.as_ref().map(|e| e.condition.clone()),
        Some(ErrorCondition::TRANSFER_LIMIT_EXCEEDED)
    );
    assert!(events_of!(ev, Event::Delivery(_) => ()).is_empty());
}

#[test]
fn drain_returns_unused_credit() {
    let mut p = Pair::iot(ClientSasl::None);
    let (s, _) = p.open_with_session();
    let (snd, hub_rcv) = p.sender_link(
        s,
        LinkOptions::sender("snd", "/q"),
        &LinkOptions {
            credit: 0,
            auto_credit: false,
            ..LinkOptions::default()
        },
    );
    p.client
        .send(p.now, snd, &Message::with_data(&b"1"[..]), false)
        .unwrap();
    p.drive();
    p.hub_events.clear();
    p.hub.grant_credit(p.now, hub_rcv, 5, true).unwrap();
    p.drive();
    // One message used one credit; the other four came back with the drain answer.
    assert_eq!(events_of!(p.hub_events, Event::Delivery(_) => ()).len(), 1);
    let flows = events_of!(p.hub_events, Event::LinkFlow { credit, .. } => *credit);
    assert_eq!(flows.last(), Some(&0));
    assert_eq!(p.hub.link_credit(hub_rcv), Some(0));
    assert_eq!(p.client.link_credit(snd), Some(0));
}

// ---------------------------------------------------------------- CBS

#[test]
fn cbs_put_token_round_trip() {
    let mut p = Pair::iot(ClientSasl::Anonymous);
    let (s, _) = p.open_with_session();
    let (cbs_snd, _) = p.sender_link(
        s,
        LinkOptions::sender("$cbs-sender", "$cbs"),
        &LinkOptions::default(),
    );
    let (cbs_rcv, hub_cbs_snd) = p.receiver_link(
        s,
        LinkOptions::receiver("$cbs-receiver", "$cbs"),
        &LinkOptions::default(),
    );
    let mut cbs = CbsClient::new("cbs", 1, Some(Duration::from_secs(120)));
    let token = "SharedAccessSignature sr=hub.azure-devices.net%2Fdevices%2Fd1&sig=s&se=9";
    let (id, request) = cbs.put_token(p.now, "hub.azure-devices.net/devices/d1", token);
    p.client.send(p.now, cbs_snd, &request, false).unwrap();
    p.drive();

    // Hub side: parse, settle accepted, answer on its sender.
    let deliveries = events_of!(p.hub_events, Event::Delivery(d) => d.clone());
    assert_eq!(deliveries.len(), 1);
    let req = PutToken::from_message(&deliveries[0].message().unwrap()).unwrap();
    assert_eq!(req.audience, "hub.azure-devices.net/devices/d1");
    assert_eq!(req.token, token);
    assert!(req.is_known_token_type());
    p.hub
        .settle(
            p.now,
            deliveries[0].link,
            deliveries[0].delivery_id,
            Some(DeliveryState::Accepted),
        )
        .unwrap();
    p.hub
        .send(p.now, hub_cbs_snd, &req.respond(200, "OK"), false)
        .unwrap();
    p.drive();

    let outcomes =
        events_of!(p.client_events, Event::Outcome { link, state, .. } => (*link, state.clone()));
    assert_eq!(outcomes, [(cbs_snd, Some(DeliveryState::Accepted))]);
    let responses = events_of!(p.client_events, Event::Delivery(d) => d.clone());
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].link, cbs_rcv);
    match cbs.handle_response(&responses[0].message().unwrap()) {
        Some(PutTokenResult::Response {
            message_id,
            response,
            ..
        }) => {
            assert_eq!(message_id, id);
            assert_eq!(response.status_code, 200);
            assert!(response.is_success());
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(cbs.outstanding(), 0);
}

// ---------------------------------------------------------------- many links

#[test]
fn field_gateway_with_a_hundred_device_links_on_one_session() {
    let mut p = Pair::iot(ClientSasl::Anonymous);
    let (s, _) = p.open_with_session();
    let links: Vec<_> = (0..100)
        .map(|i| {
            p.client
                .attach_sender(
                    p.now,
                    s,
                    LinkOptions::sender(
                        format!("link-snd-dev{i}"),
                        format!("/devices/dev{i}/messages/events"),
                    ),
                )
                .unwrap()
        })
        .collect();
    let hub_links = p.hub_accept_attaches(&LinkOptions::default());
    assert_eq!(hub_links.len(), 100);
    assert!(links.iter().all(|l| p.client.is_attached(*l)));
    let handles: std::collections::BTreeSet<u32> = links.iter().map(|l| l.handle()).collect();
    assert_eq!(handles.len(), 100);
    for (i, l) in links.iter().enumerate() {
        p.client
            .send(
                p.now,
                *l,
                &Message::with_data(format!("dev{i}").into_bytes()),
                false,
            )
            .unwrap();
    }
    p.drive();
    let got = events_of!(p.hub_events, Event::Delivery(d) => d.clone());
    assert_eq!(got.len(), 100);
    for (i, d) in got.iter().enumerate() {
        assert_eq!(d.link, hub_links[i]);
        assert_eq!(
            d.message().unwrap().body.single_data().unwrap()[..],
            *format!("dev{i}").as_bytes()
        );
    }
    p.hub_settle_all(DeliveryState::Accepted);
    assert_eq!(
        events_of!(p.client_events, Event::Outcome { state: Some(DeliveryState::Accepted), .. } => ()).len(),
        100
    );
}

// ---------------------------------------------------------------- endings

#[test]
fn detach_with_error_reaches_the_peer() {
    let mut p = Pair::iot(ClientSasl::None);
    let (s, _) = p.open_with_session();
    let (snd, hub_rcv) = p.sender_link(
        s,
        LinkOptions::sender("snd", "/q"),
        &LinkOptions {
            credit: 1,
            auto_credit: false,
            ..LinkOptions::default()
        },
    );
    // One send in flight unsettled, one waiting for credit: both are lost at detach.
    let t1 = p
        .client
        .send(p.now, snd, &Message::with_data(&b"1"[..]), false)
        .unwrap();
    let t2 = p
        .client
        .send(p.now, snd, &Message::with_data(&b"2"[..]), false)
        .unwrap();
    p.drive();
    let e = err(ErrorCondition::DETACH_FORCED, "going away");
    p.client.detach(p.now, snd, true, Some(e.clone())).unwrap();
    assert_eq!(
        p.client.detach(p.now, snd, true, None),
        Err(CommandError::LinkState)
    );
    p.drive();
    let hub_detached = events_of!(p.hub_events, Event::LinkDetached { link, by_peer, error, closed, .. } => (*link, *by_peer, error.clone(), *closed));
    assert_eq!(hub_detached, [(hub_rcv, true, Some(e.clone()), true)]);
    let client_detached = events_of!(p.client_events, Event::LinkDetached { link, by_peer, error, lost, .. } => (*link, *by_peer, error.clone(), lost.clone()));
    assert_eq!(client_detached, [(snd, false, Some(e), vec![t1, t2])]);
    assert_eq!(
        p.client.send(p.now, snd, &Message::default(), false),
        Err(CommandError::UnknownLink)
    );
}

#[test]
fn refused_attach_is_an_attach_then_a_detach() {
    let mut p = Pair::iot(ClientSasl::None);
    let (s, _) = p.open_with_session();
    let snd = p
        .client
        .attach_sender(
            p.now,
            s,
            LinkOptions::sender("snd", "/devices/other/messages/events"),
        )
        .unwrap();
    p.drive();
    let req = events_of!(p.hub_events, Event::AttachRequested { link, .. } => *link);
    let e = err(ErrorCondition::UNAUTHORIZED_ACCESS, "not your device");
    p.hub.refuse_attach(p.now, req[0], Some(e.clone())).unwrap();
    p.drive();
    let attached =
        events_of!(p.client_events, Event::LinkAttached { remote, .. } => remote.clone());
    assert_eq!(attached.len(), 1);
    assert_eq!(attached[0].target, None, "refusal: null target");
    let detached = events_of!(p.client_events, Event::LinkDetached { link, by_peer, error, .. } => (*link, *by_peer, error.clone()));
    assert_eq!(detached, [(snd, true, Some(e))]);
    let hub_detached = events_of!(p.hub_events, Event::LinkDetached { by_peer, .. } => *by_peer);
    assert_eq!(hub_detached, [false]);
}

#[test]
fn close_with_error() {
    let mut p = Pair::iot(ClientSasl::Anonymous);
    let (s, _) = p.open_with_session();
    let (snd, _) = p.sender_link(s, LinkOptions::sender("snd", "/q"), &LinkOptions::default());
    p.drive();
    p.client_events.clear();
    p.hub_events.clear();
    let e = err(ErrorCondition::CONNECTION_FORCED, "shutting down");
    p.hub.close(p.now, Some(e.clone())).unwrap();
    assert_eq!(p.hub.close(p.now, None), Err(CommandError::Closed));
    assert_eq!(
        p.hub.open_session(p.now, SessionOptions::default()),
        Err(CommandError::Closed)
    );
    p.drive();
    // The client reports its link and session ending, then the close.
    let kinds: Vec<&str> = p
        .client_events
        .iter()
        .map(|e| match e {
            Event::LinkDetached { .. } => "link",
            Event::SessionEnded { .. } => "session",
            Event::Closed(_) => "closed",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, ["link", "session", "closed"]);
    assert_eq!(
        closed(&p.client_events),
        [CloseReason::Remote(Some(e.clone()))]
    );
    assert_eq!(closed(&p.hub_events), [CloseReason::LocalError(e)]);
    assert_eq!(
        p.client.send(p.now, snd, &Message::default(), false),
        Err(CommandError::Closed)
    );
    assert_eq!(p.client.poll_timeout(), None);
}

#[test]
fn clean_close_from_the_client() {
    let mut p = Pair::iot(ClientSasl::None);
    p.drive();
    p.client.close(p.now, None).unwrap();
    p.drive();
    assert_eq!(closed(&p.client_events), [CloseReason::Local]);
    assert_eq!(closed(&p.hub_events), [CloseReason::Remote(None)]);
    assert!(closed(&p.client_events)[0].is_clean());
}

#[test]
fn garbage_instead_of_a_header_is_refused() {
    let mut p = Pair::iot(ClientSasl::None);
    let r = p
        .hub
        .handle_bytes(p.now, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert!(matches!(
        r,
        Err(ProtocolError::Frame(FrameError::InvalidProtocolHeader(_)))
    ));
    let mut out = Vec::new();
    let _ = p.hub.poll_transmit(&mut out);
    // A server that cannot parse the header still says which protocol it speaks (AMQP 2.2).
    assert_eq!(out, ProtocolHeader::SASL.to_bytes());
    assert!(p.hub.is_closed());
    // Sticky.
    assert_eq!(p.hub.handle_bytes(p.now, b"more").err(), r.err());
}

#[test]
fn garbage_after_open_closes_with_a_framing_error() {
    let mut p = Pair::iot(ClientSasl::Anonymous);
    let (s, _) = p.open_with_session();
    let _ = p.sender_link(s, LinkOptions::sender("snd", "/q"), &LinkOptions::default());
    // A frame header claiming 2 GiB.
    let r = p
        .hub
        .handle_bytes(p.now, &[0x7f, 0xff, 0xff, 0xff, 2, 0, 0, 0]);
    assert!(matches!(
        r,
        Err(ProtocolError::Frame(FrameError::TooLarge { .. }))
    ));
    p.drive();
    match &closed(&p.client_events)[..] {
        [CloseReason::Remote(Some(e))] => assert_eq!(e.condition, ErrorCondition::FRAMING_ERROR),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &closed(&p.hub_events)[..],
        [CloseReason::Protocol(ProtocolError::Frame(_))]
    ));

    // A well-framed body that does not decode: amqp:decode-error.
    let mut p = Pair::iot(ClientSasl::None);
    p.drive();
    let r = p
        .hub
        .handle_bytes(p.now, &[0, 0, 0, 12, 2, 0, 0, 0, 0x00, 0x53, 0x10, 0x99]);
    assert!(r.is_err());
    p.drive();
    match &closed(&p.client_events)[..] {
        [CloseReason::Remote(Some(e))] => assert_eq!(e.condition, ErrorCondition::DECODE_ERROR),
        other => panic!("{other:?}"),
    }
}

#[test]
fn frames_in_the_wrong_state_are_protocol_errors() {
    // A second OPEN.
    let mut p = Pair::iot(ClientSasl::None);
    p.drive();
    let mut wire = Vec::new();
    encode_amqp_frame(&mut wire, 0, &hubwire_amqp::Open::new("again"), &[]).unwrap();
    let r = p.hub.handle_bytes(p.now, &wire);
    match r {
        Err(e) => assert_eq!(e.condition(), ErrorCondition::ILLEGAL_STATE),
        Ok(()) => panic!("accepted a second open"),
    }
    p.drive();
    assert!(p.client.is_closed() && p.hub.is_closed());

    // A flow on a channel without a session.
    let mut p = Pair::iot(ClientSasl::None);
    p.drive();
    let mut wire = Vec::new();
    encode_amqp_frame(&mut wire, 3, &hubwire_amqp::Flow::default(), &[]).unwrap();
    assert!(p.hub.handle_bytes(p.now, &wire).is_err());
}

#[test]
fn unattached_handle_ends_only_the_session() {
    let mut p = Pair::iot(ClientSasl::None);
    let (s, hub_s) = p.open_with_session();
    let (snd, _) = p.sender_link(s, LinkOptions::sender("snd", "/q"), &LinkOptions::default());
    let mut wire = Vec::new();
    let d = hubwire_amqp::Detach {
        handle: 77,
        closed: true,
        error: None,
    };
    encode_amqp_frame(&mut wire, hub_s.channel(), &d, &[]).unwrap();
    p.client.handle_bytes(p.now, &wire).unwrap();
    let ev: Vec<Event> = std::iter::from_fn(|| p.client.poll_event()).collect();
    let ended =
        events_of!(ev, Event::SessionEnded { session, error, .. } => (*session, error.clone()));
    assert_eq!(ended.len(), 1);
    assert_eq!(ended[0].0, s);
    assert_eq!(
        ended[0].1.as_ref().map(|e| e.condition.clone()),
        Some(ErrorCondition::UNATTACHED_HANDLE)
    );
    assert_eq!(
        events_of!(ev, Event::LinkDetached { link, .. } => *link),
        [snd]
    );
    assert!(p.client.is_open());
    p.drive();
    // The hub answers the END; the client's session is gone.
    assert_eq!(p.client.session_count(), 0);
    assert!(p.client.is_open() && p.hub.is_open());
}

#[test]
fn whole_scenario_survives_one_byte_chunks() {
    let mut p = Pair::iot(ClientSasl::plain("d@sas.h", "secret"));
    p.rechunk(3, 1);
    p.drive();
    p.hub.sasl_accept(p.now).unwrap();
    let (s, _) = p.open_with_session();
    let (snd, _) = p.sender_link(s, LinkOptions::sender("snd", "/q"), &LinkOptions::default());
    let mut rng = Rng::new(11);
    let m = message(70_000, &mut rng); // two frames at the hub's 65536
    p.client.send(p.now, snd, &m, false).unwrap();
    p.drive();
    let got = p.hub_settle_all(DeliveryState::Accepted);
    assert_eq!(got.len(), 1);
    assert_eq!(
        hubwire_amqp::Decode::decode(got[0].clone()).map(|x: Message| x == m),
        Ok(true)
    );
    assert_eq!(
        events_of!(p.client_events, Event::Outcome { .. } => ()).len(),
        1
    );
    p.client.close(p.now, None).unwrap();
    p.drive();
    assert_eq!(closed(&p.hub_events), [CloseReason::Remote(None)]);
}

#[test]
fn transport_closed_reports_everything_ended() {
    let mut p = Pair::iot(ClientSasl::None);
    let (s, _) = p.open_with_session();
    let (snd, _) = p.sender_link(s, LinkOptions::sender("snd", "/q"), &LinkOptions::default());
    let tag = p
        .client
        .send(p.now, snd, &Message::with_data(&b"x"[..]), false)
        .unwrap();
    p.drive();
    p.client_events.clear();
    p.client.handle_transport_closed(p.now);
    let ev: Vec<Event> = std::iter::from_fn(|| p.client.poll_event()).collect();
    let lost = events_of!(ev, Event::LinkDetached { lost, .. } => lost.clone());
    assert_eq!(lost, [vec![tag]]);
    assert_eq!(closed(&ev), [CloseReason::TransportClosed]);
}

#[test]
fn sends_before_the_connection_is_open_are_pipelined() {
    // Session, link and message are all requested while SASL is still running.
    let mut p = Pair::iot(ClientSasl::Anonymous);
    let s = p
        .client
        .open_session(p.now, SessionOptions::default())
        .unwrap();
    let snd = p
        .client
        .attach_sender(p.now, s, LinkOptions::sender("early", "/q"))
        .unwrap();
    p.client
        .send(p.now, snd, &Message::with_data(&b"early"[..]), false)
        .unwrap();
    let hub_links = p.hub_accept_attaches(&LinkOptions::default());
    assert_eq!(hub_links.len(), 1);
    let got = p.hub_settle_all(DeliveryState::Accepted);
    assert_eq!(got.len(), 1);
    assert_eq!(
        events_of!(p.client_events, Event::Outcome { .. } => ()).len(),
        1
    );
}

#[test]
fn maximal_windows_and_credit_do_not_wrap() {
    // The C SDK advertises incoming-window 2^32-1; credit may be as large.
    let mut hub = ConnectionConfig::iot_hub("h");
    hub.session.incoming_window = u32::MAX;
    let mut p = Pair::new(
        ConnectionConfig::new("c"),
        ClientSasl::None,
        hub,
        ServerSasl::iot_hub(),
    );
    let s = p
        .client
        .open_session(
            p.now,
            SessionOptions {
                incoming_window: u32::MAX,
                outgoing_window: u32::MAX,
                ..SessionOptions::default()
            },
        )
        .unwrap();
    p.drive();
    let (snd, _) = p.sender_link(
        s,
        LinkOptions::sender("up", "/q"),
        &LinkOptions {
            credit: u32::MAX,
            ..LinkOptions::default()
        },
    );
    let (_, hub_snd) = p.receiver_link(
        s,
        LinkOptions {
            credit: u32::MAX,
            ..LinkOptions::receiver("down", "/c2d")
        },
        &LinkOptions::default(),
    );
    assert_eq!(p.client.link_credit(snd), Some(u32::MAX));
    for _ in 0..3 {
        p.client
            .send(p.now, snd, &Message::with_data(&b"u"[..]), false)
            .unwrap();
        p.hub
            .send(p.now, hub_snd, &Message::with_data(&b"d"[..]), false)
            .unwrap();
    }
    p.drive();
    assert_eq!(events_of!(p.hub_events, Event::Delivery(_) => ()).len(), 3);
    assert_eq!(
        events_of!(p.client_events, Event::Delivery(_) => ()).len(),
        3
    );
    assert_eq!(p.client.link_credit(snd), Some(u32::MAX - 3));
}
