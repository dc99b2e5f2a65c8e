//! HTTPS device API (`/devices/{id}/messages/…`): device-to-cloud events (single and batch),
//! cloud-to-device polling with lock/complete/reject/abandon on the shared C2D queue model.
//!
//! Served on the plain and the TLS listener alike. Every request needs `?api-version=` and an
//! `Authorization: SharedAccessSignature …` header verified like an MQTT CONNECT password.
//! Errors use IoT Hub's classic device-API body
//! `{"Message":"ErrorCode:{Name};{text}","ExceptionMessage":"Tracking ID:…-G:0-TimeStamp:…"}`
//! (the shape the SDKs parse) plus the numeric `errorCode`, and an `iothub-errorcode` header.
//! The service API under `/api` keeps its own error shape.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{HeaderMap, HeaderName, HeaderValue};
use axum::http::{Method, StatusCode, Uri, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::{Json, Router};
use base64::Engine;
use bytes::Bytes;
use hubwire_iothub::http::{self as hhttp, headers as h};
use hubwire_iothub::limits::{self, LimitError, MAX_D2C_MESSAGE_BYTES};
use hubwire_iothub::{DeviceId, HeaderError, Message, PropertyBag, ReceivedInfo, SasVerifyError};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{verify_device_token, AuthError};
use crate::c2d::C2dError;
use crate::hub::{lock, Shared};

/// Protocol name shown in logs and the service API.
pub(crate) const PROTOCOL: &str = "https";

/// `Content-Type` of a batch of events.
const BATCH_CONTENT_TYPE: &str = "application/vnd.microsoft.iothub.json";
/// Largest batch request body (§8: a D2C batch is at most 256 KB).
const MAX_BATCH_BYTES: usize = MAX_D2C_MESSAGE_BYTES;
/// Most messages in one batch (2016 REST docs).
const MAX_BATCH_MESSAGES: usize = 500;

/// C2D response headers that are always present; unset ones carry an empty value, as real
/// hubs send them (§6.4 fixtures).
const C2D_RESPONSE_HEADERS: [&str; 11] = [
    h::MESSAGE_ID,
    h::CORRELATION_ID,
    h::SEQUENCE_NUMBER,
    h::TO,
    h::USER_ID,
    h::ACK,
    h::EXPIRY,
    h::DELIVERY_COUNT,
    h::ENQUEUED_TIME,
    h::C2D_CONTENT_TYPE,
    h::C2D_CONTENT_ENCODING,
];

/// Response headers a cross-origin page must be able to read (CORS `Expose-Headers`).
pub(crate) const EXPOSED_HEADERS: [&str; 14] = [
    h::ETAG,
    h::MESSAGE_ID,
    h::CORRELATION_ID,
    h::SEQUENCE_NUMBER,
    h::TO,
    h::USER_ID,
    h::ACK,
    h::EXPIRY,
    h::DELIVERY_COUNT,
    h::ENQUEUED_TIME,
    h::C2D_CONTENT_TYPE,
    h::C2D_CONTENT_ENCODING,
    ERROR_CODE_HEADER,
    "Content-Type",
];

/// Response header naming the error (`iothub-errorcode: DeviceNotFound`).
const ERROR_CODE_HEADER: &str = "iothub-errorcode";

/// Whether a page may send request header `name` to devhub cross-origin: the device API's
/// `Authorization`, `Content-Type`, `If-Match`, `dt-subject` and every `iothub-*` header.
pub(crate) fn is_allowed_request_header(name: &str) -> bool {
    let name = name.trim();
    ["authorization", "content-type", "if-match", "dt-subject"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
        || name
            .get(..7)
            .is_some_and(|p| p.eq_ignore_ascii_case("iothub-"))
}

/// The device routes (mounted at the root router). The dispatcher parses the raw path itself
/// ([`parse_route`]): route words match case-insensitively (`devicebound` and `deviceBound`
/// both occur) and each segment is percent-decoded on its own, so an encoded `/` cannot split
/// a device id. Other `/devices/…` paths stay with the dashboard's SPA fallback.
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/devices/{id}/messages/{kind}", any(dispatch))
        .route("/devices/{id}/messages/{kind}/{etag}", any(dispatch))
        .route(
            "/devices/{id}/messages/{kind}/{etag}/{action}",
            any(dispatch),
        )
}

/// What a device API path names.
#[derive(Debug, PartialEq, Eq)]
enum Route {
    /// `/devices/{id}/messages/events`
    Events(String),
    /// `/devices/{id}/messages/deviceBound`
    DeviceBound(String),
    /// `/devices/{id}/messages/deviceBound/{etag}`
    Message(String, String),
    /// `/devices/{id}/messages/deviceBound/{etag}/abandon`
    Abandon(String, String),
}

fn parse_route(path: &str) -> Option<Route> {
    let rest = path.strip_prefix("/devices/")?;
    let segments: Vec<&str> = rest.split('/').collect();
    let word = |i: usize, w: &str| segments.get(i).is_some_and(|s| s.eq_ignore_ascii_case(w));
    let decoded = |i: usize| {
        segments
            .get(i)
            .and_then(|s| hubwire_iothub::property_bag::decode_component(s))
            .filter(|s| !s.is_empty())
    };
    let id = decoded(0)?;
    if !word(1, "messages") {
        return None;
    }
    match segments.len() {
        3 if word(2, "events") => Some(Route::Events(id)),
        3 if word(2, "devicebound") => Some(Route::DeviceBound(id)),
        4 if word(2, "devicebound") => Some(Route::Message(id, decoded(3)?)),
        5 if word(2, "devicebound") && word(4, "abandon") => Some(Route::Abandon(id, decoded(3)?)),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Errors

/// An error answer of the device API.
#[derive(Debug)]
pub(crate) struct DeviceError {
    status: StatusCode,
    code: u32,
    name: &'static str,
    message: String,
}

impl DeviceError {
    fn new(status: StatusCode, code: u32, name: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            name,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 400004, "ArgumentInvalid", message)
    }

    fn device_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            404001,
            "DeviceNotFound",
            format!("Device {id} not registered"),
        )
    }

    fn unauthorized(code: u32, message: impl Into<String>) -> Self {
        let name = if code == 401003 {
            "IotHubUnauthorized"
        } else {
            "IotHubUnauthorizedAccess"
        };
        Self::new(StatusCode::UNAUTHORIZED, code, name, message)
    }

    fn too_large(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            413001,
            "MessageTooLarge",
            message,
        )
    }

    fn lock_lost() -> Self {
        Self::new(
            StatusCode::PRECONDITION_FAILED,
            412002,
            "DeviceMessageLockLost",
            "the message lock expired or the lock token is unknown",
        )
    }

    fn method_not_allowed(method: &Method) -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            405000,
            "MethodNotAllowed",
            format!("{method} is not supported on this device API route"),
        )
    }

    fn from_c2d(e: &C2dError, device: &str) -> Self {
        match e {
            C2dError::DeviceNotFound => Self::device_not_found(device),
            C2dError::LockLost => Self::lock_lost(),
            other => Self::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                500001,
                "ServerError",
                other.to_string(),
            ),
        }
    }

    fn from_limit(e: &LimitError) -> Self {
        match e {
            LimitError::TooLarge { .. } => Self::too_large(e.to_string()),
            _ => Self::bad_request(e.to_string()),
        }
    }
}

