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
        let (date, ms) = self.split();
        format!("{date}.{ms:03}0000Z")
    }

    /// Formats as RFC 3339 UTC with millisecond precision (`2024-01-02T03:04:05.678Z`).
    pub fn to_rfc3339_millis(self) -> String {
        let (date, ms) = self.split();
        format!("{date}.{ms:03}Z")
    }

    /// `YYYY-MM-DDTHH:MM:SS` and the millisecond part.
    fn split(self) -> (String, u64) {
        let secs = self.0 / 1000;
        let ms = self.0 % 1000;
        let days = secs / 86_400;
        let rem = secs % 86_400;
        // days ≤ u64::MAX / 86_400_000 fits i64 comfortably.
        let (y, m, d) = civil_from_days(days as i64);
        (
            format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
                rem / 3600,
                rem % 3600 / 60,
                rem % 60
            ),
            ms,
        )
    }

    /// Parses an ISO-8601 / RFC 3339 timestamp with `Z` or a numeric offset and 0–9
    /// fractional digits (truncated to milliseconds).
    pub fn parse_iso8601(s: &str) -> Result<Self, TimestampError> {
        let b = s.as_bytes();
        let mut p = Parser { b, pos: 0 };
        let year = p.digits(4)?;
        p.expect(b'-')?;
        let month = p.digits(2)?;
        p.expect(b'-')?;
        let day = p.digits(2)?;
        match p.next() {
            Some(b'T' | b't' | b' ') => {}
            _ => return Err(TimestampError::Malformed),
        }
        let hour = p.digits(2)?;
        p.expect(b':')?;
        let minute = p.digits(2)?;
        p.expect(b':')?;
        let second = p.digits(2)?;
        let mut millis = 0u64;
        if p.peek() == Some(b'.') {
            p.pos += 1;
            let mut n = 0;
            while let Some(c) = p.peek().filter(u8::is_ascii_digit) {
                // Keep three digits; further precision is truncated.
                if n < 3 {
                    millis = millis * 10 + u64::from(c - b'0');
                }
                n += 1;
                p.pos += 1;
            }
            if n == 0 || n > 9 {
                return Err(TimestampError::Malformed);
            }
            for _ in n..3 {
                millis *= 10;
            }
        }
        let offset_secs: i64 = match p.next() {
            Some(b'Z' | b'z') => 0,
            Some(sign @ (b'+' | b'-')) => {
                let oh = p.digits(2)?;
                p.expect(b':')?;
                let om = p.digits(2)?;
                if oh > 23 || om > 59 {
                    return Err(TimestampError::OutOfRange);
                }
                let off = (oh * 3600 + om * 60) as i64;
                if sign == b'-' {
                    -off
                } else {
                    off
                }
            }
            _ => return Err(TimestampError::Malformed),
        };
        if p.pos != b.len() {
            return Err(TimestampError::Malformed);
        }
        // Second 60 is a leap second (RFC 3339); it lands on the next second.
        if !(1..=12).contains(&month)
            || day < 1
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(TimestampError::OutOfRange);
        }
        let days = days_from_civil(year as i64, month, day);
        let secs = days * 86_400 + (hour * 3600 + minute * 60 + second) as i64 - offset_secs;
        let secs = u64::try_from(secs).map_err(|_| TimestampError::OutOfRange)?;
        Ok(Self(secs * 1000 + millis))
    }
}

struct Parser<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.peek();
        self.pos += 1;
        c
    }

    fn expect(&mut self, c: u8) -> Result<(), TimestampError> {
        if self.next() == Some(c) {
            Ok(())
        } else {
            Err(TimestampError::Malformed)
        }
    }

    fn digits(&mut self, n: usize) -> Result<u32, TimestampError> {
        let mut v = 0u32;
        for _ in 0..n {
            match self.next() {
                Some(c @ b'0'..=b'9') => v = v * 10 + u32::from(c - b'0'),
                _ => return Err(TimestampError::Malformed),
            }
        }
        Ok(v)
    }
}

fn is_leap(y: u32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: u32, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (era-based day counting).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(
            Timestamp::from_unix_secs(0).to_iso8601(),
            "1970-01-01T00:00:00.0000000Z"
        );
        assert_eq!(
            Timestamp::from_unix_millis(1_700_000_000_123).to_rfc3339_millis(),
            "2023-11-14T22:13:20.123Z"
        );
        // Leap day.
        assert_eq!(
            Timestamp::from_unix_secs(951_782_400).to_iso8601(),
            "2000-02-29T00:00:00.0000000Z"
        );
    }

    #[test]
    fn parses_hub_expiry_form() {
        // The far-future $.exp seen in SDK fixtures (§4.5).
        let t = Timestamp::parse_iso8601("3237-07-19T23:06:40.0000000Z").unwrap();
        assert_eq!(t.to_iso8601(), "3237-07-19T23:06:40.0000000Z");
        assert_eq!(t.unix_secs(), 40_000_000_000);
    }

    #[test]
    fn parses_variants() {
        let base = Timestamp::from_unix_secs(1_618_997_416); // 2021-04-21T09:30:16Z
        assert_eq!(Timestamp::parse_iso8601("2021-04-21T09:30:16Z"), Ok(base));
        assert_eq!(Timestamp::parse_iso8601("2021-04-21t09:30:16z"), Ok(base));
        assert_eq!(
            Timestamp::parse_iso8601("2021-04-21T11:30:16+02:00"),
            Ok(base)
        );
        assert_eq!(
            Timestamp::parse_iso8601("2021-04-21T08:00:16-01:30"),
            Ok(base)
        );
        assert_eq!(
            Timestamp::parse_iso8601("2021-04-21T09:30:16.1Z")
                .unwrap()
                .unix_millis(),
            base.unix_millis() + 100
        );
        assert_eq!(
            Timestamp::parse_iso8601("2021-04-21T09:30:16.123456789Z")
                .unwrap()
                .unix_millis(),
            base.unix_millis() + 123
        );
    }

    #[test]
    fn rejects_bad_input() {
        for bad in [
            "",
            "2021-04-21",
            "2021-04-21T09:30:16",
            "2021-04-21T09:30:16.Z",
            "2021-04-21T09:30:16.1234567890Z",
            "2021-04-21T09:30:16Zjunk",
            "21-04-21T09:30:16Z",
            "2021-4-21T09:30:16Z",
            "２021-04-21T09:30:16Z",
        ] {
            assert_eq!(
                Timestamp::parse_iso8601(bad),
                Err(TimestampError::Malformed),
                "{bad}"
            );
        }
        for bad in [
            "2021-13-01T00:00:00Z",
            "2021-02-29T00:00:00Z",
            "2021-04-31T00:00:00Z",
            "2021-04-21T24:00:00Z",
            "1969-12-31T23:59:59Z",
            "1970-01-01T00:30:00+01:00",
        ] {
            assert_eq!(
                Timestamp::parse_iso8601(bad),
                Err(TimestampError::OutOfRange),
                "{bad}"
            );
        }
    }

    #[test]
    fn round_trips_many_days() {
        // Every day boundary across four centuries (covers 1900/2000/2100 leap rules).
        let mut day = 0u64;
        while day < 200_000 {
            let t = Timestamp::from_unix_millis(day * 86_400_000 + 12_345);
            assert_eq!(Timestamp::parse_iso8601(&t.to_iso8601()), Ok(t));
            day += 7;
        }
    }
}
