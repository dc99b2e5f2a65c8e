//! Shared hub state: registry, C2D queues, D2C event log, live connections, MQTT sessions.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hubwire_iothub::{Message, Timestamp};
use serde::Serialize;
use tokio::sync::{broadcast, Notify};

use crate::c2d::{C2dConfig, C2dQueues};
use crate::registry::Registry;

/// Most D2C events kept in memory (oldest dropped first).
const EVENT_LOG_LIMIT: usize = 10_000;

/// Locks a mutex, recovering the data if a previous holder panicked: the state stays usable
/// and a single bad request cannot take the whole emulator down.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Monotonic time for the sans-IO cores, anchored to wall-clock time for display.
#[derive(Debug)]
pub(crate) struct Clock {
    origin: Instant,
    origin_unix_ms: u64,
}

impl Clock {
    fn new() -> Self {
        let origin_unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        Self {
            origin: Instant::now(),
            origin_unix_ms,
        }
    }

    /// Time since the origin.
    pub(crate) fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    /// The `Instant` of a core time value (for tokio timers).
    pub(crate) fn instant(&self, at: Duration) -> Instant {
        self.origin + at
    }

    /// Wall-clock time of a core time value.
    pub(crate) fn utc(&self, at: Duration) -> Timestamp {
        let ms = u64::try_from(at.as_millis()).unwrap_or(u64::MAX);
        Timestamp::from_unix_millis(self.origin_unix_ms.saturating_add(ms))
    }

    /// Wall-clock seconds since the Unix epoch (SAS expiry checks).
    pub(crate) fn unix_secs(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    }
}

/// One stored device-to-cloud message, as the service API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct D2cEvent {
    /// Hub-wide sequence number, from 1.
    pub seq: u64,
    /// Sending device.
    pub device_id: String,
    /// Transport (`mqtt`, `amqp` or `https`).
    pub protocol: &'static str,
    /// When the hub stored it (RFC 3339).
    pub enqueued_time_utc: String,
    /// Body as UTF-8 text, `null` if it is not UTF-8.
    pub body: Option<String>,
    /// Body as base64.
    pub body_base64: String,
    /// System properties (camelCase keys; only those present).
    pub system_properties: serde_json::Map<String, serde_json::Value>,
    /// Application properties.
    pub properties: serde_json::Map<String, serde_json::Value>,
    /// Size of the transport unit that carried it (MQTT: the whole PUBLISH packet; AMQP: every
    /// transfer frame of the delivery, frame headers and transfer performatives included;
    /// HTTPS: the request line, header lines and body as received, shared out evenly over a
    /// batch).
    pub wire_bytes: usize,
}

#[derive(Debug, Default)]
pub(crate) struct EventLog {
    events: VecDeque<Arc<D2cEvent>>,
    next_seq: u64,
}

impl EventLog {
    /// Events with `seq > since`, optionally for one device, oldest first.
    pub(crate) fn since(&self, since: u64, device_id: Option<&str>) -> Vec<Arc<D2cEvent>> {
        self.events
            .iter()
            .filter(|e| e.seq > since && device_id.is_none_or(|d| e.device_id == d))
            .cloned()
            .collect()
    }
}

/// A live device connection as the rest of the hub sees it.
#[derive(Debug)]
struct ConnEntry {
    id: u64,
    protocol: &'static str,
    /// Wakes the connection when C2D messages may be deliverable.
    wake: Arc<Notify>,
    /// Asks the connection to close (replaced by a newer connection, device deleted).
    kick: Arc<Notify>,
}

/// MQTT session state kept across connections with clean-session 0.
#[derive(Debug, Clone, Default)]
pub(crate) struct StoredSession {
    /// Granted topic filters.
    pub(crate) filters: Vec<String>,
}

/// Everything the transports and the service API share.
#[derive(Debug)]
pub(crate) struct HubState {
    pub(crate) host_name: String,
    pub(crate) clock: Clock,
    pub(crate) registry: Mutex<Registry>,
    pub(crate) c2d: Mutex<C2dQueues<Message>>,
    /// Woken whenever C2D deadlines may have changed.
    pub(crate) c2d_timer: Notify,
    pub(crate) events: Mutex<EventLog>,
    pub(crate) events_tx: broadcast::Sender<Arc<D2cEvent>>,
    connections: Mutex<HashMap<String, ConnEntry>>,
    pub(crate) sessions: Mutex<HashMap<String, StoredSession>>,
    next_conn_id: AtomicU64,
}

/// Shared handle.
pub(crate) type Shared = Arc<HubState>;

impl HubState {
    pub(crate) fn new(host_name: String, registry: Registry, c2d: C2dConfig, seed: u64) -> Self {
        let mut c2d = C2dQueues::new(c2d, seed);
        for d in registry.devices() {
            c2d.add_device(&d.device_id, &d.generation_id);
        }
        let (events_tx, _) = broadcast::channel(1024);
        Self {
            host_name,
            clock: Clock::new(),
            registry: Mutex::new(registry),
            c2d: Mutex::new(c2d),
            c2d_timer: Notify::new(),
            events: Mutex::new(EventLog::default()),
            events_tx,
            connections: Mutex::new(HashMap::new()),
            sessions: Mutex::new(HashMap::new()),
            next_conn_id: AtomicU64::new(1),
        }
    }

