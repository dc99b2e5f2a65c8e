//! The generic MQTT-over-WebSocket client against Mosquitto's WebSocket listener.
#![cfg(target_arch = "wasm32")]

mod common;

use common::*;
use futures::StreamExt;
use hubwire_web::mqtt::{Connect, MqttString, QoS, SubscribeReturnCode, TopicFilter};
use hubwire_web::{ClientError, ConnectionStatus, MqttWsClient, TransportError};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn connect_packet(prefix: &str) -> Connect {
    let mut c = Connect::new(MqttString::new(&unique(prefix)).unwrap());
    c.keep_alive = 30;
    c
}

#[wasm_bindgen_test]
async fn publish_and_receive_qos0_and_qos1() {
    let client = within(
        10_000,
        "connect to Mosquitto",
        MqttWsClient::connect(MOSQUITTO_WS, connect_packet("hubwire-web")),
    )
    .await
    .unwrap_or_else(|e| panic!("connect to {MOSQUITTO_WS}: {e}"));
    assert_eq!(client.status(), ConnectionStatus::Connected);
    let mut incoming = client.messages().expect("incoming stream");

    let base = unique("hubwire/test");
    let filter = TopicFilter::new(&format!("{base}/#")).unwrap();
    let granted = within(
        5_000,
        "SUBACK",
        client.subscribe_one(filter.clone(), QoS::AtLeastOnce),
    )
    .await
    .expect("subscribe");
    assert_eq!(granted, SubscribeReturnCode::Success(QoS::AtLeastOnce));

    let none = client
        .publish(
            &format!("{base}/zero"),
            "at most once",
            QoS::AtMostOnce,
            false,
        )
        .await
        .expect("QoS 0 publish");
    assert_eq!(none, None, "QoS 0 has no packet id");
    let id = within(
        5_000,
        "PUBACK",
        client.publish(
            &format!("{base}/one"),
            &b"at least once"[..],
            QoS::AtLeastOnce,
            false,
        ),
    )
    .await
    .expect("QoS 1 publish");
    assert!(id.is_some(), "QoS 1 resolves with its packet id");

    let mut got = Vec::new();
    for _ in 0..2 {
        let p = within(5_000, "incoming message", incoming.next())
            .await
            .expect("message");
        got.push((p.topic.as_str().to_owned(), p.payload.to_vec(), p.qos));
    }
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                format!("{base}/one"),
                b"at least once".to_vec(),
                QoS::AtLeastOnce
            ),
            (
                format!("{base}/zero"),
                b"at most once".to_vec(),
                QoS::AtMostOnce
            ),
        ]
    );

    within(5_000, "UNSUBACK", client.unsubscribe(vec![filter]))
        .await
        .expect("unsubscribe");
    client
        .publish(
            &format!("{base}/zero"),
            "after unsubscribe",
            QoS::AtLeastOnce,
            false,
        )
        .await
        .expect("publish after unsubscribe");
    // Not subscribed any more: nothing arrives.
    let late = futures::future::select(
        incoming.next(),
        gloo_timers::future::TimeoutFuture::new(300),
    )
    .await;
    assert!(
        matches!(late, futures::future::Either::Right(_)),
        "unexpected message after unsubscribe"
    );

    let stats = client.stats();
    assert!(
        stats.bytes_sent > 0 && stats.bytes_received > 0,
        "{stats:?}"
    );
    assert!(stats.frames_sent >= 5, "{stats:?}");
    assert_eq!(stats.messages_received, 2);
    assert_eq!(stats.messages_sent, 3);

    client.close().await;
    assert_eq!(client.status(), ConnectionStatus::Disconnected);
    assert_eq!(
        client.stats().packets_sent,
        stats.packets_sent + 1,
        "DISCONNECT counted"
    );
    let err = client
        .publish(&format!("{base}/zero"), "closed", QoS::AtMostOnce, false)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "Closed");
}

#[wasm_bindgen_test]
async fn unreachable_broker_is_a_handshake_error() {
    // Nothing listens on port 2, and browsers do not block it.
    let err = within(
        10_000,
        "connect failure",
        MqttWsClient::connect("ws://127.0.0.1:2/mqtt", connect_packet("nobody")),
    )
    .await
    .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Transport(TransportError::HandshakeFailed { .. })
        ),
        "{err:?}"
    );
    assert_eq!(err.code(), "TransportError");
}
