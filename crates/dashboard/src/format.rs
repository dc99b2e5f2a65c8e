//! Small text formatting helpers for the views (pure, so they are tested natively).

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
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// Byte counts for display (`512 B`, `1.5 KiB`).
pub fn bytes(n: u64) -> String {
    if n < 1024 {
        format!("{n} B")
    } else if n < 1024 * 1024 {
        format!("{:.1} KiB", n as f64 / 1024.0)
    } else {
        format!("{:.1} MiB", n as f64 / (1024.0 * 1024.0))
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