    /// Stores a D2C event (assigning its sequence number) and broadcasts it.
    pub(crate) fn store_event(&self, mut event: D2cEvent) -> Arc<D2cEvent> {
        let event = {
            let mut log = lock(&self.events);
            log.next_seq += 1;
            event.seq = log.next_seq;
            let event = Arc::new(event);
            if log.events.len() >= EVENT_LOG_LIMIT {
                log.events.pop_front();
            }
            log.events.push_back(event.clone());
            event
        };
        // No subscribers is fine: the log keeps it.
        let _ = self.events_tx.send(event.clone());
        event
    }

    /// Registers a live connection for `device_id`, closing any older one (one connection per
    /// identity). Dropping the returned guard unregisters it.
    pub(crate) fn register_connection(
        self: &Arc<Self>,
        device_id: &str,
        protocol: &'static str,
    ) -> ConnectionGuard {
        let id = self.next_conn_id.fetch_add(1, Ordering::Relaxed);
        let wake = Arc::new(Notify::new());
        let kick = Arc::new(Notify::new());
        let old = lock(&self.connections).insert(
            device_id.to_owned(),
            ConnEntry {
                id,
                protocol,
                wake: wake.clone(),
                kick: kick.clone(),
            },
        );
        if let Some(old) = old {
            tracing::info!(
                device = device_id,
                protocol = old.protocol,
                "closing older connection: a new connection for the same device arrived (400027)"
            );
            old.kick.notify_one();
        }
        ConnectionGuard {
            hub: self.clone(),
            device_id: device_id.to_owned(),
            id,
            wake,
            kick,
        }
    }

    /// The protocol of the device's live connection, if any.
    pub(crate) fn connection_protocol(&self, device_id: &str) -> Option<&'static str> {
        lock(&self.connections).get(device_id).map(|c| c.protocol)
    }

    /// Closes the device's live connection, if any.
    pub(crate) fn kick(&self, device_id: &str) {
        if let Some(c) = lock(&self.connections).get(device_id) {
            c.kick.notify_one();
        }
    }

    /// Tells the device's live connection that C2D messages may be deliverable.
    pub(crate) fn wake(&self, device_id: &str) {
        if let Some(c) = lock(&self.connections).get(device_id) {
            c.wake.notify_one();
        }
    }

    /// Wakes every live connection (after lock or TTL expiry).
    pub(crate) fn wake_all(&self) {
        for c in lock(&self.connections).values() {
            c.wake.notify_one();
        }
    }
}

/// Registration of one live connection; unregisters on drop unless a newer one replaced it.
#[derive(Debug)]
pub(crate) struct ConnectionGuard {
    hub: Shared,
    device_id: String,
    id: u64,
    pub(crate) wake: Arc<Notify>,
    pub(crate) kick: Arc<Notify>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut conns = lock(&self.hub.connections);
        if conns.get(&self.device_id).is_some_and(|c| c.id == self.id) {
            conns.remove(&self.device_id);
        }
    }
}

/// Runs lock and TTL expiry of the C2D model at its deadlines, for the life of the hub.
pub(crate) async fn c2d_timer(hub: Shared) {
    loop {
        let deadline = lock(&hub.c2d).next_deadline();
        let sleep = async {
            match deadline {
                Some(at) => tokio::time::sleep_until(hub.clock.instant(at).into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = hub.c2d_timer.notified() => {}
            () = sleep => {
                lock(&hub.c2d).tick(hub.clock.now());
                hub.wake_all();
            }
        }
    }
}

/// Builds the service-API view of a stored D2C message (sequence number assigned on store).
pub(crate) fn d2c_event(
    hub: &HubState,
    device_id: &str,
    protocol: &'static str,
    msg: &Message,
    wire_bytes: usize,
) -> D2cEvent {
    use base64::Engine;
    use serde_json::Value;

    let mut sys = serde_json::Map::new();
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            sys.insert(k.to_owned(), Value::String(v));
        }
    };
    put("messageId", msg.message_id.clone());
    put("correlationId", msg.correlation_id.clone());
    put("userId", msg.user_id.clone());
    put("to", msg.to.clone());
    put("contentType", msg.content_type.clone());
    put("contentEncoding", msg.content_encoding.clone());
    put(
        "absoluteExpiryTime",
        msg.absolute_expiry.map(Timestamp::to_rfc3339_millis),
    );
    put(
        "creationTimeUtc",
        msg.creation_time.map(Timestamp::to_rfc3339_millis),
    );
    put("outputName", msg.output_name.clone());
    put("connectionDeviceId", Some(device_id.to_owned()));
    let properties = msg
        .properties
        .iter()
        .map(|(k, v)| (k.to_owned(), Value::String(v.to_owned())))
        .collect();
    D2cEvent {
        seq: 0,
        device_id: device_id.to_owned(),
        protocol,
        enqueued_time_utc: hub.clock.utc(hub.clock.now()).to_rfc3339_millis(),
        body: std::str::from_utf8(&msg.body).ok().map(str::to_owned),
        body_base64: base64::engine::general_purpose::STANDARD.encode(&msg.body),
        system_properties: sys,
        properties,
        wire_bytes,
    }
}
