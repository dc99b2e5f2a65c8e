//! IoT Hub over AMQP (iothub-protocols §5): the hooks that put device identities on an AMQP
//! connection — for [`DeviceClient`](crate::DeviceClient) with `Protocol::Amqp` (one device)
//! and for [`FieldGateway`](crate::FieldGateway) (many devices on one connection, §5.10).
//!
//! Per connection: one session and one `$cbs` link pair. Per device: a CBS put-token with a
//! SAS token (audience = the token's `sr`), then — only after it was accepted — a D2C sender
//! link (`/devices/{d}/messages/events`) and a C2D receiver link
//! (`/devices/{d}/messages/devicebound`, receiver settle mode first, settled by the
//! application). Tokens are renewed with a new put-token on the live connection before they
//! expire. Sends waiting for an outcome are re-sent after a reconnect (at least once).
//!
//! With one device (`single`), any failure of the device is a failure of the connection (a
//! refused token fails the client, a detached link reconnects). In a gateway a device fails
//! or retries on its own; the connection and the other devices carry on.

use core::cell::RefCell;
use core::time::Duration;
use std::collections::{HashMap, HashSet, VecDeque};
use std::rc::Rc;

use bytes::Bytes;
use futures::channel::{mpsc, oneshot};
use hubwire_amqp::engine::{
    CbsClient, ClientSasl, ConnectionConfig, Event, LinkId, LinkOptions, PutTokenResult, SessionId,
    SessionOptions, CBS_ADDRESS,
};
use hubwire_amqp::{
    AmqpError as WireError, DeliveryState, ErrorCondition, Fields, ReceiverSettleMode, Str, Symbol,
    Target, Value,
};
use hubwire_iothub::amqp as iot;
use hubwire_iothub::{limits, ConnectionString, DeviceId, Message, TokenPolicy};

use crate::amqp_driver::{AmqpDial, AmqpHooks, AmqpLink, Cx};
use crate::amqp_ws::{command_send_error, outcome_error, random_container_id, CLOSE_TIMEOUT};
use crate::device::{ReceivedMessage, Settle};
use crate::error::{AmqpError, ClientError, OptionsError, SendError, SettleError};
use crate::events::Shared;
use crate::options::DEVICE_CLIENT_TYPE;
use crate::reconnect::ReconnectPolicy;
use crate::status::{ConnectionStatus, ReconnectReason, SendReceipt};
use crate::sys;
use crate::vec_map::VecMap;

/// How long a put-token may stay unanswered (the Node SDK allows 120 s).
const PUT_TOKEN_TIMEOUT: Duration = Duration::from_secs(60);

/// Lock tokens of messages from ended connections, kept to answer `LockLost` rather than
/// "unknown" (bounded: the oldest are forgotten).
const MAX_STALE_LOCKS: usize = 4096;

/// A device to put on the connection.
pub(crate) struct NewDevice {
    pub(crate) device_id: DeviceId,
    pub(crate) identity: ConnectionString,
    pub(crate) token_policy: TokenPolicy,
    pub(crate) messages: mpsc::UnboundedSender<ReceivedMessage>,
    /// Gateway: the device's own status and counters. `None` for the single device of a
    /// `DeviceClient`, whose status is the connection's.
    pub(crate) shared: Option<Rc<RefCell<Shared>>>,
}

/// A D2C message waiting to be sent or for its outcome.
pub(crate) struct Outgoing {
    payload: Bytes,
    message_id: Option<String>,
    message_size: usize,
    reply: oneshot::Sender<Result<SendReceipt, SendError>>,
}

