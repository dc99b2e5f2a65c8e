//! The sans-IO AMQP 1.0 engine: protocol headers, SASL, connection, sessions and links, for a
//! device client and for the hub side alike.
//!
//! A [`Connection`] is a plain state machine. It never touches a socket, a clock or a random
//! number generator: the host passes bytes and the current time in, and takes bytes, events
//! and the next deadline out. Time is a [`Duration`] from any monotonic origin the host picks
//! (`performance.now()` in the browser, an `Instant` taken at start-up natively); it must never
//! go backwards (a smaller value is treated as the latest one seen). Container ids and
//! delivery tags come from the host or from counters.
//!
//! # Driving loop
//!
//! After creating the connection and after **every** call that takes `now`
//! (`handle_bytes`, `handle_timeout`, any command):
//!
//! 1. drain [`poll_transmit`](Connection::poll_transmit) and write the bytes to the transport;
//! 2. drain [`poll_event`](Connection::poll_event) and act on the events;
//! 3. re-arm the timer at [`poll_timeout`](Connection::poll_timeout) and call
//!    [`handle_timeout`](Connection::handle_timeout) when it fires (calling it early or twice
//!    is harmless).
//!
//! After [`Event::Closed`], flush `poll_transmit` once more and close the transport.
//!
//! # Errors
//!
//! * Decode errors and peer protocol violations end the connection: the engine sends a CLOSE
//!   with the matching AMQP condition (`amqp:decode-error`, `amqp:connection:framing-error`,
//!   `amqp:illegal-state`, …), reports [`Event::Closed`] with [`CloseReason::Protocol`] and
//!   returns the [`ProtocolError`] from `handle_bytes` (sticky). Violations confined to a session
//!   (window violation, unattached handle) end only that session; those confined to a link
//!   (credit or max-message-size exceeded) detach only that link.
//! * Local API misuse returns a [`CommandError`]; nothing is sent.
//! * Normal endings (CLOSE, END, DETACH from either side) are events, never errors.
//!
//! # Example
//!
//! ```
//! use core::time::Duration;
//! use hubwire_amqp::engine::{
//!     ClientSasl, Connection, ConnectionConfig, Event, LinkOptions, ServerSasl,
//!     SessionOptions,
//! };
//! use hubwire_amqp::{DeliveryState, Message};
//!
//! let t0 = Duration::ZERO;
//! let mut client = Connection::client(t0, ConnectionConfig::new("device"), ClientSasl::Anonymous);
//! let mut hub = Connection::server(t0, ConnectionConfig::iot_hub("hub"), ServerSasl::iot_hub());
//! let session = client.open_session(t0, SessionOptions::default())?;
//! let link = client.attach_sender(t0, session, LinkOptions::sender("d2c", "/devices/d1/messages/events"))?;
//! client.send(t0, link, &Message::with_data(&b"{\"temp\":21}"[..]), false)?;
//!
//! // Move bytes both ways until nothing moves; the hub accepts links and messages.
//! let mut accepted = None;
//! for _ in 0..20 {
//!     let mut wire = Vec::new();
//!     client.poll_transmit(&mut wire);
//!     hub.handle_bytes(t0, &wire)?;
//!     while let Some(ev) = hub.poll_event() {
//!         match ev {
//!             Event::AttachRequested { link, .. } => hub.accept_attach(t0, link, LinkOptions::default())?,
//!             Event::Delivery(d) => hub.settle(t0, d.link, d.delivery_id, Some(DeliveryState::Accepted))?,
//!             _ => {}
//!         }
//!     }
//!     let mut wire = Vec::new();
//!     hub.poll_transmit(&mut wire);
//!     client.handle_bytes(t0, &wire)?;
//!     while let Some(ev) = client.poll_event() {
//!         if let Event::Outcome { state, .. } = ev {
//!             accepted = state;
//!         }
//!     }
//! }
//! assert_eq!(accepted, Some(DeliveryState::Accepted));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cbs;
mod config;
mod error;
mod event;
mod io;
mod session;
mod vec_map;

use alloc::boxed::Box;
use alloc::collections::VecDeque;

use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;
use vec_map::VecMap;

use bytes::Bytes;

pub use cbs::{
    CbsClient, CbsError, CbsResponse, PutToken, PutTokenResult, AZURE_DEVICES_TOKEN_TYPE,
    CBS_ADDRESS, SAS_TOKEN_TYPE,
};
pub use config::{
    ClientSasl, ConnectionConfig, LinkOptions, ServerSasl, SessionOptions, DEFAULT_MAX_MESSAGE_SIZE,
};
pub use error::{CommandError, ProtocolError};
pub use event::{CloseReason, Delivery, Event, PlainCredentials};
pub use io::Stats;

use io::Io;
use session::{Ctx, Fault, Session, SessionState};

use crate::definitions::{AmqpError, ErrorCondition, Role};
use crate::frame::{AmqpFrame, Frame, FrameDecoder, Incoming, ProtocolHeader, MIN_MAX_FRAME_SIZE};
use crate::message::Message;
use crate::messaging::DeliveryState;
use crate::performative::{Close, End, Open, Performative};
use crate::sasl::{SaslCode, SaslFrame, SaslInit, SaslMechanisms, SaslOutcome};
use crate::types::{Str, Symbol};
use crate::Encode;

/// Heartbeats go out at half the peer's idle-time-out, but never more often than this: a peer
/// cannot make us spin by advertising a tiny timeout.
const MIN_HEARTBEAT_INTERVAL: Duration = Duration::from_millis(100);

/// Most bytes a server keeps while the host decides on PLAIN credentials.
const HELD_LIMIT: usize = 64 * 1024;

/// A session of a [`Connection`]: our channel number plus a generation that keeps an id of an
/// ended session from matching a later one on the same channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId {
    channel: u16,
    gen: u32,
}

impl SessionId {
    /// Our (outgoing) channel number.
    #[must_use]
    pub fn channel(self) -> u16 {
        self.channel
    }
}

/// A link of a [`Connection`]: session, our handle, and a generation (handles are reused).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId {
    channel: u16,
    session_gen: u32,
    handle: u32,
    gen: u32,
}

impl LinkId {
    /// The session the link belongs to.
    #[must_use]
    pub fn session(self) -> SessionId {
        SessionId {
            channel: self.channel,
            gen: self.session_gen,
        }
    }

