//! The IoT Hub device client: one API over MQTT (WebSocket) and HTTPS (`fetch` + poller).

use core::cell::RefCell;
use core::time::Duration;
use std::rc::Rc;

use futures::channel::mpsc;
use futures::StreamExt;
use hubwire_iothub::{DeviceId, Message, ModuleId};

use crate::error::{ClientError, OptionsError, SendError, SettleError};
use crate::events::StatusEvents;
use crate::options::{DeviceOptions, Protocol};
use crate::poll::{PollInfo, PollInterval};
use crate::status::{BatchReceipt, ConnectionStatus, SendReceipt, WireStats};
use crate::sys;

#[cfg(feature = "mqtt")]
use bytes::Bytes;
#[cfg(feature = "mqtt")]
use hubwire_iothub::{limits, mqtt, ConnectionString, TokenPolicy};
#[cfg(feature = "mqtt")]
use hubwire_mqtt::{
    Client, ClientConfig, Connect, MqttString, PacketId, Password, Publish, QoS, SubscribeFilter,
    TopicFilter, TopicName,
};

#[cfg(feature = "mqtt")]
use crate::driver::{self, Dial, DriverConfig, Hooks, Link};
#[cfg(feature = "mqtt")]
use crate::options::DEVICE_CLIENT_TYPE;

#[cfg(feature = "http")]
use crate::fetch::HttpCore;
#[cfg(feature = "http")]
use crate::https::Settle as HttpSettle;
#[cfg(feature = "http")]
use crate::poll::PollSchedule;
#[cfg(feature = "http")]
use crate::poller::{self, PollCmd, PollSender};

#[cfg(feature = "amqp")]
use crate::amqp_driver::{self, AmqpDriverConfig, AmqpLink};
#[cfg(feature = "amqp")]
use crate::amqp_hub::{self, HubCmd, HubConfig, HubHooks, NewDevice};

/// A cloud-to-device message as received, with its settlement handle.
///
/// On MQTT the hub counts a message as completed when the device acknowledges it (PUBACK),
/// which the client does on receipt; [`complete`](Self::complete) therefore succeeds without
/// further traffic, while [`abandon`](Self::abandon) and [`reject`](Self::reject) report
/// [`SettleError::NotSupported`] (they need AMQP or HTTPS).
///
/// On HTTPS the message is locked for the device when it is received (one minute on IoT
/// Hub): settle it with [`complete`](Self::complete), [`abandon`](Self::abandon) (delivered
/// again, delivery count + 1) or [`reject`](Self::reject) (dead-lettered). An unsettled
/// message comes back after its lock expires. A lock that expired or was already settled
/// fails with [`HttpError::LockLost`](crate::HttpError::LockLost).
///
/// On AMQP the three map to the dispositions `accepted`, `released` and `rejected` on the
/// link the message arrived on; the message carries the hub's lock token, delivery count and
/// sequence number in [`Message::received`](hubwire_iothub::Message). A message whose
/// connection has since been replaced can no longer be settled
/// ([`AmqpError::LockLost`](crate::AmqpError::LockLost)); the hub delivers it again.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    message: Message,
    lock_token: String,
    protocol: Protocol,
    /// HTTPS: the poller that settles by lock token.
    #[cfg(feature = "http")]
    settler: Option<PollSender>,
    /// AMQP: the connection and the device the message belongs to.
    #[cfg(feature = "amqp")]
    amqp: Option<(AmqpLink<HubCmd>, String)>,
}

impl ReceivedMessage {
    /// The message: body, system properties and application properties.
    #[must_use]
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// Takes the message.
    #[must_use]
    pub fn into_message(self) -> Message {
        self.message
    }

    /// Token for [`DeviceClient::complete`] and friends (client-local on MQTT).
    #[must_use]
    pub fn lock_token(&self) -> &str {
        &self.lock_token
    }

    /// Completes the message (MQTT: already done by the automatic PUBACK; HTTPS: `DELETE`).
    pub async fn complete(&self) -> Result<(), SettleError> {
        self.settle(Settle::Complete).await
    }

    /// Abandons the message so the hub redelivers it (HTTPS). Not available on MQTT.
    pub async fn abandon(&self) -> Result<(), SettleError> {
        self.settle(Settle::Abandon).await
    }

