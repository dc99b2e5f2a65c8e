//! hubwire dashboard: the page a developer opens to drive a device from the browser and watch
//! the hub's side of the conversation.
//!
//! Layout (state, then providers, then views):
//! * [`state`]: pure reducers with `Action` enums, unit-tested natively.
//! * [`types`]: the devhub service API's JSON shapes.
//! * [`components`]: views taking data and `Callback`s only.
//! * `services` (wasm32): the service API over gloo-net behind one request function, and the
//!   Server-Sent Events feed.
//! * `connection` (wasm32): the provider component that owns one device client and its pump.
//! * `session` (wasm32): the device sessions (tabs), one provider and pane per session, and
//!   the settings kept in storage.
//! * `gateway` (wasm32): the field gateway panel, which owns its reducer and the one AMQP
//!   connection its simulated devices share; `metrics` (wasm32): the metrics hook, which
//!   batches the measured messages for the charts.
//! * `app` (wasm32): wiring.
//!
//! Only the modules that touch the network are limited to wasm32, so `cargo test` runs the
//! reducers natively and still type-checks every view.
#![forbid(unsafe_code)]

pub mod components;
pub mod format;
pub mod state;
pub mod types;

#[cfg(target_arch = "wasm32")]
mod app;
#[cfg(target_arch = "wasm32")]
mod connection;
#[cfg(target_arch = "wasm32")]
mod gateway;
#[cfg(target_arch = "wasm32")]
mod hooks;
#[cfg(target_arch = "wasm32")]
mod metrics;
#[cfg(target_arch = "wasm32")]
mod services;
#[cfg(target_arch = "wasm32")]
mod session;

/// Mounts the dashboard on the page's `<body>`.
#[cfg(target_arch = "wasm32")]
pub fn run() {
    yew::Renderer::<app::App>::new().render();
}
