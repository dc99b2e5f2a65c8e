//! The pump task around the sans-IO MQTT client core.
//!
//! One task per client owns one [`hubwire_mqtt::Client`] for the client's whole life, so
//! unacknowledged QoS 1 messages survive a reconnect (the core re-sends them with DUP=1). The
//! task selects over three inputs: bytes from the WebSocket, commands from the API handles,
//! and one timer armed at the earliest of the core's `poll_timeout()`, the SAS renewal time,
//! the handshake deadline or the back-off deadline. After every input it drains
//! `poll_transmit` to the socket and `poll_event` into replies and status changes.

use core::cell::RefCell;
use core::time::Duration;
use std::rc::Rc;

use bytes::Bytes;
use futures::channel::{mpsc, oneshot};
use futures::future::LocalBoxFuture;
use futures::{FutureExt, StreamExt};
use hubwire_mqtt::{
    Client, Connect, DisconnectReason, Event, PacketId, Publish, QoS, SubscribeFilter,
    SubscribeReturnCode, TopicFilter, TopicName,
};

use crate::error::{ClientError, SendError, TransportError};
pub(crate) use crate::events::{Shared, StatusEvents};
use crate::reconnect::ReconnectPolicy;
use crate::status::{ConnectionStatus, ReconnectReason, WireStats};
use crate::sys;
use crate::ws::{WsConn, MQTT_SUBPROTOCOL};

/// Result of a publish: the packet id for QoS 1 (after PUBACK), `None` for QoS 0 (after the
/// bytes were handed to the socket).
pub(crate) type PublishResult = Result<Option<PacketId>, SendError>;
/// SUBACK results in request order.
pub(crate) type SubscribeResult = Result<Vec<(TopicFilter, SubscribeReturnCode)>, ClientError>;

/// A request from an API handle to the pump task.
pub(crate) enum Command {
    Publish {
        topic: TopicName,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        reply: oneshot::Sender<PublishResult>,
    },
    Subscribe {
        filters: Vec<SubscribeFilter>,
        reply: oneshot::Sender<SubscribeResult>,
    },
    Unsubscribe {
        filters: Vec<TopicFilter>,
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
    Close {
        reply: oneshot::Sender<()>,
    },
}

/// What to dial and present for one connection attempt.
pub(crate) struct Dial {
    pub(crate) url: String,
    pub(crate) connect: Connect,
    /// Unix time at which the credential must be replaced by reconnecting.
    pub(crate) renew_at_unix: Option<u64>,
}

/// The protocol-convention part of a client (IoT Hub device or plain MQTT).
pub(crate) trait Hooks {
    /// Credentials and URL for the next attempt (a fresh SAS token each time).
    fn dial(&mut self, now_unix: u64) -> Result<Dial, ClientError>;
    /// After CONNACK: queue subscriptions. Returns the SUBSCRIBE to wait for before the
    /// connection counts as established.
    fn on_connected(
        &mut self,
        core: &mut Client,
        now: Duration,
    ) -> Result<Option<PacketId>, ClientError>;
    /// An incoming PUBLISH.
    fn on_message(&mut self, publish: Publish, stats: &mut WireStats);
}

/// Static settings of a driver.
pub(crate) struct DriverConfig {
    pub(crate) connect_timeout: Duration,
    pub(crate) reconnect: ReconnectPolicy,
    pub(crate) random: Rc<dyn Fn() -> f64>,
}

enum Phase {
    /// Waiting to dial (back-off); dial at `until`.
    Idle {
        until: Duration,
    },
    /// WebSocket handshake in progress.
    Opening {
        fut: LocalBoxFuture<'static, Result<WsConn, TransportError>>,
        deadline: Duration,
        connect: Connect,
    },
    /// Socket open; MQTT CONNECT sent or connected.
    Open {
        conn: WsConn,
    },
    Stopped,
}

enum Input {
    Cmd(Option<Command>),
    Bytes(Vec<u8>),
    SocketError(TransportError),
    SocketClosed,
    Opened(Result<WsConn, TransportError>),
    Timer,
}

/// Why the current connection ended, as seen by the driver.
enum Ended {
    /// `close()` was called.
    Closed,
    /// The token is due: reconnect at once.
    Renewal,
    Error(ClientError),
}

pub(crate) struct Driver<H> {
    core: Client,
    hooks: H,
    config: DriverConfig,
    cmds: mpsc::UnboundedReceiver<Command>,
    shared: Rc<RefCell<Shared>>,
    /// Resolved once: first established connection, or the failure of the first attempt.
    ready: Option<oneshot::Sender<Result<(), ClientError>>>,
    publishes: Vec<(PacketId, oneshot::Sender<PublishResult>)>,
    subscribes: Vec<(PacketId, oneshot::Sender<SubscribeResult>)>,
    unsubscribes: Vec<(PacketId, oneshot::Sender<Result<(), ClientError>>)>,
    close_replies: Vec<oneshot::Sender<()>>,
    /// The hooks' SUBSCRIBE that completes the connection.
    awaiting: Option<PacketId>,
    renew_at_unix: Option<u64>,
    /// Number of the coming reconnect attempt; 0 while connected.
    attempt: u32,
    closing: bool,
    renewing: bool,
    /// A socket failure that explains the core's `TransportClosed`.
    socket_error: Option<TransportError>,
    /// A permanent failure found while connected, reported after the DISCONNECT went out.
    pending_failure: Option<ClientError>,
}

impl<H: Hooks> Driver<H> {
    pub(crate) fn new(
        core: Client,
        hooks: H,
        config: DriverConfig,
        cmds: mpsc::UnboundedReceiver<Command>,
        shared: Rc<RefCell<Shared>>,
        ready: oneshot::Sender<Result<(), ClientError>>,
    ) -> Self {
        Self {
            core,
            hooks,
            config,
            cmds,
            shared,
            ready: Some(ready),
            publishes: Vec::new(),
            subscribes: Vec::new(),
            unsubscribes: Vec::new(),
            close_replies: Vec::new(),
            awaiting: None,
            renew_at_unix: None,
            attempt: 0,
            closing: false,
            renewing: false,
            socket_error: None,
            pending_failure: None,
        }
    }

