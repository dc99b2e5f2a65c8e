//! A generic AMQP 1.0 client over WebSocket, without IoT Hub conventions (no CBS, no link
//! address rules): usable against any AMQP 1.0 container with a WebSocket listener (for
//! example a rhea server). One connection, one session, links attached on request.

use core::cell::RefCell;
use core::time::Duration;
use std::collections::HashMap;
use std::rc::Rc;

use bytes::Bytes;
use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use hubwire_amqp::engine::{
    ClientSasl, ConnectionConfig, Event, LinkId, LinkOptions, SessionId, SessionOptions,
};
use hubwire_amqp::{
    AmqpError as WireError, DecodeError, DeliveryState, ErrorCondition, Message, Str, Symbol,
};

use crate::amqp_driver::{self, AmqpDial, AmqpDriverConfig, AmqpHooks, AmqpLink, Cx};
use crate::error::{AmqpError, ClientError, SendError, SettleError};
use crate::events::{Shared, StatusEvents};
use crate::options::DEFAULT_CONNECT_TIMEOUT;
use crate::reconnect::ReconnectPolicy;
use crate::status::{ConnectionStatus, WireStats};

/// How the generic client authenticates at the SASL layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AmqpSasl {
    /// No SASL layer: the AMQP protocol header straight away.
    #[default]
    None,
    /// SASL `ANONYMOUS`.
    Anonymous,
}

/// Settings of [`AmqpWsClient::connect_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct AmqpWsConfig {
    /// SASL layer (default none).
    pub sasl: AmqpSasl,
    /// `container-id` of our OPEN (default `hubwire-web-` plus random digits).
    pub container_id: Option<String>,
    /// `hostname` of our OPEN (and SASL init).
    pub hostname: Option<String>,
    /// Largest frame we accept (default 65536).
    pub max_frame_size: u32,
    /// We declare the peer dead when nothing arrives for this long (default 240 s); the peer's
    /// own idle time-out sets how often we send heartbeats.
    pub idle_time_out: Option<Duration>,
    /// Limit for the WebSocket handshake and for the AMQP header/SASL/OPEN exchange.
    pub connect_timeout: Duration,
}

