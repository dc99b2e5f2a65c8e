//! The JavaScript API (`HubwireDevice`), driven through its wasm-bindgen exports with plain JS
//! values, against a local devhub.
#![cfg(all(target_arch = "wasm32", feature = "js"))]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use hubwire_web::HubwireDevice;
use js_sys::{Function, Reflect, Uint8Array, JSON};
use serde_json::json;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn js(value: &serde_json::Value) -> JsValue {
    JSON::parse(&value.to_string()).expect("valid JSON")
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).expect("property read")
}

fn get_str(obj: &JsValue, key: &str) -> String {
    get(obj, key)
        .as_string()
        .unwrap_or_else(|| panic!("{key} is not a string"))
}

fn error_code(err: &JsValue) -> String {
    assert!(
        err.is_instance_of::<js_sys::Error>(),
        "rejections are Error objects"
    );
    assert_eq!(get_str(err, "name"), "HubwireError");
    get_str(err, "code")
}

type Collected = Rc<RefCell<Vec<JsValue>>>;

/// A JS function that appends its argument to a shared list.
fn collector() -> (Function, Collected, Closure<dyn FnMut(JsValue)>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let closure = Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| sink.borrow_mut().push(v));
    let f: Function = closure.as_ref().unchecked_ref::<Function>().clone();
    (f, seen, closure)
}

#[wasm_bindgen_test]
async fn javascript_api_round_trip() {
    let device = create_device("web-js").await;
    let id = str_field(&device, "deviceId").to_owned();
    let options = js(&json!({
        "connectionString": str_field(&device, "connectionString"),
        "endpoint": DEVHUB_WS,
        "protocol": "mqtt",
        "keepAliveSecs": 60,
        "reconnect": { "initialDelayMs": 100, "maxDelayMs": 1000 },
    }));
    let dev = within(10_000, "connect", HubwireDevice::connect(options))
        .await
        .expect("HubwireDevice.connect");
    assert_eq!(dev.device_id(), id);
    assert_eq!(dev.protocol(), "mqtt");
    assert_eq!(get_str(&dev.status(), "status"), "connected");

    let (on_status, statuses, _keep_status) = collector();
    dev.on_status(Some(on_status));
    assert_eq!(
        get_str(&statuses.borrow()[0], "status"),
        "connected",
        "called at once"
    );
    let (on_message, messages, _keep_messages) = collector();

    // A C2D message that arrives before onMessage is set is buffered for it.
    send_c2d(
        &id,
        &json!({ "body": "to js", "messageId": "js-c2d", "properties": { "p": "1" } }),
    )
    .await;
    sleep_ms(300).await;
    dev.on_message(Some(on_message));
    let m = eventually(5_000, "C2D at the callback", || async {
        messages.borrow().first().cloned()
    })
    .await;
    assert_eq!(get_str(&m, "text"), "to js");
    assert_eq!(get_str(&m, "messageId"), "js-c2d");
    assert_eq!(get_str(&get(&m, "properties"), "p"), "1");
    assert_eq!(get_str(&m, "ack"), "none");
    let body: Uint8Array = get(&m, "body").dyn_into().expect("body is a Uint8Array");
    assert_eq!(body.to_vec(), b"to js");
    let lock = get_str(&m, "lockToken");
    JsFuture::from(dev.complete(lock.clone()))
        .await
        .expect("complete resolves");
    let err = JsFuture::from(dev.abandon(lock.clone())).await.unwrap_err();
    assert_eq!(error_code(&err), "NotSupported");
    let err = JsFuture::from(dev.reject(lock)).await.unwrap_err();
    assert_eq!(error_code(&err), "NotSupported");

    // D2C with a binary body and properties.
    let msg = js(
        &json!({ "messageId": "js-1", "contentType": "application/octet-stream",
                          "properties": { "source": "js" } }),
    );
    Reflect::set(
        &msg,
        &"body".into(),
        &Uint8Array::from(&b"\x00\x01bytes"[..]),
    )
    .unwrap();
    let receipt = JsFuture::from(dev.send_event(msg))
        .await
        .expect("sendEvent");
    assert_eq!(get_str(&receipt, "messageId"), "js-1");
    assert!(get(&receipt, "packetId").as_f64().unwrap() >= 1.0);
    let wire_bytes = get(&receipt, "wireBytes").as_f64().unwrap();
    // A plain string is a message too.
    JsFuture::from(dev.send_event("just text".into()))
        .await
        .expect("sendEvent(string)");

    let stored = eventually(5_000, "both events at the hub", || async {
        let e = events(&id).await;
        (e.len() == 2).then_some(e)
    })
    .await;
    assert_eq!(stored[0]["bodyBase64"], "AAFieXRlcw==");
    assert_eq!(stored[0]["properties"]["source"], "js");
    assert_eq!(
        stored[0]["systemProperties"]["contentType"],
        "application/octet-stream"
    );
    assert_eq!(stored[0]["wireBytes"].as_f64(), Some(wire_bytes));
    assert_eq!(stored[1]["body"], "just text");

    // Refusals before anything is sent.
    let big = js(&json!({ "body": "x".repeat(256 * 1024 + 1) }));
    let err = JsFuture::from(dev.send_event(big)).await.unwrap_err();
    assert_eq!(error_code(&err), "MessageTooLarge");
    let typo = js(&json!({ "body": "x", "messageID": "m" }));
    let err = JsFuture::from(dev.send_event(typo)).await.unwrap_err();
    assert_eq!(error_code(&err), "InvalidMessage");
    assert!(get_str(&err, "message").contains("messageID"));
    let bad = js(&json!({ "body": "x", "properties": { "n": 5 } }));
    let err = JsFuture::from(dev.send_event(bad)).await.unwrap_err();
    assert_eq!(error_code(&err), "InvalidMessage");
    let err = JsFuture::from(dev.send_event(JsValue::from_f64(3.0)))
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "InvalidMessage");

    let stats = dev.stats();
    assert!(get(&stats, "bytesSent").as_f64().unwrap() > wire_bytes);
    assert_eq!(get(&stats, "messagesSent").as_f64(), Some(2.0));
    assert_eq!(get(&stats, "messagesReceived").as_f64(), Some(1.0));

    JsFuture::from(dev.close()).await.expect("close resolves");
    assert_eq!(get_str(&dev.status(), "status"), "disconnected");
    let last = statuses.borrow().last().cloned().unwrap();
    assert_eq!(get_str(&last, "status"), "disconnected");
    let err = JsFuture::from(dev.send_event("late".into()))
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "Closed");
}

