//! The generic AMQP-over-WebSocket client against an independent AMQP 1.0 implementation: a
//! rhea container behind a `ws` server (tests/rhea-peer, started by scripts/test.sh).
#![cfg(all(target_arch = "wasm32", feature = "amqp"))]

mod common;

use common::*;
use futures::StreamExt;
use hubwire_web::amqp::{
    ApplicationProperties, DeliveryState, Message, MessageId, Properties, Str, Value,
};
use hubwire_web::{
    AmqpDelivery, AmqpError, AmqpReceiver, AmqpSasl, AmqpWsClient, AmqpWsConfig, ClientError,
    ConnectionStatus, SendError,
};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn connect(sasl: AmqpSasl) -> AmqpWsClient {
    let mut config = AmqpWsConfig::default();
    config.sasl = sasl;
    within(
        10_000,
        "connect to the rhea peer",
        AmqpWsClient::connect_with(RHEA_WS, config),
    )
    .await
    .unwrap_or_else(|e| panic!("connect to {RHEA_WS}: {e} (is tests/rhea-peer running?)"))
}

fn message(id: &str, body: &[u8]) -> Message {
    let mut app = ApplicationProperties::new();
    app.push(
        Str::from_static("kind"),
        Value::String(Str::from_static("test")),
    );
    Message {
        properties: Some(Properties {
            message_id: Some(MessageId::String(Str::new(id))),
            ..Properties::default()
        }),
        application_properties: Some(app),
        ..Message::with_data(body.to_vec())
    }
}

fn message_id(d: &AmqpDelivery) -> String {
    match d
        .message()
        .expect("decodes")
        .properties
        .and_then(|p| p.message_id)
    {
        Some(MessageId::String(s)) => s.as_str().to_owned(),
        other => panic!("unexpected message id {other:?}"),
    }
}

async fn next(rx: &mut AmqpReceiver, what: &str) -> AmqpDelivery {
    within(10_000, what, rx.next())
        .await
        .unwrap_or_else(|| panic!("receiver ended before {what}"))
}

/// The peer's report of how we settled a message it delivered.
async fn outcome_report(outcomes: &mut AmqpReceiver) -> serde_json::Value {
    let d = next(outcomes, "an outcome report").await;
    d.accept().await.expect("accept report");
    let m = d.message().expect("report decodes");
    let text = match &m.body {
        hubwire_web::amqp::Body::Value(Value::String(s)) => s.as_str().to_owned(),
        other => panic!("report body {other:?}"),
    };
    serde_json::from_str(&text).expect("report JSON")
}

#[wasm_bindgen_test]
async fn attach_both_ways_send_receive_and_settle() {
    let client = connect(AmqpSasl::None).await;
    assert_eq!(client.status(), ConnectionStatus::Connected);
    let queue = unique("queue");
    let mut outcomes = client
        .receiver(&format!("$outcomes/{queue}"), 10)
        .await
        .expect("attach $outcomes");
    let sender = client.sender(&queue).await.expect("attach sender");
    let mut receiver = client.receiver(&queue, 10).await.expect("attach receiver");

    // At least once: each send resolves with the peer's outcome.
    for (id, body) in [
        ("m-accept", "one"),
        ("m-release", "two"),
        ("m-reject", "three"),
    ] {
        let state = within(5_000, "outcome", sender.send(&message(id, body.as_bytes())))
            .await
            .expect("send");
        assert_eq!(state, Some(DeliveryState::Accepted), "{id}");
    }

    let first = next(&mut receiver, "first message").await;
    assert!(!first.is_settled(), "rhea sends unsettled by default");
    let m = first.message().expect("decodes");
    assert_eq!(m.body, hubwire_web::amqp::Body::data(&b"one"[..]));
    let kind = m
        .application_properties
        .as_ref()
        .and_then(|a| a.get("kind"));
    assert_eq!(kind, Some(&Value::String(Str::from_static("test"))));
    assert_eq!(message_id(&first), "m-accept");
    first.accept().await.expect("accept");

    let second = next(&mut receiver, "second message").await;
    assert_eq!(message_id(&second), "m-release");
    second.release().await.expect("release");

    let third = next(&mut receiver, "third message").await;
    assert_eq!(message_id(&third), "m-reject");
    third
        .reject("amqp:precondition-failed", Some("not today"))
        .await
        .expect("reject");

    // The peer saw each settlement with its outcome.
    let mut seen = Vec::new();
    for _ in 0..3 {
        let r = outcome_report(&mut outcomes).await;
        seen.push((
            r["messageId"].as_str().unwrap_or_default().to_owned(),
            r["outcome"].as_str().unwrap_or_default().to_owned(),
        ));
        assert_eq!(r["address"], serde_json::json!(queue));
    }
    seen.sort();
    assert_eq!(
        seen,
        vec![
            ("m-accept".to_owned(), "accepted".to_owned()),
            ("m-reject".to_owned(), "rejected".to_owned()),
            ("m-release".to_owned(), "released".to_owned()),
        ]
    );

    // Pre-settled sends (at most once) arrive too.
    sender
        .send_settled(&message("m-settled", b"four"))
        .await
        .expect("settled send");
    let fourth = next(&mut receiver, "pre-settled message").await;
    assert_eq!(message_id(&fourth), "m-settled");
    fourth.accept().await.expect("accept");

    let stats = client.stats();
    assert!(
        stats.messages_sent >= 4 && stats.messages_received >= 4,
        "{stats:?}"
    );
    assert!(stats.bytes_sent > 0 && stats.bytes_received > 0);
    assert!(
        stats.packets_sent > stats.frames_sent / 2,
        "AMQP frames counted: {stats:?}"
    );
    sender.close().await.expect("detach sender");
    receiver.close().await.expect("detach receiver");
    client.close().await;
    assert_eq!(client.status(), ConnectionStatus::Disconnected);
}

