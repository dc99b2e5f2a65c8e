//! Cloud-to-device queue model (sans-IO).
//!
//! One queue per device, as IoT Hub describes it: a message is *enqueued*, a receive *locks* it
//! (invisible for [`C2dConfig::lock_duration`]), and it ends *completed* or *dead-lettered*
//! (rejected, expired, or delivery count exceeded). Lock expiry makes a message visible again
//! without touching its delivery count; an explicit abandon increments it.
//!
//! The model owns no clock, no task and no randomness source: every operation takes `now`
//! (a [`Duration`] from an arbitrary monotonic origin chosen by the caller), and lock tokens come
//! from a generator seeded at construction. The MQTT transport drives it today; AMQP and HTTPS
//! transports reuse it unchanged. The caller maps `now` values to wall-clock time for display.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::time::Duration;

pub use hubwire_iothub::Ack;

/// Tunables of the queue model; [`Default`] gives IoT Hub's documented defaults.
#[derive(Debug, Clone)]
pub struct C2dConfig {
    /// Pending (enqueued + locked) messages per device before a send fails with 403004.
    pub max_queue_depth: usize,
    /// How long a received message stays invisible before it becomes visible again.
    pub lock_duration: Duration,
    /// Abandons after which a message is dead-lettered.
    pub max_delivery_count: u32,
    /// Time-to-live used when a send does not give one.
    pub default_ttl: Duration,
    /// Largest accepted time-to-live.
    pub max_ttl: Duration,
    /// Settlement history entries kept (oldest dropped first).
    pub history_limit: usize,
    /// Feedback records kept (oldest dropped first).
    pub feedback_limit: usize,
}

impl Default for C2dConfig {
    fn default() -> Self {
        Self {
            max_queue_depth: 50,
            lock_duration: Duration::from_secs(60),
            max_delivery_count: 10,
            default_ttl: Duration::from_secs(3600),
            max_ttl: Duration::from_secs(2 * 24 * 3600),
            history_limit: 1000,
            feedback_limit: 1000,
        }
    }
}

/// Errors of queue operations.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum C2dError {
    /// The device has no queue (unknown device).
    #[error("device not found")]
    DeviceNotFound,
    /// The device already has the maximum number of pending messages.
    #[error("device queue is full ({depth} pending messages)")]
    QueueFull {
        /// Pending messages at the time of the send.
        depth: usize,
    },
    /// The lock token is unknown, or its lock expired.
    #[error("message lock lost or unknown lock token")]
    LockLost,
}

impl C2dError {
    /// The IoT Hub error code for this error.
    pub fn code(&self) -> u32 {
        match self {
            Self::DeviceNotFound => 404001,
            Self::QueueFull { .. } => 403004,
            Self::LockLost => 412002,
        }
    }
}

/// What a caller supplies to enqueue a message.
#[derive(Debug, Clone)]
pub struct NewMessage<M> {
    /// The message itself (opaque to the model).
    pub message: M,
    /// Message id used for feedback and views.
    pub message_id: String,
    /// Requested feedback.
    pub ack: Ack,
    /// Time to live; `None` → [`C2dConfig::default_ttl`]; capped at [`C2dConfig::max_ttl`].
    pub ttl: Option<Duration>,
}

/// Result of a successful enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    /// Hub-assigned sequence number, unique within the device queue.
    pub sequence_number: u64,
    /// When the message expires.
    pub expires_at: Duration,
}

/// A message handed to a transport: it is locked under `lock_token` until settled.
#[derive(Debug, Clone)]
pub struct Delivery<M> {
    /// Token that settles this delivery.
    pub lock_token: String,
    /// Hub-assigned sequence number.
    pub sequence_number: u64,
    /// Abandons so far.
    pub delivery_count: u32,
    /// Message id.
    pub message_id: String,
    /// When it was enqueued.
    pub enqueued_at: Duration,
    /// When it expires.
    pub expires_at: Duration,
    /// When the lock expires unless settled.
    pub lock_expires_at: Duration,
    /// Requested feedback.
    pub ack: Ack,
    /// The message.
    pub message: M,
}

/// Visible state of a pending message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MessageState {
    /// Waiting for a receive.
    Enqueued,
    /// Received, waiting for settlement (invisible).
    Locked,
}

