//! The HTTPS device API: events (single and batch), C2D polling and settlement on the shared
//! queue model, SAS authentication, error bodies, CORS, and the raw wire over TCP and TLS.
#![allow(missing_docs)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use bytes::Bytes;
use common::{start, token, token_at, Hub, HOST};
use hubwire_iothub::{Ack, Timestamp};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tower::ServiceExt;

const D1: &str = "demo-device-1";
const D2: &str = "demo-device-2";
const V: &str = "api-version=2021-04-12";

/// Sends one request through the router in-process.
async fn call(
    hub: &Hub,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: impl Into<Vec<u8>>,
) -> (StatusCode, HeaderMap, Bytes) {
    let mut req = Request::builder().method(method).uri(path);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Body::from(body.into()))
        .unwrap_or_else(|e| panic!("request: {e}"));
    let resp = hub
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

async fn auth(hub: &Hub, device: &str) -> String {
    token(device, &hub.key(device).await, 3600)
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// Asserts an IoT Hub device-API error: status, numeric code, `ErrorCode:{name};` prefix.
fn assert_error(
    got: &(StatusCode, HeaderMap, Bytes),
    status: StatusCode,
    code: u64,
    name: &str,
) -> Value {
    let (s, h, body) = got;
    let v: Value = serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {body:?}"));
    assert_eq!(*s, status, "{v}");
    assert_eq!(v["errorCode"], code, "{v}");
    let message = v["Message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with(&format!("ErrorCode:{name};")),
        "{message}"
    );
    assert!(
        v["ExceptionMessage"]
            .as_str()
            .is_some_and(|m| m.starts_with("Tracking ID:") && m.contains("-TimeStamp:")),
        "{v}"
    );
    assert_eq!(header(h, "iothub-errorcode"), Some(name));
    // The service API shape is not mixed in.
    assert!(v.get("message").is_none(), "{v}");
    v
}

async fn send_c2d(hub: &Hub, device: &str, body: Value) -> u64 {
    let (status, v) = hub
        .api(
            "POST",
            &format!("/api/devices/{device}/messages"),
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{v}");
    v["sequenceNumber"].as_u64().unwrap_or_default()
}

async fn history(hub: &Hub, message_id: &str) -> Vec<Value> {
    let (_, v) = hub.api("GET", "/api/c2d/history", None).await;
    v.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|h| h["messageId"] == message_id)
        .collect()
}

async fn feedback(hub: &Hub, message_id: &str) -> Vec<Value> {
    let (_, v) = hub.api("GET", "/api/feedback", None).await;
    v.as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .filter(|f| f["originalMessageId"] == message_id)
        .collect()
}

async fn queue(hub: &Hub, device: &str) -> Vec<Value> {
    let (_, v) = hub
        .api("GET", &format!("/api/devices/{device}/messages"), None)
        .await;
    v.as_array().cloned().unwrap_or_default()
}

/// GETs the next C2D message; returns status, headers and body.
async fn poll(hub: &Hub, device: &str, sas: &str) -> (StatusCode, HeaderMap, Bytes) {
    call(
        hub,
        "GET",
        &format!("/devices/{device}/messages/deviceBound?{V}"),
        &[("authorization", sas)],
        "",
    )
    .await
}

fn etag(h: &HeaderMap) -> String {
    let e = header(h, "etag").unwrap_or_else(|| panic!("no ETag in {h:?}"));
    assert!(e.starts_with('"') && e.ends_with('"') && e.len() > 2, "{e}");
    e.trim_matches('"').to_owned()
}

/// The size of a request as the hub counts it: request line, header lines, blank line, body.
fn expected_wire(method: &str, path: &str, headers: &[(&str, &str)], body: usize) -> usize {
    format!("{method} {path} HTTP/1.1\r\n").len()
        + headers
            .iter()
            .map(|(k, v)| k.len() + 2 + v.len() + 2)
            .sum::<usize>()
        + 2
        + body
}

#[tokio::test]
async fn single_event_with_system_and_application_properties() {
    let hub = start("https-single").await;
    let sas = auth(&hub, D1).await;
    let path = format!("/devices/{D1}/messages/events?{V}");
    let to = format!("/devices/{D1}/messages/events");
    let headers = [
        ("authorization", sas.as_str()),
        ("iothub-to", to.as_str()),
        ("IoTHub-MessageId", "m-1"),
        ("iothub-correlationid", "c-1"),
        ("iothub-userid", "u-1"),
        ("iothub-contenttype", "application/json"),
        ("iothub-contentencoding", "utf-8"),
        ("iothub-expiry", "2030-01-02T03:04:05.0000000Z"),
        ("iothub-app-Temperature", "21.5"),
        ("iothub-app-note", "a b&c=d/e"),
        ("user-agent", "tests"),
    ];
    let body = br#"{"t":21.5}"#;
    let resp = call(&hub, "POST", &path, &headers, &body[..]).await;
    assert_eq!(resp.0, StatusCode::NO_CONTENT, "{:?}", resp.2);
    assert!(resp.2.is_empty());

    let events = hub.events(1).await;
    let e = &events[0];
    assert_eq!(e["deviceId"], D1);
    assert_eq!(e["protocol"], "https");
    assert_eq!(e["body"], r#"{"t":21.5}"#);
    let sys = &e["systemProperties"];
    assert_eq!(sys["messageId"], "m-1");
    assert_eq!(sys["correlationId"], "c-1");
    assert_eq!(sys["userId"], "u-1");
    assert_eq!(sys["to"], to.as_str());
    assert_eq!(sys["contentType"], "application/json");
    assert_eq!(sys["contentEncoding"], "utf-8");
    assert_eq!(sys["absoluteExpiryTime"], "2030-01-02T03:04:05.000Z");
    assert_eq!(sys["connectionDeviceId"], D1);
    // HTTP header names are case-insensitive; they arrive lower-cased.
    assert_eq!(
        e["properties"],
        json!({"temperature": "21.5", "note": "a b&c=d/e"})
    );
    assert_eq!(
        e["wireBytes"],
        expected_wire("POST", &path, &headers, body.len())
    );
}

#[tokio::test]
async fn batch_in_base64_and_text_forms() {
    let hub = start("https-batch").await;
    let sas = auth(&hub, D1).await;
    let path = format!("/devices/{D1}/messages/events?{V}");
    let batch = json!([
        {"body": "aGVsbG8=", "properties": {"iothub-app-k": "1", "iothub-messageid": "b-1"}},
        {"body": "{\"a\":1}", "base64Encoded": false, "properties": {"iothub-app-k": "2"}},
        {"body": "AAEC/w==", "base64Encoded": true},
    ])
    .to_string();
    let headers = [
        ("authorization", sas.as_str()),
        ("content-type", "application/vnd.microsoft.iothub.json"),
    ];
    let resp = call(&hub, "POST", &path, &headers, batch.clone()).await;
    assert_eq!(resp.0, StatusCode::NO_CONTENT, "{:?}", resp.2);
    let events = hub.events(3).await;
    assert_eq!(events.len(), 3);
    assert_eq!(events[0]["body"], "hello");
    assert_eq!(events[0]["systemProperties"]["messageId"], "b-1");
    assert_eq!(events[0]["properties"], json!({"k": "1"}));
    assert_eq!(events[1]["body"], "{\"a\":1}");
    assert_eq!(events[1]["properties"], json!({"k": "2"}));
    assert_eq!(events[2]["body"], Value::Null, "not UTF-8");
    assert_eq!(events[2]["bodyBase64"], "AAEC/w==");
    assert!(events.iter().all(|e| e["protocol"] == "https"));
    // The request's bytes are shared out over its events.
    let total: u64 = events.iter().filter_map(|e| e["wireBytes"].as_u64()).sum();
    let expected = expected_wire("POST", &path, &headers, batch.len());
    assert_eq!(usize::try_from(total).ok(), Some(expected));

    // A bad element refuses the whole batch; nothing more is stored.
    let bad = json!([{"body": "aGk="}, {"body": "not base64!"}]).to_string();
    let resp = call(&hub, "POST", &path, &headers, bad).await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 400004, "ArgumentInvalid");
    let resp = call(&hub, "POST", &path, &headers, "{\"body\":\"x\"}").await;
    assert_error(&resp, StatusCode::BAD_REQUEST, 400004, "ArgumentInvalid");
    let many = format!("[{}]", vec![r#"{"body":""}"#; 501].join(","));
    let resp = call(&hub, "POST", &path, &headers, many).await;
    assert_error(
        &resp,
        StatusCode::PAYLOAD_TOO_LARGE,
        413001,
        "MessageTooLarge",
    );
    let big = json!([{"body": "A".repeat(256 * 1024)}]).to_string();
    let resp = call(&hub, "POST", &path, &headers, big).await;
    assert_error(
        &resp,
        StatusCode::PAYLOAD_TOO_LARGE,
        413001,
        "MessageTooLarge",
    );
    let (_, v) = hub.api("GET", "/api/events", None).await;
    assert_eq!(v.as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn oversize_single_event_is_413() {
    let hub = start("https-big").await;
    let sas = auth(&hub, D1).await;
    let path = format!("/devices/{D1}/messages/events?{V}");
    let resp = call(
        &hub,
        "POST",
        &path,
        &[("authorization", &sas)],
        vec![b'x'; 256 * 1024 + 1],
    )
    .await;
    assert_error(
        &resp,
        StatusCode::PAYLOAD_TOO_LARGE,
        413001,
        "MessageTooLarge",
    );
    // The body fits, but body + properties do not (the §8 message size).
    let resp = call(
        &hub,
        "POST",
        &path,
        &[("authorization", &sas), ("iothub-app-pad", &"p".repeat(64))],
        vec![b'x'; 256 * 1024 - 10],
    )
    .await;
    assert_error(
        &resp,
        StatusCode::PAYLOAD_TOO_LARGE,
        413001,
        "MessageTooLarge",
    );
    // Exactly at the limit is fine.
    let resp = call(
        &hub,
        "POST",
        &path,
        &[("authorization", &sas)],
        vec![b'x'; 256 * 1024],
    )
    .await;
    assert_eq!(resp.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn receive_returns_all_headers_then_complete() {
    let hub = start("https-receive").await;
    let sas = auth(&hub, D1).await;
    let resp = poll(&hub, D1, &sas).await;
    assert_eq!(resp.0, StatusCode::NO_CONTENT, "empty queue");
    assert!(resp.2.is_empty());

    let seq = send_c2d(
        &hub,
        D1,
        json!({"body": "reboot", "messageId": "c2d-1", "correlationId": "corr",
               "userId": "svc", "contentType": "text/plain", "contentEncoding": "utf-8",
               "properties": {"command": "reboot", "delay": "5 s"}, "ack": "full",
               "ttlSeconds": 600}),
    )
    .await;
    let (status, h, body) = poll(&hub, D1, &sas).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&body[..], b"reboot");
    let lock = etag(&h);
    assert_eq!(header(&h, "iothub-messageid"), Some("c2d-1"));
    assert_eq!(header(&h, "iothub-correlationid"), Some("corr"));
    assert_eq!(header(&h, "iothub-userid"), Some("svc"));
    assert_eq!(
        header(&h, "iothub-sequencenumber"),
        Some(seq.to_string().as_str())
    );
    assert_eq!(
        header(&h, "iothub-to"),
        Some(format!("/devices/{D1}/messages/deviceBound").as_str())
    );
    assert_eq!(header(&h, "iothub-ack"), Some("full"));
    assert_eq!(header(&h, "iothub-deliverycount"), Some("0"));
    assert_eq!(header(&h, "contenttype"), Some("text/plain"));
    assert_eq!(header(&h, "contentencoding"), Some("utf-8"));
    assert_eq!(header(&h, "iothub-app-command"), Some("reboot"));
    assert_eq!(header(&h, "iothub-app-delay"), Some("5 s"));
    let now_ms = Timestamp::from_unix_secs(common::now_secs()).unix_millis();
    let enqueued = Timestamp::parse_iso8601(header(&h, "iothub-enqueuedtime").unwrap_or(""))
        .unwrap_or_else(|e| panic!("enqueued time: {e}"));
    assert!(enqueued.unix_millis().abs_diff(now_ms) < 10_000);
    let expiry = Timestamp::parse_iso8601(header(&h, "iothub-expiry").unwrap_or(""))
        .unwrap_or_else(|e| panic!("expiry: {e}"));
    assert!(expiry.unix_millis().abs_diff(now_ms + 600_000) < 10_000);

    // The client-side mapping of hubwire-iothub reads the same message back.
    let pairs: Vec<(&str, &str)> = h
        .iter()
        .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)))
        .collect();
    let msg = hubwire_iothub::http::message_from_c2d_headers(pairs, body.to_vec());
    assert_eq!(msg.message_id.as_deref(), Some("c2d-1"));
    assert_eq!(msg.ack, Ack::Full);
    assert_eq!(msg.content_type.as_deref(), Some("text/plain"));
    assert_eq!(msg.properties.get("command"), Some("reboot"));
    let received = msg.received.unwrap_or_else(|| panic!("no delivery info"));
    assert_eq!(received.lock_token.as_deref(), Some(lock.as_str()));
    assert_eq!(received.sequence_number, seq);

    // Locked: invisible to the next poll.
    let q = queue(&hub, D1).await;
    assert_eq!(q[0]["state"], "locked");
    assert_eq!(poll(&hub, D1, &sas).await.0, StatusCode::NO_CONTENT);

    // Complete with the quoted ETag and If-Match, as the C SDK sends them.
    let quoted = format!("\"{lock}\"");
    let path = format!(
        "/devices/{D1}/messages/devicebound/{}?{V}",
        quoted.replace('"', "%22")
    );
    let resp = call(
        &hub,
        "DELETE",
        &path,
        &[("authorization", &sas), ("if-match", &quoted)],
        "",
    )
    .await;
    assert_eq!(resp.0, StatusCode::NO_CONTENT, "{:?}", resp.2);
    assert!(queue(&hub, D1).await.is_empty());
    let h = history(&hub, "c2d-1").await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["outcome"], "completed");
    let f = feedback(&hub, "c2d-1").await;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["statusCode"], "Success");

    // Settling again: the lock is gone.
    let resp = call(&hub, "DELETE", &path, &[("authorization", &sas)], "").await;
    assert_error(
        &resp,
        StatusCode::PRECONDITION_FAILED,
        412002,
        "DeviceMessageLockLost",
    );
}

#[tokio::test]
async fn unset_fields_are_empty_headers() {
    let hub = start("https-unset").await;
    let sas = auth(&hub, D1).await;
    send_c2d(&hub, D1, json!({"body": "x", "messageId": "bare"})).await;
    let (status, h, _) = poll(&hub, D1, &sas).await;
    assert_eq!(status, StatusCode::OK);
    for name in [
        "iothub-correlationid",
        "iothub-userid",
        "iothub-ack",
        "iothub-expiry",
        "contenttype",
        "contentencoding",
    ] {
        assert_eq!(header(&h, name), Some(""), "{name}");
    }
    assert_eq!(header(&h, "iothub-messageid"), Some("bare"));
}

#[tokio::test]
async fn reject_dead_letters_with_feedback() {
    let hub = start("https-reject").await;
    let sas = auth(&hub, D2).await;
    send_c2d(
        &hub,
        D2,
        json!({"body": "no", "messageId": "rej-1", "ack": "negative"}),
    )
    .await;
    let (status, h, _) = poll(&hub, D2, &sas).await;
    assert_eq!(status, StatusCode::OK);
    let lock = etag(&h);
    // Unquoted token, no If-Match, `reject` as a bare query key (as the Node SDK sends it).
    let resp = call(
        &hub,
        "DELETE",
        &format!("/devices/{D2}/messages/devicebound/{lock}?{V}&reject"),
        &[("authorization", &sas)],
        "",
    )
    .await;
    assert_eq!(resp.0, StatusCode::NO_CONTENT, "{:?}", resp.2);
    assert!(queue(&hub, D2).await.is_empty());
    let h = history(&hub, "rej-1").await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0]["outcome"], "rejected");
    let f = feedback(&hub, "rej-1").await;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["statusCode"], "Rejected");
    assert_eq!(f[0]["deviceId"], D2);
    assert_eq!(poll(&hub, D2, &sas).await.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn abandon_redelivers_with_a_higher_count_until_dead_lettered() {
    let hub = start("https-abandon").await;
    let sas = auth(&hub, D1).await;
    send_c2d(
        &hub,
        D1,
        json!({"body": "again", "messageId": "ab-1", "ack": "negative"}),
    )
    .await;
    let abandon = |lock: &str| format!("/devices/{D1}/messages/deviceBound/{lock}/abandon?{V}");
    let mut previous = String::new();
    // IoT Hub's default maxDeliveryCount is 10: ten abandons dead-letter the message.
    for count in 0..10u32 {
        let (status, h, body) = poll(&hub, D1, &sas).await;
        assert_eq!(status, StatusCode::OK, "delivery {count}");
        assert_eq!(&body[..], b"again");
        assert_eq!(
            header(&h, "iothub-deliverycount"),
            Some(count.to_string().as_str())
        );
        let lock = etag(&h);
        assert_ne!(lock, previous, "every receive has a new lock token");
        let resp = call(
            &hub,
            "POST",
            &abandon(&lock),
            &[("authorization", &sas), ("If-Match", &lock)],
            "",
        )
        .await;
        assert_eq!(resp.0, StatusCode::NO_CONTENT, "{:?}", resp.2);
        if count == 0 {
            let h = history(&hub, "ab-1").await;
            assert_eq!(h.len(), 1);
            assert_eq!(h[0]["outcome"], "abandoned");
            assert_eq!(h[0]["deliveryCount"], 1);
            let q = queue(&hub, D1).await;
            assert_eq!(q[0]["state"], "enqueued");
            assert_eq!(q[0]["deliveryCount"], 1);
            // The old token no longer settles anything.
            let resp = call(
                &hub,
                "POST",
                &abandon(&lock),
                &[("authorization", &sas)],
                "",
            )
            .await;
            assert_error(
                &resp,
                StatusCode::PRECONDITION_FAILED,
                412002,
                "DeviceMessageLockLost",
            );
        }
        previous = lock;
    }
    assert_eq!(poll(&hub, D1, &sas).await.0, StatusCode::NO_CONTENT);
    let h = history(&hub, "ab-1").await;
    assert_eq!(
        h.last().map(|r| r["outcome"].clone()),
        Some(json!("deliveryCountExceeded"))
    );
    let f = feedback(&hub, "ab-1").await;
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["statusCode"], "DeliveryCountExceeded");
}

