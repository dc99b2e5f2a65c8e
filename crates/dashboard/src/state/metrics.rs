//! Protocol measurements the dashboard plots: one [`Sample`] per acknowledged D2C message,
//! from single-device sessions and from the field gateway alike, and [`MetricsState`], the
//! reducer that turns them into per-protocol aggregates and chart series.

use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use crate::state::device::Protocol;

/// Where a measured message came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SampleOrigin {
    /// A device session of its own (one connection per device).
    Device,
    /// A simulated device multiplexed over the field gateway's one AMQP/WebSocket connection.
    Gateway,
}

/// One acknowledged device-to-cloud message.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The transport it went over.
    pub protocol: Protocol,
    /// Device session or field gateway.
    pub origin: SampleOrigin,
    /// Body size in bytes.
    pub body_bytes: u64,
    /// Bytes the message took on the wire as the client reports it (framing, properties,
    /// headers and body), when it does.
    pub wire_bytes: Option<u64>,
    /// Time from handing the message to the client to the hub's acknowledgement.
    pub latency_ms: f64,
    /// When the acknowledgement arrived, in the page's `performance.now()` milliseconds.
    pub at_ms: f64,
}

// ---------------------------------------------------------------------------------------------
// The metrics reducer: a bounded ring of recent samples plus per-protocol totals and per-second
// counts. Time only enters through the samples' `at_ms` and `MetricsAction::Tick`.

/// Samples kept for percentiles and the latency chart (the most recent ones).
pub const RING_CAPACITY: usize = 2048;
/// Width of the sliding window behind "messages per second", in whole seconds.
pub const RATE_WINDOW_SECS: u64 = 10;
/// How far back the per-second history (the rate chart) and the latency chart reach.
pub const HISTORY_SECS: u64 = 60;

/// Running totals of one protocol since the last clear.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Totals {
    count: u64,
    body_sum: u64,
    /// Samples that reported their wire size, with the sums of those samples only, so the
    /// overhead compares like with like.
    wire_count: u64,
    wire_sum: u64,
    wire_body_sum: u64,
}

/// Aggregates of one protocol, as the table and the charts show them.
#[derive(Clone, Debug, PartialEq)]
pub struct ProtocolAggregate {
    /// The protocol.
    pub protocol: Protocol,
    /// Acknowledged messages since the last clear.
    pub count: u64,
    /// Mean body size in bytes.
    pub mean_body_bytes: f64,
    /// Mean wire size in bytes over the messages whose wire size is known.
    pub mean_wire_bytes: Option<f64>,
    /// `(wire − body) / wire` in percent, over the messages whose wire size is known.
    pub overhead_pct: Option<f64>,
    /// Median send→ack latency over the samples still in the ring.
    pub latency_p50_ms: Option<f64>,
    /// 99th percentile send→ack latency over the samples still in the ring.
    pub latency_p99_ms: Option<f64>,
    /// Messages per second over the last [`RATE_WINDOW_SECS`] complete seconds.
    pub rate_per_sec: f64,
}

/// Everything that changes [`MetricsState`].
#[derive(Clone, Debug, PartialEq)]
pub enum MetricsAction {
    /// Acknowledged messages, in any order (a batch from the field gateway or one from a
    /// device session).
    Record(Vec<Sample>),
    /// The clock moved on (page `performance.now()` milliseconds).
    Tick {
        /// Current time.
        now_ms: f64,
    },
    /// The cloud pane's C2D send that the hub accepted as `message_id`; `sent_ms` is when the
    /// request left the page (`performance.now()` ms).
    C2dSent {
        /// Message id the hub used.
        message_id: String,
        /// When the send started.
        sent_ms: f64,
    },
    /// A device session's inbox received C2D message `message_id` at `at_ms`.
    C2dReceived {
        /// The session's transport.
        protocol: Protocol,
        /// Message id from the message's properties.
        message_id: String,
        /// When it arrived (`performance.now()` ms).
        at_ms: f64,
    },
    /// Forget everything measured so far.
    Clear,
}

/// Send times (and early arrivals) remembered for matching C2D deliveries, per list.
pub const C2D_PENDING_CAPACITY: usize = 64;
/// Delivery latencies kept for the C2D median (the most recent ones).
pub const C2D_RING_CAPACITY: usize = 256;

