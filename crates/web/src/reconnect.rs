//! Reconnect policy: jittered exponential back-off. Pure arithmetic, unit-tested natively.

use core::time::Duration;

use crate::error::ClientError;

/// When and how often to reconnect after a connection is lost.
///
/// The delay before attempt `n` (1-based) is `min(max_delay, initial_delay × multiplier^(n-1))`,
/// of which the share `jitter` is randomized: with `r` uniform in `[0, 1)` the delay is
/// `base × (1 − jitter × r)`. Randomizing spreads the reconnects of many pages after a hub
/// outage.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct ReconnectPolicy {
    /// Reconnect at all. When `false` a lost connection ends in `Failed`.
    pub enabled: bool,
    /// Delay before the first attempt.
    pub initial_delay: Duration,
    /// Largest delay.
    pub max_delay: Duration,
    /// Growth per attempt (≥ 1).
    pub multiplier: f64,
    /// Randomized share of each delay, 0–1.
    pub jitter: f64,
    /// Give up after this many consecutive failed attempts (`None`: never).
    pub max_attempts: Option<u32>,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        Self {
            enabled: true,
            initial_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            multiplier: 2.0,
            jitter: 0.5,
            max_attempts: None,
        }
    }
}

impl ReconnectPolicy {
    /// A policy that never reconnects.
    #[must_use]
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    /// Exponential back-off from `initial` up to `max`, default multiplier and jitter.
    #[must_use]
    pub fn exponential(initial: Duration, max: Duration) -> Self {
        Self {
            initial_delay: initial,
            max_delay: max,
            ..Self::default()
        }
    }

    /// Sets the jitter share (clamped to 0–1).
    #[must_use]
    pub fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = if jitter.is_nan() {
            0.0
        } else {
            jitter.clamp(0.0, 1.0)
        };
        self
    }

    /// Sets the attempt limit.
    #[must_use]
    pub fn with_max_attempts(mut self, max: Option<u32>) -> Self {
        self.max_attempts = max;
        self
    }

    /// The un-jittered delay before attempt `attempt` (1-based; 0 is treated as 1).
    #[must_use]
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let initial = self.initial_delay.as_secs_f64();
        let max = self.max_delay.as_secs_f64().max(0.0);
        let mult = if self.multiplier.is_finite() {
            self.multiplier.max(1.0)
        } else {
            1.0
        };
        // Cap the exponent: beyond it the product is above any sensible maximum anyway.
        let exp = attempt.saturating_sub(1).min(64);
        let mut secs = initial;
        for _ in 0..exp {
            secs *= mult;
            if secs >= max {
                break;
            }
        }
        secs_to_duration(secs.min(max))
    }

    /// The delay before attempt `attempt`, jittered with `random` in `[0, 1)`.
    #[must_use]
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let base = self.base_delay(attempt).as_secs_f64();
        let jitter = if self.jitter.is_nan() {
            0.0
        } else {
            self.jitter.clamp(0.0, 1.0)
        };
        let r = if random.is_nan() {
            0.0
        } else {
            random.clamp(0.0, 1.0)
        };
        secs_to_duration(base * (1.0 - jitter * r))
    }

    /// Whether attempt number `attempt` (1-based) may be made.
    #[must_use]
    pub fn allows(&self, attempt: u32) -> bool {
        self.enabled && self.max_attempts.is_none_or(|max| attempt <= max)
    }

    /// What a client does after an established connection (or a retry) failed with `error`:
    /// counts the attempt, then either the jittered delay before trying again, or the reason
    /// to give up with (a permanent error, reconnecting off, or the attempts used up).
    /// `random` is drawn only when a retry follows.
    // The drivers that call it are browser-only; the native build keeps it for its tests.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    pub(crate) fn after_failure(
        &self,
        attempt: &mut u32,
        error: ClientError,
        random: impl FnOnce() -> f64,
    ) -> Result<Duration, ClientError> {
        *attempt += 1;
        if !error.is_transient() || !self.enabled {
            return Err(error);
        }
        if !self.allows(*attempt) {
            return Err(ClientError::RetriesExhausted {
                attempts: attempt.saturating_sub(1),
                last: Box::new(error),
            });
        }
        Ok(self.delay(*attempt, random()))
    }
}