    /// Rejects (dead-letters) the message (HTTPS). Not available on MQTT.
    pub async fn reject(&self) -> Result<(), SettleError> {
        self.settle(Settle::Reject).await
    }

    /// An HTTPS delivery, settled through the poller.
    #[cfg(feature = "http")]
    pub(crate) fn http(message: Message, lock_token: String, settler: PollSender) -> Self {
        Self {
            message,
            lock_token,
            protocol: Protocol::Http,
            settler: Some(settler),
            #[cfg(feature = "amqp")]
            amqp: None,
        }
    }

    /// An AMQP delivery of `device_id`, settled on its connection.
    #[cfg(feature = "amqp")]
    pub(crate) fn amqp(
        message: Message,
        lock_token: String,
        link: AmqpLink<HubCmd>,
        device_id: String,
    ) -> Self {
        Self {
            message,
            lock_token,
            protocol: Protocol::Amqp,
            #[cfg(feature = "http")]
            settler: None,
            amqp: Some((link, device_id)),
        }
    }

    async fn settle(&self, op: Settle) -> Result<(), SettleError> {
        match self.protocol {
            #[cfg(feature = "http")]
            Protocol::Http => {
                let Some(settler) = &self.settler else {
                    return Err(SettleError::Closed);
                };
                let (reply, rx) = futures::channel::oneshot::channel();
                let cmd = PollCmd::Settle {
                    lock_token: self.lock_token.clone(),
                    op: op.http(),
                    reply,
                };
                if settler.unbounded_send(cmd).is_err() {
                    return Err(SettleError::Closed);
                }
                rx.await.unwrap_or(Err(SettleError::Closed))
            }
            #[cfg(feature = "amqp")]
            Protocol::Amqp => {
                let Some((link, device)) = &self.amqp else {
                    return Err(SettleError::Closed);
                };
                amqp_hub::settle(link, device, &self.lock_token, op).await
            }
            protocol => settle_locally(protocol, op),
        }
    }
}

/// How a received message is settled.
#[derive(Clone, Copy)]
pub(crate) enum Settle {
    Complete,
    Abandon,
    Reject,
}

impl Settle {
    fn name(self) -> &'static str {
        match self {
            Self::Complete => "complete",
            Self::Abandon => "abandon",
            Self::Reject => "reject",
        }
    }

    #[cfg(feature = "http")]
    fn http(self) -> HttpSettle {
        match self {
            Self::Complete => HttpSettle::Complete,
            Self::Abandon => HttpSettle::Abandon,
            Self::Reject => HttpSettle::Reject,
        }
    }
}

/// Settlement without traffic: MQTT completes by the PUBACK sent on receipt and cannot
/// abandon or reject.
fn settle_locally(protocol: Protocol, op: Settle) -> Result<(), SettleError> {
    match (protocol, op) {
        (Protocol::Mqtt, Settle::Complete) => Ok(()),
        (protocol, op) => Err(SettleError::NotSupported {
            operation: op.name(),
            protocol: protocol.display_name(),
        }),
    }
}

/// Credit of the AMQP C2D receiver link: how many messages the hub may push before the
/// application settles some (IoT Hub's queue holds at most 50 per device).
#[cfg(feature = "amqp")]
pub(crate) const AMQP_C2D_CREDIT: u32 = 50;

/// Prefix of the client-local lock tokens of MQTT messages.
#[cfg(feature = "mqtt")]
const MQTT_LOCK_PREFIX: &str = "mqtt:";

/// Stream of received cloud-to-device messages. Ends when the client stops.
#[derive(Debug)]
pub struct Messages(mpsc::UnboundedReceiver<ReceivedMessage>);

impl Messages {
    #[cfg(feature = "amqp")]
    pub(crate) fn new(rx: mpsc::UnboundedReceiver<ReceivedMessage>) -> Self {
        Self(rx)
    }
}

impl futures::Stream for Messages {
    type Item = ReceivedMessage;

