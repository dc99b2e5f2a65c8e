//! Timers as data: a fixed table of optional deadlines, one slot per timer kind.

use core::time::Duration;

/// A fixed-size table of deadlines indexed by a timer enum.
#[derive(Debug, Clone)]
pub(crate) struct TimerTable<const N: usize> {
    deadlines: [Option<Duration>; N],
}

impl<const N: usize> TimerTable<N> {
    pub(crate) const fn new() -> Self {
        Self {
            deadlines: [None; N],
        }
    }

    pub(crate) fn set(&mut self, index: usize, deadline: Duration) {
        if let Some(slot) = self.deadlines.get_mut(index) {
            *slot = Some(deadline);
        }
    }

    pub(crate) fn stop(&mut self, index: usize) {
        if let Some(slot) = self.deadlines.get_mut(index) {
            *slot = None;
        }
    }

    pub(crate) fn get(&self, index: usize) -> Option<Duration> {
        self.deadlines.get(index).copied().flatten()
    }

    pub(crate) fn clear(&mut self) {
        self.deadlines = [None; N];
    }

    /// The earliest deadline.
    pub(crate) fn next(&self) -> Option<Duration> {
        self.deadlines.iter().flatten().min().copied()
    }

    /// Whether timer `index` is set and has expired at `now`.
    pub(crate) fn is_expired(&self, index: usize, now: Duration) -> bool {
        self.get(index).is_some_and(|d| d <= now)
    }
}
