//! The JavaScript API: `HubwireDevice`.
//!
//! ```js
//! import init, { HubwireDevice } from "./hubwire_web.js";
//! await init();
//! const dev = await HubwireDevice.connect({ connectionString, endpoint: "ws://127.0.0.1:8080" });
//! dev.onStatus(s => console.log(s.status));
//! dev.onMessage(m => console.log(m.text, m.properties));
//! const receipt = await dev.sendEvent({ body: "hi", properties: { level: "info" } });
//! await dev.close();
//! ```
//!
//! HTTPS instead of MQTT is an option (`protocol: "http"`, `pollIntervalSecs`), with
//! `pollNow()`, `nextPollIn()`, `startPolling()`, `stopPolling()` and `sendEventBatch()`.
//!
//! Errors are `Error` objects with `name = "HubwireError"` and a machine-readable `code`
//! (for example `MessageTooLarge`, `Unauthorized`, `InvalidConnectionString`,
//! `NotSupported`, `Closed`, `CorsOrNetwork`).

use core::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use futures::StreamExt;
use hubwire_iothub::{Message, Properties};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, spawn_local};

use crate::device::{DeviceClient, Messages, ReceivedMessage};
use crate::error::{ClientError, OptionsError, SendError, SettleError};
use crate::events::StatusEvents;
use crate::options::{DeviceOptions, JsDeviceOptions, JsReconnect};
use crate::status::ConnectionStatus;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** Options of `HubwireDevice.connect`. Give `connectionString`, or `sasToken` + `hostName` + `deviceId`. */
export interface HubwireOptions {
  /** Device connection string (`HostName=…;DeviceId=…;SharedAccessKey=…`). Tokens are generated and renewed. */
  connectionString?: string;
  /** A ready-made SAS token (not renewable). Needs `hostName` and `deviceId`. */
  sasToken?: string;
  hostName?: string;
  deviceId?: string;
  /**
   * Endpoint override. MQTT and AMQP: a WebSocket URL, e.g. `ws://127.0.0.1:8080` for a local hub
   * (default `wss://{HostName}`; the path `/$iothub/websocket` is added). HTTP: the base of the device API, e.g. `http://127.0.0.1:8080`, a proxy
   * URL, or a same-origin path such as `/iothub` (default `https://{HostName}`).
   */
  endpoint?: string;
  /**
   * Device protocol: `"mqtt"` (default, MQTT over WebSocket), `"amqp"` (AMQP 1.0 over WebSocket:
   * CBS token renewal without reconnecting, complete/abandon/reject) or `"http"` (the HTTPS
   * device API with C2D polling). A real IoT Hub does not answer CORS, so `"http"` from a web
   * page needs a same-origin proxy; otherwise requests fail with code `CorsOrNetwork`.
   */
  protocol?: "mqtt" | "http" | "amqp";
  /**
   * HTTP only: C2D poll interval in whole seconds. Default and production minimum 1500 (25 minutes);
   * 1–1499 is the development setting, for local hubs only.
   */
  pollIntervalSecs?: number;
  /** MQTT keep-alive in seconds (default 120). */
  keepAliveSecs?: number;
  /** WebSocket handshake and CONNACK limit in milliseconds (default 30000). */
  connectTimeoutMs?: number;
  /** Automatic reconnect (jittered exponential back-off). */
  reconnect?: {
    enabled?: boolean;
    initialDelayMs?: number;
    maxDelayMs?: number;
    multiplier?: number;
    /** Randomized share of each delay, 0–1 (default 0.5). */
    jitter?: number;
    maxAttempts?: number;
  };
  /** SAS token lifetime (default 3600) and renewal margin (default 900), in seconds. */
  tokenTtlSecs?: number;
  tokenRenewBeforeSecs?: number;
  /** MQTT clean session (default false, as the Azure SDKs). */
  cleanSession?: boolean;
  /** IoT Plug and Play model id. */
  modelId?: string;
}

