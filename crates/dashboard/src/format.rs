//! Small text formatting helpers for the views (pure, so they are tested natively).
//!
//! Numbers are printed and read by [`Fixed`], [`Num`] and [`parse_decimal`] with integer
//! arithmetic instead of `{:.1}`, `f64: Display` and `str::parse::<f64>`: the page needs a
//! handful of decimals, and core's general float printing and parsing would add some 20 KB to
//! the wasm for that.

use core::fmt;

/// `v` with exactly `.1` decimals, rounded half to even like `{:.N}`; shown as `{v:.N}` would
/// show it for the magnitudes the page prints (below 10¹⁵). Non-finite values print as `NaN`,
/// `inf` or `-inf`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fixed(pub f64, pub u8);

impl fmt::Display for Fixed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self(v, decimals) = *self;
        if v.is_nan() {
            return f.write_str("NaN");
        }
        if v.is_infinite() {
            return f.write_str(if v < 0.0 { "-inf" } else { "inf" });
        }
        let decimals = decimals.min(6);
        let scale = 10u64.pow(u32::from(decimals));
        let scaled = round_scaled(v.abs(), scale as f64);
        if v < 0.0 && scaled != 0 {
            f.write_str("-")?;
        }
        let (int, frac) = (scaled / scale, scaled % scale);
        if decimals == 0 {
            write!(f, "{int}")
        } else {
            write!(f, "{int}.{frac:0width$}", width = usize::from(decimals))
        }
    }
}

/// `a × scale` rounded to an integer the way `{:.N}` rounds `a` (`a ≥ 0`): by the exact decimal
/// value of `a`, ties to even. The float product can round onto a tie (`0.05 × 10 = 0.5`, while
/// the double nearest 0.05 is slightly above it), so a tie is settled by the product's exact
/// rounding error (Dekker's two-product, no FMA needed). Saturates far beyond anything shown.
fn round_scaled(a: f64, scale: f64) -> u64 {
    let product = a * scale;
    let floor = product.floor();
    let fraction = product - floor;
    let rounded = if fraction > 0.5 {
        floor + 1.0
    } else if fraction < 0.5 {
        floor
    } else {
        let error = product_error(a, scale, product);
        if error > 0.0 || (error == 0.0 && floor % 2.0 != 0.0) {
            floor + 1.0
        } else {
            floor
        }
    };
    rounded as u64
}

/// The exact `a × b − product` for `product = a × b` rounded (Dekker/Veltkamp).
fn product_error(a: f64, b: f64, product: f64) -> f64 {
    let split = |x: f64| {
        let c = 134_217_729.0 * x; // 2^27 + 1
        let high = c - (c - x);
        (high, x - high)
    };
    let (ah, al) = split(a);
    let (bh, bl) = split(b);
    ((ah * bh - product) + ah * bl + al * bh) + al * bl
}

/// `v` in the fewest decimals (at most 3) that show it: `50`, `12.5`, `0.125`, like
/// `f64: Display` for such numbers.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Num(pub f64);

impl fmt::Display for Num {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = Fixed(self.0, 3).to_string();
        let text = match text.contains('.') {
            true => text.trim_end_matches('0').trim_end_matches('.'),
            false => &text,
        };
        f.write_str(text)
    }
}

