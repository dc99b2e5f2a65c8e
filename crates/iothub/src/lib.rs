//! Azure IoT Hub device conventions, shared by the browser client and the devhub emulator.
//!
//! Everything here is pure: no I/O, no clock reads, no randomness. Where time matters the caller
//! passes the current time as Unix seconds (`now_unix_secs`).
//!
//! * [`DeviceId`] / [`ModuleId`]: validated identities.
//! * [`ConnectionString`]: parse and format device/module connection strings.
//! * [`sas`]: build, parse and verify SAS tokens; [`TokenPolicy`] for lifetimes and renewal.
//! * [`PropertyBag`]: the percent-encoded `key=value&…` bag used in MQTT topics.
//! * [`mqtt`]: client id, user name, and topic conventions.
//! * [`Message`]: one message type shared by MQTT, AMQP and HTTPS.
//! * [`limits`]: size and message-id rules.
#![forbid(unsafe_code)]

pub mod amqp;
pub mod connection_string;
pub mod http;
pub mod ids;
pub mod limits;
pub mod message;
pub mod mqtt;
pub mod property_bag;
pub mod renewal;
pub mod sas;
pub mod secret;
pub mod time;

pub use connection_string::{Authentication, ConnectionString, ConnectionStringError};
pub use ids::{DeviceId, IdError, ModuleId};
pub use limits::{LimitError, MessageIdError};
pub use message::{Ack, Message, Properties, ReceivedInfo};
pub use property_bag::{PropertyBag, PropertyBagError};
pub use renewal::{IssuedToken, TokenError, TokenPolicy};
pub use sas::{SasError, SasKey, SasToken, SasVerifier, SasVerifyError, VerifiedToken};
pub use secret::Secret;
pub use time::{Timestamp, TimestampError};
