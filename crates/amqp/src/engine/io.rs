//! The engine's output side: frames are encoded straight into one buffer that
//! [`Connection::poll_transmit`](super::Connection::poll_transmit) hands out, and every write
//! stamps the time of the last frame sent (for heartbeats).

use alloc::vec::Vec;
use core::time::Duration;

use crate::frame::{
    encode_amqp_frame, encode_empty_frame, encode_sasl_frame, ProtocolHeader, SaslBody,
    FRAME_HEADER_SIZE,
};
use crate::performative::{Performative, Transfer};
use crate::Encode;

/// Bytes and frames on the wire, in each direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes handed out by `poll_transmit`.
    pub bytes_sent: u64,
    /// Bytes passed to `handle_bytes`.
    pub bytes_received: u64,
    /// Frames written (heartbeats included; protocol headers not).
    pub frames_sent: u64,
    /// Frames received (heartbeats included).
    pub frames_received: u64,
}

pub(super) struct Io {
    pub(super) buf: Vec<u8>,
    scratch: Vec<u8>,
    /// The latest time the host passed in (never decreases).
    pub(super) now: Duration,
    pub(super) last_sent: Duration,
    pub(super) last_received: Duration,
    pub(super) stats: Stats,
    /// Whether our OPEN is out: frames for sessions and links wait in `deferred` until then
    /// (a client may begin sessions while SASL is still running).
    pub(super) open_sent: bool,
    pub(super) deferred: Vec<(u16, Performative)>,
}

impl Io {
    pub(super) fn new(now: Duration) -> Self {
        Self {
            buf: Vec::new(),
            scratch: Vec::new(),
            now,
            last_sent: now,
            last_received: now,
            stats: Stats::default(),
            open_sent: false,
            deferred: Vec::new(),
        }
    }

    fn sent(&mut self) {
        self.stats.frames_sent = self.stats.frames_sent.saturating_add(1);
        self.last_sent = self.now;
    }

    pub(super) fn header(&mut self, h: ProtocolHeader) {
        self.buf.extend_from_slice(&h.to_bytes());
    }

    pub(super) fn sasl<S: SaslBody>(&mut self, body: &S) {
        // The engine's own SASL bodies always encode (no field can exceed 4 GiB here).
        if encode_sasl_frame(&mut self.buf, body).is_ok() {
            self.sent();
        }
    }

    /// A control frame (anything but a transfer); deferred until our OPEN is out.
    pub(super) fn perf(&mut self, channel: u16, p: impl Into<Performative>) {
        let p = p.into();
        if !self.open_sent && !matches!(p, Performative::Open(_) | Performative::Close(_)) {
            self.deferred.push((channel, p));
            return;
        }
        // Control frames built by the engine always encode; the host's own fields (link
        // properties and the like) were checked by encoding them when the command was given.
        if encode_amqp_frame(&mut self.buf, channel, &p, &[]).is_ok() {
            self.sent();
        }
    }

    /// Writes the frames that waited for our OPEN.
    pub(super) fn flush_deferred(&mut self) {
        self.open_sent = true;
        for (channel, p) in core::mem::take(&mut self.deferred) {
            self.perf(channel, p);
        }
    }

    pub(super) fn heartbeat(&mut self) {
        encode_empty_frame(&mut self.buf, 0);
        self.sent();
    }

    /// Frame header plus performative size of a transfer.
    pub(super) fn transfer_overhead(&mut self, t: &Transfer) -> usize {
        self.scratch.clear();
        let n = t.encode(&mut self.scratch).unwrap_or(usize::MAX / 2);
        n.saturating_add(FRAME_HEADER_SIZE)
    }

    pub(super) fn transfer(&mut self, channel: u16, t: &Transfer, payload: &[u8]) {
        if encode_amqp_frame(&mut self.buf, channel, t, payload).is_ok() {
            self.sent();
        }
    }
}
