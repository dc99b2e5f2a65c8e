//! The JavaScript API of the field gateway: `HubwireGateway` and `HubwireGatewayDevice`.
//!
//! ```js
//! const gw = await HubwireGateway.connect({ hostName: "myhub.azure-devices.net" });
//! const dev = await gw.addDevice({ connectionString });
//! dev.onMessage(m => dev.complete(m.lockToken));
//! await dev.sendEvent({ body: "hi" });
//! await gw.removeDevice(dev.deviceId);
//! ```

use core::cell::RefCell;
use core::time::Duration;
use std::rc::Rc;

use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use crate::error::OptionsError;
use crate::gateway::{FieldGateway, GatewayDevice, GatewayOptions};
use crate::js::{
    check_fields, client_error, message_from_js, options_error, parse_options, read_f64,
    read_reconnect, read_string, send_error, settle_error, status_to_js, to_js, Callbacks,
};
use crate::options::JsReconnect;

#[wasm_bindgen(typescript_custom_section)]
const TS_GATEWAY_TYPES: &'static str = r#"
/** Options of `HubwireGateway.connect`. */
export interface HubwireGatewayOptions {
  /** The hub every device of the gateway belongs to (`HostName` of their connection strings). */
  hostName: string;
  /** WebSocket endpoint override, e.g. `ws://127.0.0.1:8080` (default `wss://{hostName}`). */
  endpoint?: string;
  /** WebSocket and AMQP handshake limit in milliseconds (default 30000). */
  connectTimeoutMs?: number;
  /** Automatic reconnect of the connection (and of a single device that lost its links). */
  reconnect?: {
    enabled?: boolean;
    initialDelayMs?: number;
    maxDelayMs?: number;
    multiplier?: number;
    jitter?: number;
    maxAttempts?: number;
  };
}

/** Options of `HubwireGateway.addDevice`: the device's credentials and token lifetime. */
export interface HubwireGatewayDeviceOptions {
  connectionString?: string;
  sasToken?: string;
  hostName?: string;
  deviceId?: string;
  tokenTtlSecs?: number;
  tokenRenewBeforeSecs?: number;
}
"#;

const GATEWAY_FIELDS: &[&str] = &["hostName", "endpoint", "connectTimeoutMs", "reconnect"];
const DEVICE_FIELDS: &[&str] = &[
    "connectionString",
    "sasToken",
    "hostName",
    "deviceId",
    "tokenTtlSecs",
    "tokenRenewBeforeSecs",
];

fn parse_gateway_options(value: JsValue) -> Result<GatewayOptions, OptionsError> {
    if !value.is_object() {
        return Err(OptionsError::Invalid("options must be an object".into()));
    }
    check_fields(&value, GATEWAY_FIELDS, "options").map_err(OptionsError::Invalid)?;
    let reconnect = Reflect::get(&value, &JsValue::from_str("reconnect")).unwrap_or_default();
    check_fields(&reconnect, JsReconnect::FIELDS, "options.reconnect")
        .map_err(OptionsError::Invalid)?;
    let host_name = read_string(&value, "hostName")
        .map_err(OptionsError::Invalid)?
        .ok_or(OptionsError::MissingField { field: "hostName" })?;
    let endpoint = read_string(&value, "endpoint").map_err(OptionsError::Invalid)?;
    let connect_timeout_ms = read_f64(&value, "connectTimeoutMs").map_err(OptionsError::Invalid)?;
    let reconnect = read_reconnect(&value).map_err(OptionsError::Invalid)?;
    let mut o = GatewayOptions::new(host_name);
    if let Some(e) = endpoint {
        crate::options::websocket_url(Some(&e), "")?;
        o.endpoint = Some(e);
    }
    if let Some(ms) = connect_timeout_ms {
        if !(ms.is_finite() && (0.0..=1e12).contains(&ms)) {
            return Err(OptionsError::OutOfRange {
                field: "connectTimeoutMs",
            });
        }
        o.connect_timeout = Duration::from_secs_f64(ms / 1000.0);
    }
    if let Some(r) = reconnect {
        r.apply_to(&mut o.reconnect)?;
    }
    Ok(o)
}

/// A field gateway: many devices over one AMQP/WebSocket connection (JavaScript API).
#[wasm_bindgen]
pub struct HubwireGateway {
    gateway: FieldGateway,
    callbacks: Rc<RefCell<Callbacks>>,
}

#[wasm_bindgen]
impl HubwireGateway {
    /// Opens the connection; resolves once the hub answered. Rejects with a `HubwireError`.
    pub async fn connect(
        #[wasm_bindgen(unchecked_param_type = "HubwireGatewayOptions")] options: JsValue,
    ) -> Result<Self, JsValue> {
        let options = parse_gateway_options(options).map_err(|e| options_error(&e))?;
        let gateway = FieldGateway::connect(options)
            .await
            .map_err(|e| client_error(&e))?;
        let callbacks = Callbacks::spawn(None, gateway.status_events());
        Ok(Self { gateway, callbacks })
    }

