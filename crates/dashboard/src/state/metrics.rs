//! Protocol measurements the dashboard plots: one [`Sample`] per acknowledged D2C message,
//! from single-device sessions and from the field gateway alike.

use crate::state::device::Protocol;

/// Where a measured message came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SampleOrigin {
    /// A device session of its own (one connection per device).
    Device,
    /// A simulated device multiplexed over the field gateway's one AMQP/WebSocket connection.
    Gateway,
}

/// One acknowledged device-to-cloud message.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The transport it went over.
    pub protocol: Protocol,
    /// Device session or field gateway.
    pub origin: SampleOrigin,
    /// Body size in bytes.
    pub body_bytes: u64,
    /// Bytes the message took on the wire as the client reports it (framing, properties,
    /// headers and body), when it does.
    pub wire_bytes: Option<u64>,
    /// Time from handing the message to the client to the hub's acknowledgement.
    pub latency_ms: f64,
    /// When the acknowledgement arrived, in the page's `performance.now()` milliseconds.
    pub at_ms: f64,
}
