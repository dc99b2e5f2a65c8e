//! Service API (`/api/...`): JSON over HTTP for the dashboard, tests and scripts.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine;
use bytes::Bytes;
use futures_util::Stream;
use hubwire_iothub::{limits, Ack, ConnectionString, DeviceId, Message, SasKey};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use crate::c2d::{C2dError, NewMessage};
use crate::hub::{lock, Shared};
use crate::registry::{DeviceRecord, RegistryError};

/// An error answer: `{"errorCode": N, "message": "…"}` with the matching HTTP status.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    code: u32,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, code: u32, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, 400004, message)
    }

    fn device_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            404001,
            format!("device '{id}' not found"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"errorCode": self.code, "message": self.message})),
        )
            .into_response()
    }
}

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        match &e {
            RegistryError::InvalidId(_) | RegistryError::InvalidKey => {
                Self::bad_request(e.to_string())
            }
            RegistryError::Exists(_) => Self::new(StatusCode::CONFLICT, 409001, e.to_string()),
            RegistryError::NotFound(id) => Self::device_not_found(id),
            _ => Self::new(StatusCode::INTERNAL_SERVER_ERROR, 500001, e.to_string()),
        }
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The `/api` routes (mounted at the root router).
pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/hub", get(hub_info))
        .route("/api/devices", get(list_devices).post(create_device))
        .route("/api/devices/{id}", get(get_device).delete(delete_device))
        .route(
            "/api/devices/{id}/messages",
            get(device_queue).post(send_c2d),
        )
        .route("/api/c2d/history", get(c2d_history))
        .route("/api/feedback", get(feedback))
        .route("/api/events", get(events))
        .route("/api/events/stream", get(events_stream))
        .route("/api", axum::routing::any(api_not_found))
        .route("/api/{*rest}", axum::routing::any(api_not_found))
}

/// Known path, wrong method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        405000,
        "method not allowed on this route",
    )
}

async fn api_not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, 404000, "no such service API route")
}

