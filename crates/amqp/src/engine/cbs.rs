//! Claims-based security (`$cbs`) put-token messages as IoT Hub uses them
//! (iothub-protocols §5.4): the client's request, the hub's response, and a small client-side
//! tracker that numbers requests and matches responses by correlation-id.
//!
//! The helpers only build and parse messages; the links (`$cbs` sender and receiver) are
//! ordinary links of the [`Connection`](super::Connection).

use super::vec_map::VecMap;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use crate::definitions::ApplicationProperties;
use crate::message::{Body, Message, MessageId, Properties};
use crate::types::Str;
use crate::value::Value;

/// The CBS node's address, used as the target of the request link and the source of the
/// response link.
pub const CBS_ADDRESS: &str = "$cbs";

/// The token type the Node and C SDKs send.
pub const SAS_TOKEN_TYPE: &str = "servicebus.windows.net:sastoken";

/// The token type the .NET and Java SDKs send.
pub const AZURE_DEVICES_TOKEN_TYPE: &str = "azure-devices.net:sastoken";

const OPERATION: &str = "operation";
const PUT_TOKEN: &str = "put-token";
const TYPE: &str = "type";
const NAME: &str = "name";
const STATUS_CODE: &str = "status-code";
const STATUS_DESCRIPTION: &str = "status-description";

/// Why a message is not a valid CBS request or response.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CbsError {
    /// The message has no application-properties section.
    #[error("no application-properties")]
    NoApplicationProperties,
    /// `operation` is missing or not `put-token`.
    #[error("operation is not put-token")]
    NotPutToken,
    /// A required string property (`type`, `name`) is missing, empty or not a string.
    #[error("application property {0} missing or not a non-empty string")]
    MissingProperty(&'static str),
    /// The body is not an amqp-value string (the token).
    #[error("body is not an amqp-value string")]
    BodyNotString,
    /// The request has no message-id to correlate the response with.
    #[error("request without message-id")]
    NoMessageId,
    /// `status-code` is missing or not an integer.
    #[error("status-code missing or not an integer")]
    NoStatusCode,
}

/// A put-token request: "this connection may act for `audience`, here is the token".
/// `Debug` redacts the token.
#[derive(Clone, PartialEq, Eq)]
pub struct PutToken {
    /// `properties.message-id` (the response's correlation-id).
    pub message_id: MessageId,
    /// `properties.reply-to` (`cbs` in the Node SDK).
    pub reply_to: Option<Str>,
    /// `type`: [`SAS_TOKEN_TYPE`] or [`AZURE_DEVICES_TOKEN_TYPE`].
    pub token_type: Str,
    /// `name`: the audience, i.e. the token's `sr` (e.g. `myhub.azure-devices.net/devices/d1`).
    pub audience: Str,
    /// The body: the whole token string `SharedAccessSignature sr=…&sig=…&se=…`.
    pub token: Str,
}

impl fmt::Debug for PutToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PutToken")
            .field("message_id", &self.message_id)
            .field("reply_to", &self.reply_to)
            .field("token_type", &self.token_type)
            .field("audience", &self.audience)
            .field(
                "token",
                &format_args!("<redacted, {} bytes>", self.token.len()),
            )
            .finish()
    }
}

fn string_prop(props: &ApplicationProperties, key: &'static str) -> Result<Str, CbsError> {
    match props.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(CbsError::MissingProperty(key)),
    }
}

impl PutToken {
    /// A request with the Node/C SDK token type and reply-to `cbs`.
    #[must_use]
    pub fn new(message_id: MessageId, audience: impl Into<Str>, token: impl Into<Str>) -> Self {
        Self {
            message_id,
            reply_to: Some(Str::from_static("cbs")),
            token_type: Str::from_static(SAS_TOKEN_TYPE),
            audience: audience.into(),
            token: token.into(),
        }
    }

    /// Whether the token type is one IoT Hub accepts (either SDK spelling, any case).
    #[must_use]
    pub fn is_known_token_type(&self) -> bool {
        let t = self.token_type.as_str();
        t.eq_ignore_ascii_case(SAS_TOKEN_TYPE) || t.eq_ignore_ascii_case(AZURE_DEVICES_TOKEN_TYPE)
    }