impl IntoResponse for DeviceError {
    fn into_response(self) -> Response {
        // `;` separates the code from the text in `Message`: the SDKs split on it.
        let text = self.message.replace(';', ",");
        let body = json!({
            "Message": format!("ErrorCode:{};{text}", self.name),
            "ExceptionMessage": format!("Tracking ID:{}-G:0-TimeStamp:{}", tracking_id(), us_time()),
            "errorCode": self.code,
        });
        let mut resp = (self.status, Json(body)).into_response();
        resp.headers_mut().insert(
            HeaderName::from_static(ERROR_CODE_HEADER),
            HeaderValue::from_static(self.name),
        );
        resp
    }
}

type DeviceResult<T> = Result<T, DeviceError>;

/// 32 hex digits, as in real tracking ids.
fn tracking_id() -> String {
    let mut b = [0u8; 16];
    if crate::registry::fill_random(&mut b).is_err() {
        return "0".repeat(32);
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Current UTC time as `MM/DD/YYYY HH:MM:SS` (the form real error bodies use).
fn us_time() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    let iso = hubwire_iothub::Timestamp::from_unix_millis(u64::try_from(now).unwrap_or(0))
        .to_rfc3339_millis();
    let part = |r: std::ops::Range<usize>| iso.get(r).unwrap_or("??").to_owned();
    format!(
        "{}/{}/{} {}",
        part(5..7),
        part(8..10),
        part(0..4),
        part(11..19)
    )
}

fn no_route(method: &Method) -> DeviceError {
    DeviceError::new(
        StatusCode::NOT_FOUND,
        404000,
        "NotFound",
        format!("no device API route for this {method} request"),
    )
}

// ---------------------------------------------------------------------------------------------
// Request checks

/// The parts of a request every handler needs.
struct Checked {
    device: DeviceId,
    query: PropertyBag,
}

/// Checks `api-version` and the SAS token, in that order (a hub answers 400001 before it
/// looks at credentials).
fn check(hub: &Shared, id: &str, uri: &Uri, headers: &HeaderMap) -> DeviceResult<Checked> {
    let query = PropertyBag::decode(uri.query().unwrap_or("")).unwrap_or_default();
    let version = query.get("api-version").flatten().unwrap_or("");
    if !is_api_version(version) {
        return Err(DeviceError::new(
            StatusCode::BAD_REQUEST,
            400001,
            "InvalidProtocolVersion",
            "the api-version query parameter is missing or malformed (use api-version=2021-04-12)",
        ));
    }
    let device = DeviceId::new(id).map_err(|_| DeviceError::device_not_found(id))?;
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            DeviceError::unauthorized(
                401002,
                "an Authorization: SharedAccessSignature … header is required",
            )
        })?;
    match verify_device_token(hub, &device, token) {
        Ok(_expiry) => Ok(Checked { device, query }),
        Err(e) => {
            tracing::warn!(device = id, reason = %e, "HTTPS request refused");
            Err(match &e {
                AuthError::UnknownDevice(_) => DeviceError::device_not_found(id),
                AuthError::Token {
                    source: SasVerifyError::Expired { .. } | SasVerifyError::WrongResource { .. },
                    ..
                } => DeviceError::unauthorized(401003, e.to_string()),
                _ => DeviceError::unauthorized(401002, e.to_string()),
            })
        }
    }
}