async fn hub_info(State(hub): State<Shared>) -> Json<Value> {
    let hub_name = hub.host_name.split('.').next().unwrap_or(&hub.host_name);
    Json(json!({
        "hostName": hub.host_name,
        "hubName": hub_name,
        "devhub": true,
        "version": env!("CARGO_PKG_VERSION"),
    }))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DeviceView {
    device_id: String,
    connection_string: String,
    primary_key: String,
    secondary_key: String,
    generation_id: String,
    connected: bool,
    protocol: Option<&'static str>,
    c2d_queued: usize,
}

fn device_view(hub: &Shared, d: &DeviceRecord) -> DeviceView {
    let protocol = hub.connection_protocol(&d.device_id);
    DeviceView {
        device_id: d.device_id.clone(),
        connection_string: connection_string(&hub.host_name, d),
        primary_key: d.primary_key.clone(),
        secondary_key: d.secondary_key.clone(),
        generation_id: d.generation_id.clone(),
        connected: protocol.is_some(),
        protocol,
        c2d_queued: lock(&hub.c2d).pending(&d.device_id),
    }
}

fn connection_string(host_name: &str, d: &DeviceRecord) -> String {
    match (
        DeviceId::new(d.device_id.as_str()),
        SasKey::from_base64(&d.primary_key),
    ) {
        (Ok(id), Ok(key)) => {
            ConnectionString::with_device_key(host_name, id, key).to_connection_string()
        }
        // Registry entries are validated on creation; a hand-edited file may still be off.
        _ => format!(
            "HostName={host_name};DeviceId={};SharedAccessKey={}",
            d.device_id, d.primary_key
        ),
    }
}

async fn list_devices(State(hub): State<Shared>) -> Json<Vec<DeviceView>> {
    let records: Vec<DeviceRecord> = lock(&hub.registry).devices().cloned().collect();
    Json(records.iter().map(|d| device_view(&hub, d)).collect())
}

async fn get_device(
    State(hub): State<Shared>,
    Path(id): Path<String>,
) -> ApiResult<Json<DeviceView>> {
    let record = lock(&hub.registry)
        .get(&id)
        .cloned()
        .ok_or_else(|| ApiError::device_not_found(&id))?;
    Ok(Json(device_view(&hub, &record)))
}

fn parse_json<T: for<'de> Deserialize<'de>>(body: &Bytes) -> ApiResult<T> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("invalid JSON body: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateDevice {
    device_id: String,
    primary_key: Option<String>,
}

async fn create_device(State(hub): State<Shared>, body: Bytes) -> ApiResult<Response> {
    let req: CreateDevice = parse_json(&body)?;
    let record = lock(&hub.registry).create(&req.device_id, req.primary_key.as_deref())?;
    lock(&hub.c2d).add_device(&record.device_id, &record.generation_id);
    tracing::info!(device = record.device_id, "device created");
    Ok((StatusCode::CREATED, Json(device_view(&hub, &record))).into_response())
}

async fn delete_device(State(hub): State<Shared>, Path(id): Path<String>) -> ApiResult<StatusCode> {
    lock(&hub.registry).delete(&id)?;
    let purged = lock(&hub.c2d).remove_device(&id, hub.clock.now());
    lock(&hub.sessions).remove(&id);
    hub.kick(&id);
    hub.c2d_timer.notify_one();
    tracing::info!(device = id, purged_c2d = purged, "device deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SendC2d {
    body: Option<String>,
    body_base64: Option<String>,
    message_id: Option<String>,
    correlation_id: Option<String>,
    user_id: Option<String>,
    content_type: Option<String>,
    content_encoding: Option<String>,
    properties: BTreeMap<String, String>,
    ack: Option<String>,
    ttl_seconds: Option<u64>,
}

async fn send_c2d(
    State(hub): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> ApiResult<Response> {
    let req: SendC2d = parse_json(&body)?;
    if lock(&hub.registry).get(&id).is_none() {
        return Err(ApiError::device_not_found(&id));
    }
    let payload = match (&req.body, &req.body_base64) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request(
                "give either body or bodyBase64, not both",
            ))
        }
        (Some(text), None) => text.clone().into_bytes(),
        (None, Some(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| ApiError::bad_request("bodyBase64 is not valid base64"))?,
        (None, None) => Vec::new(),
    };
    let ack = match req.ack.as_deref() {
        None => Ack::None,
        Some(s) => match s.to_ascii_lowercase().as_str() {
            "none" => Ack::None,
            "positive" => Ack::Positive,
            "negative" => Ack::Negative,
            "full" => Ack::Full,
            _ => {
                return Err(ApiError::bad_request(
                    "ack must be none, positive, negative or full",
                ))
            }
        },
    };
    let message_id = match req.message_id {
        Some(mid) => {
            limits::validate_message_id(&mid)
                .map_err(|e| ApiError::bad_request(format!("messageId: {e}")))?;
            mid
        }
        None => new_uuid()?,
    };
    let mut msg = Message::new(payload)
        .with_message_id(message_id.clone())
        .with_ack(ack);
    msg.correlation_id = req.correlation_id;
    msg.user_id = req.user_id;
    msg.content_type = req.content_type;
    msg.content_encoding = req.content_encoding;
    for (k, v) in req.properties {
        msg.properties.insert(k, v);
    }
    let now = hub.clock.now();
    let ttl = req.ttl_seconds.map(Duration::from_secs);
    if let Some(ttl) = ttl {
        if ttl.is_zero() {
            return Err(ApiError::bad_request("ttlSeconds must be positive"));
        }
    }
    let max_ttl = lock(&hub.c2d).config().max_ttl;
    if let Some(ttl) = ttl {
        // The device sees the absolute expiry (`$.exp`) only when the sender set one.
        msg.absolute_expiry = Some(hub.clock.utc(now + ttl.min(max_ttl)));
    }
    if let Err(e) = limits::check_c2d(&msg) {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            413001,
            e.to_string(),
        ));
    }
    let new = NewMessage {
        message: msg,
        message_id: message_id.clone(),
        ack,
        ttl,
    };
    let result = lock(&hub.c2d).enqueue(&id, new, now);
    let enqueued = result.map_err(|e| match e {
        C2dError::QueueFull { .. } => ApiError::new(
            StatusCode::FORBIDDEN,
            403004,
            format!("device '{id}' already has the maximum of 50 pending cloud-to-device messages"),
        ),
        C2dError::DeviceNotFound => ApiError::device_not_found(&id),
        other => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, 500001, other.to_string()),
    })?;
    tracing::info!(
        device = id,
        message_id,
        sequence_number = enqueued.sequence_number,
        ack = ack.as_str(),
        "C2D enqueued"
    );
    hub.c2d_timer.notify_one();
    hub.wake(&id);
    Ok((
        StatusCode::CREATED,
        Json(json!({"messageId": message_id, "sequenceNumber": enqueued.sequence_number})),
    )
        .into_response())
}

