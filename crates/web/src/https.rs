//! The HTTPS device API, protocol side (§6): request URLs, the batch body, the mapping of
//! responses to typed errors, `Retry-After`, and SAS token reuse per request.
//!
//! Pure and target-independent, so it is unit-tested natively; the `fetch` calls live in
//! `fetch.rs` (browser only).

use core::fmt::Write as _;
use core::time::Duration;

use base64::Engine as _;
use hubwire_iothub::http::{self as hhttp, headers as h};
use hubwire_iothub::limits::{self, MAX_D2C_MESSAGE_BYTES};
use hubwire_iothub::property_bag::encode_component;
use hubwire_iothub::{ConnectionString, DeviceId, IssuedToken, Message, TokenError, TokenPolicy};

use crate::error::{HttpError, SendError};

/// `api-version` of every request (the Node SDK's; devhub and the hub accept it).
pub(crate) const API_VERSION: &str = "2021-04-12";
/// `Content-Type` of a batch of events (§6.3).
pub(crate) const BATCH_CONTENT_TYPE: &str = "application/vnd.microsoft.iothub.json";
/// `Content-Type` of a single event (what the C SDK sends; the body is opaque bytes).
pub(crate) const EVENT_CONTENT_TYPE: &str = "application/octet-stream";
/// Most messages in one batch (2016 REST docs; devhub enforces it too).
pub(crate) const MAX_BATCH_MESSAGES: usize = 500;
/// Longest server text kept in an error message.
const MAX_ERROR_TEXT: usize = 300;

/// How a received C2D message is settled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Settle {
    Complete,
    Abandon,
    Reject,
}

/// The device's request URLs under a base (`https://host`, a proxy URL, or a same-origin
/// path). The device id is percent-encoded as one path segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Endpoint {
    device_base: String,
}

impl Endpoint {
    pub(crate) fn new(base: &str, device: &DeviceId) -> Self {
        Self {
            device_base: format!("{base}/devices/{}", encode_component(device.as_str())),
        }
    }

    /// `POST` one event or a batch.
    pub(crate) fn events(&self) -> String {
        format!(
            "{}/messages/events?api-version={API_VERSION}",
            self.device_base
        )
    }

    /// `GET` the next C2D message.
    pub(crate) fn device_bound(&self) -> String {
        format!(
            "{}/messages/deviceBound?api-version={API_VERSION}",
            self.device_base
        )
    }

    /// Method and URL that settle the message locked with `lock_token` (§6.5).
    pub(crate) fn settle(&self, lock_token: &str, op: Settle) -> (&'static str, String) {
        let base = format!(
            "{}/messages/deviceBound/{}",
            self.device_base,
            encode_component(lock_token)
        );
        match op {
            Settle::Complete => ("DELETE", format!("{base}?api-version={API_VERSION}")),
            Settle::Reject => ("DELETE", format!("{base}?api-version={API_VERSION}&reject")),
            Settle::Abandon => ("POST", format!("{base}/abandon?api-version={API_VERSION}")),
        }
    }
}

/// The URL without its query, for messages.
pub(crate) fn without_query(url: &str) -> &str {
    url.split('?').next().unwrap_or(url)
}

/// Approximate request size: request line, the headers this client sets, the blank line and
/// the body. The browser adds headers of its own (`Host`, `Origin`, `User-Agent`, …).
pub(crate) fn request_size(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body_len: usize,
) -> usize {
    // The request target is the path and query, without scheme and host.
    let target = url.split_once("://").map_or(url, |(_, rest)| {
        rest.find('/').and_then(|i| rest.get(i..)).unwrap_or("/")
    });
    let line = method.len() + 1 + target.len() + " HTTP/1.1\r\n".len();
    let fields: usize = headers.iter().map(|(n, v)| n.len() + 2 + v.len() + 2).sum();
    line + fields + 2 + body_len
}

/// Headers for one event (without `Authorization`).
pub(crate) fn event_headers(message: &Message) -> Result<Vec<(String, String)>, SendError> {
    let mut headers = hhttp::d2c_headers(message).map_err(SendError::InvalidHeader)?;
    headers.push(("Content-Type".into(), EVENT_CONTENT_TYPE.into()));
    Ok(headers)
}

/// A batch request body with what its receipt reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    pub(crate) body: String,
    pub(crate) message_ids: Vec<Option<String>>,
}

