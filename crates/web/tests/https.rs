//! The device client over the HTTPS device API (`Protocol::Http`) against a local devhub, in
//! a real browser: sends, batches, C2D polling and settlement, errors (wrong key, CORS).
// A few cases drive the HTTPS protocol through the JavaScript API too, hence `js`.
#![cfg(all(target_arch = "wasm32", feature = "http", feature = "js"))]

mod common;

use core::time::Duration;

use common::*;
use futures::StreamExt;
use hubwire_web::iothub::{ConnectionString, Message, SasKey, SasToken, TokenError};
use hubwire_web::{
    ClientError, ConnectionStatus, DeviceClient, DeviceOptions, HttpError, HubwireDevice, Messages,
    PollInterval, Protocol, ReceivedMessage, SendError, SettleError,
};
use js_sys::{Function, Reflect, JSON};
use serde_json::{json, Value};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

/// A connected HTTPS client for a fresh device.
async fn http_device(prefix: &str) -> (Value, DeviceClient) {
    let device = create_device(prefix).await;
    let client = within(
        15_000,
        "HTTPS connect",
        DeviceClient::connect(devhub_http_options(&device)),
    )
    .await
    .expect("connect to devhub over HTTPS");
    (device, client)
}

async fn next_message(messages: &mut Messages) -> ReceivedMessage {
    within(10_000, "a C2D message", messages.next())
        .await
        .expect("message stream open")
}

fn history_for<'a>(history: &'a [Value], device_id: &str, message_id: &str) -> Vec<&'a Value> {
    history
        .iter()
        .filter(|h| h["deviceId"] == device_id && h["messageId"] == message_id)
        .collect()
}

#[wasm_bindgen_test]
async fn send_with_properties_reaches_the_hub_over_https() {
    // Default poll interval: the documented production one.
    let device = create_device("web-https-d2c").await;
    let id = str_field(&device, "deviceId").to_owned();
    let options = devhub_http_options(&device).with_poll_interval(PollInterval::default());
    let client = within(10_000, "connect", DeviceClient::connect(options))
        .await
        .expect("connect");
    assert_eq!(client.protocol(), Protocol::Http);
    assert_eq!(client.status(), ConnectionStatus::Connected, "polling");
    let next = client.next_poll_in().expect("a poll is scheduled");
    assert!(
        next > Duration::from_secs(24 * 60 + 50) && next <= Duration::from_secs(25 * 60),
        "next poll in {next:?}"
    );
    assert_eq!(client.poll_interval(), Some(PollInterval::PRODUCTION));

    let msg = Message::new("hello over https")
        .with_message_id("https-mid-1")
        .with_correlation_id("https-cid-1")
        .with_content_type("text/plain")
        .with_content_encoding("utf-8")
        .with_property("level", "info")
        .with_property("quote", "a \"b\" c");
    let receipt = within(10_000, "send", client.send_event(msg))
        .await
        .expect("send_event");
    assert_eq!(receipt.message_id.as_deref(), Some("https-mid-1"));
    assert_eq!(receipt.packet_id, 0);
    assert!(receipt.wire_bytes > "hello over https".len());

    let evs = events(&id).await;
    assert_eq!(evs.len(), 1, "{evs:?}");
    let ev = &evs[0];
    assert_eq!(ev["protocol"], "https");
    assert_eq!(ev["body"], "hello over https");
    assert_eq!(ev["properties"]["level"], "info");
    assert_eq!(ev["properties"]["quote"], "a \"b\" c");
    assert_eq!(ev["systemProperties"]["messageId"], "https-mid-1");
    assert_eq!(ev["systemProperties"]["correlationId"], "https-cid-1");
    assert_eq!(ev["systemProperties"]["contentType"], "text/plain");
    assert_eq!(ev["systemProperties"]["contentEncoding"], "utf-8");
    // devhub counts the headers the browser adds as well.
    assert!(ev["wireBytes"].as_u64().unwrap_or(0) >= receipt.wire_bytes as u64);

    let stats = client.stats();
    assert_eq!(stats.messages_sent, 1);
    assert!(stats.frames_sent >= 2, "first poll and the send: {stats:?}");
    assert!(stats.bytes_sent >= receipt.wire_bytes as u64);

    // A property that cannot be a header is refused before anything is sent.
    let bad = Message::new("x").with_property("not a token", "v");
    assert!(matches!(
        client.send_event(bad).await,
        Err(SendError::InvalidHeader(_))
    ));
    client.close().await;
    assert_eq!(client.status(), ConnectionStatus::Disconnected);
    assert_eq!(client.next_poll_in(), None);
    assert!(matches!(
        client.send_event(Message::new("late")).await,
        Err(SendError::Closed)
    ));
}