/// Cloud-to-device delivery of one protocol: send (cloud pane) → arrival (device inbox).
#[derive(Clone, Debug, PartialEq)]
pub struct C2dAggregate {
    /// The protocol.
    pub protocol: Protocol,
    /// Timed deliveries since the last clear.
    pub count: u64,
    /// Median over the deliveries still in the ring.
    pub p50_ms: Option<f64>,
    /// Slowest delivery since the last clear.
    pub max_ms: f64,
}

/// C2D sends waiting for their arrival and arrivals that beat the hub's answer (push can
/// deliver before the send request returns), both bounded, plus the measured deliveries.
#[derive(Clone, Debug, Default, PartialEq)]
struct C2dTiming {
    sent: VecDeque<(String, f64)>,
    early: VecDeque<(Protocol, String, f64)>,
    latencies: VecDeque<(Protocol, f64)>,
    /// `(count, max ms)` per protocol.
    totals: [(u64, f64); 3],
}

impl C2dTiming {
    fn sent(&mut self, message_id: String, sent_ms: f64) {
        // Only arrivals after the send started: an older one is a redelivery of an earlier
        // message that reused the id.
        let early = |(_, id, at): &(Protocol, String, f64)| *id == message_id && *at >= sent_ms;
        if let Some(i) = self.early.iter().position(early) {
            if let Some((protocol, _, at)) = self.early.remove(i) {
                self.delivered(protocol, at - sent_ms);
            }
            return;
        }
        push_bounded(&mut self.sent, (message_id, sent_ms), C2D_PENDING_CAPACITY);
    }

    fn received(&mut self, protocol: Protocol, message_id: String, at_ms: f64) {
        // Matched once: redeliveries (abandon, lock expiry) are not new sends.
        match self.sent.iter().position(|(id, _)| *id == message_id) {
            Some(i) => {
                if let Some((_, sent)) = self.sent.remove(i) {
                    self.delivered(protocol, at_ms - sent);
                }
            }
            None if !self.early.iter().any(|(_, id, _)| *id == message_id) => {
                push_bounded(
                    &mut self.early,
                    (protocol, message_id, at_ms),
                    C2D_PENDING_CAPACITY,
                );
            }
            None => {}
        }
    }

    fn delivered(&mut self, protocol: Protocol, ms: f64) {
        if !ms.is_finite() {
            return;
        }
        // Clocks are the page's own; a negative span can only be rounding.
        let ms = ms.max(0.0);
        if let Some((count, max)) = self.totals.get_mut(slot(protocol)) {
            *count += 1;
            *max = max.max(ms);
        }
        push_bounded(&mut self.latencies, (protocol, ms), C2D_RING_CAPACITY);
    }
}

fn push_bounded<T>(queue: &mut VecDeque<T>, item: T, capacity: usize) {
    if queue.len() >= capacity {
        queue.pop_front();
    }
    queue.push_back(item);
}

/// The measurements behind the protocol charts.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MetricsState {
    /// Most recent samples, oldest first, at most [`RING_CAPACITY`].
    samples: VecDeque<Sample>,
    /// Per protocol, in [`Protocol::AVAILABLE`] order.
    totals: [Totals; 3],
    /// Acknowledgements per whole second (`floor(at_ms / 1000)`), per protocol, for the last
    /// [`HISTORY_SECS`] seconds and up to the latest seen.
    per_second: BTreeMap<u64, [u32; 3]>,
    /// Latest time seen (ticks and samples), in milliseconds.
    now_ms: f64,
    /// Samples that left the ring to keep it bounded.
    evicted: u64,
    /// Cloud-to-device delivery timing.
    c2d: C2dTiming,
}

/// Position of a protocol in the per-protocol arrays.
fn slot(protocol: Protocol) -> usize {
    match protocol {
        Protocol::MqttWs => 0,
        Protocol::AmqpWs => 1,
        Protocol::Https => 2,
    }
}

/// Protocols in slot order.
const SLOTS: [Protocol; 3] = [Protocol::MqttWs, Protocol::AmqpWs, Protocol::Https];

/// Whole seconds of a time in milliseconds; `None` for negative or non-finite input.
fn second_of(ms: f64) -> Option<u64> {
    (ms.is_finite() && ms >= 0.0).then(|| (ms / 1000.0).floor() as u64)
}