/// Requests to the hub hooks.
pub(crate) enum HubCmd {
    Add {
        device: NewDevice,
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
    Remove {
        device_id: String,
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
    Send {
        device_id: String,
        out: Outgoing,
    },
    Settle {
        device_id: String,
        lock_token: String,
        op: Settle,
        reply: oneshot::Sender<Result<(), SettleError>>,
    },
}

/// Settings of the hub hooks.
pub(crate) struct HubConfig {
    pub(crate) url: String,
    pub(crate) host_name: String,
    /// One device whose failures are the connection's (`DeviceClient`).
    pub(crate) single: bool,
    pub(crate) c2d_credit: u32,
    pub(crate) handshake_timeout: Duration,
    /// Device-level retries in a gateway.
    pub(crate) reconnect: ReconnectPolicy,
    pub(crate) random: Rc<dyn Fn() -> f64>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    D2c,
    C2d,
}

enum DevState {
    /// Waiting for a connection.
    Waiting,
    /// Put-token sent.
    Authenticating,
    /// Links attached, waiting for the answers (`up` counts them).
    Attaching {
        d2c: LinkId,
        c2d: LinkId,
        up: u8,
    },
    Ready {
        d2c: LinkId,
        c2d: LinkId,
    },
    /// Gateway: try again at `at` (monotonic).
    Retry {
        at: Duration,
    },
    Failed(ClientError),
}

struct Dev {
    device_id: DeviceId,
    identity: ConnectionString,
    token_policy: TokenPolicy,
    state: DevState,
    /// Wall-clock time of the next renewal of the current token.
    renew_at_unix: Option<u64>,
    /// The renewal time of the token in a put-token not answered yet.
    next_renew_at: Option<u64>,
    /// A renewal put-token is in flight (the device stays ready meanwhile).
    renewing: bool,
    pending: VecDeque<Outgoing>,
    inflight: HashMap<Bytes, Outgoing>,
    /// Unsettled C2D deliveries by lock token.
    locks: HashMap<String, (LinkId, u32)>,
    messages: mpsc::UnboundedSender<ReceivedMessage>,
    shared: Option<Rc<RefCell<Shared>>>,
    ready: Vec<oneshot::Sender<Result<(), ClientError>>>,
    /// Gateway: consecutive failed attempts of this device.
    attempt: u32,
}

impl Dev {
    fn links(&self) -> Option<(LinkId, LinkId)> {
        match self.state {
            DevState::Attaching { d2c, c2d, .. } | DevState::Ready { d2c, c2d } => Some((d2c, c2d)),
            _ => None,
        }
    }

    fn set_status(&self, status: ConnectionStatus) {
        if let Some(sh) = &self.shared {
            let mut sh = sh.borrow_mut();
            if !sh.status.is_terminal() {
                sh.set_status(status);
            }
        }
    }

    /// Counts on the device's own counters (gateway).
    fn count(&self, f: impl FnOnce(&mut crate::status::WireStats)) {
        if let Some(sh) = &self.shared {
            f(&mut sh.borrow_mut().stats);
        }
    }

    /// Puts messages that were in flight back at the front of the queue, in send order.
    fn requeue(&mut self, tags: &[Bytes]) {
        let mut back: Vec<Outgoing> = tags
            .iter()
            .filter_map(|t| self.inflight.remove(t))
            .collect();
        // Anything not named (e.g. the whole connection ended) goes after those, still first.
        back.extend(self.inflight.drain().map(|(_, o)| o));
        for o in back.into_iter().rev() {
            self.pending.push_front(o);
        }
    }

    /// Ends the device for good with `status` (`Failed` or `Disconnected`).
    fn finish(&mut self, status: &ConnectionStatus) {
        let (client_error, send_error) = match status {
            ConnectionStatus::Failed { reason } => {
                (reason.clone(), SendError::Failed(Box::new(reason.clone())))
            }
            _ => (ClientError::Closed, SendError::Closed),
        };
        for o in self
            .pending
            .drain(..)
            .chain(self.inflight.drain().map(|(_, o)| o))
        {
            let _ = o.reply.send(Err(send_error.clone()));
        }
        for r in self.ready.drain(..) {
            let _ = r.send(Err(client_error.clone()));
        }
        self.locks.clear();
        if let Some(sh) = &self.shared {
            let mut sh = sh.borrow_mut();
            if !sh.status.is_terminal() {
                sh.set_status(status.clone());
            }
            sh.close_listeners();
        }
    }
}

struct Live {
    session: SessionId,
    cbs_tx: LinkId,
    cbs_rx: LinkId,
    cbs_up: u8,
}

pub(crate) struct HubHooks {
    cfg: HubConfig,
    link: AmqpLink<HubCmd>,
    live: Option<Live>,
    cbs: CbsClient,
    next_put_id: u64,
    devices: VecMap<String, Dev>,
    links: HashMap<LinkId, (String, Kind)>,
    puts: HashMap<u64, String>,
    stale_locks: HashSet<String>,
    next_name: u64,
    established: bool,
}

fn client_version() -> Fields {
    let mut f = Fields::new();
    f.push(
        Symbol::from_static("com.microsoft:client-version").unwrap_or_else(|_| Symbol::default()),
        Value::String(Str::from_static(DEVICE_CLIENT_TYPE)),
    );
    f
}

fn peer_error(what: &'static str, e: Option<WireError>) -> AmqpError {
    match e {
        Some(e) => AmqpError::Closed {
            what,
            condition: e.condition.as_str().to_owned(),
            description: e.description.map(|d| d.as_str().to_owned()),
        },
        None => AmqpError::Closed {
            what,
            condition: String::new(),
            description: None,
        },
    }
}

/// The monotonic time at which the wall-clock instant `at_unix` arrives (recomputed each
/// time, so a suspended laptop still renews in time).
fn deadline_for(at_unix: u64) -> Duration {
    let left = at_unix.saturating_sub(sys::unix_secs());
    sys::now().saturating_add(Duration::from_secs(left))
}

impl HubHooks {
    pub(crate) fn new(cfg: HubConfig, link: AmqpLink<HubCmd>) -> Self {
        Self {
            cfg,
            link,
            live: None,
            cbs: CbsClient::new("cbs", 1, Some(PUT_TOKEN_TIMEOUT)),
            next_put_id: 1,
            devices: VecMap::new(),
            links: HashMap::new(),
            puts: HashMap::new(),
            stale_locks: HashSet::new(),
            next_name: 0,
            established: false,
        }
    }

    /// Registers a device before the connection starts (the `DeviceClient`'s device).
    pub(crate) fn add_initial(&mut self, device: NewDevice) {
        let key = device.device_id.as_str().to_owned();
        self.devices.insert(key, Self::dev(device));
    }

    fn dev(d: NewDevice) -> Dev {
        Dev {
            device_id: d.device_id,
            identity: d.identity,
            token_policy: d.token_policy,
            state: DevState::Waiting,
            renew_at_unix: None,
            next_renew_at: None,
            renewing: false,
            pending: VecDeque::new(),
            inflight: HashMap::new(),
            locks: HashMap::new(),
            messages: d.messages,
            shared: d.shared,
            ready: Vec::new(),
            attempt: 0,
        }
    }

    fn name(&mut self, prefix: &str, device: &str) -> Str {
        self.next_name += 1;
        Str::from(format!("{prefix}-{device}-{}", self.next_name))
    }

    /// Sends a put-token for `key` (first authentication or renewal).
    fn put_token(&mut self, cx: &mut Cx<'_>, key: &str, renewal: bool) {
        let now = cx.now;
        let Some(live) = &self.live else { return };
        let cbs_tx = live.cbs_tx;
        let Some(dev) = self.devices.get_mut(key) else {
            return;
        };
        let issued = match dev
            .identity
            .issue_token(&dev.token_policy, sys::unix_secs())
        {
            Ok(t) => t,
            Err(e) => return self.device_failed(cx, key, ClientError::Token(e)),
        };
        let audience = iot::put_token_audience(&issued.token).to_owned();
        let (id, msg) =
            self.cbs
                .put_token(now, Str::from(audience), Str::new(issued.token.expose()));
        let Some(conn) = cx.conn.as_deref_mut() else {
            return;
        };
        if let Err(e) = conn.send(now, cbs_tx, &msg, false) {
            cx.lost(ClientError::Amqp(AmqpError::Command(e.to_string())));
            return;
        }
        self.next_put_id = id.wrapping_add(1);
        self.puts.insert(id, key.to_owned());
        dev.next_renew_at = issued.renew_at;
        if renewal {
            dev.renewing = true;
        } else {
            dev.state = DevState::Authenticating;
        }
    }

    fn attach_links(&mut self, cx: &mut Cx<'_>, key: &str) {
        let now = cx.now;
        let Some(session) = self.live.as_ref().map(|l| l.session) else {
            return;
        };
        let d2c_name = self.name("d2c", key);
        let c2d_name = self.name("c2d", key);
        let Some(dev) = self.devices.get(key) else {
            return;
        };
        let mut d2c =
            LinkOptions::sender(d2c_name, Str::from(iot::d2c_address(&dev.device_id, None)));
        d2c.properties = Some(client_version());
        let mut c2d = LinkOptions::receiver(c2d_name, Str::from(iot::c2d_address(&dev.device_id)));
        c2d.target = Some(Target::with_address(Str::from(format!("c2d-{key}"))));
        c2d.rcv_settle_mode = Some(ReceiverSettleMode::First);
        c2d.credit = self.cfg.c2d_credit.max(1);
        c2d.properties = Some(client_version());
        let Some(conn) = cx.conn.as_deref_mut() else {
            return;
        };
        let links = conn
            .attach_sender(now, session, d2c)
            .and_then(|d| conn.attach_receiver(now, session, c2d).map(|c| (d, c)));
        match links {
            Ok((d2c, c2d)) => {
                self.links.insert(d2c, (key.to_owned(), Kind::D2c));
                self.links.insert(c2d, (key.to_owned(), Kind::C2d));
                if let Some(dev) = self.devices.get_mut(key) {
                    dev.state = DevState::Attaching { d2c, c2d, up: 0 };
                }
            }
            Err(e) => cx.lost(ClientError::Amqp(AmqpError::Command(e.to_string()))),
        }
    }

    fn device_ready(&mut self, cx: &mut Cx<'_>, key: &str) {
        let Some(dev) = self.devices.get_mut(key) else {
            return;
        };
        let DevState::Attaching { d2c, c2d, .. } = dev.state else {
            return;
        };
        dev.state = DevState::Ready { d2c, c2d };
        dev.attempt = 0;
        dev.count(|s| s.connects += 1);
        dev.set_status(ConnectionStatus::Connected);
        for r in dev.ready.drain(..) {
            let _ = r.send(Ok(()));
        }
        self.flush(cx, key);
        if self.cfg.single {
            cx.established();
        }
    }

    /// Sends what waits in the device's queue (only while it is ready).
    fn flush(&mut self, cx: &mut Cx<'_>, key: &str) {
        let now = cx.now;
        let Some(dev) = self.devices.get_mut(key) else {
            return;
        };
        let DevState::Ready { d2c, .. } = dev.state else {
            return;
        };
        let Some(conn) = cx.conn.as_deref_mut() else {
            return;
        };
        while let Some(out) = dev.pending.pop_front() {
            match conn.send_bytes(now, d2c, out.payload.clone(), false, None) {
                Ok(tag) => {
                    dev.inflight.insert(tag, out);
                }
                Err(e @ hubwire_amqp::engine::CommandError::MessageTooLarge { .. }) => {
                    let _ = out.reply.send(Err(command_send_error(&e)));
                }
                Err(_) => {
                    // The link is going away; the message is sent on the next one.
                    dev.pending.push_front(out);
                    break;
                }
            }
        }
    }

    /// A device cannot go on: in a single-device client the connection fails (or retries,
    /// when the error is transient); in a gateway the device fails (or retries) alone.
    fn device_failed(&mut self, cx: &mut Cx<'_>, key: &str, error: ClientError) {
        if self.cfg.single {
            cx.lost(error);
            return;
        }
        if error.is_transient() {
            return self.device_lost(cx, key, error);
        }
        self.detach_device(cx, key);
        if let Some(dev) = self.devices.get_mut(key) {
            dev.finish(&ConnectionStatus::Failed {
                reason: error.clone(),
            });
            dev.state = DevState::Failed(error);
            dev.renewing = false;
        }
    }

    /// Gateway: the device lost its links (or its token could not be put): retry it alone
    /// after a back-off.
    fn device_lost(&mut self, cx: &mut Cx<'_>, key: &str, error: ClientError) {
        if self.cfg.single {
            cx.lost(error);
            return;
        }
        self.detach_device(cx, key);
        let Some(dev) = self.devices.get_mut(key) else {
            return;
        };
        dev.requeue(&[]);
        dev.renewing = false;
        dev.attempt += 1;
        if !self.cfg.reconnect.enabled || !self.cfg.reconnect.allows(dev.attempt) {
            let reason = ClientError::RetriesExhausted {
                attempts: dev.attempt.saturating_sub(1),
                last: Box::new(error),
            };
            dev.finish(&ConnectionStatus::Failed {
                reason: reason.clone(),
            });
            dev.state = DevState::Failed(reason);
            return;
        }
        let delay = self.cfg.reconnect.delay(dev.attempt, (self.cfg.random)());
        dev.state = DevState::Retry {
            at: cx.now.saturating_add(delay),
        };
        dev.set_status(ConnectionStatus::Reconnecting {
            attempt: dev.attempt,
            next_try_in: delay,
            reason: ReconnectReason::ConnectionLost(error),
        });
        dev.count(|s| s.reconnect_attempts += 1);
    }

    /// Detaches the device's links (if any) and forgets them.
    fn detach_device(&mut self, cx: &mut Cx<'_>, key: &str) {
        let Some(dev) = self.devices.get_mut(key) else {
            return;
        };
        let Some((d2c, c2d)) = dev.links() else {
            return;
        };
        self.stale_locks.extend(dev.locks.drain().map(|(k, _)| k));
        dev.state = DevState::Waiting;
        if let Some(conn) = cx.conn.as_deref_mut() {
            for l in [d2c, c2d] {
                let _ = conn.detach(cx.now, l, true, None);
            }
        }
        self.links.remove(&d2c);
        self.links.remove(&c2d);
        self.trim_stale();
    }

    fn trim_stale(&mut self) {
        if self.stale_locks.len() > MAX_STALE_LOCKS {
            self.stale_locks.clear();
        }
    }

    fn on_put_result(&mut self, cx: &mut Cx<'_>, result: PutTokenResult) {
        match result {
            PutTokenResult::Response {
                message_id,
                response,
                ..
            } => {
                let Some(key) = self.puts.remove(&message_id) else {
                    return;
                };
                if response.is_success() {
                    let Some(dev) = self.devices.get_mut(&key) else {
                        return;
                    };
                    dev.renew_at_unix = dev.next_renew_at.take();
                    if dev.renewing {
                        dev.renewing = false;
                        dev.count(|s| s.token_renewals += 1);
                        cx.stats().token_renewals += 1;
                    } else if matches!(dev.state, DevState::Authenticating) {
                        self.attach_links(cx, &key);
                    }
                } else {
                    let error = ClientError::Amqp(AmqpError::PutToken {
                        status_code: response.status_code,
                        description: response.status_description.map(|d| d.as_str().to_owned()),
                    });
                    self.device_failed(cx, &key, error);
                }
            }
            PutTokenResult::TimedOut { message_id, .. } => {
                if let Some(key) = self.puts.remove(&message_id) {
                    self.device_lost(cx, &key, ClientError::Amqp(AmqpError::PutTokenTimeout));
                }
            }
            // Later result kinds: nothing to do.
            _ => {}
        }
    }

    fn on_delivery(&mut self, cx: &mut Cx<'_>, d: hubwire_amqp::engine::Delivery) {
        let now = cx.now;
        let cbs_rx = self.live.as_ref().map(|l| l.cbs_rx);
        if Some(d.link) == cbs_rx {
            if !d.settled {
                if let Some(conn) = cx.conn.as_deref_mut() {
                    let _ = conn.settle(now, d.link, d.delivery_id, Some(DeliveryState::Accepted));
                }
            }
            let result = d.message().ok().and_then(|m| self.cbs.handle_response(&m));
            if let Some(result) = result {
                self.on_put_result(cx, result);
            }
            return;
        }
        let Some((key, Kind::C2d)) = self.links.get(&d.link).cloned() else {
            return;
        };
        let Some(dev) = self.devices.get_mut(&key) else {
            return;
        };
        let parsed = d
            .message()
            .ok()
            .and_then(|m| iot::c2d_message_from_amqp(&m, &d.tag).ok());
        let Some(message) = parsed else {
            // Not a message we can hand out: the hub dead-letters it.
            if !d.settled {
                if let Some(conn) = cx.conn.as_deref_mut() {
                    let error = WireError::new(
                        ErrorCondition::DECODE_ERROR,
                        Some(Str::from_static("not a valid IoT Hub C2D message")),
                    );
                    let _ = conn.settle(
                        now,
                        d.link,
                        d.delivery_id,
                        Some(DeliveryState::rejected(error)),
                    );
                }
            }
            cx.stats().messages_dropped += 1;
            dev.count(|s| s.messages_dropped += 1);
            return;
        };
        let lock_token = message
            .received
            .as_ref()
            .and_then(|r| r.lock_token.clone())
            .unwrap_or_else(|| format!("amqp:{}:{}", d.link.handle(), d.delivery_id));
        if !d.settled {
            dev.locks
                .insert(lock_token.clone(), (d.link, d.delivery_id));
        }
        let size = d.payload.len() as u64;
        {
            let mut st = cx.stats();
            st.messages_received += 1;
        }
        dev.count(|s| {
            s.messages_received += 1;
            s.bytes_received += size;
        });
        let received = ReceivedMessage::amqp(message, lock_token.clone(), self.link.clone(), key);
        if dev.messages.unbounded_send(received).is_err() {
            // Nobody will settle it: give it back to the hub at once.
            if dev.locks.remove(&lock_token).is_some() {
                if let Some(conn) = cx.conn.as_deref_mut() {
                    let _ = conn.settle(now, d.link, d.delivery_id, Some(DeliveryState::Released));
                }
            }
        }
    }

    fn on_outcome(
        &mut self,
        cx: &mut Cx<'_>,
        link: LinkId,
        tag: &Bytes,
        state: Option<DeliveryState>,
    ) {
        let Some((key, Kind::D2c)) = self.links.get(&link).cloned() else {
            return;
        };
        let Some(dev) = self.devices.get_mut(&key) else {
            return;
        };
        let Some(out) = dev.inflight.remove(tag) else {
            return;
        };
        let error = state.as_ref().and_then(outcome_error);
        match error {
            None => {
                let wire_bytes = out.payload.len();
                cx.stats().messages_sent += 1;
                dev.count(|s| {
                    s.messages_sent += 1;
                    s.bytes_sent += wire_bytes as u64;
                });
                let _ = out.reply.send(Ok(SendReceipt {
                    message_id: out.message_id,
                    packet_id: 0,
                    wire_bytes,
                    message_size: out.message_size,
                }));
            }
            Some(e) => {
                let _ = out.reply.send(Err(SendError::Amqp(e)));
            }
        }
    }

    fn on_link_detached(
        &mut self,
        cx: &mut Cx<'_>,
        link: LinkId,
        by_peer: bool,
        error: Option<WireError>,
        lost: &[Bytes],
    ) {
        if let Some(live) = &self.live {
            if link == live.cbs_tx || link == live.cbs_rx {
                if by_peer {
                    cx.lost(ClientError::Amqp(peer_error("link", error)));
                }
                return;
            }
        }
        let Some((key, kind)) = self.links.remove(&link) else {
            return;
        };
        let Some(dev) = self.devices.get_mut(&key) else {
            return;
        };
        if kind == Kind::D2c {
            dev.requeue(lost);
        }
        let current = dev.links().is_some_and(|(d, c)| d == link || c == link);
        if !current || !by_peer {
            return;
        }
        let attaching = matches!(dev.state, DevState::Attaching { .. });
        let e = match (attaching, peer_error("link", error)) {
            (
                true,
                AmqpError::Closed {
                    condition,
                    description,
                    ..
                },
            ) => AmqpError::LinkRefused {
                address: match kind {
                    Kind::D2c => iot::d2c_address(&dev.device_id, None),
                    Kind::C2d => iot::c2d_address(&dev.device_id),
                },
                condition,
                description,
            },
            (_, e) => e,
        };
        // Refused credentials are final (the hub detaches a device whose token expired with
        // unauthorized-access); anything else is retried.
        let e = ClientError::Amqp(e);
        if e.is_auth_failure() && !self.cfg.single {
            // The token may simply have expired: one fresh put-token decides.
            self.device_lost(cx, &key, e);
        } else if e.is_transient() || !attaching {
            self.device_lost(cx, &key, e);
        } else {
            self.device_failed(cx, &key, e);
        }
    }

    fn start_waiting(&mut self, cx: &mut Cx<'_>) {
        let keys: Vec<String> = self
            .devices
            .iter()
            .filter(|(_, d)| matches!(d.state, DevState::Waiting))
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            self.put_token(cx, &key, false);
        }
    }
}

impl AmqpHooks for HubHooks {
    type Cmd = HubCmd;