#[wasm_bindgen_test]
async fn javascript_connect_errors_have_codes() {
    let err = HubwireDevice::connect(js(&json!({
        "connectionString": "HostName=localhost;DeviceId=d1;SharedAccessKey=",
    })))
    .await
    .err()
    .expect("rejects");
    assert_eq!(error_code(&err), "InvalidConnectionString");
    let text = get_str(&err, "message");
    assert!(text.contains("SharedAccessKey"), "{text}");

    let err = HubwireDevice::connect(js(&json!({ "connectionString": "x", "keepalive": 3 })))
        .await
        .err()
        .expect("rejects");
    assert_eq!(error_code(&err), "InvalidOptions");
    assert!(get_str(&err, "message").contains("keepalive"));

    let err = HubwireDevice::connect(js(&json!({
        "connectionString": "x", "reconnect": { "initialDelay": 5 },
    })))
    .await
    .err()
    .expect("rejects");
    assert_eq!(error_code(&err), "InvalidOptions");
    assert!(get_str(&err, "message").contains("initialDelay"));

    let err = HubwireDevice::connect(js(&json!({ "hostName": "localhost", "deviceId": "d1" })))
        .await
        .err()
        .expect("rejects");
    assert_eq!(error_code(&err), "InvalidOptions");

    // Valid options, wrong key: the hub refuses and the client does not retry.
    let device = create_device("web-js-bad").await;
    let cs = str_field(&device, "connectionString");
    let key_at = cs.find("SharedAccessKey=").unwrap() + "SharedAccessKey=".len();
    let wrong = format!(
        "{}AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
        &cs[..key_at]
    );
    let err = within(
        10_000,
        "refusal",
        HubwireDevice::connect(js(
            &json!({ "connectionString": wrong, "endpoint": DEVHUB_WS }),
        )),
    )
    .await
    .err()
    .expect("rejects");
    assert_eq!(error_code(&err), "Unauthorized");
}
