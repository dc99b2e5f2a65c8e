//! `FieldGateway`: many devices over one AMQP/WebSocket connection, against devhub.
#![cfg(all(target_arch = "wasm32", feature = "amqp"))]

mod common;

use core::time::Duration;

use common::*;
use futures::future::join_all;
use futures::StreamExt;
use hubwire_web::iothub::{ConnectionString, Message, TokenPolicy};
use hubwire_web::{
    AmqpError, ClientError, ConnectionStatus, DeviceOptions, FieldGateway, GatewayDevice,
    GatewayOptions, OptionsError, ReconnectPolicy, SendError,
};
use serde_json::{json, Value};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn options(device: &Value) -> DeviceOptions {
    DeviceOptions::from_connection_string(str_field(device, "connectionString"))
        .expect("devhub connection string parses")
}

fn host_of(device: &Value) -> String {
    ConnectionString::parse(str_field(device, "connectionString"))
        .expect("parses")
        .host_name
}

async fn gateway_for(device: &Value) -> FieldGateway {
    let options = GatewayOptions::new(host_of(device))
        .with_endpoint(DEVHUB_WS)
        .with_reconnect(ReconnectPolicy::exponential(
            Duration::from_millis(100),
            Duration::from_secs(2),
        ));
    within(10_000, "gateway connect", FieldGateway::connect(options))
        .await
        .expect("gateway connects")
}

async fn add(gateway: &FieldGateway, device: &Value) -> GatewayDevice {
    within(15_000, "add_device", gateway.add_device(options(device)))
        .await
        .unwrap_or_else(|e| panic!("add {}: {e}", str_field(device, "deviceId")))
}

#[wasm_bindgen_test]
async fn hundred_devices_send_and_receive_over_one_connection() {
    const N: usize = 100;
    let devices: Vec<Value> = join_all((0..N).map(|_| create_device("web-gw"))).await;
    let gateway = gateway_for(&devices[0]).await;
    assert_eq!(gateway.status(), ConnectionStatus::Connected);

    let handles: Vec<GatewayDevice> = within(
        60_000,
        "100 devices added",
        join_all(devices.iter().map(|d| gateway.add_device(options(d)))),
    )
    .await
    .into_iter()
    .enumerate()
    .map(|(i, r)| r.unwrap_or_else(|e| panic!("device {i}: {e}")))
    .collect();
    assert_eq!(gateway.devices().len(), N);
    for h in &handles {
        assert_eq!(h.status(), ConnectionStatus::Connected);
    }

    // Every device sends one message; each is accepted.
    let receipts = within(
        60_000,
        "100 sends",
        join_all(handles.iter().enumerate().map(|(i, h)| {
            h.send_event(
                Message::new(format!("reading {i}"))
                    .with_message_id(format!("gw-{i}"))
                    .with_property("index", i.to_string()),
            )
        })),
    )
    .await;
    for (i, r) in receipts.iter().enumerate() {
        let r = r.as_ref().unwrap_or_else(|e| panic!("send {i}: {e}"));
        assert_eq!(r.message_id.as_deref(), Some(format!("gw-{i}").as_str()));
    }
    // The hub filed each message under its own device.
    let all = join_all(devices.iter().map(|d| events(str_field(d, "deviceId")))).await;
    for (i, evs) in all.iter().enumerate() {
        assert_eq!(evs.len(), 1, "device {i}: {evs:?}");
        assert_eq!(evs[0]["protocol"], "amqp");
        assert_eq!(evs[0]["body"], format!("reading {i}"));
        assert_eq!(evs[0]["properties"]["index"], i.to_string());
    }

    // Every device receives its own C2D message and completes it.
    join_all(devices.iter().enumerate().map(|(i, d)| {
        let body = json!({ "body": format!("command {i}"), "messageId": format!("gw-c2d-{i}") });
        async move { send_c2d(str_field(d, "deviceId"), &body).await }
    }))
    .await;
    let received = within(
        60_000,
        "100 C2D messages",
        join_all(handles.iter().map(|h| async move {
            let mut messages = h.messages().expect("stream");
            let m = messages.next().await.expect("a message");
            h.complete(m.lock_token()).await.expect("complete");
            m.into_message()
        })),
    )
    .await;
    for (i, m) in received.iter().enumerate() {
        assert_eq!(m.body_str(), Some(format!("command {i}").as_str()));
        assert_eq!(
            m.message_id.as_deref(),
            Some(format!("gw-c2d-{i}").as_str())
        );
    }
    let history = eventually(10_000, "100 completions", || async {
        let h = c2d_history().await;
        let done = devices.iter().all(|d| {
            h.iter()
                .any(|e| e["deviceId"] == d["deviceId"] && e["outcome"] == "completed")
        });
        done.then_some(h)
    })
    .await;
    assert!(history.len() >= N);

    // One connection carried everything.
    let stats = gateway.stats();
    assert_eq!(stats.connects, 1, "{stats:?}");
    assert_eq!(stats.messages_sent, N as u64, "{stats:?}");
    assert_eq!(stats.messages_received, N as u64, "{stats:?}");
    for h in &handles {
        let s = h.stats();
        assert_eq!(
            (s.messages_sent, s.messages_received, s.connects),
            (1, 1, 1),
            "{s:?}"
        );
    }
    gateway.close().await;
    assert_eq!(gateway.status(), ConnectionStatus::Disconnected);
    for h in &handles {
        assert_eq!(h.status(), ConnectionStatus::Disconnected);
    }
}