#[tokio::test]
async fn expired_lock_makes_the_message_visible_again() {
    let dir = common::temp_dir("https-lock");
    let mut config = devhub::Config::local(&dir);
    config.c2d_lock_seconds = 1;
    let running = devhub::start(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let hub = Hub { running, dir };
    let sas = auth(&hub, D1).await;
    send_c2d(&hub, D1, json!({"body": "slow", "messageId": "lk-1"})).await;
    let (status, h, _) = poll(&hub, D1, &sas).await;
    assert_eq!(status, StatusCode::OK);
    let first = etag(&h);
    assert_eq!(poll(&hub, D1, &sas).await.0, StatusCode::NO_CONTENT);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (status, h, _) = poll(&hub, D1, &sas).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header(&h, "iothub-messageid"), Some("lk-1"));
    // Lock expiry is not an abandon: the delivery count stays.
    assert_eq!(header(&h, "iothub-deliverycount"), Some("0"));
    let second = etag(&h);
    assert_ne!(first, second);
    let stale = call(
        &hub,
        "DELETE",
        &format!("/devices/{D1}/messages/deviceBound/{first}?{V}"),
        &[("authorization", &sas)],
        "",
    )
    .await;
    assert_error(
        &stale,
        StatusCode::PRECONDITION_FAILED,
        412002,
        "DeviceMessageLockLost",
    );
    let outcomes: Vec<Value> = history(&hub, "lk-1")
        .await
        .iter()
        .map(|h| h["outcome"].clone())
        .collect();
    assert_eq!(outcomes, vec![json!("lockExpired")]);
    let ok = call(
        &hub,
        "DELETE",
        &format!("/devices/{D1}/messages/deviceBound/{second}?{V}"),
        &[("authorization", &sas)],
        "",
    )
    .await;
    assert_eq!(ok.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn if_match_must_name_the_same_lock() {
    let hub = start("https-ifmatch").await;
    let sas = auth(&hub, D1).await;
    send_c2d(&hub, D1, json!({"body": "x", "messageId": "im-1"})).await;
    let (_, h, _) = poll(&hub, D1, &sas).await;
    let lock = etag(&h);
    let path = format!("/devices/{D1}/messages/deviceBound/{lock}?{V}");
    let resp = call(
        &hub,
        "DELETE",
        &path,
        &[("authorization", &sas), ("if-match", "\"other\"")],
        "",
    )
    .await;
    assert_error(
        &resp,
        StatusCode::PRECONDITION_FAILED,
        412001,
        "PreconditionFailed",
    );
    assert_eq!(queue(&hub, D1).await[0]["state"], "locked");
}

#[tokio::test]
async fn authentication_failures() {
    let hub = start("https-auth").await;
    let k1 = hub.key(D1).await;
    let k2 = hub.key(D2).await;
    let events = format!("/devices/{D1}/messages/events?{V}");
    let now = common::now_secs();
    let wrong_key = token(D1, &k2, 3600);
    let expired = token_at(D1, &k1, now - 10);
    let other_device = token(D2, &k2, 3600);
    let cases: [(&str, Option<&str>, u64, &str); 5] = [
        ("no header", None, 401002, "IotHubUnauthorizedAccess"),
        (
            "not SAS",
            Some("Bearer abc"),
            401002,
            "IotHubUnauthorizedAccess",
        ),
        (
            "wrong key",
            Some(&wrong_key),
            401002,
            "IotHubUnauthorizedAccess",
        ),
        ("expired", Some(&expired), 401003, "IotHubUnauthorized"),
        (
            "other device",
            Some(&other_device),
            401002,
            "IotHubUnauthorizedAccess",
        ),
    ];
    for (name, sas, code, error) in cases {
        let headers: Vec<(&str, &str)> = sas.map(|s| ("authorization", s)).into_iter().collect();
        let resp = call(&hub, "POST", &events, &headers, "x").await;
        let v = assert_error(&resp, StatusCode::UNAUTHORIZED, code, error);
        let text = v.to_string();
        for secret in [k1.as_str(), k2.as_str()] {
            assert!(!text.contains(secret), "{name}: {text}");
        }
        if let Some(sig) = sas.and_then(|s| s.split('&').find_map(|p| p.strip_prefix("sig="))) {
            assert!(!text.contains(sig), "{name}: {text}");
        }
    }
    // Receive and settle are guarded the same way.
    let resp = poll(&hub, D1, &expired).await;
    assert_error(
        &resp,
        StatusCode::UNAUTHORIZED,
        401003,
        "IotHubUnauthorized",
    );
    let resp = call(
        &hub,
        "DELETE",
        &format!("/devices/{D1}/messages/deviceBound/x?{V}"),
        &[("authorization", &wrong_key)],
        "",
    )
    .await;
    assert_error(
        &resp,
        StatusCode::UNAUTHORIZED,
        401002,
        "IotHubUnauthorizedAccess",
    );

    let ghost = token("ghost", &k1, 3600);
    let resp = call(
        &hub,
        "POST",
        &format!("/devices/ghost/messages/events?{V}"),
        &[("authorization", &ghost)],
        "x",
    )
    .await;
    assert_error(&resp, StatusCode::NOT_FOUND, 404001, "DeviceNotFound");
    let (_, v) = hub.api("GET", "/api/events", None).await;
    assert_eq!(v, json!([]), "nothing was stored");
}

#[tokio::test]
async fn api_version_is_required_and_checked_first() {
    let hub = start("https-version").await;
    let sas = auth(&hub, D1).await;
    for path in [
        format!("/devices/{D1}/messages/events"),
        format!("/devices/{D1}/messages/events?api-version="),
        format!("/devices/{D1}/messages/events?api-version=latest"),
        format!("/devices/{D1}/messages/events?apiversion=2021-04-12"),
    ] {
        let resp = call(&hub, "POST", &path, &[("authorization", &sas)], "x").await;
        assert_error(
            &resp,
            StatusCode::BAD_REQUEST,
            400001,
            "InvalidProtocolVersion",
        );
        // Before credentials are looked at.
        let resp = call(&hub, "POST", &path, &[], "x").await;
        assert_error(
            &resp,
            StatusCode::BAD_REQUEST,
            400001,
            "InvalidProtocolVersion",
        );
    }
    let resp = poll(&hub, D1, &sas).await;
    assert_eq!(resp.0, StatusCode::NO_CONTENT);
    // The C SDK's older version is accepted too.
    let resp = call(
        &hub,
        "POST",
        &format!("/devices/{D1}/messages/events?api-version=2016-11-14"),
        &[("authorization", &sas)],
        "x",
    )
    .await;
    assert_eq!(resp.0, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn routes_methods_and_encoded_ids() {
    let hub = start("https-routes").await;
    let id = "http:dev@1";
    let (status, d) = hub
        .api("POST", "/api/devices", Some(json!({"deviceId": id})))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{d}");
    let sas = token(id, d["primaryKey"].as_str().unwrap_or_default(), 3600);
    let enc = "http%3Adev%401";
    let resp = call(
        &hub,
        "POST",
        &format!("/devices/{enc}/messages/events?{V}"),
        &[("authorization", &sas)],
        "hi",
    )
    .await;
    assert_eq!(resp.0, StatusCode::NO_CONTENT, "{:?}", resp.2);
    assert_eq!(hub.events(1).await[0]["deviceId"], id);
    for kind in ["devicebound", "deviceBound", "DEVICEBOUND"] {
        let resp = call(
            &hub,
            "GET",
            &format!("/devices/{enc}/messages/{kind}?{V}"),
            &[("authorization", &sas)],
            "",
        )
        .await;
        assert_eq!(resp.0, StatusCode::NO_CONTENT, "{kind}");
    }
    let resp = call(
        &hub,
        "GET",
        &format!("/devices/{enc}/messages/events?{V}"),
        &[("authorization", &sas)],
        "",
    )
    .await;
    assert_error(
        &resp,
        StatusCode::METHOD_NOT_ALLOWED,
        405000,
        "MethodNotAllowed",
    );
    let resp = call(
        &hub,
        "POST",
        &format!("/devices/{enc}/messages/deviceBound/tok/complete?{V}"),
        &[("authorization", &sas)],
        "",
    )
    .await;
    assert_error(&resp, StatusCode::NOT_FOUND, 404000, "NotFound");
    // An id that cannot exist.
    let resp = call(
        &hub,
        "POST",
        &format!("/devices/a%2Fb/messages/events?{V}"),
        &[("authorization", &sas)],
        "",
    )
    .await;
    assert_error(&resp, StatusCode::NOT_FOUND, 404001, "DeviceNotFound");
}

#[tokio::test]
async fn cors_preflight_and_exposed_headers() {
    let hub = start("https-cors").await;
    let path = format!("/devices/{D1}/messages/deviceBound?{V}");
    let resp = call(
        &hub,
        "OPTIONS",
        &path,
        &[
            ("origin", "http://127.0.0.1:5173"),
            ("access-control-request-method", "DELETE"),
            (
                "access-control-request-headers",
                "authorization, iothub-app-temp, IoTHub-MessageId, if-match, content-type, x-evil",
            ),
        ],
        "",
    )
    .await;
    assert!(resp.0.is_success(), "{:?}", resp.0);
    let h = &resp.1;
    assert_eq!(
        header(h, "access-control-allow-origin"),
        Some("http://127.0.0.1:5173")
    );
    let methods = header(h, "access-control-allow-methods").unwrap_or_default();
    for m in ["GET", "POST", "DELETE"] {
        assert!(methods.contains(m), "{methods}");
    }
    let allowed: Vec<String> = header(h, "access-control-allow-headers")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    for want in [
        "authorization",
        "iothub-app-temp",
        "iothub-messageid",
        "if-match",
        "content-type",
    ] {
        assert!(allowed.iter().any(|a| a == want), "{want} in {allowed:?}");
    }
    assert!(!allowed.iter().any(|a| a == "x-evil"), "{allowed:?}");

    // The actual request exposes the C2D headers to the page.
    let sas = auth(&hub, D1).await;
    send_c2d(&hub, D1, json!({"body": "x", "properties": {"p": "1"}})).await;
    let resp = call(
        &hub,
        "GET",
        &path,
        &[("authorization", &sas), ("origin", "http://localhost:8080")],
        "",
    )
    .await;
    assert_eq!(resp.0, StatusCode::OK);
    assert_eq!(
        header(&resp.1, "access-control-allow-origin"),
        Some("http://localhost:8080")
    );
    let exposed: Vec<String> = header(&resp.1, "access-control-expose-headers")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    for want in [
        "*",
        "etag",
        "iothub-messageid",
        "iothub-sequencenumber",
        "iothub-deliverycount",
        "iothub-enqueuedtime",
        "contenttype",
        "contentencoding",
    ] {
        assert!(exposed.iter().any(|a| a == want), "{want} in {exposed:?}");
    }
    // Foreign origins get nothing.
    let resp = call(
        &hub,
        "OPTIONS",
        &path,
        &[
            ("origin", "https://example.com"),
            ("access-control-request-method", "GET"),
            ("access-control-request-headers", "authorization"),
        ],
        "",
    )
    .await;
    assert!(header(&resp.1, "access-control-allow-origin").is_none());
}

/// Writes `request` on a fresh connection and reads the whole answer (`Connection: close`).
async fn raw_exchange<S: AsyncRead + AsyncWrite + Unpin>(mut s: S, request: &[u8]) -> String {
    s.write_all(request)
        .await
        .unwrap_or_else(|e| panic!("write: {e}"));
    s.flush().await.unwrap_or_else(|e| panic!("flush: {e}"));
    let mut out = Vec::new();
    let _ = tokio::time::timeout(common::WAIT, s.read_to_end(&mut out))
        .await
        .unwrap_or_else(|_| panic!("no answer within {:?}", common::WAIT));
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn wire_bytes_match_the_bytes_sent_over_tcp() {
    let hub = start("https-wire").await;
    let sas = auth(&hub, D1).await;
    let body = "temperature=21";
    let request = format!(
        "POST /devices/{D1}/messages/events?{V} HTTP/1.1\r\nHost: {HOST}\r\n\
         Authorization: {sas}\r\niothub-app-Unit: C\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let tcp = tokio::net::TcpStream::connect(hub.running.addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let answer = raw_exchange(tcp, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    let events = hub.events(1).await;
    assert_eq!(events[0]["wireBytes"], request.len());
    assert_eq!(events[0]["properties"], json!({"unit": "C"}));

    // A chunked body (what the Node SDK sends): the chunk-size lines are not counted.
    let request = format!(
        "POST /devices/{D1}/messages/events?{V} HTTP/1.1\r\nHost: {HOST}\r\n\
         Authorization: {sas}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
         5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    );
    let tcp = tokio::net::TcpStream::connect(hub.running.addr)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let answer = raw_exchange(tcp, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    let events = hub.events(2).await;
    assert_eq!(events[1]["body"], "hello world");
    let framing = "5\r\n\r\n6\r\n\r\n0\r\n\r\n".len();
    assert_eq!(events[1]["wireBytes"], request.len() - framing);
}

#[tokio::test]
async fn the_device_api_is_served_over_tls() {
    let dir = common::temp_dir("https-tls");
    let mut config = devhub::Config::local(&dir);
    config.tls = true;
    let running = devhub::start(config)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let tls_addr = running
        .tls_addr
        .unwrap_or_else(|| panic!("no TLS listener"));
    let ca = running.ca_cert.clone().unwrap_or_else(|| panic!("no CA"));
    let hub = Hub { running, dir };
    let sas = auth(&hub, D1).await;
    send_c2d(&hub, D1, json!({"body": "over tls", "messageId": "tls-1"})).await;

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(&ca).unwrap_or_else(|e| panic!("{e}")) {
        roots
            .add(cert.unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|e| panic!("{e}"))
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let connect = || async {
        let tcp = tokio::net::TcpStream::connect(tls_addr)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let name = ServerName::try_from(HOST).unwrap_or_else(|e| panic!("{e}"));
        tokio_rustls::TlsConnector::from(config.clone())
            .connect(name, tcp)
            .await
            .unwrap_or_else(|e| panic!("TLS: {e}"))
    };
    let request = format!(
        "GET /devices/{D1}/messages/devicebound?{V} HTTP/1.1\r\nHost: {HOST}\r\n\
         Authorization: {sas}\r\nConnection: close\r\n\r\n"
    );
    let answer = raw_exchange(connect().await, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("over tls"), "{answer}");
    let lock = answer
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("etag")
                .then(|| v.trim().trim_matches('"').to_owned())
        })
        .unwrap_or_else(|| panic!("no ETag: {answer}"));
    let request = format!(
        "DELETE /devices/{D1}/messages/devicebound/{lock}?{V} HTTP/1.1\r\nHost: {HOST}\r\n\
         Authorization: {sas}\r\nIf-Match: {lock}\r\nConnection: close\r\n\r\n"
    );
    let answer = raw_exchange(connect().await, request.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 204"), "{answer}");
    assert_eq!(history(&hub, "tls-1").await[0]["outcome"], "completed");
}