    fn poll_next(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Option<ReceivedMessage>> {
        self.0.poll_next_unpin(cx)
    }
}

/// An IoT Hub device connection from a web page.
///
/// Cheap to clone; all clones share one connection. The connection is closed by
/// [`close`](Self::close) or when the last clone is dropped.
///
/// The protocol is an option ([`DeviceOptions::protocol`]); the API is the same.
///
/// MQTT behaviour:
/// * C2D: subscribes to `devices/{id}/messages/devicebound/#` on every connect; messages arrive
///   on [`messages`](Self::messages).
/// * Reconnect: after a lost connection, jittered exponential back-off
///   ([`ReconnectPolicy`](crate::ReconnectPolicy)); D2C messages awaiting PUBACK are re-sent
///   with DUP=1 and their `send_event` futures resolve on the new connection. A refusal of
///   the credentials (CONNACK 4/5) ends in [`ConnectionStatus::Failed`], never in a retry loop.
/// * SAS renewal: tokens generated from a key are replaced `renew_before` seconds ahead of
///   expiry by reconnecting with a fresh token (MQTT cannot re-authenticate in-band).
///
/// HTTPS behaviour ([`Protocol::Http`]):
/// * `connect` runs the first poll; it resolves when the hub answered it, and fails with the
///   first error as is (a wrong key gives [`HttpError::Unauthorized`](crate::HttpError), a
///   page the hub refuses for CORS [`HttpError::CorsOrNetwork`](crate::HttpError)).
///   [`ConnectionStatus::Connected`] then means "polling".
/// * C2D: polled every [`DeviceOptions::poll_interval`] (default 25 minutes); each cycle drains
///   the queue (GET again after every `200` until `204`). Failed polls are retried with the
///   jittered back-off of [`DeviceOptions::reconnect`] (status `Reconnecting`), never sooner
///   than a `Retry-After`. [`poll_now`](Self::poll_now), [`start_polling`](Self::start_polling),
///   [`stop_polling`](Self::stop_polling), [`next_poll_in`](Self::next_poll_in).
/// * D2C: one request per [`send_event`](Self::send_event) or
///   [`send_event_batch`](Self::send_event_batch); the future resolves on `204`.
/// * Settle by lock token: complete, abandon, reject.
/// * SAS: one token is reused until it is due for renewal, then a new one is issued for the
///   next request; a fixed token that expired fails the client with [`ClientError::Token`].
#[derive(Clone)]
pub struct DeviceClient {
    inner: Rc<Inner>,
}

struct Inner {
    device_id: DeviceId,
    // Read by MQTT topics only.
    #[cfg_attr(not(feature = "mqtt"), allow(dead_code))]
    module_id: Option<ModuleId>,
    protocol: Protocol,
    messages: RefCell<Option<mpsc::UnboundedReceiver<ReceivedMessage>>>,
    transport: Transport,
}

enum Transport {
    #[cfg(feature = "mqtt")]
    Mqtt(Link),
    #[cfg(feature = "http")]
    Http(HttpHandle),
    #[cfg(feature = "amqp")]
    Amqp(AmqpHandle),
}

/// The API side of an AMQP client.
#[cfg(feature = "amqp")]
struct AmqpHandle {
    link: AmqpLink<HubCmd>,
}

#[cfg(feature = "amqp")]
impl Drop for AmqpHandle {
    fn drop(&mut self) {
        // The last client handle is gone (received messages keep the request channel open).
        self.link.close_soon();
    }
}

/// The API side of an HTTPS client.
#[cfg(feature = "http")]
struct HttpHandle {
    core: Rc<HttpCore>,
    poller: PollSender,
    schedule: Rc<RefCell<PollSchedule>>,
}

#[cfg(feature = "http")]
impl Drop for HttpHandle {
    fn drop(&mut self) {
        // The last client handle is gone: stop polling (received messages keep the command
        // channel open, so its closing cannot be the signal).
        let _ = self.poller.unbounded_send(PollCmd::Close { reply: None });
    }
}

impl core::fmt::Debug for DeviceClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceClient")
            .field("device_id", &self.inner.device_id)
            .field("protocol", &self.inner.protocol)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "mqtt")]
struct MqttDeviceHooks {
    url: String,
    identity: ConnectionString,
    token_policy: TokenPolicy,
    client_id: MqttString,
    user_name: MqttString,
    keep_alive: u16,
    clean_session: bool,
    c2d_filter: TopicFilter,
    messages: mpsc::UnboundedSender<ReceivedMessage>,
    device_id: DeviceId,
    next_lock: u64,
}

