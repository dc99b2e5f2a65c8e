//! End-to-end: devices speaking AMQP 1.0 over WebSocket (tokio-tungstenite + the hubwire-amqp
//! client engine) against a started devhub: SASL, CBS put-token, D2C, C2D settlement, several
//! devices on one connection, frames cut into 1-byte WebSocket messages.
#![allow(missing_docs)]

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::{start, token, token_at, Hub, HOST, WAIT};
use futures_util::{SinkExt, StreamExt};
use hubwire_amqp::engine::{
    CbsResponse, ClientSasl, CloseReason, Connection, ConnectionConfig, Delivery, Event, LinkId,
    LinkOptions, PutToken, SessionId, SessionOptions,
};
use hubwire_amqp::{
    AmqpError, Attach, Bytes, DeliveryState, Encode, ErrorCondition, Message as AmqpMessage,
    MessageId, Rejected, SaslCode, Value,
};
use hubwire_iothub::amqp as iot;
use hubwire_iothub::{Message, SasToken};
use serde_json::{json, Value as Json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

const D1: &str = "demo-device-1";
const D2: &str = "demo-device-2";

/// A device (or gateway) speaking AMQP over a WebSocket, driven by the client engine.
struct AmqpDevice {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
    conn: Connection,
    t0: Instant,
    /// Outgoing bytes are cut into WebSocket messages of this size (0: one message per flush).
    chunk: usize,
    ws_open: bool,
    next_id: u64,
}

/// The two `$cbs` links.
#[derive(Clone, Copy)]
struct Cbs {
    sender: LinkId,
    receiver: LinkId,
}

impl AmqpDevice {
    async fn open(hub: &Hub, sasl: ClientSasl) -> Self {
        Self::open_with(hub, sasl, "AMQPWSB10", 0).await
    }

    async fn open_with(hub: &Hub, sasl: ClientSasl, protocol: &'static str, chunk: usize) -> Self {
        let mut req = hub
            .ws_url()
            .into_client_request()
            .unwrap_or_else(|e| panic!("request: {e}"));
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", HeaderValue::from_static(protocol));
        let (ws, resp) = tokio_tungstenite::connect_async(req)
            .await
            .unwrap_or_else(|e| panic!("WebSocket connect: {e}"));
        assert_eq!(
            resp.headers()
                .get("sec-websocket-protocol")
                .and_then(|v| v.to_str().ok()),
            Some(protocol),
            "the subprotocol is echoed as offered"
        );
        let t0 = Instant::now();
        let mut config = ConnectionConfig::new("devhub-test-device");
        config.hostname = Some(HOST.into());
        let conn = Connection::client(Duration::ZERO, config, sasl);
        Self {
            ws,
            conn,
            t0,
            chunk,
            ws_open: true,
            next_id: 1,
        }
    }

    fn now(&self) -> Duration {
        self.t0.elapsed()
    }

    async fn flush(&mut self) {
        let mut out = Vec::new();
        let _ = self.conn.poll_transmit(&mut out);
        if out.is_empty() || !self.ws_open {
            return;
        }
        let size = if self.chunk == 0 {
            out.len()
        } else {
            self.chunk
        };
        for piece in out.chunks(size) {
            if self
                .ws
                .send(WsMessage::Binary(Bytes::copy_from_slice(piece)))
                .await
                .is_err()
            {
                self.ws_open = false;
                return;
            }
        }
    }

    /// The next engine event; `None` once the connection is over and every event was taken.
    async fn next_event(&mut self) -> Option<Event> {
        loop {
            if let Some(ev) = self.conn.poll_event() {
                return Some(ev);
            }
            self.flush().await;
            if !self.ws_open || self.conn.is_closed() {
                return self.conn.poll_event();
            }
            let timeout = self
                .conn
                .poll_timeout()
                .map_or(Duration::from_secs(3600), |t| t.saturating_sub(self.now()));
            match tokio::time::timeout(timeout, self.ws.next()).await {
                Err(_) => {
                    let now = self.now();
                    self.conn.handle_timeout(now);
                }
                Ok(Some(Ok(WsMessage::Binary(b)))) => {
                    let now = self.now();
                    let _ = self.conn.handle_bytes(now, &b);
                }
                Ok(Some(Ok(m))) if m.is_text() => panic!("hub sent a text message"),
                Ok(Some(Ok(_))) => {}
                Ok(Some(Err(_)) | None) => {
                    self.ws_open = false;
                    let now = self.now();
                    self.conn.handle_transport_closed(now);
                }
            }
        }
    }

    /// Skips events until `f` picks one; panics after [`WAIT`] or when the connection ends.
    async fn expect<T>(&mut self, what: &str, mut f: impl FnMut(&Event) -> Option<T>) -> T {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut seen = Vec::new();
        loop {
            let ev = tokio::time::timeout_at(deadline, self.next_event())
                .await
                .unwrap_or_else(|_| panic!("timed out waiting for {what}; saw {seen:#?}"));
            let Some(ev) = ev else {
                panic!("connection ended while waiting for {what}; saw {seen:#?}");
            };
            if let Some(t) = f(&ev) {
                return t;
            }
            seen.push(ev);
        }
    }

    /// Asserts that nothing matching `f` happens for `d`.
    async fn expect_none(&mut self, d: Duration, mut f: impl FnMut(&Event) -> bool) {
        let until = tokio::time::Instant::now() + d;
        while let Ok(Some(ev)) = tokio::time::timeout_at(until, self.next_event()).await {
            assert!(!f(&ev), "unexpected {ev:?}");
        }
    }

    fn session(&mut self) -> SessionId {
        let now = self.now();
        self.conn
            .open_session(now, SessionOptions::default())
            .unwrap_or_else(|e| panic!("begin: {e}"))
    }

    fn cbs(&mut self, session: SessionId) -> Cbs {
        let now = self.now();
        let sender = self
            .conn
            .attach_sender(now, session, LinkOptions::sender("cbs-sender", "$cbs"))
            .unwrap_or_else(|e| panic!("attach: {e}"));
        let receiver = self
            .conn
            .attach_receiver(now, session, LinkOptions::receiver("cbs-receiver", "$cbs"))
            .unwrap_or_else(|e| panic!("attach: {e}"));
        Cbs { sender, receiver }
    }

    /// Sends a put-token request and waits for its response.
    async fn put_token(&mut self, cbs: Cbs, audience: &str, token: &str) -> CbsResponse {
        let id = self.next_id;
        self.next_id += 1;
        let request =
            PutToken::new(MessageId::Ulong(id), audience.to_owned(), token.to_owned()).to_message();
        let now = self.now();
        self.conn
            .send(now, cbs.sender, &request, false)
            .unwrap_or_else(|e| panic!("send: {e}"));
        let d = self
            .expect("put-token response", |ev| match ev {
                Event::Delivery(d) if d.link == cbs.receiver => Some(d.clone()),
                _ => None,
            })
            .await;
        let m = d.message().unwrap_or_else(|e| panic!("decode: {e}"));
        let r = CbsResponse::from_message(&m).unwrap_or_else(|e| panic!("response: {e}"));
        assert_eq!(r.correlation_id, Some(MessageId::Ulong(id)));
        r
    }

    fn attach_d2c(&mut self, session: SessionId, device: &str) -> LinkId {
        let now = self.now();
        self.conn
            .attach_sender(
                now,
                session,
                LinkOptions::sender(
                    format!("d2c-{device}"),
                    format!("/devices/{device}/messages/events"),
                ),
            )
            .unwrap_or_else(|e| panic!("attach: {e}"))
    }

    fn attach_c2d(&mut self, session: SessionId, device: &str) -> LinkId {
        let now = self.now();
        self.conn
            .attach_receiver(
                now,
                session,
                LinkOptions::receiver(
                    format!("c2d-{device}"),
                    format!("/devices/{device}/messages/devicebound"),
                ),
            )
            .unwrap_or_else(|e| panic!("attach: {e}"))
    }

    async fn attached(&mut self, link: LinkId) -> Attach {
        self.expect("link attached", |ev| match ev {
            Event::LinkAttached { link: l, remote } if *l == link => Some((**remote).clone()),
            Event::LinkDetached { link: l, error, .. } if *l == link => {
                panic!("link refused: {error:?}")
            }
            _ => None,
        })
        .await
    }

    /// Waits until the hub detaches `link` (or refuses its attach); returns the hub's error.
    async fn detached(&mut self, link: LinkId) -> Option<AmqpError> {
        self.expect("link detached by the hub", |ev| match ev {
            Event::LinkDetached {
                link: l,
                error,
                by_peer,
                ..
            } if *l == link => {
                assert!(*by_peer, "the client detached {link:?} itself: {error:?}");
                Some(error.clone())
            }
            _ => None,
        })
        .await
    }

    /// Sends a D2C message unsettled and returns the hub's outcome.
    async fn send_d2c(&mut self, link: LinkId, m: &AmqpMessage) -> Option<DeliveryState> {
        let now = self.now();
        let tag = self
            .conn
            .send(now, link, m, false)
            .unwrap_or_else(|e| panic!("send: {e}"));
        self.expect("D2C outcome", |ev| match ev {
            Event::Outcome {
                link: l,
                tag: t,
                state,
                ..
            } if *l == link && *t == tag => Some(state.clone()),
            _ => None,
        })
        .await
    }

    async fn c2d(&mut self, link: LinkId) -> Delivery {
        self.expect("C2D delivery", |ev| match ev {
            Event::Delivery(d) if d.link == link => Some(d.clone()),
            _ => None,
        })
        .await
    }

    fn settle(&mut self, d: &Delivery, state: DeliveryState) {
        let now = self.now();
        self.conn
            .settle(now, d.link, d.delivery_id, Some(state))
            .unwrap_or_else(|e| panic!("settle: {e}"));
    }

    /// A no-SASL connection with one session, CBS links and a successful put-token per device.
    async fn cbs_connected(hub: &Hub, devices: &[&str]) -> (Self, SessionId, Cbs) {
        let mut d = Self::open(hub, ClientSasl::None).await;
        let s = d.session();
        let cbs = d.cbs(s);
        for device in devices {
            let key = hub.key(device).await;
            let r = d
                .put_token(
                    cbs,
                    &encoded_audience(device, &key),
                    &token(device, &key, 3600),
                )
                .await;
            assert_eq!(r.status_code, 200, "{r:?}");
        }
        (d, s, cbs)
    }
}

/// The audience the Node SDK sends: the token's `sr`, URL-encoded.
fn encoded_audience(device: &str, key: &str) -> String {
    let t = SasToken::parse(&token(device, key, 60)).unwrap_or_else(|e| panic!("{e}"));
    iot::put_token_audience(&t).to_owned()
}

fn d2c_message(body: &str) -> AmqpMessage {
    let m = Message::new(body.as_bytes().to_vec())
        .with_message_id("m-1")
        .with_correlation_id("c-1")
        .with_content_type("application/json")
        .with_content_encoding("utf-8")
        .with_property("temperatureAlert", "true")
        .with_property("level", "3");
    iot::message_to_amqp(&m).unwrap_or_else(|e| panic!("{e}"))
}

fn condition(state: &Option<DeliveryState>) -> Option<String> {
    match state {
        Some(DeliveryState::Rejected(Rejected { error: Some(e) })) => {
            Some(e.condition.as_str().to_owned())
        }
        _ => None,
    }
}

async fn send_c2d(hub: &Hub, device: &str, body: Json) -> u64 {
    let (status, r) = hub
        .api(
            "POST",
            &format!("/api/devices/{device}/messages"),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{r}");
    r["sequenceNumber"].as_u64().unwrap_or_default()
}

async fn wait_for(hub: &Hub, path: &str, mut f: impl FnMut(&Json) -> bool) -> Json {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (_, v) = hub.api("GET", path, None).await;
        if f(&v) {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting on {path}: {v}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn annotation<'a>(m: &'a AmqpMessage, key: &str) -> Option<&'a Value> {
    m.message_annotations.as_ref().and_then(|a| a.get(key))
}

#[tokio::test]
async fn cbs_put_token_then_d2c_with_properties() {
    let hub = start("amqp-d2c").await;
    let (mut d, s, _) = AmqpDevice::cbs_connected(&hub, &[D1]).await;
    let (_, dev) = hub.api("GET", &format!("/api/devices/{D1}"), None).await;
    assert_eq!(dev["connected"], true, "{dev}");
    assert_eq!(dev["protocol"], "amqp", "{dev}");
    let remote = d
        .conn
        .remote_open()
        .cloned()
        .unwrap_or_else(|| panic!("no OPEN"));
    assert!(remote.container_id.as_str().starts_with("DeviceGateway_"));
    assert_eq!(remote.max_frame_size, 65536);
    assert_eq!(remote.channel_max, 8191);
    assert_eq!(remote.idle_time_out, Some(240_000));

    let link = d.attach_d2c(s, D1);
    let attach = d.attached(link).await;
    assert_eq!(attach.max_message_size, Some(1024 * 1024));
    let outcome = d.send_d2c(link, &d2c_message("{\"t\":21}")).await;
    assert_eq!(outcome, Some(DeliveryState::Accepted));

    let events = hub.events(1).await;
    let e = &events[0];
    assert_eq!(e["deviceId"], D1);
    assert_eq!(e["protocol"], "amqp");
    assert_eq!(e["body"], "{\"t\":21}");
    assert_eq!(
        e["properties"],
        json!({"temperatureAlert":"true","level":"3"})
    );
    assert_eq!(e["systemProperties"]["messageId"], "m-1");
    assert_eq!(e["systemProperties"]["correlationId"], "c-1");
    assert_eq!(e["systemProperties"]["contentType"], "application/json");
    assert_eq!(e["systemProperties"]["contentEncoding"], "utf-8");
    assert_eq!(e["systemProperties"]["connectionDeviceId"], D1);
    // wireBytes: the transfer frame(s) that carried the delivery, as sent.
    let payload = d2c_message("{\"t\":21}")
        .to_bytes()
        .unwrap_or_else(|e| panic!("{e}"))
        .len();
    let wire = e["wireBytes"].as_u64().unwrap_or_default() as usize;
    assert!(
        wire > payload + 8 && wire < payload + 64,
        "wireBytes {wire} for a {payload}-byte message"
    );

    // A second event, as the Node SDK sends it (message-id as a uuid).
    let mut m = d2c_message("second");
    if let Some(p) = m.properties.as_mut() {
        p.message_id = iot::uuid_from_str("6f2c1c55-2cde-4a4e-9d1a-0f1e2d3c4b5a").map(Into::into);
    }
    assert_eq!(d.send_d2c(link, &m).await, Some(DeliveryState::Accepted));
    let events = hub.events(2).await;
    assert_eq!(
        events[1]["systemProperties"]["messageId"],
        "6f2c1c55-2cde-4a4e-9d1a-0f1e2d3c4b5a"
    );

    // Closing the connection disconnects the device.
    let now = d.now();
    d.conn.close(now, None).unwrap_or_else(|e| panic!("{e}"));
    let reason = d
        .expect("close", |ev| match ev {
            Event::Closed(r) => Some(r.clone()),
            _ => None,
        })
        .await;
    assert!(reason.is_clean(), "{reason:?}");
    wait_for(&hub, &format!("/api/devices/{D1}"), |v| {
        v["connected"] == false
    })
    .await;
}

#[tokio::test]
async fn bad_token_gets_401_and_attach_is_refused() {
    let hub = start("amqp-401").await;
    let mut d = AmqpDevice::open(&hub, ClientSasl::None).await;
    let s = d.session();
    let cbs = d.cbs(s);
    // No put-token yet: refused.
    let link = d.attach_d2c(s, D1);
    let err = d.detached(link).await;
    assert_eq!(
        err.map(|e| e.condition),
        Some(ErrorCondition::UNAUTHORIZED_ACCESS)
    );

    let k1 = hub.key(D1).await;
    let k2 = hub.key(D2).await;
    let wrong_key = token(D1, &k2, 3600);
    let r = d
        .put_token(cbs, &format!("{HOST}/devices/{D1}"), &wrong_key)
        .await;
    assert_eq!(r.status_code, 401, "{r:?}");
    let why = r
        .status_description
        .as_ref()
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default();
    assert!(why.contains("signature"), "{why}");
    assert!(!why.contains(&wrong_key) && !why.contains(&k1) && !why.contains(&k2));
    let expired = token_at(D1, &k1, common::now_secs() - 5);
    let r = d
        .put_token(cbs, &format!("{HOST}/devices/{D1}"), &expired)
        .await;
    assert_eq!(r.status_code, 401, "{r:?}");
    let r = d
        .put_token(cbs, &format!("{HOST}/things/{D1}"), &token(D1, &k1, 60))
        .await;
    assert_eq!(r.status_code, 400, "{r:?}");
    let r = d
        .put_token(
            cbs,
            &format!("{HOST}/devices/ghost"),
            &token("ghost", &k1, 60),
        )
        .await;
    assert_eq!(r.status_code, 401, "{r:?}");

    let link = d.attach_d2c(s, D1);
    let err = d.detached(link).await;
    assert_eq!(
        err.map(|e| e.condition),
        Some(ErrorCondition::UNAUTHORIZED_ACCESS)
    );
    let c2d = d.attach_c2d(s, D1);
    let err = d.detached(c2d).await;
    assert_eq!(
        err.map(|e| e.condition),
        Some(ErrorCondition::UNAUTHORIZED_ACCESS)
    );
    let (_, dev) = hub.api("GET", &format!("/api/devices/{D1}"), None).await;
    assert_eq!(dev["connected"], false, "{dev}");

    // The connection is still usable: a good token now works (raw audience form).
    let r = d
        .put_token(cbs, &format!("{HOST}/devices/{D1}"), &token(D1, &k1, 3600))
        .await;
    assert_eq!(r.status_code, 200, "{r:?}");
    let link = d.attach_d2c(s, D1);
    d.attached(link).await;
    assert_eq!(
        d.send_d2c(link, &d2c_message("ok")).await,
        Some(DeliveryState::Accepted)
    );
}

#[tokio::test]
async fn sasl_plain_good_and_bad() {
    let hub = start("amqp-plain").await;
    let key = hub.key(D1).await;
    let did = hubwire_iothub::DeviceId::new(D1).unwrap_or_else(|e| panic!("{e}"));
    let user = iot::plain_user_name(HOST, &did);
    assert_eq!(user, format!("{D1}@sas.localhost"));

    let mut d =
        AmqpDevice::open(&hub, ClientSasl::plain(user.clone(), token(D1, &key, 3600))).await;
    let s = d.session();
    let link = d.attach_d2c(s, D1);
    d.attached(link).await;
    assert_eq!(
        d.send_d2c(link, &d2c_message("plain")).await,
        Some(DeliveryState::Accepted)
    );
    // PLAIN authorises its own device only.
    let other = d.attach_d2c(s, D2);
    assert_eq!(
        d.detached(other).await.map(|e| e.condition),
        Some(ErrorCondition::UNAUTHORIZED_ACCESS)
    );
    let events = hub.events(1).await;
    assert_eq!(events[0]["protocol"], "amqp");
    assert_eq!(events[0]["body"], "plain");

    let k2 = hub.key(D2).await;
    for (user, password) in [
        (user.clone(), token(D1, &k2, 3600)),
        (format!("{D1}@sas.otherhub"), token(D1, &key, 3600)),
        (format!("{D1}@localhost"), token(D1, &key, 3600)),
        (user.clone(), token_at(D1, &key, common::now_secs() - 1)),
    ] {
        let mut bad = AmqpDevice::open(&hub, ClientSasl::plain(user, password)).await;
        let reason = bad
            .expect("SASL failure", |ev| match ev {
                Event::Closed(r) => Some(r.clone()),
                _ => None,
            })
            .await;
        assert_eq!(reason, CloseReason::SaslFailed(SaslCode::Auth));
    }

    // ANONYMOUS and MSSBCBS lead to CBS.
    for sasl in [ClientSasl::Anonymous, ClientSasl::MsSbCbs] {
        let mut d = AmqpDevice::open(&hub, sasl).await;
        let s = d.session();
        let cbs = d.cbs(s);
        let r = d
            .put_token(cbs, &encoded_audience(D2, &k2), &token(D2, &k2, 3600))
            .await;
        assert_eq!(r.status_code, 200);
        let link = d.attach_d2c(s, D2);
        d.attached(link).await;
    }
}

#[tokio::test]
async fn c2d_delivered_with_annotations_and_completed() {
    let hub = start("amqp-c2d").await;
    let seq = send_c2d(
        &hub,
        D1,
        json!({"body":"hello device","messageId":"c2d-1","correlationId":"cid-9",
               "contentType":"text/plain","properties":{"color":"blue"},
               "ack":"full","ttlSeconds":600}),
    )
    .await;
    let (mut d, s, _) = AmqpDevice::cbs_connected(&hub, &[D1]).await;
    let link = d.attach_c2d(s, D1);
    let delivery = d.c2d(link).await;
    assert!(
        !delivery.settled,
        "C2D deliveries wait for the device's outcome"
    );
    let m = delivery.message().unwrap_or_else(|e| panic!("{e}"));
    let lock = match annotation(&m, "x-opt-lock-token") {
        Some(Value::String(s)) => s.as_str().to_owned(),
        other => panic!("x-opt-lock-token: {other:?}"),
    };
    assert_eq!(
        iot::delivery_tag_from_lock_token(&lock).map(|t| t.to_vec()),
        Some(delivery.tag.to_vec()),
        "delivery-tag = lock token bytes"
    );
    assert_eq!(
        annotation(&m, "x-opt-sequence-number"),
        Some(&Value::Ulong(seq))
    );
    assert_eq!(
        annotation(&m, "iothub-deliverycount"),
        Some(&Value::Ubyte(0))
    );
    assert!(matches!(
        annotation(&m, "iothub-enqueuedtime"),
        Some(Value::Timestamp(_))
    ));
    let msg = iot::c2d_message_from_amqp(&m, &delivery.tag).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(msg.body, b"hello device");
    assert_eq!(msg.message_id.as_deref(), Some("c2d-1"));
    assert_eq!(msg.correlation_id.as_deref(), Some("cid-9"));
    assert_eq!(msg.content_type.as_deref(), Some("text/plain"));
    assert_eq!(
        msg.to.as_deref(),
        Some("/devices/demo-device-1/messages/deviceBound")
    );
    assert_eq!(msg.ack, hubwire_iothub::Ack::Full);
    assert_eq!(msg.properties.get("color"), Some("blue"));
    let (_, q) = hub
        .api("GET", &format!("/api/devices/{D1}/messages"), None)
        .await;
    assert_eq!(q[0]["state"], "locked");

    d.settle(&delivery, DeliveryState::Accepted);
    d.flush().await;
    let h = wait_for(&hub, "/api/c2d/history", |h| {
        h.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    assert_eq!(h[0]["messageId"], "c2d-1");
    assert_eq!(h[0]["outcome"], "completed");
    let (_, f) = hub.api("GET", "/api/feedback", None).await;
    assert_eq!(f[0]["statusCode"], "Success");
    let (_, q) = hub
        .api("GET", &format!("/api/devices/{D1}/messages"), None)
        .await;
    assert_eq!(q, json!([]));

    // Sent while the link is attached: arrives right away.
    send_c2d(&hub, D1, json!({"body":"second"})).await;
    let delivery = d.c2d(link).await;
    let m = delivery.message().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        m.body.single_data().map(|b| b.to_vec()),
        Some(b"second".to_vec())
    );
}

#[tokio::test]
async fn release_abandons_and_redelivers_then_reject_dead_letters() {
    let hub = start("amqp-abandon").await;
    send_c2d(
        &hub,
        D1,
        json!({"body":"try me","messageId":"c2d-a","ack":"negative"}),
    )
    .await;
    let (mut d, s, _) = AmqpDevice::cbs_connected(&hub, &[D1]).await;
    let link = d.attach_c2d(s, D1);
    let first = d.c2d(link).await;
    d.settle(&first, DeliveryState::Released);
    let second = d.c2d(link).await;
    assert_ne!(first.tag, second.tag, "a new lock, a new tag");
    let m = second.message().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        annotation(&m, "iothub-deliverycount"),
        Some(&Value::Ubyte(1))
    );
    let h = wait_for(&hub, "/api/c2d/history", |h| {
        h.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    assert_eq!(h[0]["outcome"], "abandoned");

    // modified counts as abandon too.
    d.settle(
        &second,
        DeliveryState::Modified(hubwire_amqp::Modified {
            delivery_failed: Some(true),
            undeliverable_here: None,
            message_annotations: None,
        }),
    );
    let third = d.c2d(link).await;
    let m = third.message().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        annotation(&m, "iothub-deliverycount"),
        Some(&Value::Ubyte(2))
    );

    d.settle(
        &third,
        DeliveryState::rejected(AmqpError::new(
            ErrorCondition::NOT_ALLOWED,
            Some("Rejected by application".into()),
        )),
    );
    d.flush().await;
    let h = wait_for(&hub, "/api/c2d/history", |h| {
        h.as_array().is_some_and(|a| a.len() >= 3)
    })
    .await;
    assert_eq!(h[2]["outcome"], "rejected");
    let f = wait_for(&hub, "/api/feedback", |f| {
        f.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    assert_eq!(f[0]["originalMessageId"], "c2d-a");
    assert_eq!(f[0]["statusCode"], "Rejected");
    let (_, q) = hub
        .api("GET", &format!("/api/devices/{D1}/messages"), None)
        .await;
    assert_eq!(q, json!([]));
    d.expect_none(Duration::from_millis(200), |ev| {
        matches!(ev, Event::Delivery(_))
    })
    .await;
}

#[tokio::test]
async fn unsettled_c2d_returns_to_the_queue_when_the_link_or_connection_ends() {
    let hub = start("amqp-unsettled").await;
    send_c2d(&hub, D1, json!({"body":"one","messageId":"u-1"})).await;
    let (mut d, s, _) = AmqpDevice::cbs_connected(&hub, &[D1]).await;
    let link = d.attach_c2d(s, D1);
    d.c2d(link).await;
    let now = d.now();
    d.conn
        .detach(now, link, true, None)
        .unwrap_or_else(|e| panic!("{e}"));
    d.expect("the hub's DETACH answer", |ev| {
        matches!(ev, Event::LinkDetached { link: l, .. } if *l == link).then_some(())
    })
    .await;
    let q = wait_for(&hub, &format!("/api/devices/{D1}/messages"), |q| {
        q[0]["state"] == "enqueued"
    })
    .await;
    assert_eq!(
        q[0]["deliveryCount"], 0,
        "a lost delivery is not an abandon"
    );

    // Again on a new link, then the connection drops without a CLOSE.
    let link = d.attach_c2d(s, D1);
    d.c2d(link).await;
    drop(d);
    let q = wait_for(&hub, &format!("/api/devices/{D1}/messages"), |q| {
        q[0]["state"] == "enqueued"
    })
    .await;
    assert_eq!(q[0]["deliveryCount"], 0);
    wait_for(&hub, &format!("/api/devices/{D1}"), |v| {
        v["connected"] == false
    })
    .await;
}

#[tokio::test]
async fn two_devices_on_one_connection_and_one_bad_token() {
    let hub = start("amqp-gateway").await;
    let (mut d, s, cbs) = AmqpDevice::cbs_connected(&hub, &[D1]).await;
    let k1 = hub.key(D1).await;
    let k2 = hub.key(D2).await;
    // D2's put-token with D1's key fails; D1 is unaffected.
    let r = d
        .put_token(cbs, &encoded_audience(D2, &k2), &token(D2, &k1, 3600))
        .await;
    assert_eq!(r.status_code, 401);
    let l2 = d.attach_d2c(s, D2);
    assert_eq!(
        d.detached(l2).await.map(|e| e.condition),
        Some(ErrorCondition::UNAUTHORIZED_ACCESS)
    );
    let l1 = d.attach_d2c(s, D1);
    d.attached(l1).await;
    assert_eq!(
        d.send_d2c(l1, &d2c_message("from d1")).await,
        Some(DeliveryState::Accepted)
    );

    // Now D2 with its own token: both devices on the same connection.
    let r = d
        .put_token(cbs, &encoded_audience(D2, &k2), &token(D2, &k2, 3600))
        .await;
    assert_eq!(r.status_code, 200);
    let l2 = d.attach_d2c(s, D2);
    d.attached(l2).await;
    assert_eq!(
        d.send_d2c(l2, &d2c_message("from d2")).await,
        Some(DeliveryState::Accepted)
    );
    let c1 = d.attach_c2d(s, D1);
    let c2 = d.attach_c2d(s, D2);
    send_c2d(&hub, D2, json!({"body":"for d2"})).await;
    send_c2d(&hub, D1, json!({"body":"for d1"})).await;
    // Both arrive, in any order.
    let mut got = Vec::new();
    while got.len() < 2 {
        got.push(
            d.expect("C2D deliveries", |ev| match ev {
                Event::Delivery(x) if x.link == c1 || x.link == c2 => Some(x.clone()),
                _ => None,
            })
            .await,
        );
    }
    let pick = |l: LinkId| {
        got.iter()
            .find(|x| x.link == l)
            .cloned()
            .unwrap_or_else(|| panic!("no delivery on {l:?}"))
    };
    let (got1, got2) = (pick(c1), pick(c2));
    let body = |x: &Delivery| {
        x.message()
            .ok()
            .and_then(|m| m.body.single_data().map(|b| b.to_vec()))
    };
    assert_eq!(body(&got1), Some(b"for d1".to_vec()));
    assert_eq!(body(&got2), Some(b"for d2".to_vec()));

    let events = hub.events(2).await;
    let who: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["deviceId"].as_str().unwrap_or(""),
                e["body"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(who, vec![(D1, "from d1"), (D2, "from d2")]);
    let (_, devs) = hub.api("GET", "/api/devices", None).await;
    let connected: Vec<&str> = devs
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["connected"] == true)
        .filter_map(|d| d["deviceId"].as_str())
        .collect();
    assert_eq!(connected, vec![D1, D2]);
}

#[tokio::test]
async fn token_expiry_detaches_only_that_devices_links() {
    let hub = start("amqp-expiry").await;
    let (mut d, s, cbs) = AmqpDevice::cbs_connected(&hub, &[D2]).await;
    let k1 = hub.key(D1).await;
    let r = d
        .put_token(
            cbs,
            &encoded_audience(D1, &k1),
            &token_at(D1, &k1, common::now_secs() + 2),
        )
        .await;
    assert_eq!(r.status_code, 200);
    let l1 = d.attach_d2c(s, D1);
    d.attached(l1).await;
    let l2 = d.attach_d2c(s, D2);
    d.attached(l2).await;
    let err = tokio::time::timeout(Duration::from_secs(5), d.detached(l1))
        .await
        .unwrap_or_else(|_| panic!("D1's link was not detached at token expiry"));
    assert_eq!(
        err.map(|e| e.condition),
        Some(ErrorCondition::UNAUTHORIZED_ACCESS)
    );
    assert_eq!(
        d.send_d2c(l2, &d2c_message("still here")).await,
        Some(DeliveryState::Accepted)
    );
    let (_, dev) = hub.api("GET", &format!("/api/devices/{D1}"), None).await;
    assert_eq!(dev["connected"], false, "{dev}");
    let (_, dev) = hub.api("GET", &format!("/api/devices/{D2}"), None).await;
    assert_eq!(dev["connected"], true, "{dev}");
}

#[tokio::test]
async fn frames_split_into_one_byte_websocket_messages() {
    let hub = start("amqp-bytes").await;
    let key = hub.key(D1).await;
    let mut d = AmqpDevice::open_with(&hub, ClientSasl::None, "amqpwsb10", 1).await;
    let s = d.session();
    let cbs = d.cbs(s);
    let r = d
        .put_token(cbs, &encoded_audience(D1, &key), &token(D1, &key, 3600))
        .await;
    assert_eq!(r.status_code, 200);
    let link = d.attach_d2c(s, D1);
    d.attached(link).await;
    assert_eq!(
        d.send_d2c(link, &d2c_message("byte by byte")).await,
        Some(DeliveryState::Accepted)
    );
    let events = hub.events(1).await;
    assert_eq!(events[0]["body"], "byte by byte");
    assert_eq!(events[0]["properties"]["level"], "3");
}

#[tokio::test]
async fn oversized_d2c_is_rejected_and_the_link_stays() {
    let hub = start("amqp-big").await;
    let (mut d, s, _) = AmqpDevice::cbs_connected(&hub, &[D1]).await;
    let link = d.attach_d2c(s, D1);
    d.attached(link).await;
    // 300 KB: over IoT Hub's 256 KB, under the link's 1 MiB; several transfer frames.
    let big = AmqpMessage::with_data(vec![b'x'; 300 * 1024]);
    let outcome = d.send_d2c(link, &big).await;
    assert_eq!(
        condition(&outcome).as_deref(),
        Some("amqp:link:message-size-exceeded"),
        "{outcome:?}"
    );
    // 256 KB minus room for nothing else is fine; the link is still usable.
    let fits = AmqpMessage::with_data(vec![b'y'; 200 * 1024]);
    assert_eq!(d.send_d2c(link, &fits).await, Some(DeliveryState::Accepted));
    let events = hub.events(1).await;
    assert_eq!(events.len(), 1, "the rejected message is not stored");
    let wire = events[0]["wireBytes"].as_u64().unwrap_or_default();
    // Four transfer frames (65536 max each): payload plus four frame headers and performatives.
    assert!(
        wire > 200 * 1024 + 4 * 8 && wire < 200 * 1024 + 4 * 64,
        "wireBytes {wire}"
    );
}

async fn start_with_lock_seconds(tag: &str, seconds: u64) -> Hub {
    let dir = common::temp_dir(tag);
    let mut config = devhub::Config::local(&dir);
    config.c2d_lock_seconds = seconds;
    let running = devhub::start(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    Hub { running, dir }
}

#[tokio::test]
async fn expired_lock_of_an_unsettled_c2d_is_renewed_not_resent() {
    let hub = start_with_lock_seconds("amqp-lock", 1).await;
    send_c2d(&hub, D1, json!({"body":"once","messageId":"l-1"})).await;
    let (mut d, s, _) = AmqpDevice::cbs_connected(&hub, &[D1]).await;
    let link = d.attach_c2d(s, D1);
    let delivery = d.c2d(link).await;
    // The 1 s lock expires while the delivery is unsettled and the link has credit: the hub
    // locks it again for this link instead of sending a second copy.
    d.expect_none(Duration::from_millis(1600), |ev| {
        matches!(ev, Event::Delivery(_))
    })
    .await;
    let (_, h) = hub.api("GET", "/api/c2d/history", None).await;
    assert!(
        h.as_array()
            .is_some_and(|a| a.iter().any(|r| r["outcome"] == "lockExpired")),
        "{h}"
    );
    let (_, q) = hub
        .api("GET", &format!("/api/devices/{D1}/messages"), None)
        .await;
    assert_eq!(q[0]["state"], "locked", "{q}");
    // The late outcome still completes it.
    d.settle(&delivery, DeliveryState::Accepted);
    d.flush().await;
    wait_for(&hub, "/api/c2d/history", |h| {
        h.as_array()
            .is_some_and(|a| a.iter().any(|r| r["outcome"] == "completed"))
    })
    .await;
}

#[tokio::test]
async fn outcome_after_a_lost_lock_is_ignored_and_the_message_redelivered() {
    let hub = start_with_lock_seconds("amqp-lock-lost", 1).await;
    send_c2d(&hub, D1, json!({"body":"late","messageId":"l-2"})).await;
    let (mut d, s, _) = AmqpDevice::cbs_connected(&hub, &[D1]).await;
    // One credit, no top-up: after the first delivery the hub may not send (or re-lock).
    let now = d.now();
    let mut options =
        LinkOptions::receiver("c2d-one", format!("/devices/{D1}/messages/devicebound"));
    options.credit = 1;
    options.auto_credit = false;
    let link = d
        .conn
        .attach_receiver(now, s, options)
        .unwrap_or_else(|e| panic!("{e}"));
    let first = d.c2d(link).await;
    let q = wait_for(&hub, &format!("/api/devices/{D1}/messages"), |q| {
        q[0]["state"] == "enqueued"
    })
    .await;
    assert_eq!(q[0]["deliveryCount"], 0, "lock expiry is not an abandon");
    // The device accepts after the lock was lost: nothing to answer (it settled already in
    // receiver mode first); the message stays queued and is not completed.
    d.settle(&first, DeliveryState::Accepted);
    d.flush().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (_, h) = hub.api("GET", "/api/c2d/history", None).await;
    assert!(
        !h.as_array()
            .is_some_and(|a| a.iter().any(|r| r["outcome"] == "completed")),
        "{h}"
    );
    // With credit again it is delivered anew, under a new lock.
    let now = d.now();
    d.conn
        .grant_credit(now, link, 1, false)
        .unwrap_or_else(|e| panic!("{e}"));
    let second = d.c2d(link).await;
    assert_ne!(first.tag, second.tag);
    d.settle(&second, DeliveryState::Accepted);
    d.flush().await;
    wait_for(&hub, "/api/c2d/history", |h| {
        h.as_array()
            .is_some_and(|a| a.iter().any(|r| r["outcome"] == "completed"))
    })
    .await;
}

#[tokio::test]
async fn a_newer_connection_takes_the_device_and_leaves_the_others() {
    let hub = start("amqp-kick").await;
    let (mut first, s1, _) = AmqpDevice::cbs_connected(&hub, &[D1, D2]).await;
    let l1 = first.attach_d2c(s1, D1);
    first.attached(l1).await;
    let l2 = first.attach_d2c(s1, D2);
    first.attached(l2).await;

    let (mut second, s2, _) = AmqpDevice::cbs_connected(&hub, &[D1]).await;
    assert_eq!(
        first.detached(l1).await.map(|e| e.condition),
        Some(ErrorCondition::DETACH_FORCED)
    );
    // D2 stays on the first connection; D1 works on the second.
    assert_eq!(
        first.send_d2c(l2, &d2c_message("d2 stays")).await,
        Some(DeliveryState::Accepted)
    );
    let l = second.attach_d2c(s2, D1);
    second.attached(l).await;
    assert_eq!(
        second.send_d2c(l, &d2c_message("d1 moved")).await,
        Some(DeliveryState::Accepted)
    );
    // Deleting D2 detaches its link too.
    let (status, _) = hub.api("DELETE", &format!("/api/devices/{D2}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        first.detached(l2).await.map(|e| e.condition),
        Some(ErrorCondition::DETACH_FORCED)
    );
}

#[tokio::test]
async fn sasl_plain_connection_closes_when_its_token_expires() {
    let hub = start("amqp-plain-expiry").await;
    let key = hub.key(D1).await;
    let user = format!("{D1}@sas.localhost");
    let password = token_at(D1, &key, common::now_secs() + 2);
    let mut d = AmqpDevice::open(&hub, ClientSasl::plain(user, password)).await;
    let s = d.session();
    let link = d.attach_d2c(s, D1);
    d.attached(link).await;
    let reason = tokio::time::timeout(
        Duration::from_secs(5),
        d.expect("close at token expiry", |ev| match ev {
            Event::Closed(r) => Some(r.clone()),
            _ => None,
        }),
    )
    .await
    .unwrap_or_else(|_| panic!("the connection outlived its SAS token"));
    match reason {
        CloseReason::Remote(Some(e)) => {
            assert_eq!(e.condition, ErrorCondition::UNAUTHORIZED_ACCESS);
        }
        other => panic!("expected a CLOSE with unauthorized-access, got {other:?}"),
    }
}

#[tokio::test]
async fn d2c_over_one_mebibyte_detaches_the_link() {
    let hub = start("amqp-huge").await;
    let (mut d, s, _) = AmqpDevice::cbs_connected(&hub, &[D1]).await;
    let link = d.attach_d2c(s, D1);
    // Sent before the hub's ATTACH (and its max-message-size of 1 MiB) arrives, so the client
    // engine cannot hold it back: the hub must enforce the limit itself.
    let huge = AmqpMessage::with_data(vec![b'z'; 1024 * 1024 + 1]);
    let now = d.now();
    d.conn
        .send(now, link, &huge, false)
        .unwrap_or_else(|e| panic!("{e}"));
    let err = d.detached(link).await;
    assert_eq!(
        err.map(|e| e.condition),
        Some(ErrorCondition::MESSAGE_SIZE_EXCEEDED)
    );
    // Only that link: the connection and the device stay.
    let link = d.attach_d2c(s, D1);
    d.attached(link).await;
    assert_eq!(
        d.send_d2c(link, &d2c_message("after")).await,
        Some(DeliveryState::Accepted)
    );
    let events = hub.events(1).await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["body"], "after");
}
