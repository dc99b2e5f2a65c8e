//! AMQP 1.0 names for [`Message`](crate::Message) fields (§5.6). The AMQP codec lives
//! elsewhere; these are the property, application-property and annotation names it maps.

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