/** A device-to-cloud message. A plain string is accepted as `{ body: string }`. */
export interface HubwireMessage {
  body?: string | Uint8Array | ArrayBuffer;
  messageId?: string;
  correlationId?: string;
  userId?: string;
  contentType?: string;
  contentEncoding?: string;
  properties?: Record<string, string>;
}

/** Resolved value of `sendEvent`: the hub acknowledged the message. */
export interface SendReceipt {
  messageId: string | null;
  /** MQTT packet id (0 on HTTP and AMQP). */
  packetId: number;
  /** MQTT: encoded size of the PUBLISH. AMQP: the encoded message. HTTP: request line, headers set by the client, and body. */
  wireBytes: number;
  /** Size as the hub counts it against the 256 KiB limit. */
  messageSize: number;
}

/** Resolved value of `sendEventBatch` (HTTP). */
export interface BatchReceipt {
  messageCount: number;
  messageIds: (string | null)[];
  /** Request line, headers set by the client, and the JSON body. */
  wireBytes: number;
  /** Size of the JSON body (limit 256 KiB). */
  bodyBytes: number;
}

/** State of the HTTP C2D poller. */
export interface PollInfo {
  intervalMs: number;
  /** The interval is the development setting (under 25 minutes). */
  development: boolean;
  /** Scheduled polling is on. */
  running: boolean;
  /** A poll is in progress. */
  polling: boolean;
  /** Milliseconds until the next poll; null while polling or stopped. */
  nextPollInMs: number | null;
  cycles: number;
  consecutiveFailures: number;
}

/** A cloud-to-device message. */
export interface ReceivedMessage {
  body: Uint8Array;
  /** The body as text when it is valid UTF-8. */
  text: string | null;
  messageId: string | null;
  correlationId: string | null;
  userId: string | null;
  to: string | null;
  contentType: string | null;
  contentEncoding: string | null;
  /** Absolute expiry, Unix milliseconds. */
  expiryTimeUtc: number | null;
  ack: "none" | "positive" | "negative" | "full";
  properties: Record<string, string>;
  /** How often the hub delivered it before (HTTP and AMQP; null on MQTT). */
  deliveryCount: number | null;
  /** The hub's sequence number (AMQP; null when not sent). */
  sequenceNumber: number | null;
  /** When the hub enqueued it, Unix milliseconds (when sent). */
  enqueuedTimeUtc: number | null;
  /** Pass to complete/abandon/reject (HTTP and AMQP: the hub's lock token; HTTP locks for one minute). */
  lockToken: string;
}

export type ConnectionStatus =
  | { status: "connecting" | "connected" | "disconnected" }
  | { status: "reconnecting"; attempt: number; nextTryInMs: number; code: string; reason: string }
  | { status: "failed"; code: string; reason: string };

export interface WireStats {
  bytesSent: number; bytesReceived: number; framesSent: number; framesReceived: number;
  packetsSent: number; packetsReceived: number; messagesSent: number; messagesReceived: number;
  messagesDropped: number; connects: number; reconnectAttempts: number;
  /** AMQP: SAS tokens renewed on the live connection. */
  tokenRenewals: number;
}

/** Errors thrown or rejected by hubwire. */
export interface HubwireError extends Error {
  name: "HubwireError";
  code: string;
}
"#;

/// Most C2D messages kept while no `onMessage` callback is set.
const MAX_BUFFERED: usize = 1000;

pub(crate) fn js_error(code: &str, message: &str) -> JsValue {
    let err = js_sys::Error::new(message);
    err.set_name("HubwireError");
    // Setting a property on a fresh Error object cannot fail.
    let _ = Reflect::set(&err, &JsValue::from_str("code"), &JsValue::from_str(code));
    err.into()
}

pub(crate) fn to_js<T: Serialize>(value: &T) -> JsValue {
    let ser = serde_wasm_bindgen::Serializer::json_compatible();
    value.serialize(&ser).unwrap_or(JsValue::NULL)
}

pub(crate) fn options_error(e: &OptionsError) -> JsValue {
    let code = match e {
        OptionsError::ConnectionString(_) => "InvalidConnectionString",
        _ => "InvalidOptions",
    };
    js_error(code, &e.to_string())
}