impl Default for AmqpWsConfig {
    fn default() -> Self {
        Self {
            sasl: AmqpSasl::None,
            container_id: None,
            hostname: None,
            max_frame_size: 65536,
            idle_time_out: Some(Duration::from_secs(240)),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

/// A random container id (`Math.random`; the engine draws no random numbers).
pub(crate) fn random_container_id(prefix: &str) -> String {
    let n = (crate::sys::random() * 1e15) as u64;
    format!("{prefix}{n:x}")
}

/// How long to wait for the peer's CLOSE after ours.
pub(crate) const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);

type AttachReply = oneshot::Sender<Result<LinkId, ClientError>>;
type SendReply = oneshot::Sender<Result<Option<DeliveryState>, SendError>>;

pub(crate) enum PlainCmd {
    Attach {
        sender: bool,
        options: Box<LinkOptions>,
        deliveries: Option<mpsc::UnboundedSender<AmqpDelivery>>,
        reply: AttachReply,
    },
    Send {
        link: LinkId,
        payload: Bytes,
        settled: bool,
        reply: SendReply,
    },
    Settle {
        link: LinkId,
        delivery_id: u32,
        state: DeliveryState,
        reply: oneshot::Sender<Result<(), SettleError>>,
    },
    Detach {
        link: LinkId,
        reply: oneshot::Sender<Result<(), ClientError>>,
    },
}

struct Attaching {
    address: String,
    reply: AttachReply,
    deliveries: Option<mpsc::UnboundedSender<AmqpDelivery>>,
    /// The peer answered with a null terminus: the refusal's DETACH follows.
    refused: bool,
}

struct PlainHooks {
    url: String,
    config: AmqpWsConfig,
    link: AmqpLink<PlainCmd>,
    session: Option<SessionId>,
    established: bool,
    attaching: HashMap<LinkId, Attaching>,
    receivers: HashMap<LinkId, mpsc::UnboundedSender<AmqpDelivery>>,
    sends: HashMap<LinkId, HashMap<Bytes, SendReply>>,
    detaching: HashMap<LinkId, oneshot::Sender<Result<(), ClientError>>>,
}

fn wire_error(what: &'static str, e: Option<WireError>) -> AmqpError {
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

/// An outcome as the result of a send: `rejected`, `released` and `modified` are errors of
/// [`DeviceClient::send_event`](crate::DeviceClient); the generic client returns them as they
/// are.
pub(crate) fn outcome_error(state: &DeliveryState) -> Option<AmqpError> {
    match state {
        DeliveryState::Rejected(r) => Some(match &r.error {
            Some(e) => AmqpError::Rejected {
                condition: e.condition.as_str().to_owned(),
                description: e.description.as_ref().map(|d| d.as_str().to_owned()),
            },
            None => AmqpError::Rejected {
                condition: String::new(),
                description: None,
            },
        }),
        DeliveryState::Released => Some(AmqpError::NotProcessed {
            outcome: "released",
        }),
        DeliveryState::Modified(_) => Some(AmqpError::NotProcessed {
            outcome: "modified",
        }),
        _ => None,
    }
}

/// An engine command error as a send error.
pub(crate) fn command_send_error(e: &hubwire_amqp::engine::CommandError) -> SendError {
    use hubwire_amqp::engine::CommandError as C;
    match e {
        C::MessageTooLarge { size, max } => SendError::TooLarge {
            size: usize::try_from(*size).unwrap_or(usize::MAX),
            limit: usize::try_from(*max).unwrap_or(usize::MAX),
        },
        C::Closed => SendError::NotConnected,
        other => SendError::Amqp(AmqpError::Command(other.to_string())),
    }
}

impl PlainHooks {
    fn fail_all(&mut self, error: &ClientError) {
        for (_, a) in self.attaching.drain() {
            let _ = a.reply.send(Err(error.clone()));
        }
        self.receivers.clear();
        for (_, sends) in self.sends.drain() {
            for (_, reply) in sends {
                let _ = reply.send(Err(SendError::Failed(Box::new(error.clone()))));
            }
        }
        for (_, reply) in self.detaching.drain() {
            let _ = reply.send(Ok(()));
        }
    }
}

impl AmqpHooks for PlainHooks {
    type Cmd = PlainCmd;

    fn dial(&mut self) -> Result<AmqpDial, ClientError> {
        let c = &self.config;
        let mut config = ConnectionConfig::new(Str::from(
            c.container_id
                .clone()
                .unwrap_or_else(|| random_container_id("hubwire-web-")),
        ));
        config.hostname = c.hostname.clone().map(Str::from);
        config.max_frame_size = c.max_frame_size;
        config.idle_time_out = c.idle_time_out;
        config.handshake_timeout = Some(c.connect_timeout);
        config.close_timeout = Some(CLOSE_TIMEOUT);
        Ok(AmqpDial {
            url: self.url.clone(),
            config,
            sasl: match c.sasl {
                AmqpSasl::None => ClientSasl::None,
                AmqpSasl::Anonymous => ClientSasl::Anonymous,
            },
        })
    }

    fn on_open(&mut self, cx: &mut Cx<'_>) {
        let Some(conn) = cx.conn.as_deref_mut() else {
            return;
        };
        match conn.open_session(cx.now, SessionOptions::default()) {
            Ok(s) => self.session = Some(s),
            Err(e) => cx.lost(ClientError::Amqp(AmqpError::Command(e.to_string()))),
        }
    }

    fn on_event(&mut self, cx: &mut Cx<'_>, event: Event) {
        let now = cx.now;
        match event {
            Event::SessionBegun { session, .. }
                if Some(session) == self.session && !self.established =>
            {
                self.established = true;
                cx.established();
            }
            // Our own ends (and the end of the connection) are not losses.
            Event::SessionEnded {
                session,
                error,
                by_peer: true,
            } if Some(session) == self.session => {
                cx.lost(ClientError::Amqp(wire_error("session", error)));
            }
            Event::LinkAttached { link, remote } => {
                let Some(a) = self.attaching.get_mut(&link) else {
                    return;
                };
                // A refusal carries a null terminus on the peer's side of the link.
                let ok = if a.deliveries.is_some() {
                    remote.source.is_some()
                } else {
                    remote.target.is_some()
                };
                if !ok {
                    a.refused = true;
                    return;
                }
                if let Some(a) = self.attaching.remove(&link) {
                    if let Some(tx) = a.deliveries {
                        self.receivers.insert(link, tx);
                    } else {
                        self.sends.entry(link).or_default();
                    }
                    let _ = a.reply.send(Ok(link));
                }
            }
            Event::LinkDetached {
                link,
                error,
                lost,
                by_peer,
                ..
            } => {
                let err = wire_error("link", error);
                if let Some(a) = self.attaching.remove(&link) {
                    let refused = match err.clone() {
                        AmqpError::Closed {
                            condition,
                            description,
                            ..
                        } => AmqpError::LinkRefused {
                            address: a.address,
                            condition,
                            description,
                        },
                        other => other,
                    };
                    let _ = a.reply.send(Err(ClientError::Amqp(refused)));
                }
                self.receivers.remove(&link);
                if let Some(mut sends) = self.sends.remove(&link) {
                    let e = if by_peer {
                        SendError::Amqp(err.clone())
                    } else {
                        SendError::Closed
                    };
                    for tag in lost {
                        if let Some(reply) = sends.remove(&tag) {
                            let _ = reply.send(Err(e.clone()));
                        }
                    }
                    for (_, reply) in sends {
                        let _ = reply.send(Err(e.clone()));
                    }
                }
                if let Some(reply) = self.detaching.remove(&link) {
                    let _ = reply.send(Ok(()));
                }
            }
            Event::Outcome {
                link, tag, state, ..
            } => {
                if let Some(reply) = self.sends.get_mut(&link).and_then(|s| s.remove(&tag)) {
                    cx.stats().messages_sent += 1;
                    let _ = reply.send(Ok(state));
                }
            }
            Event::Delivery(d) => {
                let Some(tx) = self.receivers.get(&d.link) else {
                    return;
                };
                cx.stats().messages_received += 1;
                let delivery = AmqpDelivery {
                    link: d.link,
                    delivery_id: d.delivery_id,
                    tag: d.tag.clone(),
                    settled: d.settled,
                    message_format: d.message_format,
                    payload: d.payload.clone(),
                    handle: self.link.clone(),
                };
                if tx.unbounded_send(delivery).is_err() && !d.settled {
                    // Nobody reads this receiver: give the message back.
                    if let Some(conn) = cx.conn.as_deref_mut() {
                        let _ =
                            conn.settle(now, d.link, d.delivery_id, Some(DeliveryState::Released));
                    }
                    cx.stats().messages_dropped += 1;
                }
            }
            _ => {}
        }
    }

    fn on_command(&mut self, cx: &mut Cx<'_>, cmd: PlainCmd) {
        let now = cx.now;
        let (Some(conn), Some(session)) = (cx.conn.as_deref_mut(), self.session) else {
            self.refuse(cmd, &ClientError::NotConnected);
            return;
        };
        match cmd {
            PlainCmd::Attach {
                sender,
                options,
                deliveries,
                reply,
            } => {
                let address = if sender {
                    options.target.as_ref().and_then(|t| t.address.clone())
                } else {
                    options.source.as_ref().and_then(|s| s.address.clone())
                }
                .map(|a| a.as_str().to_owned())
                .unwrap_or_default();
                let r = if sender {
                    conn.attach_sender(now, session, *options)
                } else {
                    conn.attach_receiver(now, session, *options)
                };
                match r {
                    Ok(link) => {
                        self.attaching.insert(
                            link,
                            Attaching {
                                address,
                                reply,
                                deliveries,
                                refused: false,
                            },
                        );
                    }
                    Err(e) => {
                        let _ =
                            reply.send(Err(ClientError::Amqp(AmqpError::Command(e.to_string()))));
                    }
                }
            }
            PlainCmd::Send {
                link,
                payload,
                settled,
                reply,
            } => match conn.send_bytes(now, link, payload, settled, None) {
                Ok(tag) => {
                    if settled {
                        cx.stats().messages_sent += 1;
                        let _ = reply.send(Ok(None));
                    } else {
                        self.sends.entry(link).or_default().insert(tag, reply);
                    }
                }
                Err(e) => {
                    let _ = reply.send(Err(command_send_error(&e)));
                }
            },
            PlainCmd::Settle {
                link,
                delivery_id,
                state,
                reply,
            } => {
                let r = conn
                    .settle(now, link, delivery_id, Some(state))
                    .map_err(|_| SettleError::Amqp(AmqpError::LockLost));
                let _ = reply.send(r);
            }
            PlainCmd::Detach { link, reply } => match conn.detach(now, link, true, None) {
                Ok(()) => {
                    self.detaching.insert(link, reply);
                }
                Err(_) => {
                    let _ = reply.send(Ok(()));
                }
            },
        }
    }

    fn deadline(&self) -> Option<Duration> {
        None
    }

    fn on_timer(&mut self, _cx: &mut Cx<'_>) {}

    fn on_down(&mut self, _shared: &Rc<RefCell<Shared>>, status: &ConnectionStatus) {
        // No reconnect for the generic client, but be safe: nothing survives a connection.
        let error = match status {
            ConnectionStatus::Reconnecting { reason, .. } => {
                ClientError::Amqp(AmqpError::Command(reason.to_string()))
            }
            _ => ClientError::NotConnected,
        };
        self.session = None;
        self.fail_all(&error);
    }

    fn on_stop(&mut self, _shared: &Rc<RefCell<Shared>>, status: &ConnectionStatus) {
        let error = match status {
            ConnectionStatus::Failed { reason } => reason.clone(),
            _ => ClientError::Closed,
        };
        self.session = None;
        self.fail_all(&error);
    }

    fn refuse(&mut self, cmd: PlainCmd, error: &ClientError) {
        let send_error = match error {
            ClientError::Closed => SendError::Closed,
            ClientError::NotConnected => SendError::NotConnected,
            other => SendError::Failed(Box::new(other.clone())),
        };
        match cmd {
            PlainCmd::Attach { reply, .. } => {
                let _ = reply.send(Err(error.clone()));
            }
            PlainCmd::Send { reply, .. } => {
                let _ = reply.send(Err(send_error));
            }
            PlainCmd::Settle { reply, .. } => {
                let _ = reply.send(Err(SettleError::Closed));
            }
            PlainCmd::Detach { reply, .. } => {
                let _ = reply.send(Ok(()));
            }
        }
    }
}

/// One AMQP 1.0 connection over a WebSocket (subprotocol `AMQPWSB10`) with one session,
/// driven by a `spawn_local` task around the sans-IO [`hubwire_amqp::engine::Connection`].
/// No IoT Hub conventions and no reconnect: when the connection ends the client is done
/// (status `Failed` or `Disconnected`).
///
/// Cheap to clone; the connection closes with [`close`](Self::close) or when the last clone
/// is dropped (links keep it open while they exist).
#[derive(Clone)]
pub struct AmqpWsClient {
    inner: Rc<ClientInner>,
}

struct ClientInner {
    link: AmqpLink<PlainCmd>,
}

impl Drop for ClientInner {
    fn drop(&mut self) {
        self.link.close_soon();
    }
}

impl core::fmt::Debug for AmqpWsClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AmqpWsClient")
            .field("status", &self.inner.link.status())
            .finish_non_exhaustive()
    }
}

impl AmqpWsClient {
    /// Opens `url` (e.g. `ws://127.0.0.1:5673`) without SASL, sends OPEN and BEGIN; resolves
    /// once the peer answered both.
    pub async fn connect(url: &str) -> Result<Self, ClientError> {
        Self::connect_with(url, AmqpWsConfig::default()).await
    }

    /// [`connect`](Self::connect) with explicit settings.
    pub async fn connect_with(url: &str, config: AmqpWsConfig) -> Result<Self, ClientError> {
        let (link, rx) = amqp_driver::channel();
        let driver_config = AmqpDriverConfig {
            connect_timeout: config.connect_timeout,
            reconnect: ReconnectPolicy::disabled(),
            random: Rc::new(|| 0.0),
        };
        let hooks = PlainHooks {
            url: url.into(),
            config,
            link: link.clone(),
            session: None,
            established: false,
            attaching: HashMap::new(),
            receivers: HashMap::new(),
            sends: HashMap::new(),
            detaching: HashMap::new(),
        };
        let link = amqp_driver::start(hooks, driver_config, link, rx).await?;
        Ok(Self {
            inner: Rc::new(ClientInner { link }),
        })
    }

    async fn attach(
        &self,
        sender: bool,
        options: LinkOptions,
        deliveries: Option<mpsc::UnboundedSender<AmqpDelivery>>,
    ) -> Result<LinkId, ClientError> {
        let (reply, rx) = oneshot::channel();
        let link = &self.inner.link;
        if !link.request(PlainCmd::Attach {
            sender,
            options: Box::new(options),
            deliveries,
            reply,
        }) {
            return Err(link.final_error());
        }
        rx.await.unwrap_or_else(|_| Err(link.final_error()))
    }

    /// Attaches a sending link to `address` (settle mode mixed: sends may be settled or not);
    /// resolves when the peer answered the ATTACH. A refusal gives
    /// [`AmqpError::LinkRefused`].
    pub async fn sender(&self, address: &str) -> Result<AmqpSender, ClientError> {
        let name = random_container_id("sender-");
        self.sender_with(LinkOptions::sender(Str::from(name), Str::new(address)))
            .await
    }

    /// Attaches a sending link with explicit options.
    pub async fn sender_with(&self, options: LinkOptions) -> Result<AmqpSender, ClientError> {
        let link = self.attach(true, options, None).await?;
        Ok(AmqpSender {
            link,
            client: self.clone(),
        })
    }

    /// Attaches a receiving link from `address`, granting `credit` (topped up as messages
    /// arrive); deliveries are settled by the application ([`AmqpDelivery::accept`] and
    /// friends).
    pub async fn receiver(&self, address: &str, credit: u32) -> Result<AmqpReceiver, ClientError> {
        let name = random_container_id("receiver-");
        let mut options = LinkOptions::receiver(Str::from(name), Str::new(address));
        options.credit = credit.max(1);
        self.receiver_with(options).await
    }

    /// Attaches a receiving link with explicit options.
    pub async fn receiver_with(&self, options: LinkOptions) -> Result<AmqpReceiver, ClientError> {
        let (tx, rx) = mpsc::unbounded();
        let link = self.attach(false, options, Some(tx)).await?;
        Ok(AmqpReceiver {
            link,
            rx,
            client: self.clone(),
        })
    }

    /// Current status.
    #[must_use]
    pub fn status(&self) -> ConnectionStatus {
        self.inner.link.status()
    }

    /// Status changes, starting with the current status.
    #[must_use]
    pub fn status_events(&self) -> StatusEvents {
        self.inner.link.status_events()
    }

    /// Bytes and WebSocket messages on the wire; `packets_*` count AMQP frames.
    #[must_use]
    pub fn stats(&self) -> WireStats {
        self.inner.link.stats()
    }

    /// Sends CLOSE, waits for the peer's (at most a few seconds) and closes the socket.
    pub async fn close(&self) {
        self.inner.link.close().await;
    }

    async fn detach(&self, link: LinkId) -> Result<(), ClientError> {
        let (reply, rx) = oneshot::channel();
        if !self.inner.link.request(PlainCmd::Detach { link, reply }) {
            return Ok(());
        }
        rx.await.unwrap_or(Ok(()))
    }
}

/// A sending link of an [`AmqpWsClient`].
#[derive(Clone)]
pub struct AmqpSender {
    link: LinkId,
    client: AmqpWsClient,
}

impl core::fmt::Debug for AmqpSender {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AmqpSender")
            .field("handle", &self.link.handle())
            .finish_non_exhaustive()
    }
}

impl AmqpSender {
    async fn send_payload(
        &self,
        message: &Message,
        settled: bool,
    ) -> Result<Option<DeliveryState>, SendError> {
        let payload = hubwire_amqp::Encode::to_bytes(message)
            .map_err(|e| SendError::Amqp(AmqpError::Command(e.to_string())))?;
        let (reply, rx) = oneshot::channel();
        let link = &self.client.inner.link;
        let cmd = PlainCmd::Send {
            link: self.link,
            payload,
            settled,
            reply,
        };
        let closed = || match link.final_error() {
            ClientError::Closed => SendError::Closed,
            other => SendError::Failed(Box::new(other)),
        };
        if !link.request(cmd) {
            return Err(closed());
        }
        rx.await.unwrap_or_else(|_| Err(closed()))
    }

