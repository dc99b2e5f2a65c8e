//! Device-to-cloud events: `GET /api/events?since=` and the `GET /api/events/stream`
//! Server-Sent Events feed.

use gloo_net::http::Method;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{EventSource, MessageEvent};
use yew::Callback;

use super::{request, ServiceError, NO_BODY};
use crate::state::hub_url::HubUrl;
use crate::types::EventRecord;

/// Stored events with a sequence number above `since`, oldest first.
pub(crate) async fn since(hub: &HubUrl, since: u64) -> Result<Vec<EventRecord>, ServiceError> {
    request(
        Method::GET,
        &hub.api(&format!("/api/events?since={since}")),
        NO_BODY,
    )
    .await
}

/// What the stream reports.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum StreamSignal {
    /// The stream is (re)open: fetch the backlog to close any gap.
    Open,
    /// One event.
    Event(Box<EventRecord>),
    /// An event that did not parse (shown, not fatal).
    Garbled(String),
    /// The connection dropped; the browser retries by itself.
    Retrying,
    /// The browser gave up on the stream (e.g. the server answered with an error status).
    Closed,
}

/// An open `EventSource`; dropping it closes the stream.
pub(crate) struct EventStream {
    source: EventSource,
    // Kept alive for as long as the source may call them.
    _on_open: Closure<dyn FnMut(web_sys::Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl EventStream {
    /// Opens `/api/events/stream` and reports through `on_signal`.
    pub(crate) fn open(
        hub: &HubUrl,
        on_signal: Callback<StreamSignal>,
    ) -> Result<Self, ServiceError> {
        let source = EventSource::new(&hub.api("/api/events/stream"))
            .map_err(|e| ServiceError::Network(format!("{e:?}")))?;
        let on_open = {
            let on_signal = on_signal.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| on_signal.emit(StreamSignal::Open))
        };
        let on_message = {
            let on_signal = on_signal.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let Some(text) = event.data().as_string() else {
                    on_signal.emit(StreamSignal::Garbled("non-text event".into()));
                    return;
                };
                match serde_json::from_str::<EventRecord>(&text) {
                    Ok(record) => on_signal.emit(StreamSignal::Event(Box::new(record))),
                    Err(e) => on_signal.emit(StreamSignal::Garbled(e.to_string())),
                }
            })
        };
        let on_error = {
            let source = source.clone();
            Closure::<dyn FnMut(web_sys::Event)>::new(move |_| {
                if source.ready_state() == EventSource::CLOSED {
                    on_signal.emit(StreamSignal::Closed);
                } else {
                    on_signal.emit(StreamSignal::Retrying);
                }
            })
        };
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        source.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self {
            source,
            _on_open: on_open,
            _on_message: on_message,
            _on_error: on_error,
        })
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.source.set_onopen(None);
        self.source.set_onmessage(None);
        self.source.set_onerror(None);
        self.source.close();
    }
}