#[wasm_bindgen_test]
async fn batch_send_stores_every_message() {
    let (device, client) = http_device("web-https-batch").await;
    let id = str_field(&device, "deviceId");
    let batch = vec![
        Message::new("one")
            .with_message_id("b-1")
            .with_property("n", "1"),
        Message::new(vec![0u8, 1, 2, 255]).with_message_id("b-2"),
        Message::new("{\"t\":3}")
            .with_message_id("b-3")
            .with_json_content()
            .with_property("n", "3"),
    ];
    let receipt = within(10_000, "batch", client.send_event_batch(batch))
        .await
        .expect("send_event_batch");
    assert_eq!(receipt.message_count, 3);
    assert_eq!(
        receipt.message_ids,
        vec![Some("b-1".into()), Some("b-2".into()), Some("b-3".into())]
    );
    assert!(receipt.body_bytes > 0 && receipt.wire_bytes > receipt.body_bytes);

    let evs = events(id).await;
    assert_eq!(evs.len(), 3, "{evs:?}");
    assert!(evs.iter().all(|e| e["protocol"] == "https"));
    assert_eq!(evs[0]["body"], "one");
    assert_eq!(evs[0]["properties"]["n"], "1");
    assert_eq!(evs[0]["systemProperties"]["messageId"], "b-1");
    assert_eq!(evs[1]["bodyBase64"], "AAEC/w==");
    assert_eq!(evs[1]["systemProperties"]["messageId"], "b-2");
    assert_eq!(evs[2]["body"], "{\"t\":3}");
    assert_eq!(
        evs[2]["systemProperties"]["contentType"],
        "application/json"
    );
    assert_eq!(client.stats().messages_sent, 3);

    assert!(matches!(
        client.send_event_batch(Vec::new()).await,
        Err(SendError::InvalidBatch { .. })
    ));
    client.close().await;
}

#[wasm_bindgen_test]
async fn receive_with_properties_then_complete() {
    let (device, client) = http_device("web-https-c2d").await;
    let id = str_field(&device, "deviceId").to_owned();
    let mut messages = client.messages().expect("first call");
    send_c2d(
        &id,
        &json!({
            "body": "to the device",
            "messageId": "c2d-1",
            "correlationId": "corr-1",
            "contentType": "text/plain",
            "contentEncoding": "utf-8",
            "properties": { "color": "blue", "n": "7" },
            "ack": "full",
        }),
    )
    .await;
    let n = within(10_000, "poll", client.poll_now())
        .await
        .expect("poll_now");
    assert_eq!(n, 1);
    let received = next_message(&mut messages).await;
    let m = received.message();
    assert_eq!(m.body_str(), Some("to the device"));
    assert_eq!(m.message_id.as_deref(), Some("c2d-1"));
    assert_eq!(m.correlation_id.as_deref(), Some("corr-1"));
    assert_eq!(m.content_type.as_deref(), Some("text/plain"));
    assert_eq!(m.content_encoding.as_deref(), Some("utf-8"));
    assert_eq!(m.properties.get("color"), Some("blue"));
    assert_eq!(m.properties.get("n"), Some("7"));
    assert_eq!(m.ack.as_str(), "full");
    let info = m.received.as_ref().expect("delivery info");
    assert_eq!(info.delivery_count, 0);
    assert!(info.sequence_number > 0);
    assert!(!received.lock_token().is_empty());
    assert_eq!(info.lock_token.as_deref(), Some(received.lock_token()));

    // Locked while unsettled.
    let queue = c2d_queue(&id).await;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["state"], "locked");

    within(10_000, "complete", received.complete())
        .await
        .expect("complete");
    assert!(c2d_queue(&id).await.is_empty());
    let history = c2d_history().await;
    let mine = history_for(&history, &id, "c2d-1");
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["outcome"], "completed");
    assert!(feedback()
        .await
        .iter()
        .any(|f| f["originalMessageId"] == "c2d-1" && f["statusCode"] == "Success"));

    // The lock is gone: settling again is a typed 412.
    let again = client.complete(received.lock_token()).await;
    assert!(
        matches!(again, Err(SettleError::Http(HttpError::LockLost { .. }))),
        "{again:?}"
    );
    assert_eq!(
        client.poll_now().await.expect("empty poll"),
        0,
        "nothing left"
    );
    client.close().await;
}