/// `YYYY-MM-DD` optionally followed by a suffix such as `-preview`.
fn is_api_version(v: &str) -> bool {
    let b = v.as_bytes();
    b.len() >= 10
        && b.iter().take(10).enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// A header value as text: ASCII as is, other bytes read as ISO-8859-1, which is what
/// Node and browsers send for characters up to U+00FF.
fn header_text(v: &HeaderValue) -> String {
    match v.to_str() {
        Ok(s) => s.to_owned(),
        Err(_) => v.as_bytes().iter().map(|&b| char::from(b)).collect(),
    }
}

/// Approximate size of the request on the wire: request line, each header line as
/// `name: value\r\n`, the blank line, and the body bytes. Chunked transfer framing
/// (chunk-size lines) is not visible after decoding and is not counted.
fn wire_bytes(
    method: &Method,
    uri: &Uri,
    version: Version,
    headers: &HeaderMap,
    body: usize,
) -> usize {
    let target = uri.path_and_query().map_or(uri.path(), |pq| pq.as_str());
    let version = match version {
        Version::HTTP_09 => "HTTP/0.9",
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        Version::HTTP_3 => "HTTP/3.0",
        _ => "HTTP/1.1",
    };
    let line = method.as_str().len() + 1 + target.len() + 1 + version.len() + 2;
    let fields: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + 2 + v.as_bytes().len() + 2)
        .sum();
    line + fields + 2 + body
}

