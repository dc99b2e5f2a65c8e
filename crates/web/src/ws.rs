//! WebSocket transport over the browser's `WebSocket`: binary messages carry a byte stream both
//! ways.
//!
//! One event handler feeds one channel, so messages and the close event arrive in the order the
//! browser dispatched them. (A thin adapter instead of a general WebSocket crate: this is all the
//! clients need, and the page downloads less.)

use core::pin::pin;
use core::time::Duration;

use futures::channel::mpsc;
use futures::future::{select, Either};
use futures::StreamExt;
use js_sys::{ArrayBuffer, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{BinaryType, CloseEvent, DomException, Event, MessageEvent, WebSocket};

use crate::error::TransportError;
use crate::sys;

/// Subprotocol of MQTT over WebSocket.
#[cfg(feature = "mqtt")]
pub const MQTT_SUBPROTOCOL: &str = "mqtt";

/// Subprotocol of AMQP over WebSocket as IoT Hub requires it (the draft-era name, not the
/// OASIS `amqp`).
#[cfg(feature = "amqp")]
pub const AMQP_SUBPROTOCOL: &str = "AMQPWSB10";

/// How long to wait for the browser's close event after the stream ended.
const CLOSE_EVENT_WAIT: Duration = Duration::from_secs(2);

/// What the handler forwards.
enum WsEvent {
    Open,
    Binary(Vec<u8>),
    Text,
    Closed(TransportError),
}

/// One open WebSocket connection. Dropping it closes the socket.
pub(crate) struct WsConn {
    ws: WebSocket,
    events: mpsc::UnboundedReceiver<WsEvent>,
    /// The close event, once seen.
    closed: Option<TransportError>,
    // Kept alive while the socket may call it; `Drop` detaches it first.
    _handler: Closure<dyn FnMut(Event)>,
}

impl WsConn {
    /// Opens `url` offering `subprotocol`; fails unless the server selects it.
    pub(crate) async fn connect(
        url: &str,
        subprotocol: &'static str,
    ) -> Result<Self, TransportError> {
        let ws = WebSocket::new_with_str(url, subprotocol).map_err(|e| {
            match e.dyn_ref::<DomException>() {
                Some(d) if d.code() == DomException::SYNTAX_ERR => {
                    TransportError::InvalidUrl { url: url.into() }
                }
                Some(d) => TransportError::Other(d.message()),
                None => TransportError::Other("cannot create a WebSocket".into()),
            }
        })?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let (tx, events) = mpsc::unbounded();
        let handler = Closure::<dyn FnMut(Event)>::new(move |ev: Event| {
            let event = if let Some(m) = ev.dyn_ref::<MessageEvent>() {
                match m.data().dyn_into::<ArrayBuffer>() {
                    Ok(buf) => WsEvent::Binary(Uint8Array::new(&buf).to_vec()),
                    // With binaryType "arraybuffer" anything else is a text frame.
                    Err(_) => WsEvent::Text,
                }
            } else if let Some(c) = ev.dyn_ref::<CloseEvent>() {
                WsEvent::Closed(TransportError::Closed {
                    code: c.code(),
                    reason: c.reason(),
                    was_clean: c.was_clean(),
                })
            } else {
                WsEvent::Open
            };
            // The receiver is gone only after the connection was dropped, which detaches us.
            let _ = tx.unbounded_send(event);
        });
        let f = handler.as_ref().unchecked_ref();
        ws.set_onopen(Some(f));
        ws.set_onmessage(Some(f));
        ws.set_onclose(Some(f));
        // From here on dropping `conn` (a failed or abandoned handshake) closes the socket.
        let mut conn = Self {
            ws,
            events,
            closed: None,
            _handler: handler,
        };
        // A failed handshake ends with a close event (after an error event, which adds nothing).
        match conn.events.next().await {
            Some(WsEvent::Open) => {}
            Some(WsEvent::Closed(TransportError::Closed { code, reason, .. })) => {
                return Err(TransportError::HandshakeFailed { code, reason });
            }
            _ => return Err(TransportError::NotOpen),
        }
        let selected = conn.ws.protocol();
        if !selected.eq_ignore_ascii_case(subprotocol) {
            conn.close().await;
            return Err(TransportError::WrongSubprotocol {
                expected: subprotocol,
                selected,
            });
        }
        Ok(conn)
    }

    /// The next binary message; `None` once the socket is closed.
    pub(crate) async fn recv(&mut self) -> Option<Result<Vec<u8>, TransportError>> {
        if self.closed.is_some() {
            return None;
        }
        loop {
            match self.events.next().await? {
                WsEvent::Binary(data) => return Some(Ok(data)),
                WsEvent::Text => return Some(Err(TransportError::UnexpectedText)),
                WsEvent::Closed(reason) => {
                    self.closed = Some(reason);
                    return None;
                }
                WsEvent::Open => {}
            }
        }
    }

    /// Sends one binary message.
    pub(crate) async fn send(&mut self, data: Vec<u8>) -> Result<(), TransportError> {
        if self.ws.ready_state() != WebSocket::OPEN {
            return Err(TransportError::NotOpen);
        }
        self.ws.send_with_u8_array(&data).map_err(|e| {
            TransportError::Other(
                e.dyn_ref::<DomException>()
                    .map_or_else(|| "send failed".into(), DomException::message),
            )
        })
    }

    /// Waits up to `CLOSE_EVENT_WAIT` for the close event (dropping any messages before it).
    async fn wait_closed(&mut self) {
        if self.closed.is_some() {
            return;
        }
        let events = &mut self.events;
        let next_close = async {
            while let Some(ev) = events.next().await {
                if let WsEvent::Closed(reason) = ev {
                    return Some(reason);
                }
            }
            None
        };
        if let Either::Left((Some(reason), _)) =
            select(pin!(next_close), sys::sleep(CLOSE_EVENT_WAIT)).await
        {
            self.closed = Some(reason);
        }
    }

    /// Why the socket closed: waits briefly for the browser's close event after
    /// [`recv`](Self::recv) returned `None`.
    pub(crate) async fn close_reason(&mut self) -> TransportError {
        self.wait_closed().await;
        self.closed.clone().unwrap_or(TransportError::Closed {
            code: 1006,
            reason: String::new(),
            was_clean: false,
        })
    }

    /// Closes the socket (normal closure) after everything queued has been sent, waiting a
    /// moment for the closing handshake.
    pub(crate) async fn close(mut self) {
        // Browsers transmit messages queued with send() before the close frame. Without a code
        // `close()` cannot throw.
        if self.ws.ready_state() <= WebSocket::OPEN {
            let _ = self.ws.close();
        }
        self.wait_closed().await;
    }
}

impl Drop for WsConn {
    fn drop(&mut self) {
        if self.ws.ready_state() <= WebSocket::OPEN {
            let _ = self.ws.close();
        }
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
    }
}