#[wasm_bindgen_test]
async fn abandon_redelivers_with_a_raised_delivery_count() {
    let (device, client) = http_device("web-https-abandon").await;
    let id = str_field(&device, "deviceId").to_owned();
    let mut messages = client.messages().expect("stream");
    send_c2d(&id, &json!({ "body": "again", "messageId": "ab-1" })).await;
    assert_eq!(client.poll_now().await.expect("poll"), 1);
    let first = next_message(&mut messages).await;
    assert_eq!(
        first.message().received.as_ref().map(|r| r.delivery_count),
        Some(0)
    );
    first.abandon().await.expect("abandon");
    let queue = c2d_queue(&id).await;
    assert_eq!(queue.len(), 1);
    assert_eq!(queue[0]["state"], "enqueued");
    assert_eq!(queue[0]["deliveryCount"], 1);

    assert_eq!(client.poll_now().await.expect("poll"), 1);
    let second = next_message(&mut messages).await;
    assert_eq!(second.message().message_id.as_deref(), Some("ab-1"));
    assert_eq!(second.message().body_str(), Some("again"));
    assert_eq!(
        second.message().received.as_ref().map(|r| r.delivery_count),
        Some(1)
    );
    assert_ne!(second.lock_token(), first.lock_token(), "a new lock");
    // By lock token through the client, too.
    client
        .complete(second.lock_token())
        .await
        .expect("complete");
    let history = c2d_history().await;
    let outcomes: Vec<&Value> = history_for(&history, &id, "ab-1")
        .iter()
        .map(|h| &h["outcome"])
        .collect();
    assert_eq!(outcomes, vec!["abandoned", "completed"]);
    client.close().await;
}

#[wasm_bindgen_test]
async fn reject_dead_letters() {
    let (device, client) = http_device("web-https-reject").await;
    let id = str_field(&device, "deviceId").to_owned();
    let mut messages = client.messages().expect("stream");
    send_c2d(
        &id,
        &json!({ "body": "no thanks", "messageId": "rj-1", "ack": "negative" }),
    )
    .await;
    assert_eq!(client.poll_now().await.expect("poll"), 1);
    let received = next_message(&mut messages).await;
    client.reject(received.lock_token()).await.expect("reject");
    assert!(c2d_queue(&id).await.is_empty(), "dead-lettered, not queued");
    let history = c2d_history().await;
    let mine = history_for(&history, &id, "rj-1");
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!(mine[0]["outcome"], "rejected");
    let fb = feedback().await;
    let record = fb
        .iter()
        .find(|f| f["originalMessageId"] == "rj-1")
        .expect("feedback record");
    assert_eq!(record["statusCode"], "Rejected");
    assert_eq!(record["deviceId"], id.as_str());
    assert_eq!(client.poll_now().await.expect("poll"), 0);
    client.close().await;
}

