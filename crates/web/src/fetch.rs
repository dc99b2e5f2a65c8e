//! The HTTPS device API over the browser's `fetch` (§6): send one event or a batch, receive
//! one C2D message, settle it.
//!
//! `fetch` rejects with a `TypeError` when it gets no response it may show the page: a CORS
//! refusal and a network failure look the same from JavaScript. That is reported as
//! [`HttpError::CorsOrNetwork`], whose message says what can be done, never as a generic
//! failure. Responses with an error status map to the other typed [`HttpError`]s.

use core::cell::RefCell;
use core::time::Duration;
use std::rc::Rc;

use futures::future::{select, Either};
use hubwire_iothub::{limits, ConnectionString, DeviceId, Message, TokenPolicy};
use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Headers, Request, RequestCache, RequestInit, RequestMode, Response,
};

use crate::error::{ClientError, HttpError, SendError, SettleError};
use crate::events::Shared;
use crate::https::{self, Endpoint, ErrorBody, ErrorInfo, Settle, TokenCache};
use crate::status::{BatchReceipt, ConnectionStatus, SendReceipt};
use crate::sys;

#[wasm_bindgen]
extern "C" {
    // The global `fetch` exists in windows and workers alike, so no `window()` lookup.
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(request: &Request) -> Promise;
}

/// A response as read from `fetch`.
struct HttpResponse {
    status: u16,
    /// Names as the browser gives them (lower case).
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl HttpResponse {
    fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The typed error of a non-2xx response.
    fn error(&self) -> HttpError {
        let info = ErrorInfo::new(
            error_body(&self.body),
            self.header("iothub-errorcode"),
            &self.body,
        );
        let retry_after = self
            .header("retry-after")
            .and_then(https::parse_retry_after);
        https::classify(self.status, &info, retry_after)
    }
}

/// Reads `Message`/`message` and `errorCode` from a JSON error body.
fn error_body(body: &[u8]) -> Option<ErrorBody> {
    let text = core::str::from_utf8(body).ok()?;
    let value = js_sys::JSON::parse(text).ok()?;
    if !value.is_object() {
        return None;
    }
    let field = |k: &str| Reflect::get(&value, &JsValue::from_str(k)).ok();
    let message = field("Message")
        .and_then(|v| v.as_string())
        .or_else(|| field("message").and_then(|v| v.as_string()));
    let error_code = field("errorCode").and_then(|v| {
        if let Some(n) = v.as_f64() {
            // Integral and in range, so the cast is exact.
            (n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(&n)).then_some(n as u32)
        } else {
            v.as_string().and_then(|s| s.trim().parse().ok())
        }
    });
    Some(ErrorBody {
        message,
        error_code,
    })
}

/// The browser's text for a rejected promise or thrown value.
fn js_message(e: &JsValue) -> String {
    if let Some(err) = e.dyn_ref::<js_sys::Error>() {
        String::from(err.message())
    } else {
        e.as_string().unwrap_or_else(|| "unknown error".into())
    }
}

fn invalid_request(e: &JsValue) -> HttpError {
    HttpError::InvalidRequest {
        reason: js_message(e),
    }
}

/// The device's HTTPS requests, shared by the client handle and the poller task.
pub(crate) struct HttpCore {
    endpoint: Endpoint,
    tokens: RefCell<TokenCache>,
    timeout: Duration,
    shared: Rc<RefCell<Shared>>,
}

impl HttpCore {
    pub(crate) fn new(
        base_url: &str,
        device: &DeviceId,
        identity: ConnectionString,
        token_policy: TokenPolicy,
        timeout: Duration,
        shared: Rc<RefCell<Shared>>,
    ) -> Self {
        Self {
            endpoint: Endpoint::new(base_url, device),
            tokens: RefCell::new(TokenCache::new(identity, token_policy)),
            timeout,
            shared,
        }
    }

    pub(crate) fn shared(&self) -> &Rc<RefCell<Shared>> {
        &self.shared
    }