    /// Sends unsettled (at least once) and resolves with the peer's outcome (`accepted`,
    /// `rejected`, …; `None` when the peer settled without one). Messages larger than the
    /// peer's max-frame-size go out as several transfer frames.
    pub async fn send(&self, message: &Message) -> Result<Option<DeliveryState>, SendError> {
        self.send_payload(message, false).await
    }

    /// Sends pre-settled (at most once); resolves when the message was handed to the engine.
    pub async fn send_settled(&self, message: &Message) -> Result<(), SendError> {
        self.send_payload(message, true).await.map(|_| ())
    }

    /// Detaches (closes) the link.
    pub async fn close(&self) -> Result<(), ClientError> {
        self.client.detach(self.link).await
    }
}

/// A receiving link of an [`AmqpWsClient`]: a stream of deliveries, which the application
/// settles. Ends when the link or the connection ends.
pub struct AmqpReceiver {
    link: LinkId,
    rx: mpsc::UnboundedReceiver<AmqpDelivery>,
    client: AmqpWsClient,
}

impl core::fmt::Debug for AmqpReceiver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AmqpReceiver")
            .field("handle", &self.link.handle())
            .finish_non_exhaustive()
    }
}

impl AmqpReceiver {
    /// Detaches (closes) the link.
    pub async fn close(&self) -> Result<(), ClientError> {
        self.client.detach(self.link).await
    }
}

