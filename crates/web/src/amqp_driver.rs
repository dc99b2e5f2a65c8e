//! The pump task around the sans-IO AMQP engine ([`hubwire_amqp::engine::Connection`]).
//!
//! Same shape as the MQTT pump (`driver.rs`): one task per connection selects over bytes from
//! the WebSocket, commands from the API handles and one timer, and after every input drains
//! the engine's output to the socket and its events into the hooks. Unlike the MQTT core,
//! the AMQP engine lives for one connection: a reconnect builds a fresh engine, and the hooks
//! (IoT Hub device / field gateway, or the generic client) keep what must survive — queued
//! sends, device credentials — and set up their sessions and links again in
//! [`AmqpHooks::on_open`].
//!
//! The WebSocket carries a byte stream (AMQP WebSocket binding §2.4): frames may span WebSocket
//! messages and one message may carry several frames; the engine reassembles either way.

use core::cell::RefCell;
use core::time::Duration;
use std::rc::Rc;

use futures::channel::{mpsc, oneshot};
use futures::future::LocalBoxFuture;
use futures::{FutureExt, StreamExt};
use hubwire_amqp::engine::{ClientSasl, CloseReason, Connection, ConnectionConfig, Event};
use hubwire_amqp::SaslCode;

use crate::error::{AmqpError, ClientError, TransportError};
use crate::events::{Shared, StatusEvents};
use crate::reconnect::ReconnectPolicy;
use crate::status::{ConnectionStatus, ReconnectReason, WireStats};
use crate::sys;
use crate::ws::{WsConn, AMQP_SUBPROTOCOL};

/// What to dial and how to open the AMQP connection, for one attempt.
pub(crate) struct AmqpDial {
    pub(crate) url: String,
    pub(crate) config: ConnectionConfig,
    pub(crate) sasl: ClientSasl,
}

/// What the hooks ask of the driver after handling an input.
enum Signal {
    /// The connection is usable (first time: `connect()` resolves).
    Established,
    /// Close the connection and reconnect per the policy (if the error is transient).
    Lost(ClientError),
}

/// The hooks' view of the driver during one call: the clock, the live engine (if any), the
/// shared status and counters, and a way to report the connection as usable or broken.
pub(crate) struct Cx<'a> {
    pub(crate) now: Duration,
    pub(crate) conn: Option<&'a mut Connection>,
    pub(crate) shared: &'a Rc<RefCell<Shared>>,
    signal: &'a mut Option<Signal>,
}

impl Cx<'_> {
    /// The connection is usable: status `Connected`, and the first `connect()` resolves.
    pub(crate) fn established(&mut self) {
        if self.signal.is_none() {
            *self.signal = Some(Signal::Established);
        }
    }

    /// The connection is broken for `error`: it is closed, and retried when the error is
    /// transient (and the policy allows), otherwise the client fails with it.
    pub(crate) fn lost(&mut self, error: ClientError) {
        if !matches!(self.signal, Some(Signal::Lost(_))) {
            *self.signal = Some(Signal::Lost(error));
        }
    }

    /// Traffic counters.
    pub(crate) fn stats(&self) -> core::cell::RefMut<'_, WireStats> {
        core::cell::RefMut::map(self.shared.borrow_mut(), |s| &mut s.stats)
    }
}

