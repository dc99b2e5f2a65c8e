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
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

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