#[wasm_bindgen_test]
async fn a_device_with_a_bad_key_fails_alone() {
    let good_a = create_device("web-gw-good").await;
    let good_b = create_device("web-gw-good").await;
    let bad = create_device("web-gw-bad").await;
    let gateway = gateway_for(&good_a).await;
    let a = add(&gateway, &good_a).await;

    let mut cs = ConnectionString::parse(str_field(&bad, "connectionString")).unwrap();
    cs.auth = ConnectionString::parse(
        "HostName=h;DeviceId=x;SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    )
    .unwrap()
    .auth;
    let err = within(
        10_000,
        "refusal",
        gateway
            .add_device(DeviceOptions::from_connection_string(&cs.to_connection_string()).unwrap()),
    )
    .await
    .unwrap_err();
    match &err {
        ClientError::Amqp(AmqpError::PutToken {
            status_code: 401, ..
        }) => {}
        other => panic!("expected a 401 put-token, got {other:?}"),
    }
    assert_eq!(err.code(), "Unauthorized");
    assert!(!gateway
        .devices()
        .contains(&str_field(&bad, "deviceId").to_owned()));

    // The connection and the other devices carry on; new devices can still join.
    assert_eq!(gateway.status(), ConnectionStatus::Connected);
    assert_eq!(a.status(), ConnectionStatus::Connected);
    let b = add(&gateway, &good_b).await;
    a.send_event(Message::new("a after the refusal"))
        .await
        .expect("a sends");
    b.send_event(Message::new("b after the refusal"))
        .await
        .expect("b sends");
    assert_eq!(events(str_field(&good_a, "deviceId")).await.len(), 1);
    assert_eq!(events(str_field(&good_b, "deviceId")).await.len(), 1);
    assert!(events(str_field(&bad, "deviceId")).await.is_empty());
    assert_eq!(gateway.stats().connects, 1);
    gateway.close().await;
}

#[wasm_bindgen_test]
async fn remove_a_device_while_running() {
    let da = create_device("web-gw-rm").await;
    let db = create_device("web-gw-rm").await;
    let gateway = gateway_for(&da).await;
    let a = add(&gateway, &da).await;
    let b = add(&gateway, &db).await;
    let mut a_messages = a.messages().expect("stream");
    let mut a_statuses = a.status_events();
    assert_eq!(a_statuses.next().await, Some(ConnectionStatus::Connected));

    gateway
        .remove_device(str_field(&da, "deviceId"))
        .await
        .expect("remove");
    assert_eq!(a.status(), ConnectionStatus::Disconnected);
    assert_eq!(
        within(2_000, "status", a_statuses.next()).await,
        Some(ConnectionStatus::Disconnected)
    );
    assert_eq!(
        within(2_000, "stream end", a_messages.next())
            .await
            .map(|_| ()),
        None
    );
    assert_eq!(
        a.send_event(Message::new("after removal"))
            .await
            .unwrap_err(),
        SendError::Closed
    );
    assert_eq!(
        gateway.devices(),
        vec![str_field(&db, "deviceId").to_owned()]
    );
    let err = gateway
        .remove_device(str_field(&da, "deviceId"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "InvalidOptions");

    // The other device is untouched, and the removed one can come back.
    b.send_event(Message::new("b still here"))
        .await
        .expect("b sends");
    // Its C2D link is gone: a message for it stays queued at the hub ...
    let a_id = str_field(&da, "deviceId");
    send_c2d(
        a_id,
        &json!({ "body": "while away", "messageId": "gw-away" }),
    )
    .await;
    sleep_ms(500).await;
    let queue = c2d_queue(a_id).await;
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(
        queue[0]["state"], "enqueued",
        "not delivered to a removed device"
    );
    // ... until the device is added again.
    let again = add(&gateway, &da).await;
    let mut again_messages = again.messages().expect("stream");
    let m = within(10_000, "queued C2D", again_messages.next())
        .await
        .expect("message");
    assert_eq!(m.message().message_id.as_deref(), Some("gw-away"));
    m.complete().await.expect("complete");
    again
        .send_event(Message::new("a is back"))
        .await
        .expect("a sends again");
    assert_eq!(events(str_field(&da, "deviceId")).await.len(), 1);
    assert_eq!(gateway.stats().connects, 1);
    gateway.close().await;
}

#[wasm_bindgen_test]
async fn tokens_are_renewed_per_device_and_hosts_must_match() {
    let d = create_device("web-gw-renew").await;
    let gateway = gateway_for(&d).await;
    let device = within(
        10_000,
        "add",
        gateway.add_device(options(&d).with_token_policy(TokenPolicy::new(4, 2))),
    )
    .await
    .expect("add");
    sleep_ms(7_000).await;
    let s = device.stats();
    assert!(s.token_renewals >= 2, "{s:?}");
    assert_eq!(s.connects, 1, "links never re-attached: {s:?}");
    assert_eq!(device.status(), ConnectionStatus::Connected);
    assert_eq!(gateway.stats().token_renewals, s.token_renewals);
    device
        .send_event(Message::new("renewed"))
        .await
        .expect("send");

    let other_hub = DeviceOptions::from_connection_string(
        "HostName=elsewhere.azure-devices.net;DeviceId=x;SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    )
    .unwrap();
    match gateway.add_device(other_hub).await {
        Err(ClientError::Options(OptionsError::HostMismatch { found, .. })) => {
            assert_eq!(found, "elsewhere.azure-devices.net")
        }
        other => panic!("expected HostMismatch, got {other:?}"),
    }
    match gateway.add_device(options(&d)).await {
        Err(ClientError::Options(OptionsError::DuplicateDevice { device_id })) => {
            assert_eq!(device_id, str_field(&d, "deviceId"))
        }
        other => panic!("expected DuplicateDevice, got {other:?}"),
    }
    assert_eq!(
        device.status(),
        ConnectionStatus::Connected,
        "a duplicate add leaves it alone"
    );
    gateway.close().await;
}
