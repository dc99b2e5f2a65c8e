//! W1 — MQTT 3.1.1 PUBLISH codec (QoS 1, 77-byte topic, 256-byte payload, 340-byte packets).
//!
//! Every codec implements [`W1Codec`] with the three loops of the workload. The loops return a
//! checksum the caller compares with [`combined_checksum`] / [`encode_only_checksum`] /
//! [`decode_only_checksum`]: a run whose checksum differs is invalid.

use core::fmt;

mod hubwire;
#[cfg(feature = "peers")]
mod rumqttc;

pub use self::hubwire::HubwireW1;
#[cfg(feature = "peers")]
pub use self::rumqttc::RumqttcW1;

/// Packets in the headline (`combined`) loop.
pub const N: u64 = 1_000_000;
/// Untimed iterations run before each timed loop.
pub const WARMUP: u64 = 100_000;
/// Packets in each secondary loop (`encode_only`, `decode_only`).
pub const SECONDARY_N: u64 = N / 4;

/// The PUBLISH topic (77 bytes): an IoT Hub device-to-cloud topic with a property bag.
pub const TOPIC: &str =
    "devices/dev1/messages/events/%24.ct=application%2Fjson&%24.ce=utf-8&temp=high";
/// Length of [`PAYLOAD`].
pub const PAYLOAD_LEN: usize = 256;
/// Encoded size of every W1 packet: fixed header `32 d1 02`, remaining length 337.
pub const ENCODED_LEN: usize = 340;
/// FNV-1a 32 of the encoding of packet 0, identical in every conforming implementation.
pub const PACKET0_FNV1A: u32 = 0x6e7e_df1e;
/// The `combined` checksum for `N` packets, as given by the workload definition.
pub const COMBINED_CHECKSUM_1M: u64 = 32_611_847_000;

/// Seed of the payload generator.
const PAYLOAD_SEED: u32 = 0x1234_5678;

/// Builds the workload payload: xorshift32 from [`PAYLOAD_SEED`], one step per byte, each byte
/// the low 8 bits of the new state.
#[must_use]
pub const fn payload() -> [u8; PAYLOAD_LEN] {
    let mut out = [0u8; PAYLOAD_LEN];
    let mut s = PAYLOAD_SEED;
    let mut i = 0;
    while i < PAYLOAD_LEN {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        out[i] = s as u8;
        i += 1;
    }
    out
}

/// The workload payload, computed at compile time.
pub static PAYLOAD: [u8; PAYLOAD_LEN] = payload();

/// FNV-1a, 32 bit (offset basis 0x811c9dc5, prime 0x01000193).
#[must_use]
pub fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

/// Packet identifier of packet `i`: cycles 1 … 65535.
#[inline]
#[must_use]
pub const fn packet_id(i: u64) -> u16 {
    // The remainder is below 65535, so the cast cannot truncate.
    (i % 65_535) as u16 + 1
}

/// Expected `combined` checksum for packets `start .. start + n`: the sum of
/// `packet_id + payload length` over those packets.
#[must_use]
pub fn combined_checksum(start: u64, n: u64) -> u64 {
    (start..start + n)
        .map(|i| u64::from(packet_id(i)) + PAYLOAD_LEN as u64)
        .sum()
}

/// Expected `encode_only` checksum for `n` packets: the bytes written.
#[must_use]
pub const fn encode_only_checksum(n: u64) -> u64 {
    n * ENCODED_LEN as u64
}

/// Expected `decode_only` checksum for `n` decodes of packet 0.
#[must_use]
pub const fn decode_only_checksum(n: u64) -> u64 {
    n * (1 + PAYLOAD_LEN as u64)
}

/// A loop failed: a codec rejected its own output or decoded something else than it encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct W1Error(pub String);

impl fmt::Display for W1Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "W1 loop failed: {}", self.0)
    }
}

impl std::error::Error for W1Error {}

impl W1Error {
    pub(crate) fn new(what: impl fmt::Display) -> Self {
        Self(what.to_string())
    }
}

/// The three W1 loops for one codec. Each method returns its checksum.
pub trait W1Codec {
    /// Name used in reports.
    const NAME: &'static str;

    /// The encoding of packet 0 (for the fingerprint check).
    fn first_packet(&mut self) -> Result<Vec<u8>, W1Error>;

    /// Headline loop over packets `start .. start + n`: build a fresh publish value, encode it,
    /// decode the bytes, add `packet_id + payload length` of the decoded packet.
    fn combined(&mut self, start: u64, n: u64) -> Result<u64, W1Error>;

    /// Builds and encodes packets `start .. start + n`; returns the bytes written.
    fn encode_only(&mut self, start: u64, n: u64) -> Result<u64, W1Error>;

    /// Decodes the encoding of packet 0 `n` times, giving the decoder a fresh copy each time if
    /// it consumes its input; adds `packet_id + payload length`.
    fn decode_only(&mut self, n: u64) -> Result<u64, W1Error>;
}

#[cfg(test)]
mod tests;