/// Nearest-rank percentile (`p` in 0..=100) of ascending `sorted`; `None` when empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted.get(rank.clamp(1, n) - 1).copied()
}

impl MetricsState {
    /// Applies one action.
    pub fn apply(&mut self, action: MetricsAction) {
        match action {
            MetricsAction::Record(samples) => {
                for sample in samples {
                    self.record(sample);
                }
                self.prune();
            }
            MetricsAction::Tick { now_ms } => {
                if now_ms.is_finite() && now_ms > self.now_ms {
                    self.now_ms = now_ms;
                }
                self.prune();
            }
            MetricsAction::C2dSent {
                message_id,
                sent_ms,
            } => self.c2d.sent(message_id, sent_ms),
            MetricsAction::C2dReceived {
                protocol,
                message_id,
                at_ms,
            } => self.c2d.received(protocol, message_id, at_ms),
            MetricsAction::Clear => *self = Self::default(),
        }
    }

    fn record(&mut self, sample: Sample) {
        let i = slot(sample.protocol);
        if let Some(t) = self.totals.get_mut(i) {
            t.count += 1;
            t.body_sum = t.body_sum.saturating_add(sample.body_bytes);
            if let Some(wire) = sample.wire_bytes {
                t.wire_count += 1;
                t.wire_sum = t.wire_sum.saturating_add(wire);
                t.wire_body_sum = t.wire_body_sum.saturating_add(sample.body_bytes);
            }
        }
        if let Some(sec) = second_of(sample.at_ms) {
            if let Some(c) = self.per_second.entry(sec).or_default().get_mut(i) {
                *c = c.saturating_add(1);
            }
        }
        if sample.at_ms.is_finite() && sample.at_ms > self.now_ms {
            self.now_ms = sample.at_ms;
        }
        if self.samples.len() == RING_CAPACITY {
            self.samples.pop_front();
            self.evicted += 1;
        }
        self.samples.push_back(sample);
    }

    /// Drops per-second counts older than the history.
    fn prune(&mut self) {
        if let Some(now) = second_of(self.now_ms) {
            let oldest = now.saturating_sub(HISTORY_SECS);
            self.per_second = self.per_second.split_off(&oldest);
        }
    }

    /// Latest time seen, in milliseconds.
    pub fn now_ms(&self) -> f64 {
        self.now_ms
    }

    /// Samples in the ring, oldest first.
    pub fn samples(&self) -> impl Iterator<Item = &Sample> {
        self.samples.iter()
    }

    /// Number of samples in the ring.
    pub fn ring_len(&self) -> usize {
        self.samples.len()
    }

    /// Samples that left the ring (still counted in the totals).
    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    /// Whether nothing was measured since the last clear.
    pub fn is_empty(&self) -> bool {
        self.totals.iter().all(|t| t.count == 0) && self.c2d.totals.iter().all(|t| t.0 == 0)
    }

    /// C2D delivery aggregates of the protocols that received a timed message, in display
    /// order.
    pub fn c2d_aggregates(&self) -> Vec<C2dAggregate> {
        SLOTS
            .iter()
            .zip(self.c2d.totals)
            .filter(|(_, (count, _))| *count > 0)
            .map(|(protocol, (count, max_ms))| {
                let mut v: Vec<f64> = self
                    .c2d
                    .latencies
                    .iter()
                    .filter(|(p, _)| p == protocol)
                    .map(|(_, ms)| *ms)
                    .collect();
                v.sort_by(f64::total_cmp);
                C2dAggregate {
                    protocol: *protocol,
                    count,
                    p50_ms: percentile(&v, 50.0),
                    max_ms,
                }
            })
            .collect()
    }

    /// C2D sends still waiting for their arrival, and arrivals not (yet) matched to a send.
    pub fn c2d_unmatched(&self) -> (usize, usize) {
        (self.c2d.sent.len(), self.c2d.early.len())
    }

    /// Acknowledgements of `protocol` during whole second `sec`.
    fn count_in(&self, protocol: Protocol, sec: u64) -> u32 {
        self.per_second
            .get(&sec)
            .and_then(|c| c.get(slot(protocol)))
            .copied()
            .unwrap_or(0)
    }

