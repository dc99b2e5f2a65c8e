//! HTTPS header names (§6.2, §6.4) and the mapping of [`Message`] to and from headers.

use crate::message::{Ack, Message, ReceivedInfo};
use crate::time::Timestamp;

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

/// Why a message cannot be expressed as HTTP headers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// An application property name is not an HTTP token (allowed: ASCII alphanumerics and
    /// ``! # $ % & ' * + - . ^ _ ` | ~``).
    #[error("property name '{name}' cannot be sent as an HTTP header")]
    InvalidName {
        /// The property name.
        name: String,
    },
    /// A value is not printable ASCII.
    #[error("the value of header '{name}' is not printable ASCII")]
    InvalidValue {
        /// The header name.
        name: String,
    },
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(
            c,
            '!' | '#'
                | '$'
                | '%'
                | '&'
                | '\''
                | '*'
                | '+'
                | '-'
                | '.'
                | '^'
                | '_'
                | '`'
                | '|'
                | '~'
        )
}

/// Collects headers, checking names and values as they are added.
struct Headers(Vec<(String, String)>);

impl Headers {
    fn add(&mut self, name: &str, value: &str) -> Result<(), HeaderError> {
        if !value.chars().all(|c| matches!(c, ' '..='~')) {
            return Err(HeaderError::InvalidValue {
                name: name.to_owned(),
            });
        }
        self.0.push((name.to_owned(), value.to_owned()));
        Ok(())
    }

    fn opt(&mut self, name: &str, value: Option<&str>) -> Result<(), HeaderError> {
        match value {
            Some(v) => self.add(name, v),
            None => Ok(()),
        }
    }

    fn app(&mut self, msg: &Message) -> Result<(), HeaderError> {
        for (k, v) in msg.properties.iter() {
            if k.is_empty() || !k.chars().all(is_tchar) {
                return Err(HeaderError::InvalidName { name: k.to_owned() });
            }
            self.add(&format!("{}{k}", headers::APP_PREFIX), v)?;
        }
        Ok(())
    }
}

/// Headers for sending `msg` as one D2C event (`POST /devices/{id}/messages/events`):
/// `iothub-to`, `iothub-messageid`, `iothub-correlationid`, `iothub-userid`,
/// `iothub-expiry` (ISO 8601), `iothub-ack` (unless `none`), `iothub-contenttype`,
/// `iothub-contentencoding`, then one `iothub-app-{name}` per application property.
/// Does not include `Authorization`. Creation time and output name have no HTTPS header
/// and are not sent.
pub fn d2c_headers(msg: &Message) -> Result<Vec<(String, String)>, HeaderError> {
    use headers::*;
    let mut h = Headers(Vec::new());
    h.opt(TO, msg.to.as_deref())?;
    h.opt(MESSAGE_ID, msg.message_id.as_deref())?;
    h.opt(CORRELATION_ID, msg.correlation_id.as_deref())?;
    h.opt(USER_ID, msg.user_id.as_deref())?;
    h.opt(
        EXPIRY,
        msg.absolute_expiry.map(Timestamp::to_iso8601).as_deref(),
    )?;
    if msg.ack != Ack::None {
        h.add(ACK, msg.ack.as_str())?;
    }
    h.opt(CONTENT_TYPE, msg.content_type.as_deref())?;
    h.opt(CONTENT_ENCODING, msg.content_encoding.as_deref())?;
    h.app(msg)?;
    Ok(h.0)
}

/// The part of `name` after `iothub-app-` (ASCII case-insensitive prefix).
fn app_name(name: &str) -> Option<&str> {
    let prefix = headers::APP_PREFIX;
    let head = name.get(..prefix.len())?;
    if head.eq_ignore_ascii_case(prefix) {
        name.get(prefix.len()..).filter(|n| !n.is_empty())
    } else {
        None
    }
}

