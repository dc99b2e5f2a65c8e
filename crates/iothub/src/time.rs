//! Timestamps as carried by IoT Hub messages (`$.exp`, `$.ctime`, enqueued time).
//!
//! Pure calendar arithmetic; nothing here reads a clock.

use core::fmt;

/// A point in time as milliseconds since the Unix epoch (UTC).
///
/// Serialized (with the `serde` feature) as a plain number of milliseconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Timestamp(u64);

/// Why a string is not an accepted ISO-8601 timestamp.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The text does not have the shape `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`.
    #[error("not an ISO-8601 UTC timestamp")]
    Malformed,
    /// A field is out of range (month 13, hour 25, …) or the instant is before 1970.
    #[error("timestamp field out of range")]
    OutOfRange,
}

impl Timestamp {
    /// From milliseconds since the Unix epoch.
    pub const fn from_unix_millis(ms: u64) -> Self {
        Self(ms)
    }

    /// From seconds since the Unix epoch (saturating).
    pub const fn from_unix_secs(secs: u64) -> Self {
        Self(secs.saturating_mul(1000))
    }

    /// Milliseconds since the Unix epoch.
    pub const fn unix_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds since the Unix epoch (rounded down).
    pub const fn unix_secs(self) -> u64 {
        self.0 / 1000
    }

    /// Formats as ISO-8601 UTC with seven fractional digits, the form the hub uses in
    /// `$.exp` (e.g. `3237-07-19T23:06:40.0000000Z`).
    pub fn to_iso8601(self) -> String {
        todo!()
    }

    /// Formats as RFC 3339 UTC with millisecond precision (`2024-01-02T03:04:05.678Z`).
    pub fn to_rfc3339_millis(self) -> String {
        todo!()
    }

    /// Parses an ISO-8601 / RFC 3339 timestamp with `Z` or a numeric offset and 0–9
    /// fractional digits (truncated to milliseconds).
    pub fn parse_iso8601(s: &str) -> Result<Self, TimestampError> {
        todo!("{s}")
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.to_rfc3339_millis())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339_millis())
    }
}
