//! HTTPS header names (§6.2, §6.4) and the mapping of [`Message`] to and from headers.

use crate::message::Message;

/// Header names used by the HTTPS device API.
pub mod headers {
    /// `to` (D2C: the events path; C2D: `/devices/{id}/messages/deviceBound`).
    pub const TO: &str = "iothub-to";
    /// message-id.
    pub const MESSAGE_ID: &str = "iothub-messageid";
    /// correlation-id.
    pub const CORRELATION_ID: &str = "iothub-correlationid";
    /// user-id.
    pub const USER_ID: &str = "iothub-userid";
    /// absolute expiry.
    pub const EXPIRY: &str = "iothub-expiry";
    /// feedback request.
    pub const ACK: &str = "iothub-ack";
    /// content type on D2C sends.
    pub const CONTENT_TYPE: &str = "iothub-contenttype";
    /// content encoding on D2C sends.
    pub const CONTENT_ENCODING: &str = "iothub-contentencoding";
    /// Prefix of one header per application property.
    pub const APP_PREFIX: &str = "iothub-app-";
    /// Component name.
    pub const COMPONENT: &str = "dt-subject";
    /// Interface id.
    pub const INTERFACE_ID: &str = "iothub-interface-id";
    /// C2D receive: sequence number.
    pub const SEQUENCE_NUMBER: &str = "iothub-sequencenumber";
    /// C2D receive: delivery count.
    pub const DELIVERY_COUNT: &str = "iothub-deliverycount";
    /// C2D receive: enqueued time.
    pub const ENQUEUED_TIME: &str = "iothub-enqueuedtime";
    /// C2D receive: content type (no `iothub-` prefix on receive).
    pub const C2D_CONTENT_TYPE: &str = "ContentType";
    /// C2D receive: content encoding (no `iothub-` prefix on receive).
    pub const C2D_CONTENT_ENCODING: &str = "ContentEncoding";
    /// C2D receive: quoted lock token.
    pub const ETAG: &str = "ETag";
    /// C2D receive request: requested lock timeout (seconds).
    pub const MESSAGE_LOCK_TIMEOUT: &str = "iothub-messagelocktimeout";
    /// Authorization (SAS token).
    pub const AUTHORIZATION: &str = "Authorization";
}

/// Headers for sending `msg` as one D2C event (`POST /devices/{id}/messages/events`).
/// Does not include `Authorization`.
pub fn d2c_headers(msg: &Message) -> Vec<(String, String)> {
    todo!("{msg:?}")
}

/// Builds a D2C message from request headers (names compared case-insensitively) and body.
/// Unknown headers are ignored; unparsable expiry/ack values are ignored.
pub fn message_from_d2c_headers<'h>(
    headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    body: Vec<u8>,
) -> Message {
    let _ = headers.into_iter().count();
    todo!("{}", body.len())
}

/// Response headers for delivering `msg` as a C2D message over HTTPS (including the quoted
/// `ETag` when `msg.received` has a lock token).
pub fn c2d_headers(msg: &Message) -> Vec<(String, String)> {
    todo!("{msg:?}")
}

/// Builds a received C2D message from response headers and body (client side). Empty
/// header values count as unset.
pub fn message_from_c2d_headers<'h>(
    headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    body: Vec<u8>,
) -> Message {
    let _ = headers.into_iter().count();
    todo!("{}", body.len())
}