/// The JSON body of a batch (§6.3): one object per message with the body in base64 and the
/// system and application properties under their header names (`iothub-messageid`,
/// `iothub-app-{name}`, …). Each message must pass the single-message checks; the body may
/// not exceed 256 KiB nor hold more than 500 messages. Nothing is sent when a check fails.
pub(crate) fn batch_body(messages: &[Message]) -> Result<Batch, SendError> {
    if messages.is_empty() {
        return Err(SendError::InvalidBatch {
            reason: "the batch holds no messages".into(),
        });
    }
    if messages.len() > MAX_BATCH_MESSAGES {
        return Err(SendError::InvalidBatch {
            reason: format!(
                "the batch holds {} messages; at most {MAX_BATCH_MESSAGES} are allowed",
                messages.len()
            ),
        });
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut body = String::from("[");
    for (i, message) in messages.iter().enumerate() {
        limits::check_d2c(message)?;
        let headers = hhttp::d2c_headers(message).map_err(SendError::InvalidHeader)?;
        if i > 0 {
            body.push(',');
        }
        body.push_str("{\"body\":\"");
        body.push_str(&b64.encode(&message.body));
        body.push_str("\",\"base64Encoded\":true,\"properties\":{");
        for (j, (name, value)) in headers.iter().enumerate() {
            if j > 0 {
                body.push(',');
            }
            json_string(&mut body, name);
            body.push(':');
            json_string(&mut body, value);
        }
        body.push_str("}}");
        if body.len() > MAX_D2C_MESSAGE_BYTES {
            break;
        }
    }
    body.push(']');
    if body.len() > MAX_D2C_MESSAGE_BYTES {
        return Err(SendError::TooLarge {
            size: body.len(),
            limit: MAX_D2C_MESSAGE_BYTES,
        });
    }
    Ok(Batch {
        body,
        message_ids: messages.iter().map(|m| m.message_id.clone()).collect(),
    })
}

/// Appends `s` as a JSON string literal.
fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => {
                // Writing to a String cannot fail.
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The fields of an error body of the device API: classic
/// `{"Message":"ErrorCode:Name;text", …}` (devhub adds `errorCode`), or the newer
/// `{"errorCode":401002,"message":"…", …}`. The browser side reads them from the parsed JSON.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ErrorBody {
    /// `Message` (or `message`).
    pub(crate) message: Option<String>,
    /// `errorCode`, as a number or a numeric string.
    pub(crate) error_code: Option<u32>,
}

/// What an error response says, from its body and `iothub-errorcode` header.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct ErrorInfo {
    /// Error name (`DeviceNotFound`, `IotHubUnauthorizedAccess`, …).
    pub(crate) name: Option<String>,
    /// Numeric code (404001, …).
    pub(crate) error_code: Option<u32>,
    /// Human-readable text.
    pub(crate) text: String,
}

impl ErrorInfo {
    /// Reads a parsed JSON error body (if it was one), the `iothub-errorcode` header, and,
    /// for bodies that are not JSON, the raw text (kept only when it is short plain text).
    pub(crate) fn new(json: Option<ErrorBody>, name_header: Option<&str>, raw: &[u8]) -> Self {
        let mut info = Self::default();
        match json {
            Some(body) => {
                info.error_code = body.error_code;
                if let Some(m) = body.message {
                    let (name, text) = split_error_message(&m);
                    info.name = name.map(str::to_owned);
                    info.text = text.to_owned();
                }
            }
            None => {
                let text = core::str::from_utf8(raw).unwrap_or("").trim();
                if !text.starts_with('<') {
                    info.text = text.to_owned();
                }
            }
        }
        if info.name.is_none() {
            info.name = name_header
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(str::to_owned);
        }
        if info.text.len() > MAX_ERROR_TEXT {
            let mut end = MAX_ERROR_TEXT;
            while !info.text.is_char_boundary(end) {
                end -= 1;
            }
            info.text.truncate(end);
            info.text.push('…');
        }
        info
    }

    /// `Name: text`, or whichever part exists, or `HTTP {status}`.
    fn message(&self, status: u16) -> String {
        match (&self.name, self.text.is_empty()) {
            (Some(n), false) => format!("{n}: {}", self.text),
            (Some(n), true) => n.clone(),
            (None, false) => self.text.clone(),
            (None, true) => format!("HTTP {status}"),
        }
    }
}