/// Reads a decimal number as typed into a form (`12`, `0.5`, `.5`, `2.`, `1e3`, `+3`, `-1`);
/// anything else (empty, `inf`, `NaN`, stray characters) is `None`.
pub fn parse_decimal(text: &str) -> Option<f64> {
    let (negative, rest) = match text.as_bytes().first() {
        Some(b'-') => (true, text.get(1..)?),
        Some(b'+') => (false, text.get(1..)?),
        _ => (false, text),
    };
    let (mantissa, exponent) = match rest.find(['e', 'E']) {
        Some(at) => (rest.get(..at)?, Some(rest.get(at + 1..)?)),
        None => (rest, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut digits: u64 = 0;
    let mut shift: i32 = 0;
    for (i, b) in int.bytes().chain(frac.bytes()).enumerate() {
        if !b.is_ascii_digit() {
            return None;
        }
        // Past 18 digits the value no longer changes what the page does; keep the magnitude.
        if digits < 100_000_000_000_000_000 {
            digits = digits * 10 + u64::from(b - b'0');
            if i >= int.len() {
                shift -= 1;
            }
        } else if i < int.len() {
            shift += 1;
        }
    }
    if let Some(exponent) = exponent {
        let (sign, e) = match exponent.as_bytes().first() {
            Some(b'-') => (-1, exponent.get(1..)?),
            Some(b'+') => (1, exponent.get(1..)?),
            _ => (1, exponent),
        };
        if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let e: i32 = e.get(..e.len().min(4))?.parse().ok()?;
        shift += sign * e;
    }
    let magnitude = digits as f64 * 10f64.powi(shift);
    Some(if negative { -magnitude } else { magnitude })
}

/// `HH:MM:SS` (UTC) of a Unix time in milliseconds; negative or non-finite input reads as 0.
pub fn clock_label(unix_ms: f64) -> String {
    let secs = if unix_ms.is_finite() && unix_ms > 0.0 {
        (unix_ms / 1000.0) as u64
    } else {
        0
    };
    let day = secs % 86_400;
    format!("{:02}:{:02}:{:02}", day / 3600, day % 3600 / 60, day % 60)
}

/// The time-of-day part of an RFC 3339 timestamp (`2024-05-01T12:34:56.789Z` → `12:34:56`),
/// or the input unchanged when it does not look like one.
pub fn time_of_day(rfc3339: &str) -> &str {
    rfc3339
        .split_once('T')
        .and_then(|(_, time)| time.get(..8))
        .unwrap_or(rfc3339)
}

/// Latency for display: sub-10 ms values keep one decimal.
pub fn latency(ms: f64) -> String {
    if !ms.is_finite() || ms < 0.0 {
        "?".to_owned()
    } else if ms < 10.0 {
        format!("{} ms", Fixed(ms, 1))
    } else {
        format!("{} ms", Fixed(ms, 0))
    }
}

/// Byte counts for display (`512 B`, `1.5 KiB`).
pub fn bytes(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{} KiB", Fixed(n as f64 / 1024.0, 1))
    } else {
        format!("{} MiB", Fixed(n as f64 / (1024.0 * 1024.0), 1))
    }
}

/// A Unix time in seconds as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn unix_secs_utc(secs: u64) -> String {
    let iso = hubwire_iothub::time::Timestamp::from_unix_secs(secs).to_rfc3339_millis();
    // `2024-01-02T03:04:05.000Z` → `2024-01-02 03:04:05 UTC`
    match iso.get(..19) {
        Some(head) => format!("{} UTC", head.replacen('T', " ", 1)),
        None => iso,
    }
}

/// Seconds for a retry countdown (`retry in 4 s`).
pub fn retry_in(ms: u64) -> String {
    format!("{} s", ms.div_ceil(1000))
}

/// A countdown in whole seconds: `4 s` under a minute, then `m:ss`, then `h:mm:ss`.
pub fn countdown(secs: u64) -> String {
    if secs < 60 {
        format!("{secs} s")
    } else if secs < 3600 {
        format!("{}:{:02}", secs / 60, secs % 60)
    } else {
        format!("{}:{:02}:{:02}", secs / 3600, secs % 3600 / 60, secs % 60)
    }
}