    fn dial(&mut self) -> Result<AmqpDial, ClientError> {
        let mut config = ConnectionConfig::new(Str::from(random_container_id("hubwire-web-")));
        config.hostname = Some(Str::from(self.cfg.host_name.clone()));
        config.handshake_timeout = Some(self.cfg.handshake_timeout);
        config.close_timeout = Some(CLOSE_TIMEOUT);
        Ok(AmqpDial {
            url: self.cfg.url.clone(),
            config,
            // iothub-protocols §5.2: ANONYMOUS, then a CBS put-token per device.
            sasl: ClientSasl::Anonymous,
        })
    }

    fn on_open(&mut self, cx: &mut Cx<'_>) {
        let now = cx.now;
        self.established = false;
        self.cbs = CbsClient::new("cbs", self.next_put_id, Some(PUT_TOKEN_TIMEOUT));
        let Some(conn) = cx.conn.as_deref_mut() else {
            return;
        };
        let opened = conn
            .open_session(now, SessionOptions::default())
            .and_then(|session| {
                let tx = conn.attach_sender(
                    now,
                    session,
                    LinkOptions::sender("$cbs-sender", CBS_ADDRESS),
                )?;
                let mut rx = LinkOptions::receiver("$cbs-receiver", CBS_ADDRESS);
                rx.target = Some(Target::with_address("cbs"));
                let rx = conn.attach_receiver(now, session, rx)?;
                Ok(Live {
                    session,
                    cbs_tx: tx,
                    cbs_rx: rx,
                    cbs_up: 0,
                })
            });
        match opened {
            Ok(live) => self.live = Some(live),
            Err(e) => {
                cx.lost(ClientError::Amqp(AmqpError::Command(e.to_string())));
                return;
            }
        }
        for dev in self.devices.values_mut() {
            if matches!(dev.state, DevState::Retry { .. }) {
                dev.state = DevState::Waiting;
            }
            if !matches!(dev.state, DevState::Failed(_)) {
                dev.set_status(ConnectionStatus::Connecting);
            }
        }
        // Put-tokens are pipelined: the engine sends them once the `$cbs` link has credit.
        self.start_waiting(cx);
    }