/// Splits `ErrorCode:{Name};{text}` (the SDKs split on the first `;`).
fn split_error_message(m: &str) -> (Option<&str>, &str) {
    let Some(rest) = m.strip_prefix("ErrorCode:") else {
        return (None, m.trim());
    };
    match rest.split_once(';') {
        Some((name, text)) => (Some(name.trim()).filter(|n| !n.is_empty()), text.trim()),
        None => (Some(rest.trim()).filter(|n| !n.is_empty()), ""),
    }
}

/// The typed error for a response with status `status` (not 2xx).
pub(crate) fn classify(status: u16, info: &ErrorInfo, retry_after: Option<Duration>) -> HttpError {
    let message = info.message(status);
    let error_code = info.error_code;
    match status {
        400 => HttpError::BadRequest {
            error_code,
            message,
        },
        401 => HttpError::Unauthorized {
            error_code,
            message,
        },
        403 => HttpError::QuotaExceeded {
            error_code,
            message,
        },
        404 => {
            // A 404 naming another error (a route that does not exist) is not about the device.
            let device = error_code.is_none_or(|c| c == 404_001)
                && info
                    .name
                    .as_deref()
                    .is_none_or(|n| n.eq_ignore_ascii_case("DeviceNotFound"));
            if device {
                HttpError::DeviceNotFound { message }
            } else {
                HttpError::Status {
                    status,
                    error_code,
                    message,
                }
            }
        }
        412 => HttpError::LockLost {
            error_code,
            message,
        },
        413 => HttpError::TooLarge { message },
        429 => HttpError::Throttled {
            retry_after,
            message,
        },
        500..=599 => HttpError::Server {
            status,
            retry_after,
            message,
        },
        _ => HttpError::Status {
            status,
            error_code,
            message,
        },
    }
}

/// `Retry-After` in its delay-seconds form. The HTTP-date form is not used by IoT Hub and is
/// ignored (the back-off applies).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // More than a day is not a sensible retry delay; cap rather than overflow timers.
    let secs: u64 = v.parse().unwrap_or(u64::MAX);
    Some(Duration::from_secs(secs.min(86_400)))
}

/// Reuses one SAS token across requests and issues a new one when it is due for renewal
/// (`TokenPolicy::renew_before_secs` before expiry). A fixed token (from a
/// `SharedAccessSignature`) is used until it expires; after that every request fails with
/// [`TokenError::FixedTokenExpired`].
pub(crate) struct TokenCache {
    identity: ConnectionString,
    policy: TokenPolicy,
    current: Option<IssuedToken>,
    issued: u32,
}

impl TokenCache {
    pub(crate) fn new(identity: ConnectionString, policy: TokenPolicy) -> Self {
        Self {
            identity,
            policy,
            current: None,
            issued: 0,
        }
    }

    /// The `Authorization` header value at `now_unix` (Unix seconds).
    pub(crate) fn authorization(&mut self, now_unix: u64) -> Result<String, TokenError> {
        let fresh = self.current.as_ref().is_some_and(|t| match t.renew_at {
            Some(at) => now_unix < at && now_unix < t.expires_at,
            None => now_unix < t.expires_at,
        });
        if !fresh {
            let issued = self.identity.issue_token(&self.policy, now_unix)?;
            self.issued = self.issued.saturating_add(1);
            self.current = Some(issued);
        }
        Ok(self
            .current
            .as_ref()
            .map(|t| t.token.expose().to_owned())
            .unwrap_or_default())
    }

    /// Tokens issued so far (tests, diagnostics).
    #[cfg(test)]
    pub(crate) fn issued(&self) -> u32 {
        self.issued
    }
}