/// Seconds to a `Duration` without the panics of `from_secs_f64` (negative, NaN, too large).
fn secs_to_duration(secs: f64) -> Duration {
    if secs.is_nan() || secs <= 0.0 {
        Duration::ZERO
    } else {
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // Also run in the browser suite (the scripts run this crate's tests only on wasm32).
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn base_delays_double_up_to_the_cap() {
        let p = ReconnectPolicy::exponential(Duration::from_secs(1), Duration::from_secs(10));
        let secs: Vec<f64> = (1..=6).map(|a| p.base_delay(a).as_secs_f64()).collect();
        assert_eq!(secs, vec![1.0, 2.0, 4.0, 8.0, 10.0, 10.0]);
        assert_eq!(p.base_delay(0), Duration::from_secs(1));
        assert_eq!(p.base_delay(u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn jitter_shrinks_the_delay_by_at_most_its_share() {
        let p = ReconnectPolicy::exponential(Duration::from_secs(4), Duration::from_secs(60))
            .with_jitter(0.5);
        assert_eq!(p.delay(1, 0.0), Duration::from_secs(4));
        assert_eq!(p.delay(1, 0.5), Duration::from_secs(3));
        assert_eq!(p.delay(1, 1.0), Duration::from_secs(2));
        // Out-of-range randomness is clamped, never negative or larger than the base.
        assert_eq!(p.delay(1, 7.0), Duration::from_secs(2));
        assert_eq!(p.delay(1, -1.0), Duration::from_secs(4));
        assert_eq!(p.delay(1, f64::NAN), Duration::from_secs(4));
        let no_jitter = p.with_jitter(0.0);
        assert_eq!(no_jitter.delay(2, 0.9), Duration::from_secs(8));
    }

    #[test]
    fn jittered_schedule_stays_within_bounds() {
        let p = ReconnectPolicy::default();
        let mut seed = 0x2545_f491_u32;
        for attempt in 1..50 {
            // xorshift: deterministic pseudo-random values in [0, 1).
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let r = f64::from(seed) / (f64::from(u32::MAX) + 1.0);
            let d = p.delay(attempt, r);
            let base = p.base_delay(attempt);
            assert!(d <= base, "attempt {attempt}: {d:?} > {base:?}");
            assert!(d >= base / 2, "attempt {attempt}: {d:?} < half of {base:?}");
            assert!(d <= Duration::from_secs(60));
        }
    }

    #[test]
    fn degenerate_settings_do_not_panic() {
        let mut p = ReconnectPolicy::exponential(Duration::ZERO, Duration::ZERO);
        p.multiplier = f64::INFINITY;
        assert_eq!(p.delay(10, 0.3), Duration::ZERO);
        p.multiplier = 0.1; // below 1 behaves like 1: no shrinking delays
        p.initial_delay = Duration::from_secs(2);
        p.max_delay = Duration::from_secs(5);
        assert_eq!(p.base_delay(5), Duration::from_secs(2));
        // Durations too large for f64 round trips saturate instead of panicking.
        let huge = ReconnectPolicy::exponential(Duration::MAX, Duration::MAX);
        assert_eq!(huge.delay(3, 0.0), Duration::MAX);
        assert!(huge.delay(3, 0.5) > Duration::from_secs(u64::MAX / 4));
        // max below initial: the cap wins.
        p.max_delay = Duration::from_secs(1);
        assert_eq!(p.base_delay(1), Duration::from_secs(1));
    }

    #[test]
    fn attempt_limit_and_disabled() {
        let p = ReconnectPolicy::default().with_max_attempts(Some(3));
        assert!(p.allows(1) && p.allows(3));
        assert!(!p.allows(4));
        assert!(ReconnectPolicy::default().allows(1_000_000));
        assert!(!ReconnectPolicy::disabled().allows(1));
    }

    #[test]
    fn after_failure_retries_transient_errors_until_the_attempts_run_out() {
        let p = ReconnectPolicy::exponential(Duration::from_secs(1), Duration::from_secs(60))
            .with_jitter(0.0)
            .with_max_attempts(Some(2));
        let mut attempt = 0;
        assert_eq!(
            p.after_failure(&mut attempt, ClientError::PingTimeout, || 0.5),
            Ok(Duration::from_secs(1))
        );
        assert_eq!(
            p.after_failure(&mut attempt, ClientError::PingTimeout, || 0.5),
            Ok(Duration::from_secs(2))
        );
        assert_eq!(
            p.after_failure(&mut attempt, ClientError::PingTimeout, || 0.5),
            Err(ClientError::RetriesExhausted {
                attempts: 2,
                last: Box::new(ClientError::PingTimeout),
            })
        );
        assert_eq!(attempt, 3);
    }

    #[test]
    fn after_failure_gives_up_at_once_on_permanent_errors_or_when_disabled() {
        let no_draw = || -> f64 { panic!("random drawn without a retry") };
        let mut attempt = 0;
        assert_eq!(
            ReconnectPolicy::default().after_failure(&mut attempt, ClientError::Closed, no_draw),
            Err(ClientError::Closed)
        );
        assert_eq!(
            ReconnectPolicy::disabled().after_failure(
                &mut attempt,
                ClientError::PingTimeout,
                no_draw
            ),
            Err(ClientError::PingTimeout)
        );
        assert_eq!(attempt, 2);
    }
}
