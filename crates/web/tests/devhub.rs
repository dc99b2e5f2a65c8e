//! The device client against a local devhub, in a real browser.
#![cfg(target_arch = "wasm32")]

mod common;

use core::time::Duration;

use common::*;
use futures::StreamExt;
use hubwire_web::iothub::{ConnectionString, Message, SasToken, TokenPolicy};
use hubwire_web::mqtt::ConnectReturnCode;
use hubwire_web::{
    ClientError, ConnectionStatus, DeviceClient, DeviceOptions, RandomSource, ReconnectPolicy,
    ReconnectReason, SendError, SettleError,
};
use serde_json::json;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn d2c_with_properties_reaches_the_hub() {
    let (device, client) = connected_device("web-d2c").await;
    let id = str_field(&device, "deviceId");
    assert_eq!(client.status(), ConnectionStatus::Connected);
    assert_eq!(client.device_id().as_str(), id);

    let msg = Message::new("hello from the browser")
        .with_message_id("mid-1")
        .with_correlation_id("cid-1")
        .with_content_type("text/plain")
        .with_content_encoding("utf-8")
        .with_property("level", "info")
        .with_property("odd key", "a&b=c/d");
    let receipt = within(10_000, "PUBACK", client.send_event(msg))
        .await
        .expect("send_event");
    assert_eq!(receipt.message_id.as_deref(), Some("mid-1"));
    assert!(receipt.packet_id > 0);

    let events = eventually(5_000, "event at the hub", || async {
        let e = events(id).await;
        (!e.is_empty()).then_some(e)
    })
    .await;
    assert_eq!(events.len(), 1, "{events:?}");
    let ev = &events[0];
    assert_eq!(ev["protocol"], "mqtt");
    assert_eq!(ev["body"], "hello from the browser");
    assert_eq!(ev["properties"]["level"], "info");
    assert_eq!(ev["properties"]["odd key"], "a&b=c/d");
    assert_eq!(ev["systemProperties"]["messageId"], "mid-1");
    assert_eq!(ev["systemProperties"]["correlationId"], "cid-1");
    assert_eq!(ev["systemProperties"]["contentType"], "text/plain");
    assert_eq!(ev["systemProperties"]["contentEncoding"], "utf-8");
    // The receipt's size is the PUBLISH packet the hub received.
    assert_eq!(ev["wireBytes"], json!(receipt.wire_bytes));

    let stats = client.stats();
    assert!(stats.bytes_sent >= receipt.wire_bytes as u64, "{stats:?}");
    assert!(
        stats.bytes_received > 0 && stats.frames_received > 0,
        "{stats:?}"
    );
    assert_eq!(stats.messages_sent, 1);
    assert_eq!(stats.connects, 1);

    client.close().await;
    assert_eq!(client.status(), ConnectionStatus::Disconnected);
    let err = client.send_event(Message::new("late")).await.unwrap_err();
    assert_eq!(err, SendError::Closed);
}