    /// Our handle for the link.
    #[must_use]
    pub fn handle(self) -> u32 {
        self.handle
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Client,
    Server,
}

/// Where the connection is: the SASL exchange (AMQP 5.3) followed by the connection states of
/// AMQP 2.4.6 (HDR_RCVD, OPEN_RCVD and CLOSE_RCVD are never observable: the engine answers at
/// once).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionState {
    /// Server: waiting for the client's protocol header (also after a successful SASL
    /// exchange, for the AMQP header).
    Start,
    /// Client: SASL header sent, waiting for the server's.
    SaslHeaderSent,
    /// Client: waiting for `sasl-mechanisms`.
    SaslMechanisms,
    /// Client: `sasl-init` sent, waiting for `sasl-outcome`.
    SaslInitSent,
    /// Server: waiting for `sasl-init`.
    SaslInit,
    /// Server: waiting for the host to decide on PLAIN credentials.
    SaslDecision,
    /// HDR_EXCH: headers exchanged, OPEN not sent (server waiting for the client's OPEN).
    HdrExch,
    /// OPEN_PIPE: header and OPEN sent, the peer's header not yet received.
    OpenPipe,
    /// OPEN_SENT: headers exchanged, our OPEN sent, the peer's not received.
    OpenSent,
    /// OPENED.
    Opened,
    /// CLOSE_SENT: our CLOSE is out, waiting for the peer's.
    CloseSent,
    /// END.
    End,
}

/// One AMQP connection endpoint: a device client or the hub side. See the
/// [module docs](self) for the driving loop.
pub struct Connection {
    side: Side,
    config: ConnectionConfig,
    client_sasl: ClientSasl,
    server_sasl: ServerSasl,
    state: ConnectionState,
    /// The mechanism of a completed SASL exchange (the next header must then be AMQP).
    sasl_done: Option<Symbol>,
    /// Server: the mechanism awaiting the host's decision.
    sasl_pending: Option<Symbol>,
    decoder: FrameDecoder,
    io: Io,
    events: VecDeque<Event>,
    sessions: VecMap<u16, Session>,
    /// Peer channel → our channel.
    remote_channels: VecMap<u16, u16>,
    remote_open: Option<Box<Open>>,
    peer_max_frame_size: u32,
    peer_channel_max: u16,
    peer_idle: Option<Duration>,
    created: Duration,
    close_started: Option<Duration>,
    close_error: Option<AmqpError>,
    failed: Option<ProtocolError>,
    next_gen: u32,
    /// Server: bytes that arrived while the host decides on PLAIN credentials.
    held: Vec<u8>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("side", &self.side)
            .field("state", &self.state)
            .field("container_id", &self.config.container_id)
            .field("sessions", &self.sessions.len())
            .field("pending_output", &self.io.buf.len())
            .field("pending_events", &self.events.len())
            .field("stats", &self.io.stats)
            .field("failed", &self.failed)
            .finish_non_exhaustive()
    }
}

impl Connection {
    fn new(side: Side, now: Duration, config: ConnectionConfig) -> Self {
        let max = config.max_frame_size.max(MIN_MAX_FRAME_SIZE);
        Self {
            side,
            client_sasl: ClientSasl::None,
            server_sasl: ServerSasl::none(),
            state: ConnectionState::Start,
            sasl_done: None,
            sasl_pending: None,
            decoder: FrameDecoder::new(max),
            io: Io::new(now),
            events: VecDeque::new(),
            sessions: VecMap::new(),
            remote_channels: VecMap::new(),
            remote_open: None,
            peer_max_frame_size: MIN_MAX_FRAME_SIZE,
            peer_channel_max: u16::MAX,
            peer_idle: None,
            created: now,
            close_started: None,
            close_error: None,
            failed: None,
            next_gen: 0,
            held: Vec::new(),
            config,
        }
    }

    /// A client (device) endpoint. Its protocol header (and, without SASL, its OPEN) is ready
    /// in [`poll_transmit`](Self::poll_transmit) at once.
    #[must_use]
    pub fn client(now: Duration, config: ConnectionConfig, sasl: ClientSasl) -> Self {
        let mut c = Self::new(Side::Client, now, config);
        if sasl.mechanism().is_some() {
            c.io.header(ProtocolHeader::SASL);
            c.state = ConnectionState::SaslHeaderSent;
        } else {
            c.start_amqp();
        }
        c.client_sasl = sasl;
        c
    }

    /// A server (hub) endpoint: waits for the client's header. It answers the client's OPEN
    /// with its own, and begins the sessions the client begins.
    #[must_use]
    pub fn server(now: Duration, config: ConnectionConfig, sasl: ServerSasl) -> Self {
        let mut c = Self::new(Side::Server, now, config);
        c.server_sasl = sasl;
        c
    }

    // ------------------------------------------------------------------ getters

    /// The current state.
    #[must_use]
    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// Whether both OPENs have been exchanged and no CLOSE yet.
    #[must_use]
    pub fn is_open(&self) -> bool {
        self.state == ConnectionState::Opened
    }

