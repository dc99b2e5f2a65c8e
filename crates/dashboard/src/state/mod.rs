//! Pure dashboard state: one [`yew::Reducible`] model per concern, each changed only through its
//! `Action` enum, with no I/O, so every transition is unit-tested natively.
//!
//! * [`hub`]: the hub URL, what the hub says about itself, and its device list.
//! * [`device`]: the device pane (identity, connection status, D2C sends, C2D inbox).
//! * [`cloud`]: the cloud pane (D2C feed, C2D sends).
//! * [`draft`] / [`properties`]: the message composers both panes use.
//! * [`gateway`]: the field gateway pane (N simulated devices over one AMQP connection).
//! * [`metrics`]: per-message protocol measurements for the charts.
//! * [`sessions`]: the device sessions on the page; [`settings`]: what is kept in storage.

pub mod cloud;
pub mod device;
pub mod draft;
pub mod gateway;
pub mod hub;
pub mod hub_url;
pub mod metrics;
pub mod properties;
pub mod sessions;
pub mod settings;
