//! The HTTPS cloud-to-device polling schedule: interval, draining, back-off and `Retry-After`.
//!
//! Pure state: the caller passes the monotonic time and the random draw in, so every rule is
//! unit-tested natively. The browser poller (`Protocol::Http`) drives one [`PollSchedule`].

use core::time::Duration;

use serde::Serialize;

use crate::error::OptionsError;
use crate::reconnect::ReconnectPolicy;

/// The documented production interval: IoT Hub asks devices to poll C2D over HTTPS no more
/// than once every 25 minutes (§6.6; the C SDK enforces the same minimum).
pub const PRODUCTION_POLL_INTERVAL: Duration = Duration::from_secs(25 * 60);

/// The shortest development interval ([`PollInterval::development`]).
pub const MIN_DEVELOPMENT_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// Most messages one polling cycle takes before it yields to the schedule. The queue holds at
/// most 50, so a normal drain never reaches it; it stops a cycle that would otherwise spin on
/// a message that keeps coming back (for example one abandoned as soon as it arrives).
pub const MAX_MESSAGES_PER_CYCLE: u32 = 100;

/// How often the HTTPS client polls for cloud-to-device messages.
///
/// The default is the production interval of 25 minutes. Shorter intervals are only
/// available as an explicit development setting, [`PollInterval::development`], because a
/// real hub throttles HTTPS receives and counts each poll against the quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PollInterval {
    every: Duration,
    development: bool,
}

impl Default for PollInterval {
    fn default() -> Self {
        Self::PRODUCTION
    }
}

impl PollInterval {
    /// Every 25 minutes ([`PRODUCTION_POLL_INTERVAL`]).
    pub const PRODUCTION: Self = Self {
        every: PRODUCTION_POLL_INTERVAL,
        development: false,
    };

    /// The production interval (25 minutes).
    #[must_use]
    pub fn production() -> Self {
        Self::PRODUCTION
    }

    /// A production interval of `interval`, which must be at least 25 minutes.
    pub fn every(interval: Duration) -> Result<Self, OptionsError> {
        if interval < PRODUCTION_POLL_INTERVAL {
            return Err(OptionsError::PollIntervalTooShort {
                requested: interval,
                minimum: PRODUCTION_POLL_INTERVAL,
            });
        }
        Ok(Self {
            every: interval,
            development: false,
        })
    }

    /// A development interval of `secs` seconds (at least 1), for local hubs such as devhub.
    /// Do not use it against a production hub: HTTPS receives are throttled and metered.
    pub fn development(secs: u64) -> Result<Self, OptionsError> {
        let every = Duration::from_secs(secs);
        if every < MIN_DEVELOPMENT_POLL_INTERVAL {
            return Err(OptionsError::PollIntervalTooShort {
                requested: every,
                minimum: MIN_DEVELOPMENT_POLL_INTERVAL,
            });
        }
        Ok(Self {
            every,
            development: true,
        })
    }

    /// The interval for a number of seconds as the JavaScript option gives it: 1500 s and
    /// more are production intervals, shorter ones the development setting.
    pub fn from_secs(secs: u64) -> Result<Self, OptionsError> {
        if Duration::from_secs(secs) >= PRODUCTION_POLL_INTERVAL {
            Self::every(Duration::from_secs(secs))
        } else {
            Self::development(secs)
        }
    }

    /// Time between the end of one cycle and the start of the next.
    #[must_use]
    pub fn duration(self) -> Duration {
        self.every
    }

    /// Whether this is the development setting (shorter than the production minimum).
    #[must_use]
    pub fn is_development(self) -> bool {
        self.development
    }
}

/// After a received message: fetch the next one or end the cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Drain {
    /// GET again at once: more messages may be waiting.
    Continue,
    /// [`MAX_MESSAGES_PER_CYCLE`] reached: end the cycle as if the queue were empty.
    Stop,
}

/// What follows a failed cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Retry {
    /// Retry at [`PollSchedule::next_poll_at`], after `delay`.
    After {
        /// 1-based number of the coming retry.
        attempt: u32,
        /// Jittered back-off, or the server's `Retry-After` when that is longer.
        delay: Duration,
    },
    /// Polling is stopped: nothing is scheduled (the failure is still counted).
    Stopped,
    /// The back-off policy is disabled or allows no further attempt.
    GiveUp {
        /// Retries made before giving up.
        attempts: u32,
    },
}