/// Builds a message from headers (names compared case-insensitively) and body. Empty
/// values count as unset; unparsable expiry/ack/counter values are ignored. `received`
/// collects the C2D delivery headers when any is present.
fn message_from_headers<'h>(
    headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    body: Vec<u8>,
) -> Message {
    use headers::*;
    let mut msg = Message::new(body);
    let mut received = ReceivedInfo::default();
    let mut any_received = false;
    for (name, value) in headers {
        if value.is_empty() {
            continue;
        }
        if let Some(prop) = app_name(name) {
            msg.properties.insert(prop, value);
            continue;
        }
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        let text = || Some(value.to_owned());
        if is(TO) {
            msg.to = text();
        } else if is(MESSAGE_ID) {
            msg.message_id = text();
        } else if is(CORRELATION_ID) {
            msg.correlation_id = text();
        } else if is(USER_ID) {
            msg.user_id = text();
        } else if is(EXPIRY) {
            msg.absolute_expiry = Timestamp::parse_iso8601(value).ok();
        } else if is(ACK) {
            msg.ack = Ack::parse(value).unwrap_or_default();
        } else if is(CONTENT_TYPE) || is(C2D_CONTENT_TYPE) {
            msg.content_type = text();
        } else if is(CONTENT_ENCODING) || is(C2D_CONTENT_ENCODING) {
            msg.content_encoding = text();
        } else if is(SEQUENCE_NUMBER) {
            if let Ok(n) = value.trim().parse() {
                received.sequence_number = n;
                any_received = true;
            }
        } else if is(DELIVERY_COUNT) {
            if let Ok(n) = value.trim().parse() {
                received.delivery_count = n;
                any_received = true;
            }
        } else if is(ENQUEUED_TIME) {
            if let Ok(t) = Timestamp::parse_iso8601(value) {
                received.enqueued_time = Some(t);
                any_received = true;
            }
        } else if is(ETAG) {
            // The ETag is the lock token in quotes; the quotes are not part of it.
            let token = value.trim().trim_matches('"');
            if !token.is_empty() {
                received.lock_token = Some(token.to_owned());
                any_received = true;
            }
        }
    }
    if any_received {
        msg.received = Some(received);
    }
    msg
}

/// Builds a D2C message from request headers (names compared case-insensitively) and body
/// (hub side). Unknown headers are ignored; unparsable expiry/ack values are ignored.
pub fn message_from_d2c_headers<'h>(
    headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    body: Vec<u8>,
) -> Message {
    let mut msg = message_from_headers(headers, body);
    // Delivery fields only exist on C2D; a device cannot set them.
    msg.received = None;
    msg
}

/// Response headers for delivering `msg` as a C2D message over HTTPS (hub side):
/// `ETag` (quoted lock token), `iothub-messageid`, `iothub-correlationid`,
/// `iothub-sequencenumber`, `iothub-to`, `iothub-userid`, `iothub-ack`, `iothub-expiry`,
/// `iothub-deliverycount`, `iothub-enqueuedtime`, `ContentType`, `ContentEncoding`, then
/// `iothub-app-*`. Unset fields are omitted.
pub fn c2d_headers(msg: &Message) -> Result<Vec<(String, String)>, HeaderError> {
    use headers::*;
    let mut h = Headers(Vec::new());
    let received = msg.received.as_ref();
    if let Some(lock) = received.and_then(|r| r.lock_token.as_deref()) {
        h.add(ETAG, &format!("\"{lock}\""))?;
    }
    h.opt(MESSAGE_ID, msg.message_id.as_deref())?;
    h.opt(CORRELATION_ID, msg.correlation_id.as_deref())?;
    if let Some(r) = received {
        h.add(SEQUENCE_NUMBER, &r.sequence_number.to_string())?;
    }
    h.opt(TO, msg.to.as_deref())?;
    h.opt(USER_ID, msg.user_id.as_deref())?;
    if msg.ack != Ack::None {
        h.add(ACK, msg.ack.as_str())?;
    }
    h.opt(
        EXPIRY,
        msg.absolute_expiry.map(Timestamp::to_iso8601).as_deref(),
    )?;
    if let Some(r) = received {
        h.add(DELIVERY_COUNT, &r.delivery_count.to_string())?;
        h.opt(
            ENQUEUED_TIME,
            r.enqueued_time.map(Timestamp::to_iso8601).as_deref(),
        )?;
    }
    h.opt(C2D_CONTENT_TYPE, msg.content_type.as_deref())?;
    h.opt(C2D_CONTENT_ENCODING, msg.content_encoding.as_deref())?;
    h.app(msg)?;
    Ok(h.0)
}

