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
//! * [`http`] / [`amqp`]: header and property names for the other transports; with the `amqp`
//!   feature, [`amqp`] also maps `Message`, link addresses, CBS audiences and SASL PLAIN names.
//!
//! ```
//! use hubwire_iothub::{mqtt, limits, ConnectionString, Message, TokenPolicy};
//!
//! let cs = ConnectionString::parse(
//!     "HostName=myhub.azure-devices.net;DeviceId=device1;\
//!      SharedAccessKey=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
//! )?;
//! // Secrets stay out of logs.
//! assert!(cs.to_string().ends_with("SharedAccessKey=<redacted>"));
//!
//! let now = 1_699_996_400; // Unix seconds, supplied by the caller
//! let issued = cs.issue_token(&TokenPolicy::default(), now)?;
//! assert_eq!(issued.renew_at, Some(now + 2700));
//!
//! let user = mqtt::user_name(&cs.host_name, &cs.device_id, None, "hubwire/0.1", None);
//! assert_eq!(user, "myhub.azure-devices.net/device1/?api-version=2021-04-12&DeviceClientType=hubwire%2F0.1");
//! let password = issued.token.expose();
//! assert!(password.starts_with("SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fdevice1&sig="));
//!
//! let msg = Message::new(r#"{"temp":21.5}"#).with_json_content().with_message_id("m1");
//! limits::check_d2c(&msg)?;
//! assert_eq!(
//!     mqtt::d2c_topic(&cs.device_id, None, &msg),
//!     "devices/device1/messages/events/%24.mid=m1&%24.ct=application%2Fjson&%24.ce=utf-8"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
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
pub use http::HeaderError;
pub use ids::{DeviceId, IdError, ModuleId};
pub use limits::{LimitError, MessageIdError};
pub use message::{Ack, Message, Properties, ReceivedInfo};
pub use mqtt::{TopicError, UserNameError};
pub use property_bag::{PropertyBag, PropertyBagError};
pub use renewal::{IssuedToken, TokenError, TokenPolicy};
pub use sas::{SasError, SasKey, SasToken, SasVerifier, SasVerifyError, VerifiedToken};
pub use secret::Secret;
pub use time::{Timestamp, TimestampError};