pub(crate) fn send_error(e: &SendError) -> JsValue {
    js_error(e.code(), &e.to_string())
}

pub(crate) fn settle_error(e: &SettleError) -> JsValue {
    js_error(e.code(), &e.to_string())
}

pub(crate) fn client_error(e: &ClientError) -> JsValue {
    js_error(e.code(), &e.to_string())
}

/// Rejects properties outside `allowed`: the readers below look up only the fields they know,
/// so a misspelt option would otherwise be ignored silently.
pub(crate) fn check_fields(value: &JsValue, allowed: &[&str], what: &str) -> Result<(), String> {
    let Some(obj) = value.dyn_ref::<js_sys::Object>() else {
        return Ok(());
    };
    for key in js_sys::Object::keys(obj).iter() {
        let key = key.as_string().unwrap_or_default();
        if !allowed.contains(&key.as_str()) {
            return Err(format!(
                "unknown field `{key}` in {what}, expected one of {}",
                allowed.join(", ")
            ));
        }
    }
    Ok(())
}

pub(crate) fn parse_options(options: JsValue) -> Result<DeviceOptions, OptionsError> {
    if !options.is_object() {
        return Err(OptionsError::Invalid("options must be an object".into()));
    }
    check_fields(&options, JsDeviceOptions::FIELDS, "options").map_err(OptionsError::Invalid)?;
    let reconnect = Reflect::get(&options, &JsValue::from_str("reconnect")).unwrap_or_default();
    check_fields(&reconnect, JsReconnect::FIELDS, "options.reconnect")
        .map_err(OptionsError::Invalid)?;
    let js = read_device_options(&options).map_err(OptionsError::Invalid)?;
    DeviceOptions::try_from(js)
}

// Option and message objects are read field by field with `Reflect`: the generic serde
// deserializer (with its error formatting, floats included) was a large share of the package.
// `check_fields` has already rejected unknown names.

fn field(obj: &JsValue, key: &str) -> Option<JsValue> {
    let v = Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED);
    // `null` means "not given", as `undefined` does.
    (!v.is_undefined() && !v.is_null()).then_some(v)
}

fn type_error(key: &str, expected: &str) -> String {
    format!("invalid type for `{key}`: expected {expected}")
}

pub(crate) fn read_string(obj: &JsValue, key: &str) -> Result<Option<String>, String> {
    field(obj, key)
        .map(|v| v.as_string().ok_or_else(|| type_error(key, "a string")))
        .transpose()
}

pub(crate) fn read_f64(obj: &JsValue, key: &str) -> Result<Option<f64>, String> {
    field(obj, key)
        .map(|v| v.as_f64().ok_or_else(|| type_error(key, "a number")))
        .transpose()
}

fn read_bool(obj: &JsValue, key: &str) -> Result<Option<bool>, String> {
    field(obj, key)
        .map(|v| v.as_bool().ok_or_else(|| type_error(key, "a boolean")))
        .transpose()
}

fn read_u32(obj: &JsValue, key: &str) -> Result<Option<u32>, String> {
    read_f64(obj, key)?
        .map(|n| {
            if n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n) {
                // Integral and in range, so the cast is exact.
                Ok(n as u32)
            } else {
                Err(type_error(key, "a whole number from 0 to 4294967295"))
            }
        })
        .transpose()
}

pub(crate) fn read_reconnect(obj: &JsValue) -> Result<Option<JsReconnect>, String> {
    let Some(r) = field(obj, "reconnect") else {
        return Ok(None);
    };
    if !r.is_object() {
        return Err(type_error("reconnect", "an object"));
    }
    Ok(Some(JsReconnect {
        enabled: read_bool(&r, "enabled")?,
        initial_delay_ms: read_f64(&r, "initialDelayMs")?,
        max_delay_ms: read_f64(&r, "maxDelayMs")?,
        multiplier: read_f64(&r, "multiplier")?,
        jitter: read_f64(&r, "jitter")?,
        max_attempts: read_u32(&r, "maxAttempts")?,
    }))
}

