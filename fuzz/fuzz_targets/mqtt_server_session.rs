//! Arbitrary client bytes into the hub session, with the host accepting, acking and granting
//! whatever it is asked, and the clock advancing between chunks.
#![no_main]

use core::time::Duration;

use hubwire_mqtt::{ServerConfig, ServerEvent, ServerSession, SubscribeReturnCode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut now = Duration::ZERO;
    let mut session = ServerSession::new(ServerConfig::default(), now);
    // Chunks are length-prefixed by one byte so the fuzzer controls the framing.
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let n = usize::from(len).min(tail.len());
        let (chunk, tail) = tail.split_at(n);
        rest = tail;
        now += Duration::from_millis(u64::from(len) * 100);
        let _ = session.handle_bytes(now, chunk);
        session.handle_timeout(now);
        while let Some(event) = session.poll_event() {
            match event {
                ServerEvent::Connect(_) => {
                    let _ = session.accept(now, false);
                }
                ServerEvent::Publish(p) => {
                    if let Some(id) = p.packet_id {
                        let _ = session.ack_publish(now, id);
                    }
                }
                ServerEvent::Subscribe(s) => {
                    let codes = vec![SubscribeReturnCode::Failure; s.filters.len()];
                    let _ = session.grant_subscribe(now, s.packet_id, codes);
                }
                ServerEvent::Unsubscribe(u) => {
                    let _ = session.ack_unsubscribe(now, u.packet_id);
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        let _ = session.poll_transmit(&mut out);
    }
});