impl MessageState {
    /// Lower-case name used by the service API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Enqueued => "enqueued",
            Self::Locked => "locked",
        }
    }
}

/// One pending message as seen from outside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    /// Message id.
    pub message_id: String,
    /// Sequence number.
    pub sequence_number: u64,
    /// Enqueued or locked.
    pub state: MessageState,
    /// Abandons so far.
    pub delivery_count: u32,
    /// When it was enqueued.
    pub enqueued_at: Duration,
    /// When it expires.
    pub expires_at: Duration,
    /// When its lock expires, if locked.
    pub lock_expires_at: Option<Duration>,
}

/// How a message left the queue, or went back to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Settled by the device.
    Completed,
    /// Given back by the device; visible again (delivery count + 1).
    Abandoned,
    /// Refused by the device; dead-lettered.
    Rejected,
    /// Time to live passed; dead-lettered.
    Expired,
    /// Abandoned too often; dead-lettered.
    DeliveryCountExceeded,
    /// Lock passed without settlement; visible again.
    LockExpired,
    /// Dropped with its device queue (device deleted or queue purged).
    Purged,
}

impl Outcome {
    /// camelCase name used by the service API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Completed => "completed",
            Self::Abandoned => "abandoned",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
            Self::DeliveryCountExceeded => "deliveryCountExceeded",
            Self::LockExpired => "lockExpired",
            Self::Purged => "purged",
        }
    }
}

/// One settlement event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRecord {
    /// Device.
    pub device_id: String,
    /// Message id.
    pub message_id: String,
    /// Sequence number.
    pub sequence_number: u64,
    /// What happened.
    pub outcome: Outcome,
    /// Delivery count after the event.
    pub delivery_count: u32,
    /// When.
    pub at: Duration,
}

/// Feedback status codes (IoT Hub feedback JSON `statusCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FeedbackStatus {
    /// Completed by the device.
    Success,
    /// TTL passed.
    Expired,
    /// Too many abandons.
    DeliveryCountExceeded,
    /// Rejected by the device.
    Rejected,
}

impl FeedbackStatus {
    /// The `statusCode` string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::Expired => "Expired",
            Self::DeliveryCountExceeded => "DeliveryCountExceeded",
            Self::Rejected => "Rejected",
        }
    }

    /// The `description` string.
    pub fn description(self) -> &'static str {
        match self {
            Self::Success => "Success",
            Self::Expired => "Message expired",
            Self::DeliveryCountExceeded => "Message delivery count exceeded",
            Self::Rejected => "Message rejected",
        }
    }
}

/// One feedback record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRecord {
    /// Id of the C2D message.
    pub original_message_id: String,
    /// When the C2D message was enqueued.
    pub enqueued_at: Duration,
    /// Outcome.
    pub status: FeedbackStatus,
    /// Device.
    pub device_id: String,
    /// Registry generation id of the device.
    pub device_generation_id: String,
    /// When the outcome happened.
    pub at: Duration,
}

struct Entry<M> {
    seq: u64,
    message_id: String,
    ack: Ack,
    message: M,
    enqueued_at: Duration,
    expires_at: Duration,
    delivery_count: u32,
    lock: Option<Lock>,
}

struct Lock {
    token: String,
    until: Duration,
}

struct DeviceQueue<M> {
    generation_id: String,
    next_seq: u64,
    // Kept in sequence order: receives hand out the oldest visible message first.
    entries: VecDeque<Entry<M>>,
}

/// All device queues plus settlement history and feedback records.
pub struct C2dQueues<M> {
    config: C2dConfig,
    devices: BTreeMap<String, DeviceQueue<M>>,
    history: VecDeque<HistoryRecord>,
    feedback: VecDeque<FeedbackRecord>,
    rng_state: u64,
}

impl<M> fmt::Debug for C2dQueues<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("C2dQueues")
            .field("devices", &self.devices.len())
            .field("history", &self.history.len())
            .field("feedback", &self.feedback.len())
            .finish_non_exhaustive()
    }
}

impl<M: Clone> C2dQueues<M> {
    /// Creates an empty model. `seed` feeds the lock-token generator.
    pub fn new(config: C2dConfig, seed: u64) -> Self {
        Self {
            config,
            devices: BTreeMap::new(),
            history: VecDeque::new(),
            feedback: VecDeque::new(),
            rng_state: seed,
        }
    }

