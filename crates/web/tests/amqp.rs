//! `DeviceClient` with `Protocol::Amqp` (AMQP 1.0 over WebSocket, CBS) against devhub.
#![cfg(all(target_arch = "wasm32", feature = "amqp"))]

mod common;

use core::time::Duration;

use common::*;
use futures::StreamExt;
use hubwire_web::iothub::{ConnectionString, Message, TokenPolicy};
use hubwire_web::{
    AmqpError, ClientError, ConnectionStatus, DeviceClient, DeviceOptions, Messages, Protocol,
    RandomSource, ReceivedMessage, ReconnectPolicy, ReconnectReason, SendError, SettleError,
};
use serde_json::{json, Value};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn amqp_options(device: &Value) -> DeviceOptions {
    devhub_options(device).with_protocol(Protocol::Amqp)
}

async fn amqp_device(prefix: &str) -> (Value, DeviceClient) {
    let device = create_device(prefix).await;
    let client = within(
        15_000,
        "AMQP connect",
        DeviceClient::connect(amqp_options(&device)),
    )
    .await
    .expect("connect to devhub over AMQP");
    (device, client)
}

async fn next_message(messages: &mut Messages) -> ReceivedMessage {
    within(10_000, "C2D message", messages.next())
        .await
        .expect("a message")
}

fn history_for<'a>(history: &'a [Value], device: &str, message_id: &str) -> Vec<&'a Value> {
    history
        .iter()
        .filter(|h| h["deviceId"] == device && h["messageId"] == message_id)
        .collect()
}

#[wasm_bindgen_test]
async fn d2c_with_properties_reaches_the_hub_over_amqp() {
    let (device, client) = amqp_device("web-amqp-d2c").await;
    let id = str_field(&device, "deviceId");
    assert_eq!(client.status(), ConnectionStatus::Connected);
    assert_eq!(client.protocol(), Protocol::Amqp);

    let msg = Message::new("hello over AMQP")
        .with_message_id("amqp-mid-1")
        .with_correlation_id("amqp-cid-1")
        .with_content_type("application/json")
        .with_content_encoding("utf-8")
        .with_property("level", "info")
        .with_property("odd key", "a&b=c/d");
    let receipt = within(10_000, "accepted", client.send_event(msg))
        .await
        .expect("send_event");
    assert_eq!(receipt.message_id.as_deref(), Some("amqp-mid-1"));
    assert!(receipt.wire_bytes > "hello over AMQP".len());

    let events = eventually(5_000, "event at the hub", || async {
        let e = events(id).await;
        (!e.is_empty()).then_some(e)
    })
    .await;
    assert_eq!(events.len(), 1, "{events:?}");
    let ev = &events[0];
    assert_eq!(ev["protocol"], "amqp");
    assert_eq!(ev["body"], "hello over AMQP");
    assert_eq!(ev["properties"]["level"], "info");
    assert_eq!(ev["properties"]["odd key"], "a&b=c/d");
    assert_eq!(ev["systemProperties"]["messageId"], "amqp-mid-1");
    assert_eq!(ev["systemProperties"]["correlationId"], "amqp-cid-1");
    assert_eq!(ev["systemProperties"]["contentType"], "application/json");
    assert_eq!(ev["systemProperties"]["contentEncoding"], "utf-8");

    let stats = client.stats();
    assert_eq!(stats.messages_sent, 1);
    assert_eq!(stats.connects, 1);
    assert!(stats.bytes_sent > receipt.wire_bytes as u64, "{stats:?}");
    assert!(
        stats.packets_sent > 0 && stats.packets_received > 0,
        "AMQP frames: {stats:?}"
    );

    client.close().await;
    assert_eq!(client.status(), ConnectionStatus::Disconnected);
    assert_eq!(
        client.send_event(Message::new("late")).await.unwrap_err(),
        SendError::Closed
    );
}