    /// A permanent failure found by any request: the client stops for good.
    fn fail(&self, error: ClientError) {
        let mut sh = self.shared.borrow_mut();
        if !sh.status.is_terminal() {
            sh.set_status(ConnectionStatus::Failed { reason: error });
            sh.close_listeners();
        }
    }

    /// Waits for `promise` at most until `deadline`; aborts the request on timeout.
    async fn await_js(
        &self,
        promise: Promise,
        url: &str,
        deadline: Duration,
        abort: Option<&AbortController>,
    ) -> Result<JsValue, HttpError> {
        let left = deadline.saturating_sub(sys::now());
        match select(JsFuture::from(promise), sys::sleep(left)).await {
            Either::Left((Ok(v), _)) => Ok(v),
            Either::Left((Err(e), _)) => {
                // `fetch` (and reading the body) reject with a TypeError for CORS refusals
                // and network failures alike; anything else is unexpected.
                if e.is_instance_of::<js_sys::TypeError>() {
                    Err(HttpError::CorsOrNetwork {
                        url: https::without_query(url).into(),
                        detail: js_message(&e),
                    })
                } else {
                    Err(HttpError::InvalidRequest {
                        reason: js_message(&e),
                    })
                }
            }
            Either::Right(((), _)) => {
                if let Some(a) = abort {
                    a.abort();
                }
                Err(HttpError::Timeout {
                    url: https::without_query(url).into(),
                })
            }
        }
    }

