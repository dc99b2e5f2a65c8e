//! W2 — AMQP 1.0 transfer codec (a `transfer` frame carrying properties, three application
//! properties and a 256-byte data section; 369-byte frames for i = 0 in the compact encoding).
//!
//! Every codec implements [`W2Codec`] with the three loops of the workload. Frame sizes vary
//! with i (the message-id has more digits, the delivery-id, correlation-id and seq need wider
//! encodings), so each loop returns a [`Tally`]: its checksum and the wire bytes it produced or
//! read, from which MB/s is computed. The payload generator and FNV-1a are W1's
//! ([`crate::w1::PAYLOAD`], [`crate::w1::fnv1a`]).

use core::fmt;

#[cfg(feature = "peers")]
mod fe2o3;
mod hubwire;

#[cfg(feature = "peers")]
pub use self::fe2o3::Fe2o3W2;
pub use self::hubwire::HubwireW2;
pub use crate::w1::{fnv1a, PAYLOAD, PAYLOAD_LEN};

/// Frames in the headline (`combined`) loop.
pub const N: u64 = 200_000;
/// Untimed iterations run before each timed loop.
pub const WARMUP: u64 = 20_000;
/// Frames in each secondary loop (`encode_only`, `decode_only`).
pub const SECONDARY_N: u64 = N / 4;

/// Size of frame 0 in the compact encoding (smallest constructors, list8/map8, no header
/// section): hubwire-amqp and fe2o3-amqp-types both write it.
pub const FRAME0_LEN: usize = 369;
/// FNV-1a 32 of frame 0 in the compact encoding.
pub const FRAME0_FNV1A: u32 = 0x1614_fe12;
/// The `combined` checksum for `N` frames, as given by the workload definition.
pub const COMBINED_CHECKSUM_200K: u64 = 40_051_000_000;

/// Content type of every message.
pub const CONTENT_TYPE: &str = "application/json";
/// Content encoding of every message.
pub const CONTENT_ENCODING: &str = "utf-8";

/// What one loop produced: its checksum and the encoded wire bytes it handled (each byte once).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// The loop's checksum (see the loop's documentation).
    pub checksum: u64,
    /// Wire bytes encoded and/or decoded, each frame counted once.
    pub bytes: u64,
}

/// Delivery-id, seq and correlation-id of frame `i`; the workload's indices fit in u32.
#[inline]
#[must_use]
pub const fn delivery_id(i: u64) -> u32 {
    i as u32
}

/// Expected `combined` checksum for frames `start .. start + n`: the sum of
/// `delivery-id + seq + data length`, with seq = delivery-id = i.
#[must_use]
pub fn combined_checksum(start: u64, n: u64) -> u64 {
    (start..start + n)
        .map(|i| 2 * u64::from(delivery_id(i)) + PAYLOAD_LEN as u64)
        .sum()
}

/// Expected `decode_only` checksum for `n` decodes of frame 0 (delivery-id 0, seq 0).
#[must_use]
pub const fn decode_only_checksum(n: u64) -> u64 {
    n * PAYLOAD_LEN as u64
}

fn decimal_digits(mut v: u64) -> usize {
    let mut d = 1;
    while v >= 10 {
        v /= 10;
        d += 1;
    }
    d
}

/// Size of frame `i` in the compact encoding, worked out from the AMQP type system rather than
/// by running a codec: frame 0 plus the extra digits of `msg-<i>`, and the wider forms of the
/// delivery-id (uint0 → smalluint → uint), correlation-id (ulong0 → smallulong → ulong) and seq
/// (smallint → int above 127). All compounds stay in their 8-bit forms.
#[must_use]
pub fn compact_frame_len(i: u64) -> usize {
    let id = u64::from(delivery_id(i));
    let widen = |small: usize, large: usize| match id {
        0 => 0,
        1..=255 => small,
        _ => large,
    };
    let seq = if id <= 127 { 0 } else { 3 };
    FRAME0_LEN + (decimal_digits(id) - 1) + widen(1, 4) + widen(1, 8) + seq
}

/// Expected `encode_only` byte count for frames `start .. start + n` in the compact encoding.
#[must_use]
pub fn compact_bytes(start: u64, n: u64) -> u64 {
    (start..start + n)
        .map(|i| compact_frame_len(i) as u64)
        .sum()
}

/// A loop failed: a codec rejected its own output or decoded something else than it encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct W2Error(pub String);

impl fmt::Display for W2Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "W2 loop failed: {}", self.0)
    }
}

impl std::error::Error for W2Error {}

impl W2Error {
    pub(crate) fn new(what: impl fmt::Display) -> Self {
        Self(what.to_string())
    }
}

/// The three W2 loops for one codec.
pub trait W2Codec {
    /// Name used in reports.
    const NAME: &'static str;

    /// The encoding of frame 0 (for the fingerprint check).
    fn first_frame(&mut self) -> Result<Vec<u8>, W2Error>;

    /// Headline loop over frames `start .. start + n`: build a fresh message and transfer,
    /// encode the message, then the frame around it, decode the frame (performative + payload),
    /// then the message; the checksum adds `delivery-id + seq + data length`.
    fn combined(&mut self, start: u64, n: u64) -> Result<Tally, W2Error>;

    /// Builds and encodes frames `start .. start + n`; the checksum is the bytes written.
    fn encode_only(&mut self, start: u64, n: u64) -> Result<Tally, W2Error>;

    /// Decodes frame 0 (performative, then message) `n` times; the checksum adds
    /// `delivery-id + seq + data length`.
    fn decode_only(&mut self, n: u64) -> Result<Tally, W2Error>;
}

#[cfg(test)]
mod tests;
