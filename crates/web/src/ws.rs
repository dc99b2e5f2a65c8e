//! WebSocket transport over `ws_stream_wasm`: binary messages carry a byte stream both ways.

use core::time::Duration;

use futures::future::{select, Either};
use futures::{SinkExt, StreamExt};
use pharos::{Filter, Observable};
use ws_stream_wasm::{WsErr, WsEvent, WsMessage, WsMeta, WsStream};

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

/// One open WebSocket connection.
pub(crate) struct WsConn {
    meta: WsMeta,
    stream: WsStream,
    closes: Option<pharos::Events<WsEvent>>,
}

fn map_err(e: WsErr) -> TransportError {
    match e {
        WsErr::InvalidUrl { supplied } => TransportError::InvalidUrl { url: supplied },
        WsErr::ConnectionFailed { event } => TransportError::HandshakeFailed {
            code: event.code,
            reason: event.reason,
        },
        WsErr::ConnectionNotOpen => TransportError::NotOpen,
        other => TransportError::Other(other.to_string()),
    }
}

impl WsConn {
    /// Opens `url` offering `subprotocol`; fails unless the server selects it.
    pub(crate) async fn connect(
        url: &str,
        subprotocol: &'static str,
    ) -> Result<Self, TransportError> {
        let (mut meta, stream) = WsMeta::connect(url, Some(vec![subprotocol]))
            .await
            .map_err(map_err)?;
        // Registered right away so the close event of an early close is not missed.
        let closes = meta
            .observe(Filter::Pointer(WsEvent::is_closed).into())
            .await
            .ok();
        let conn = Self {
            meta,
            stream,
            closes,
        };
        let selected = conn.meta.protocol();
        if !selected.eq_ignore_ascii_case(subprotocol) {
            conn.close().await;
            return Err(TransportError::WrongSubprotocol {
                expected: subprotocol,
                selected,
            });
        }
        Ok(conn)
    }

    /// The next binary message; `None` once the socket is closing or closed.
    pub(crate) async fn recv(&mut self) -> Option<Result<Vec<u8>, TransportError>> {
        match self.stream.next().await? {
            WsMessage::Binary(data) => Some(Ok(data)),
            WsMessage::Text(_) => Some(Err(TransportError::UnexpectedText)),
        }
    }

    /// Sends one binary message.
    pub(crate) async fn send(&mut self, data: Vec<u8>) -> Result<(), TransportError> {
        self.stream
            .send(WsMessage::Binary(data))
            .await
            .map_err(map_err)
    }

    /// Why the socket closed: waits briefly for the browser's close event after
    /// [`recv`](Self::recv) returned `None`.
    pub(crate) async fn close_reason(&mut self) -> TransportError {
        let abnormal = TransportError::Closed {
            code: 1006,
            reason: String::new(),
            was_clean: false,
        };
        let Some(closes) = self.closes.as_mut() else {
            return abnormal;
        };
        match select(closes.next(), sys::sleep(CLOSE_EVENT_WAIT)).await {
            Either::Left((Some(WsEvent::Closed(ev)), _)) => TransportError::Closed {
                code: ev.code,
                reason: ev.reason,
                was_clean: ev.was_clean,
            },
            _ => abnormal,
        }
    }

    /// Closes the socket (normal closure) after everything queued has been sent, waiting a
    /// moment for the closing handshake.
    pub(crate) async fn close(self) {
        let Self { meta, stream, .. } = self;
        // Browsers transmit messages queued with send() before the close frame.
        let _ = select(Box::pin(meta.close()), sys::sleep(CLOSE_EVENT_WAIT)).await;
        drop(stream);
    }
}
