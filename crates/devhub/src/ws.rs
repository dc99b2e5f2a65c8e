//! `/$iothub/websocket`: subprotocol negotiation and the WebSocket byte stream.
//!
//! IoT Hub multiplexes MQTT (`mqtt`) and AMQP (`AMQPWSB10`) on one path and picks the protocol
//! by subprotocol. Each protocol is a handler that receives a [`WsStream`]: binary WebSocket
//! messages form a byte stream both ways, with no alignment to packets or frames.

use std::net::SocketAddr;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message as WsMessage, WebSocket};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::hub::Shared;

/// Largest WebSocket message accepted. MQTT packets are bounded separately by the session;
/// this only stops a peer from making the WebSocket layer buffer without limit.
const MAX_WS_MESSAGE: usize = 1024 * 1024;

/// Largest WebSocket message on an AMQP connection. AMQP frames are bounded by the engine
/// (65536 bytes), but a client may write all frames of a 1 MB message as one WebSocket message.
const MAX_AMQP_WS_MESSAGE: usize = 4 * 1024 * 1024;

/// Protocols carried on `/$iothub/websocket`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WsProtocol {
    /// MQTT 3.1.1 (subprotocol `mqtt`, any case).
    Mqtt,
    /// AMQP 1.0 (subprotocol `AMQPWSB10`, any case).
    Amqp,
}

impl WsProtocol {
    fn from_subprotocol(p: &str) -> Option<Self> {
        if p.eq_ignore_ascii_case("mqtt") {
            Some(Self::Mqtt)
        } else if p.eq_ignore_ascii_case("AMQPWSB10") {
            Some(Self::Amqp)
        } else {
            None
        }
    }
}

/// Picks the first supported subprotocol the client offered, with the client's spelling
/// (browsers require the answer to match one of their offers exactly).
pub(crate) fn negotiate<'a>(
    offered: impl Iterator<Item = &'a HeaderValue>,
) -> Option<(WsProtocol, HeaderValue)> {
    offered
        .filter_map(|v| {
            let p = WsProtocol::from_subprotocol(v.to_str().ok()?.trim())?;
            Some((p, v.clone()))
        })
        .next()
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response()
}

/// Handler of `GET /$iothub/websocket` (the query string, e.g. `iothub-no-client-cert=true`,
/// is ignored).
pub(crate) async fn upgrade(
    State(hub): State<Shared>,
    peer: Option<axum::Extension<axum::extract::ConnectInfo<SocketAddr>>>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let mut ws = match ws {
        Ok(ws) => ws,
        Err(e) => return bad_request(&format!("WebSocket upgrade required: {e}")),
    };
    let peer = peer.map(|p| p.0 .0);
    let Some((protocol, spelling)) = negotiate(ws.requested_protocols()) else {
        tracing::info!(?peer, "WebSocket upgrade refused: no supported subprotocol");
        return bad_request(
            "unsupported WebSocket subprotocol: use Sec-WebSocket-Protocol: mqtt (MQTT 3.1.1) \
             or AMQPWSB10 (AMQP 1.0)",
        );
    };
    match protocol {
        WsProtocol::Mqtt => {
            ws.set_selected_protocol(spelling);
            // Extensions are never negotiated, so permessage-deflate offers are declined.
            ws.max_message_size(MAX_WS_MESSAGE)
                .max_frame_size(MAX_WS_MESSAGE)
                .on_upgrade(move |socket| crate::mqtt::serve(hub, WsStream::new(socket), peer))
        }
        WsProtocol::Amqp => {
            ws.set_selected_protocol(spelling);
            ws.max_message_size(MAX_AMQP_WS_MESSAGE)
                .max_frame_size(MAX_AMQP_WS_MESSAGE)
                .on_upgrade(move |socket| crate::amqp::serve(hub, WsStream::new(socket), peer))
        }
    }
}

/// A WebSocket used as a byte stream: binary messages in both directions, packet boundaries
/// independent of message boundaries.
pub(crate) struct WsStream {
    socket: WebSocket,
}

/// Something that arrived on a [`WsStream`].
#[derive(Debug)]
pub(crate) enum WsInput {
    /// Bytes of the stream.
    Data(Bytes),
    /// The peer closed the WebSocket or the connection dropped.
    Closed,
    /// The peer broke the byte-stream convention (text message) or the WebSocket protocol.
    Invalid(String),
}

impl WsStream {
    pub(crate) fn new(socket: WebSocket) -> Self {
        Self { socket }
    }

    /// Next bytes from the peer; pings and pongs are handled by the WebSocket layer.
    pub(crate) async fn recv(&mut self) -> WsInput {
        loop {
            return match self.socket.recv().await {
                Some(Ok(WsMessage::Binary(b))) => WsInput::Data(b),
                Some(Ok(WsMessage::Text(_))) => {
                    WsInput::Invalid("text WebSocket message on a binary stream".to_owned())
                }
                Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_))) => continue,
                Some(Ok(WsMessage::Close(_))) | None => WsInput::Closed,
                Some(Err(e)) => WsInput::Invalid(e.to_string()),
            };
        }
    }

    /// Sends bytes as one binary message.
    pub(crate) async fn send(&mut self, data: Vec<u8>) -> Result<(), axum::Error> {
        self.socket.send(WsMessage::Binary(Bytes::from(data))).await
    }

    /// Closes the WebSocket (best effort).
    pub(crate) async fn close(mut self) {
        let _ = self.socket.send(WsMessage::Close(None)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(values: &[&'static str]) -> Option<(WsProtocol, HeaderValue)> {
        let v: Vec<HeaderValue> = values.iter().map(|s| HeaderValue::from_static(s)).collect();
        negotiate(v.iter())
    }

    #[test]
    fn mqtt_is_matched_case_insensitively_keeping_the_spelling() {
        assert_eq!(
            offer(&["MQTT"]),
            Some((WsProtocol::Mqtt, HeaderValue::from_static("MQTT")))
        );
        assert_eq!(
            offer(&["foo", "mqtt"]),
            Some((WsProtocol::Mqtt, HeaderValue::from_static("mqtt")))
        );
        assert_eq!(offer(&["amqpwsb10"]).map(|p| p.0), Some(WsProtocol::Amqp));
        assert_eq!(offer(&["mqttv3.1", "amqp"]), None);
        assert_eq!(offer(&[]), None);
    }
}
