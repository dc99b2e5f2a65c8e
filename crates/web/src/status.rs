//! Connection status, delivery receipts and traffic counters.

use core::fmt;
use core::time::Duration;

use serde::Serialize;

use crate::error::ClientError;

/// Why a connection is being re-established.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReconnectReason {
    /// The connection was lost or an attempt failed.
    ConnectionLost(ClientError),
    /// The SAS token is due for renewal; MQTT cannot re-authenticate in-band, so the client
    /// reconnects with a fresh token (§3.6).
    TokenRenewal,
}

impl ReconnectReason {
    /// Stable machine-readable code.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::ConnectionLost(e) => e.code(),
            Self::TokenRenewal => "TokenRenewal",
        }
    }
}

impl fmt::Display for ReconnectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ConnectionLost(e) => write!(f, "{e}"),
            Self::TokenRenewal => f.write_str("SAS token renewal"),
        }
    }
}

/// Connection status of a device client, reported on every change.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionStatus {
    /// The first connection is being opened.
    Connecting,
    /// Connected and subscribed; messages flow.
    Connected,
    /// The connection is down and will be retried.
    Reconnecting {
        /// 1-based number of the coming attempt (resets after a successful connect).
        attempt: u32,
        /// Delay until the attempt.
        next_try_in: Duration,
        /// What happened.
        reason: ReconnectReason,
    },
    /// Closed by the application.
    Disconnected,
    /// Gave up: the reason is permanent (credentials refused, token expired) or the reconnect
    /// policy is exhausted or disabled.
    Failed {
        /// Why.
        reason: ClientError,
    },
}

impl ConnectionStatus {
    /// Lower-case name: `connecting`, `connected`, `reconnecting`, `disconnected`, `failed`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting { .. } => "reconnecting",
            Self::Disconnected => "disconnected",
            Self::Failed { .. } => "failed",
        }
    }

    /// Whether the client has stopped for good (`Disconnected` or `Failed`).
    #[must_use]
    pub fn is_terminal(&self) -> bool {
        matches!(self, Self::Disconnected | Self::Failed { .. })
    }
}

/// Confirmation that the hub accepted a D2C message (MQTT: PUBACK received; HTTPS: `204`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SendReceipt {
    /// The message id sent (`$.mid`), if any.
    pub message_id: Option<String>,
    /// MQTT packet identifier that was acknowledged (0 on HTTPS).
    pub packet_id: u16,
    /// MQTT: encoded size of the PUBLISH packet in bytes (topic, property bag, body,
    /// framing). HTTPS: request line, the headers this client sets, and the body (the
    /// browser adds headers of its own).
    pub wire_bytes: usize,
    /// Size as the hub counts it against the 256 KiB limit.
    pub message_size: usize,
}

/// Confirmation that the hub accepted a batch of D2C messages (HTTPS `204`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BatchReceipt {
    /// Messages in the batch.
    pub message_count: usize,
    /// Their message ids, in order.
    pub message_ids: Vec<Option<String>>,
    /// Request line, the headers this client sets, and the JSON body.
    pub wire_bytes: usize,
    /// Size of the JSON body (limit 256 KiB).
    pub body_bytes: usize,
}

/// Traffic counters, summed over all connections of a client.
///
/// On HTTPS each request counts as one frame and one packet sent, each response as one
/// frame and one packet received; byte counts are approximate (the browser adds headers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WireStats {
    /// Bytes written to the WebSocket (payload of binary frames).
    pub bytes_sent: u64,
    /// Bytes read from the WebSocket.
    pub bytes_received: u64,
    /// WebSocket messages sent.
    pub frames_sent: u64,
    /// WebSocket messages received.
    pub frames_received: u64,
    /// MQTT packets (AMQP: frames) sent.
    pub packets_sent: u64,
    /// MQTT packets (AMQP: frames) received.
    pub packets_received: u64,
    /// Application messages acknowledged by the peer (QoS 1) or sent (QoS 0).
    pub messages_sent: u64,
    /// Application messages received.
    pub messages_received: u64,
    /// Received messages dropped because their topic could not be understood.
    pub messages_dropped: u64,
    /// Successful connections (CONNACK accepted).
    pub connects: u32,
    /// Connection attempts after the first one (reconnects and token renewals).
    pub reconnect_attempts: u32,
    /// AMQP: SAS tokens renewed on the live connection (CBS put-token accepted; no reconnect).
    pub token_renewals: u32,
}