fn read_device_options(o: &JsValue) -> Result<JsDeviceOptions, String> {
    Ok(JsDeviceOptions {
        connection_string: read_string(o, "connectionString")?,
        sas_token: read_string(o, "sasToken")?,
        host_name: read_string(o, "hostName")?,
        device_id: read_string(o, "deviceId")?,
        endpoint: read_string(o, "endpoint")?,
        protocol: read_string(o, "protocol")?,
        keep_alive_secs: read_u32(o, "keepAliveSecs")?,
        connect_timeout_ms: read_f64(o, "connectTimeoutMs")?,
        reconnect: read_reconnect(o)?,
        token_ttl_secs: read_f64(o, "tokenTtlSecs")?,
        token_renew_before_secs: read_f64(o, "tokenRenewBeforeSecs")?,
        clean_session: read_bool(o, "cleanSession")?,
        model_id: read_string(o, "modelId")?,
        poll_interval_secs: read_f64(o, "pollIntervalSecs")?,
    })
}

/// Application properties: a plain object or a `Map`, string values, in insertion order.
fn read_properties(obj: &JsValue) -> Result<Option<Properties>, String> {
    let Some(v) = field(obj, "properties") else {
        return Ok(None);
    };
    let entries = if let Some(map) = v.dyn_ref::<js_sys::Map>() {
        js_sys::Array::from(map)
    } else if let Some(o) = v.dyn_ref::<js_sys::Object>() {
        js_sys::Object::entries(o)
    } else {
        return Err(type_error("properties", "an object of string values"));
    };
    let mut props = Properties::new();
    for entry in entries.iter() {
        let pair = js_sys::Array::from(&entry);
        match (pair.get(0).as_string(), pair.get(1).as_string()) {
            (Some(k), Some(v)) => {
                props.insert(k, v);
            }
            _ => return Err(type_error("properties", "an object of string values")),
        }
    }
    Ok(Some(props))
}

const MESSAGE_FIELDS: &[&str] = &[
    "body",
    "messageId",
    "correlationId",
    "userId",
    "contentType",
    "contentEncoding",
    "properties",
];

pub(crate) fn message_from_js(value: &JsValue) -> Result<Message, JsValue> {
    if let Some(text) = value.as_string() {
        return Ok(Message::new(text.into_bytes()));
    }
    if !value.is_object() {
        return Err(js_error(
            "InvalidMessage",
            "message must be a string or an object",
        ));
    }
    let body = Reflect::get(value, &JsValue::from_str("body")).unwrap_or(JsValue::UNDEFINED);
    let body = if body.is_undefined() || body.is_null() {
        Vec::new()
    } else if let Some(text) = body.as_string() {
        text.into_bytes()
    } else if let Some(bytes) = body.dyn_ref::<Uint8Array>() {
        bytes.to_vec()
    } else if let Some(buf) = body.dyn_ref::<js_sys::ArrayBuffer>() {
        Uint8Array::new(buf).to_vec()
    } else {
        return Err(js_error(
            "InvalidMessage",
            "body must be a string, Uint8Array or ArrayBuffer",
        ));
    };
    check_fields(value, MESSAGE_FIELDS, "message").map_err(|e| js_error("InvalidMessage", &e))?;
    let invalid = |e: String| js_error("InvalidMessage", &e);
    let mut msg = Message::new(body);
    msg.message_id = read_string(value, "messageId").map_err(invalid)?;
    msg.correlation_id = read_string(value, "correlationId").map_err(invalid)?;
    msg.user_id = read_string(value, "userId").map_err(invalid)?;
    msg.content_type = read_string(value, "contentType").map_err(invalid)?;
    msg.content_encoding = read_string(value, "contentEncoding").map_err(invalid)?;
    if let Some(p) = read_properties(value).map_err(invalid)? {
        msg.properties = p;
    }
    Ok(msg)
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsReceived<'a> {
    delivery_count: Option<u32>,
    sequence_number: Option<u64>,
    enqueued_time_utc: Option<u64>,
    text: Option<&'a str>,
    message_id: Option<&'a str>,
    correlation_id: Option<&'a str>,
    user_id: Option<&'a str>,
    to: Option<&'a str>,
    content_type: Option<&'a str>,
    content_encoding: Option<&'a str>,
    expiry_time_utc: Option<u64>,
    ack: &'static str,
    properties: &'a Properties,
    lock_token: &'a str,
}

