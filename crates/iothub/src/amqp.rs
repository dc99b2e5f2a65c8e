//! AMQP 1.0 conventions of IoT Hub: the names for [`Message`](crate::Message) fields (§5.6)
//! and, with the `amqp` feature, the mappings on top of the `hubwire-amqp` codec:
//!
//! * `message_to_amqp` / `message_from_amqp`: `Message` ↔ AMQP message (§5.6), with the
//!   C2D forms `c2d_message_to_amqp` (hub) / `c2d_message_from_amqp` (device) and the
//!   hub-side D2C parse `d2c_message_from_amqp`.
//! * `d2c_address`, `c2d_address`, `twin_address`, `methods_address` and the hub-side
//!   `parse_link_address` (§5.5).
//! * CBS audiences: `put_token_audience`, `audience`, hub-side `parse_audience` (§5.4).
//! * SASL PLAIN user names: `plain_user_name`, `parse_plain_user_name` (§5.2).

/// Application property carrying the C2D feedback request.
pub const APP_PROP_ACK: &str = "iothub-ack";
/// Application property carrying the creation time (C SDK).
pub const APP_PROP_CREATION_TIME: &str = "iothub-creation-time-utc";
/// Application property carrying the module output name.
pub const APP_PROP_OUTPUT_NAME: &str = "iothub-outputname";
/// Application property carrying the message schema.
pub const APP_PROP_MESSAGE_SCHEMA: &str = "iothub-message-schema";
/// Message annotation: interface id.
pub const ANNOTATION_INTERFACE_ID: &str = "iothub-interface-id";
/// Message annotation: component name.
pub const ANNOTATION_COMPONENT: &str = "dt-subject";
/// Message annotation on C2D deliveries: enqueued time (timestamp).
pub const ANNOTATION_ENQUEUED_TIME: &str = "iothub-enqueuedtime";
/// Message annotation on C2D deliveries: delivery count (ubyte).
pub const ANNOTATION_DELIVERY_COUNT: &str = "iothub-deliverycount";
/// Message annotation on C2D deliveries: sequence number (ulong).
pub const ANNOTATION_SEQUENCE_NUMBER: &str = "x-opt-sequence-number";
/// Message annotation on C2D deliveries: lock token (string).
pub const ANNOTATION_LOCK_TOKEN: &str = "x-opt-lock-token";
/// Message annotation the hub adds on D2C: connecting device id.
pub const ANNOTATION_CONNECTION_DEVICE_ID: &str = "iothub-connection-device-id";
/// Message annotation the hub adds on D2C: connecting module id.
pub const ANNOTATION_CONNECTION_MODULE_ID: &str = "iothub-connection-module-id";
#[cfg(feature = "amqp")]
mod address;
#[cfg(feature = "amqp")]
mod mapping;

#[cfg(feature = "amqp")]
pub use address::{
    audience, c2d_address, d2c_address, hub_name, is_cbs_address, methods_address, parse_audience,
    parse_link_address, parse_plain_user_name, plain_policy_user_name, plain_user_name,
    put_token_audience, twin_address, Audience, AudienceError, LinkAddress, LinkAddressError,
    LinkKind, PlainUser, PlainUserError,
};
#[cfg(feature = "amqp")]
pub use mapping::{
    c2d_message_from_amqp, c2d_message_to_amqp, c2d_to, d2c_message_from_amqp,
    delivery_tag_from_lock_token, lock_token_from_delivery_tag, message_from_amqp,
    message_id_to_string, message_to_amqp, uuid_from_str, value_to_string, AmqpMappingError,
};