    /// Runs until the client is closed or fails.
    pub(crate) async fn run(mut self) {
        let mut phase = Phase::Idle {
            until: Duration::ZERO,
        };
        loop {
            let input = match &mut phase {
                Phase::Stopped => break,
                Phase::Idle { until } => {
                    futures::select_biased! {
                        c = self.cmds.next() => Input::Cmd(c),
                        () = sys::sleep_until(Some(*until)).fuse() => Input::Timer,
                    }
                }
                Phase::Opening { fut, deadline, .. } => {
                    futures::select_biased! {
                        c = self.cmds.next() => Input::Cmd(c),
                        r = fut.fuse() => Input::Opened(r),
                        () = sys::sleep_until(Some(*deadline)).fuse() => Input::Timer,
                    }
                }
                Phase::Open { conn } => {
                    let deadline = self.open_deadline();
                    futures::select_biased! {
                        m = conn.recv().fuse() => match m {
                            Some(Ok(b)) => Input::Bytes(b),
                            Some(Err(e)) => Input::SocketError(e),
                            None => Input::SocketClosed,
                        },
                        c = self.cmds.next() => Input::Cmd(c),
                        () = sys::sleep_until(deadline).fuse() => Input::Timer,
                    }
                }
            };
            phase = self.step(phase, input).await;
        }
        self.shutdown();
    }