/// The convention layer on top of the engine (IoT Hub devices, or plain AMQP).
pub(crate) trait AmqpHooks {
    /// Requests from the API handles.
    type Cmd;
    /// URL and settings for the next attempt.
    fn dial(&mut self) -> Result<AmqpDial, ClientError>;
    /// A fresh engine (the WebSocket just opened): begin sessions, attach links (pipelined).
    fn on_open(&mut self, cx: &mut Cx<'_>);
    /// An engine event (never [`Event::Closed`]: the driver handles the end of a connection).
    fn on_event(&mut self, cx: &mut Cx<'_>, event: Event);
    /// A request; `cx.conn` is `None` while no connection is up (queue or refuse it).
    fn on_command(&mut self, cx: &mut Cx<'_>, cmd: Self::Cmd);
    /// The hooks' own deadline (monotonic), consulted while a connection is up.
    fn deadline(&self) -> Option<Duration>;
    /// The timer fired: act on whatever of the hooks' deadlines has passed (it may also be the
    /// engine's timer: re-check, doing nothing is fine).
    fn on_timer(&mut self, cx: &mut Cx<'_>);
    /// The connection ended and will be retried: forget per-connection state, keep work that
    /// can be redone.
    fn on_down(&mut self, shared: &Rc<RefCell<Shared>>, status: &ConnectionStatus);
    /// The client stopped for good with `status`: fail everything still waiting.
    fn on_stop(&mut self, shared: &Rc<RefCell<Shared>>, status: &ConnectionStatus);
    /// A request that arrived after the stop.
    fn refuse(&mut self, cmd: Self::Cmd, error: &ClientError);
}

/// A request to the pump.
pub(crate) enum Request<C> {
    Hook(C),
    Close { reply: oneshot::Sender<()> },
}

/// Static settings of a driver.
pub(crate) struct AmqpDriverConfig {
    pub(crate) connect_timeout: Duration,
    pub(crate) reconnect: ReconnectPolicy,
    pub(crate) random: Rc<dyn Fn() -> f64>,
}

enum Phase {
    Idle {
        until: Duration,
    },
    Opening {
        fut: LocalBoxFuture<'static, Result<WsConn, TransportError>>,
        deadline: Duration,
        config: ConnectionConfig,
        sasl: ClientSasl,
    },
    Open {
        ws: WsConn,
        conn: Box<Connection>,
    },
    Stopped,
}

enum Input<C> {
    Req(Option<Request<C>>),
    Bytes(Vec<u8>),
    SocketError(TransportError),
    SocketClosed,
    Opened(Result<WsConn, TransportError>),
    Timer,
}

/// How a connection or attempt ended.
enum Ended {
    Closed,
    Error(ClientError),
}

struct Driver<H: AmqpHooks> {
    hooks: H,
    config: AmqpDriverConfig,
    reqs: mpsc::UnboundedReceiver<Request<H::Cmd>>,
    shared: Rc<RefCell<Shared>>,
    ready: Option<oneshot::Sender<Result<(), ClientError>>>,
    close_replies: Vec<oneshot::Sender<()>>,
    attempt: u32,
    closing: bool,
    /// The socket failure behind a `TransportClosed`.
    socket_error: Option<TransportError>,
    /// Why we are closing the current connection (hooks reported it lost).
    close_error: Option<ClientError>,
    /// AMQP frames of connections that have ended.
    base_frames: (u64, u64),
}

/// A close reason as a client error.
fn close_error(reason: CloseReason, socket: Option<TransportError>) -> ClientError {
    let peer = |what: &'static str, e: Option<hubwire_amqp::AmqpError>| match e {
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
    };
    let e = match reason {
        CloseReason::Remote(e) => peer("connection", e),
        CloseReason::Protocol(p) => AmqpError::Protocol {
            condition: p.condition().as_str().to_owned(),
            description: p.to_string(),
        },
        CloseReason::IdleTimeout => AmqpError::IdleTimeout,
        CloseReason::HandshakeTimeout => AmqpError::HandshakeTimeout,
        CloseReason::SaslFailed(code) => AmqpError::Sasl {
            code: sasl_code(code),
        },
        CloseReason::SaslMechanismUnavailable => AmqpError::Sasl { code: 0 },
        CloseReason::TransportClosed => {
            return ClientError::Transport(socket.unwrap_or(TransportError::Closed {
                code: 1006,
                reason: String::new(),
                was_clean: false,
            }))
        }
        // Our own close (answered or timed out) without an error recorded by the hooks.
        _ => return ClientError::Closed,
    };
    ClientError::Amqp(e)
}

fn sasl_code(code: SaslCode) -> u8 {
    match code {
        SaslCode::Ok => 0,
        SaslCode::Auth => 1,
        SaslCode::Sys => 2,
        SaslCode::SysPerm => 3,
        SaslCode::SysTemp => 4,
    }
}

impl<H: AmqpHooks> Driver<H> {
    async fn run(mut self) {
        let mut phase = Phase::Idle {
            until: Duration::ZERO,
        };
        loop {
            let input = match &mut phase {
                Phase::Stopped => break,
                Phase::Idle { until } => {
                    futures::select_biased! {
                        r = self.reqs.next() => Input::Req(r),
                        () = sys::sleep_until(Some(*until)).fuse() => Input::Timer,
                    }
                }
                Phase::Opening { fut, deadline, .. } => {
                    futures::select_biased! {
                        r = self.reqs.next() => Input::Req(r),
                        o = fut.fuse() => Input::Opened(o),
                        () = sys::sleep_until(Some(*deadline)).fuse() => Input::Timer,
                    }
                }
                Phase::Open { ws, conn } => {
                    let deadline = match (conn.poll_timeout(), self.hooks.deadline()) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                    futures::select_biased! {
                        m = ws.recv().fuse() => match m {
                            Some(Ok(b)) => Input::Bytes(b),
                            Some(Err(e)) => Input::SocketError(e),
                            None => Input::SocketClosed,
                        },
                        r = self.reqs.next() => Input::Req(r),
                        () = sys::sleep_until(deadline).fuse() => Input::Timer,
                    }
                }
            };
            phase = self.step(phase, input).await;
        }
        self.shutdown();
    }

    async fn step(&mut self, phase: Phase, input: Input<H::Cmd>) -> Phase {
        let now = sys::now();
        match (phase, input) {
            (phase, Input::Req(None)) => {
                // Every handle is gone.
                self.close(phase, now).await
            }
            (phase, Input::Req(Some(Request::Close { reply }))) => {
                self.close_replies.push(reply);
                self.close(phase, now).await
            }
            (Phase::Open { ws, mut conn }, Input::Req(Some(Request::Hook(cmd)))) => {
                let mut signal = None;
                let mut cx = Cx {
                    now,
                    conn: Some(&mut conn),
                    shared: &self.shared,
                    signal: &mut signal,
                };
                self.hooks.on_command(&mut cx, cmd);
                self.pump(ws, conn, signal, now).await
            }
            (phase, Input::Req(Some(Request::Hook(cmd)))) => {
                let mut signal = None;
                let mut cx = Cx {
                    now,
                    conn: None,
                    shared: &self.shared,
                    signal: &mut signal,
                };
                self.hooks.on_command(&mut cx, cmd);
                phase
            }

            (Phase::Idle { until }, Input::Timer) => {
                if now < until {
                    return Phase::Idle { until };
                }
                self.dial(now)
            }

            (Phase::Opening { config, sasl, .. }, Input::Opened(Ok(ws))) => {
                self.socket_error = None;
                self.close_error = None;
                let mut conn = Box::new(Connection::client(now, config, sasl));
                let mut signal = None;
                let mut cx = Cx {
                    now,
                    conn: Some(&mut conn),
                    shared: &self.shared,
                    signal: &mut signal,
                };
                self.hooks.on_open(&mut cx);
                self.pump(ws, conn, signal, now).await
            }
            (Phase::Opening { .. }, Input::Opened(Err(e))) => {
                self.ended(Ended::Error(ClientError::Transport(e)), now)
            }
            (
                Phase::Opening {
                    fut,
                    deadline,
                    config,
                    sasl,
                },
                Input::Timer,
            ) => {
                if now < deadline {
                    return Phase::Opening {
                        fut,
                        deadline,
                        config,
                        sasl,
                    };
                }
                drop(fut);
                self.ended(
                    Ended::Error(ClientError::Transport(TransportError::HandshakeTimeout)),
                    now,
                )
            }

            (Phase::Open { ws, mut conn }, Input::Bytes(data)) => {
                {
                    let mut sh = self.shared.borrow_mut();
                    sh.stats.bytes_received += data.len() as u64;
                    sh.stats.frames_received += 1;
                }
                // A protocol error also ends the connection with `Event::Closed`, handled there.
                let _ = conn.handle_bytes(now, &data);
                self.pump(ws, conn, None, now).await
            }
            (Phase::Open { ws, mut conn }, Input::SocketError(e)) => {
                self.socket_error = Some(e);
                conn.handle_transport_closed(now);
                self.pump(ws, conn, None, now).await
            }
            (Phase::Open { mut ws, mut conn }, Input::SocketClosed) => {
                self.socket_error = Some(ws.close_reason().await);
                conn.handle_transport_closed(now);
                self.pump(ws, conn, None, now).await
            }
            (Phase::Open { ws, mut conn }, Input::Timer) => {
                conn.handle_timeout(now);
                // The hooks re-check their own deadlines (some are recomputed from the wall
                // clock, so comparing here could miss them).
                let mut signal = None;
                let mut cx = Cx {
                    now,
                    conn: Some(&mut conn),
                    shared: &self.shared,
                    signal: &mut signal,
                };
                self.hooks.on_timer(&mut cx);
                self.pump(ws, conn, signal, now).await
            }

            // Inputs that no longer match the phase (a stale timer).
            (phase, _) => phase,
        }
    }

    fn dial(&mut self, now: Duration) -> Phase {
        let dial = match self.hooks.dial() {
            Ok(d) => d,
            Err(e) => return self.ended(Ended::Error(e), now),
        };
        let url = dial.url;
        Phase::Opening {
            fut: async move { WsConn::connect(&url, AMQP_SUBPROTOCOL).await }.boxed_local(),
            deadline: now.saturating_add(self.config.connect_timeout),
            config: dial.config,
            sasl: dial.sasl,
        }
    }

    async fn close(&mut self, phase: Phase, now: Duration) -> Phase {
        self.closing = true;
        match phase {
            Phase::Open { ws, mut conn } => {
                if conn.close(now, None).is_ok() {
                    // Wait for the peer's CLOSE (bounded by the engine's close timeout) so
                    // dispositions sent just before are processed.
                    self.pump(ws, conn, None, now).await
                } else {
                    ws.close().await;
                    self.ended(Ended::Closed, now)
                }
            }
            // Dropping a pending handshake closes its socket.
            _ => self.ended(Ended::Closed, now),
        }
    }

    /// Moves output to the socket and events to the hooks until both are drained; handles the
    /// hooks' signals and the end of the connection.
    async fn pump(
        &mut self,
        mut ws: WsConn,
        mut conn: Box<Connection>,
        mut signal: Option<Signal>,
        now: Duration,
    ) -> Phase {
        let mut closed: Option<CloseReason> = None;
        loop {
            let mut out = Vec::new();
            let n = conn.poll_transmit(&mut out);
            if n > 0 {
                match ws.send(out).await {
                    Ok(()) => {
                        let mut sh = self.shared.borrow_mut();
                        sh.stats.bytes_sent += n as u64;
                        sh.stats.frames_sent += 1;
                    }
                    Err(e) => {
                        if self.socket_error.is_none() {
                            self.socket_error = Some(e);
                        }
                        conn.handle_transport_closed(now);
                    }
                }
            }
            // Act on a signal once the output it caused went out.
            match signal.take() {
                Some(Signal::Established) => self.established(),
                // The connection is already ending (our close or the peer's): the end is
                // reported by `Event::Closed`.
                Some(Signal::Lost(_)) if self.closing || conn.is_closed() => {}
                Some(Signal::Lost(e)) => {
                    if self.close_error.is_none() {
                        self.close_error = Some(e);
                    }
                    // No need to wait for the peer's answer: the connection is given up.
                    let _ = conn.close(now, None);
                    let mut out = Vec::new();
                    if conn.poll_transmit(&mut out) > 0 {
                        let _ = ws.send(out).await;
                    }
                    closed = Some(CloseReason::Local);
                    break;
                }
                None => {}
            }
            let Some(event) = conn.poll_event() else {
                break;
            };
            if let Event::Closed(reason) = event {
                closed = Some(reason);
                let mut out = Vec::new();
                if conn.poll_transmit(&mut out) > 0 {
                    let _ = ws.send(out).await;
                }
                break;
            }
            let mut cx = Cx {
                now,
                conn: Some(&mut conn),
                shared: &self.shared,
                signal: &mut signal,
            };
            self.hooks.on_event(&mut cx, event);
        }
        let stats = conn.stats();
        {
            let mut sh = self.shared.borrow_mut();
            sh.stats.packets_sent = self.base_frames.0 + stats.frames_sent;
            sh.stats.packets_received = self.base_frames.1 + stats.frames_received;
        }
        let Some(reason) = closed else {
            return Phase::Open { ws, conn };
        };
        self.base_frames.0 += stats.frames_sent;
        self.base_frames.1 += stats.frames_received;
        ws.close().await;
        let why = if let Some(e) = self.close_error.take() {
            Ended::Error(e)
        } else if self.closing {
            Ended::Closed
        } else {
            Ended::Error(close_error(reason, self.socket_error.take()))
        };
        self.ended(why, now)
    }

    fn established(&mut self) {
        self.attempt = 0;
        let mut sh = self.shared.borrow_mut();
        sh.stats.connects += 1;
        sh.set_status(ConnectionStatus::Connected);
        drop(sh);
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Ok(()));
        }
    }

    /// What follows the end of a connection or attempt.
    fn ended(&mut self, why: Ended, now: Duration) -> Phase {
        let error = match why {
            Ended::Closed => {
                self.stop(ConnectionStatus::Disconnected);
                return Phase::Stopped;
            }
            Ended::Error(ClientError::Closed) if self.closing => {
                self.stop(ConnectionStatus::Disconnected);
                return Phase::Stopped;
            }
            Ended::Error(e) => e,
        };
        if self.ready.is_some() {
            // The first connection failed: `connect()` reports it instead of retrying.
            self.stop(ConnectionStatus::Failed { reason: error });
            return Phase::Stopped;
        }
        let random = &self.config.random;
        let delay =
            match self
                .config
                .reconnect
                .after_failure(&mut self.attempt, error.clone(), || random())
            {
                Ok(delay) => delay,
                Err(reason) => {
                    self.stop(ConnectionStatus::Failed { reason });
                    return Phase::Stopped;
                }
            };
        let status = ConnectionStatus::Reconnecting {
            attempt: self.attempt,
            next_try_in: delay,
            reason: ReconnectReason::ConnectionLost(error),
        };
        {
            let mut sh = self.shared.borrow_mut();
            sh.stats.reconnect_attempts += 1;
            sh.set_status(status.clone());
        }
        self.hooks.on_down(&self.shared, &status);
        Phase::Idle {
            until: now.saturating_add(delay),
        }
    }

    fn stop(&mut self, status: ConnectionStatus) {
        if let Some(ready) = self.ready.take() {
            let error = match &status {
                ConnectionStatus::Failed { reason } => reason.clone(),
                _ => ClientError::Closed,
            };
            let _ = ready.send(Err(error));
        }
        self.hooks.on_stop(&self.shared, &status);
        let mut sh = self.shared.borrow_mut();
        sh.set_status(status);
        sh.close_listeners();
    }

    fn shutdown(&mut self) {
        self.reqs.close();
        let error = self.shared.borrow().final_error();
        while let Ok(req) = self.reqs.try_recv() {
            match req {
                Request::Hook(cmd) => self.hooks.refuse(cmd, &error),
                Request::Close { reply } => self.close_replies.push(reply),
            }
        }
        for reply in self.close_replies.drain(..) {
            let _ = reply.send(());
        }
    }
}

/// The API side of a running AMQP driver.
pub(crate) struct AmqpLink<C> {
    reqs: mpsc::UnboundedSender<Request<C>>,
    pub(crate) shared: Rc<RefCell<Shared>>,
}

impl<C> core::fmt::Debug for AmqpLink<C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AmqpLink").finish_non_exhaustive()
    }
}

