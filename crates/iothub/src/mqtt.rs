//! MQTT conventions (§4.2, §4.4–4.6): client id, user name, topics and system properties.

use crate::ids::{DeviceId, IdError, ModuleId};
use crate::message::Message;
use crate::property_bag::{PropertyBag, PropertyBagError};

/// The `api-version` sent in user names.
pub const API_VERSION: &str = "2021-04-12";

/// MQTT system property keys (§4.6), as decoded (the wire form percent-encodes `$`).
pub mod props {
    /// message-id.
    pub const MESSAGE_ID: &str = "$.mid";
    /// correlation-id.
    pub const CORRELATION_ID: &str = "$.cid";
    /// user-id.
    pub const USER_ID: &str = "$.uid";
    /// to.
    pub const TO: &str = "$.to";
    /// absolute expiry (ISO 8601).
    pub const EXPIRY: &str = "$.exp";
    /// content-type.
    pub const CONTENT_TYPE: &str = "$.ct";
    /// content-encoding.
    pub const CONTENT_ENCODING: &str = "$.ce";
    /// module output name.
    pub const OUTPUT_NAME: &str = "$.on";
    /// creation time (ISO 8601).
    pub const CREATION_TIME: &str = "$.ctime";
    /// C2D feedback request.
    pub const ACK: &str = "iothub-ack";
}

/// Why an MQTT user name was rejected (hub side).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UserNameError {
    /// Not 3 (`host/device/?query`) or 4 (`host/device/module/?query`) `/`-segments.
    #[error("user name has {count} '/'-separated segments; expected 3 or 4")]
    WrongSegmentCount {
        /// Segments found.
        count: usize,
    },
    /// The host segment is empty.
    #[error("user name has an empty host")]
    EmptyHost,
    /// The device segment is not a valid device id.
    #[error("user name device id is invalid: {0}")]
    InvalidDeviceId(IdError),
    /// The module segment is not a valid module id.
    #[error("user name module id is invalid: {0}")]
    InvalidModuleId(IdError),
    /// The query has no `api-version`.
    #[error("user name has no api-version")]
    MissingApiVersion,
    /// A query key or value does not percent-decode to UTF-8.
    #[error("user name query is not valid percent-encoded UTF-8")]
    InvalidEncoding,
}

/// Why a topic could not be interpreted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicError {
    /// The topic is not of the expected kind (e.g. not `devices/{d}/messages/events/…`).
    #[error("topic is not a {expected} topic")]
    UnexpectedTopic {
        /// The kind that was expected.
        expected: &'static str,
    },
    /// The device segment is not a valid device id.
    #[error("topic device id is invalid: {0}")]
    InvalidDeviceId(IdError),
    /// The module segment is not a valid module id.
    #[error("topic module id is invalid: {0}")]
    InvalidModuleId(IdError),
    /// The property bag does not decode.
    #[error("topic property bag is invalid: {0}")]
    PropertyBag(#[from] PropertyBagError),
    /// A system property has a value that does not parse (e.g. `$.exp`).
    #[error("topic property '{key}' has an invalid value")]
    InvalidProperty {
        /// The decoded key.
        key: String,
    },
}

/// The MQTT client identifier: `{deviceId}` or `{deviceId}/{moduleId}`.
pub fn client_id(device_id: &DeviceId, module_id: Option<&ModuleId>) -> String {
    match module_id {
        Some(m) => format!("{device_id}/{m}"),
        None => device_id.to_string(),
    }
}

/// The MQTT user name:
/// `{host}/{deviceId}[/{moduleId}]/?api-version=2021-04-12&DeviceClientType={ua}[&model-id={dtmi}]`.
/// Host and ids are not encoded; query values are percent-encoded.
pub fn user_name(
    host_name: &str,
    device_id: &DeviceId,
    module_id: Option<&ModuleId>,
    device_client_type: &str,
    model_id: Option<&str>,
) -> String {
    todo!("{host_name}{device_id}{module_id:?}{device_client_type}{model_id:?}")
}

/// A user name as understood by the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParsedUserName {
    /// Host segment (as sent).
    pub host_name: String,
    /// Device id.
    pub device_id: DeviceId,
    /// Module id for 4-segment names.
    pub module_id: Option<ModuleId>,
    /// `api-version` (required).
    pub api_version: String,
    /// `DeviceClientType`, decoded.
    pub device_client_type: Option<String>,
    /// `model-id`, decoded.
    pub model_id: Option<String>,
    /// Other query parameters, decoded, in order.
    pub other: Vec<(String, String)>,
}