fn utc(hub: &Shared, at: Duration) -> String {
    hub.clock.utc(at).to_rfc3339_millis()
}

async fn device_queue(State(hub): State<Shared>, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let queue = lock(&hub.c2d)
        .queue(&id)
        .map_err(|_| ApiError::device_not_found(&id))?;
    let items: Vec<Value> = queue
        .iter()
        .map(|q| {
            json!({
                "messageId": q.message_id,
                "sequenceNumber": q.sequence_number,
                "state": q.state.as_str(),
                "deliveryCount": q.delivery_count,
                "enqueuedTimeUtc": utc(&hub, q.enqueued_at),
                "expiryTimeUtc": utc(&hub, q.expires_at),
                "lockedUntilUtc": q.lock_expires_at.map(|t| utc(&hub, t)),
            })
        })
        .collect();
    Ok(Json(Value::Array(items)))
}

async fn c2d_history(State(hub): State<Shared>) -> Json<Value> {
    let c2d = lock(&hub.c2d);
    let items: Vec<Value> = c2d
        .history()
        .map(|h| {
            json!({
                "deviceId": h.device_id,
                "messageId": h.message_id,
                "sequenceNumber": h.sequence_number,
                "outcome": h.outcome.as_str(),
                "deliveryCount": h.delivery_count,
                "at": utc(&hub, h.at),
            })
        })
        .collect();
    Json(Value::Array(items))
}

async fn feedback(State(hub): State<Shared>) -> Json<Value> {
    let c2d = lock(&hub.c2d);
    let items: Vec<Value> = c2d
        .feedback()
        .map(|f| {
            json!({
                "originalMessageId": f.original_message_id,
                "enqueuedTimeUtc": utc(&hub, f.enqueued_at),
                "statusCode": f.status.as_str(),
                "description": f.status.description(),
                "deviceId": f.device_id,
                "deviceGenerationId": f.device_generation_id,
            })
        })
        .collect();
    Json(Value::Array(items))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct EventsQuery {
    since: Option<u64>,
    device_id: Option<String>,
}

async fn events(
    State(hub): State<Shared>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Response> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let list = lock(&hub.events).since(q.since.unwrap_or(0), q.device_id.as_deref());
    let list: Vec<&crate::hub::D2cEvent> = list.iter().map(|e| &**e).collect();
    Ok(Json(list).into_response())
}

async fn events_stream(
    State(hub): State<Shared>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, Infallible>>>> {
    let Query(q) = query.map_err(|e| ApiError::bad_request(e.body_text()))?;
    let rx = hub.events_tx.subscribe();
    let device = q.device_id;
    let stream = futures_util::stream::unfold((rx, device), |(mut rx, device)| async move {
        loop {
            match rx.recv().await {
                Ok(ev) => {
                    if device.as_deref().is_some_and(|d| d != ev.device_id) {
                        continue;
                    }
                    let data = serde_json::to_string(&*ev).unwrap_or_default();
                    let event = Event::default().data(data);
                    return Some((Ok(event), (rx, device)));
                }
                // A slow reader missed events; it can catch up through /api/events?since=.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A random version-4 UUID string from the operating system's CSPRNG.
fn new_uuid() -> ApiResult<String> {
    let mut b = [0u8; 16];
    crate::registry::fill_random(&mut b)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, 500001, e.to_string()))?;
    let (hi, lo) = b.split_at(8);
    let hi = u64::from_le_bytes(hi.try_into().unwrap_or_default());
    let lo = u64::from_le_bytes(lo.try_into().unwrap_or_default());
    Ok(crate::c2d::uuid_string(hi, lo))
}