/// A snapshot of the poller for displays (next poll countdown, failures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PollInfo {
    /// The configured interval (JSON: `intervalMs`).
    #[serde(rename = "intervalMs", serialize_with = "ser_millis")]
    pub interval: Duration,
    /// Whether the interval is the development setting.
    pub development: bool,
    /// Whether scheduled polling is on ([`PollSchedule::start`]).
    pub running: bool,
    /// Whether a cycle is in progress.
    pub polling: bool,
    /// Time until the next cycle; `None` while polling or stopped (JSON: `nextPollInMs`).
    #[serde(rename = "nextPollInMs", serialize_with = "ser_opt_millis")]
    pub next_poll_in: Option<Duration>,
    /// Cycles that ended with an empty queue (or the per-cycle cap).
    pub cycles: u64,
    /// Failed cycles since the last successful one.
    pub consecutive_failures: u32,
}

fn ser_millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64() * 1000.0)
}

// `serialize_with` hands over a reference to the field's type.
#[allow(clippy::ref_option)]
fn ser_opt_millis<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64() * 1000.0),
        None => s.serialize_none(),
    }
}

/// The polling state machine.
///
/// * A cycle GETs until the queue is empty (`204`): [`on_message`](Self::on_message) after each
///   `200`, then [`cycle_done`](Self::cycle_done). The next cycle is due one interval after the
///   end of the previous one.
/// * A failed cycle ([`cycle_failed`](Self::cycle_failed)) is retried with jittered exponential
///   back-off from the [`ReconnectPolicy`], never sooner than the server's `Retry-After`.
/// * [`start`](Self::start) polls at once and keeps polling; [`stop`](Self::stop) cancels the
///   schedule; [`poll_now`](Self::poll_now) runs one cycle at once, also while stopped. A
///   `poll_now` during a cycle runs another cycle right after it, so messages sent in between
///   are not missed.
#[derive(Debug, Clone)]
pub struct PollSchedule {
    interval: PollInterval,
    backoff: ReconnectPolicy,
    running: bool,
    next_at: Option<Duration>,
    in_cycle: bool,
    /// A `poll_now` that no cycle has begun to serve yet.
    again: bool,
    received_in_cycle: u32,
    failures: u32,
    cycles: u64,
}

impl PollSchedule {
    /// A stopped schedule.
    #[must_use]
    pub fn new(interval: PollInterval, backoff: ReconnectPolicy) -> Self {
        Self {
            interval,
            backoff,
            running: false,
            next_at: None,
            in_cycle: false,
            again: false,
            received_in_cycle: 0,
            failures: 0,
            cycles: 0,
        }
    }

    /// The configured interval.
    #[must_use]
    pub fn interval(&self) -> PollInterval {
        self.interval
    }

    /// The back-off policy for failed cycles.
    #[must_use]
    pub fn backoff(&self) -> &ReconnectPolicy {
        &self.backoff
    }

    /// Turns scheduled polling on. When it was off, the first cycle is due at once; when it
    /// was already on, nothing changes.
    pub fn start(&mut self, now: Duration) {
        if self.running {
            return;
        }
        self.running = true;
        if !self.in_cycle {
            self.next_at = Some(now);
        }
    }

    /// Turns scheduled polling off. A cycle in progress finishes; a pending
    /// [`poll_now`](Self::poll_now) still runs.
    pub fn stop(&mut self) {
        self.running = false;
        if !self.again {
            self.next_at = None;
        }
    }

    /// Asks for a cycle at once (after the current one, if one is running). The request
    /// holds until a cycle begins, even if polling is stopped meanwhile.
    pub fn poll_now(&mut self, now: Duration) {
        self.again = true;
        if !self.in_cycle {
            self.next_at = Some(now);
        }
    }

    /// Whether a cycle should begin at `now`.
    #[must_use]
    pub fn is_due(&self, now: Duration) -> bool {
        !self.in_cycle && self.next_at.is_some_and(|at| now >= at)
    }

    /// When the next cycle is due (same clock as `now`); `None` while a cycle runs or when
    /// stopped.
    #[must_use]
    pub fn next_poll_at(&self) -> Option<Duration> {
        self.next_at
    }

    /// Time left until the next cycle (zero when overdue).
    #[must_use]
    pub fn next_poll_in(&self, now: Duration) -> Option<Duration> {
        self.next_at.map(|at| at.saturating_sub(now))
    }