    /// The configuration in use.
    pub fn config(&self) -> &C2dConfig {
        &self.config
    }

    /// Creates the queue of a device (no-op if it exists).
    pub fn add_device(&mut self, device_id: &str, generation_id: &str) {
        self.devices
            .entry(device_id.to_owned())
            .or_insert_with(|| DeviceQueue {
                generation_id: generation_id.to_owned(),
                next_seq: 1,
                entries: VecDeque::new(),
            });
    }

    /// Whether a queue exists for the device.
    pub fn has_device(&self, device_id: &str) -> bool {
        self.devices.contains_key(device_id)
    }

    /// Drops a device queue; pending messages are recorded as purged. Returns how many.
    pub fn remove_device(&mut self, device_id: &str, now: Duration) -> usize {
        let n = self.purge(device_id, now).unwrap_or(0);
        self.devices.remove(device_id);
        n
    }

    /// Drops all pending messages of a device. Returns how many.
    pub fn purge(&mut self, device_id: &str, now: Duration) -> Result<usize, C2dError> {
        let q = self
            .devices
            .get_mut(device_id)
            .ok_or(C2dError::DeviceNotFound)?;
        let drained: Vec<Entry<M>> = q.entries.drain(..).collect();
        let n = drained.len();
        for e in drained {
            self.push_history(device_id, &e, Outcome::Purged, now);
        }
        Ok(n)
    }

    /// Adds a message to a device queue.
    pub fn enqueue(
        &mut self,
        device_id: &str,
        new: NewMessage<M>,
        now: Duration,
    ) -> Result<Enqueued, C2dError> {
        self.expire_device(device_id, now);
        let max_depth = self.config.max_queue_depth;
        let ttl = new
            .ttl
            .unwrap_or(self.config.default_ttl)
            .min(self.config.max_ttl);
        let q = self
            .devices
            .get_mut(device_id)
            .ok_or(C2dError::DeviceNotFound)?;
        if q.entries.len() >= max_depth {
            return Err(C2dError::QueueFull {
                depth: q.entries.len(),
            });
        }
        let seq = q.next_seq;
        q.next_seq = q.next_seq.saturating_add(1);
        let expires_at = now.saturating_add(ttl);
        q.entries.push_back(Entry {
            seq,
            message_id: new.message_id,
            ack: new.ack,
            message: new.message,
            enqueued_at: now,
            expires_at,
            delivery_count: 0,
            lock: None,
        });
        Ok(Enqueued {
            sequence_number: seq,
            expires_at,
        })
    }

    /// Locks and returns the oldest visible message of a device, if any.
    pub fn receive(
        &mut self,
        device_id: &str,
        now: Duration,
    ) -> Result<Option<Delivery<M>>, C2dError> {
        self.expire_device(device_id, now);
        if !self.devices.contains_key(device_id) {
            return Err(C2dError::DeviceNotFound);
        }
        let token = self.next_token();
        let lock_duration = self.config.lock_duration;
        let Some(q) = self.devices.get_mut(device_id) else {
            return Err(C2dError::DeviceNotFound);
        };
        let Some(e) = q.entries.iter_mut().find(|e| e.lock.is_none()) else {
            return Ok(None);
        };
        let until = now.saturating_add(lock_duration);
        e.lock = Some(Lock {
            token: token.clone(),
            until,
        });
        Ok(Some(Delivery {
            lock_token: token,
            sequence_number: e.seq,
            delivery_count: e.delivery_count,
            message_id: e.message_id.clone(),
            enqueued_at: e.enqueued_at,
            expires_at: e.expires_at,
            lock_expires_at: until,
            ack: e.ack,
            message: e.message.clone(),
        }))
    }

    /// Settles a locked message as completed.
    pub fn complete(
        &mut self,
        device_id: &str,
        lock_token: &str,
        now: Duration,
    ) -> Result<(), C2dError> {
        let e = self.take_locked(device_id, lock_token, now)?;
        self.push_history(device_id, &e, Outcome::Completed, now);
        self.push_feedback(device_id, &e, FeedbackStatus::Success, now);
        Ok(())
    }