/// Reads the body, refusing more than `limit` bytes with 413.
async fn read_body(body: Body, limit: usize) -> DeviceResult<Bytes> {
    // A read error here is the length limit; a peer that vanished mid-body never sees
    // the answer either way.
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        DeviceError::too_large(format!("the request body is larger than {limit} bytes"))
    })
}

// ---------------------------------------------------------------------------------------------
// Handlers

/// How a C2D message is settled.
#[derive(Debug, Clone, Copy)]
enum Settle {
    Complete,
    Reject,
    Abandon,
}

async fn dispatch(State(hub): State<Shared>, req: Request) -> Response {
    handle(&hub, req)
        .await
        .unwrap_or_else(IntoResponse::into_response)
}

async fn handle(hub: &Shared, req: Request) -> DeviceResult<Response> {
    let (parts, body) = req.into_parts();
    let Some(route) = parse_route(parts.uri.path()) else {
        return Err(no_route(&parts.method));
    };
    let method = &parts.method;
    let allowed = match &route {
        Route::Events(_) => Method::POST,
        Route::DeviceBound(_) => Method::GET,
        Route::Message(..) => Method::DELETE,
        Route::Abandon(..) => Method::POST,
    };
    if *method != allowed {
        return Err(DeviceError::method_not_allowed(method));
    }
    let id = match &route {
        Route::Events(id)
        | Route::DeviceBound(id)
        | Route::Message(id, _)
        | Route::Abandon(id, _) => id,
    };
    let checked = check(hub, id, &parts.uri, &parts.headers)?;
    let device = &checked.device;
    match &route {
        Route::Events(_) => send_events(hub, device, &parts, body).await,
        Route::DeviceBound(_) => receive(hub, device),
        Route::Message(_, etag) => {
            let action = if checked.query.get("reject").is_some() {
                Settle::Reject
            } else {
                Settle::Complete
            };
            settle_message(hub, device, etag, &parts.headers, action)
        }
        Route::Abandon(_, etag) => {
            settle_message(hub, device, etag, &parts.headers, Settle::Abandon)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Device-to-cloud

fn is_batch(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(BATCH_CONTENT_TYPE))
}

async fn send_events(
    hub: &Shared,
    device: &DeviceId,
    parts: &axum::http::request::Parts,
    body: Body,
) -> DeviceResult<Response> {
    let batch = is_batch(&parts.headers);
    let limit = if batch {
        MAX_BATCH_BYTES
    } else {
        MAX_D2C_MESSAGE_BYTES
    };
    let body = read_body(body, limit).await?;
    let wire = wire_bytes(
        &parts.method,
        &parts.uri,
        parts.version,
        &parts.headers,
        body.len(),
    );
    let messages = if batch {
        parse_batch(&body)?
    } else {
        let headers: Vec<(&str, String)> = parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str(), header_text(v)))
            .collect();
        let refs = headers.iter().map(|(n, v)| (*n, v.as_str()));
        vec![hhttp::message_from_d2c_headers(refs, body.to_vec())]
    };
    // The whole request is refused if any message is: nothing is stored.
    for m in &messages {
        limits::check_d2c(m).map_err(|e| DeviceError::from_limit(&e))?;
    }
    // A batch shares the request's bytes out so that its events add up to the request.
    let n = messages.len().max(1);
    for (i, message) in messages.iter().enumerate() {
        let share = wire / n + usize::from(i < wire % n);
        let event = crate::hub::d2c_event(hub, device.as_str(), PROTOCOL, message, share);
        let event = hub.store_event(event);
        tracing::info!(
            device = device.as_str(),
            seq = event.seq,
            body_bytes = message.body.len(),
            wire_bytes = share,
            batch,
            "D2C received"
        );
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// One element of a batch body (§6.3).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchItem {
    body: String,
    /// `false` → `body` is the payload as text; absent or `true` → base64.
    base64_encoded: Option<bool>,
    /// `iothub-app-*` and other `iothub-*` names, as the headers of a single send.
    #[serde(default)]
    properties: serde_json::Map<String, Value>,
}

fn parse_batch(body: &[u8]) -> DeviceResult<Vec<Message>> {
    let items: Vec<BatchItem> = serde_json::from_slice(body)
        .map_err(|e| DeviceError::bad_request(format!("invalid batch body: {e}")))?;
    if items.is_empty() {
        return Err(DeviceError::bad_request("the batch holds no messages"));
    }
    if items.len() > MAX_BATCH_MESSAGES {
        return Err(DeviceError::too_large(format!(
            "the batch holds {} messages; at most {MAX_BATCH_MESSAGES} are allowed",
            items.len()
        )));
    }
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let payload = if item.base64_encoded.unwrap_or(true) {
                base64::engine::general_purpose::STANDARD
                    .decode(item.body.as_bytes())
                    .map_err(|_| {
                        DeviceError::bad_request(format!("batch message {i}: body is not base64"))
                    })?
            } else {
                item.body.into_bytes()
            };
            let mut props = Vec::with_capacity(item.properties.len());
            for (k, v) in &item.properties {
                let v = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => {
                        return Err(DeviceError::bad_request(format!(
                            "batch message {i}: property '{k}' is not a string"
                        )))
                    }
                };
                props.push((k.as_str(), v));
            }
            let refs = props.iter().map(|(k, v)| (*k, v.as_str()));
            Ok(hhttp::message_from_d2c_headers(refs, payload))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Cloud-to-device

fn receive(hub: &Shared, device: &DeviceId) -> DeviceResult<Response> {
    let id = device.as_str();
    let now = hub.clock.now();
    let delivery = lock(&hub.c2d)
        .receive(id, now)
        .map_err(|e| DeviceError::from_c2d(&e, id))?;
    let Some(delivery) = delivery else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    // A new lock deadline.
    hub.c2d_timer.notify_one();
    tracing::info!(
        device = id,
        message_id = delivery.message_id,
        sequence_number = delivery.sequence_number,
        delivery_count = delivery.delivery_count,
        "C2D received by HTTPS poll (locked)"
    );
    let mut msg = delivery.message;
    msg.to = Some(format!("/devices/{id}/messages/deviceBound"));
    msg.received = Some(ReceivedInfo::new(
        delivery.delivery_count,
        delivery.sequence_number,
        Some(hub.clock.utc(delivery.enqueued_at)),
        Some(delivery.lock_token),
    ));
    let headers = c2d_headers_lossy(&mut msg, id);
    let mut resp = (StatusCode::OK, Bytes::from(std::mem::take(&mut msg.body))).into_response();
    let out = resp.headers_mut();
    for (name, value) in headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            out.append(n, v);
        }
    }
    Ok(resp)
}