/// Builds a received C2D message from response headers and body (client side). Empty
/// header values count as unset; the `ETag` (quotes stripped) becomes the lock token.
pub fn message_from_c2d_headers<'h>(
    headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    body: Vec<u8>,
) -> Message {
    message_from_headers(headers, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn as_refs(h: &[(String, String)]) -> Vec<(&str, &str)> {
        h.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn d2c_headers_and_back() {
        let msg = Message::new("{}")
            .with_to("/devices/d/messages/events")
            .with_message_id("m1")
            .with_correlation_id("c1")
            .with_user_id("u1")
            .with_absolute_expiry(Timestamp::from_unix_secs(0))
            .with_json_content()
            .with_property("temp", "21.5")
            .with_property("note", "a b/c");
        let h = d2c_headers(&msg).unwrap();
        assert_eq!(
            as_refs(&h),
            vec![
                ("iothub-to", "/devices/d/messages/events"),
                ("iothub-messageid", "m1"),
                ("iothub-correlationid", "c1"),
                ("iothub-userid", "u1"),
                ("iothub-expiry", "1970-01-01T00:00:00.0000000Z"),
                ("iothub-contenttype", "application/json"),
                ("iothub-contentencoding", "utf-8"),
                ("iothub-app-temp", "21.5"),
                ("iothub-app-note", "a b/c"),
            ]
        );
        let back = message_from_d2c_headers(as_refs(&h), b"{}".to_vec());
        assert_eq!(back, msg);
    }

    #[test]
    fn d2c_headers_are_case_insensitive_and_ignore_noise() {
        let h = [
            ("IoTHub-MessageId", "m"),
            ("IOTHUB-APP-Temp", "1"),
            ("content-type", "application/octet-stream"),
            ("iothub-ack", "bogus"),
            ("iothub-correlationid", ""),
            ("iothub-sequencenumber", "5"),
            ("iothub-app-", "nameless"),
        ];
        let m = message_from_d2c_headers(h, vec![]);
        assert_eq!(m.message_id.as_deref(), Some("m"));
        assert_eq!(m.properties.iter().collect::<Vec<_>>(), vec![("Temp", "1")]);
        assert_eq!(m.content_type, None);
        assert_eq!(m.ack, Ack::None);
        assert_eq!(m.correlation_id, None);
        assert_eq!(m.received, None);
    }

    #[test]
    fn rejects_unsendable_headers() {
        assert_eq!(
            d2c_headers(&Message::new("").with_property("a b", "v")),
            Err(HeaderError::InvalidName { name: "a b".into() })
        );
        assert_eq!(
            d2c_headers(&Message::new("").with_property("k", "é")),
            Err(HeaderError::InvalidValue {
                name: "iothub-app-k".into()
            })
        );
        assert_eq!(
            d2c_headers(&Message::new("").with_message_id("a\nb")),
            Err(HeaderError::InvalidValue {
                name: "iothub-messageid".into()
            })
        );
        // Every tchar is accepted in a name.
        assert!(d2c_headers(&Message::new("").with_property("aZ9!#$%&'*+-.^_`|~", "v")).is_ok());
    }

    #[test]
    fn c2d_headers_round_trip() {
        let msg = Message::new("hi")
            .with_message_id("m1")
            .with_correlation_id("c1")
            .with_to("/devices/d/messages/deviceBound")
            .with_user_id("svc")
            .with_ack(Ack::Full)
            .with_absolute_expiry(Timestamp::from_unix_secs(100))
            .with_content_type("text/plain")
            .with_content_encoding("utf-8")
            .with_property("k", "v")
            .with_received(ReceivedInfo::new(
                2,
                17,
                Some(Timestamp::from_unix_secs(50)),
                Some("0b8a6e5a-0000-4000-8000-000000000001".into()),
            ));
        let h = c2d_headers(&msg).unwrap();
        let refs = as_refs(&h);
        assert_eq!(
            refs[0],
            ("ETag", "\"0b8a6e5a-0000-4000-8000-000000000001\"")
        );
        assert!(refs.contains(&("iothub-sequencenumber", "17")));
        assert!(refs.contains(&("iothub-deliverycount", "2")));
        assert!(refs.contains(&("ContentType", "text/plain")));
        assert!(refs.contains(&("ContentEncoding", "utf-8")));
        assert!(refs.contains(&("iothub-ack", "full")));
        assert!(refs.contains(&("iothub-app-k", "v")));
        let back = message_from_c2d_headers(refs, b"hi".to_vec());
        assert_eq!(back, msg);
    }

    #[test]
    fn c2d_client_side_tolerates_fixture_shapes() {
        // Empty strings for unset headers and a US-style enqueued time (§6.4 fixtures).
        let h = [
            ("ETag", "\"lock-1\""),
            ("iothub-messageid", "m"),
            ("iothub-correlationid", ""),
            ("iothub-sequencenumber", "3"),
            ("iothub-enqueuedtime", "12/22/2017 12:14:12 AM"),
            ("iothub-deliverycount", "0"),
            ("iothub-expiry", ""),
        ];
        let m = message_from_c2d_headers(h, vec![]);
        assert_eq!(m.correlation_id, None);
        assert_eq!(m.absolute_expiry, None);
        let r = m.received.unwrap();
        assert_eq!(r.lock_token.as_deref(), Some("lock-1"));
        assert_eq!(r.sequence_number, 3);
        assert_eq!(r.delivery_count, 0);
        assert_eq!(r.enqueued_time, None);
    }
}
