//! Hostile input never panics the AMQP engine: random bytes, random bytes after a valid
//! opening, and mutated recordings of a real client conversation, cut at random points.

mod engine_support;

use std::time::Duration;

use engine_support::{Pair, Rng};
use hubwire_amqp::engine::{
    ClientSasl, Connection, ConnectionConfig, Event, LinkOptions, ServerSasl, SessionOptions,
};
use hubwire_amqp::{DeliveryState, Message};
use proptest::prelude::*;

/// A hub that plays along: accepts PLAIN, links and deliveries, so mutated input reaches deep
/// into session and link handling.
fn feed_hub(hub: &mut Connection, now: Duration, input: &[u8], cuts: &[usize]) {
    let mut rest = input;
    let mut i = 0;
    while !rest.is_empty() {
        let n = cuts
            .get(i)
            .copied()
            .unwrap_or(rest.len())
            .clamp(1, rest.len());
        i += 1;
        let (piece, tail) = rest.split_at(n);
        rest = tail;
        let r = hub.handle_bytes(now, piece);
        // Errors are sticky and consistent.
        if let Err(e) = &r {
            assert_eq!(hub.handle_bytes(now, b"x").as_ref().err(), Some(e));
            assert!(hub.is_closed());
        }
        while let Some(ev) = hub.poll_event() {
            match ev {
                Event::SaslPlain(_) => {
                    let _ = hub.sasl_accept(now);
                }
                Event::AttachRequested { link, .. } => {
                    let _ = hub.accept_attach(now, link, LinkOptions::default());
                }
                Event::Delivery(d) => {
                    let _ = d.message();
                    let _ = hub.settle(now, d.link, d.delivery_id, Some(DeliveryState::Accepted));
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        let _ = hub.poll_transmit(&mut out);
        hub.handle_timeout(now);
    }
    hub.handle_timeout(now + Duration::from_secs(1000));
    let mut out = Vec::new();
    let _ = hub.poll_transmit(&mut out);
    while hub.poll_event().is_some() {}
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

fn hub() -> Connection {
    Connection::server(
        Duration::ZERO,
        ConnectionConfig::iot_hub("hub"),
        ServerSasl::iot_hub(),
    )
}

/// What a real client says: SASL PLAIN, OPEN, a session, sender and receiver links, a
/// multi-frame message, a disposition and a CLOSE.
fn client_recording() -> Vec<u8> {
    let mut c = ConnectionConfig::new("c");
    c.max_frame_size = 1024;
    let mut h = ConnectionConfig::iot_hub("h");
    h.max_frame_size = 1024;
    let mut p = Pair::new(
        c,
        ClientSasl::plain("d@sas.h", "tok"),
        h,
        ServerSasl::iot_hub(),
    );
    p.drive();
    p.hub.sasl_accept(p.now).unwrap();
    let s = p
        .client
        .open_session(p.now, SessionOptions::default())
        .unwrap();
    let snd = p
        .client
        .attach_sender(p.now, s, LinkOptions::sender("snd", "/events"))
        .unwrap();
    p.client
        .attach_receiver(p.now, s, LinkOptions::receiver("rcv", "/c2d"))
        .unwrap();
    let hub_links = p.hub_accept_attaches(&LinkOptions::default());
    let mut rng = Rng::new(9);
    p.client
        .send(p.now, snd, &Message::with_data(rng.bytes(3000)), false)
        .unwrap();
    p.client
        .send(p.now, snd, &Message::with_data(rng.bytes(10)), true)
        .unwrap();
    p.hub
        .send(
            p.now,
            hub_links[1],
            &Message::with_data(rng.bytes(20)),
            false,
        )
        .unwrap();
    p.drive();
    for e in p.take_client_events() {
        if let Event::Delivery(d) = e {
            p.client
                .settle(p.now, d.link, d.delivery_id, Some(DeliveryState::Released))
                .unwrap();
        }
    }
    p.client.close(p.now, None).unwrap();
    p.drive();
    p.client_wire.clone()
}

#[test]
fn the_recording_replays_whole_against_a_fresh_hub() {
    // All at once: the AMQP header and everything after it arrive while the host is still
    // deciding on the PLAIN credentials; the hub keeps them until then.
    let rec = client_recording();
    let mut h = hub();
    h.handle_bytes(Duration::ZERO, &rec).unwrap();
    let first: Vec<Event> = std::iter::from_fn(|| h.poll_event()).collect();
    assert!(matches!(&first[..], [Event::SaslPlain(_)]), "{first:?}");
    h.sasl_accept(Duration::ZERO).unwrap();
    let rest: Vec<Event> = std::iter::from_fn(|| h.poll_event()).collect();
    assert!(rest.iter().any(|e| matches!(e, Event::Opened { .. })));
    assert_eq!(
        rest.iter()
            .filter(|e| matches!(e, Event::AttachRequested { .. }))
            .count(),
        2
    );
    assert!(matches!(
        rest.last(),
        Some(Event::Closed(hubwire_amqp::engine::CloseReason::Remote(
            None
        )))
    ));
}

proptest! {
    // PROPTEST_CASES raises the count for longer runs.
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_into_a_hub_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(1usize..64, 0..64),
    ) {
        feed_hub(&mut hub(), Duration::ZERO, &data, &cuts);
    }

    #[test]
    fn random_frames_after_a_valid_opening_never_panic(
        prefix in 0usize..3,
        data in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(1usize..64, 0..64),
    ) {
        let mut input = match prefix {
            0 => b"AMQP\x00\x01\x00\x00".to_vec(),
            1 => b"AMQP\x03\x01\x00\x00".to_vec(),
            _ => {
                // Header and a valid OPEN, so the rest lands in the opened state.
                let mut v = b"AMQP\x00\x01\x00\x00".to_vec();
                hubwire_amqp::encode_amqp_frame(&mut v, 0, &hubwire_amqp::Open::new("x"), &[]).unwrap();
                v
            }
        };
        input.extend_from_slice(&data);
        feed_hub(&mut hub(), Duration::ZERO, &input, &cuts);
    }

    #[test]
    fn mutated_client_conversations_never_panic(
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        truncate in proptest::option::of(any::<prop::sample::Index>()),
        cuts in proptest::collection::vec(1usize..300, 0..64),
    ) {
        let mut rec = client_recording();
        for (i, b) in flips {
            let at = i.index(rec.len());
            rec[at] = b;
        }
        if let Some(t) = truncate {
            rec.truncate(t.index(rec.len()));
        }
        feed_hub(&mut hub(), Duration::ZERO, &rec, &cuts);
    }

    #[test]
    fn random_bytes_into_an_open_client_never_panic(
        data in proptest::collection::vec(any::<u8>(), 0..2048),
    ) {
        let mut p = Pair::iot(ClientSasl::None);
        let s = p.client.open_session(p.now, SessionOptions::default()).unwrap();
        let _ = p.client.attach_receiver(p.now, s, LinkOptions::receiver("r", "/c2d"));
        p.hub_accept_attaches(&LinkOptions::default());
        let r = p.client.handle_bytes(p.now, &data);
        if r.is_err() {
            prop_assert!(p.client.is_closed());
        }
        while p.client.poll_event().is_some() {}
        p.client.handle_timeout(p.now + Duration::from_secs(10_000));
        let mut out = Vec::new();
        let _ = p.client.poll_transmit(&mut out);
    }
}

/// Any performative with fields drawn from small ranges (so handles and channels collide with
/// real ones) or anywhere in the type's range (so serial arithmetic wraps).
fn performative() -> impl Strategy<Value = (u16, hubwire_amqp::Performative, Vec<u8>)> {
    use hubwire_amqp::{
        Attach, Begin, Bytes, Detach, Disposition, End, Flow, Performative as P, Role, Transfer,
    };
    let num = || prop_oneof![0u32..4, any::<u32>(), Just(u32::MAX)];
    let role = || any::<bool>().prop_map(|r| if r { Role::Receiver } else { Role::Sender });
    let state = || {
        proptest::option::of(prop_oneof![
            Just(DeliveryState::Accepted),
            Just(DeliveryState::Released)
        ])
    };
    let flow = (
        proptest::option::of(num()),
        num(),
        num(),
        num(),
        proptest::option::of(0u32..4),
        proptest::option::of(num()),
        proptest::option::of(num()),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(nii, iw, noi, ow, handle, dc, lc, drain, echo)| {
            P::Flow(Flow {
                next_incoming_id: nii,
                incoming_window: iw,
                next_outgoing_id: noi,
                outgoing_window: ow,
                handle,
                delivery_count: dc,
                link_credit: lc,
                drain,
                echo,
                ..Flow::default()
            })
        });
    let transfer = (
        0u32..4,
        proptest::option::of(num()),
        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
        any::<bool>(),
        proptest::option::of(any::<bool>()),
        any::<bool>(),
    )
        .prop_map(|(handle, id, tag, more, settled, aborted)| {
            P::Transfer(Transfer {
                handle,
                delivery_id: id,
                delivery_tag: tag.map(Bytes::from),
                more,
                settled,
                aborted,
                ..Transfer::default()
            })
        });
    let disposition = (
        role(),
        num(),
        proptest::option::of(num()),
        any::<bool>(),
        state(),
    )
        .prop_map(|(role, first, last, settled, state)| {
            P::Disposition(Disposition {
                role,
                first,
                last,
                settled,
                state,
                batchable: false,
            })
        });
    let attach = (
        prop_oneof![Just("snd"), Just("rcv"), Just("x")],
        0u32..4,
        role(),
        proptest::option::of(num()),
        proptest::option::of(0u64..5000),
    )
        .prop_map(|(name, handle, role, idc, mms)| {
            P::Attach(Box::new(Attach {
                initial_delivery_count: idc,
                max_message_size: mms,
                ..Attach::new(name, handle, role)
            }))
        });
    let detach = (0u32..4, any::<bool>()).prop_map(|(handle, closed)| {
        P::Detach(Detach {
            handle,
            closed,
            error: None,
        })
    });
    let begin = (proptest::option::of(0u16..3), num(), num(), num()).prop_map(
        |(remote_channel, noi, iw, hm)| {
            P::Begin(Begin {
                remote_channel,
                next_outgoing_id: noi,
                incoming_window: iw,
                outgoing_window: 10,
                handle_max: hm,
                ..Begin::default()
            })
        },
    );
    let end = Just(P::End(End { error: None }));
    (
        0u16..3,
        prop_oneof![
            4 => flow,
            6 => transfer,
            3 => disposition,
            2 => attach,
            1 => detach,
            1 => begin,
            1 => end,
        ],
        proptest::collection::vec(any::<u8>(), 0..300),
    )
}

fn frames(items: &[(u16, hubwire_amqp::Performative, Vec<u8>)]) -> Vec<u8> {
    let mut wire = Vec::new();
    for (ch, p, payload) in items {
        let payload: &[u8] = match p {
            hubwire_amqp::Performative::Transfer(_) => payload,
            _ => &[],
        };
        hubwire_amqp::encode_amqp_frame(&mut wire, *ch, p, payload).unwrap();
    }
    wire
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    /// Valid frames in random order and with random values, after a real opening, into the hub.
    #[test]
    fn random_performatives_into_a_hub_never_panic(
        items in proptest::collection::vec(performative(), 1..40),
        cuts in proptest::collection::vec(1usize..200, 0..16),
    ) {
        let mut input = b"AMQP\x00\x01\x00\x00".to_vec();
        hubwire_amqp::encode_amqp_frame(&mut input, 0, &hubwire_amqp::Open::new("x"), &[]).unwrap();
        // A session on channel 0 and a sender link on handle 0, so that later frames can land.
        let begin = hubwire_amqp::Begin { incoming_window: 100, outgoing_window: 100, ..Default::default() };
        hubwire_amqp::encode_amqp_frame(&mut input, 0, &begin, &[]).unwrap();
        let attach = hubwire_amqp::Attach {
            initial_delivery_count: Some(0),
            ..hubwire_amqp::Attach::new("snd", 0, hubwire_amqp::Role::Sender)
        };
        hubwire_amqp::encode_amqp_frame(&mut input, 0, &attach, &[]).unwrap();
        input.extend_from_slice(&frames(&items));
        feed_hub(&mut hub(), Duration::ZERO, &input, &cuts);
    }

    /// The same against a client with an attached sender and receiver, as if from the hub.
    #[test]
    fn random_performatives_into_a_client_never_panic(
        items in proptest::collection::vec(performative(), 1..40),
    ) {
        let mut p = Pair::iot(ClientSasl::None);
        let s = p.client.open_session(p.now, SessionOptions::default()).unwrap();
        let snd = p.client.attach_sender(p.now, s, LinkOptions::sender("snd", "/q")).unwrap();
        let _ = p.client.attach_receiver(p.now, s, LinkOptions::receiver("rcv", "/c2d"));
        p.hub_accept_attaches(&LinkOptions::default());
        let _ = p.client.send(p.now, snd, &Message::with_data(&b"x"[..]), false);
        p.drive();
        let wire = frames(&items);
        let r = p.client.handle_bytes(p.now, &wire);
        if r.is_err() {
            prop_assert!(p.client.is_closed());
        }
        while let Some(ev) = p.client.poll_event() {
            if let Event::Delivery(d) = ev {
                let _ = p.client.settle(p.now, d.link, d.delivery_id, Some(DeliveryState::Accepted));
            }
        }
        let _ = p.client.send(p.now, snd, &Message::with_data(&b"y"[..]), false);
        p.client.handle_timeout(p.now + Duration::from_secs(10_000));
        let mut out = Vec::new();
        let _ = p.client.poll_transmit(&mut out);
    }
}