/// The C2D response headers of `msg`, dropping (with a warning) any property or field that
/// cannot travel in an HTTP header (the service API accepts any text), then adding the
/// always-present headers that are unset as empty values.
fn c2d_headers_lossy(msg: &mut Message, device: &str) -> Vec<(String, String)> {
    // Each failed attempt removes one offender, so this ends.
    let mut headers = loop {
        match hhttp::c2d_headers(msg) {
            Ok(headers) => break headers,
            Err(e) => {
                tracing::warn!(device, error = %e, "C2D header dropped for HTTPS delivery");
                if !drop_offender(msg, &e) {
                    break Vec::new();
                }
            }
        }
    };
    for name in C2D_RESPONSE_HEADERS {
        if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)) {
            headers.push((name.to_owned(), String::new()));
        }
    }
    headers
}

/// Removes what `e` complains about from `msg`; false if nothing matched.
fn drop_offender(msg: &mut Message, e: &HeaderError) -> bool {
    let name = match e {
        HeaderError::InvalidName { name } => return msg.properties.remove(name).is_some(),
        HeaderError::InvalidValue { name } => name.as_str(),
        _ => return false,
    };
    if let Some(prop) = name
        .get(..h::APP_PREFIX.len())
        .filter(|p| p.eq_ignore_ascii_case(h::APP_PREFIX))
        .and_then(|_| name.get(h::APP_PREFIX.len()..))
    {
        return msg.properties.remove(prop).is_some();
    }
    let field = match name {
        n if n == h::MESSAGE_ID => &mut msg.message_id,
        n if n == h::CORRELATION_ID => &mut msg.correlation_id,
        n if n == h::USER_ID => &mut msg.user_id,
        n if n == h::TO => &mut msg.to,
        n if n == h::C2D_CONTENT_TYPE => &mut msg.content_type,
        n if n == h::C2D_CONTENT_ENCODING => &mut msg.content_encoding,
        _ => return false,
    };
    field.take().is_some()
}