    /// One request with a fresh-enough SAS token; returns the response whatever its status.
    async fn request(
        &self,
        method: &str,
        url: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Result<HttpResponse, ClientError> {
        if let ConnectionStatus::Failed { reason } = &self.shared.borrow().status {
            return Err(reason.clone());
        }
        let authorization = self
            .tokens
            .borrow_mut()
            .authorization(sys::unix_secs())
            .map_err(|e| {
                let e = ClientError::Token(e);
                self.fail(e.clone());
                e
            })?;
        let js_headers = Headers::new().map_err(|e| invalid_request(&e))?;
        js_headers
            .append(hubwire_iothub::http::headers::AUTHORIZATION, &authorization)
            .map_err(|e| invalid_request(&e))?;
        for (name, value) in headers {
            js_headers
                .append(name, value)
                .map_err(|e| invalid_request(&e))?;
        }
        let init = RequestInit::new();
        init.set_method(method);
        init.set_headers(&js_headers);
        init.set_mode(RequestMode::Cors);
        // Every poll must reach the hub; a cached 204 would hide messages.
        init.set_cache(RequestCache::NoStore);
        if let Some(body) = body {
            init.set_body(&Uint8Array::from(body));
        }
        let abort = AbortController::new().ok();
        if let Some(a) = &abort {
            init.set_signal(Some(&a.signal()));
        }
        let request =
            Request::new_with_str_and_init(url, &init).map_err(|e| invalid_request(&e))?;
        {
            let mut sh = self.shared.borrow_mut();
            let size = https::request_size(method, url, headers, body.map_or(0, <[u8]>::len));
            sh.stats.bytes_sent += size as u64;
            sh.stats.frames_sent += 1;
            sh.stats.packets_sent += 1;
        }
        let deadline = sys::now().saturating_add(self.timeout);
        let value = self
            .await_js(global_fetch(&request), url, deadline, abort.as_ref())
            .await?;
        let response: Response = value.dyn_into().map_err(|_| HttpError::InvalidResponse {
            reason: "fetch resolved with something other than a Response".into(),
        })?;
        let status = response.status();
        let mut header_list = Vec::new();
        for entry in response.headers().entries() {
            let Ok(entry) = entry else { continue };
            let pair = js_sys::Array::from(&entry);
            if let (Some(n), Some(v)) = (pair.get(0).as_string(), pair.get(1).as_string()) {
                header_list.push((n, v));
            }
        }
        let buffer = response.array_buffer().map_err(|e| invalid_request(&e))?;
        let buffer = self.await_js(buffer, url, deadline, abort.as_ref()).await?;
        let body = Uint8Array::new(&buffer).to_vec();
        {
            let mut sh = self.shared.borrow_mut();
            let head: usize = header_list.iter().map(|(n, v)| n.len() + v.len() + 4).sum();
            sh.stats.bytes_received += (head + body.len()) as u64;
            sh.stats.frames_received += 1;
            sh.stats.packets_received += 1;
        }
        Ok(HttpResponse {
            status,
            headers: header_list,
            body,
        })
    }

    /// `POST …/messages/events` with the properties as headers; resolves on `204`.
    pub(crate) async fn send_event(&self, message: Message) -> Result<SendReceipt, SendError> {
        limits::check_d2c(&message)?;
        let message_size = limits::message_size(&message);
        let headers = https::event_headers(&message)?;
        let url = self.endpoint.events();
        let wire_bytes = https::request_size("POST", &url, &headers, message.body.len());
        let response = self
            .request("POST", &url, &headers, Some(&message.body))
            .await
            .map_err(send_error)?;
        if !response.is_success() {
            return Err(SendError::Http(response.error()));
        }
        self.shared.borrow_mut().stats.messages_sent += 1;
        Ok(SendReceipt {
            message_id: message.message_id,
            packet_id: 0,
            wire_bytes,
            message_size,
        })
    }

    /// `POST …/messages/events` with a JSON batch body; resolves on `204`.
    pub(crate) async fn send_batch(
        &self,
        messages: Vec<Message>,
    ) -> Result<BatchReceipt, SendError> {
        let batch = https::batch_body(&messages)?;
        let headers = vec![(
            "Content-Type".to_owned(),
            https::BATCH_CONTENT_TYPE.to_owned(),
        )];
        let url = self.endpoint.events();
        let wire_bytes = https::request_size("POST", &url, &headers, batch.body.len());
        let response = self
            .request("POST", &url, &headers, Some(batch.body.as_bytes()))
            .await
            .map_err(send_error)?;
        if !response.is_success() {
            return Err(SendError::Http(response.error()));
        }
        self.shared.borrow_mut().stats.messages_sent += messages.len() as u64;
        Ok(BatchReceipt {
            message_count: messages.len(),
            message_ids: batch.message_ids,
            wire_bytes,
            body_bytes: batch.body.len(),
        })
    }

    /// `GET …/messages/deviceBound`: `None` on `204`, else the message (now locked) and its
    /// lock token.
    pub(crate) async fn receive(&self) -> Result<Option<(Message, String)>, ClientError> {
        let url = self.endpoint.device_bound();
        let response = self.request("GET", &url, &[], None).await?;
        match response.status {
            204 => Ok(None),
            200 => {
                let headers = response
                    .headers
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()));
                let received = https::received_message(headers, response.body.clone())?;
                self.shared.borrow_mut().stats.messages_received += 1;
                Ok(Some(received))
            }
            s if (200..300).contains(&s) => Err(HttpError::InvalidResponse {
                reason: format!("unexpected status {s} for a C2D receive"),
            }
            .into()),
            _ => Err(response.error().into()),
        }
    }

    /// Completes, abandons or rejects the message locked with `lock_token`.
    pub(crate) async fn settle(&self, lock_token: &str, op: Settle) -> Result<(), SettleError> {
        if lock_token.is_empty() {
            return Err(SettleError::UnknownLockToken);
        }
        let (method, url) = self.endpoint.settle(lock_token, op);
        // The SDKs repeat the token in If-Match; the hub checks the one in the path.
        let headers = vec![("If-Match".to_owned(), format!("\"{lock_token}\""))];
        let response = self
            .request(method, &url, &headers, None)
            .await
            .map_err(|e| match e {
                ClientError::Http(e) => SettleError::Http(e),
                ClientError::Closed => SettleError::Closed,
                other => SettleError::Failed(Box::new(other)),
            })?;
        if response.is_success() {
            Ok(())
        } else {
            Err(SettleError::Http(response.error()))
        }
    }
}

fn send_error(e: ClientError) -> SendError {
    match e {
        ClientError::Http(e) => SendError::Http(e),
        ClientError::Closed => SendError::Closed,
        other => SendError::Failed(Box::new(other)),
    }
}