    /// Whether scheduled polling is on.
    #[must_use]
    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Whether a cycle is in progress.
    #[must_use]
    pub fn is_polling(&self) -> bool {
        self.in_cycle
    }

    /// Failed cycles since the last successful one.
    #[must_use]
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// Successful cycles so far.
    #[must_use]
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// A snapshot for displays.
    #[must_use]
    pub fn info(&self, now: Duration) -> PollInfo {
        PollInfo {
            interval: self.interval.duration(),
            development: self.interval.is_development(),
            running: self.running,
            polling: self.in_cycle,
            next_poll_in: self.next_poll_in(now),
            cycles: self.cycles,
            consecutive_failures: self.failures,
        }
    }

    /// A cycle begins (its first GET goes out).
    pub fn begin_cycle(&mut self) {
        self.in_cycle = true;
        self.again = false;
        self.next_at = None;
        self.received_in_cycle = 0;
    }

    /// The last GET returned a message (`200`).
    pub fn on_message(&mut self) -> Drain {
        self.received_in_cycle = self.received_in_cycle.saturating_add(1);
        if self.received_in_cycle >= MAX_MESSAGES_PER_CYCLE {
            Drain::Stop
        } else {
            Drain::Continue
        }
    }

    /// The cycle ended well (queue empty, or the per-cycle cap). Returns the number of
    /// messages it received and schedules the next cycle.
    pub fn cycle_done(&mut self, now: Duration) -> u32 {
        self.in_cycle = false;
        self.failures = 0;
        self.cycles = self.cycles.saturating_add(1);
        self.next_at = if self.again {
            self.again = false;
            Some(now)
        } else if self.running {
            Some(now.saturating_add(self.interval.duration()))
        } else {
            None
        };
        self.received_in_cycle
    }