/// A poll interval for display: `5 s`, `2 min`, `25 min`, `90 s`.
pub fn interval(secs: u64) -> String {
    if secs >= 60 && secs % 60 == 0 {
        format!("{} min", secs / 60)
    } else {
        format!("{secs} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_read_as_utc_date_and_time() {
        assert_eq!(unix_secs_utc(1_700_000_000), "2023-11-14 22:13:20 UTC");
        assert_eq!(unix_secs_utc(0), "1970-01-01 00:00:00 UTC");
    }

    #[test]
    fn clock_label_is_utc_time_of_day() {
        // 2024-01-01T13:05:09Z
        assert_eq!(clock_label(1_704_114_309_000.0), "13:05:09");
        assert_eq!(clock_label(-5.0), "00:00:00");
        assert_eq!(clock_label(f64::NAN), "00:00:00");
    }

    #[test]
    fn time_of_day_extracts_or_passes_through() {
        assert_eq!(time_of_day("2024-05-01T12:34:56.789Z"), "12:34:56");
        assert_eq!(time_of_day("yesterday"), "yesterday");
        assert_eq!(time_of_day("2024-05-01T12:3"), "2024-05-01T12:3");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(latency(3.25), "3.2 ms");
        assert_eq!(latency(42.7), "43 ms");
        assert_eq!(latency(-1.0), "?");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(3 * 1024 * 1024), "3.0 MiB");
        assert_eq!(retry_in(1), "1 s");
        assert_eq!(retry_in(4000), "4 s");
        assert_eq!(retry_in(4001), "5 s");
    }

    #[test]
    fn fixed_matches_core_float_formatting() {
        let values = [
            0.0,
            0.04,
            0.05,
            0.15,
            0.25,
            0.35,
            1.0,
            2.5,
            3.25,
            9.95,
            42.7,
            99.99,
            184.0,
            588.0,
            1023.96,
            12_345.678,
            -1.25,
            -3.75,
            -7.0,
            1e9 + 0.5,
        ];
        for v in values {
            for d in [0u8, 1, 2] {
                assert_eq!(
                    Fixed(v, d).to_string(),
                    format!("{v:.*}", usize::from(d)),
                    "{v} with {d} decimals"
                );
            }
        }
        // core keeps the sign of a value that rounds to zero; the page never shows `-0`.
        assert_eq!(Fixed(-0.04, 1).to_string(), "0.0");
        assert_eq!(Fixed(-0.0, 0).to_string(), "0");
        assert_eq!(Fixed(f64::NAN, 1).to_string(), "NaN");
        assert_eq!(Fixed(f64::NEG_INFINITY, 1).to_string(), "-inf");
    }

    #[test]
    fn num_prints_like_display_for_short_decimals() {
        for v in [0.0, 50.0, 1000.0, 2500.0, 12.5, 0.125, 0.1, 33.25, -4.5] {
            assert_eq!(Num(v).to_string(), v.to_string(), "{v}");
        }
    }

    #[test]
    fn parse_decimal_reads_what_forms_accept() {
        for text in [
            "12", "0.5", ".5", "2.", "1e3", "2.5E-1", "+3", "-1", "007", "1000", "0.1", "49.99",
        ] {
            let core: f64 = text.parse().unwrap();
            let ours = parse_decimal(text).unwrap();
            assert!(
                (ours - core).abs() <= core.abs() * 1e-12,
                "{text}: {ours} vs {core}"
            );
        }
        for text in [
            "", ".", "-", "+", "e3", "1e", "1e+", "inf", "NaN", "1.2.3", "1,5", " 1", "0x10",
            "1_000",
        ] {
            assert_eq!(parse_decimal(text), None, "{text:?}");
        }
        // Long inputs keep their magnitude.
        let long = parse_decimal("123456789012345678901234").unwrap();
        assert!((long / 1.234_567_890_123_456_8e23 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn countdowns_and_intervals_read_well() {
        assert_eq!(countdown(0), "0 s");
        assert_eq!(countdown(59), "59 s");
        assert_eq!(countdown(60), "1:00");
        assert_eq!(countdown(1499), "24:59");
        assert_eq!(countdown(3725), "1:02:05");
        assert_eq!(interval(5), "5 s");
        assert_eq!(interval(90), "90 s");
        assert_eq!(interval(1500), "25 min");
    }
}