/// Parses a user name the way the Edge hub does: split on `/` into 3 segments
/// (`host/device/?query`) or 4 (`host/device/module/?query`); the last segment is the query,
/// with or without a leading `?` (old form `host/device/api-version=…`); query split on `&`
/// then the first `=`, percent-decoded; `api-version` required.
pub fn parse_user_name(user_name: &str) -> Result<ParsedUserName, UserNameError> {
    todo!("{user_name}")
}

/// `devices/{d}/messages/events/` or `devices/{d}/modules/{m}/messages/events/`.
pub fn d2c_topic_prefix(device_id: &DeviceId, module_id: Option<&ModuleId>) -> String {
    match module_id {
        Some(m) => format!("devices/{device_id}/modules/{m}/messages/events/"),
        None => format!("devices/{device_id}/messages/events/"),
    }
}

/// The system and application properties of a D2C message as a bag:
/// `$.mid`, `$.cid`, `$.uid`, `$.to`, `$.ct`, `$.ce`, `$.exp`, `$.ctime`, `$.on`, then the
/// application properties in order. Unset fields are omitted.
pub fn d2c_property_bag(msg: &Message) -> PropertyBag {
    todo!("{msg:?}")
}

/// The D2C publish topic for `msg`: prefix + encoded bag.
pub fn d2c_topic(device_id: &DeviceId, module_id: Option<&ModuleId>, msg: &Message) -> String {
    todo!("{device_id}{module_id:?}{msg:?}")
}

/// A D2C publish as seen by the hub.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct D2cPublish {
    /// The device segment of the topic, as sent.
    pub device_id: DeviceId,
    /// The module segment, for module telemetry.
    pub module_id: Option<ModuleId>,
    /// The message (system properties, application properties, body).
    pub message: Message,
}

impl D2cPublish {
    /// True if the topic names this identity (ids compared exactly, either as sent or
    /// after percent-decoding, since some clients encode ids in topics).
    pub fn is_for(&self, device_id: &DeviceId, module_id: Option<&ModuleId>) -> bool {
        todo!("{device_id}{module_id:?}")
    }
}

/// Parses a D2C publish (hub side): `devices/{d}/messages/events/{bag}` or
/// `devices/{d}/modules/{m}/messages/events/{bag}`. The trailing `/` may be missing when
/// there is no bag.
pub fn parse_d2c_topic(topic: &str, body: Vec<u8>) -> Result<D2cPublish, TopicError> {
    todo!("{topic}{}", body.len())
}

/// The C2D subscription filter: `devices/{d}/messages/devicebound/#`.
pub fn c2d_subscribe_filter(device_id: &DeviceId) -> String {
    format!("devices/{device_id}/messages/devicebound/#")
}

/// `devices/{d}/messages/devicebound/`.
pub fn c2d_topic_prefix(device_id: &DeviceId) -> String {
    format!("devices/{device_id}/messages/devicebound/")
}

/// The `to` value the hub puts on C2D messages: `/devices/{d}/messages/devicebound`.
pub fn c2d_to(device_id: &DeviceId) -> String {
    format!("/devices/{device_id}/messages/devicebound")
}

/// The bag of a C2D message (hub side): `$.mid`, `$.to`, `$.cid`, `$.uid`, `$.ct`, `$.ce`,
/// `$.exp`, `iothub-ack` (unless `none`), then application properties.
pub fn c2d_property_bag(msg: &Message) -> PropertyBag {
    todo!("{msg:?}")
}

/// The C2D publish topic for `msg` (hub side).
pub fn c2d_topic(device_id: &DeviceId, msg: &Message) -> String {
    todo!("{device_id}{msg:?}")
}

/// Parses a C2D publish (client side): `devices/{d}/messages/devicebound/{bag}` (segment
/// `devicebound` matched case-insensitively). Returns the message and the device segment.
pub fn parse_c2d_topic(topic: &str, body: Vec<u8>) -> Result<(DeviceId, Message), TopicError> {
    todo!("{topic}{}", body.len())
}

/// Applies a decoded bag to a message: system keys (`$.…`, `iothub-ack`) go to their fields,
/// unknown `$.` keys and everything else to application properties (null values become
/// empty strings).
pub fn apply_property_bag(msg: &mut Message, bag: PropertyBag) -> Result<(), TopicError> {
    todo!("{msg:?}{bag:?}")
}