    fn on_event(&mut self, cx: &mut Cx<'_>, event: Event) {
        match event {
            Event::LinkAttached { link, remote } => {
                if let Some(live) = self.live.as_mut() {
                    if link == live.cbs_tx || link == live.cbs_rx {
                        let ok = if link == live.cbs_tx {
                            remote.target.is_some()
                        } else {
                            remote.source.is_some()
                        };
                        if ok {
                            live.cbs_up += 1;
                            if live.cbs_up == 2 && !self.cfg.single && !self.established {
                                self.established = true;
                                cx.established();
                            }
                        }
                        return;
                    }
                }
                let Some((key, kind)) = self.links.get(&link).cloned() else {
                    return;
                };
                // A refusal carries a null terminus; its DETACH follows.
                let ok = match kind {
                    Kind::D2c => remote.target.is_some(),
                    Kind::C2d => remote.source.is_some(),
                };
                let Some(dev) = self.devices.get_mut(&key) else {
                    return;
                };
                if let DevState::Attaching { up, .. } = &mut dev.state {
                    if ok {
                        *up += 1;
                        if *up == 2 {
                            self.device_ready(cx, &key);
                        }
                    }
                }
            }
            Event::LinkDetached {
                link,
                by_peer,
                error,
                lost,
                ..
            } => self.on_link_detached(cx, link, by_peer, error, &lost),
            Event::SessionEnded {
                session,
                by_peer: true,
                error,
            } if self.live.as_ref().is_some_and(|l| l.session == session) => {
                cx.lost(ClientError::Amqp(peer_error("session", error)));
            }
            Event::Delivery(d) => self.on_delivery(cx, d),
            Event::Outcome {
                link, tag, state, ..
            } => self.on_outcome(cx, link, &tag, state),
            _ => {}
        }
    }