    /// Messages per second of `protocol` over the [`RATE_WINDOW_SECS`] complete seconds
    /// before the current one (the current second is still filling up).
    pub fn rate_per_sec(&self, protocol: Protocol) -> f64 {
        let Some(now) = second_of(self.now_ms) else {
            return 0.0;
        };
        let first = now.saturating_sub(RATE_WINDOW_SECS);
        let sum: u64 = (first..now)
            .map(|s| u64::from(self.count_in(protocol, s)))
            .sum();
        sum as f64 / RATE_WINDOW_SECS as f64
    }

    /// Per-second counts of `protocol` for the last [`HISTORY_SECS`] complete seconds, as
    /// `(seconds ago, messages)` with seconds ago from `HISTORY_SECS` down to 1; seconds before
    /// the clock's origin are left out.
    pub fn rate_series(&self, protocol: Protocol) -> Vec<(u64, u32)> {
        let Some(now) = second_of(self.now_ms) else {
            return Vec::new();
        };
        (1..=HISTORY_SECS.min(now))
            .rev()
            .map(|ago| (ago, self.count_in(protocol, now - ago)))
            .collect()
    }

    /// `(seconds ago, latency ms)` of the ring's samples of `protocol` from the last
    /// [`HISTORY_SECS`] seconds, oldest first.
    pub fn latency_series(&self, protocol: Protocol) -> Vec<(f64, f64)> {
        let horizon = HISTORY_SECS as f64 * 1000.0;
        self.samples
            .iter()
            .filter(|s| s.protocol == protocol && s.latency_ms.is_finite() && s.latency_ms >= 0.0)
            .map(|s| ((self.now_ms - s.at_ms) / 1000.0, s.latency_ms))
            .filter(|(ago, _)| ago.is_finite() && (0.0..=horizon / 1000.0).contains(ago))
            .collect()
    }

    /// The aggregates of one protocol (zero counts when it sent nothing).
    pub fn aggregate(&self, protocol: Protocol) -> ProtocolAggregate {
        let t = self.totals.get(slot(protocol)).copied().unwrap_or_default();
        let mut latencies: Vec<f64> = self
            .samples
            .iter()
            .filter(|s| s.protocol == protocol && s.latency_ms.is_finite() && s.latency_ms >= 0.0)
            .map(|s| s.latency_ms)
            .collect();
        latencies.sort_by(f64::total_cmp);
        let mean = |sum: u64, n: u64| if n == 0 { 0.0 } else { sum as f64 / n as f64 };
        let (mean_wire_bytes, overhead_pct) = if t.wire_count == 0 || t.wire_sum == 0 {
            (None, None)
        } else {
            let overhead = (t.wire_sum as f64 - t.wire_body_sum as f64) / t.wire_sum as f64;
            (Some(mean(t.wire_sum, t.wire_count)), Some(overhead * 100.0))
        };
        ProtocolAggregate {
            protocol,
            count: t.count,
            mean_body_bytes: mean(t.body_sum, t.count),
            mean_wire_bytes,
            overhead_pct,
            latency_p50_ms: percentile(&latencies, 50.0),
            latency_p99_ms: percentile(&latencies, 99.0),
            rate_per_sec: self.rate_per_sec(protocol),
        }
    }

    /// Aggregates of the protocols that sent anything, in display order.
    pub fn aggregates(&self) -> Vec<ProtocolAggregate> {
        SLOTS
            .iter()
            .filter(|p| self.totals.get(slot(**p)).is_some_and(|t| t.count > 0))
            .map(|p| self.aggregate(*p))
            .collect()
    }
}

impl yew::Reducible for MetricsState {
    type Action = MetricsAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        let mut next = Rc::unwrap_or_clone(self);
        next.apply(action);
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(protocol: Protocol, body: u64, wire: Option<u64>, latency: f64, at: f64) -> Sample {
        Sample {
            protocol,
            origin: SampleOrigin::Device,
            body_bytes: body,
            wire_bytes: wire,
            latency_ms: latency,
            at_ms: at,
        }
    }

    fn recorded(samples: Vec<Sample>) -> MetricsState {
        let mut m = MetricsState::default();
        m.apply(MetricsAction::Record(samples));
        m
    }