#[wasm_bindgen_test]
async fn c2d_complete_abandon_reject_over_amqp() {
    let (device, client) = amqp_device("web-amqp-c2d").await;
    let id = str_field(&device, "deviceId").to_owned();
    let mut messages = client.messages().expect("stream");

    // complete → accepted
    send_c2d(
        &id,
        &json!({ "body": "switch on", "messageId": "amqp-c-1", "correlationId": "corr-1",
                 "properties": { "command": "on" } }),
    )
    .await;
    let m = next_message(&mut messages).await;
    assert_eq!(m.message().body_str(), Some("switch on"));
    assert_eq!(m.message().message_id.as_deref(), Some("amqp-c-1"));
    assert_eq!(m.message().correlation_id.as_deref(), Some("corr-1"));
    assert_eq!(m.message().properties.get("command"), Some("on"));
    let info = m.message().received.clone().expect("delivery info");
    assert_eq!(info.delivery_count, 0);
    assert_eq!(info.lock_token.as_deref(), Some(m.lock_token()));
    assert!(!m.lock_token().is_empty());
    m.complete().await.expect("complete");
    // Settling twice: the lock is gone.
    assert_eq!(
        client.complete(m.lock_token()).await.unwrap_err(),
        SettleError::UnknownLockToken
    );

    // abandon → released: delivered again with delivery count 1, then completed by token.
    send_c2d(&id, &json!({ "body": "again", "messageId": "amqp-a-1" })).await;
    let first = next_message(&mut messages).await;
    assert_eq!(first.message().message_id.as_deref(), Some("amqp-a-1"));
    first.abandon().await.expect("abandon");
    let second = next_message(&mut messages).await;
    assert_eq!(second.message().message_id.as_deref(), Some("amqp-a-1"));
    let info = second.message().received.clone().expect("delivery info");
    assert_eq!(info.delivery_count, 1);
    client
        .complete(second.lock_token())
        .await
        .expect("complete by token");

    // reject → rejected: dead-lettered.
    send_c2d(
        &id,
        &json!({ "body": "no thanks", "messageId": "amqp-r-1", "ack": "negative" }),
    )
    .await;
    let r = next_message(&mut messages).await;
    assert_eq!(r.message().message_id.as_deref(), Some("amqp-r-1"));
    client.reject(r.lock_token()).await.expect("reject");

    let history = eventually(5_000, "settlements at the hub", || async {
        let h = c2d_history().await;
        let done = !history_for(&h, &id, "amqp-r-1").is_empty()
            && history_for(&h, &id, "amqp-a-1").len() >= 2;
        done.then_some(h)
    })
    .await;
    let outcome = |mid: &str| -> Vec<Value> {
        history_for(&history, &id, mid)
            .iter()
            .map(|h| h["outcome"].clone())
            .collect()
    };
    assert_eq!(outcome("amqp-c-1"), vec![json!("completed")]);
    assert_eq!(
        outcome("amqp-a-1"),
        vec![json!("abandoned"), json!("completed")]
    );
    assert_eq!(outcome("amqp-r-1"), vec![json!("rejected")]);
    assert!(c2d_queue(&id).await.is_empty());
    assert_eq!(client.stats().messages_received, 4);
    client.close().await;
}

