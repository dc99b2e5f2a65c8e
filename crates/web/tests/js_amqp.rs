//! The JavaScript API over AMQP: `HubwireDevice` with `protocol: "amqp"` and
//! `HubwireGateway`, driven through their wasm-bindgen exports with plain JS values.
#![cfg(all(target_arch = "wasm32", feature = "amqp", feature = "js"))]

mod common;

use std::cell::RefCell;
use std::rc::Rc;

use common::*;
use hubwire_web::{HubwireDevice, HubwireGateway, HubwireGatewayDevice};
use js_sys::{Function, Reflect, JSON};
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
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(get_str(err, "name"), "HubwireError");
    get_str(err, "code")
}

type Collected = Rc<RefCell<Vec<JsValue>>>;

fn collector() -> (Function, Collected, Closure<dyn FnMut(JsValue)>) {
    let seen = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&seen);
    let closure = Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| sink.borrow_mut().push(v));
    let f: Function = closure.as_ref().unchecked_ref::<Function>().clone();
    (f, seen, closure)
}

#[wasm_bindgen_test]
async fn device_over_amqp_from_javascript() {
    let device = create_device("web-js-amqp").await;
    let id = str_field(&device, "deviceId").to_owned();
    let options = js(&json!({
        "connectionString": str_field(&device, "connectionString"),
        "endpoint": DEVHUB_WS,
        "protocol": "amqp",
    }));
    let dev = within(10_000, "connect", HubwireDevice::connect(options))
        .await
        .expect("HubwireDevice.connect");
    assert_eq!(dev.protocol(), "amqp");
    assert_eq!(get_str(&dev.status(), "status"), "connected");

    let receipt = JsFuture::from(dev.send_event(js(&json!({
        "body": "from js over amqp", "messageId": "js-amqp-1", "properties": { "k": "v" }
    }))))
    .await
    .expect("sendEvent resolves");
    assert_eq!(get_str(&receipt, "messageId"), "js-amqp-1");
    let events = events(&id).await;
    assert_eq!(events[0]["protocol"], "amqp");
    assert_eq!(events[0]["properties"]["k"], "v");

    let (on_message, messages, _keep) = collector();
    dev.on_message(Some(on_message));
    send_c2d(
        &id,
        &json!({ "body": "abandon me", "messageId": "js-amqp-c2d" }),
    )
    .await;
    let m = eventually(5_000, "C2D", || async {
        messages.borrow().first().cloned()
    })
    .await;
    assert_eq!(get_str(&m, "text"), "abandon me");
    assert_eq!(get(&m, "deliveryCount").as_f64(), Some(0.0));
    assert!(get(&m, "sequenceNumber").as_f64().is_some());
    JsFuture::from(dev.abandon(get_str(&m, "lockToken")))
        .await
        .expect("abandon works over AMQP");
    let again = eventually(5_000, "redelivery", || async {
        messages.borrow().get(1).cloned()
    })
    .await;
    assert_eq!(get(&again, "deliveryCount").as_f64(), Some(1.0));
    JsFuture::from(dev.reject(get_str(&again, "lockToken")))
        .await
        .expect("reject works over AMQP");
    let err = JsFuture::from(dev.complete(get_str(&again, "lockToken")))
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "UnknownLockToken");
    let stats = dev.stats();
    assert!(get(&stats, "tokenRenewals").as_f64().is_some());
    JsFuture::from(dev.close()).await.unwrap();
}

#[wasm_bindgen_test]
async fn gateway_from_javascript() {
    let d1 = create_device("web-js-gw").await;
    let d2 = create_device("web-js-gw").await;
    let host = hubwire_web::iothub::ConnectionString::parse(str_field(&d1, "connectionString"))
        .unwrap()
        .host_name;
    let err = HubwireGateway::connect(js(&json!({ "hostName": host, "bogus": 1 })))
        .await
        .err()
        .expect("unknown field refused");
    assert_eq!(error_code(&err), "InvalidOptions");

    let gw = within(
        10_000,
        "gateway",
        HubwireGateway::connect(js(&json!({
            "hostName": host, "endpoint": DEVHUB_WS, "reconnect": { "initialDelayMs": 100 }
        }))),
    )
    .await
    .expect("HubwireGateway.connect");
    assert_eq!(get_str(&gw.status(), "status"), "connected");
    let (on_gw_status, gw_statuses, _keep_gw) = collector();
    gw.on_status(Some(on_gw_status));
    assert_eq!(get_str(&gw_statuses.borrow()[0], "status"), "connected");

    let mut handles = Vec::new();
    for d in [&d1, &d2] {
        let v = JsFuture::from(gw.add_device(js(&json!({
            "connectionString": str_field(d, "connectionString"),
        }))))
        .await
        .expect("addDevice resolves");
        // The promise resolves with a HubwireGatewayDevice.
        let dev = wasm_bindgen::convert::TryFromJsValue::try_from_js_value(v)
            .unwrap_or_else(|_| panic!("not a HubwireGatewayDevice"));
        let dev: HubwireGatewayDevice = dev;
        handles.push(dev);
    }
    let ids: Vec<String> = serde_wasm_bindgen::from_value(gw.devices()).unwrap();
    assert_eq!(ids.len(), 2);
    let (on_message, messages, _keep_m) = collector();
    handles[0].on_message(Some(on_message));
    let (on_status, statuses, _keep_s) = collector();
    handles[1].on_status(Some(on_status));
    assert_eq!(get_str(&statuses.borrow()[0], "status"), "connected");

    for (i, h) in handles.iter().enumerate() {
        JsFuture::from(h.send_event(JsValue::from_str(&format!("js gateway {i}"))))
            .await
            .expect("sendEvent");
    }
    assert_eq!(
        events(str_field(&d1, "deviceId")).await[0]["body"],
        "js gateway 0"
    );
    assert_eq!(
        events(str_field(&d2, "deviceId")).await[0]["body"],
        "js gateway 1"
    );
    send_c2d(str_field(&d1, "deviceId"), &json!({ "body": "to d1" })).await;
    let m = eventually(5_000, "C2D", || async {
        messages.borrow().first().cloned()
    })
    .await;
    assert_eq!(get_str(&m, "text"), "to d1");
    JsFuture::from(handles[0].complete(get_str(&m, "lockToken")))
        .await
        .expect("complete");

    // A device's options may not carry connection settings of their own.
    let err = JsFuture::from(gw.add_device(js(&json!({
        "connectionString": str_field(&d1, "connectionString"), "protocol": "mqtt"
    }))))
    .await
    .unwrap_err();
    assert_eq!(error_code(&err), "InvalidOptions");

    JsFuture::from(gw.remove_device(str_field(&d2, "deviceId").to_owned()))
        .await
        .expect("removeDevice");
    let last = eventually(2_000, "disconnected", || async {
        statuses
            .borrow()
            .last()
            .filter(|s| get_str(s, "status") == "disconnected")
            .cloned()
    })
    .await;
    assert_eq!(get_str(&last, "status"), "disconnected");
    let err = JsFuture::from(handles[1].send_event(JsValue::from_str("late")))
        .await
        .unwrap_err();
    assert_eq!(error_code(&err), "Closed");
    JsFuture::from(gw.close()).await.unwrap();
    assert_eq!(get_str(&gw.status(), "status"), "disconnected");
}