    fn on_command(&mut self, cx: &mut Cx<'_>, cmd: HubCmd) {
        let now = cx.now;
        match cmd {
            HubCmd::Add { device, reply } => {
                let key = device.device_id.as_str().to_owned();
                if self.devices.contains_key(&key) {
                    let _ = reply.send(Err(ClientError::Options(OptionsError::DuplicateDevice {
                        device_id: key,
                    })));
                    return;
                }
                let mut dev = Self::dev(device);
                dev.ready.push(reply);
                dev.set_status(ConnectionStatus::Connecting);
                self.devices.insert(key.clone(), dev);
                if self.live.is_some() && cx.conn.is_some() {
                    self.put_token(cx, &key, false);
                }
            }
            HubCmd::Remove { device_id, reply } => {
                if !self.devices.contains_key(&device_id) {
                    let _ = reply.send(Err(ClientError::Options(OptionsError::Invalid(format!(
                        "device {device_id:?} is not on this gateway"
                    )))));
                    return;
                }
                self.detach_device(cx, &device_id);
                if let Some(mut dev) = self.devices.remove(&device_id) {
                    dev.finish(&ConnectionStatus::Disconnected);
                }
                let _ = reply.send(Ok(()));
            }
            HubCmd::Send { device_id, out } => {
                let Some(dev) = self.devices.get_mut(&device_id) else {
                    let _ = out.reply.send(Err(SendError::Closed));
                    return;
                };
                if let DevState::Failed(e) = &dev.state {
                    let _ = out.reply.send(Err(SendError::Failed(Box::new(e.clone()))));
                    return;
                }
                dev.pending.push_back(out);
                if cx.conn.is_some() {
                    self.flush(cx, &device_id);
                }
            }
            HubCmd::Settle {
                device_id,
                lock_token,
                op,
                reply,
            } => {
                let Some(dev) = self.devices.get_mut(&device_id) else {
                    let _ = reply.send(Err(SettleError::Closed));
                    return;
                };
                let Some((link, delivery_id)) = dev.locks.remove(&lock_token) else {
                    let e = if self.stale_locks.remove(&lock_token) {
                        SettleError::Amqp(AmqpError::LockLost)
                    } else {
                        SettleError::UnknownLockToken
                    };
                    let _ = reply.send(Err(e));
                    return;
                };
                let state = match op {
                    Settle::Complete => DeliveryState::Accepted,
                    Settle::Abandon => DeliveryState::Released,
                    Settle::Reject => DeliveryState::rejected(WireError::new(
                        ErrorCondition::INTERNAL_ERROR,
                        Some(Str::from_static("Rejected by application")),
                    )),
                };
                let r = match cx.conn.as_deref_mut() {
                    Some(conn) => conn
                        .settle(now, link, delivery_id, Some(state))
                        .map_err(|_| SettleError::Amqp(AmqpError::LockLost)),
                    None => Err(SettleError::Amqp(AmqpError::LockLost)),
                };
                let _ = reply.send(r);
            }
        }
    }