    #[test]
    fn percentile_is_nearest_rank() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7.0], 99.0), Some(7.0));
        let v: Vec<f64> = (1..=4).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(2.0));
        assert_eq!(percentile(&v, 99.0), Some(4.0));
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), Some(50.0));
        assert_eq!(percentile(&v, 99.0), Some(99.0));
        assert_eq!(percentile(&v, 0.0), Some(1.0));
    }

    #[test]
    fn aggregates_per_protocol() {
        let m = recorded(vec![
            sample(Protocol::MqttWs, 100, Some(150), 10.0, 1_000.0),
            sample(Protocol::MqttWs, 300, Some(350), 30.0, 1_100.0),
            sample(Protocol::MqttWs, 200, Some(250), 20.0, 1_200.0),
            sample(Protocol::AmqpWs, 256, Some(512), 5.0, 1_300.0),
            // No wire size: counted in the body mean, left out of wire mean and overhead.
            sample(Protocol::Https, 10, None, 90.0, 1_400.0),
        ]);
        let mqtt = m.aggregate(Protocol::MqttWs);
        assert_eq!(mqtt.count, 3);
        assert_eq!(mqtt.mean_body_bytes, 200.0);
        assert_eq!(mqtt.mean_wire_bytes, Some(250.0));
        // (750 − 600) / 750
        assert_eq!(mqtt.overhead_pct, Some(20.0));
        assert_eq!(mqtt.latency_p50_ms, Some(20.0));
        assert_eq!(mqtt.latency_p99_ms, Some(30.0));
        let amqp = m.aggregate(Protocol::AmqpWs);
        assert_eq!((amqp.count, amqp.overhead_pct), (1, Some(50.0)));
        let https = m.aggregate(Protocol::Https);
        assert_eq!(https.count, 1);
        assert_eq!(https.mean_body_bytes, 10.0);
        assert_eq!((https.mean_wire_bytes, https.overhead_pct), (None, None));
        assert_eq!(https.latency_p50_ms, Some(90.0));
        assert_eq!(
            m.aggregates()
                .iter()
                .map(|a| a.protocol)
                .collect::<Vec<_>>(),
            vec![Protocol::MqttWs, Protocol::AmqpWs, Protocol::Https]
        );
    }

    #[test]
    fn overhead_only_over_samples_with_wire_size() {
        let m = recorded(vec![
            sample(Protocol::AmqpWs, 100, Some(400), 1.0, 0.0),
            sample(Protocol::AmqpWs, 1_000, None, 1.0, 0.0),
        ]);
        let a = m.aggregate(Protocol::AmqpWs);
        assert_eq!(a.mean_body_bytes, 550.0);
        assert_eq!(a.mean_wire_bytes, Some(400.0));
        assert_eq!(a.overhead_pct, Some(75.0));
    }

    #[test]
    fn empty_protocols_are_left_out() {
        let m = recorded(vec![sample(Protocol::AmqpWs, 1, Some(2), 1.0, 0.0)]);
        assert_eq!(m.aggregates().len(), 1);
        let mqtt = m.aggregate(Protocol::MqttWs);
        assert_eq!(mqtt.count, 0);
        assert_eq!(mqtt.mean_body_bytes, 0.0);
        assert_eq!(mqtt.latency_p50_ms, None);
        assert!(!m.is_empty());
        assert!(MetricsState::default().is_empty());
    }

    #[test]
    fn rate_counts_complete_seconds_of_the_window() {
        let mut samples = Vec::new();
        // Seconds 89..=99: one message in each; 5 more in second 95; 3 in the current second.
        for s in 89..=99u32 {
            samples.push(sample(
                Protocol::AmqpWs,
                1,
                None,
                1.0,
                f64::from(s) * 1000.0,
            ));
        }
        for _ in 0..5 {
            samples.push(sample(Protocol::AmqpWs, 1, None, 1.0, 95_500.0));
        }
        for _ in 0..3 {
            samples.push(sample(Protocol::AmqpWs, 1, None, 1.0, 100_200.0));
        }
        let mut m = recorded(samples);
        assert_eq!(m.now_ms(), 100_200.0);
        // Window = seconds 90..=99: 10 + 5 messages over 10 s; 89 and the current second
        // (100) are outside.
        assert_eq!(m.rate_per_sec(Protocol::AmqpWs), 1.5);
        assert_eq!(m.rate_per_sec(Protocol::MqttWs), 0.0);
        // One second later, second 90 left and 100 (3 messages) entered.
        m.apply(MetricsAction::Tick { now_ms: 101_000.0 });
        assert_eq!(m.rate_per_sec(Protocol::AmqpWs), 1.7);
        // Ticks never move the clock backwards.
        m.apply(MetricsAction::Tick { now_ms: 50.0 });
        assert_eq!(m.now_ms(), 101_000.0);
        // Long after, the window is empty.
        m.apply(MetricsAction::Tick { now_ms: 200_000.0 });
        assert_eq!(m.rate_per_sec(Protocol::AmqpWs), 0.0);
    }

    #[test]
    fn rate_series_covers_the_history() {
        let mut m = recorded(vec![
            sample(Protocol::MqttWs, 1, None, 1.0, 10_000.0),
            sample(Protocol::MqttWs, 1, None, 1.0, 10_999.0),
            sample(Protocol::MqttWs, 1, None, 1.0, 12_000.0),
        ]);
        m.apply(MetricsAction::Tick { now_ms: 13_500.0 });
        // Only 13 seconds since the origin: 13 points, 13 s ago … 1 s ago.
        let series = m.rate_series(Protocol::MqttWs);
        assert_eq!(series.len(), 13);
        assert_eq!(series.first(), Some(&(13, 0)));
        assert_eq!(series.last(), Some(&(1, 1)));
        assert_eq!(series.get(10), Some(&(3, 2)));
        m.apply(MetricsAction::Tick {
            now_ms: 1_000_000.0,
        });
        let series = m.rate_series(Protocol::MqttWs);
        assert_eq!(series.len(), HISTORY_SECS as usize);
        assert!(series.iter().all(|(_, n)| *n == 0));
        // Old per-second counts were pruned, totals kept.
        assert!(m.per_second.is_empty());
        assert_eq!(m.aggregate(Protocol::MqttWs).count, 3);
    }

    #[test]
    fn ring_is_bounded_and_keeps_the_newest() {
        let n = RING_CAPACITY + 10;
        let samples = (0..n)
            .map(|i| sample(Protocol::AmqpWs, 1, Some(2), i as f64, 0.0))
            .collect();
        let m = recorded(samples);
        assert_eq!(m.ring_len(), RING_CAPACITY);
        assert_eq!(m.evicted(), 10);
        assert_eq!(m.samples().next().map(|s| s.latency_ms), Some(10.0));
        // Totals still count every message; percentiles use the ring.
        let a = m.aggregate(Protocol::AmqpWs);
        assert_eq!(a.count, n as u64);
        assert_eq!(
            a.latency_p50_ms,
            Some(10.0 + (RING_CAPACITY / 2 - 1) as f64)
        );
    }

    #[test]
    fn latency_series_is_recent_and_per_protocol() {
        let mut m = recorded(vec![
            sample(Protocol::Https, 1, None, 40.0, 1_000.0),
            sample(Protocol::Https, 1, None, 50.0, 70_000.0),
            sample(Protocol::MqttWs, 1, None, 3.0, 70_500.0),
            sample(Protocol::Https, 1, None, f64::NAN, 70_600.0),
        ]);
        m.apply(MetricsAction::Tick { now_ms: 71_000.0 });
        assert_eq!(m.latency_series(Protocol::Https), vec![(1.0, 50.0)]);
        assert_eq!(m.latency_series(Protocol::MqttWs), vec![(0.5, 3.0)]);
    }

    fn sent(id: &str, ms: f64) -> MetricsAction {
        MetricsAction::C2dSent {
            message_id: id.into(),
            sent_ms: ms,
        }
    }

    fn received(protocol: Protocol, id: &str, ms: f64) -> MetricsAction {
        MetricsAction::C2dReceived {
            protocol,
            message_id: id.into(),
            at_ms: ms,
        }
    }

    #[test]
    fn c2d_delivery_is_matched_by_message_id_per_protocol() {
        let mut m = MetricsState::default();
        for a in [
            sent("a", 1_000.0),
            sent("b", 1_100.0),
            sent("c", 1_200.0),
            received(Protocol::MqttWs, "a", 1_004.0),
            received(Protocol::Https, "b", 6_100.0),
            // Abandoned and delivered again: not a second delivery.
            received(Protocol::Https, "b", 9_000.0),
            received(Protocol::MqttWs, "c", 1_210.0),
            // Pushed before the hub's answer reached the page.
            received(Protocol::AmqpWs, "d", 2_003.0),
            sent("d", 2_000.0),
        ] {
            m.apply(a);
        }
        let aggs = m.c2d_aggregates();
        assert_eq!(
            aggs,
            vec![
                C2dAggregate {
                    protocol: Protocol::MqttWs,
                    count: 2,
                    p50_ms: Some(4.0),
                    max_ms: 10.0
                },
                C2dAggregate {
                    protocol: Protocol::AmqpWs,
                    count: 1,
                    p50_ms: Some(3.0),
                    max_ms: 3.0
                },
                C2dAggregate {
                    protocol: Protocol::Https,
                    count: 1,
                    p50_ms: Some(5_000.0),
                    max_ms: 5_000.0
                },
            ]
        );
        // The redelivery of "b" waits, unmatched, and never counts again.
        assert_eq!(m.c2d_unmatched(), (0, 1));
        m.apply(sent("b", 10_000.0));
        assert_eq!(m.c2d_unmatched(), (1, 1));
        assert!(!m.is_empty());
        // D2C aggregates are untouched.
        assert!(m.aggregates().is_empty());
        m.apply(MetricsAction::Clear);
        assert!(m.c2d_aggregates().is_empty());
    }

    #[test]
    fn c2d_without_a_match_is_not_timed() {
        let mut m = MetricsState::default();
        m.apply(sent("x", 10.0));
        // Sent elsewhere (another page, the service API): nothing to time it against.
        m.apply(received(Protocol::MqttWs, "y", 20.0));
        m.apply(received(Protocol::MqttWs, "y", 30.0));
        assert!(m.c2d_aggregates().is_empty());
        assert!(m.is_empty());
        assert_eq!(m.c2d_unmatched(), (1, 1));
    }

    #[test]
    fn c2d_memory_is_bounded() {
        let mut m = MetricsState::default();
        let n = C2D_PENDING_CAPACITY + 5;
        for i in 0..n {
            m.apply(sent(&format!("s{i}"), i as f64));
            m.apply(received(Protocol::Https, &format!("r{i}"), i as f64));
        }
        assert_eq!(
            m.c2d_unmatched(),
            (C2D_PENDING_CAPACITY, C2D_PENDING_CAPACITY)
        );
        // The oldest sends were forgotten; the newest still match.
        m.apply(received(Protocol::Https, "s0", 1_000.0));
        assert!(m.c2d_aggregates().is_empty());
        m.apply(received(Protocol::Https, &format!("s{}", n - 1), 1_000.0));
        assert_eq!(m.c2d_aggregates().first().map(|a| a.count), Some(1));
        // Deliveries: the ring keeps the newest, the totals count all.
        let mut m = MetricsState::default();
        let n = C2D_RING_CAPACITY + 10;
        for i in 0..n {
            let id = i.to_string();
            m.apply(sent(&id, 0.0));
            m.apply(received(Protocol::MqttWs, &id, i as f64));
        }
        assert_eq!(m.c2d.latencies.len(), C2D_RING_CAPACITY);
        let a = m.c2d_aggregates();
        let a = a.first().expect("one protocol");
        assert_eq!(a.count, n as u64);
        assert_eq!(a.max_ms, (n - 1) as f64);
        assert_eq!(a.p50_ms, Some(10.0 + (C2D_RING_CAPACITY / 2 - 1) as f64));
    }

    #[test]
    fn bad_times_do_not_panic_or_count_in_rates() {
        let mut m = recorded(vec![
            sample(Protocol::AmqpWs, 1, None, -1.0, f64::NAN),
            sample(Protocol::AmqpWs, 1, None, f64::INFINITY, -5.0),
        ]);
        m.apply(MetricsAction::Tick {
            now_ms: f64::INFINITY,
        });
        let a = m.aggregate(Protocol::AmqpWs);
        assert_eq!(a.count, 2);
        assert_eq!(a.latency_p50_ms, None);
        assert_eq!(a.rate_per_sec, 0.0);
        m.apply(MetricsAction::Clear);
        assert!(m.is_empty());
        assert_eq!(m.ring_len(), 0);
    }
}