impl futures::Stream for AmqpReceiver {
    type Item = AmqpDelivery;

    fn poll_next(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Option<AmqpDelivery>> {
        self.rx.poll_next_unpin(cx)
    }
}

/// A message received on an [`AmqpReceiver`]. Unless the peer sent it settled, settle it
/// with [`accept`](Self::accept), [`reject`](Self::reject), [`release`](Self::release) or
/// [`settle`](Self::settle).
pub struct AmqpDelivery {
    link: LinkId,
    delivery_id: u32,
    tag: Bytes,
    settled: bool,
    message_format: u32,
    payload: Bytes,
    handle: AmqpLink<PlainCmd>,
}

impl core::fmt::Debug for AmqpDelivery {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AmqpDelivery")
            .field("delivery_id", &self.delivery_id)
            .field("settled", &self.settled)
            .field("payload_len", &self.payload.len())
            .finish_non_exhaustive()
    }
}

impl AmqpDelivery {
    /// Decodes the message.
    pub fn message(&self) -> Result<Message, DecodeError> {
        hubwire_amqp::Decode::decode(self.payload.clone())
    }

    /// The encoded message (the concatenated payloads of its transfer frames).
    #[must_use]
    pub fn payload(&self) -> &Bytes {
        &self.payload
    }

    /// The sender's delivery tag.
    #[must_use]
    pub fn tag(&self) -> &Bytes {
        &self.tag
    }