#[wasm_bindgen_test]
async fn poll_now_drains_every_waiting_message_in_one_cycle() {
    let (device, client) = http_device("web-https-drain").await;
    let id = str_field(&device, "deviceId").to_owned();
    client.stop_polling().expect("stop");
    let mut messages = client.messages().expect("stream");
    for i in 0..5 {
        send_c2d(
            &id,
            &json!({ "body": format!("m{i}"), "messageId": format!("dr-{i}") }),
        )
        .await;
    }
    let cycles_before = client.poll_info().expect("http").cycles;
    let n = within(15_000, "drain", client.poll_now())
        .await
        .expect("poll_now");
    assert_eq!(n, 5, "one cycle took all five");
    assert_eq!(client.poll_info().expect("http").cycles, cycles_before + 1);
    let mut ids = Vec::new();
    for _ in 0..5 {
        let m = next_message(&mut messages).await;
        ids.push(m.message().message_id.clone().unwrap_or_default());
        m.complete().await.expect("complete");
    }
    assert_eq!(ids, vec!["dr-0", "dr-1", "dr-2", "dr-3", "dr-4"]);
    assert!(c2d_queue(&id).await.is_empty());
    // Stopped: nothing scheduled, but poll_now works.
    assert_eq!(client.next_poll_in(), None);
    assert!(!client.poll_info().expect("http").running);
    client.close().await;
}

#[wasm_bindgen_test]
async fn scheduled_polling_with_the_development_interval() {
    let device = create_device("web-https-sched").await;
    let id = str_field(&device, "deviceId").to_owned();
    let options = devhub_http_options(&device)
        .with_poll_interval(PollInterval::development(1).expect("1 s is the minimum"));
    let client = DeviceClient::connect(options).await.expect("connect");
    let info = client.poll_info().expect("http");
    assert!(info.development && info.running);
    assert!(client
        .next_poll_in()
        .is_some_and(|d| d <= Duration::from_secs(1)));
    let mut messages = client.messages().expect("stream");
    send_c2d(&id, &json!({ "body": "scheduled", "messageId": "sc-1" })).await;
    // No poll_now: the schedule picks it up.
    let m = next_message(&mut messages).await;
    assert_eq!(m.message().body_str(), Some("scheduled"));
    m.complete().await.expect("complete");
    // The cycle that delivered the message counts once its draining GET has seen 204,
    // which may be after the message reached the stream.
    eventually(5_000, "a scheduled second cycle", || async {
        (client.poll_info()?.cycles >= 2).then_some(())
    })
    .await;

    client.stop_polling().expect("stop");
    // A cycle that was under way finishes first; after it nothing is scheduled.
    eventually(5_000, "polling stopped", || async {
        let info = client.poll_info()?;
        (!info.running && !info.polling).then_some(())
    })
    .await;
    assert_eq!(client.next_poll_in(), None);
    send_c2d(&id, &json!({ "body": "waits", "messageId": "sc-2" })).await;
    sleep_ms(2_500).await;
    assert_eq!(
        c2d_queue(&id).await.first().map(|q| q["state"].clone()),
        Some(json!("enqueued"))
    );
    client.start_polling().expect("start");
    let m = next_message(&mut messages).await;
    assert_eq!(m.message().message_id.as_deref(), Some("sc-2"));
    m.complete().await.expect("complete");
    client.close().await;
    // The stream ends with the client.
    assert!(within(5_000, "stream end", messages.next()).await.is_none());
}

#[wasm_bindgen_test]
async fn a_wrong_key_is_unauthorized() {
    let device = create_device("web-https-badkey").await;
    let id = str_field(&device, "deviceId");
    let wrong = format!(
        "HostName=localhost;DeviceId={id};SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
    );
    let options = DeviceOptions::from_connection_string(&wrong)
        .expect("parses")
        .with_protocol(Protocol::Http)
        .with_endpoint(DEVHUB_HTTP);
    let err = within(10_000, "connect", DeviceClient::connect(options))
        .await
        .expect_err("a wrong key must fail");
    match &err {
        ClientError::Http(HttpError::Unauthorized { error_code, .. }) => {
            assert_eq!(*error_code, Some(401_002));
        }
        other => panic!("expected Unauthorized, got {other:?}"),
    }
    assert_eq!(err.code(), "Unauthorized");
    assert!(err.is_auth_failure());
    assert!(!err.is_transient());

    // A fixed token that already expired never reaches the network.
    let key = SasKey::from_base64(str_field(&device, "primaryKey")).expect("key");
    let now = (js_sys::Date::now() / 1000.0) as u64;
    let token = SasToken::build(&key, &format!("localhost/devices/{id}"), now - 10, None);
    let options = DeviceOptions::from_sas_token("localhost", id, token.expose())
        .expect("token parses")
        .with_protocol(Protocol::Http)
        .with_endpoint(DEVHUB_HTTP);
    let err = DeviceClient::connect(options).await.expect_err("expired");
    assert!(
        matches!(
            err,
            ClientError::Token(TokenError::FixedTokenExpired { .. })
        ),
        "{err:?}"
    );

    // An unknown device.
    let cs = ConnectionString::parse(str_field(&device, "connectionString")).expect("cs");
    let ghost = ConnectionString::with_device_key(
        "localhost",
        hubwire_web::iothub::DeviceId::new("web-https-no-such-device").expect("id"),
        match &cs.auth {
            hubwire_web::iothub::Authentication::SharedAccessKey { key, .. } => key.clone(),
            _ => panic!("key auth"),
        },
    );
    let options = DeviceOptions::from_connection_string(&ghost.to_connection_string())
        .expect("parses")
        .with_protocol(Protocol::Http)
        .with_endpoint(DEVHUB_HTTP);
    let err = DeviceClient::connect(options).await.expect_err("unknown");
    assert!(
        matches!(err, ClientError::Http(HttpError::DeviceNotFound { .. })),
        "{err:?}"
    );
}