    fn deadline(&self) -> Option<Duration> {
        let mut at = self.cbs.poll_timeout();
        let mut earliest = |d: Duration| at = Some(at.map_or(d, |a| a.min(d)));
        for dev in self.devices.values() {
            match dev.state {
                DevState::Retry { at } => earliest(at),
                DevState::Ready { .. } if !dev.renewing => {
                    if let Some(r) = dev.renew_at_unix {
                        earliest(deadline_for(r));
                    }
                }
                _ => {}
            }
        }
        at
    }

    fn on_timer(&mut self, cx: &mut Cx<'_>) {
        let now = cx.now;
        for result in self.cbs.handle_timeout(now) {
            self.on_put_result(cx, result);
        }
        let unix = sys::unix_secs();
        let mut renew = Vec::new();
        let mut retry = Vec::new();
        for (key, dev) in &self.devices {
            match dev.state {
                DevState::Retry { at } if at <= now => retry.push(key.clone()),
                DevState::Ready { .. }
                    if !dev.renewing && dev.renew_at_unix.is_some_and(|r| r <= unix) =>
                {
                    renew.push(key.clone());
                }
                _ => {}
            }
        }
        for key in retry {
            if let Some(dev) = self.devices.get_mut(&key) {
                dev.state = DevState::Waiting;
                dev.set_status(ConnectionStatus::Connecting);
            }
            self.put_token(cx, &key, false);
        }
        for key in renew {
            self.put_token(cx, &key, true);
        }
    }