impl<C> Clone for AmqpLink<C> {
    fn clone(&self) -> Self {
        Self {
            reqs: self.reqs.clone(),
            shared: Rc::clone(&self.shared),
        }
    }
}

/// The request channel of a driver that is about to start: the hooks may keep a clone of the
/// link (received messages settle through it), so the API handles close the connection
/// explicitly when they are dropped instead of relying on the channel closing.
pub(crate) fn channel<C>() -> (AmqpLink<C>, mpsc::UnboundedReceiver<Request<C>>) {
    let (tx, rx) = mpsc::unbounded();
    (
        AmqpLink {
            reqs: tx,
            shared: Shared::new(),
        },
        rx,
    )
}

/// Starts the pump and waits until the hooks report the connection established (or the first
/// attempt failed).
pub(crate) async fn start<H: AmqpHooks + 'static>(
    hooks: H,
    config: AmqpDriverConfig,
    link: AmqpLink<H::Cmd>,
    rx: mpsc::UnboundedReceiver<Request<H::Cmd>>,
) -> Result<AmqpLink<H::Cmd>, ClientError> {
    let shared = Rc::clone(&link.shared);
    let (ready_tx, ready_rx) = oneshot::channel();
    let driver = Driver {
        hooks,
        config,
        reqs: rx,
        shared: Rc::clone(&shared),
        ready: Some(ready_tx),
        close_replies: Vec::new(),
        attempt: 0,
        closing: false,
        socket_error: None,
        close_error: None,
        base_frames: (0, 0),
    };
    wasm_bindgen_futures::spawn_local(driver.run());
    match ready_rx.await {
        Ok(Ok(())) => Ok(link),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(link.shared.borrow().final_error()),
    }
}

impl<C> AmqpLink<C> {
    /// Hands a request to the pump; `false` once it has stopped.
    pub(crate) fn request(&self, cmd: C) -> bool {
        self.reqs.unbounded_send(Request::Hook(cmd)).is_ok()
    }

    /// The error for requests after the stop.
    pub(crate) fn final_error(&self) -> ClientError {
        self.shared.borrow().final_error()
    }

    /// Asks the pump to close without waiting (the last API handle was dropped).
    pub(crate) fn close_soon(&self) {
        let (reply, _) = oneshot::channel();
        let _ = self.reqs.unbounded_send(Request::Close { reply });
    }

    /// Closes the connection (CLOSE, answered or timed out) and stops the task.
    pub(crate) async fn close(&self) {
        let (reply, rx) = oneshot::channel();
        if self.reqs.unbounded_send(Request::Close { reply }).is_ok() {
            let _ = rx.await;
        }
    }

    pub(crate) fn status(&self) -> ConnectionStatus {
        self.shared.borrow().status.clone()
    }

    pub(crate) fn stats(&self) -> WireStats {
        self.shared.borrow().stats
    }

    pub(crate) fn status_events(&self) -> StatusEvents {
        StatusEvents::new(self.shared.borrow_mut().listen())
    }
}