/// The test page's own origin (`http://127.0.0.1:PORT`). (Other names for the loopback
/// address, such as `localhost`, do not resolve in every test browser, so the cross-origin
/// tests use devhub instead.)
fn page_origin() -> String {
    let location = Reflect::get(&js_sys::global(), &"location".into()).expect("location");
    Reflect::get(&location, &"origin".into())
        .ok()
        .and_then(|v| v.as_string())
        .expect("origin")
}

/// `fetch(url, { mode: "no-cors" })`: resolves with an opaque response when a server answered
/// (and the browser's opaque-response blocking lets the answer through); rejects when nothing
/// answered.
async fn answers_without_cors(url: &str) -> bool {
    let global = js_sys::global();
    let fetch: Function = Reflect::get(&global, &"fetch".into())
        .expect("fetch")
        .dyn_into()
        .expect("function");
    let init = JSON::parse(r#"{"mode":"no-cors","cache":"no-store"}"#).expect("init");
    let promise: js_sys::Promise = fetch
        .call2(&global, &JsValue::from_str(url), &init)
        .expect("fetch call")
        .dyn_into()
        .expect("promise");
    match JsFuture::from(promise).await {
        Ok(resp) => {
            let kind = Reflect::get(&resp, &"type".into())
                .ok()
                .and_then(|v| v.as_string());
            kind.as_deref() == Some("opaque")
        }
        Err(_) => false,
    }
}

fn assert_cors_error(err: &ClientError, url_prefix: &str) {
    match err {
        ClientError::Http(HttpError::CorsOrNetwork { url, detail }) => {
            assert!(url.starts_with(url_prefix), "{url}");
            assert!(!url.contains("api-version"), "query left out: {url}");
            assert!(!detail.is_empty());
        }
        other => panic!("expected CorsOrNetwork, got {other:?}"),
    }
    assert_eq!(err.code(), "CorsOrNetwork");
    let text = err.to_string();
    for needle in ["CORS", "same-origin proxy", "MQTT over WebSocket"] {
        assert!(text.contains(needle), "{needle:?} missing in: {text}");
    }
}

/// Wraps the page's `fetch` so that requests whose URL contains `marker` carry one extra
/// header, `x-hubwire-cors-test`, that devhub's CORS policy does not allow. The browser then
/// asks devhub in a preflight, devhub answers without allowing the header, and the browser
/// refuses the request: a real CORS refusal by a live server, as a page meets it in front of
/// a hub without CORS. Returns the original `fetch` for [`restore_fetch`].
fn refuse_cors_for(marker: &str) -> JsValue {
    let install = Function::new_with_args(
        "marker",
        r#"
        const original = globalThis.fetch;
        globalThis.fetch = function (input, init) {
            const url = typeof input === "string" ? input : input.url;
            if (url.includes(marker)) {
                const headers = new Headers(input instanceof Request ? input.headers : undefined);
                headers.set("x-hubwire-cors-test", "1");
                input = new Request(input, { headers });
            }
            return original.call(this, input, init);
        };
        return original;
        "#,
    );
    install
        .call1(&JsValue::NULL, &JsValue::from_str(marker))
        .expect("fetch wrapper installed")
}

fn restore_fetch(original: &JsValue) {
    Reflect::set(&js_sys::global(), &"fetch".into(), original).expect("fetch restored");
}

#[wasm_bindgen_test]
async fn a_cors_refusal_gives_the_cors_error() {
    let device = create_device("web-https-cors").await;
    let id = str_field(&device, "deviceId").to_owned();
    // Without the refusal the same device works: devhub answers these URLs, so the failures
    // below come from the browser's CORS check, not from the network.
    let client = DeviceClient::connect(devhub_http_options(&device))
        .await
        .expect("plain connect works");

    let original = refuse_cors_for(&format!("/devices/{id}/"));
    let refused = DeviceClient::connect(devhub_http_options(&device)).await;
    let send = client
        .send_event(Message::new("never arrives").with_message_id("cors-1"))
        .await;
    let poll = client.poll_now().await;
    restore_fetch(&original);

    let err = refused.expect_err("CORS refusal");
    assert_cors_error(&err, DEVHUB_HTTP);
    assert!(
        err.is_transient(),
        "CORS and network failures cannot be told apart"
    );
    match send {
        Err(SendError::Http(e @ HttpError::CorsOrNetwork { .. })) => {
            assert_eq!(e.code(), "CorsOrNetwork");
        }
        other => panic!("expected a CORS send error, got {other:?}"),
    }
    assert_cors_error(&poll.expect_err("poll refused"), DEVHUB_HTTP);
    // The refused send never reached the hub.
    assert!(events(&id).await.is_empty());
    // The refusal of a scheduled poll would be retried with back-off: the client lives on.
    assert_eq!(client.poll_now().await.expect("works again"), 0);
    assert_eq!(client.status(), ConnectionStatus::Connected);
    client.close().await;

    // A server answering with an error status the page may read is not a CORS error: the
    // test page's own server (same origin) has no device API and says 404.
    let origin = page_origin();
    let same = devhub_http_options(&device).with_endpoint(origin.as_str());
    match DeviceClient::connect(same)
        .await
        .expect_err("no device API there")
    {
        ClientError::Http(e) => assert_eq!(e.status(), Some(404), "{e:?}"),
        other => panic!("expected an HTTP status error, got {other:?}"),
    }

    // Nothing listening at all: the same typed error (the browser reports both alike).
    let closed = devhub_http_options(&device).with_endpoint("http://127.0.0.1:2");
    assert!(!answers_without_cors("http://127.0.0.1:2/").await);
    let err = DeviceClient::connect(closed).await.expect_err("no server");
    assert_cors_error(&err, "http://127.0.0.1:2");
}

#[wasm_bindgen_test]
async fn mqtt_reports_http_only_operations_as_not_supported() {
    let (_device, client) = connected_device("web-https-mqtt").await;
    assert!(matches!(
        client.send_event_batch(vec![Message::new("x")]).await,
        Err(SendError::NotSupported {
            protocol: "MQTT",
            ..
        })
    ));
    assert!(matches!(
        client.poll_now().await,
        Err(ClientError::NotSupported { .. })
    ));
    assert!(client.stop_polling().is_err());
    assert_eq!(client.next_poll_in(), None);
    assert_eq!(client.poll_info(), None);
    client.close().await;
}

fn js(value: &Value) -> JsValue {
    JSON::parse(&value.to_string()).expect("valid JSON")
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).expect("property read")
}

