//! End-to-end: a device speaking MQTT 3.1.1 over WebSocket (tokio-tungstenite + the
//! hubwire-mqtt codec) against a started devhub.
#![allow(missing_docs)]

mod common;

use std::time::Duration;

use axum::http::StatusCode;
use common::{connect, encode, publish, start, subscribe, token, token_at, MqttDevice, HOST, WAIT};
use futures_util::StreamExt;
use hubwire_mqtt::{Packet, PubAck, QoS, SubscribeReturnCode};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const D1: &str = "demo-device-1";
const D2: &str = "demo-device-2";

fn c2d_filter(d: &str) -> String {
    format!("devices/{d}/messages/devicebound/#")
}

async fn refused(hub: &common::Hub, device: &str, password: &str) {
    let mut d = MqttDevice::open(&hub.ws_url()).await;
    d.send(Packet::Connect(connect(device, password, false)))
        .await;
    match d.recv().await {
        Some(Packet::ConnAck(ack)) => {
            assert_eq!(ack.code.as_u8(), 5, "expected CONNACK 5 (not authorized)");
            assert!(!ack.session_present);
        }
        other => panic!("expected CONNACK 5, got {other:?}"),
    }
    d.expect_closed().await;
}

#[tokio::test]
async fn valid_sas_connects_and_shows_in_registry() {
    let hub = start("mqtt-ok").await;
    let (mut d, session_present) = hub.device(D1, false).await;
    assert!(!session_present);
    let (_, dev) = hub.api("GET", &format!("/api/devices/{D1}"), None).await;
    assert_eq!(dev["connected"], true);
    assert_eq!(dev["protocol"], "mqtt");
    // Keep-alive is answered.
    d.send(Packet::PingReq).await;
    assert_eq!(d.recv().await, Some(Packet::PingResp));
    d.send(Packet::Disconnect).await;
    d.expect_closed().await;
    // Unregistered once gone.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, dev) = hub.api("GET", &format!("/api/devices/{D1}"), None).await;
        if dev["connected"] == false {
            assert_eq!(dev["protocol"], Value::Null);
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still connected: {dev}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn bad_credentials_get_connack_5_and_close() {
    let hub = start("mqtt-auth").await;
    let k1 = hub.key(D1).await;
    let k2 = hub.key(D2).await;
    let other_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    // Wrong signature.
    refused(&hub, D1, &token(D1, other_key, 3600)).await;
    // Expired.
    refused(&hub, D1, &token_at(D1, &k1, common::now_secs() - 10)).await;
    // Another device's (valid) token.
    refused(&hub, D1, &token(D2, &k2, 3600)).await;
    // Unknown device.
    refused(&hub, "ghost", &token("ghost", other_key, 3600)).await;
    // Not a token at all.
    refused(&hub, D1, "hello").await;

    // No api-version in the user name.
    let mut d = MqttDevice::open(&hub.ws_url()).await;
    let mut c = connect(D1, &token(D1, &k1, 3600), false);
    c.username = Some(common::mqtt_string(&format!(
        "{HOST}/{D1}/?DeviceClientType=x"
    )));
    d.send(Packet::Connect(c)).await;
    match d.recv().await {
        Some(Packet::ConnAck(ack)) => assert_eq!(ack.code.as_u8(), 5),
        other => panic!("expected CONNACK 5, got {other:?}"),
    }
    d.expect_closed().await;

    // The device is still usable with a good token afterwards.
    let (_d, _) = hub.device(D1, false).await;
}

#[tokio::test]
async fn d2c_with_properties_is_stored_and_streamed() {
    let hub = start("mqtt-d2c").await;
    // Subscribe to the SSE stream before sending.
    let req = axum::http::Request::builder()
        .uri("/api/events/stream")
        .body(axum::body::Body::empty())
        .unwrap_or_else(|e| panic!("{e}"));
    let resp = tower::ServiceExt::oneshot(hub.running.router(), req)
        .await
        .unwrap_or_else(|e| match e {});
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut sse = resp.into_body().into_data_stream();

    let (mut d, _) = hub.device(D1, false).await;
    let topic = format!(
        "devices/{D1}/messages/events/%24.mid=msg-1&%24.cid=corr-1&%24.ct=application%2Fjson&%24.ce=utf-8&temp=21.5&note=a%20b"
    );
    let body = br#"{"temp":21.5}"#;
    let packet = publish(&topic, body, QoS::AtLeastOnce, Some(7));
    let wire = encode(&packet).len();
    d.send(packet).await;
    assert_eq!(
        d.recv().await,
        Some(Packet::PubAck(PubAck::new(common::pid(7))))
    );

    // QoS 0 with RETAIN and no bag.
    let mut p = hubwire_mqtt::Publish::new(
        common::topic(&format!("devices/{D1}/messages/events/")),
        hubwire_mqtt::Bytes::from_static(&[0xff, 0x00]),
    );
    p.retain = true;
    d.send(Packet::Publish(p)).await;

    let events = hub.events(2).await;
    let e = &events[0];
    assert_eq!(e["seq"], 1);
    assert_eq!(e["deviceId"], D1);
    assert_eq!(e["protocol"], "mqtt");
    assert_eq!(e["body"], r#"{"temp":21.5}"#);
    assert_eq!(e["bodyBase64"], "eyJ0ZW1wIjoyMS41fQ==");
    assert_eq!(e["systemProperties"]["messageId"], "msg-1");
    assert_eq!(e["systemProperties"]["correlationId"], "corr-1");
    assert_eq!(e["systemProperties"]["contentType"], "application/json");
    assert_eq!(e["systemProperties"]["contentEncoding"], "utf-8");
    assert_eq!(e["properties"], json!({"temp":"21.5","note":"a b"}));
    assert_eq!(e["wireBytes"], wire);
    assert!(
        e["enqueuedTimeUtc"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{e}"
    );

    let e2 = &events[1];
    assert_eq!(e2["seq"], 2);
    assert_eq!(e2["body"], Value::Null);
    assert_eq!(e2["bodyBase64"], "/wA=");
    assert_eq!(e2["properties"], json!({"mqtt-retain":"true"}));

    let (_, since) = hub.api("GET", "/api/events?since=1", None).await;
    assert_eq!(since.as_array().map(Vec::len), Some(1));
    let (_, other) = hub
        .api("GET", &format!("/api/events?deviceId={D2}"), None)
        .await;
    assert_eq!(other, json!([]));

    // The stream saw the first event.
    let mut text = String::new();
    while !text.contains("\n\n") {
        let chunk = tokio::time::timeout(WAIT, sse.next())
            .await
            .unwrap_or_else(|_| panic!("no SSE data; got {text:?}"));
        match chunk {
            Some(Ok(b)) => text.push_str(&String::from_utf8_lossy(&b)),
            other => panic!("SSE ended: {other:?}"),
        }
    }
    let data = text
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .unwrap_or_else(|| panic!("no data line in {text:?}"));
    let streamed: Value = serde_json::from_str(data).unwrap_or_else(|e| panic!("{e}: {data}"));
    assert_eq!(streamed["seq"], 1);
    assert_eq!(streamed["systemProperties"]["messageId"], "msg-1");
}

#[tokio::test]
async fn c2d_is_delivered_after_subscribe_and_completed_by_puback() {
    let hub = start("mqtt-c2d").await;
    let (mut d, _) = hub.device(D1, false).await;
    let (status, r) = hub
        .api(
            "POST",
            &format!("/api/devices/{D1}/messages"),
            Some(
                json!({"body":"hello device","messageId":"c2d-1","correlationId":"cid-9",
                        "contentType":"text/plain","properties":{"color":"blue"},
                        "ack":"full","ttlSeconds":600}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    // Nothing before the subscription.
    d.expect_silence(Duration::from_millis(200)).await;

    d.send(subscribe(1, &[&c2d_filter(D1)])).await;
    match d.recv().await {
        Some(Packet::SubAck(s)) => {
            assert_eq!(
                s.return_codes,
                vec![SubscribeReturnCode::Success(QoS::AtLeastOnce)]
            );
        }
        other => panic!("expected SUBACK, got {other:?}"),
    }
    let p = match d.recv().await {
        Some(Packet::Publish(p)) => p,
        other => panic!("expected C2D PUBLISH, got {other:?}"),
    };
    assert_eq!(p.qos, QoS::AtLeastOnce);
    assert_eq!(&p.payload[..], b"hello device");
    let topic = p.topic.as_str().to_owned();
    assert!(
        topic.starts_with(&format!("devices/{D1}/messages/devicebound/")),
        "{topic}"
    );
    let (dev, msg) = hubwire_iothub::mqtt::parse_c2d_topic(&topic, p.payload.to_vec())
        .unwrap_or_else(|e| panic!("{e}: {topic}"));
    assert_eq!(dev.as_str(), D1);
    assert_eq!(msg.message_id.as_deref(), Some("c2d-1"));
    assert_eq!(msg.correlation_id.as_deref(), Some("cid-9"));
    assert_eq!(msg.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        msg.to.as_deref(),
        Some("/devices/demo-device-1/messages/deviceBound")
    );
    assert!(msg.absolute_expiry.is_some(), "{topic}");
    assert_eq!(msg.ack, hubwire_iothub::Ack::Full);
    assert_eq!(msg.properties.get("color"), Some("blue"));

    let (_, q) = hub
        .api("GET", &format!("/api/devices/{D1}/messages"), None)
        .await;
    assert_eq!(q[0]["state"], "locked");

    let pid = p
        .packet_id
        .unwrap_or_else(|| panic!("QoS 1 without packet id"));
    d.send(Packet::PubAck(PubAck::new(pid))).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, h) = hub.api("GET", "/api/c2d/history", None).await;
        if h.as_array().is_some_and(|a| !a.is_empty()) {
            assert_eq!(h[0]["deviceId"], D1);
            assert_eq!(h[0]["messageId"], "c2d-1");
            assert_eq!(h[0]["outcome"], "completed");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "no history");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (_, f) = hub.api("GET", "/api/feedback", None).await;
    assert_eq!(f[0]["originalMessageId"], "c2d-1");
    assert_eq!(f[0]["statusCode"], "Success");
    assert_eq!(f[0]["deviceId"], D1);
    assert!(f[0]["deviceGenerationId"]
        .as_str()
        .is_some_and(|g| !g.is_empty()));
    let (_, q) = hub
        .api("GET", &format!("/api/devices/{D1}/messages"), None)
        .await;
    assert_eq!(q, json!([]));

    // A message sent while subscribed arrives right away.
    let (status, _) = hub
        .api(
            "POST",
            &format!("/api/devices/{D1}/messages"),
            Some(json!({"body":"second"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    match d.recv().await {
        Some(Packet::Publish(p)) => assert_eq!(&p.payload[..], b"second"),
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

#[tokio::test]
async fn unacked_c2d_returns_to_queue_and_session_persists() {
    let hub = start("mqtt-session").await;
    let (mut d, present) = hub.device(D1, false).await;
    assert!(!present);
    d.send(subscribe(1, &[&c2d_filter(D1)])).await;
    assert!(matches!(d.recv().await, Some(Packet::SubAck(_))));
    let (status, _) = hub
        .api(
            "POST",
            &format!("/api/devices/{D1}/messages"),
            Some(json!({"body":"one","messageId":"m1"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert!(matches!(d.recv().await, Some(Packet::Publish(_))));
    // Drop without PUBACK.
    drop(d);

    // Reconnect with clean session 0: the subscription is still there, the message comes back.
    let (mut d, present) = hub.device(D1, false).await;
    assert!(present, "session present after clean-session-0 reconnect");
    let p = match d.recv().await {
        Some(Packet::Publish(p)) => p,
        other => panic!("expected redelivery, got {other:?}"),
    };
    assert_eq!(&p.payload[..], b"one");
    let (_, q) = hub
        .api("GET", &format!("/api/devices/{D1}/messages"), None)
        .await;
    assert_eq!(
        q[0]["deliveryCount"], 0,
        "lock release does not count as an abandon"
    );
    if let Some(pid) = p.packet_id {
        d.send(Packet::PubAck(PubAck::new(pid))).await;
    }
    d.send(Packet::Disconnect).await;
    d.expect_closed().await;

    // Clean session 1 drops the stored subscription: nothing is delivered without SUBSCRIBE.
    let (status, _) = hub
        .api(
            "POST",
            &format!("/api/devices/{D1}/messages"),
            Some(json!({"body":"two"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (mut d, present) = hub.device(D1, true).await;
    assert!(!present);
    d.expect_silence(Duration::from_millis(200)).await;
    d.send(subscribe(2, &[&c2d_filter(D1)])).await;
    assert!(matches!(d.recv().await, Some(Packet::SubAck(_))));
    match d.recv().await {
        Some(Packet::Publish(p)) => assert_eq!(&p.payload[..], b"two"),
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

#[tokio::test]
async fn out_of_order_puback_closes() {
    let hub = start("mqtt-order").await;
    let (mut d, _) = hub.device(D1, true).await;
    for body in ["a", "b"] {
        let (status, _) = hub
            .api(
                "POST",
                &format!("/api/devices/{D1}/messages"),
                Some(json!({"body": body})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    d.send(subscribe(1, &[&c2d_filter(D1)])).await;
    assert!(matches!(d.recv().await, Some(Packet::SubAck(_))));
    let mut ids = Vec::new();
    for _ in 0..2 {
        match d.recv().await {
            Some(Packet::Publish(p)) => ids.extend(p.packet_id),
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }
    let second = ids.get(1).copied().unwrap_or_else(|| panic!("two ids"));
    d.send(Packet::PubAck(PubAck::new(second))).await;
    d.expect_closed().await;
    // Both messages are back in the queue.
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, q) = hub
            .api("GET", &format!("/api/devices/{D1}/messages"), None)
            .await;
        let states: Vec<&str> = q
            .as_array()
            .map(|a| a.iter().filter_map(|m| m["state"].as_str()).collect())
            .unwrap_or_default();
        if states == ["enqueued", "enqueued"] {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{q}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn second_connection_kicks_the_first() {
    let hub = start("mqtt-kick").await;
    let (mut first, _) = hub.device(D1, false).await;
    let (mut second, _) = hub.device(D1, false).await;
    first.expect_closed().await;
    second.send(Packet::PingReq).await;
    assert_eq!(second.recv().await, Some(Packet::PingResp));
    let (_, dev) = hub.api("GET", &format!("/api/devices/{D1}"), None).await;
    assert_eq!(dev["connected"], true);
    // Other devices are unaffected.
    let (mut other, _) = hub.device(D2, false).await;
    second.send(Packet::PingReq).await;
    assert_eq!(second.recv().await, Some(Packet::PingResp));
    other.send(Packet::PingReq).await;
    assert_eq!(other.recv().await, Some(Packet::PingResp));
}

#[tokio::test]
async fn deleting_a_device_disconnects_it() {
    let hub = start("mqtt-delete").await;
    let (mut d, _) = hub.device(D2, false).await;
    let (status, _) = hub.api("DELETE", &format!("/api/devices/{D2}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    d.expect_closed().await;
}

#[tokio::test]
async fn qos2_publish_closes() {
    let hub = start("mqtt-qos2").await;
    let (mut d, _) = hub.device(D1, false).await;
    d.send(publish(
        &format!("devices/{D1}/messages/events/"),
        b"x",
        QoS::ExactlyOnce,
        Some(1),
    ))
    .await;
    d.expect_closed().await;
    let (_, events) = hub.api("GET", "/api/events", None).await;
    assert_eq!(events, json!([]));
}

#[tokio::test]
async fn publish_to_other_topics_closes() {
    let hub = start("mqtt-topic").await;
    for topic in [
        "devices/demo-device-2/messages/events/".to_owned(),
        "some/other/topic".to_owned(),
        "$iothub/twin/GET/?$rid=1".to_owned(),
        format!("devices/{D1}/messages/devicebound/"),
    ] {
        let (mut d, _) = hub.device(D1, false).await;
        d.send(publish(&topic, b"x", QoS::AtLeastOnce, Some(1)))
            .await;
        d.expect_closed().await;
    }
    let (_, events) = hub.api("GET", "/api/events", None).await;
    assert_eq!(events, json!([]));
}

#[tokio::test]
async fn subscriptions_are_checked() {
    let hub = start("mqtt-sub").await;
    // Unsupported filters close the connection.
    for filter in [
        "#",
        "devices/demo-device-2/messages/devicebound/#",
        "devices/+/messages/devicebound/#",
    ] {
        let (mut d, _) = hub.device(D1, false).await;
        d.send(subscribe(1, &[filter])).await;
        d.expect_closed().await;
    }
    // Twin and method filters are granted (no-op), QoS capped at 1.
    let (mut d, _) = hub.device(D1, true).await;
    d.send(subscribe(
        3,
        &[
            "$iothub/twin/res/#",
            "$iothub/methods/POST/#",
            &c2d_filter(D1),
        ],
    ))
    .await;
    match d.recv().await {
        Some(Packet::SubAck(s)) => {
            assert_eq!(s.packet_id, common::pid(3));
            assert_eq!(s.return_codes.len(), 3);
            assert!(s
                .return_codes
                .iter()
                .all(|c| *c == SubscribeReturnCode::Success(QoS::AtLeastOnce)));
        }
        other => panic!("expected SUBACK, got {other:?}"),
    }
    // A QoS 2 request is granted QoS 1.
    let mut sub = subscribe(4, &["$iothub/twin/PATCH/properties/desired/#"]);
    if let Packet::Subscribe(s) = &mut sub {
        if let Some(f) = s.filters.first_mut() {
            f.qos = QoS::ExactlyOnce;
        }
    }
    d.send(sub).await;
    match d.recv().await {
        Some(Packet::SubAck(s)) => {
            assert_eq!(
                s.return_codes,
                vec![SubscribeReturnCode::Success(QoS::AtLeastOnce)]
            );
        }
        other => panic!("expected SUBACK, got {other:?}"),
    }
    d.send(Packet::PingReq).await;
    assert_eq!(d.recv().await, Some(Packet::PingResp));
}

#[tokio::test]
async fn more_than_five_subscriptions_close() {
    let hub = start("mqtt-sub5").await;
    // Re-subscribing to the same filter does not count twice.
    let (mut d, _) = hub.device(D1, true).await;
    let c2d = c2d_filter(D1);
    for i in 1..=3 {
        d.send(subscribe(i, &[&c2d])).await;
        assert!(matches!(d.recv().await, Some(Packet::SubAck(_))));
    }
    // All four supported filters at once are fine.
    d.send(subscribe(
        4,
        &[
            &c2d,
            "$iothub/twin/res/#",
            "$iothub/twin/PATCH/properties/desired/#",
            "$iothub/methods/POST/#",
        ],
    ))
    .await;
    assert!(matches!(d.recv().await, Some(Packet::SubAck(_))));
    drop(d);
    // One SUBSCRIBE asking for six topics is refused.
    let (mut d, _) = hub.device(D1, true).await;
    d.send(subscribe(1, &[&c2d, &c2d, &c2d, &c2d, &c2d, &c2d]))
        .await;
    d.expect_closed().await;
    // So is a sixth distinct (unsupported) filter.
    let (mut d, _) = hub.device(D1, true).await;
    d.send(subscribe(2, &["devices/demo-device-1/modules/m1/inputs/#"]))
        .await;
    d.expect_closed().await;
}

#[tokio::test]
async fn oversized_publish_closes() {
    let hub = start("mqtt-big").await;
    let (mut d, _) = hub.device(D1, false).await;
    let body = vec![b'x'; 270 * 1024];
    let bytes = encode(&publish(
        &format!("devices/{D1}/messages/events/"),
        &body,
        QoS::AtLeastOnce,
        Some(1),
    ));
    // Sent in WebSocket messages under the hub's per-message limit.
    for chunk in bytes.chunks(64 * 1024) {
        // The hub may close as soon as it sees the declared size.
        if d.try_send_raw(chunk).await.is_err() {
            break;
        }
    }
    d.expect_closed().await;
    let (_, events) = hub.api("GET", "/api/events", None).await;
    assert_eq!(events, json!([]));
}

#[tokio::test]
async fn connect_split_byte_by_byte_and_packets_coalesced() {
    let hub = start("mqtt-split").await;
    let key = hub.key(D1).await;
    let mut d = MqttDevice::open(&hub.ws_url()).await;
    let bytes = encode(&Packet::Connect(connect(D1, &token(D1, &key, 3600), false)));
    for b in &bytes {
        d.send_raw(std::slice::from_ref(b)).await;
    }
    match d.recv().await {
        Some(Packet::ConnAck(ack)) => assert_eq!(ack.code.as_u8(), 0),
        other => panic!("expected CONNACK, got {other:?}"),
    }
    // Three packets in one WebSocket message.
    let mut many = encode(&subscribe(5, &[&c2d_filter(D1)]));
    many.extend(encode(&Packet::PingReq));
    many.extend(encode(&publish(
        &format!("devices/{D1}/messages/events/"),
        b"hi",
        QoS::AtLeastOnce,
        Some(9),
    )));
    d.send_raw(&many).await;
    // PINGRESP comes from the session core at once, SUBACK and PUBACK once the hub handled the
    // packets: the order across packet types is not fixed by MQTT.
    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(d.recv().await);
    }
    assert!(
        got.iter()
            .any(|p| matches!(p, Some(Packet::SubAck(s)) if s.packet_id == common::pid(5))),
        "{got:?}"
    );
    assert!(got.contains(&Some(Packet::PingResp)), "{got:?}");
    assert!(
        got.contains(&Some(Packet::PubAck(PubAck::new(common::pid(9))))),
        "{got:?}"
    );
    let events = hub.events(1).await;
    assert_eq!(events[0]["body"], "hi");
}

#[tokio::test]
async fn will_message_is_sent_on_abrupt_close() {
    let hub = start("mqtt-will").await;
    let key = hub.key(D1).await;
    let mut d = MqttDevice::open(&hub.ws_url()).await;
    let mut c = connect(D1, &token(D1, &key, 3600), false);
    c.will = Some(hubwire_mqtt::LastWill {
        topic: common::topic(&format!("devices/{D1}/messages/events/reason=gone")),
        payload: hubwire_mqtt::Bytes::from_static(b"bye"),
        qos: QoS::AtLeastOnce,
        retain: false,
    });
    d.send(Packet::Connect(c)).await;
    assert!(matches!(d.recv().await, Some(Packet::ConnAck(_))));
    drop(d);
    let events = hub.events(1).await;
    assert_eq!(events[0]["body"], "bye");
    assert_eq!(events[0]["properties"]["iothub-MessageType"], "Will");
    assert_eq!(events[0]["properties"]["reason"], "gone");
}

#[tokio::test]
async fn websocket_handshake_rules() {
    let hub = start("ws").await;
    // No subprotocol → 400.
    let err = tokio_tungstenite::connect_async(hub.ws_url()).await;
    match err {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 400);
        }
        other => panic!(
            "expected HTTP 400, got {:?}",
            other.map(|(_, r)| r.status())
        ),
    }
    // Other subprotocols → 400 with an explanation (AMQPWSB10 is tested in amqp_ws.rs).
    for proto in ["graphql-ws", "amqp"] {
        let mut req = hub
            .ws_url()
            .into_client_request()
            .unwrap_or_else(|e| panic!("{e}"));
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(proto));
        match tokio_tungstenite::connect_async(req).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
                assert_eq!(resp.status(), 400, "{proto}");
                let body =
                    String::from_utf8_lossy(resp.body().as_deref().unwrap_or_default()).to_string();
                assert!(body.contains("AMQPWSB10"), "{body}");
            }
            other => panic!(
                "expected HTTP 400 for {proto}, got {:?}",
                other.map(|(_, r)| r.status())
            ),
        }
    }
    // Upper-case MQTT works and is echoed as sent; permessage-deflate is declined.
    let mut req = hub
        .ws_url()
        .into_client_request()
        .unwrap_or_else(|e| panic!("{e}"));
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("MQTT"));
    req.headers_mut().insert(
        "Sec-WebSocket-Extensions",
        HeaderValue::from_static("permessage-deflate; client_max_window_bits"),
    );
    let (ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        resp.headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("MQTT")
    );
    assert!(resp.headers().get("sec-websocket-extensions").is_none());
    let mut d = MqttDevice::from_ws(ws);
    let key = hub.key(D1).await;
    d.send(Packet::Connect(connect(D1, &token(D1, &key, 3600), false)))
        .await;
    assert!(matches!(d.recv().await, Some(Packet::ConnAck(a)) if a.code.as_u8() == 0));
    // Plain GET without upgrade → 400.
    let (status, _, _) = hub.api_raw("GET", "/$iothub/websocket", None, &[]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn packets_before_connect_and_garbage_close() {
    let hub = start("mqtt-garbage").await;
    let mut d = MqttDevice::open(&hub.ws_url()).await;
    d.send(Packet::PingReq).await;
    d.expect_closed().await;
    let mut d = MqttDevice::open(&hub.ws_url()).await;
    d.send_raw(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).await;
    d.expect_closed().await;
    // Text frames are not MQTT.
    let mut d = MqttDevice::open(&hub.ws_url()).await;
    futures_util::SinkExt::send(
        &mut d.ws,
        tokio_tungstenite::tungstenite::Message::Text("hello".into()),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    d.expect_closed().await;
}

#[tokio::test]
async fn connection_ends_when_the_sas_token_expires() {
    let hub = start("mqtt-expiry").await;
    let key = hub.key(D1).await;
    let mut d = MqttDevice::open(&hub.ws_url()).await;
    d.send(Packet::Connect(connect(D1, &token(D1, &key, 2), false)))
        .await;
    assert!(matches!(d.recv().await, Some(Packet::ConnAck(a)) if a.code.as_u8() == 0));
    // The hub severs the connection at `se` (within the helper's 5 s wait).
    d.expect_closed().await;
}

#[tokio::test]
async fn expired_lock_of_an_inflight_c2d_is_renewed_not_resent() {
    let dir = common::temp_dir("mqtt-lock");
    let mut config = devhub::Config::local(&dir);
    config.c2d_lock_seconds = 1;
    let running = devhub::start(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let hub = common::Hub { running, dir };
    let (mut d, _) = hub.device(D1, true).await;
    d.send(subscribe(1, &[&c2d_filter(D1)])).await;
    assert!(matches!(d.recv().await, Some(Packet::SubAck(_))));
    let (status, _) = hub
        .api(
            "POST",
            &format!("/api/devices/{D1}/messages"),
            Some(json!({"body":"once"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let p = match d.recv().await {
        Some(Packet::Publish(p)) => p,
        other => panic!("expected PUBLISH, got {other:?}"),
    };
    // The 1 s lock expires while the PUBLISH is unacknowledged: no second copy arrives.
    d.expect_silence(Duration::from_millis(1600)).await;
    let (_, h) = hub.api("GET", "/api/c2d/history", None).await;
    assert!(
        h.as_array()
            .is_some_and(|a| a.iter().any(|r| r["outcome"] == "lockExpired")),
        "{h}"
    );
    // The late PUBACK still completes it.
    let pid = p.packet_id.unwrap_or_else(|| panic!("no packet id"));
    d.send(Packet::PubAck(PubAck::new(pid))).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, h) = hub.api("GET", "/api/c2d/history", None).await;
        if h.as_array()
            .is_some_and(|a| a.iter().any(|r| r["outcome"] == "completed"))
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{h}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (_, q) = hub
        .api("GET", &format!("/api/devices/{D1}/messages"), None)
        .await;
    assert_eq!(q, json!([]));
}