    /// The session's delivery-id.
    #[must_use]
    pub fn delivery_id(&self) -> u32 {
        self.delivery_id
    }

    /// Whether the peer sent it settled (no outcome expected).
    #[must_use]
    pub fn is_settled(&self) -> bool {
        self.settled
    }

    /// `message-format` (0 for plain AMQP messages).
    #[must_use]
    pub fn message_format(&self) -> u32 {
        self.message_format
    }

    /// Settles with `state`; resolves once the disposition was handed to the engine. A
    /// delivery the peer sent settled needs nothing and resolves at once.
    pub async fn settle(&self, state: DeliveryState) -> Result<(), SettleError> {
        if self.settled {
            return Ok(());
        }
        let (reply, rx) = oneshot::channel();
        let cmd = PlainCmd::Settle {
            link: self.link,
            delivery_id: self.delivery_id,
            state,
            reply,
        };
        if !self.handle.request(cmd) {
            return Err(SettleError::Closed);
        }
        rx.await.unwrap_or(Err(SettleError::Closed))
    }

    /// Settles as `accepted`.
    pub async fn accept(&self) -> Result<(), SettleError> {
        self.settle(DeliveryState::Accepted).await
    }

    /// Settles as `released` (not processed; the peer may deliver it again).
    pub async fn release(&self) -> Result<(), SettleError> {
        self.settle(DeliveryState::Released).await
    }

    /// Settles as `rejected` with an error condition (e.g. `amqp:internal-error`) and an
    /// optional description.
    pub async fn reject(
        &self,
        condition: &str,
        description: Option<&str>,
    ) -> Result<(), SettleError> {
        let condition = Symbol::new(condition)
            .map(ErrorCondition::new)
            .unwrap_or(ErrorCondition::INTERNAL_ERROR);
        let error = WireError::new(condition, description.map(Str::new));
        self.settle(DeliveryState::rejected(error)).await
    }
}