#[wasm_bindgen_test]
async fn rejected_and_released_outcomes_and_refused_links() {
    let client = connect(AmqpSasl::Anonymous).await;
    let rejecting = client.sender("reject").await.expect("attach");
    let state = rejecting.send(&message("r1", b"x")).await.expect("send");
    let Some(DeliveryState::Rejected(r)) = state else {
        panic!("expected rejected, got {state:?}");
    };
    let error = r.error.expect("rejection carries an error");
    assert_eq!(error.condition.as_str(), "amqp:precondition-failed");
    assert_eq!(
        error.description.as_ref().map(Str::as_str),
        Some("rejected on purpose")
    );

    let releasing = client.sender("release").await.expect("attach");
    let state = releasing.send(&message("r2", b"y")).await.expect("send");
    assert_eq!(state, Some(DeliveryState::Released));

    match client.sender("refuse").await {
        Err(ClientError::Amqp(AmqpError::LinkRefused {
            address, condition, ..
        })) => {
            assert_eq!(address, "refuse");
            assert_eq!(condition, "amqp:not-found");
        }
        other => panic!("expected a refused link, got {other:?}"),
    }
    match client.receiver("refuse", 5).await {
        Err(ClientError::Amqp(AmqpError::LinkRefused { condition, .. })) => {
            assert_eq!(condition, "amqp:not-found");
        }
        other => panic!("expected a refused link, got {other:?}"),
    }
    // The connection survived the refusals.
    assert_eq!(client.status(), ConnectionStatus::Connected);
    let ok = client
        .sender(&unique("after"))
        .await
        .expect("attach after refusals");
    assert_eq!(
        ok.send(&message("r3", b"z")).await.expect("send"),
        Some(DeliveryState::Accepted)
    );
    client.close().await;
}

#[wasm_bindgen_test]
async fn large_messages_span_several_frames_both_ways() {
    let client = connect(AmqpSasl::None).await;
    let queue = unique("large");
    let sender = client.sender(&queue).await.expect("attach sender");
    let mut receiver = client.receiver(&queue, 5).await.expect("attach receiver");
    let body: Vec<u8> = (0..100 * 1024).map(|i| (i % 251) as u8).collect();
    let before = client.stats();
    let state = within(10_000, "outcome", sender.send(&message("big", &body)))
        .await
        .expect("send");
    assert_eq!(state, Some(DeliveryState::Accepted));
    let d = next(&mut receiver, "the large message").await;
    let m = d.message().expect("decodes");
    assert_eq!(m.body, hubwire_web::amqp::Body::data(body.clone()));
    d.accept().await.expect("accept");
    let after = client.stats();
    // The peer advertises a 16 KiB max-frame-size and we 64 KiB: both directions split.
    let frames_out = after.packets_sent - before.packets_sent;
    let frames_in = after.packets_received - before.packets_received;
    assert!(
        frames_out >= 7,
        "100 KiB in 16 KiB frames: {frames_out} frames sent"
    );
    assert!(
        frames_in >= 2,
        "100 KiB in 64 KiB frames: {frames_in} frames received"
    );
    client.close().await;
}

#[wasm_bindgen_test]
async fn closing_fails_later_sends() {
    let client = connect(AmqpSasl::None).await;
    let sender = client.sender(&unique("closing")).await.expect("attach");
    client.close().await;
    match sender.send(&message("late", b"late")).await {
        Err(SendError::Closed) => {}
        other => panic!("expected Closed, got {other:?}"),
    }
}