#[cfg(feature = "mqtt")]
impl Hooks for MqttDeviceHooks {
    fn dial(&mut self, now_unix: u64) -> Result<Dial, ClientError> {
        let issued = self.identity.issue_token(&self.token_policy, now_unix)?;
        let mut connect = Connect::new(self.client_id.clone());
        connect.clean_session = self.clean_session;
        connect.keep_alive = self.keep_alive;
        connect.username = Some(self.user_name.clone());
        connect.password = Some(Password::new(issued.token.expose().as_bytes().to_vec()));
        Ok(Dial {
            url: self.url.clone(),
            connect,
            renew_at_unix: issued.renew_at,
        })
    }

    fn on_connected(
        &mut self,
        core: &mut Client,
        now: Duration,
    ) -> Result<Option<PacketId>, ClientError> {
        let filter = SubscribeFilter::new(self.c2d_filter.clone(), QoS::AtLeastOnce);
        Ok(Some(core.subscribe(now, vec![filter])?))
    }

    fn on_message(&mut self, publish: Publish, stats: &mut WireStats) {
        let parsed = mqtt::parse_c2d_topic(publish.topic.as_str(), publish.payload.to_vec());
        match parsed {
            Ok((device, message)) if device == self.device_id => {
                self.next_lock += 1;
                let received = ReceivedMessage {
                    message,
                    lock_token: format!("{MQTT_LOCK_PREFIX}{}", self.next_lock),
                    protocol: Protocol::Mqtt,
                    #[cfg(feature = "http")]
                    settler: None,
                    #[cfg(feature = "amqp")]
                    amqp: None,
                };
                // No receiver left means nobody reads messages; the PUBACK went out anyway.
                let _ = self.messages.unbounded_send(received);
            }
            _ => stats.messages_dropped += 1,
        }
    }
}

#[cfg(feature = "mqtt")]
fn mqtt_string(s: String) -> Result<MqttString, ClientError> {
    MqttString::try_from(s).map_err(|e| ClientError::Options(OptionsError::Invalid(e.to_string())))
}