    /// Settles a locked message as rejected (dead-lettered).
    pub fn reject(
        &mut self,
        device_id: &str,
        lock_token: &str,
        now: Duration,
    ) -> Result<(), C2dError> {
        let e = self.take_locked(device_id, lock_token, now)?;
        self.push_history(device_id, &e, Outcome::Rejected, now);
        self.push_feedback(device_id, &e, FeedbackStatus::Rejected, now);
        Ok(())
    }

    /// Gives a locked message back: visible again with delivery count + 1, or dead-lettered
    /// when the count reaches [`C2dConfig::max_delivery_count`].
    pub fn abandon(
        &mut self,
        device_id: &str,
        lock_token: &str,
        now: Duration,
    ) -> Result<(), C2dError> {
        self.expire_device(device_id, now);
        let max = self.config.max_delivery_count;
        let q = self
            .devices
            .get_mut(device_id)
            .ok_or(C2dError::DeviceNotFound)?;
        let idx = find_locked(q, lock_token).ok_or(C2dError::LockLost)?;
        let Some(e) = q.entries.get_mut(idx) else {
            return Err(C2dError::LockLost);
        };
        e.lock = None;
        e.delivery_count = e.delivery_count.saturating_add(1);
        if e.delivery_count >= max {
            if let Some(e) = q.entries.remove(idx) {
                self.push_history(device_id, &e, Outcome::DeliveryCountExceeded, now);
                self.push_feedback(device_id, &e, FeedbackStatus::DeliveryCountExceeded, now);
            }
        } else {
            let (seq, id, count) = (e.seq, e.message_id.clone(), e.delivery_count);
            self.push_history_raw(device_id, id, seq, Outcome::Abandoned, count, now);
        }
        Ok(())
    }

    /// Gives a locked message back as if its lock had expired (delivery count unchanged).
    /// Transports use it when a connection drops with unsettled deliveries.
    pub fn release(
        &mut self,
        device_id: &str,
        lock_token: &str,
        now: Duration,
    ) -> Result<(), C2dError> {
        self.expire_device(device_id, now);
        let q = self
            .devices
            .get_mut(device_id)
            .ok_or(C2dError::DeviceNotFound)?;
        let idx = find_locked(q, lock_token).ok_or(C2dError::LockLost)?;
        if let Some(e) = q.entries.get_mut(idx) {
            e.lock = None;
        }
        Ok(())
    }

    /// Applies lock and TTL expiry for every device.
    pub fn tick(&mut self, now: Duration) {
        let ids: Vec<String> = self.devices.keys().cloned().collect();
        for id in ids {
            self.expire_device(&id, now);
        }
    }

    /// Earliest instant at which [`tick`](Self::tick) would change something.
    pub fn next_deadline(&self) -> Option<Duration> {
        self.devices
            .values()
            .flat_map(|q| q.entries.iter())
            .map(|e| match &e.lock {
                Some(l) => l.until.min(e.expires_at),
                None => e.expires_at,
            })
            .min()
    }

    /// Pending (enqueued + locked) messages of a device; 0 for unknown devices.
    pub fn pending(&self, device_id: &str) -> usize {
        self.devices.get(device_id).map_or(0, |q| q.entries.len())
    }

    /// Whether a device has a message a receive would return now (ignores pending expiry).
    pub fn has_visible(&self, device_id: &str) -> bool {
        self.devices
            .get(device_id)
            .is_some_and(|q| q.entries.iter().any(|e| e.lock.is_none()))
    }

    /// The pending messages of a device, oldest first.
    pub fn queue(&self, device_id: &str) -> Result<Vec<QueuedMessage>, C2dError> {
        let q = self
            .devices
            .get(device_id)
            .ok_or(C2dError::DeviceNotFound)?;
        Ok(q.entries
            .iter()
            .map(|e| QueuedMessage {
                message_id: e.message_id.clone(),
                sequence_number: e.seq,
                state: if e.lock.is_some() {
                    MessageState::Locked
                } else {
                    MessageState::Enqueued
                },
                delivery_count: e.delivery_count,
                enqueued_at: e.enqueued_at,
                expires_at: e.expires_at,
                lock_expires_at: e.lock.as_ref().map(|l| l.until),
            })
            .collect())
    }