    /// Whether the connection has ended ([`Event::Closed`] has been queued).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.state == ConnectionState::End
    }

    /// Byte and frame counters.
    #[must_use]
    pub fn stats(&self) -> Stats {
        self.io.stats
    }

    /// The peer's OPEN, once received.
    #[must_use]
    pub fn remote_open(&self) -> Option<&Open> {
        self.remote_open.as_deref()
    }

    /// The largest frame we may send (the peer's max-frame-size; 512 before its OPEN).
    #[must_use]
    pub fn peer_max_frame_size(&self) -> u32 {
        self.peer_max_frame_size
    }

    /// The SASL mechanism used, once the exchange succeeded.
    #[must_use]
    pub fn sasl_mechanism(&self) -> Option<&Symbol> {
        self.sasl_done.as_ref()
    }

    /// Number of sessions (mapped, being begun, or ending).
    #[must_use]
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Current link credit: what a sender may still send, or what a receiver has granted.
    #[must_use]
    pub fn link_credit(&self, link: LinkId) -> Option<u32> {
        self.link_ref(link).map(|(_, l)| l.credit)
    }

    /// A link's role (ours), while it exists.
    #[must_use]
    pub fn link_role(&self, link: LinkId) -> Option<Role> {
        self.link_ref(link).map(|(_, l)| l.role)
    }

    /// Whether a link is attached (both ATTACHes exchanged, no DETACH yet).
    #[must_use]
    pub fn is_attached(&self, link: LinkId) -> bool {
        self.link_ref(link)
            .is_some_and(|(_, l)| l.state == session::LinkState::Attached)
    }

    /// Sends on a link that wait for credit or for the session window, or are partly written.
    #[must_use]
    pub fn queued(&self, link: LinkId) -> usize {
        self.link_ref(link)
            .map_or(0, |(s, _)| s.queued(link.handle))
    }

    /// Unsettled deliveries of a link: sends awaiting an outcome (sender), or received
    /// deliveries not yet settled (receiver).
    #[must_use]
    pub fn unsettled(&self, link: LinkId) -> usize {
        self.link_ref(link).map_or(0, |(s, l)| match l.role {
            Role::Sender => s.unsettled_sends(link.handle),
            Role::Receiver => s.unsettled_receipts(link.handle),
        })
    }

    fn link_ref(&self, link: LinkId) -> Option<(&Session, &session::Link)> {
        let s = self
            .sessions
            .get(&link.channel)
            .filter(|s| s.gen == link.session_gen)?;
        Some((s, s.link(link.handle, link.gen)?))
    }

    // ------------------------------------------------------------------ output

    /// Appends every byte waiting to be sent to `buf`; returns how many.
    #[must_use = "the bytes must be written to the transport"]
    pub fn poll_transmit(&mut self, buf: &mut Vec<u8>) -> usize {
        let n = self.io.buf.len();
        if buf.is_empty() {
            core::mem::swap(buf, &mut self.io.buf);
        } else {
            buf.append(&mut self.io.buf);
        }
        self.io.stats.bytes_sent = self.io.stats.bytes_sent.saturating_add(n as u64);
        n
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next: the earliest of the
    /// handshake and close deadlines, the peer's idle deadline and our next heartbeat.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Duration> {
        [
            self.handshake_deadline(),
            self.close_deadline(),
            self.idle_deadline(),
            self.heartbeat_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn before_open(&self) -> bool {
        matches!(
            self.state,
            ConnectionState::Start
                | ConnectionState::SaslHeaderSent
                | ConnectionState::SaslMechanisms
                | ConnectionState::SaslInitSent
                | ConnectionState::SaslInit
                | ConnectionState::SaslDecision
                | ConnectionState::HdrExch
                | ConnectionState::OpenPipe
                | ConnectionState::OpenSent
        )
    }

    fn handshake_deadline(&self) -> Option<Duration> {
        let t = self.config.handshake_timeout?;
        self.before_open().then(|| self.created.saturating_add(t))
    }

    fn close_deadline(&self) -> Option<Duration> {
        let t = self.config.close_timeout?;
        let start = self.close_started?;
        (self.state == ConnectionState::CloseSent).then(|| start.saturating_add(t))
    }

    fn idle_deadline(&self) -> Option<Duration> {
        let t = self.config.idle_time_out.filter(|t| !t.is_zero())?;
        let armed = self.io.open_sent
            && matches!(
                self.state,
                ConnectionState::OpenPipe
                    | ConnectionState::OpenSent
                    | ConnectionState::Opened
                    | ConnectionState::CloseSent
            );
        armed.then(|| self.io.last_received.saturating_add(t))
    }

    fn heartbeat_deadline(&self) -> Option<Duration> {
        let idle = self.peer_idle?;
        let armed = matches!(
            self.state,
            ConnectionState::Opened | ConnectionState::CloseSent
        );
        let interval = (idle / 2).max(MIN_HEARTBEAT_INTERVAL);
        armed.then(|| self.io.last_sent.saturating_add(interval))
    }

    // ------------------------------------------------------------------ input

    fn tick(&mut self, now: Duration) {
        if now > self.io.now {
            self.io.now = now;
        }
    }

    /// Processes bytes from the transport (any cut: frames may span calls).
    ///
    /// # Errors
    /// The peer broke the protocol; the connection has ended ([`Event::Closed`] is queued and
    /// a CLOSE may be waiting in `poll_transmit`). The error is returned again by later calls.
    /// Bytes arriving after a normal end are ignored.
    pub fn handle_bytes(&mut self, now: Duration, input: &[u8]) -> Result<(), ProtocolError> {
        self.tick(now);
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.state == ConnectionState::End {
            return Ok(());
        }
        self.io.stats.bytes_received = self
            .io
            .stats
            .bytes_received
            .saturating_add(input.len() as u64);
        if !input.is_empty() {
            // Any byte shows the peer is alive, even the first part of a large frame.
            self.io.last_received = self.io.now;
        }
        self.process(input);
        match &self.failed {
            Some(e) => Err(e.clone()),
            None => Ok(()),
        }
    }

    fn process(&mut self, input: &[u8]) {
        let mut input = input;
        while !input.is_empty() && self.state != ConnectionState::End {
            if self.state == ConnectionState::SaslDecision {
                // A client that pipelines its AMQP header behind the SASL init: keep the bytes
                // until the host has decided (bounded, so a client cannot make us hoard).
                if self.held.len().saturating_add(input.len()) > HELD_LIMIT {
                    self.fail(ProtocolError::illegal_state("data before the SASL outcome"));
                } else {
                    self.held.extend_from_slice(input);
                }
                return;
            }
            match self.decoder.decode(&mut input) {
                Ok(None) => break,
                Ok(Some(Incoming::Header(h))) => self.on_header(h),
                Ok(Some(Incoming::Frame(frame))) => {
                    self.io.stats.frames_received = self.io.stats.frames_received.saturating_add(1);
                    if let Err(e) = self.on_frame(frame) {
                        self.fail(e);
                    }
                }
                Err(e) => {
                    if self.side == Side::Server && self.state == ConnectionState::Start {
                        // AMQP 2.2: answer an unreadable header with the one we speak.
                        self.io.header(self.preferred_header());
                    }
                    self.fail(ProtocolError::Frame(e));
                }
            }
        }
    }

    /// Fires the timers that are due: handshake and close timeouts, the peer's idle deadline
    /// (CLOSE with `amqp:resource-limit-exceeded`, [`CloseReason::IdleTimeout`]) and our
    /// heartbeat (an empty frame). Idempotent.
    pub fn handle_timeout(&mut self, now: Duration) {
        self.tick(now);
        let now = self.io.now;
        if self.state == ConnectionState::End {
            return;
        }
        if self.handshake_deadline().is_some_and(|d| now >= d) {
            if self.io.open_sent {
                self.io.perf(
                    0,
                    Close {
                        error: Some(AmqpError::new(
                            ErrorCondition::RESOURCE_LIMIT_EXCEEDED,
                            Some(Str::from_static("connection handshake timed out")),
                        )),
                    },
                );
            }
            self.finish(CloseReason::HandshakeTimeout);
            return;
        }
        if self.close_deadline().is_some_and(|d| now >= d) {
            self.finish(CloseReason::CloseTimeout);
            return;
        }
        if self.idle_deadline().is_some_and(|d| now >= d) {
            // AMQP 2.4.5: a peer that lets our idle-time-out pass is closed with an error.
            if self.state != ConnectionState::CloseSent {
                self.io.perf(
                    0,
                    Close {
                        error: Some(AmqpError::new(
                            ErrorCondition::RESOURCE_LIMIT_EXCEEDED,
                            Some(Str::from_static("local idle-time-out expired")),
                        )),
                    },
                );
            }
            self.finish(CloseReason::IdleTimeout);
            return;
        }
        if self.heartbeat_deadline().is_some_and(|d| now >= d) {
            self.io.heartbeat();
        }
    }

    /// The transport closed underneath: ends the connection ([`CloseReason::TransportClosed`]
    /// unless it had already ended).
    pub fn handle_transport_closed(&mut self, now: Duration) {
        self.tick(now);
        if self.state != ConnectionState::End {
            self.finish(CloseReason::TransportClosed);
        }
    }

    fn on_header(&mut self, h: ProtocolHeader) {
        use ConnectionState as S;
        let sasl = h == ProtocolHeader::SASL;
        let amqp = h == ProtocolHeader::AMQP;
        match (self.side, self.state) {
            (Side::Client, S::SaslHeaderSent) if sasl => self.state = S::SaslMechanisms,
            (Side::Client, S::OpenPipe) if amqp => self.state = S::OpenSent,
            (Side::Server, S::Start) => {
                let offers_sasl =
                    self.sasl_done.is_none() && !self.server_sasl.mechanisms.is_empty();
                if amqp && (self.sasl_done.is_some() || self.server_sasl.allow_no_sasl) {
                    self.io.header(ProtocolHeader::AMQP);
                    self.state = S::HdrExch;
                } else if sasl && offers_sasl {
                    self.io.header(ProtocolHeader::SASL);
                    self.io.sasl(&SaslMechanisms {
                        sasl_server_mechanisms: self.server_sasl.mechanisms.clone(),
                    });
                    self.state = S::SaslInit;
                } else {
                    // AMQP 2.2: answer with the header we do support, then close.
                    self.io.header(self.preferred_header());
                    self.fail(ProtocolError::Header(h));
                }
            }
            _ => self.fail(ProtocolError::Header(h)),
        }
    }

    /// Server: the header it answers an unacceptable one with.
    fn preferred_header(&self) -> ProtocolHeader {
        if self.sasl_done.is_none() && !self.server_sasl.mechanisms.is_empty() {
            ProtocolHeader::SASL
        } else {
            ProtocolHeader::AMQP
        }
    }

    fn on_frame(&mut self, frame: Frame) -> Result<(), ProtocolError> {
        match frame {
            Frame::Sasl(s) => self.on_sasl(s),
            Frame::Amqp(f) => self.on_amqp(f),
        }
    }

    fn on_sasl(&mut self, frame: SaslFrame) -> Result<(), ProtocolError> {
        use ConnectionState as S;
        match (self.state, frame) {
            (S::SaslMechanisms, SaslFrame::Mechanisms(m)) => {
                let Some(mechanism) = self.client_sasl.mechanism() else {
                    return Err(ProtocolError::illegal_state("SASL frame without SASL"));
                };
                if !m.sasl_server_mechanisms.contains(&mechanism) {
                    self.finish(CloseReason::SaslMechanismUnavailable);
                    return Ok(());
                }
                let mut init = match &self.client_sasl {
                    ClientSasl::Plain { username, password } => {
                        SaslInit::plain(username.as_str(), password.as_str())
                    }
                    _ => SaslInit {
                        mechanism,
                        initial_response: None,
                        hostname: None,
                    },
                };
                init.hostname.clone_from(&self.config.hostname);
                self.io.sasl(&init);
                self.state = S::SaslInitSent;
                Ok(())
            }
            (S::SaslInitSent, SaslFrame::Outcome(o)) => {
                if o.code != SaslCode::Ok {
                    self.finish(CloseReason::SaslFailed(o.code));
                    return Ok(());
                }
                let mechanism = self.client_sasl.mechanism().unwrap_or_default();
                self.sasl_done = Some(mechanism.clone());
                self.events.push_back(Event::SaslCompleted { mechanism });
                // AMQP 5.3.1: after the outcome both sides start over with the AMQP header.
                self.decoder.expect_header();
                self.start_amqp();
                Ok(())
            }
            (S::SaslInit, SaslFrame::Init(init)) => {
                if !self.server_sasl.mechanisms.contains(&init.mechanism) {
                    self.sasl_outcome(SaslCode::Auth);
                } else if init.mechanism == "PLAIN" {
                    match parse_plain(init.initial_response.as_deref().unwrap_or_default()) {
                        Some(creds) => {
                            self.sasl_pending = Some(init.mechanism);
                            self.state = S::SaslDecision;
                            self.events.push_back(Event::SaslPlain(creds));
                        }
                        None => self.sasl_outcome(SaslCode::Auth),
                    }
                } else {
                    self.sasl_pending = Some(init.mechanism);
                    self.sasl_outcome(SaslCode::Ok);
                }
                Ok(())
            }
            _ => Err(ProtocolError::illegal_state("unexpected SASL frame")),
        }
    }

    /// Server: sends the outcome; on success the AMQP header is expected next.
    fn sasl_outcome(&mut self, code: SaslCode) {
        self.io.sasl(&SaslOutcome {
            code,
            additional_data: None,
        });
        let mechanism = self.sasl_pending.take().unwrap_or_default();
        if code == SaslCode::Ok {
            self.sasl_done = Some(mechanism.clone());
            self.decoder.expect_header();
            self.state = ConnectionState::Start;
            self.events.push_back(Event::SaslCompleted { mechanism });
            let held = core::mem::take(&mut self.held);
            self.process(&held);
        } else {
            self.finish(CloseReason::SaslFailed(code));
        }
    }

    /// Server: accepts the PLAIN credentials of [`Event::SaslPlain`]. Bytes the client sent
    /// meanwhile are processed now (a protocol error among them ends the connection as in
    /// [`handle_bytes`](Self::handle_bytes) and is returned by its next call).
    ///
    /// # Errors
    /// [`CommandError::InvalidState`] when no decision is pending.
    pub fn sasl_accept(&mut self, now: Duration) -> Result<(), CommandError> {
        self.tick(now);
        if self.state != ConnectionState::SaslDecision {
            return Err(CommandError::InvalidState);
        }
        self.sasl_outcome(SaslCode::Ok);
        Ok(())
    }

    /// Server: refuses the PLAIN credentials of [`Event::SaslPlain`] with `code` (normally
    /// [`SaslCode::Auth`]); the connection ends with [`CloseReason::SaslFailed`].
    ///
    /// # Errors
    /// [`CommandError::InvalidState`] when no decision is pending.
    pub fn sasl_reject(&mut self, now: Duration, code: SaslCode) -> Result<(), CommandError> {
        self.tick(now);
        if self.state != ConnectionState::SaslDecision {
            return Err(CommandError::InvalidState);
        }
        let code = if code == SaslCode::Ok {
            SaslCode::Auth
        } else {
            code
        };
        self.sasl_outcome(code);
        Ok(())
    }

    /// Client: the AMQP header and our OPEN, pipelined (AMQP 2.4.1 OPEN_PIPE).
    fn start_amqp(&mut self) {
        self.io.header(ProtocolHeader::AMQP);
        self.write_open();
        self.state = ConnectionState::OpenPipe;
    }

    fn write_open(&mut self) {
        let c = &self.config;
        let open = Open {
            container_id: c.container_id.clone(),
            hostname: c.hostname.clone(),
            max_frame_size: c.max_frame_size.max(MIN_MAX_FRAME_SIZE),
            channel_max: c.channel_max,
            idle_time_out: c
                .idle_time_out
                .filter(|t| !t.is_zero())
                .map(|t| u32::try_from(t.as_millis()).unwrap_or(u32::MAX)),
            offered_capabilities: c.offered_capabilities.clone(),
            desired_capabilities: c.desired_capabilities.clone(),
            properties: c.properties.clone(),
            ..Open::default()
        };
        self.io.perf(0, open);
        self.io.flush_deferred();
    }

    fn on_amqp(&mut self, f: AmqpFrame) -> Result<(), ProtocolError> {
        use ConnectionState as S;
        let Some(p) = f.performative else {
            // An empty frame: a heartbeat; its arrival already reset the idle deadline.
            return match self.state {
                S::HdrExch | S::OpenSent | S::Opened | S::CloseSent | S::End => Ok(()),
                _ => Err(ProtocolError::illegal_state("AMQP frame during SASL")),
            };
        };
        match (self.state, p) {
            (S::CloseSent, Performative::Close(c)) => {
                let reason = match self.close_error.take() {
                    Some(e) => CloseReason::LocalError(e),
                    None => CloseReason::Local,
                };
                drop(c);
                self.finish(reason);
                Ok(())
            }
            // AMQP 2.4.6 CLOSE_SENT: everything but the peer's CLOSE is discarded.
            (S::CloseSent | S::End, _) => Ok(()),
            (S::HdrExch | S::OpenSent, Performative::Open(o)) => self.on_open(o),
            (S::OpenSent | S::Opened, Performative::Close(c)) => {
                self.io.perf(0, Close { error: None });
                self.finish(CloseReason::Remote(c.error));
                Ok(())
            }
            (S::Opened, Performative::Open(_)) => Err(ProtocolError::illegal_state("second open")),
            (S::Opened, p) => self.on_session_frame(f.channel, p, f.payload),
            (S::HdrExch | S::OpenSent, _) => Err(ProtocolError::illegal_state("frame before open")),
            _ => Err(ProtocolError::illegal_state("AMQP frame during SASL")),
        }
    }

    fn on_open(&mut self, o: Box<Open>) -> Result<(), ProtocolError> {
        if o.max_frame_size < MIN_MAX_FRAME_SIZE {
            return Err(ProtocolError::violation(
                ErrorCondition::INVALID_FIELD,
                "max-frame-size below 512",
            ));
        }
        self.peer_max_frame_size = o.max_frame_size;
        self.peer_channel_max = o.channel_max;
        self.peer_idle = o
            .idle_time_out
            .filter(|&ms| ms > 0)
            .map(|ms| Duration::from_millis(u64::from(ms)));
        if !self.io.open_sent {
            self.write_open();
        }
        self.state = ConnectionState::Opened;
        self.remote_open = Some(o.clone());
        self.events.push_back(Event::Opened { remote: o });
        // Sessions begun before the peer's OPEN may have sends waiting for its frame size.
        let channels: Vec<u16> = self.sessions.keys().copied().collect();
        for ch in channels {
            if let Ok((s, mut cx)) = self.parts(ch, None) {
                s.pump(&mut cx);
            }
        }
        Ok(())
    }

    fn on_session_frame(
        &mut self,
        channel: u16,
        p: Performative,
        payload: Bytes,
    ) -> Result<(), ProtocolError> {
        if channel > self.config.channel_max {
            return Err(ProtocolError::violation(
                ErrorCondition::NOT_ALLOWED,
                "channel above channel-max",
            ));
        }
        match p {
            Performative::Begin(b) => return self.on_begin(channel, &b),
            Performative::End(e) => return self.on_end(channel, e),
            _ => {}
        }
        let Some(&local) = self.remote_channels.get(&channel) else {
            return Err(ProtocolError::violation(
                ErrorCondition::NOT_ALLOWED,
                "frame on a channel without a session",
            ));
        };
        let Ok((s, mut cx)) = self.parts(local, None) else {
            return Ok(());
        };
        let r = match p {
            Performative::Attach(a) => s.on_attach(&mut cx, a),
            Performative::Flow(f) => s.on_flow(&mut cx, &f),
            Performative::Transfer(t) => s.on_transfer(&mut cx, t, payload),
            Performative::Disposition(d) => {
                s.on_disposition(&mut cx, d);
                Ok(())
            }
            Performative::Detach(d) => s.on_detach(&mut cx, d),
            _ => Ok(()),
        };
        match r {
            Ok(()) => Ok(()),
            Err(Fault::Connection(e)) => Err(e),
            Err(Fault::Session(condition, description)) => {
                self.session_error(local, condition, description);
                Ok(())
            }
        }
    }

    fn on_begin(
        &mut self,
        channel: u16,
        b: &crate::performative::Begin,
    ) -> Result<(), ProtocolError> {
        if self.remote_channels.contains_key(&channel) {
            return Err(ProtocolError::illegal_state(
                "begin on a channel already in use",
            ));
        }
        match b.remote_channel {
            Some(local) => {
                // The answer to one of our BEGINs.
                let Ok((s, mut cx)) = self.parts(local, None) else {
                    return Err(ProtocolError::illegal_state(
                        "begin answers no session of ours",
                    ));
                };
                if s.remote_channel.is_some() {
                    return Err(ProtocolError::illegal_state(
                        "begin answers a mapped session",
                    ));
                }
                let before = s.state;
                s.on_begin(channel, b);
                if before != SessionState::BeginSent {
                    // We ended it before the answer came; its END answer follows.
                    s.state = before;
                } else {
                    cx.events.push_back(Event::SessionBegun {
                        session: s.id(),
                        by_peer: false,
                        remote: b.clone(),
                    });
                    s.pump(&mut cx);
                }
                self.remote_channels.insert(channel, local);
            }
            None => {
                let Some(local) = self.free_channel() else {
                    return Err(ProtocolError::violation(
                        ErrorCondition::RESOURCE_LIMIT_EXCEEDED,
                        "no free channel for the peer's session",
                    ));
                };
                self.next_gen = self.next_gen.wrapping_add(1);
                let mut s = Session::new(self.next_gen, local, self.config.session.clone());
                s.remote_channel = Some(channel);
                s.on_begin(channel, b);
                self.io.perf(local, s.begin_frame());
                self.events.push_back(Event::SessionBegun {
                    session: s.id(),
                    by_peer: true,
                    remote: b.clone(),
                });
                self.sessions.insert(local, s);
                self.remote_channels.insert(channel, local);
            }
        }
        Ok(())
    }

    fn on_end(&mut self, channel: u16, e: End) -> Result<(), ProtocolError> {
        let Some(local) = self.remote_channels.remove(&channel) else {
            return Err(ProtocolError::violation(
                ErrorCondition::NOT_ALLOWED,
                "end on a channel without a session",
            ));
        };
        let Some(mut s) = self.sessions.remove(&local) else {
            return Ok(());
        };
        let mut cx = Ctx {
            io: &mut self.io,
            events: &mut self.events,
            peer_max_frame_size: self.peer_max_frame_size,
            next_gen: &mut self.next_gen,
        };
        match s.state {
            SessionState::EndSent { notified: true } => {}
            SessionState::EndSent { notified: false } => {
                s.teardown(&mut cx);
                cx.events.push_back(Event::SessionEnded {
                    session: s.id(),
                    by_peer: false,
                    error: s.end_error.take(),
                });
            }
            SessionState::BeginSent | SessionState::Mapped => {
                cx.io.perf(local, End { error: None });
                s.teardown(&mut cx);
                cx.events.push_back(Event::SessionEnded {
                    session: s.id(),
                    by_peer: true,
                    error: e.error,
                });
            }
        }
        Ok(())
    }

    /// Ends a session because of the peer's misbehaviour, reporting it at once.
    fn session_error(&mut self, local: u16, condition: ErrorCondition, description: &'static str) {
        let Ok((s, mut cx)) = self.parts(local, None) else {
            return;
        };
        let error = AmqpError::new(condition, Some(Str::from_static(description)));
        s.end_error = Some(error.clone());
        s.state = SessionState::EndSent { notified: true };
        cx.io.perf(local, s.end_frame());
        s.teardown(&mut cx);
        cx.events.push_back(Event::SessionEnded {
            session: s.id(),
            by_peer: false,
            error: Some(error),
        });
    }

    /// Ends the connection after a peer violation: CLOSE with the condition when the AMQP
    /// layer is up, then [`Event::Closed`].
    fn fail(&mut self, err: ProtocolError) {
        use ConnectionState as S;
        if matches!(
            self.state,
            S::HdrExch | S::OpenPipe | S::OpenSent | S::Opened
        ) {
            if !self.io.open_sent {
                // AMQP 2.4.6: a CLOSE must follow an OPEN.
                self.write_open();
            }
            self.io.perf(
                0,
                Close {
                    error: Some(err.to_amqp_error()),
                },
            );
        }
        self.failed = Some(err.clone());
        if self.state != S::End {
            self.finish(CloseReason::Protocol(err));
        }
    }

    /// Ends the connection: every session and link still open is reported as ended, then
    /// [`Event::Closed`].
    fn finish(&mut self, reason: CloseReason) {
        let sessions = core::mem::take(&mut self.sessions);
        let mut cx = Ctx {
            io: &mut self.io,
            events: &mut self.events,
            peer_max_frame_size: self.peer_max_frame_size,
            next_gen: &mut self.next_gen,
        };
        for (_, mut s) in sessions {
            if s.state == (SessionState::EndSent { notified: true }) {
                continue;
            }
            s.teardown(&mut cx);
            cx.events.push_back(Event::SessionEnded {
                session: s.id(),
                by_peer: false,
                error: s.end_error.take(),
            });
        }
        self.remote_channels.clear();
        self.io.deferred.clear();
        self.state = ConnectionState::End;
        self.events.push_back(Event::Closed(reason));
    }

    // ------------------------------------------------------------------ commands

    fn check_usable(&self) -> Result<(), CommandError> {
        match self.state {
            ConnectionState::CloseSent | ConnectionState::End => Err(CommandError::Closed),
            _ => Ok(()),
        }
    }

    /// The session on our channel `channel` (generation-checked when `gen` is given) and the
    /// context its methods need.
    fn parts(
        &mut self,
        channel: u16,
        gen: Option<u32>,
    ) -> Result<(&mut Session, Ctx<'_>), CommandError> {
        let Self {
            sessions,
            io,
            events,
            peer_max_frame_size,
            next_gen,
            ..
        } = self;
        let s = sessions
            .get_mut(&channel)
            .filter(|s| gen.is_none_or(|g| s.gen == g))
            .ok_or(CommandError::UnknownSession)?;
        Ok((
            s,
            Ctx {
                io,
                events,
                peer_max_frame_size: *peer_max_frame_size,
                next_gen,
            },
        ))
    }

    fn link_parts(&mut self, link: LinkId) -> Result<(&mut Session, Ctx<'_>), CommandError> {
        self.check_usable()?;
        let (s, cx) = self.parts(link.channel, Some(link.session_gen))?;
        if s.link(link.handle, link.gen).is_none() {
            return Err(CommandError::UnknownLink);
        }
        Ok((s, cx))
    }

    fn free_channel(&self) -> Option<u16> {
        let max = self.config.channel_max.min(self.peer_channel_max);
        let mut want = 0u16;
        for &ch in self.sessions.keys() {
            if ch != want {
                break;
            }
            want = want.checked_add(1)?;
        }
        (want <= max).then_some(want)
    }

    /// Begins a session (BEGIN; pipelined before the peer's OPEN if need be).
    ///
    /// # Errors
    /// [`CommandError::Closed`], [`CommandError::ChannelsExhausted`].
    pub fn open_session(
        &mut self,
        now: Duration,
        options: SessionOptions,
    ) -> Result<SessionId, CommandError> {
        self.tick(now);
        self.check_usable()?;
        let channel = self.free_channel().ok_or(CommandError::ChannelsExhausted)?;
        self.next_gen = self.next_gen.wrapping_add(1);
        let s = Session::new(self.next_gen, channel, options);
        let begin = s.begin_frame();
        begin.encode(&mut Vec::new())?;
        let id = s.id();
        self.sessions.insert(channel, s);
        self.io.perf(channel, begin);
        Ok(id)
    }

    /// Ends a session (END with an optional error). [`Event::SessionEnded`] follows when the
    /// peer answers, after [`Event::LinkDetached`] for each of its links.
    ///
    /// # Errors
    /// [`CommandError::UnknownSession`], [`CommandError::SessionEnding`], [`CommandError::Closed`].
    pub fn end_session(
        &mut self,
        now: Duration,
        session: SessionId,
        error: Option<AmqpError>,
    ) -> Result<(), CommandError> {
        self.tick(now);
        self.check_usable()?;
        let (s, cx) = self.parts(session.channel, Some(session.gen))?;
        if s.is_ending() {
            return Err(CommandError::SessionEnding);
        }
        let end = End { error };
        end.encode(&mut Vec::new())?;
        s.end_error = end.error.clone();
        s.state = SessionState::EndSent { notified: false };
        cx.io.perf(session.channel, end);
        Ok(())
    }

    /// Attaches a sending link. Sends may be queued at once; they go out when the peer grants
    /// credit.
    ///
    /// # Errors
    /// [`CommandError::UnknownSession`], [`CommandError::SessionEnding`],
    /// [`CommandError::HandlesExhausted`], [`CommandError::Encode`], [`CommandError::Closed`].
    pub fn attach_sender(
        &mut self,
        now: Duration,
        session: SessionId,
        options: LinkOptions,
    ) -> Result<LinkId, CommandError> {
        self.attach(now, session, Role::Sender, &options)
    }

    /// Attaches a receiving link; `options.credit` is granted once the peer answers.
    ///
    /// # Errors
    /// As [`attach_sender`](Self::attach_sender).
    pub fn attach_receiver(
        &mut self,
        now: Duration,
        session: SessionId,
        options: LinkOptions,
    ) -> Result<LinkId, CommandError> {
        self.attach(now, session, Role::Receiver, &options)
    }

    fn attach(
        &mut self,
        now: Duration,
        session: SessionId,
        role: Role,
        options: &LinkOptions,
    ) -> Result<LinkId, CommandError> {
        self.tick(now);
        self.check_usable()?;
        let (s, mut cx) = self.parts(session.channel, Some(session.gen))?;
        s.attach(&mut cx, role, options)
    }

    /// Accepts a link the peer attached ([`Event::AttachRequested`]). Name, and source and
    /// target where `options` leaves them `None`, mirror the peer's ATTACH; a receiver grants
    /// `options.credit` at once.
    ///
    /// # Errors
    /// [`CommandError::UnknownLink`], [`CommandError::LinkState`] (not awaiting an answer),
    /// [`CommandError::Encode`], [`CommandError::Closed`].
    pub fn accept_attach(
        &mut self,
        now: Duration,
        link: LinkId,
        options: LinkOptions,
    ) -> Result<(), CommandError> {
        self.tick(now);
        let (s, mut cx) = self.link_parts(link)?;
        s.accept_attach(&mut cx, link.handle, &options)
    }

    /// Refuses a link the peer attached: an ATTACH with our terminus null, then a DETACH with
    /// `error` (AMQP 2.6.3). [`Event::LinkDetached`] follows when the peer answers.
    ///
    /// # Errors
    /// As [`accept_attach`](Self::accept_attach).
    pub fn refuse_attach(
        &mut self,
        now: Duration,
        link: LinkId,
        error: Option<AmqpError>,
    ) -> Result<(), CommandError> {
        self.tick(now);
        let (s, mut cx) = self.link_parts(link)?;
        s.refuse_attach(&mut cx, link.handle, error)
    }

    /// Sends a message on a sending link; returns its delivery tag (from the link's counter).
    /// The message is queued until the link has credit and the session window is open, and is
    /// split into several transfer frames when larger than the peer's max-frame-size. An
    /// unsettled send ends with [`Event::Outcome`] (or in [`Event::LinkDetached`]'s `lost`).
    ///
    /// # Errors
    /// [`CommandError::WrongRole`], [`CommandError::LinkState`], [`CommandError::SettleMode`],
    /// [`CommandError::MessageTooLarge`], [`CommandError::Encode`], [`CommandError::Closed`].
    pub fn send(
        &mut self,
        now: Duration,
        link: LinkId,
        message: &Message,
        settled: bool,
    ) -> Result<Bytes, CommandError> {
        let mut buf = Vec::new();
        message.encode(&mut buf)?;
        self.send_bytes(now, link, Bytes::from(buf), settled, None)
    }

    /// As [`send`](Self::send) with an already encoded message, and optionally the host's own
    /// delivery tag (≤ 32 bytes; e.g. a C2D lock token).
    ///
    /// # Errors
    /// As [`send`](Self::send), and [`CommandError::TagTooLong`].
    pub fn send_bytes(
        &mut self,
        now: Duration,
        link: LinkId,
        payload: Bytes,
        settled: bool,
        tag: Option<Bytes>,
    ) -> Result<Bytes, CommandError> {
        self.tick(now);
        let (s, mut cx) = self.link_parts(link)?;
        s.send(&mut cx, link.handle, payload, settled, tag)
    }

    /// Receivers: sets the link credit to `credit` (a FLOW); with `drain`, asks the sender to
    /// use it up or give it back ([`Event::LinkFlow`] with credit 0 follows).
    ///
    /// # Errors
    /// [`CommandError::WrongRole`], [`CommandError::LinkState`], [`CommandError::Closed`].
    pub fn grant_credit(
        &mut self,
        now: Duration,
        link: LinkId,
        credit: u32,
        drain: bool,
    ) -> Result<(), CommandError> {
        self.tick(now);
        let (s, mut cx) = self.link_parts(link)?;
        s.grant_credit(&mut cx, link.handle, credit, drain)
    }

    /// Receivers: settles one delivery with an outcome (`accepted`, `rejected`, `released`,
    /// `modified`).
    ///
    /// # Errors
    /// [`CommandError::UnknownDelivery`] and as [`disposition`](Self::disposition).
    pub fn settle(
        &mut self,
        now: Duration,
        link: LinkId,
        delivery_id: u32,
        state: Option<DeliveryState>,
    ) -> Result<(), CommandError> {
        self.disposition(now, link, delivery_id, delivery_id, true, state)
    }

    /// A DISPOSITION for the delivery-ids `first..=last` from this link's side (receiver:
    /// deliveries it received; sender: its own sends). Every unsettled delivery in the range
    /// must belong to this link.
    ///
    /// # Errors
    /// [`CommandError::UnknownDelivery`] (no unsettled delivery in range),
    /// [`CommandError::RangeSpansLinks`], [`CommandError::LinkState`], [`CommandError::Closed`].
    pub fn disposition(
        &mut self,
        now: Duration,
        link: LinkId,
        first: u32,
        last: u32,
        settled: bool,
        state: Option<DeliveryState>,
    ) -> Result<(), CommandError> {
        self.tick(now);
        let (s, mut cx) = self.link_parts(link)?;
        s.disposition(&mut cx, link.handle, first, last, settled, state)
    }

    /// Detaches a link (closing it with `closed`), with an optional error.
    /// [`Event::LinkDetached`] follows when the peer answers; sends not yet written are dropped
    /// and reported in its `lost`.
    ///
    /// # Errors
    /// [`CommandError::UnknownLink`], [`CommandError::LinkState`] (already detaching),
    /// [`CommandError::Closed`].
    pub fn detach(
        &mut self,
        now: Duration,
        link: LinkId,
        closed: bool,
        error: Option<AmqpError>,
    ) -> Result<(), CommandError> {
        self.tick(now);
        let (s, mut cx) = self.link_parts(link)?;
        s.detach(&mut cx, link.handle, closed, error)
    }

    /// Closes the connection (CLOSE with an optional error). [`Event::Closed`] follows when the
    /// peer answers or the close timeout passes. Before the AMQP layer is up (during SASL) the
    /// connection simply ends.
    ///
    /// # Errors
    /// [`CommandError::Closed`] when already closing or closed.
    pub fn close(&mut self, now: Duration, error: Option<AmqpError>) -> Result<(), CommandError> {
        use ConnectionState as S;
        self.tick(now);
        self.check_usable()?;
        let close = Close { error };
        close.encode(&mut Vec::new())?;
        if matches!(
            self.state,
            S::HdrExch | S::OpenPipe | S::OpenSent | S::Opened
        ) {
            if !self.io.open_sent {
                self.write_open();
            }
            self.io.perf(0, close.clone());
            self.close_error = close.error;
            self.close_started = Some(self.io.now);
            self.state = S::CloseSent;
        } else {
            self.finish(match close.error {
                Some(e) => CloseReason::LocalError(e),
                None => CloseReason::Local,
            });
        }
        Ok(())
    }
}

/// Splits a PLAIN response `authzid NUL authcid NUL password` (RFC 4616).
fn parse_plain(response: &[u8]) -> Option<PlainCredentials> {
    let mut parts = response.split(|&b| b == 0);
    let authzid = parts.next()?;
    let username = parts.next()?;
    let password = parts.next()?;
    if parts.next().is_some() || username.is_empty() {
        return None;
    }
    let text = |b: &[u8]| Str::from_utf8(Bytes::copy_from_slice(b)).ok();
    Some(PlainCredentials {
        authzid: if authzid.is_empty() {
            None
        } else {
            Some(text(authzid)?)
        },
        username: text(username)?,
        password: text(password)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_response_splits_into_three_parts() {
        let c = parse_plain(b"\0dev@sas.hub\0SharedAccessSignature sr=x").expect("valid");
        assert_eq!(c.authzid, None);
        assert_eq!(c.username, "dev@sas.hub");
        assert_eq!(c.password, "SharedAccessSignature sr=x");
        assert!(!alloc::format!("{c:?}").contains("SharedAccess"));
        assert!(parse_plain(b"no-nul").is_none());
        assert!(parse_plain(b"\0\0pw").is_none());
        assert!(parse_plain(b"a\0b\0c\0d").is_none());
        assert_eq!(
            parse_plain(b"z\0u\0p").and_then(|c| c.authzid),
            Some(Str::from_static("z"))
        );
    }
}