    /// The request message: properties message-id, to `$cbs` and reply-to; application
    /// properties `operation`, `type`, `name`; the token as an amqp-value string body.
    #[must_use]
    pub fn to_message(&self) -> Message {
        let mut app = ApplicationProperties::new();
        app.push(Str::from_static(OPERATION), Value::from(PUT_TOKEN));
        app.push(
            Str::from_static(TYPE),
            Value::String(self.token_type.clone()),
        );
        app.push(Str::from_static(NAME), Value::String(self.audience.clone()));
        Message {
            properties: Some(Properties {
                message_id: Some(self.message_id.clone()),
                to: Some(Str::from_static(CBS_ADDRESS)),
                reply_to: self.reply_to.clone(),
                ..Properties::default()
            }),
            application_properties: Some(app),
            body: Body::Value(Value::String(self.token.clone())),
            ..Message::default()
        }
    }

    /// Hub side: reads a put-token request.
    ///
    /// # Errors
    /// See [`CbsError`].
    pub fn from_message(m: &Message) -> Result<Self, CbsError> {
        let app = m
            .application_properties
            .as_ref()
            .ok_or(CbsError::NoApplicationProperties)?;
        if app.get(OPERATION).and_then(Value::as_str) != Some(PUT_TOKEN) {
            return Err(CbsError::NotPutToken);
        }
        let token_type = string_prop(app, TYPE)?;
        let audience = string_prop(app, NAME)?;
        let token = match &m.body {
            Body::Value(Value::String(s)) => s.clone(),
            _ => return Err(CbsError::BodyNotString),
        };
        let props = m.properties.as_ref();
        let message_id = props
            .and_then(|p| p.message_id.clone())
            .ok_or(CbsError::NoMessageId)?;
        Ok(Self {
            message_id,
            reply_to: props.and_then(|p| p.reply_to.clone()),
            token_type,
            audience,
            token,
        })
    }

    /// Hub side: the response to this request (correlation-id = its message-id, `to` = its
    /// reply-to).
    #[must_use]
    pub fn respond(&self, status_code: i32, status_description: impl Into<Str>) -> Message {
        CbsResponse {
            correlation_id: Some(self.message_id.clone()),
            status_code,
            status_description: Some(status_description.into()),
        }
        .to_message(self.reply_to.clone())
    }
}

/// A put-token response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CbsResponse {
    /// `properties.correlation-id`: the request's message-id.
    pub correlation_id: Option<MessageId>,
    /// `status-code` (200 OK; 401 bad token; 400 malformed request).
    pub status_code: i32,
    /// `status-description`.
    pub status_description: Option<Str>,
}

impl CbsResponse {
    /// Whether the status code is 2xx.
    #[must_use]
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status_code)
    }

    /// The response message (`to` = the request's reply-to, if any; empty amqp-value body).
    #[must_use]
    pub fn to_message(&self, to: Option<Str>) -> Message {
        let mut app = ApplicationProperties::new();
        app.push(Str::from_static(STATUS_CODE), Value::Int(self.status_code));
        if let Some(d) = &self.status_description {
            app.push(
                Str::from_static(STATUS_DESCRIPTION),
                Value::String(d.clone()),
            );
        }
        Message {
            properties: Some(Properties {
                correlation_id: self.correlation_id.clone(),
                to,
                ..Properties::default()
            }),
            application_properties: Some(app),
            body: Body::Value(Value::Null),
            ..Message::default()
        }
    }

    /// Client side: reads a response.
    ///
    /// # Errors
    /// [`CbsError::NoApplicationProperties`], [`CbsError::NoStatusCode`].
    pub fn from_message(m: &Message) -> Result<Self, CbsError> {
        let app = m
            .application_properties
            .as_ref()
            .ok_or(CbsError::NoApplicationProperties)?;
        let status_code = app
            .get(STATUS_CODE)
            .and_then(Value::as_i64)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or(CbsError::NoStatusCode)?;
        let status_description = match app.get(STATUS_DESCRIPTION) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        Ok(Self {
            correlation_id: m.properties.as_ref().and_then(|p| p.correlation_id.clone()),
            status_code,
            status_description,
        })
    }
}