/// Reads a C2D `200` response: the message and its lock token (the unquoted `ETag`).
pub(crate) fn received_message<'h>(
    headers: impl IntoIterator<Item = (&'h str, &'h str)>,
    body: Vec<u8>,
) -> Result<(Message, String), HttpError> {
    let message = hhttp::message_from_c2d_headers(headers, body);
    let token = message
        .received
        .as_ref()
        .and_then(|r| r.lock_token.clone())
        .ok_or_else(|| HttpError::InvalidResponse {
            reason: format!(
                "a C2D message arrived without an {} header (a proxy must pass it through and, cross-origin, list it in Access-Control-Expose-Headers)",
                h::ETAG
            ),
        })?;
    Ok((message, token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hubwire_iothub::{SasKey, SasToken};
    // Also run in the browser suite (the scripts run this crate's tests only on wasm32).
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn device(id: &str) -> DeviceId {
        DeviceId::new(id).unwrap()
    }

    #[test]
    fn urls_follow_the_device_api() {
        let e = Endpoint::new("https://hub.example", &device("dev:1"));
        assert_eq!(
            e.events(),
            "https://hub.example/devices/dev%3A1/messages/events?api-version=2021-04-12"
        );
        assert_eq!(
            e.device_bound(),
            "https://hub.example/devices/dev%3A1/messages/deviceBound?api-version=2021-04-12"
        );
        assert_eq!(
            e.settle("abc-1", Settle::Complete),
            (
                "DELETE",
                "https://hub.example/devices/dev%3A1/messages/deviceBound/abc-1?api-version=2021-04-12"
                    .into()
            )
        );
        assert_eq!(
            e.settle("abc-1", Settle::Reject).1,
            "https://hub.example/devices/dev%3A1/messages/deviceBound/abc-1?api-version=2021-04-12&reject"
        );
        assert_eq!(
            e.settle("a/b", Settle::Abandon),
            (
                "POST",
                "https://hub.example/devices/dev%3A1/messages/deviceBound/a%2Fb/abandon?api-version=2021-04-12"
                    .into()
            )
        );
        // A same-origin proxy path.
        assert_eq!(
            Endpoint::new("/iothub", &device("d")).events(),
            "/iothub/devices/d/messages/events?api-version=2021-04-12"
        );
        assert_eq!(
            without_query(&e.events()),
            "https://hub.example/devices/dev%3A1/messages/events"
        );
    }

    #[test]
    fn request_size_counts_line_headers_and_body() {
        let headers = vec![("iothub-app-k".to_owned(), "v".to_owned())];
        let url = "http://127.0.0.1:8080/devices/d/messages/events?api-version=2021-04-12";
        let text = "POST /devices/d/messages/events?api-version=2021-04-12 HTTP/1.1\r\n\
                    iothub-app-k: v\r\n\r\nhello";
        assert_eq!(request_size("POST", url, &headers, 5), text.len());
        assert_eq!(
            request_size("GET", "/p/devices/d?x", &[], 0),
            "GET /p/devices/d?x HTTP/1.1\r\n\r\n".len()
        );
    }

    #[test]
    fn event_headers_carry_system_and_application_properties() {
        let m = Message::new("x")
            .with_message_id("m1")
            .with_correlation_id("c1")
            .with_content_type("application/json")
            .with_property("temp", "21.5");
        let headers = event_headers(&m).unwrap();
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k == n)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("iothub-messageid"), Some("m1"));
        assert_eq!(get("iothub-correlationid"), Some("c1"));
        assert_eq!(get("iothub-contenttype"), Some("application/json"));
        assert_eq!(get("iothub-app-temp"), Some("21.5"));
        assert_eq!(get("Content-Type"), Some(EVENT_CONTENT_TYPE));
        let bad = Message::new("x").with_property("a b", "v");
        assert!(matches!(
            event_headers(&bad),
            Err(SendError::InvalidHeader(_))
        ));
        let bad = Message::new("x").with_property("k", "é");
        assert!(matches!(
            event_headers(&bad),
            Err(SendError::InvalidHeader(_))
        ));
    }

    #[test]
    fn batch_body_is_the_documented_json() {
        let batch = batch_body(&[
            Message::new("hi")
                .with_message_id("m1")
                .with_property("k", "a\"b\\c"),
            Message::new(vec![0u8, 255]),
        ])
        .unwrap();
        assert_eq!(
            batch.body,
            r#"[{"body":"aGk=","base64Encoded":true,"properties":{"iothub-messageid":"m1","iothub-app-k":"a\"b\\c"}},{"body":"AP8=","base64Encoded":true,"properties":{}}]"#
        );
        assert_eq!(batch.message_ids, vec![Some("m1".to_owned()), None]);
        // The body is valid JSON with the values intact.
        let v: serde_json::Value = serde_json::from_str(&batch.body).unwrap();
        assert_eq!(v[0]["properties"]["iothub-app-k"], "a\"b\\c");
    }

    #[test]
    fn batch_limits() {
        assert!(matches!(
            batch_body(&[]),
            Err(SendError::InvalidBatch { .. })
        ));
        let many = vec![Message::new("x"); MAX_BATCH_MESSAGES + 1];
        assert!(matches!(
            batch_body(&many),
            Err(SendError::InvalidBatch { .. })
        ));
        // Two messages that each fit but not together (base64 grows them by a third).
        let big = vec![Message::new(vec![b'a'; 120 * 1024]); 2];
        assert!(matches!(
            batch_body(&big),
            Err(SendError::TooLarge { limit, .. }) if limit == MAX_D2C_MESSAGE_BYTES
        ));
        let huge = vec![Message::new(vec![b'a'; MAX_D2C_MESSAGE_BYTES + 1])];
        assert!(matches!(batch_body(&huge), Err(SendError::TooLarge { .. })));
        let bad_id = vec![Message::new("x").with_message_id("bad id")];
        assert!(matches!(
            batch_body(&bad_id),
            Err(SendError::InvalidMessageId(_))
        ));
    }

    /// What the browser side extracts from a parsed body.
    fn body(json: &str) -> Option<ErrorBody> {
        let v: serde_json::Value = serde_json::from_str(json).ok()?;
        Some(ErrorBody {
            message: v
                .get("Message")
                .or_else(|| v.get("message"))
                .and_then(|m| m.as_str())
                .map(str::to_owned),
            error_code: v.get("errorCode").and_then(|c| {
                c.as_u64()
                    .and_then(|n| u32::try_from(n).ok())
                    .or_else(|| c.as_str().and_then(|t| t.trim().parse().ok()))
            }),
        })
    }

    fn info(json: &str) -> ErrorInfo {
        ErrorInfo::new(body(json), None, json.as_bytes())
    }

    #[test]
    fn error_bodies_in_both_shapes() {
        let classic = info(
            r#"{"Message":"ErrorCode:DeviceNotFound;Device x not registered","ExceptionMessage":"Tracking ID:1-G:0","errorCode":404001}"#,
        );
        assert_eq!(classic.name.as_deref(), Some("DeviceNotFound"));
        assert_eq!(classic.error_code, Some(404_001));
        assert_eq!(classic.text, "Device x not registered");
        let newer = info(r#"{"errorCode":"401002","message":"Unauthorized","trackingId":"x"}"#);
        assert_eq!(newer.error_code, Some(401_002));
        assert_eq!(newer.name, None);
        assert_eq!(newer.text, "Unauthorized");
        let header_only = ErrorInfo::new(None, Some("IotHubQuotaExceeded"), b"");
        assert_eq!(header_only.name.as_deref(), Some("IotHubQuotaExceeded"));
        // HTML error pages are not copied into messages; short text is.
        assert_eq!(ErrorInfo::new(None, None, b"<html>nope</html>").text, "");
        assert_eq!(
            ErrorInfo::new(None, None, b" bad gateway ").text,
            "bad gateway"
        );
        let long = "x".repeat(1000);
        assert!(ErrorInfo::new(None, None, long.as_bytes()).text.len() <= MAX_ERROR_TEXT + 3);
    }

    #[test]
    fn statuses_map_to_typed_errors() {
        let none = ErrorInfo::default();
        let c = |s: u16| classify(s, &none, None);
        assert!(matches!(c(401), HttpError::Unauthorized { .. }));
        assert!(matches!(c(404), HttpError::DeviceNotFound { .. }));
        assert!(matches!(c(412), HttpError::LockLost { .. }));
        assert!(matches!(c(413), HttpError::TooLarge { .. }));
        assert!(matches!(c(400), HttpError::BadRequest { .. }));
        assert!(matches!(c(403), HttpError::QuotaExceeded { .. }));
        assert!(matches!(c(500), HttpError::Server { status: 500, .. }));
        assert!(matches!(c(503), HttpError::Server { status: 503, .. }));
        assert!(matches!(c(418), HttpError::Status { status: 418, .. }));
        assert_eq!(
            classify(429, &none, Some(Duration::from_secs(7))),
            HttpError::Throttled {
                retry_after: Some(Duration::from_secs(7)),
                message: "HTTP 429".into()
            }
        );
        assert_eq!(
            classify(503, &none, Some(Duration::from_secs(3))).retry_after(),
            Some(Duration::from_secs(3))
        );
        // A 404 for a route that does not exist is not a missing device.
        let route = info(r#"{"Message":"ErrorCode:NotFound;no route","errorCode":404000}"#);
        assert!(matches!(
            classify(404, &route, None),
            HttpError::Status {
                status: 404,
                error_code: Some(404_000),
                ..
            }
        ));
        let unauth = info(
            r#"{"Message":"ErrorCode:IotHubUnauthorizedAccess;bad signature","errorCode":401002}"#,
        );
        let e = classify(401, &unauth, None);
        assert_eq!(e.code(), "Unauthorized");
        assert_eq!(e.status(), Some(401));
        assert!(!e.is_transient());
        assert_eq!(
            e.to_string(),
            "unauthorized (HTTP 401, error code 401002): IotHubUnauthorizedAccess: bad signature"
        );
    }

    #[test]
    fn transient_and_permanent() {
        let none = ErrorInfo::default();
        for s in [429, 500, 503, 403] {
            assert!(classify(s, &none, None).is_transient(), "{s}");
        }
        for s in [400, 401, 404, 412, 413] {
            assert!(!classify(s, &none, None).is_transient(), "{s}");
        }
        let cors = HttpError::CorsOrNetwork {
            url: "https://hub.example/devices/d/messages/deviceBound".into(),
            detail: "Failed to fetch".into(),
        };
        assert!(cors.is_transient());
        assert_eq!(cors.code(), "CorsOrNetwork");
        let text = cors.to_string();
        for needle in [
            "CORS",
            "same-origin proxy",
            "MQTT over WebSocket",
            "Failed to fetch",
        ] {
            assert!(text.contains(needle), "{needle} missing in {text}");
        }
    }

    #[test]
    fn retry_after_delay_seconds() {
        assert_eq!(parse_retry_after("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse_retry_after(" 0 "), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("99999999999999999999999"),
            Some(Duration::from_secs(86_400))
        );
        for bad in ["", "-1", "1.5", "Wed, 21 Oct 2015 07:28:00 GMT", "soon"] {
            assert_eq!(parse_retry_after(bad), None, "{bad}");
        }
    }

    #[test]
    fn tokens_are_reused_until_renewal_then_reissued() {
        let cs = ConnectionString::with_device_key(
            "hub.example",
            device("d"),
            SasKey::from_base64(KEY).unwrap(),
        );
        let mut cache = TokenCache::new(cs, TokenPolicy::new(3600, 900));
        let first = cache.authorization(1000).unwrap();
        assert!(first.starts_with("SharedAccessSignature sr=hub.example%2Fdevices%2Fd&sig="));
        assert!(first.ends_with("&se=4600"));
        assert_eq!(
            cache.authorization(3699).unwrap(),
            first,
            "reused before renewal"
        );
        assert_eq!(cache.issued(), 1);
        let second = cache.authorization(3700).unwrap();
        assert_ne!(second, first, "renewed 900 s before expiry");
        assert!(second.ends_with("&se=7300"));
        assert_eq!(cache.issued(), 2);
    }

    #[test]
    fn a_fixed_token_is_used_until_it_expires_then_fails_typed() {
        let key = SasKey::from_base64(KEY).unwrap();
        let token = SasToken::build(&key, "hub.example/devices/d", 2000, None);
        let mut cs = ConnectionString::with_device_key("hub.example", device("d"), key);
        cs.auth = hubwire_iothub::Authentication::SharedAccessSignature(token.clone());
        let mut cache = TokenCache::new(cs, TokenPolicy::default());
        assert_eq!(cache.authorization(1000).unwrap(), token.expose());
        assert_eq!(cache.authorization(1999).unwrap(), token.expose());
        assert_eq!(
            cache.authorization(2000),
            Err(TokenError::FixedTokenExpired { expiry: 2000 })
        );
        assert_eq!(
            cache.authorization(2001),
            Err(TokenError::FixedTokenExpired { expiry: 2000 })
        );
    }

    #[test]
    fn c2d_response_needs_an_etag() {
        let headers = [
            ("etag", "\"lock-1\""),
            ("iothub-messageid", "m1"),
            ("iothub-deliverycount", "2"),
            ("iothub-app-k", "v"),
            ("contenttype", "text/plain"),
            ("iothub-correlationid", ""),
        ];
        let (m, token) = received_message(headers, b"hello".to_vec()).unwrap();
        assert_eq!(token, "lock-1");
        assert_eq!(m.message_id.as_deref(), Some("m1"));
        assert_eq!(m.correlation_id, None);
        assert_eq!(m.content_type.as_deref(), Some("text/plain"));
        assert_eq!(m.properties.get("k"), Some("v"));
        assert_eq!(m.received.as_ref().map(|r| r.delivery_count), Some(2));
        assert_eq!(m.body, b"hello");
        assert!(matches!(
            received_message([("iothub-messageid", "m1")], Vec::new()),
            Err(HttpError::InvalidResponse { .. })
        ));
    }
}