#[wasm_bindgen_test]
async fn wrong_key_fails_with_unauthorized_over_amqp() {
    let device = create_device("web-amqp-badkey").await;
    let mut cs = ConnectionString::parse(str_field(&device, "connectionString")).unwrap();
    let other = ConnectionString::parse(
        "HostName=localhost;DeviceId=x;SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    )
    .unwrap();
    cs.auth = other.auth;
    let options = DeviceOptions::from_connection_string(&cs.to_connection_string())
        .unwrap()
        .with_endpoint(DEVHUB_WS)
        .with_protocol(Protocol::Amqp);
    let err = within(10_000, "refusal", DeviceClient::connect(options))
        .await
        .unwrap_err();
    match &err {
        ClientError::Amqp(AmqpError::PutToken { status_code, .. }) => {
            assert_eq!(*status_code, 401, "{err}")
        }
        other => panic!("expected a refused put-token, got {other:?}"),
    }
    assert!(err.is_auth_failure());
    assert!(!err.is_transient());
    assert_eq!(err.code(), "Unauthorized");
}

#[wasm_bindgen_test]
async fn large_message_goes_out_in_several_frames() {
    let (device, client) = amqp_device("web-amqp-big").await;
    let id = str_field(&device, "deviceId");
    let body: String = (0..100 * 1024)
        .map(|i| char::from(b'a' + (i % 26) as u8))
        .collect();
    let before = client.stats();
    let receipt = within(
        15_000,
        "accepted",
        client.send_event(Message::new(body.clone())),
    )
    .await
    .expect("100 KB message");
    assert!(receipt.wire_bytes > 100 * 1024);
    let after = client.stats();
    // devhub advertises a 64 KiB max-frame-size: at least two transfer frames.
    assert!(
        after.packets_sent - before.packets_sent >= 2,
        "{before:?} → {after:?}"
    );
    let events = eventually(5_000, "event at the hub", || async {
        let e = events(id).await;
        (!e.is_empty()).then_some(e)
    })
    .await;
    assert_eq!(events[0]["body"].as_str().map(str::len), Some(body.len()));
    assert_eq!(events[0]["body"].as_str(), Some(body.as_str()));

    // Over the 256 KiB limit: refused before sending.
    let err = client
        .send_event(Message::new(vec![b'x'; 256 * 1024 + 1]))
        .await
        .unwrap_err();
    assert!(matches!(err, SendError::TooLarge { .. }), "{err:?}");
    client.close().await;
}

#[wasm_bindgen_test]
async fn token_is_renewed_on_the_live_connection() {
    let device = create_device("web-amqp-renew").await;
    let id = str_field(&device, "deviceId");
    // 4 s tokens renewed 2 s before expiry: without renewal devhub detaches the device's
    // links once a token expires.
    let options = amqp_options(&device).with_token_policy(TokenPolicy::new(4, 2));
    let client = within(15_000, "connect", DeviceClient::connect(options))
        .await
        .expect("connect");
    let mut statuses = client.status_events();
    assert_eq!(statuses.next().await, Some(ConnectionStatus::Connected));
    sleep_ms(7_000).await;
    let stats = client.stats();
    assert!(
        stats.token_renewals >= 2,
        "renewed on the connection: {stats:?}"
    );
    assert_eq!(stats.connects, 1, "no reconnect: {stats:?}");
    assert_eq!(stats.reconnect_attempts, 0, "{stats:?}");
    assert_eq!(client.status(), ConnectionStatus::Connected);
    within(
        10_000,
        "send after renewals",
        client.send_event(Message::new("still here").with_message_id("renewed")),
    )
    .await
    .expect("send after renewals");
    let events = events(id).await;
    assert!(events
        .iter()
        .any(|e| e["systemProperties"]["messageId"] == "renewed"));
    client.close().await;
    // No status change happened in between: the next one is the close.
    let next = within(2_000, "Disconnected", statuses.next()).await;
    assert_eq!(next, Some(ConnectionStatus::Disconnected));
}

#[wasm_bindgen_test]
async fn reconnects_when_replaced_and_resends_queued_messages() {
    let device = create_device("web-amqp-reconnect").await;
    let id = str_field(&device, "deviceId").to_owned();
    let policy = ReconnectPolicy::exponential(Duration::from_millis(300), Duration::from_secs(2));
    let a = DeviceClient::connect(
        amqp_options(&device)
            .with_reconnect(policy)
            .with_random(RandomSource::new(|| 0.0)),
    )
    .await
    .expect("first client");
    let mut statuses = a.status_events();
    assert_eq!(statuses.next().await, Some(ConnectionStatus::Connected));

    // A newer connection for the same device makes devhub force the first one's links off.
    let b =
        DeviceClient::connect(amqp_options(&device).with_reconnect(ReconnectPolicy::disabled()))
            .await
            .expect("second client");
    let s = within(5_000, "Reconnecting", statuses.next())
        .await
        .unwrap();
    match &s {
        ConnectionStatus::Reconnecting {
            attempt,
            next_try_in,
            reason: ReconnectReason::ConnectionLost(ClientError::Amqp(e)),
        } => {
            assert_eq!(*attempt, 1);
            assert_eq!(*next_try_in, Duration::from_millis(300));
            assert_eq!(e.condition(), Some("amqp:link:detach-forced"), "{e}");
        }
        other => panic!("expected Reconnecting after a forced detach, got {other:?}"),
    }
    // Sent while down: queued, then delivered on the new connection.
    let receipt = within(
        10_000,
        "accepted after reconnect",
        a.send_event(Message::new("queued while reconnecting").with_message_id("amqp-q-1")),
    )
    .await
    .expect("delivered after reconnect");
    assert_eq!(receipt.message_id.as_deref(), Some("amqp-q-1"));
    let s = within(5_000, "Connected again", statuses.next())
        .await
        .unwrap();
    assert_eq!(s, ConnectionStatus::Connected);
    assert_eq!(a.stats().connects, 2);
    assert!(a.stats().reconnect_attempts >= 1);
    // The replaced client (no reconnect) ends in Failed.
    let end = within(5_000, "B to fail", b.closed()).await;
    assert!(matches!(end, ConnectionStatus::Failed { .. }), "{end:?}");

    let ev = eventually(5_000, "queued event at the hub", || async {
        events(&id)
            .await
            .into_iter()
            .find(|e| e["systemProperties"]["messageId"] == "amqp-q-1")
    })
    .await;
    assert_eq!(ev["body"], "queued while reconnecting");
    assert_eq!(ev["protocol"], "amqp");
    a.close().await;
}
