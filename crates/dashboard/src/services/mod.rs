//! The devhub service API. Every HTTP call goes through [`request`], which turns transport
//! failures, error statuses and unreadable answers into one typed [`ServiceError`].

pub(crate) mod devices;
pub(crate) mod events;
pub(crate) mod hub;
pub(crate) mod storage;

use core::fmt;

use gloo_net::http::{Method, RequestBuilder};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::types::ErrorBody;

/// Why a service call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum ServiceError {
    /// The request never got an answer (hub down, CORS refused, offline).
    Network(String),
    /// The hub answered with an error status.
    Status {
        /// HTTP status.
        status: u16,
        /// IoT Hub error code from the body, if any.
        code: Option<u64>,
        /// Message from the body, or the status text.
        message: String,
    },
    /// The answer was not the JSON expected.
    Decode(String),
    /// The request body could not be built.
    Encode(String),
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Network(reason) => write!(f, "network error: {reason}"),
            Self::Status {
                status,
                code: Some(code),
                message,
            } => write!(f, "HTTP {status} ({code}): {message}"),
            Self::Status {
                status, message, ..
            } => write!(f, "HTTP {status}: {message}"),
            Self::Decode(reason) => write!(f, "unexpected answer: {reason}"),
            Self::Encode(reason) => write!(f, "cannot build request: {reason}"),
        }
    }
}

/// An empty JSON body marker for requests without one.
pub(crate) const NO_BODY: Option<&()> = None;

/// Makes one JSON request and decodes the JSON answer.
pub(crate) async fn request<T, B>(
    method: Method,
    url: &str,
    body: Option<&B>,
) -> Result<T, ServiceError>
where
    T: DeserializeOwned,
    B: Serialize + ?Sized,
{
    let builder = RequestBuilder::new(url)
        .method(method)
        .header("Accept", "application/json");
    let request = match body {
        Some(body) => builder
            .json(body)
            .map_err(|e| ServiceError::Encode(e.to_string()))?,
        None => builder
            .build()
            .map_err(|e| ServiceError::Encode(e.to_string()))?,
    };
    let response = request
        .send()
        .await
        .map_err(|e| ServiceError::Network(e.to_string()))?;
    let status = response.status();
    let text = response
        .text()
        .await
        .map_err(|e| ServiceError::Network(e.to_string()))?;
    if !response.ok() {
        let parsed: ErrorBody = serde_json::from_str(&text).unwrap_or_default();
        let message = parsed.message.unwrap_or_else(|| match shorten(&text) {
            "" => response.status_text(),
            short => short.to_owned(),
        });
        return Err(ServiceError::Status {
            status,
            code: parsed.error_code,
            message,
        });
    }
    serde_json::from_str(&text).map_err(|e| ServiceError::Decode(e.to_string()))
}

/// The first line of an error body, cut to a readable length on a character boundary.
fn shorten(text: &str) -> &str {
    let line = text.trim().lines().next().unwrap_or_default();
    match line.char_indices().nth(160) {
        Some((cut, _)) => line.get(..cut).unwrap_or(line),
        None => line,
    }
}

/// Encodes one path segment (device ids may contain `?`, `#`, `%`, `$` …).
pub(crate) fn segment(raw: &str) -> String {
    String::from(js_sys::encode_uri_component(raw))
}