    /// Adds a device; resolves with its handle once its token was accepted and its links
    /// attached. A refused token rejects with code `Unauthorized` (the gateway carries on);
    /// a device of another hub with `InvalidOptions`.
    #[wasm_bindgen(js_name = addDevice, unchecked_return_type = "Promise<HubwireGatewayDevice>")]
    pub fn add_device(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HubwireGatewayDeviceOptions")] options: JsValue,
    ) -> Promise {
        let gateway = self.gateway.clone();
        let parsed = check_fields(&options, DEVICE_FIELDS, "device options")
            .map_err(OptionsError::Invalid)
            .and_then(|()| parse_options(options));
        future_to_promise(async move {
            let options = parsed.map_err(|e| options_error(&e))?;
            let device = gateway
                .add_device(options)
                .await
                .map_err(|e| client_error(&e))?;
            let callbacks = Callbacks::spawn(device.messages(), device.status_events());
            Ok(HubwireGatewayDevice { device, callbacks }.into())
        })
    }

    /// Removes a device: its links are detached and its status becomes `disconnected`.
    #[wasm_bindgen(js_name = removeDevice, unchecked_return_type = "Promise<void>")]
    pub fn remove_device(&self, device_id: String) -> Promise {
        let gateway = self.gateway.clone();
        future_to_promise(async move {
            gateway
                .remove_device(&device_id)
                .await
                .map_err(|e| client_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Ids of the devices on the gateway.
    #[wasm_bindgen(unchecked_return_type = "string[]")]
    pub fn devices(&self) -> JsValue {
        to_js(&self.gateway.devices())
    }

    /// Sets (or with `null` clears) the connection status callback; called at once.
    #[wasm_bindgen(js_name = onStatus)]
    pub fn on_status(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((status: ConnectionStatus) => void) | null")]
        callback: Option<Function>,
    ) {
        Callbacks::set_on_status(&self.callbacks, callback, &self.gateway.status());
    }

    /// The connection status.
    #[wasm_bindgen(unchecked_return_type = "ConnectionStatus")]
    pub fn status(&self) -> JsValue {
        status_to_js(&self.gateway.status())
    }

    /// Traffic of the whole connection.
    #[wasm_bindgen(unchecked_return_type = "WireStats")]
    pub fn stats(&self) -> JsValue {
        to_js(&self.gateway.stats())
    }

    /// Closes the connection; every device becomes `disconnected`.
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn close(&self) -> Promise {
        let gateway = self.gateway.clone();
        future_to_promise(async move {
            gateway.close().await;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The hub host name.
    #[wasm_bindgen(getter, js_name = hostName)]
    pub fn host_name(&self) -> String {
        self.gateway.host_name().into()
    }
}

/// One device of a `HubwireGateway` (JavaScript API).
#[wasm_bindgen]
pub struct HubwireGatewayDevice {
    device: GatewayDevice,
    callbacks: Rc<RefCell<Callbacks>>,
}

#[wasm_bindgen]
impl HubwireGatewayDevice {
    /// Sends a device-to-cloud message; resolves with a `SendReceipt` once the hub accepted it.
    #[wasm_bindgen(js_name = sendEvent, unchecked_return_type = "Promise<SendReceipt>")]
    pub fn send_event(
        &self,
        #[wasm_bindgen(unchecked_param_type = "HubwireMessage | string")] message: JsValue,
    ) -> Promise {
        let device = self.device.clone();
        let message = message_from_js(&message);
        future_to_promise(async move {
            let receipt = device
                .send_event(message?)
                .await
                .map_err(|e| send_error(&e))?;
            Ok(to_js(&receipt))
        })
    }

    /// Sets (or with `null` clears) the C2D message callback (buffered messages first).
    #[wasm_bindgen(js_name = onMessage)]
    pub fn on_message(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((message: ReceivedMessage) => void) | null")]
        callback: Option<Function>,
    ) {
        Callbacks::set_on_message(&self.callbacks, callback);
    }

    /// Sets (or with `null` clears) the device status callback; called at once.
    #[wasm_bindgen(js_name = onStatus)]
    pub fn on_status(
        &self,
        #[wasm_bindgen(unchecked_param_type = "((status: ConnectionStatus) => void) | null")]
        callback: Option<Function>,
    ) {
        Callbacks::set_on_status(&self.callbacks, callback, &self.device.status());
    }

    /// Completes a received message (`accepted`).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn complete(&self, #[wasm_bindgen(js_name = lockToken)] lock_token: String) -> Promise {
        let device = self.device.clone();
        future_to_promise(async move {
            device
                .complete(&lock_token)
                .await
                .map_err(|e| settle_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Abandons a received message (`released`: delivered again).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn abandon(&self, #[wasm_bindgen(js_name = lockToken)] lock_token: String) -> Promise {
        let device = self.device.clone();
        future_to_promise(async move {
            device
                .abandon(&lock_token)
                .await
                .map_err(|e| settle_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Rejects a received message (`rejected`: dead-lettered).
    #[wasm_bindgen(unchecked_return_type = "Promise<void>")]
    pub fn reject(&self, #[wasm_bindgen(js_name = lockToken)] lock_token: String) -> Promise {
        let device = self.device.clone();
        future_to_promise(async move {
            device
                .reject(&lock_token)
                .await
                .map_err(|e| settle_error(&e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The device's status.
    #[wasm_bindgen(unchecked_return_type = "ConnectionStatus")]
    pub fn status(&self) -> JsValue {
        status_to_js(&self.device.status())
    }

    /// The device's counters (messages, renewals; wire bytes are the gateway's).
    #[wasm_bindgen(unchecked_return_type = "WireStats")]
    pub fn stats(&self) -> JsValue {
        to_js(&self.device.stats())
    }

    /// The device id.
    #[wasm_bindgen(getter, js_name = deviceId)]
    pub fn device_id(&self) -> String {
        self.device.device_id().as_str().into()
    }
}
