//! Azure IoT Hub device client for web pages (Rust and JavaScript).
//!
//! * [`DeviceClient`]: connect with a connection string or a SAS token, send device-to-cloud
//!   messages ([`DeviceClient::send_event`], resolves on PUBACK or HTTP `204`), receive
//!   cloud-to-device messages ([`DeviceClient::messages`]), automatic reconnect with jittered
//!   back-off, SAS renewal, and [`ConnectionStatus`] events. The protocol is an option:
//!   [`Protocol::Mqtt`] (MQTT over WebSocket, cargo feature `mqtt`) or [`Protocol::Http`] (the
//!   HTTPS device API with a C2D poller, cargo feature `http`; see [`PollInterval`] and
//!   [`HttpError::CorsOrNetwork`] — a real IoT Hub does not answer CORS).
//! * [`MqttWsClient`]: a plain MQTT 3.1.1 client over WebSocket for any broker.
//! * `HubwireDevice`: the JavaScript API (cargo feature `js`, on by default; see the generated
//!   TypeScript types).
//!
//! The protocol work is done by the sans-IO cores of `hubwire-mqtt` and `hubwire-iothub`;
//! this crate adds the browser pieces: the WebSocket transport (the browser's `WebSocket`),
//! `fetch`, timers (`setTimeout`), the clock (`performance.now()` for protocol timers,
//! `Date.now()` for token expiry) and randomness (`Math.random()` for back-off jitter).
//!
//! Options, the reconnect schedule and the error types are target-independent; the
//! networking parts exist only on `wasm32`.
#![forbid(unsafe_code)]

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

mod error;
// Browser-only users: natively only the unit tests reach it.
#[cfg(feature = "http")]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod https;
mod options;
mod poll;
mod reconnect;
mod status;
#[cfg(feature = "amqp")]
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
mod vec_map;

#[cfg(all(target_arch = "wasm32", feature = "amqp"))]
mod amqp_driver;
#[cfg(all(target_arch = "wasm32", feature = "amqp"))]
mod amqp_hub;
#[cfg(all(target_arch = "wasm32", feature = "amqp"))]
mod amqp_ws;
#[cfg(all(
    target_arch = "wasm32",
    any(feature = "mqtt", feature = "http", feature = "amqp")
))]
mod device;
#[cfg(all(target_arch = "wasm32", feature = "mqtt"))]
mod driver;
#[cfg(all(
    target_arch = "wasm32",
    any(feature = "mqtt", feature = "http", feature = "amqp")
))]
mod events;
#[cfg(all(target_arch = "wasm32", feature = "http"))]
mod fetch;
#[cfg(all(target_arch = "wasm32", feature = "amqp"))]
mod gateway;
#[cfg(all(
    target_arch = "wasm32",
    feature = "js",
    any(feature = "mqtt", feature = "http", feature = "amqp")
))]
mod js;
#[cfg(all(target_arch = "wasm32", feature = "js", feature = "amqp"))]
mod js_gateway;
#[cfg(all(target_arch = "wasm32", feature = "mqtt"))]
mod mqtt_ws;
#[cfg(all(target_arch = "wasm32", feature = "http"))]
mod poller;
#[cfg(all(
    target_arch = "wasm32",
    any(feature = "mqtt", feature = "http", feature = "amqp")
))]
mod sys;
#[cfg(all(target_arch = "wasm32", any(feature = "mqtt", feature = "amqp")))]
mod ws;

pub use error::{
    AmqpError, ClientError, HttpError, OptionsError, SendError, SettleError, TransportError,
};
pub use options::{
    http_base_url, websocket_url, Credentials, DeviceOptions, JsDeviceOptions, JsReconnect,
    Protocol, RandomSource, DEFAULT_CONNECT_TIMEOUT, DEFAULT_KEEP_ALIVE, DEVICE_CLIENT_TYPE,
    WEBSOCKET_PATH,
};
pub use poll::{
    Drain, PollInfo, PollInterval, PollSchedule, Retry, MAX_MESSAGES_PER_CYCLE,
    MIN_DEVELOPMENT_POLL_INTERVAL, PRODUCTION_POLL_INTERVAL,
};
pub use reconnect::ReconnectPolicy;
pub use status::{BatchReceipt, ConnectionStatus, ReconnectReason, SendReceipt, WireStats};

#[cfg(all(target_arch = "wasm32", feature = "amqp"))]
pub use amqp_ws::{AmqpDelivery, AmqpReceiver, AmqpSasl, AmqpSender, AmqpWsClient, AmqpWsConfig};
#[cfg(all(
    target_arch = "wasm32",
    any(feature = "mqtt", feature = "http", feature = "amqp")
))]
pub use device::{DeviceClient, Messages, ReceivedMessage};
#[cfg(all(
    target_arch = "wasm32",
    any(feature = "mqtt", feature = "http", feature = "amqp")
))]
pub use events::StatusEvents;
#[cfg(all(target_arch = "wasm32", feature = "amqp"))]
pub use gateway::{FieldGateway, GatewayDevice, GatewayOptions};
#[cfg(all(
    target_arch = "wasm32",
    feature = "js",
    any(feature = "mqtt", feature = "http", feature = "amqp")
))]
pub use js::HubwireDevice;
#[cfg(all(target_arch = "wasm32", feature = "js", feature = "amqp"))]
pub use js_gateway::{HubwireGateway, HubwireGatewayDevice};
#[cfg(all(target_arch = "wasm32", feature = "mqtt"))]
pub use mqtt_ws::{Incoming, MqttWsClient, MqttWsConfig};
#[cfg(all(target_arch = "wasm32", feature = "amqp"))]
pub use ws::AMQP_SUBPROTOCOL;
#[cfg(all(target_arch = "wasm32", feature = "mqtt"))]
pub use ws::MQTT_SUBPROTOCOL;

/// The protocol crates, re-exported so applications use the same versions.
#[cfg(feature = "amqp")]
pub use hubwire_amqp as amqp;
pub use hubwire_iothub as iothub;
pub use hubwire_mqtt as mqtt;