    /// Earliest timer while the socket is open: the core's, or the renewal time.
    fn open_deadline(&self) -> Option<Duration> {
        let core = self.core.poll_timeout();
        let renew = self.renew_deadline();
        match (core, renew) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The renewal time on the monotonic clock. Recomputed from the wall clock each time so a
    /// suspended laptop (whose monotonic clock may have paused) still renews in time.
    fn renew_deadline(&self) -> Option<Duration> {
        let at = self.renew_at_unix?;
        if !self.core.is_connected() {
            return None;
        }
        let left = at.saturating_sub(sys::unix_secs());
        Some(sys::now().saturating_add(Duration::from_secs(left)))
    }

    async fn step(&mut self, phase: Phase, input: Input) -> Phase {
        let now = sys::now();
        match (phase, input) {
            (phase, Input::Cmd(cmd)) => self.command(phase, cmd, now).await,

            (Phase::Idle { until }, Input::Timer) => {
                if now < until {
                    return Phase::Idle { until };
                }
                self.dial(now)
            }

            (Phase::Opening { connect, .. }, Input::Opened(Ok(conn))) => {
                self.socket_error = None;
                if let Err(e) = self.core.connect(now, connect) {
                    conn.close().await;
                    return self.ended(Ended::Error(e.into()), now);
                }
                self.pump(Phase::Open { conn }, now).await
            }
            (Phase::Opening { .. }, Input::Opened(Err(e))) => {
                self.ended(Ended::Error(ClientError::Transport(e)), now)
            }
            (
                Phase::Opening {
                    fut,
                    deadline,
                    connect,
                },
                Input::Timer,
            ) => {
                if now < deadline {
                    return Phase::Opening {
                        fut,
                        deadline,
                        connect,
                    };
                }
                // Dropping the handshake future closes the half-open socket.
                drop(fut);
                self.ended(
                    Ended::Error(ClientError::Transport(TransportError::HandshakeTimeout)),
                    now,
                )
            }

            (Phase::Open { conn }, Input::Bytes(data)) => {
                {
                    let mut sh = self.shared.borrow_mut();
                    sh.stats.bytes_received += data.len() as u64;
                    sh.stats.frames_received += 1;
                }
                // A protocol error also ends the connection with an event; that is where it is
                // handled.
                let _ = self.core.handle_bytes(now, &data);
                self.pump(Phase::Open { conn }, now).await
            }
            (Phase::Open { conn }, Input::SocketError(e)) => {
                self.socket_error = Some(e);
                self.core.handle_transport_closed(now);
                self.pump(Phase::Open { conn }, now).await
            }
            (Phase::Open { mut conn }, Input::SocketClosed) => {
                self.socket_error = Some(conn.close_reason().await);
                self.core.handle_transport_closed(now);
                self.pump(Phase::Open { conn }, now).await
            }
            (Phase::Open { conn }, Input::Timer) => {
                // Compared on the wall clock, the clock the token's expiry is measured on.
                let renew_due = self.core.is_connected()
                    && self.renew_at_unix.is_some_and(|at| at <= sys::unix_secs());
                if renew_due && !self.renewing {
                    self.renewing = true;
                    // DISCONNECT, then reconnect with a fresh token; in-flight messages are
                    // re-sent after the new CONNACK.
                    let _ = self.core.disconnect(now);
                } else {
                    self.core.handle_timeout(now);
                }
                self.pump(Phase::Open { conn }, now).await
            }

            // Inputs that no longer match the phase (for example a stale timer).
            (phase, _) => phase,
        }
    }

    fn dial(&mut self, now: Duration) -> Phase {
        let dial = match self.hooks.dial(sys::unix_secs()) {
            Ok(d) => d,
            Err(e) => return self.ended(Ended::Error(e), now),
        };
        self.renew_at_unix = dial.renew_at_unix;
        let url = dial.url;
        Phase::Opening {
            fut: async move { WsConn::connect(&url, MQTT_SUBPROTOCOL).await }.boxed_local(),
            deadline: now.saturating_add(self.config.connect_timeout),
            connect: dial.connect,
        }
    }

    async fn command(&mut self, phase: Phase, cmd: Option<Command>, now: Duration) -> Phase {
        let Some(cmd) = cmd else {
            // Every handle is gone: nobody can use the connection any more.
            return self.close(phase, now).await;
        };
        match cmd {
            Command::Publish {
                topic,
                payload,
                qos,
                retain,
                reply,
            } => match self.core.publish(now, topic, payload, qos, retain) {
                Ok(Some(id)) => self.publishes.push((id, reply)),
                Ok(None) => {
                    self.shared.borrow_mut().stats.messages_sent += 1;
                    let _ = reply.send(Ok(None));
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Subscribe { filters, reply } => match self.core.subscribe(now, filters) {
                Ok(id) => self.subscribes.push((id, reply)),
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Unsubscribe { filters, reply } => match self.core.unsubscribe(now, filters) {
                Ok(id) => self.unsubscribes.push((id, reply)),
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Command::Close { reply } => {
                self.close_replies.push(reply);
                return self.close(phase, now).await;
            }
        }
        match phase {
            Phase::Open { conn } => self.pump(Phase::Open { conn }, now).await,
            other => other,
        }
    }

    async fn close(&mut self, phase: Phase, now: Duration) -> Phase {
        self.closing = true;
        match phase {
            Phase::Open { conn } if self.core.disconnect(now).is_ok() => {
                self.pump(Phase::Open { conn }, now).await
            }
            Phase::Open { conn } => {
                conn.close().await;
                self.ended(Ended::Closed, now)
            }
            // Dropping a pending handshake closes its socket.
            _ => self.ended(Ended::Closed, now),
        }
    }

    /// Moves output to the socket and events to their receivers until both are drained.
    async fn pump(&mut self, phase: Phase, now: Duration) -> Phase {
        let Phase::Open { mut conn } = phase else {
            return phase;
        };
        let mut ended: Option<DisconnectReason> = None;
        loop {
            let mut out = Vec::new();
            let n = self.core.poll_transmit(&mut out);
            if n > 0 {
                match conn.send(out).await {
                    Ok(()) => {
                        let mut sh = self.shared.borrow_mut();
                        sh.stats.bytes_sent += n as u64;
                        sh.stats.frames_sent += 1;
                    }
                    Err(e) => {
                        if self.socket_error.is_none() {
                            self.socket_error = Some(e);
                        }
                        self.core.handle_transport_closed(now);
                    }
                }
            }
            let Some(event) = self.core.poll_event() else {
                break;
            };
            match event {
                Event::Connected { .. } => {
                    self.attempt = 0;
                    self.shared.borrow_mut().stats.connects += 1;
                    match self.hooks.on_connected(&mut self.core, now) {
                        Ok(Some(id)) => self.awaiting = Some(id),
                        Ok(None) => self.established(),
                        Err(e) => {
                            ended = Some(DisconnectReason::Local);
                            self.socket_error = None;
                            let _ = self.core.disconnect(now);
                            self.fail_after_close(e);
                        }
                    }
                }
                Event::Published { packet_id } => {
                    self.shared.borrow_mut().stats.messages_sent += 1;
                    if let Some(pos) = self.publishes.iter().position(|(id, _)| *id == packet_id) {
                        let (_, reply) = self.publishes.swap_remove(pos);
                        let _ = reply.send(Ok(Some(packet_id)));
                    }
                }
                Event::Message(publish) => {
                    let mut sh = self.shared.borrow_mut();
                    sh.stats.messages_received += 1;
                    self.hooks.on_message(publish, &mut sh.stats);
                }
                Event::Subscribed { packet_id, results } => {
                    if self.awaiting == Some(packet_id) {
                        self.awaiting = None;
                        if results
                            .iter()
                            .any(|(_, rc)| *rc == SubscribeReturnCode::Failure)
                        {
                            ended = Some(DisconnectReason::Local);
                            let _ = self.core.disconnect(now);
                            self.fail_after_close(ClientError::SubscriptionRefused);
                        } else {
                            self.established();
                        }
                    } else if let Some(pos) =
                        self.subscribes.iter().position(|(id, _)| *id == packet_id)
                    {
                        let (_, reply) = self.subscribes.swap_remove(pos);
                        let _ = reply.send(Ok(results));
                    }
                }
                Event::Unsubscribed { packet_id } => {
                    if let Some(pos) = self
                        .unsubscribes
                        .iter()
                        .position(|(id, _)| *id == packet_id)
                    {
                        let (_, reply) = self.unsubscribes.swap_remove(pos);
                        let _ = reply.send(Ok(()));
                    }
                }
                // The first end reason counts; a local DISCONNECT queued above may add another.
                Event::Disconnected(reason) if ended.is_none() => ended = Some(reason),
                // `Event` is non-exhaustive; later variants need no action here.
                _ => {}
            }
        }
        let Some(reason) = ended else {
            let stats = self.core.stats();
            let mut sh = self.shared.borrow_mut();
            sh.stats.packets_sent = sh.base.packets_sent + stats.packets_sent;
            sh.stats.packets_received = sh.base.packets_received + stats.packets_received;
            return Phase::Open { conn };
        };
        // The connection is over: account its packets, close the socket.
        {
            let stats = self.core.stats();
            let mut sh = self.shared.borrow_mut();
            sh.base.packets_sent += stats.packets_sent;
            sh.base.packets_received += stats.packets_received;
            sh.stats.packets_sent = sh.base.packets_sent;
            sh.stats.packets_received = sh.base.packets_received;
        }
        conn.close().await;
        self.awaiting = None;
        for (_, reply) in self.subscribes.drain(..) {
            let _ = reply.send(Err(ClientError::NotConnected));
        }
        for (_, reply) in self.unsubscribes.drain(..) {
            let _ = reply.send(Err(ClientError::NotConnected));
        }
        let why = match reason {
            DisconnectReason::Local if self.closing => Ended::Closed,
            DisconnectReason::Local if self.renewing => Ended::Renewal,
            DisconnectReason::Local => match self.pending_failure.take() {
                Some(e) => Ended::Error(e),
                None => Ended::Closed,
            },
            DisconnectReason::Refused(code) => Ended::Error(ClientError::Refused(code)),
            DisconnectReason::PingTimeout => Ended::Error(ClientError::PingTimeout),
            DisconnectReason::ConnAckTimeout => Ended::Error(ClientError::ConnAckTimeout),
            DisconnectReason::Protocol(e) => Ended::Error(ClientError::Protocol(e)),
            _ => Ended::Error(ClientError::Transport(self.socket_error.take().unwrap_or(
                TransportError::Closed {
                    code: 1006,
                    reason: String::new(),
                    was_clean: false,
                },
            ))),
        };
        self.ended(why, now)
    }

    /// Connected and subscribed.
    fn established(&mut self) {
        self.shared
            .borrow_mut()
            .set_status(ConnectionStatus::Connected);
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Ok(()));
        }
    }

    /// Records a failure to report once the DISCONNECT that was just queued has gone out.
    fn fail_after_close(&mut self, e: ClientError) {
        self.pending_failure = Some(e);
    }

    /// Decides what follows the end of a connection or attempt.
    fn ended(&mut self, why: Ended, now: Duration) -> Phase {
        self.renew_at_unix = None;
        let error = match why {
            Ended::Closed => {
                self.stop(ConnectionStatus::Disconnected);
                return Phase::Stopped;
            }
            Ended::Renewal => {
                self.renewing = false;
                self.attempt += 1;
                self.retry(ReconnectReason::TokenRenewal, Duration::ZERO, now);
                return Phase::Idle { until: now };
            }
            Ended::Error(e) => e,
        };
        if self.ready.is_some() {
            // The first connection failed: report it to `connect()` instead of retrying.
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
        self.retry(ReconnectReason::ConnectionLost(error), delay, now);
        Phase::Idle {
            until: now.saturating_add(delay),
        }
    }

    fn retry(&mut self, reason: ReconnectReason, delay: Duration, _now: Duration) {
        let mut sh = self.shared.borrow_mut();
        sh.stats.reconnect_attempts += 1;
        sh.set_status(ConnectionStatus::Reconnecting {
            attempt: self.attempt,
            next_try_in: delay,
            reason,
        });
    }

    /// Final status; fails everything still waiting.
    fn stop(&mut self, status: ConnectionStatus) {
        let send_error = match &status {
            ConnectionStatus::Failed { reason } => SendError::Failed(Box::new(reason.clone())),
            _ => SendError::Closed,
        };
        let client_error = match &status {
            ConnectionStatus::Failed { reason } => reason.clone(),
            _ => ClientError::Closed,
        };
        if let Some(ready) = self.ready.take() {
            let _ = ready.send(Err(client_error.clone()));
        }
        for (_, reply) in self.publishes.drain(..) {
            let _ = reply.send(Err(send_error.clone()));
        }
        for (_, reply) in self.subscribes.drain(..) {
            let _ = reply.send(Err(client_error.clone()));
        }
        for (_, reply) in self.unsubscribes.drain(..) {
            let _ = reply.send(Err(client_error.clone()));
        }
        let mut sh = self.shared.borrow_mut();
        sh.set_status(status);
        // A terminal status is the last one: close the status streams.
        sh.close_listeners();
    }

    /// After the loop: answer close requests and whatever is still queued.
    fn shutdown(&mut self) {
        self.cmds.close();
        let send_error = match &self.shared.borrow().status {
            ConnectionStatus::Failed { reason } => SendError::Failed(Box::new(reason.clone())),
            _ => SendError::Closed,
        };
        let client_error = self.shared.borrow().final_error();
        while let Ok(cmd) = self.cmds.try_recv() {
            match cmd {
                Command::Publish { reply, .. } => {
                    let _ = reply.send(Err(send_error.clone()));
                }
                Command::Subscribe { reply, .. } => {
                    let _ = reply.send(Err(client_error.clone()));
                }
                Command::Unsubscribe { reply, .. } => {
                    let _ = reply.send(Err(client_error.clone()));
                }
                Command::Close { reply } => self.close_replies.push(reply),
            }
        }
        for reply in self.close_replies.drain(..) {
            let _ = reply.send(());
        }
    }
}

/// The API side of a running driver: sends commands, reads shared state.
#[derive(Clone)]
pub(crate) struct Link {
    cmds: mpsc::UnboundedSender<Command>,
    pub(crate) shared: Rc<RefCell<Shared>>,
}

/// Starts the pump task and waits for the first connection (or its failure).
pub(crate) async fn start<H: Hooks + 'static>(
    core: Client,
    hooks: H,
    config: DriverConfig,
) -> Result<Link, ClientError> {
    let (cmds, rx) = mpsc::unbounded();
    let shared = Shared::new();
    let (ready_tx, ready_rx) = oneshot::channel();
    let driver = Driver::new(core, hooks, config, rx, Rc::clone(&shared), ready_tx);
    wasm_bindgen_futures::spawn_local(driver.run());
    let link = Link { cmds, shared };
    match ready_rx.await {
        Ok(Ok(())) => Ok(link),
        Ok(Err(e)) => Err(e),
        Err(_) => Err(link.shared.borrow().final_error()),
    }
}

impl Link {
    fn send_error(&self) -> SendError {
        match self.shared.borrow().final_error() {
            ClientError::Closed => SendError::Closed,
            other => SendError::Failed(Box::new(other)),
        }
    }

    pub(crate) async fn publish(
        &self,
        topic: TopicName,
        payload: Bytes,
        qos: QoS,
        retain: bool,
    ) -> PublishResult {
        let (reply, rx) = oneshot::channel();
        let cmd = Command::Publish {
            topic,
            payload,
            qos,
            retain,
            reply,
        };
        if self.cmds.unbounded_send(cmd).is_err() {
            return Err(self.send_error());
        }
        rx.await.unwrap_or_else(|_| Err(self.send_error()))
    }

    pub(crate) async fn subscribe(&self, filters: Vec<SubscribeFilter>) -> SubscribeResult {
        let (reply, rx) = oneshot::channel();
        if self
            .cmds
            .unbounded_send(Command::Subscribe { filters, reply })
            .is_err()
        {
            return Err(self.shared.borrow().final_error());
        }
        rx.await
            .unwrap_or_else(|_| Err(self.shared.borrow().final_error()))
    }

    pub(crate) async fn unsubscribe(&self, filters: Vec<TopicFilter>) -> Result<(), ClientError> {
        let (reply, rx) = oneshot::channel();
        if self
            .cmds
            .unbounded_send(Command::Unsubscribe { filters, reply })
            .is_err()
        {
            return Err(self.shared.borrow().final_error());
        }
        rx.await
            .unwrap_or_else(|_| Err(self.shared.borrow().final_error()))
    }

    /// Sends DISCONNECT, closes the socket and stops the task; resolves when done (at once if
    /// already stopped).
    pub(crate) async fn close(&self) {
        let (reply, rx) = oneshot::channel();
        if self.cmds.unbounded_send(Command::Close { reply }).is_ok() {
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