/// How a put-token request ended.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PutTokenResult {
    /// The hub answered.
    Response {
        /// The request's message-id.
        message_id: u64,
        /// The audience the request was for.
        audience: Str,
        /// The answer.
        response: CbsResponse,
    },
    /// No answer within the timeout.
    TimedOut {
        /// The request's message-id.
        message_id: u64,
        /// The audience the request was for.
        audience: Str,
    },
}

#[derive(Clone, Debug)]
struct Outstanding {
    audience: Str,
    deadline: Option<Duration>,
}

/// Client-side put-token bookkeeping: numbers requests (ulong message-ids from a counter, as
/// the C SDK does), matches responses by correlation-id and times out unanswered requests.
/// Sans-IO like the engine: time comes in as arguments.
#[derive(Clone, Debug)]
pub struct CbsClient {
    next_id: u64,
    reply_to: Str,
    timeout: Option<Duration>,
    outstanding: VecMap<u64, Outstanding>,
}

impl CbsClient {
    /// `reply_to`: the `reply-to` put in requests (`cbs`, or the response link's address);
    /// `first_id`: the first message-id; `timeout`: how long a request may stay unanswered
    /// (the Node SDK allows 120 s).
    #[must_use]
    pub fn new(reply_to: impl Into<Str>, first_id: u64, timeout: Option<Duration>) -> Self {
        Self {
            next_id: first_id,
            reply_to: reply_to.into(),
            timeout,
            outstanding: VecMap::new(),
        }
    }

    /// A new request for `audience`; send the message on the `$cbs` sender link.
    pub fn put_token(
        &mut self,
        now: Duration,
        audience: impl Into<Str>,
        token: impl Into<Str>,
    ) -> (u64, Message) {
        let id = self.next_id;
        self.next_id = id.wrapping_add(1);
        let mut req = PutToken::new(MessageId::Ulong(id), audience, token);
        req.reply_to = Some(self.reply_to.clone());
        self.outstanding.insert(
            id,
            Outstanding {
                audience: req.audience.clone(),
                deadline: self.timeout.map(|t| now.saturating_add(t)),
            },
        );
        (id, req.to_message())
    }

    /// Matches a message from the `$cbs` receiver link to an outstanding request. `None` when
    /// it is not a response to one of ours (unknown or missing correlation-id, or malformed).
    pub fn handle_response(&mut self, m: &Message) -> Option<PutTokenResult> {
        let response = CbsResponse::from_message(m).ok()?;
        let id = match response.correlation_id {
            Some(MessageId::Ulong(id)) => id,
            // Some hubs echo ids as strings.
            Some(MessageId::String(ref s)) => s.as_str().parse().ok()?,
            _ => return None,
        };
        let o = self.outstanding.remove(&id)?;
        Some(PutTokenResult::Response {
            message_id: id,
            audience: o.audience,
            response,
        })
    }

    /// Requests still waiting for an answer.
    #[must_use]
    pub fn outstanding(&self) -> usize {
        self.outstanding.len()
    }