    fn on_down(&mut self, _shared: &Rc<RefCell<Shared>>, status: &ConnectionStatus) {
        self.live = None;
        self.puts.clear();
        self.links.clear();
        self.established = false;
        for dev in self.devices.values_mut() {
            dev.requeue(&[]);
            self.stale_locks.extend(dev.locks.drain().map(|(k, _)| k));
            dev.renewing = false;
            if !matches!(dev.state, DevState::Failed(_)) {
                dev.state = DevState::Waiting;
                dev.set_status(status.clone());
            }
        }
        self.trim_stale();
    }

    fn on_stop(&mut self, _shared: &Rc<RefCell<Shared>>, status: &ConnectionStatus) {
        self.live = None;
        for (_, mut dev) in std::mem::take(&mut self.devices) {
            dev.finish(status);
        }
    }

    fn refuse(&mut self, cmd: HubCmd, error: &ClientError) {
        let send_error = match error {
            ClientError::Closed => SendError::Closed,
            other => SendError::Failed(Box::new(other.clone())),
        };
        match cmd {
            HubCmd::Add { reply, .. } | HubCmd::Remove { reply, .. } => {
                let _ = reply.send(Err(error.clone()));
            }
            HubCmd::Send { out, .. } => {
                let _ = out.reply.send(Err(send_error));
            }
            HubCmd::Settle { reply, .. } => {
                let _ = reply.send(Err(SettleError::Closed));
            }
        }
    }
}

/// The error a request gets when the pump has stopped.
fn send_closed(link: &AmqpLink<HubCmd>) -> SendError {
    match link.final_error() {
        ClientError::Closed => SendError::Closed,
        other => SendError::Failed(Box::new(other)),
    }
}

/// Sends a D2C message for `device_id` and waits for the hub's outcome (`accepted`).
pub(crate) async fn send_event(
    link: &AmqpLink<HubCmd>,
    device_id: &str,
    message: Message,
) -> Result<SendReceipt, SendError> {
    limits::check_d2c(&message)?;
    let message_size = limits::message_size(&message);
    let amqp = iot::message_to_amqp(&message).map_err(|e| SendError::InvalidMessage {
        reason: e.to_string(),
    })?;
    let payload = hubwire_amqp::Encode::to_bytes(&amqp).map_err(|e| SendError::InvalidMessage {
        reason: e.to_string(),
    })?;
    let (reply, rx) = oneshot::channel();
    let cmd = HubCmd::Send {
        device_id: device_id.to_owned(),
        out: Outgoing {
            payload,
            message_id: message.message_id.clone(),
            message_size,
            reply,
        },
    };
    if !link.request(cmd) {
        return Err(send_closed(link));
    }
    rx.await.unwrap_or_else(|_| Err(send_closed(link)))
}

/// Settles a C2D message of `device_id` by lock token.
pub(crate) async fn settle(
    link: &AmqpLink<HubCmd>,
    device_id: &str,
    lock_token: &str,
    op: Settle,
) -> Result<(), SettleError> {
    let (reply, rx) = oneshot::channel();
    let cmd = HubCmd::Settle {
        device_id: device_id.to_owned(),
        lock_token: lock_token.to_owned(),
        op,
        reply,
    };
    if !link.request(cmd) {
        return Err(SettleError::Closed);
    }
    rx.await.unwrap_or(Err(SettleError::Closed))
}