#[wasm_bindgen_test]
async fn javascript_api_over_https() {
    let device = create_device("web-https-js").await;
    let id = str_field(&device, "deviceId").to_owned();
    let options = js(&json!({
        "connectionString": str_field(&device, "connectionString"),
        "endpoint": DEVHUB_HTTP,
        "protocol": "http",
        "pollIntervalSecs": 60,
    }));
    let dev = within(10_000, "connect", HubwireDevice::connect(options))
        .await
        .expect("HubwireDevice.connect");
    assert_eq!(dev.protocol(), "http");
    assert_eq!(
        get(&dev.status(), "status").as_string().as_deref(),
        Some("connected")
    );
    let next = dev.next_poll_in().expect("scheduled");
    assert!(next > 50_000.0 && next <= 60_000.0, "{next}");
    let info = dev.poll_info();
    assert_eq!(get(&info, "intervalMs").as_f64(), Some(60_000.0));
    assert_eq!(get(&info, "development").as_bool(), Some(true));

    let receipt = JsFuture::from(dev.send_event(js(&json!({
        "body": "js over https",
        "messageId": "js-h-1",
        "properties": { "k": "v" },
    }))))
    .await
    .expect("sendEvent");
    assert_eq!(
        get(&receipt, "messageId").as_string().as_deref(),
        Some("js-h-1")
    );
    let batch = JsFuture::from(dev.send_event_batch(js(&json!(["a", { "body": "b" }]))))
        .await
        .expect("sendEventBatch");
    assert_eq!(get(&batch, "messageCount").as_f64(), Some(2.0));
    let evs = events(&id).await;
    assert_eq!(evs.len(), 3);
    assert_eq!(evs[0]["properties"]["k"], "v");

    send_c2d(
        &id,
        &json!({ "body": "to js", "messageId": "js-c2d", "properties": { "p": "q" } }),
    )
    .await;
    let n = JsFuture::from(dev.poll_now()).await.expect("pollNow");
    assert_eq!(n.as_f64(), Some(1.0));
    let seen = std::rc::Rc::new(std::cell::RefCell::new(Vec::<JsValue>::new()));
    let sink = std::rc::Rc::clone(&seen);
    let cb = Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| sink.borrow_mut().push(v));
    dev.on_message(Some(cb.as_ref().unchecked_ref::<Function>().clone()));
    let msg = seen
        .borrow()
        .first()
        .cloned()
        .expect("buffered message delivered");
    assert_eq!(get(&msg, "text").as_string().as_deref(), Some("to js"));
    assert_eq!(
        get(&get(&msg, "properties"), "p").as_string().as_deref(),
        Some("q")
    );
    let token = get(&msg, "lockToken").as_string().expect("lock token");
    JsFuture::from(dev.complete(token.clone()))
        .await
        .expect("complete");
    let again = JsFuture::from(dev.complete(token))
        .await
        .expect_err("lock gone");
    assert_eq!(get(&again, "code").as_string().as_deref(), Some("LockLost"));

    dev.stop_polling().expect("stopPolling");
    assert_eq!(dev.next_poll_in(), None);
    dev.start_polling().expect("startPolling");
    JsFuture::from(dev.close()).await.expect("close");

    // The CORS error reaches JavaScript with its code.
    let options = js(&json!({
        "connectionString": str_field(&device, "connectionString"),
        "endpoint": DEVHUB_HTTP,
        "protocol": "http",
    }));
    let original = refuse_cors_for(&format!("/devices/{id}/"));
    let result = HubwireDevice::connect(options).await;
    restore_fetch(&original);
    let Err(err) = result else {
        panic!("a CORS refusal must fail connect");
    };
    assert_eq!(
        get(&err, "name").as_string().as_deref(),
        Some("HubwireError")
    );
    assert_eq!(
        get(&err, "code").as_string().as_deref(),
        Some("CorsOrNetwork")
    );
    let message = get(&err, "message").as_string().unwrap_or_default();
    assert!(message.contains("same-origin proxy"), "{message}");

    // HTTP-only operations on MQTT reject with NotSupported.
    let mqtt = HubwireDevice::connect(js(&json!({
        "connectionString": str_field(&device, "connectionString"),
        "endpoint": DEVHUB_WS,
    })))
    .await
    .expect("MQTT connect");
    let err = JsFuture::from(mqtt.poll_now())
        .await
        .expect_err("NotSupported");
    assert_eq!(
        get(&err, "code").as_string().as_deref(),
        Some("NotSupported")
    );
    let err = JsFuture::from(mqtt.send_event_batch(js(&json!(["x"]))))
        .await
        .expect_err("NotSupported");
    assert_eq!(
        get(&err, "code").as_string().as_deref(),
        Some("NotSupported")
    );
    assert!(mqtt.poll_info().is_null());
    JsFuture::from(mqtt.close()).await.expect("close");
}