pub(crate) fn received_to_js(r: &ReceivedMessage) -> JsValue {
    let m = r.message();
    let info = m.received.as_ref();
    let obj = to_js(&JsReceived {
        delivery_count: info.map(|i| i.delivery_count),
        sequence_number: info.map(|i| i.sequence_number),
        enqueued_time_utc: info.and_then(|i| i.enqueued_time).map(|t| t.unix_millis()),
        text: m.body_str(),
        message_id: m.message_id.as_deref(),
        correlation_id: m.correlation_id.as_deref(),
        user_id: m.user_id.as_deref(),
        to: m.to.as_deref(),
        content_type: m.content_type.as_deref(),
        content_encoding: m.content_encoding.as_deref(),
        expiry_time_utc: m.absolute_expiry.map(|t| t.unix_millis()),
        ack: m.ack.as_str(),
        properties: &m.properties,
        lock_token: r.lock_token(),
    });
    let body = Uint8Array::from(m.body.as_slice());
    let _ = Reflect::set(&obj, &JsValue::from_str("body"), &body);
    obj
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsStatus {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    attempt: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_try_in_ms: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

pub(crate) fn status_to_js(s: &ConnectionStatus) -> JsValue {
    let mut js = JsStatus {
        status: s.name(),
        attempt: None,
        next_try_in_ms: None,
        code: None,
        reason: None,
    };
    match s {
        ConnectionStatus::Reconnecting {
            attempt,
            next_try_in,
            reason,
        } => {
            js.attempt = Some(*attempt);
            js.next_try_in_ms = Some(next_try_in.as_secs_f64() * 1000.0);
            js.code = Some(reason.code());
            js.reason = Some(reason.to_string());
        }
        ConnectionStatus::Failed { reason } => {
            js.code = Some(reason.code());
            js.reason = Some(reason.to_string());
        }
        _ => {}
    }
    to_js(&js)
}

#[derive(Default)]
pub(crate) struct Callbacks {
    on_message: Option<Function>,
    on_status: Option<Function>,
    buffered: VecDeque<JsValue>,
}

impl Callbacks {
    /// Starts the tasks that hand messages and status changes to the callbacks. They hold the
    /// streams and the callbacks, never the client, so dropping the last JavaScript handle
    /// still closes the connection; they end when the client stops.
    pub(crate) fn spawn(
        messages: Option<Messages>,
        mut statuses: StatusEvents,
    ) -> Rc<RefCell<Self>> {
        let callbacks = Rc::new(RefCell::new(Self::default()));
        if let Some(mut messages) = messages {
            let cbs = Rc::clone(&callbacks);
            spawn_local(async move {
                while let Some(m) = messages.next().await {
                    let value = received_to_js(&m);
                    let cb = cbs.borrow().on_message.clone();
                    match cb {
                        Some(f) => {
                            let _ = f.call1(&JsValue::NULL, &value);
                        }
                        None => {
                            let mut c = cbs.borrow_mut();
                            if c.buffered.len() >= MAX_BUFFERED {
                                c.buffered.pop_front();
                            }
                            c.buffered.push_back(value);
                        }
                    }
                }
            });
        }
        let cbs = Rc::clone(&callbacks);
        spawn_local(async move {
            // The first item is the status at subscription time, which `onStatus` reports
            // itself when a callback is set.
            let _ = statuses.next().await;
            while let Some(s) = statuses.next().await {
                let cb = cbs.borrow().on_status.clone();
                if let Some(f) = cb {
                    let _ = f.call1(&JsValue::NULL, &status_to_js(&s));
                }
            }
        });
        callbacks
    }

    /// Sets the message callback and hands it the buffered messages.
    pub(crate) fn set_on_message(this: &RefCell<Self>, callback: Option<Function>) {
        let pending: Vec<JsValue> = {
            let mut c = this.borrow_mut();
            c.on_message = callback.clone();
            if callback.is_some() {
                c.buffered.drain(..).collect()
            } else {
                Vec::new()
            }
        };
        if let Some(f) = callback {
            for m in pending {
                let _ = f.call1(&JsValue::NULL, &m);
            }
        }
    }

    /// Sets the status callback and calls it with `current`.
    pub(crate) fn set_on_status(
        this: &RefCell<Self>,
        callback: Option<Function>,
        current: &ConnectionStatus,
    ) {
        this.borrow_mut().on_status = callback.clone();
        if let Some(f) = callback {
            let _ = f.call1(&JsValue::NULL, &status_to_js(current));
        }
    }
}

/// An IoT Hub device connection (JavaScript API).
#[wasm_bindgen]
pub struct HubwireDevice {
    client: DeviceClient,
    callbacks: Rc<RefCell<Callbacks>>,
}

#[wasm_bindgen]
impl HubwireDevice {
    /// Connects; resolves once the hub accepted the connection and the C2D subscription.
    /// Rejects with a `HubwireError` (`code` e.g. `Unauthorized`, `InvalidConnectionString`,
    /// `TransportError`).
    pub async fn connect(
        #[wasm_bindgen(unchecked_param_type = "HubwireOptions")] options: JsValue,
    ) -> Result<Self, JsValue> {
        let options = parse_options(options).map_err(|e| options_error(&e))?;
        let client = DeviceClient::connect(options)
            .await
            .map_err(|e| client_error(&e))?;
        let callbacks = Callbacks::spawn(client.messages(), client.status_events());
        Ok(Self { client, callbacks })
    }

    /// Sends a device-to-cloud message; resolves with a `SendReceipt` when the hub
    /// acknowledged it. Messages over 256 KiB reject with code `MessageTooLarge` without being
    /// sent.
    #[wasm_bindgen(js_name = sendEvent, unchecked_return_type = "Promise<SendReceipt>")]
    pub fn send_event(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HubwireMessage | string")] message: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        let message = message_from_js(&message);
        future_to_promise(async move {
            let receipt = client
                .send_event(message?)
                .await
                .map_err(|e| send_error(&e))?;
            Ok(to_js(&receipt))
        })
    }

    /// Sends several device-to-cloud messages in one HTTP request (at most 500 and 256 KiB);
    /// resolves with a `BatchReceipt`. Rejects with code `NotSupported` on MQTT.
    #[wasm_bindgen(js_name = sendEventBatch, unchecked_return_type = "Promise<BatchReceipt>")]
    pub fn send_event_batch(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(HubwireMessage | string)[]")] messages: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        let messages = if js_sys::Array::is_array(&messages) {
            js_sys::Array::from(&messages)
                .iter()
                .map(|m| message_from_js(&m))
                .collect::<Result<Vec<_>, _>>()
        } else {
            Err(js_error("InvalidMessage", "messages must be an array"))
        };
        future_to_promise(async move {
            let receipt = client
                .send_event_batch(messages?)
                .await
                .map_err(|e| send_error(&e))?;
            Ok(to_js(&receipt))
        })
    }

    /// HTTP: polls for C2D messages now (draining the queue) and resolves with the number
    /// received. Rejects with code `NotSupported` on MQTT.
    #[wasm_bindgen(js_name = pollNow, unchecked_return_type = "Promise<number>")]
    pub fn poll_now(&self) -> Promise {
        let client = self.client.clone();
        future_to_promise(async move {
            let n = client.poll_now().await.map_err(|e| client_error(&e))?;
            // Counts stay far below 2^53.
            Ok(JsValue::from_f64(n as f64))
        })
    }

    /// HTTP: milliseconds until the next scheduled poll; `undefined` while polling, when polling
    /// is stopped, and on MQTT or AMQP.
    #[wasm_bindgen(js_name = nextPollIn)]
    pub fn next_poll_in(&self) -> Option<f64> {
        self.client.next_poll_in().map(|d| d.as_secs_f64() * 1000.0)
    }

    /// HTTP: the poller's state; `null` on MQTT.
    #[wasm_bindgen(js_name = pollInfo, unchecked_return_type = "PollInfo | null")]
    pub fn poll_info(&self) -> JsValue {
        self.client
            .poll_info()
            .map_or(JsValue::NULL, |info| to_js(&info))
    }

    /// HTTP: turns scheduled polling on (polls at once when it was off). Throws code
    /// `NotSupported` on MQTT.
    #[wasm_bindgen(js_name = startPolling)]
    pub fn start_polling(&self) -> Result<(), JsValue> {
        self.client.start_polling().map_err(|e| client_error(&e))
    }

    /// HTTP: turns scheduled polling off; `pollNow()` still works. Throws code
    /// `NotSupported` on MQTT.
    #[wasm_bindgen(js_name = stopPolling)]
    pub fn stop_polling(&self) -> Result<(), JsValue> {
        self.client.stop_polling().map_err(|e| client_error(&e))
    }

    /// Sets (or with `null` clears) the C2D message callback. Messages received while no
    /// callback was set are delivered to it first.
    #[wasm_bindgen(js_name = onMessage)]
    pub fn on_message(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((message: ReceivedMessage) => void) | null")]
        callback: Option<Function>,
    ) {
        Callbacks::set_on_message(&self.callbacks, callback);
    }

    /// Sets (or with `null` clears) the status callback; it is called at once with the
    /// current status, then on every change.
    #[wasm_bindgen(js_name = onStatus)]
    pub fn on_status(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((status: ConnectionStatus) => void) | null")]
        callback: Option<Function>,
    ) {
        Callbacks::set_on_status(&self.callbacks, callback, &self.client.status());
    }

    /// Completes a received message (HTTP: removes it from the queue; implicit on MQTT,
    /// resolves for tokens of this client).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn complete(&self, #[wasm_bindgen(js_name = lockToken)] lock_token: String) -> Promise {
        let client = self.client.clone();
        future_to_promise(async move {
            client
                .complete(&lock_token)
                .await
                .map_err(|e| settle_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Abandons a received message (HTTP: delivered again); rejects with code `NotSupported`
    /// on MQTT.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn abandon(&self, #[wasm_bindgen(js_name = lockToken)] lock_token: String) -> Promise {
        let client = self.client.clone();
        future_to_promise(async move {
            client
                .abandon(&lock_token)
                .await
                .map_err(|e| settle_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Rejects (dead-letters) a received message (HTTP); rejects with code `NotSupported` on
    /// MQTT.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn reject(&self, #[wasm_bindgen(js_name = lockToken)] lock_token: String) -> Promise {
        let client = self.client.clone();
        future_to_promise(async move {
            client
                .reject(&lock_token)
                .await
                .map_err(|e| settle_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Disconnects and stops reconnecting.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        let client = self.client.clone();
        future_to_promise(async move {
            client.close().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The current connection status.
    #[wasm_bindgen(unchecked_return_type = "ConnectionStatus")]
    pub fn status(&self) -> JsValue {
        status_to_js(&self.client.status())
    }

    /// Traffic counters.
    #[wasm_bindgen(unchecked_return_type = "WireStats")]
    pub fn stats(&self) -> JsValue {
        to_js(&self.client.stats())
    }

    /// The device id.
    #[wasm_bindgen(getter, js_name = deviceId)]
    pub fn device_id(&self) -> String {
        self.client.device_id().as_str().into()
    }

    /// The protocol in use (`"mqtt"`, `"amqp"` or `"http"`).
    #[wasm_bindgen(getter, unchecked_return_type = "\"mqtt\" | \"amqp\" | \"http\"")]
    pub fn protocol(&self) -> String {
        self.client.protocol().as_str().into()
    }
}