    /// The cycle failed with a transient error. `retry_after` is the server's `Retry-After`
    /// (429, 503), `random` a draw in `[0, 1)` for the jitter. A `poll_now` that was waiting
    /// for this cycle is dropped: its caller receives this failure.
    pub fn cycle_failed(
        &mut self,
        now: Duration,
        retry_after: Option<Duration>,
        random: f64,
    ) -> Retry {
        self.in_cycle = false;
        self.again = false;
        self.failures = self.failures.saturating_add(1);
        self.next_at = None;
        if !self.running {
            return Retry::Stopped;
        }
        let attempt = self.failures;
        if !self.backoff.allows(attempt) {
            self.running = false;
            return Retry::GiveUp {
                attempts: attempt.saturating_sub(1),
            };
        }
        let backoff = self.backoff.delay(attempt, random);
        let delay = retry_after.map_or(backoff, |r| r.max(backoff));
        self.next_at = Some(now.saturating_add(delay));
        Retry::After { attempt, delay }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // Also run in the browser suite (the scripts run this crate's tests only on wasm32).
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    fn dev(s: u64) -> PollSchedule {
        let interval = PollInterval::development(s).unwrap();
        PollSchedule::new(
            interval,
            ReconnectPolicy::exponential(secs(1), secs(60)).with_jitter(0.0),
        )
    }

    #[test]
    fn default_is_the_documented_production_interval() {
        let d = PollInterval::default();
        assert_eq!(d.duration(), secs(25 * 60));
        assert!(!d.is_development());
        assert_eq!(PollInterval::production(), d);
        assert_eq!(
            PollInterval::every(secs(3600)).unwrap().duration(),
            secs(3600)
        );
        assert_eq!(
            PollInterval::every(secs(60)),
            Err(OptionsError::PollIntervalTooShort {
                requested: secs(60),
                minimum: secs(1500)
            })
        );
    }

    #[test]
    fn development_interval_is_explicit_with_a_one_second_floor() {
        let d = PollInterval::development(1).unwrap();
        assert_eq!(d.duration(), secs(1));
        assert!(d.is_development());
        assert_eq!(
            PollInterval::development(0),
            Err(OptionsError::PollIntervalTooShort {
                requested: Duration::ZERO,
                minimum: secs(1)
            })
        );
        let msg = PollInterval::development(0).unwrap_err().to_string();
        assert!(msg.contains("development"), "{msg}");
        // The JavaScript form picks the kind by length.
        assert!(PollInterval::from_secs(5).unwrap().is_development());
        assert!(!PollInterval::from_secs(1500).unwrap().is_development());
        assert!(PollInterval::from_secs(0).is_err());
    }

    #[test]
    fn start_polls_at_once_then_every_interval_after_the_cycle_ends() {
        let mut s = dev(10);
        assert_eq!(s.next_poll_at(), None, "a new schedule is stopped");
        assert!(!s.is_due(secs(100)));
        s.start(secs(100));
        assert!(s.is_due(secs(100)));
        s.begin_cycle();
        assert!(s.is_polling());
        assert_eq!(
            s.next_poll_in(secs(100)),
            None,
            "no countdown while polling"
        );
        assert!(!s.is_due(secs(200)), "never two cycles at once");
        assert_eq!(s.cycle_done(secs(101)), 0);
        assert_eq!(s.next_poll_at(), Some(secs(111)));
        assert_eq!(s.next_poll_in(secs(105)), Some(secs(6)));
        assert_eq!(s.next_poll_in(secs(200)), Some(Duration::ZERO));
        assert!(!s.is_due(secs(110)));
        assert!(s.is_due(secs(111)));
        // Starting again changes nothing.
        s.start(secs(105));
        assert_eq!(s.next_poll_at(), Some(secs(111)));
        assert_eq!(s.cycles(), 1);
    }

    #[test]
    fn drains_until_empty_and_caps_a_runaway_cycle() {
        let mut s = dev(10);
        s.start(Duration::ZERO);
        s.begin_cycle();
        for _ in 0..3 {
            assert_eq!(s.on_message(), Drain::Continue);
        }
        assert_eq!(s.cycle_done(secs(1)), 3);
        s.poll_now(secs(2));
        s.begin_cycle();
        let mut n = 0;
        while s.on_message() == Drain::Continue {
            n += 1;
            assert!(n < 1000);
        }
        assert_eq!(n + 1, MAX_MESSAGES_PER_CYCLE);
        assert_eq!(s.cycle_done(secs(3)), MAX_MESSAGES_PER_CYCLE);
        assert_eq!(s.next_poll_at(), Some(secs(13)));
    }

    #[test]
    fn production_schedule_waits_25_minutes() {
        let mut s = PollSchedule::new(PollInterval::default(), ReconnectPolicy::default());
        s.start(secs(7));
        s.begin_cycle();
        s.cycle_done(secs(8));
        assert_eq!(s.next_poll_in(secs(8)), Some(secs(1500)));
    }

    #[test]
    fn errors_back_off_exponentially_with_jitter_and_reset_on_success() {
        let policy = ReconnectPolicy::exponential(secs(1), secs(8)).with_jitter(0.5);
        let mut s = PollSchedule::new(PollInterval::development(30).unwrap(), policy);
        s.start(Duration::ZERO);
        let mut now = Duration::ZERO;
        let mut delays = Vec::new();
        for _ in 0..5 {
            s.begin_cycle();
            match s.cycle_failed(now, None, 0.0) {
                Retry::After { delay, .. } => {
                    delays.push(delay.as_secs());
                    now += delay;
                    assert_eq!(s.next_poll_at(), Some(now));
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(delays, vec![1, 2, 4, 8, 8]);
        assert_eq!(s.failures(), 5);
        // Jitter shortens a delay by up to its share.
        s.begin_cycle();
        let Retry::After { attempt, delay } = s.cycle_failed(now, None, 1.0) else {
            panic!("retry expected");
        };
        assert_eq!((attempt, delay), (6, secs(4)));
        // Success resets the count and goes back to the interval.
        s.begin_cycle();
        s.cycle_done(now);
        assert_eq!(s.failures(), 0);
        assert_eq!(s.next_poll_in(now), Some(secs(30)));
        s.begin_cycle();
        assert!(matches!(
            s.cycle_failed(now, None, 0.0),
            Retry::After { attempt: 1, .. }
        ));
    }

    #[test]
    fn retry_after_is_honoured_when_longer_than_the_back_off() {
        let mut s = dev(5);
        s.start(Duration::ZERO);
        s.begin_cycle();
        assert_eq!(
            s.cycle_failed(secs(10), Some(secs(30)), 0.0),
            Retry::After {
                attempt: 1,
                delay: secs(30)
            }
        );
        assert_eq!(s.next_poll_at(), Some(secs(40)));
        // A short Retry-After does not undercut the back-off.
        s.begin_cycle();
        assert_eq!(
            s.cycle_failed(secs(40), Some(Duration::from_millis(10)), 0.0),
            Retry::After {
                attempt: 2,
                delay: secs(2)
            }
        );
    }

    #[test]
    fn attempt_limit_and_disabled_policy_give_up() {
        let policy = ReconnectPolicy::exponential(secs(1), secs(4)).with_max_attempts(Some(2));
        let mut s = PollSchedule::new(PollInterval::development(5).unwrap(), policy);
        s.start(Duration::ZERO);
        for attempt in 1..=2 {
            s.begin_cycle();
            assert!(matches!(
                s.cycle_failed(Duration::ZERO, None, 0.0),
                Retry::After { attempt: a, .. } if a == attempt
            ));
        }
        s.begin_cycle();
        assert_eq!(
            s.cycle_failed(Duration::ZERO, None, 0.0),
            Retry::GiveUp { attempts: 2 }
        );
        assert!(!s.is_running());
        assert_eq!(s.next_poll_at(), None);

        let mut off = PollSchedule::new(PollInterval::default(), ReconnectPolicy::disabled());
        off.start(Duration::ZERO);
        off.begin_cycle();
        assert_eq!(
            off.cycle_failed(Duration::ZERO, None, 0.0),
            Retry::GiveUp { attempts: 0 }
        );
    }

    #[test]
    fn stop_start_and_poll_now() {
        let mut s = dev(60);
        s.start(Duration::ZERO);
        s.begin_cycle();
        s.cycle_done(secs(1));
        s.stop();
        assert_eq!(s.next_poll_at(), None);
        assert!(!s.is_due(secs(1000)));
        // poll_now while stopped: one cycle, then stopped again; stop does not cancel it.
        s.poll_now(secs(5));
        s.stop();
        assert!(s.is_due(secs(5)));
        s.begin_cycle();
        s.cycle_done(secs(6));
        assert_eq!(s.next_poll_at(), None);
        // A failure while stopped schedules nothing.
        s.poll_now(secs(7));
        s.begin_cycle();
        assert_eq!(s.cycle_failed(secs(8), None, 0.0), Retry::Stopped);
        assert_eq!(s.next_poll_at(), None);
        // start polls at once.
        s.start(secs(9));
        assert_eq!(s.next_poll_at(), Some(secs(9)));
        // poll_now while waiting moves the next cycle forward.
        s.begin_cycle();
        s.cycle_done(secs(10));
        assert_eq!(s.next_poll_at(), Some(secs(70)));
        s.poll_now(secs(20));
        assert_eq!(s.next_poll_at(), Some(secs(20)));
    }

    #[test]
    fn poll_now_during_a_cycle_runs_another_right_after() {
        let mut s = dev(60);
        s.start(Duration::ZERO);
        s.begin_cycle();
        s.poll_now(secs(1));
        assert!(!s.is_due(secs(1)), "not while the cycle runs");
        s.cycle_done(secs(2));
        assert_eq!(s.next_poll_at(), Some(secs(2)));
        // Even when polling was stopped meanwhile.
        s.begin_cycle();
        s.poll_now(secs(3));
        s.stop();
        s.cycle_done(secs(4));
        assert_eq!(s.next_poll_at(), Some(secs(4)));
        s.begin_cycle();
        s.cycle_done(secs(5));
        assert_eq!(s.next_poll_at(), None);
    }

    #[test]
    fn start_during_a_cycle_schedules_after_it() {
        let mut s = dev(60);
        s.poll_now(Duration::ZERO);
        s.begin_cycle();
        s.start(secs(1));
        assert_eq!(s.next_poll_at(), None);
        s.cycle_done(secs(2));
        assert_eq!(s.next_poll_at(), Some(secs(62)));
    }

    #[test]
    fn info_snapshot() {
        let mut s = dev(10);
        s.start(Duration::ZERO);
        s.begin_cycle();
        s.cycle_done(secs(1));
        let info = s.info(secs(4));
        assert_eq!(info.interval, secs(10));
        assert!(info.development && info.running && !info.polling);
        assert_eq!(info.next_poll_in, Some(secs(7)));
        assert_eq!(info.cycles, 1);
        assert_eq!(info.consecutive_failures, 0);
        let json = serde_json::to_value(info).unwrap();
        assert_eq!(json["intervalMs"], 10_000.0);
        assert_eq!(json["nextPollInMs"], 7_000.0);
        assert_eq!(json["consecutiveFailures"], 0);
        s.stop();
        let json = serde_json::to_value(s.info(secs(5))).unwrap();
        assert!(json["nextPollInMs"].is_null());
    }
}