fn settle_message(
    hub: &Shared,
    device: &DeviceId,
    etag: &str,
    headers: &HeaderMap,
    action: Settle,
) -> DeviceResult<Response> {
    let id = device.as_str();
    let token = unquote(etag);
    if let Some(if_match) = headers.get(axum::http::header::IF_MATCH) {
        let if_match = header_text(if_match);
        let if_match = unquote(if_match.trim().trim_start_matches("W/"));
        if if_match != "*" && if_match != token {
            return Err(DeviceError::new(
                StatusCode::PRECONDITION_FAILED,
                412001,
                "PreconditionFailed",
                "the If-Match header does not match the lock token in the path",
            ));
        }
    }
    let now = hub.clock.now();
    let result = {
        let mut c2d = lock(&hub.c2d);
        match action {
            Settle::Complete => c2d.complete(id, token, now),
            Settle::Reject => c2d.reject(id, token, now),
            Settle::Abandon => c2d.abandon(id, token, now),
        }
    };
    hub.c2d_timer.notify_one();
    if let Err(e) = result {
        tracing::info!(device = id, ?action, error = %e, "HTTPS C2D settlement refused");
        return Err(DeviceError::from_c2d(&e, id));
    }
    tracing::info!(device = id, ?action, "C2D settled over HTTPS");
    if matches!(action, Settle::Abandon) {
        // Visible again: a live MQTT connection of the device may take it.
        hub.wake(id);
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The lock token without surrounding quotes (the SDKs send it either way).
fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_parse_case_insensitively_and_decode_segments() {
        let r = |p: &str| parse_route(p);
        assert_eq!(
            r("/devices/d%201/messages/events"),
            Some(Route::Events("d 1".into()))
        );
        assert_eq!(
            r("/devices/d/Messages/deviceBound"),
            Some(Route::DeviceBound("d".into()))
        );
        assert_eq!(
            r("/devices/d/messages/devicebound/%22tok%22"),
            Some(Route::Message("d".into(), "\"tok\"".into()))
        );
        assert_eq!(
            r("/devices/a%2Fb/messages/DEVICEBOUND/t/Abandon"),
            Some(Route::Abandon("a/b".into(), "t".into()))
        );
        for bad in [
            "/devices",
            "/devices/",
            "/devices/d",
            "/devices/d/messages",
            "/devices/d/messages/other",
            "/devices//messages/events",
            "/devices/d/messages/events/x",
            "/devices/d/messages/devicebound/t/complete",
            "/devices/d/messages/devicebound//abandon",
            "/devices/d/messages/devicebound/t/abandon/x",
            "/devices/d/twin/events",
        ] {
            assert_eq!(r(bad), None, "{bad}");
        }
    }

    #[test]
    fn api_versions() {
        for ok in ["2021-04-12", "2016-11-14", "2020-05-31-preview"] {
            assert!(is_api_version(ok), "{ok}");
        }
        for bad in [
            "",
            "2021",
            "latest",
            "2021-4-12",
            "21-04-2021",
            "2021/04/12",
        ] {
            assert!(!is_api_version(bad), "{bad}");
        }
    }

    #[test]
    fn unquote_and_allowed_headers() {
        assert_eq!(unquote("\"abc\""), "abc");
        assert_eq!(unquote("abc"), "abc");
        assert_eq!(unquote("\"abc"), "\"abc");
        for ok in [
            "Authorization",
            "content-type",
            "If-Match",
            "iothub-app-temp",
            "IoTHub-MessageId",
            " iothub-to ",
        ] {
            assert!(is_allowed_request_header(ok), "{ok}");
        }
        for bad in ["x-custom", "iothub", "cookie", "iothu", ""] {
            assert!(!is_allowed_request_header(bad), "{bad}");
        }
    }

    #[test]
    fn latin1_header_values() {
        let v = HeaderValue::from_bytes(b"a \xe9").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(header_text(&v), "a é");
        assert_eq!(header_text(&HeaderValue::from_static("plain")), "plain");
    }

    #[test]
    fn wire_bytes_counts_line_headers_and_body() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("localhost"));
        headers.insert("iothub-app-k", HeaderValue::from_static("v"));
        let uri: Uri = "/devices/d/messages/events?api-version=2021-04-12"
            .parse()
            .unwrap_or_else(|e| panic!("{e}"));
        let text = "POST /devices/d/messages/events?api-version=2021-04-12 HTTP/1.1\r\n\
                    host: localhost\r\niothub-app-k: v\r\n\r\nhello";
        assert_eq!(
            wire_bytes(&Method::POST, &uri, Version::HTTP_11, &headers, 5),
            text.len()
        );
    }

    #[test]
    fn offenders_are_dropped_one_by_one() {
        let mut msg = Message::new("x")
            .with_message_id("m")
            .with_correlation_id("é")
            .with_property("bad name", "v")
            .with_property("ok", "vé")
            .with_property("keep", "yes");
        let headers = c2d_headers_lossy(&mut msg, "d");
        let get = |n: &str| {
            headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("iothub-messageid"), Some("m"));
        assert_eq!(get("iothub-correlationid"), Some(""));
        assert_eq!(get("iothub-app-keep"), Some("yes"));
        assert_eq!(get("iothub-app-ok"), None);
        assert_eq!(msg.properties.len(), 1);
        assert_eq!(get("ContentType"), Some(""));
    }

    #[test]
    fn batch_forms() {
        let body = br#"[{"body":"aGk=","properties":{"iothub-app-a":"1","iothub-messageid":"m1"}},
                        {"body":"{\"t\":1}","base64Encoded":false,"properties":{"iothub-app-n":2}},
                        {"body":"eA=="}]"#;
        let msgs = parse_batch(body).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(msgs.len(), 3);
        assert_eq!(msgs[0].body, b"hi");
        assert_eq!(msgs[0].message_id.as_deref(), Some("m1"));
        assert_eq!(msgs[0].properties.get("a"), Some("1"));
        assert_eq!(msgs[1].body, br#"{"t":1}"#);
        assert_eq!(msgs[1].properties.get("n"), Some("2"));
        assert_eq!(msgs[2].body, b"x");
        for bad in [
            &b"[]"[..],
            b"{}",
            b"[{\"body\":\"!!\"}]",
            b"[{\"x\":1}]",
            b"not json",
        ] {
            let e = parse_batch(bad)
                .err()
                .unwrap_or_else(|| panic!("accepted {bad:?}"));
            assert_eq!(e.code, 400004);
        }
        let many = format!("[{}]", vec![r#"{"body":""}"#; 501].join(","));
        assert_eq!(
            parse_batch(many.as_bytes()).err().map(|e| e.code),
            Some(413001)
        );
    }
}
