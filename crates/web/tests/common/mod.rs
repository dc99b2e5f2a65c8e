//! Helpers shared by the browser tests: addresses of the local services (compile-time
//! environment, see the test scripts) and the devhub service API.
#![allow(dead_code, reason = "each test binary uses a different subset")]

use core::future::Future;
use core::time::Duration;

use futures::future::{select, Either};
use gloo_net::http::Request;
use hubwire_web::{DeviceClient, DeviceOptions, ReconnectPolicy};
use serde_json::{json, Value};

pub(crate) const DEVHUB_HTTP: &str = match option_env!("HUBWIRE_DEVHUB_HTTP") {
    Some(v) => v,
    None => "http://127.0.0.1:8080",
};
pub(crate) const DEVHUB_WS: &str = match option_env!("HUBWIRE_DEVHUB_WS") {
    Some(v) => v,
    None => "ws://127.0.0.1:8080",
};
pub(crate) const MOSQUITTO_WS: &str = match option_env!("HUBWIRE_MOSQUITTO_WS") {
    Some(v) => v,
    None => "ws://127.0.0.1:8083",
};
/// The rhea AMQP 1.0 peer over WebSocket (tests/rhea-peer).
pub(crate) const RHEA_WS: &str = match option_env!("HUBWIRE_RHEA_WS") {
    Some(v) => v,
    None => "ws://127.0.0.1:25673",
};

/// `prefix` plus a random suffix, so parallel or repeated runs do not collide.
pub(crate) fn unique(prefix: &str) -> String {
    let n = (js_sys::Math::random() * 1e12) as u64;
    format!("{prefix}-{n:x}")
}

pub(crate) async fn sleep_ms(ms: u32) {
    gloo_timers::future::TimeoutFuture::new(ms).await;
}

/// Runs `fut` with a time limit; panics with `what` when it is exceeded.
pub(crate) async fn within<F: Future>(ms: u32, what: &str, fut: F) -> F::Output {
    let fut = Box::pin(fut);
    match select(fut, gloo_timers::future::TimeoutFuture::new(ms)).await {
        Either::Left((v, _)) => v,
        Either::Right(_) => panic!("timed out after {ms} ms waiting for {what}"),
    }
}

/// Polls `probe` every 100 ms until it returns `Some`, for at most `ms`.
pub(crate) async fn eventually<T, F, Fut>(ms: u32, what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = js_sys::Date::now();
    loop {
        if let Some(v) = probe().await {
            return v;
        }
        if js_sys::Date::now() - start > f64::from(ms) {
            panic!("timed out after {ms} ms waiting for {what}");
        }
        sleep_ms(100).await;
    }
}

pub(crate) async fn get_json(path: &str) -> Value {
    let resp = Request::get(&format!("{DEVHUB_HTTP}{path}"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {path}: {e} (is devhub running at {DEVHUB_HTTP}?)"));
    assert!(resp.ok(), "GET {path}: HTTP {}", resp.status());
    resp.json().await.expect("JSON body")
}

/// Creates a fresh device and returns its object (`deviceId`, `connectionString`, …).
pub(crate) async fn create_device(prefix: &str) -> Value {
    let id = unique(prefix);
    let resp = Request::post(&format!("{DEVHUB_HTTP}/api/devices"))
        .json(&json!({ "deviceId": id }))
        .expect("request body")
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST /api/devices: {e} (is devhub running at {DEVHUB_HTTP}?)"));
    assert_eq!(resp.status(), 201, "POST /api/devices");
    resp.json().await.expect("device JSON")
}

pub(crate) async fn delete_device(id: &str) {
    let resp = Request::delete(&format!("{DEVHUB_HTTP}/api/devices/{id}"))
        .send()
        .await
        .expect("DELETE device");
    assert_eq!(resp.status(), 204, "DELETE /api/devices/{id}");
}

/// D2C messages the hub stored for `device_id`.
pub(crate) async fn events(device_id: &str) -> Vec<Value> {
    match get_json(&format!("/api/events?deviceId={device_id}")).await {
        Value::Array(v) => v,
        other => panic!("events: not an array: {other}"),
    }
}

/// Sends a C2D message through the service API; returns the response object.
pub(crate) async fn send_c2d(device_id: &str, body: &Value) -> Value {
    let resp = Request::post(&format!("{DEVHUB_HTTP}/api/devices/{device_id}/messages"))
        .json(body)
        .expect("request body")
        .send()
        .await
        .expect("POST C2D");
    assert_eq!(resp.status(), 201, "POST /api/devices/{device_id}/messages");
    resp.json().await.expect("C2D response JSON")
}

pub(crate) async fn c2d_history() -> Vec<Value> {
    match get_json("/api/c2d/history").await {
        Value::Array(v) => v,
        other => panic!("history: not an array: {other}"),
    }
}

pub(crate) fn str_field<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("field {key} missing in {v}"))
}

/// Options for a devhub device: plain `ws://` endpoint, quick reconnects.
pub(crate) fn devhub_options(device: &Value) -> DeviceOptions {
    DeviceOptions::from_connection_string(str_field(device, "connectionString"))
        .expect("devhub connection string parses")
        .with_endpoint(DEVHUB_WS)
        .with_reconnect(ReconnectPolicy::exponential(
            Duration::from_millis(100),
            Duration::from_secs(2),
        ))
}

/// A connected client for a fresh device.
pub(crate) async fn connected_device(prefix: &str) -> (Value, DeviceClient) {
    let device = create_device(prefix).await;
    let client = within(
        15_000,
        "connect",
        DeviceClient::connect(devhub_options(&device)),
    )
    .await
    .expect("connect to devhub");
    (device, client)
}

/// Options for a devhub device over the HTTPS device API on devhub's plain listener.
/// The poll interval is long (60 s, development setting) so tests drive cycles with
/// `poll_now` unless they set their own.
#[cfg(feature = "http")]
pub(crate) fn devhub_http_options(device: &Value) -> DeviceOptions {
    DeviceOptions::from_connection_string(str_field(device, "connectionString"))
        .expect("devhub connection string parses")
        .with_protocol(hubwire_web::Protocol::Http)
        .with_endpoint(DEVHUB_HTTP)
        .with_poll_interval(hubwire_web::PollInterval::development(60).expect("60 s"))
        .with_reconnect(ReconnectPolicy::exponential(
            Duration::from_millis(100),
            Duration::from_secs(2),
        ))
}

/// The C2D queue of a device as devhub shows it.
pub(crate) async fn c2d_queue(device_id: &str) -> Vec<Value> {
    match get_json(&format!("/api/devices/{device_id}/messages")).await {
        Value::Array(v) => v,
        other => panic!("queue: not an array: {other}"),
    }
}

/// Feedback records devhub produced.
pub(crate) async fn feedback() -> Vec<Value> {
    match get_json("/api/feedback").await {
        Value::Array(v) => v,
        other => panic!("feedback: not an array: {other}"),
    }
}