#[wasm_bindgen_test]
async fn c2d_with_properties_is_received_and_completed() {
    let (device, client) = connected_device("web-c2d").await;
    let id = str_field(&device, "deviceId");
    let mut messages = client.messages().expect("message stream");
    assert!(client.messages().is_none(), "the stream is handed out once");

    send_c2d(
        id,
        &json!({
            "body": "switch on",
            "messageId": "c2d-1",
            "correlationId": "corr-9",
            "contentType": "text/plain",
            "properties": { "command": "on", "zone": "kitchen 2" },
            "ack": "full",
        }),
    )
    .await;
    let received = within(10_000, "C2D message", messages.next())
        .await
        .expect("a message");
    let m = received.message();
    assert_eq!(m.body_str(), Some("switch on"));
    assert_eq!(m.message_id.as_deref(), Some("c2d-1"));
    assert_eq!(m.correlation_id.as_deref(), Some("corr-9"));
    assert_eq!(m.content_type.as_deref(), Some("text/plain"));
    assert_eq!(m.properties.get("command"), Some("on"));
    assert_eq!(m.properties.get("zone"), Some("kitchen 2"));

    // MQTT completes by PUBACK on receipt; abandon/reject need another protocol.
    received.complete().await.expect("complete is implicit");
    client
        .complete(received.lock_token())
        .await
        .expect("by token");
    let err = received.abandon().await.unwrap_err();
    assert!(
        matches!(
            err,
            SettleError::NotSupported {
                operation: "abandon",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), "NotSupported");
    let err = client.reject(received.lock_token()).await.unwrap_err();
    assert!(
        matches!(
            err,
            SettleError::NotSupported {
                operation: "reject",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        client.complete("not-a-token").await.unwrap_err(),
        SettleError::UnknownLockToken
    );

    let entry = eventually(5_000, "completed in the C2D history", || async {
        c2d_history()
            .await
            .into_iter()
            .find(|h| h["deviceId"] == id && h["messageId"] == "c2d-1")
    })
    .await;
    assert_eq!(entry["outcome"], "completed", "{entry}");
    assert_eq!(client.stats().messages_received, 1);
    client.close().await;
}

#[wasm_bindgen_test]
async fn wrong_key_fails_with_an_auth_error() {
    let device = create_device("web-badkey").await;
    let mut cs = ConnectionString::parse(str_field(&device, "connectionString")).unwrap();
    // A valid key, but not this device's.
    let other = ConnectionString::parse(
        "HostName=localhost;DeviceId=x;SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    )
    .unwrap();
    cs.auth = other.auth;
    let options = DeviceOptions::from_connection_string(&cs.to_connection_string())
        .unwrap()
        .with_endpoint(DEVHUB_WS);
    let err = within(10_000, "refusal", DeviceClient::connect(options))
        .await
        .unwrap_err();
    assert_eq!(err, ClientError::Refused(ConnectReturnCode::NotAuthorized));
    assert!(err.is_auth_failure());
    assert_eq!(err.code(), "Unauthorized");
}

#[wasm_bindgen_test]
async fn bad_connection_string_names_the_key() {
    let err =
        DeviceOptions::from_connection_string("HostName=localhost;DeviceId=d1;SharedAccessKey=")
            .unwrap_err();
    assert!(err.to_string().contains("SharedAccessKey"), "{err}");
}

#[wasm_bindgen_test]
async fn oversize_message_is_refused_without_sending() {
    let (device, client) = connected_device("web-big").await;
    let id = str_field(&device, "deviceId");
    let before = client.stats();
    let err = client
        .send_event(Message::new(vec![b'x'; 256 * 1024 + 1]))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SendError::TooLarge {
            size: 256 * 1024 + 1,
            limit: 256 * 1024
        }
    );
    assert_eq!(err.code(), "MessageTooLarge");
    // Properties count too.
    let err = client
        .send_event(Message::new(vec![b'x'; 256 * 1024 - 4]).with_property("abc", "de"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, SendError::TooLarge { size, .. } if size == 256 * 1024 + 1),
        "{err:?}"
    );
    assert_eq!(
        client.stats().bytes_sent,
        before.bytes_sent,
        "nothing went out"
    );

    // The largest allowed message goes through and the connection is unharmed.
    let receipt = within(
        10_000,
        "PUBACK of a 256 KiB message",
        client.send_event(Message::new(vec![b'y'; 256 * 1024])),
    )
    .await
    .expect("exactly at the limit");
    assert_eq!(receipt.message_size, 256 * 1024);
    let events = eventually(5_000, "event", || async {
        let e = events(id).await;
        (!e.is_empty()).then_some(e)
    })
    .await;
    assert_eq!(events.len(), 1);
    client.close().await;
}

#[wasm_bindgen_test]
async fn reconnects_with_back_off_when_replaced_and_queues_sends() {
    let device = create_device("web-reconnect").await;
    let id = str_field(&device, "deviceId");
    let policy = ReconnectPolicy::exponential(Duration::from_millis(300), Duration::from_secs(2))
        .with_jitter(0.5);
    let a = DeviceClient::connect(
        devhub_options(&device)
            .with_reconnect(policy)
            .with_random(RandomSource::new(|| 0.5)),
    )
    .await
    .expect("first client");
    let mut statuses = a.status_events();
    assert_eq!(statuses.next().await, Some(ConnectionStatus::Connected));

    // A second connection for the same device makes the hub drop the first (§4.1).
    let b =
        DeviceClient::connect(devhub_options(&device).with_reconnect(ReconnectPolicy::disabled()))
            .await
            .expect("second client");
    let s = within(5_000, "Reconnecting", statuses.next())
        .await
        .unwrap();
    match &s {
        ConnectionStatus::Reconnecting {
            attempt,
            next_try_in,
            reason,
        } => {
            assert_eq!(*attempt, 1);
            // Injected randomness 0.5 with jitter 0.5: 300 ms × (1 − 0.25).
            assert_eq!(*next_try_in, policy.delay(1, 0.5));
            assert_eq!(*next_try_in, Duration::from_millis(225));
            assert!(
                matches!(
                    reason,
                    ReconnectReason::ConnectionLost(ClientError::Transport(_))
                ),
                "{reason:?}"
            );
        }
        other => panic!("expected Reconnecting, got {other:?}"),
    }
    // Sent while down: queued, then delivered on the new connection.
    let send = a.send_event(Message::new("queued while reconnecting").with_message_id("q-1"));
    let receipt = within(10_000, "PUBACK after reconnect", send)
        .await
        .expect("delivered after reconnect");
    assert_eq!(receipt.message_id.as_deref(), Some("q-1"));
    // The re-sent message may be acknowledged before the C2D SUBACK completes the connect.
    let s = within(5_000, "Connected again", statuses.next())
        .await
        .unwrap();
    assert_eq!(s, ConnectionStatus::Connected);
    assert_eq!(a.stats().connects, 2);
    assert!(a.stats().reconnect_attempts >= 1);

    // The replaced client (no reconnect) ends in Failed.
    let end = within(5_000, "B to fail", b.closed()).await;
    assert!(matches!(end, ConnectionStatus::Failed { .. }), "{end:?}");

    let events = eventually(5_000, "queued event at the hub", || async {
        events(id)
            .await
            .into_iter()
            .find(|e| e["systemProperties"]["messageId"] == "q-1")
    })
    .await;
    assert_eq!(events["body"], "queued while reconnecting");
    a.close().await;
}

#[wasm_bindgen_test]
async fn deleted_device_ends_in_failed_not_endless_retry() {
    let device = create_device("web-deleted").await;
    let id = str_field(&device, "deviceId");
    let client = DeviceClient::connect(devhub_options(&device).with_reconnect(
        ReconnectPolicy::exponential(Duration::from_millis(50), Duration::from_millis(200)),
    ))
    .await
    .expect("connect");
    delete_device(id).await;
    let end = within(10_000, "Failed", client.closed()).await;
    match end {
        ConnectionStatus::Failed { reason } => {
            assert!(reason.is_auth_failure(), "{reason:?}");
            assert_eq!(
                reason,
                ClientError::Refused(ConnectReturnCode::NotAuthorized)
            );
        }
        other => panic!("expected Failed, got {other:?}"),
    }
    // One refused reconnect, then no more attempts.
    let attempts = client.stats().reconnect_attempts;
    assert_eq!(attempts, 1);
    sleep_ms(600).await;
    assert_eq!(client.stats().reconnect_attempts, attempts);
    let err = client.send_event(Message::new("x")).await.unwrap_err();
    assert_eq!(err.code(), "Unauthorized");
}

#[wasm_bindgen_test]
async fn sas_token_is_renewed_by_reconnecting() {
    let device = create_device("web-renew").await;
    // 4 s tokens renewed 2 s early: a renewal about two seconds after connecting.
    let options = devhub_options(&device).with_token_policy(TokenPolicy::new(4, 2));
    let client = DeviceClient::connect(options).await.expect("connect");
    let mut statuses = client.status_events();
    assert_eq!(statuses.next().await, Some(ConnectionStatus::Connected));
    let s = within(5_000, "renewal", statuses.next()).await.unwrap();
    assert!(
        matches!(
            s,
            ConnectionStatus::Reconnecting {
                reason: ReconnectReason::TokenRenewal,
                ..
            }
        ),
        "{s:?}"
    );
    let s = within(5_000, "connected again", statuses.next())
        .await
        .unwrap();
    assert_eq!(s, ConnectionStatus::Connected);
    assert_eq!(client.stats().connects, 2);
    within(
        5_000,
        "send after renewal",
        client.send_event(Message::new("fresh token")),
    )
    .await
    .expect("send with the renewed token");
    client.close().await;
}

#[wasm_bindgen_test]
async fn fixed_sas_token_connects_and_is_not_renewed() {
    let device = create_device("web-sas").await;
    let cs = ConnectionString::parse(str_field(&device, "connectionString")).unwrap();
    let issued = cs
        .issue_token(
            &TokenPolicy::new(600, 60),
            (js_sys::Date::now() / 1000.0) as u64,
        )
        .unwrap();
    let token: SasToken = issued.token;
    let options =
        DeviceOptions::from_sas_token(&cs.host_name, cs.device_id.as_str(), token.expose())
            .unwrap()
            .with_endpoint(DEVHUB_WS);
    let client = DeviceClient::connect(options)
        .await
        .expect("connect with a SAS token");
    let receipt = client
        .send_event(Message::new("signed elsewhere"))
        .await
        .expect("send");
    assert!(receipt.packet_id > 0);
    client.close().await;

    // An expired fixed token cannot be renewed: the error says so.
    let expired =
        SasToken::parse("SharedAccessSignature sr=localhost%2Fdevices%2Fx&sig=AAAA&se=1000")
            .unwrap();
    let options = DeviceOptions::from_sas_token("localhost", "x", expired.expose())
        .unwrap()
        .with_endpoint(DEVHUB_WS);
    let err = DeviceClient::connect(options).await.unwrap_err();
    assert!(matches!(err, ClientError::Token(_)), "{err:?}");
}