    /// Settlement history, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &HistoryRecord> {
        self.history.iter()
    }

    /// Feedback records, oldest first.
    pub fn feedback(&self) -> impl Iterator<Item = &FeedbackRecord> {
        self.feedback.iter()
    }

    fn take_locked(
        &mut self,
        device_id: &str,
        lock_token: &str,
        now: Duration,
    ) -> Result<Entry<M>, C2dError> {
        self.expire_device(device_id, now);
        let q = self
            .devices
            .get_mut(device_id)
            .ok_or(C2dError::DeviceNotFound)?;
        let idx = find_locked(q, lock_token).ok_or(C2dError::LockLost)?;
        q.entries.remove(idx).ok_or(C2dError::LockLost)
    }

    fn expire_device(&mut self, device_id: &str, now: Duration) {
        let Some(q) = self.devices.get_mut(device_id) else {
            return;
        };
        let mut expired = Vec::new();
        let mut unlocked = Vec::new();
        let mut i = 0;
        while i < q.entries.len() {
            let Some(e) = q.entries.get_mut(i) else { break };
            if now >= e.expires_at {
                if let Some(e) = q.entries.remove(i) {
                    expired.push(e);
                }
                continue;
            }
            if e.lock.as_ref().is_some_and(|l| now >= l.until) {
                e.lock = None;
                unlocked.push((e.message_id.clone(), e.seq, e.delivery_count));
            }
            i += 1;
        }
        for (id, seq, count) in unlocked {
            self.push_history_raw(device_id, id, seq, Outcome::LockExpired, count, now);
        }
        for e in expired {
            // Report the expiry at the instant it happened, not when it was noticed.
            let at = e.expires_at;
            self.push_history(device_id, &e, Outcome::Expired, at);
            self.push_feedback(device_id, &e, FeedbackStatus::Expired, at);
        }
    }

    fn push_history(&mut self, device_id: &str, e: &Entry<M>, outcome: Outcome, at: Duration) {
        self.push_history_raw(
            device_id,
            e.message_id.clone(),
            e.seq,
            outcome,
            e.delivery_count,
            at,
        );
    }

    fn push_history_raw(
        &mut self,
        device_id: &str,
        message_id: String,
        sequence_number: u64,
        outcome: Outcome,
        delivery_count: u32,
        at: Duration,
    ) {
        if self.config.history_limit == 0 {
            return;
        }
        while self.history.len() >= self.config.history_limit {
            self.history.pop_front();
        }
        self.history.push_back(HistoryRecord {
            device_id: device_id.to_owned(),
            message_id,
            sequence_number,
            outcome,
            delivery_count,
            at,
        });
    }

    fn push_feedback(
        &mut self,
        device_id: &str,
        e: &Entry<M>,
        status: FeedbackStatus,
        at: Duration,
    ) {
        if !wants_feedback(e.ack, status) || self.config.feedback_limit == 0 {
            return;
        }
        let generation = self
            .devices
            .get(device_id)
            .map(|q| q.generation_id.clone())
            .unwrap_or_default();
        while self.feedback.len() >= self.config.feedback_limit {
            self.feedback.pop_front();
        }
        self.feedback.push_back(FeedbackRecord {
            original_message_id: e.message_id.clone(),
            enqueued_at: e.enqueued_at,
            status,
            device_id: device_id.to_owned(),
            device_generation_id: generation,
            at,
        });
    }

    /// A UUID-shaped (version 4 layout) token from the seeded generator.
    fn next_token(&mut self) -> String {
        let a = splitmix64(&mut self.rng_state);
        let b = splitmix64(&mut self.rng_state);
        uuid_string(a, b)
    }
}

fn wants_feedback(ack: Ack, status: FeedbackStatus) -> bool {
    match status {
        FeedbackStatus::Success => ack.wants_positive(),
        FeedbackStatus::Expired
        | FeedbackStatus::DeliveryCountExceeded
        | FeedbackStatus::Rejected => ack.wants_negative(),
    }
}

fn find_locked<M>(q: &DeviceQueue<M>, token: &str) -> Option<usize> {
    q.entries
        .iter()
        .position(|e| e.lock.as_ref().is_some_and(|l| l.token == token))
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Formats 128 bits as a version-4-shaped UUID string (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`).
pub fn uuid_string(hi: u64, lo: u64) -> String {
    let hi = (hi & 0xFFFF_FFFF_FFFF_0FFF) | 0x0000_0000_0000_4000;
    let lo = (lo & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

#[cfg(test)]
mod tests;
