//! Helpers shared by the integration tests: a started devhub, service API calls, and a
//! minimal MQTT-over-WebSocket device built on the hubwire-mqtt codec.
#![allow(dead_code, missing_docs, unreachable_pub)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use futures_util::{SinkExt, StreamExt};
use hubwire_iothub::{SasKey, SasToken};
use hubwire_mqtt::{
    Bytes, Connect, Decoder, MqttString, Packet, PacketId, Password, Publish, QoS, Subscribe,
    SubscribeFilter, TopicFilter, TopicName,
};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use tower::ServiceExt;

pub const HOST: &str = "localhost";
/// Upper bound for anything a test waits for; failures show up quickly instead of hanging.
pub const WAIT: Duration = Duration::from_secs(5);

pub struct Hub {
    pub running: devhub::Running,
    pub dir: PathBuf,
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap_or_else(|e| panic!("getrandom: {e}"));
    let dir =
        std::env::temp_dir().join(format!("devhub-test-{tag}-{:016x}", u64::from_le_bytes(b)));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

pub async fn start(tag: &str) -> Hub {
    let dir = temp_dir(tag);
    let running = devhub::start(devhub::Config::local(&dir))
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    Hub { running, dir }
}

impl Hub {
    /// Calls the service API in-process; returns status and JSON body (Null if empty).
    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let (status, _, body) = self.api_raw(method, path, body, &[]).await;
        let json = if body.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("{method} {path}: body is not JSON ({e}): {body:?}"))
        };
        (status, json)
    }

    pub async fn api_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, Bytes) {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = match body {
            Some(b) => req
                .header("content-type", "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .unwrap_or_else(|e| panic!("request: {e}"));
        let resp = self
            .running
            .router()
            .oneshot(req)
            .await
            .unwrap_or_else(|e| match e {});
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024)
            .await
            .unwrap_or_else(|e| panic!("body: {e}"));
        (status, headers, body)
    }

    pub async fn key(&self, device: &str) -> String {
        let (status, d) = self
            .api("GET", &format!("/api/devices/{device}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{d}");
        d["primaryKey"]
            .as_str()
            .unwrap_or_else(|| panic!("no key in {d}"))
            .to_owned()
    }

    pub fn ws_url(&self) -> String {
        format!(
            "ws://{}/$iothub/websocket?iothub-no-client-cert=true",
            self.running.addr
        )
    }

    /// A connected, authenticated device (CONNACK 0 checked).
    pub async fn device(&self, device: &str, clean_session: bool) -> (MqttDevice, bool) {
        let key = self.key(device).await;
        let mut d = MqttDevice::open(&self.ws_url()).await;
        d.send(Packet::Connect(connect(
            device,
            &token(device, &key, 3600),
            clean_session,
        )))
        .await;
        match d.recv().await {
            Some(Packet::ConnAck(ack)) => {
                assert_eq!(ack.code.as_u8(), 0, "CONNACK for {device}");
                (d, ack.session_present)
            }
            other => panic!("expected CONNACK, got {other:?}"),
        }
    }

    /// Waits until the event log holds at least `n` events.
    pub async fn events(&self, n: usize) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let (_, v) = self.api("GET", "/api/events", None).await;
            let list = v.as_array().cloned().unwrap_or_default();
            if list.len() >= n {
                return list;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {n} events: {v}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A SAS token for `device` on the test hub, valid for `ttl` seconds (may be "negative" via
/// an explicit expiry with `token_at`).
pub fn token(device: &str, key_b64: &str, ttl: u64) -> String {
    token_at(device, key_b64, now_secs() + ttl)
}

pub fn token_at(device: &str, key_b64: &str, expiry: u64) -> String {
    let key = SasKey::from_base64(key_b64).unwrap_or_else(|e| panic!("key: {e}"));
    SasToken::build(&key, &format!("{HOST}/devices/{device}"), expiry, None)
        .expose()
        .to_owned()
}

pub fn user_name(device: &str) -> String {
    format!("{HOST}/{device}/?api-version=2021-04-12&DeviceClientType=devhub-tests%2F1.0")
}

pub fn connect(device: &str, token: &str, clean_session: bool) -> Connect {
    let mut c = Connect::new(mqtt_string(device));
    c.clean_session = clean_session;
    c.keep_alive = 180;
    c.username = Some(mqtt_string(&user_name(device)));
    c.password = Some(Password::new(Bytes::copy_from_slice(token.as_bytes())));
    c
}

pub fn mqtt_string(s: &str) -> MqttString {
    MqttString::new(s).unwrap_or_else(|e| panic!("mqtt string: {e:?}"))
}

pub fn topic(s: &str) -> TopicName {
    TopicName::new(s).unwrap_or_else(|e| panic!("topic: {e:?}"))
}

pub fn pid(n: u16) -> PacketId {
    PacketId::new(n).unwrap_or_else(|| panic!("packet id 0"))
}

pub fn publish(topic_name: &str, body: &[u8], qos: QoS, id: Option<u16>) -> Packet {
    let mut p = Publish::new(topic(topic_name), Bytes::copy_from_slice(body));
    p.qos = qos;
    p.packet_id = id.map(pid);
    Packet::Publish(p)
}

pub fn subscribe(id: u16, filters: &[&str]) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: pid(id),
        filters: filters
            .iter()
            .map(|f| {
                SubscribeFilter::new(
                    TopicFilter::new(f).unwrap_or_else(|e| panic!("filter: {e:?}")),
                    QoS::AtLeastOnce,
                )
            })
            .collect(),
    })
}

pub fn encode(p: &Packet) -> Vec<u8> {
    p.to_bytes()
        .unwrap_or_else(|e| panic!("encode: {e}"))
        .to_vec()
}

/// A device speaking MQTT over a WebSocket.
pub struct MqttDevice {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    decoder: Decoder,
    pending: Vec<u8>,
}

impl MqttDevice {
    pub async fn open(url: &str) -> Self {
        let mut req = url
            .into_client_request()
            .unwrap_or_else(|e| panic!("request: {e}"));
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static("mqtt"));
        let (ws, resp) = tokio_tungstenite::connect_async(req)
            .await
            .unwrap_or_else(|e| panic!("WebSocket connect: {e}"));
        assert_eq!(
            resp.headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some("mqtt")
        );
        Self::from_ws(ws)
    }

    pub fn from_ws(ws: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Self {
            ws,
            decoder: Decoder::default(),
            pending: Vec::new(),
        }
    }

    pub async fn send(&mut self, p: Packet) {
        self.send_raw(&encode(&p)).await;
    }

    /// Sends bytes; errors (the hub may already have closed) are returned, not fatal.
    pub async fn try_send_raw(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.ws
            .send(WsMessage::Binary(Bytes::copy_from_slice(bytes)))
            .await
            .map_err(|e| e.to_string())
    }

    pub async fn send_raw(&mut self, bytes: &[u8]) {
        self.ws
            .send(WsMessage::Binary(Bytes::copy_from_slice(bytes)))
            .await
            .unwrap_or_else(|e| panic!("send: {e}"));
    }

    /// Next packet, or `None` when the hub closed the connection. Panics after [`WAIT`].
    pub async fn recv(&mut self) -> Option<Packet> {
        tokio::time::timeout(WAIT, self.recv_inner())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for a packet"))
    }

    async fn recv_inner(&mut self) -> Option<Packet> {
        loop {
            let mut input: &[u8] = &self.pending;
            let decoded = self.decoder.decode(&mut input);
            let consumed = self.pending.len() - input.len();
            self.pending.drain(..consumed);
            match decoded {
                Ok(Some(p)) => return Some(p),
                Ok(None) => {}
                Err(e) => panic!("hub sent a malformed packet: {e}"),
            }
            match self.ws.next().await {
                Some(Ok(WsMessage::Binary(b))) => self.pending.extend_from_slice(&b),
                Some(Ok(WsMessage::Close(_))) | None | Some(Err(_)) => return None,
                Some(Ok(other)) => {
                    assert!(!other.is_text(), "hub sent a text message");
                }
            }
        }
    }

    /// Asserts that the hub closes the connection without sending another packet.
    pub async fn expect_closed(&mut self) {
        match self.recv().await {
            None => {}
            Some(p) => panic!("expected the hub to close the connection, got {p:?}"),
        }
    }

    /// Asserts that nothing arrives for `d`.
    pub async fn expect_silence(&mut self, d: Duration) {
        if let Ok(p) = tokio::time::timeout(d, self.recv_inner()).await {
            panic!("expected silence, got {p:?}");
        }
    }
}