    /// The earliest request deadline.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        self.outstanding.values().filter_map(|o| o.deadline).min()
    }

    /// Removes and returns the requests whose deadline has passed.
    pub fn handle_timeout(&mut self, now: Duration) -> Vec<PutTokenResult> {
        let due: Vec<u64> = self
            .outstanding
            .iter()
            .filter(|(_, o)| o.deadline.is_some_and(|d| now >= d))
            .map(|(id, _)| *id)
            .collect();
        due.into_iter()
            .filter_map(|id| {
                self.outstanding
                    .remove(&id)
                    .map(|o| PutTokenResult::TimedOut {
                        message_id: id,
                        audience: o.audience,
                    })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decode, Encode};

    fn round_trip(m: &Message) -> Message {
        let mut buf = Vec::new();
        m.encode(&mut buf).expect("encodes");
        Message::decode(bytes::Bytes::from(buf)).expect("decodes")
    }

    #[test]
    fn request_carries_the_documented_fields() {
        let req = PutToken::new(
            MessageId::Ulong(7),
            "hub.azure-devices.net/devices/d1",
            "SharedAccessSignature sr=x&sig=y&se=1",
        );
        let m = round_trip(&req.to_message());
        let app = m.application_properties.as_ref().expect("app props");
        assert_eq!(
            app.get("operation").and_then(Value::as_str),
            Some("put-token")
        );
        assert_eq!(
            app.get("type").and_then(Value::as_str),
            Some("servicebus.windows.net:sastoken")
        );
        assert_eq!(
            app.get("name").and_then(Value::as_str),
            Some("hub.azure-devices.net/devices/d1")
        );
        let p = m.properties.as_ref().expect("properties");
        assert_eq!(p.message_id, Some(MessageId::Ulong(7)));
        assert_eq!(p.reply_to.as_ref().map(Str::as_str), Some("cbs"));
        assert_eq!(p.to.as_ref().map(Str::as_str), Some("$cbs"));
        assert_eq!(
            m.body,
            Body::Value(Value::from("SharedAccessSignature sr=x&sig=y&se=1"))
        );
        let parsed = PutToken::from_message(&m).expect("parses");
        assert_eq!(parsed, req);
        assert!(parsed.is_known_token_type());
        assert!(!alloc::format!("{parsed:?}").contains("sig=y"));
    }

    #[test]
    fn malformed_requests_are_named() {
        let good = PutToken::new(MessageId::Ulong(1), "aud", "tok").to_message();
        let mut m = good.clone();
        m.application_properties = None;
        assert_eq!(
            PutToken::from_message(&m),
            Err(CbsError::NoApplicationProperties)
        );
        let mut m = good.clone();
        if let Some(app) = m.application_properties.as_mut() {
            app.insert(Str::from_static("operation"), Value::from("delete-token"));
        }
        assert_eq!(PutToken::from_message(&m), Err(CbsError::NotPutToken));
        let mut m = good.clone();
        if let Some(app) = m.application_properties.as_mut() {
            app.remove("name");
        }
        assert_eq!(
            PutToken::from_message(&m),
            Err(CbsError::MissingProperty("name"))
        );
        let mut m = good.clone();
        m.body = Body::data(&b"tok"[..]);
        assert_eq!(PutToken::from_message(&m), Err(CbsError::BodyNotString));
        let mut m = good;
        m.properties = None;
        assert_eq!(PutToken::from_message(&m), Err(CbsError::NoMessageId));
    }

    #[test]
    fn client_matches_responses_and_times_out() {
        let mut cbs = CbsClient::new("cbs", 100, Some(Duration::from_secs(120)));
        let (a, req_a) = cbs.put_token(Duration::ZERO, "aud-a", "tok-a");
        let (b, _) = cbs.put_token(Duration::from_secs(10), "aud-b", "tok-b");
        assert_eq!((a, b), (100, 101));
        assert_eq!(cbs.poll_timeout(), Some(Duration::from_secs(120)));

        let hub_side = PutToken::from_message(&round_trip(&req_a)).expect("parses");
        let resp = round_trip(&hub_side.respond(200, "OK"));
        match cbs.handle_response(&resp) {
            Some(PutTokenResult::Response {
                message_id,
                audience,
                response,
            }) => {
                assert_eq!(message_id, 100);
                assert_eq!(audience, "aud-a");
                assert!(response.is_success());
                assert_eq!(
                    response.status_description.as_ref().map(Str::as_str),
                    Some("OK")
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        // The same response again matches nothing.
        assert_eq!(cbs.handle_response(&resp), None);
        assert!(cbs.handle_timeout(Duration::from_secs(129)).is_empty());
        assert_eq!(
            cbs.handle_timeout(Duration::from_secs(130)),
            alloc::vec![PutTokenResult::TimedOut {
                message_id: 101,
                audience: Str::from_static("aud-b")
            }]
        );
        assert_eq!(cbs.outstanding(), 0);
    }

    #[test]
    fn refusal_response_is_not_success() {
        let r = CbsResponse {
            correlation_id: Some(MessageId::Ulong(3)),
            status_code: 401,
            status_description: Some(Str::from_static("Unauthorized")),
        };
        let back = CbsResponse::from_message(&round_trip(&r.to_message(None))).expect("parses");
        assert_eq!(back, r);
        assert!(!back.is_success());
    }
}