impl DeviceClient {
    /// Connects with the protocol of `options`.
    ///
    /// MQTT: opens the WebSocket, sends CONNECT with a SAS token, subscribes to C2D; resolves
    /// once the hub accepted the connection and the subscription. HTTPS: runs the first poll
    /// and resolves when the hub answered it. The first failure is returned as is (automatic
    /// retries apply to clients that were established).
    pub async fn connect(options: DeviceOptions) -> Result<Self, ClientError> {
        if !options.protocol.is_enabled() {
            return Err(OptionsError::ProtocolNotEnabled {
                name: options.protocol.as_str(),
            }
            .into());
        }
        match options.protocol {
            #[cfg(feature = "mqtt")]
            Protocol::Mqtt => Self::connect_mqtt(options).await,
            #[cfg(feature = "http")]
            Protocol::Http => Self::connect_http(options).await,
            #[cfg(feature = "amqp")]
            Protocol::Amqp => Self::connect_amqp(options).await,
            #[allow(
                unreachable_patterns,
                reason = "reached when a protocol feature is off"
            )]
            other => Err(OptionsError::ProtocolNotEnabled {
                name: other.as_str(),
            }
            .into()),
        }
    }

    fn random(options: &DeviceOptions) -> Rc<dyn Fn() -> f64> {
        match options.random.clone() {
            Some(r) => Rc::new(move || r.next()),
            None => Rc::new(sys::random),
        }
    }

    #[cfg(feature = "mqtt")]
    async fn connect_mqtt(options: DeviceOptions) -> Result<Self, ClientError> {
        let url = options.websocket_url()?;
        let creds = &options.credentials;
        let device_id = creds.device_id().clone();
        let module_id = creds.module_id().cloned();
        let user_name = mqtt::user_name(
            creds.host_name(),
            &device_id,
            module_id.as_ref(),
            DEVICE_CLIENT_TYPE,
            options.model_id.as_deref(),
        );
        let c2d_filter = TopicFilter::try_from(mqtt::c2d_subscribe_filter(&device_id))
            .map_err(|e| ClientError::Options(OptionsError::Invalid(e.to_string())))?;
        let (tx, rx) = mpsc::unbounded();
        let hooks = MqttDeviceHooks {
            url,
            identity: creds.to_connection_string(),
            token_policy: options.token_policy,
            client_id: mqtt_string(mqtt::client_id(&device_id, module_id.as_ref()))?,
            user_name: mqtt_string(user_name)?,
            keep_alive: options.keep_alive_secs(),
            clean_session: options.clean_session,
            c2d_filter,
            messages: tx,
            device_id: device_id.clone(),
            next_lock: 0,
        };
        let core = Client::new(ClientConfig {
            max_inflight: options.max_inflight.max(1),
            connack_timeout: Some(options.connect_timeout),
            ..ClientConfig::default()
        });
        let config = DriverConfig {
            connect_timeout: options.connect_timeout,
            reconnect: options.reconnect,
            random: Self::random(&options),
        };
        let link = driver::start(core, hooks, config).await?;
        Ok(Self {
            inner: Rc::new(Inner {
                device_id,
                module_id,
                protocol: options.protocol,
                messages: RefCell::new(Some(rx)),
                transport: Transport::Mqtt(link),
            }),
        })
    }

    #[cfg(feature = "http")]
    async fn connect_http(options: DeviceOptions) -> Result<Self, ClientError> {
        let base = options.http_base_url()?;
        let creds = &options.credentials;
        if creds.module_id().is_some() {
            // The HTTPS device API addresses devices only (§6).
            return Err(OptionsError::Invalid(
                "module identities cannot use the HTTPS device API; use MQTT".into(),
            )
            .into());
        }
        let device_id = creds.device_id().clone();
        let shared = crate::events::Shared::new();
        let core = Rc::new(HttpCore::new(
            &base,
            &device_id,
            creds.to_connection_string(),
            options.token_policy,
            options.connect_timeout,
            Rc::clone(&shared),
        ));
        let schedule = Rc::new(RefCell::new(PollSchedule::new(
            options.poll_interval,
            options.reconnect,
        )));
        let (tx, rx) = mpsc::unbounded();
        let poller = poller::start(
            Rc::clone(&core),
            Rc::clone(&schedule),
            tx,
            Self::random(&options),
        )
        .await?;
        Ok(Self {
            inner: Rc::new(Inner {
                device_id,
                module_id: None,
                protocol: options.protocol,
                messages: RefCell::new(Some(rx)),
                transport: Transport::Http(HttpHandle {
                    core,
                    poller,
                    schedule,
                }),
            }),
        })
    }

    #[cfg(feature = "amqp")]
    async fn connect_amqp(options: DeviceOptions) -> Result<Self, ClientError> {
        let url = options.websocket_url()?;
        let creds = &options.credentials;
        if creds.module_id().is_some() {
            return Err(OptionsError::Invalid(
                "module identities are not supported over AMQP yet; use MQTT".into(),
            )
            .into());
        }
        let device_id = creds.device_id().clone();
        let (link, rx) = amqp_driver::channel();
        let (tx, messages) = mpsc::unbounded();
        let random = Self::random(&options);
        let mut hooks = HubHooks::new(
            HubConfig {
                url,
                host_name: creds.host_name().to_owned(),
                single: true,
                c2d_credit: AMQP_C2D_CREDIT,
                handshake_timeout: options.connect_timeout,
                reconnect: options.reconnect,
                random: Rc::clone(&random),
            },
            link.clone(),
        );
        hooks.add_initial(NewDevice {
            device_id: device_id.clone(),
            identity: creds.to_connection_string(),
            token_policy: options.token_policy,
            messages: tx,
            shared: None,
        });
        let config = AmqpDriverConfig {
            connect_timeout: options.connect_timeout,
            reconnect: options.reconnect,
            random,
        };
        let link = amqp_driver::start(hooks, config, link, rx).await?;
        Ok(Self {
            inner: Rc::new(Inner {
                device_id,
                module_id: None,
                protocol: options.protocol,
                messages: RefCell::new(Some(messages)),
                transport: Transport::Amqp(AmqpHandle { link }),
            }),
        })
    }

    /// The shared status of an HTTPS client, refusing requests once it has stopped.
    #[cfg(feature = "http")]
    fn http_open(h: &HttpHandle) -> Result<(), ClientError> {
        let shared = h.core.shared().borrow();
        if shared.status.is_terminal() {
            Err(shared.final_error())
        } else {
            Ok(())
        }
    }

    /// Sends a device-to-cloud message and resolves when the hub acknowledged it (MQTT:
    /// PUBACK; HTTPS: `204`). The size and message-id rules are checked first; a message over
    /// 256 KiB fails with [`SendError::TooLarge`] without touching the network. While
    /// reconnecting (MQTT), the message is queued and sent after the next CONNACK.
    pub async fn send_event(&self, message: Message) -> Result<SendReceipt, SendError> {
        match &self.inner.transport {
            #[cfg(feature = "mqtt")]
            Transport::Mqtt(link) => self.send_event_mqtt(link, message).await,
            #[cfg(feature = "http")]
            Transport::Http(h) => {
                Self::http_open(h).map_err(|e| match e {
                    ClientError::Closed => SendError::Closed,
                    other => SendError::Failed(Box::new(other)),
                })?;
                h.core.send_event(message).await
            }
            #[cfg(feature = "amqp")]
            Transport::Amqp(h) => {
                amqp_hub::send_event(&h.link, self.inner.device_id.as_str(), message).await
            }
        }
    }

    #[cfg(feature = "mqtt")]
    async fn send_event_mqtt(
        &self,
        link: &Link,
        message: Message,
    ) -> Result<SendReceipt, SendError> {
        limits::check_d2c(&message)?;
        let message_size = limits::message_size(&message);
        let topic = mqtt::d2c_topic(
            &self.inner.device_id,
            self.inner.module_id.as_ref(),
            &message,
        );
        let topic = TopicName::try_from(topic).map_err(|_| SendError::InvalidTopic)?;
        let message_id = message.message_id.clone();
        let payload = Bytes::from(message.body);
        let wire_bytes = Publish::at_least_once(topic.clone(), payload.clone(), PacketId::MIN)
            .encoded_len()
            .map_err(|_| SendError::InvalidTopic)?;
        let packet_id = link
            .publish(topic, payload, QoS::AtLeastOnce, false)
            .await?;
        Ok(SendReceipt {
            message_id,
            packet_id: packet_id.map_or(0, PacketId::get),
            wire_bytes,
            message_size,
        })
    }

    /// Sends several device-to-cloud messages in one HTTPS request (§6.3: a JSON batch of at
    /// most 500 messages and 256 KiB); resolves on `204`. Nothing is sent when a message
    /// breaks a limit. MQTT has no batches: [`SendError::NotSupported`].
    pub async fn send_event_batch(
        &self,
        messages: Vec<Message>,
    ) -> Result<BatchReceipt, SendError> {
        match &self.inner.transport {
            #[cfg(feature = "http")]
            Transport::Http(h) => {
                Self::http_open(h).map_err(|e| match e {
                    ClientError::Closed => SendError::Closed,
                    other => SendError::Failed(Box::new(other)),
                })?;
                h.core.send_batch(messages).await
            }
            #[allow(
                unreachable_patterns,
                reason = "reached when a protocol feature is off"
            )]
            _ => {
                drop(messages);
                Err(SendError::NotSupported {
                    operation: "send_event_batch",
                    protocol: self.inner.protocol.display_name(),
                })
            }
        }
    }

    /// The stream of received C2D messages. Returns it once; later calls return `None`.
    /// Messages that arrive before it is taken are buffered.
    #[must_use]
    pub fn messages(&self) -> Option<Messages> {
        self.inner.messages.borrow_mut().take().map(Messages)
    }

    /// Completes a received message by lock token. On MQTT this is implicit (PUBACK on
    /// receipt), so it only checks the token. On HTTPS it deletes the message from the queue.
    pub async fn complete(&self, lock_token: &str) -> Result<(), SettleError> {
        self.settle_token(lock_token, Settle::Complete).await
    }

    /// Abandons a received message: the hub delivers it again (HTTPS). Not available on MQTT.
    pub async fn abandon(&self, lock_token: &str) -> Result<(), SettleError> {
        self.settle_token(lock_token, Settle::Abandon).await
    }

    /// Rejects (dead-letters) a received message (HTTPS). Not available on MQTT.
    pub async fn reject(&self, lock_token: &str) -> Result<(), SettleError> {
        self.settle_token(lock_token, Settle::Reject).await
    }

    async fn settle_token(&self, lock_token: &str, op: Settle) -> Result<(), SettleError> {
        match &self.inner.transport {
            #[cfg(feature = "mqtt")]
            Transport::Mqtt(_) => {
                let ours = lock_token
                    .strip_prefix(MQTT_LOCK_PREFIX)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                if !ours {
                    return Err(SettleError::UnknownLockToken);
                }
                settle_locally(self.inner.protocol, op)
            }
            #[cfg(feature = "http")]
            Transport::Http(h) => {
                Self::http_open(h).map_err(|e| match e {
                    ClientError::Closed => SettleError::Closed,
                    other => SettleError::Failed(Box::new(other)),
                })?;
                h.core.settle(lock_token, op.http()).await
            }
            #[cfg(feature = "amqp")]
            Transport::Amqp(h) => {
                amqp_hub::settle(&h.link, self.inner.device_id.as_str(), lock_token, op).await
            }
        }
    }

    /// HTTPS: runs a polling cycle now (after the current one, if one is running), draining
    /// every waiting message, and resolves with the number of messages it received. Works
    /// while scheduled polling is stopped. MQTT: [`ClientError::NotSupported`] (messages are
    /// pushed).
    pub async fn poll_now(&self) -> Result<usize, ClientError> {
        match &self.inner.transport {
            #[cfg(feature = "http")]
            Transport::Http(h) => {
                Self::http_open(h)?;
                let (reply, rx) = futures::channel::oneshot::channel();
                if h.poller.unbounded_send(PollCmd::PollNow { reply }).is_err() {
                    return Err(h.core.shared().borrow().final_error());
                }
                match rx.await {
                    Ok(r) => r.map(|n| n as usize),
                    Err(_) => Err(h.core.shared().borrow().final_error()),
                }
            }
            #[allow(
                unreachable_patterns,
                reason = "reached when a protocol feature is off"
            )]
            _ => Err(self.not_supported("poll_now")),
        }
    }

    /// HTTPS: turns scheduled polling on; when it was off, polls at once. MQTT:
    /// [`ClientError::NotSupported`].
    pub fn start_polling(&self) -> Result<(), ClientError> {
        self.poll_command("start_polling", true)
    }

    /// HTTPS: turns scheduled polling off at once (a poll in progress finishes; sending,
    /// settling and [`poll_now`](Self::poll_now) keep working; the status stays `Connected`).
    /// MQTT: [`ClientError::NotSupported`].
    pub fn stop_polling(&self) -> Result<(), ClientError> {
        self.poll_command("stop_polling", false)
    }

    #[cfg_attr(not(feature = "http"), allow(unused_variables))]
    fn poll_command(&self, operation: &'static str, start: bool) -> Result<(), ClientError> {
        match &self.inner.transport {
            #[cfg(feature = "http")]
            Transport::Http(h) => {
                Self::http_open(h)?;
                // Applied here so getters show it at once; the task only re-arms its timer.
                {
                    let mut schedule = h.schedule.borrow_mut();
                    if start {
                        schedule.start(sys::now());
                    } else {
                        schedule.stop();
                    }
                }
                h.poller
                    .unbounded_send(PollCmd::Wake)
                    .map_err(|_| h.core.shared().borrow().final_error())
            }
            #[allow(
                unreachable_patterns,
                reason = "reached when a protocol feature is off"
            )]
            _ => Err(self.not_supported(operation)),
        }
    }

    fn not_supported(&self, operation: &'static str) -> ClientError {
        ClientError::NotSupported {
            operation,
            protocol: self.inner.protocol.display_name(),
        }
    }

    /// HTTPS: time until the next scheduled poll, for countdown displays; `None` while a poll
    /// is running, when polling is stopped, after the client stopped, and on MQTT.
    #[must_use]
    pub fn next_poll_in(&self) -> Option<Duration> {
        self.poll_info().and_then(|i| i.next_poll_in)
    }

    /// HTTPS: when the next poll is due, on the `performance.now()` clock (time since the page
    /// started). `None` as for [`next_poll_in`](Self::next_poll_in).
    #[must_use]
    pub fn next_poll_at(&self) -> Option<Duration> {
        match &self.inner.transport {
            #[cfg(feature = "http")]
            Transport::Http(h) => h.schedule.borrow().next_poll_at(),
            #[allow(
                unreachable_patterns,
                reason = "reached when a protocol feature is off"
            )]
            _ => None,
        }
    }

    /// HTTPS: the poller's state (interval, running, polling, next poll, failures). `None` on
    /// MQTT.
    #[must_use]
    pub fn poll_info(&self) -> Option<PollInfo> {
        match &self.inner.transport {
            #[cfg(feature = "http")]
            Transport::Http(h) => Some(h.schedule.borrow().info(sys::now())),
            #[allow(
                unreachable_patterns,
                reason = "reached when a protocol feature is off"
            )]
            _ => None,
        }
    }

    /// HTTPS: the configured poll interval. `None` on MQTT.
    #[must_use]
    pub fn poll_interval(&self) -> Option<PollInterval> {
        match &self.inner.transport {
            #[cfg(feature = "http")]
            Transport::Http(h) => Some(h.schedule.borrow().interval()),
            #[allow(
                unreachable_patterns,
                reason = "reached when a protocol feature is off"
            )]
            _ => None,
        }
    }

    /// Current connection status (HTTPS: `Connected` means polling works).
    #[must_use]
    pub fn status(&self) -> ConnectionStatus {
        match &self.inner.transport {
            #[cfg(feature = "mqtt")]
            Transport::Mqtt(link) => link.status(),
            #[cfg(feature = "http")]
            Transport::Http(h) => h.core.shared().borrow().status.clone(),
            #[cfg(feature = "amqp")]
            Transport::Amqp(h) => h.link.status(),
        }
    }

    /// Status changes, starting with the current status.
    #[must_use]
    pub fn status_events(&self) -> StatusEvents {
        match &self.inner.transport {
            #[cfg(feature = "mqtt")]
            Transport::Mqtt(link) => link.status_events(),
            #[cfg(feature = "http")]
            Transport::Http(h) => StatusEvents::new(h.core.shared().borrow_mut().listen()),
            #[cfg(feature = "amqp")]
            Transport::Amqp(h) => h.link.status_events(),
        }
    }

    /// Traffic counters over all connections (HTTPS: over all requests).
    #[must_use]
    pub fn stats(&self) -> WireStats {
        match &self.inner.transport {
            #[cfg(feature = "mqtt")]
            Transport::Mqtt(link) => link.stats(),
            #[cfg(feature = "http")]
            Transport::Http(h) => h.core.shared().borrow().stats,
            #[cfg(feature = "amqp")]
            Transport::Amqp(h) => h.link.stats(),
        }
    }

    /// The device id.
    #[must_use]
    pub fn device_id(&self) -> &DeviceId {
        &self.inner.device_id
    }

    /// The protocol in use.
    #[must_use]
    pub fn protocol(&self) -> Protocol {
        self.inner.protocol
    }

    /// Disconnects (MQTT DISCONNECT, then WebSocket close; HTTPS: stops the poller) and stops
    /// reconnecting. MQTT messages still waiting for acknowledgement fail with
    /// [`SendError::Closed`].
    pub async fn close(&self) {
        match &self.inner.transport {
            #[cfg(feature = "mqtt")]
            Transport::Mqtt(link) => link.close().await,
            #[cfg(feature = "http")]
            Transport::Http(h) => {
                let (reply, rx) = futures::channel::oneshot::channel();
                let cmd = PollCmd::Close { reply: Some(reply) };
                if h.poller.unbounded_send(cmd).is_ok() {
                    let _ = rx.await;
                }
            }
            #[cfg(feature = "amqp")]
            Transport::Amqp(h) => h.link.close().await,
        }
    }

    /// Waits until the client reaches a terminal status and returns it.
    pub async fn closed(&self) -> ConnectionStatus {
        let mut events = self.status_events();
        let mut last = self.status();
        while let Some(s) = events.next().await {
            last = s;
            if last.is_terminal() {
                break;
            }
        }
        last
    }
}
