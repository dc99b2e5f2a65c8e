//! The IoT Hub device client.

use core::cell::RefCell;
use core::time::Duration;
use std::rc::Rc;

use bytes::Bytes;
use futures::channel::mpsc;
use futures::StreamExt;
use hubwire_iothub::{limits, mqtt, ConnectionString, DeviceId, Message, ModuleId, TokenPolicy};
use hubwire_mqtt::{
    Client, ClientConfig, Connect, MqttString, PacketId, Password, Publish, QoS, SubscribeFilter,
    TopicFilter, TopicName,
};

use crate::driver::{self, Dial, DriverConfig, Hooks, Link, StatusEvents};
use crate::error::{ClientError, OptionsError, SendError, SettleError};
use crate::options::{DeviceOptions, Protocol, DEVICE_CLIENT_TYPE};
use crate::status::{ConnectionStatus, SendReceipt, WireStats};
use crate::sys;

/// A cloud-to-device message as received, with its settlement handle.
///
/// On MQTT the hub counts a message as completed when the device acknowledges it (PUBACK),
/// which the client does on receipt; [`complete`](Self::complete) therefore succeeds without
/// further traffic, while [`abandon`](Self::abandon) and [`reject`](Self::reject) report
/// [`SettleError::NotSupported`] (they need AMQP or HTTPS).
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    message: Message,
    lock_token: String,
    protocol: Protocol,
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

    /// Completes the message (MQTT: already done by the automatic PUBACK).
    pub async fn complete(&self) -> Result<(), SettleError> {
        settle(self.protocol, Settle::Complete)
    }

    /// Abandons the message so the hub redelivers it. Not available on MQTT.
    pub async fn abandon(&self) -> Result<(), SettleError> {
        settle(self.protocol, Settle::Abandon)
    }

    /// Rejects (dead-letters) the message. Not available on MQTT.
    pub async fn reject(&self) -> Result<(), SettleError> {
        settle(self.protocol, Settle::Reject)
    }
}

#[derive(Clone, Copy)]
enum Settle {
    Complete,
    Abandon,
    Reject,
}

fn settle(protocol: Protocol, op: Settle) -> Result<(), SettleError> {
    match (protocol, op) {
        (Protocol::Mqtt, Settle::Complete) => Ok(()),
        (Protocol::Mqtt, Settle::Abandon) => Err(SettleError::NotSupported {
            operation: "abandon",
            protocol: "MQTT",
        }),
        (Protocol::Mqtt, Settle::Reject) => Err(SettleError::NotSupported {
            operation: "reject",
            protocol: "MQTT",
        }),
    }
}

/// Prefix of the client-local lock tokens of MQTT messages.
const MQTT_LOCK_PREFIX: &str = "mqtt:";

/// Stream of received cloud-to-device messages. Ends when the client stops.
#[derive(Debug)]
pub struct Messages(mpsc::UnboundedReceiver<ReceivedMessage>);

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
/// Behaviour:
/// * C2D: subscribes to `devices/{id}/messages/devicebound/#` on every connect; messages arrive
///   on [`messages`](Self::messages).
/// * Reconnect: after a lost connection, jittered exponential back-off
///   ([`ReconnectPolicy`](crate::ReconnectPolicy)); D2C messages awaiting PUBACK are re-sent
///   with DUP=1 and their `send_event` futures resolve on the new connection. A refusal of
///   the credentials (CONNACK 4/5) ends in [`ConnectionStatus::Failed`], never in a retry loop.
/// * SAS renewal: tokens generated from a key are replaced `renew_before` seconds ahead of
///   expiry by reconnecting with a fresh token (MQTT cannot re-authenticate in-band).
#[derive(Clone)]
pub struct DeviceClient {
    link: Link,
    inner: Rc<Inner>,
}

struct Inner {
    device_id: DeviceId,
    module_id: Option<ModuleId>,
    protocol: Protocol,
    messages: RefCell<Option<mpsc::UnboundedReceiver<ReceivedMessage>>>,
}

impl core::fmt::Debug for DeviceClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DeviceClient")
            .field("device_id", &self.inner.device_id)
            .field("protocol", &self.inner.protocol)
            .field("status", &self.link.status())
            .finish_non_exhaustive()
    }
}

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
                };
                // No receiver left means nobody reads messages; the PUBACK went out anyway.
                let _ = self.messages.unbounded_send(received);
            }
            _ => stats.messages_dropped += 1,
        }
    }
}

fn mqtt_string(s: String) -> Result<MqttString, ClientError> {
    MqttString::try_from(s).map_err(|e| ClientError::Options(OptionsError::Invalid(e.to_string())))
}

impl DeviceClient {
    /// Connects: opens the WebSocket, sends CONNECT with a SAS token, subscribes to C2D.
    /// Resolves once the hub accepted the connection and the subscription; the first failure
    /// is returned as is (automatic reconnect applies to connections that were established).
    pub async fn connect(options: DeviceOptions) -> Result<Self, ClientError> {
        if !options.protocol.is_enabled() {
            return Err(OptionsError::ProtocolNotEnabled {
                name: options.protocol.as_str(),
            }
            .into());
        }
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
        let random: Rc<dyn Fn() -> f64> = match options.random.clone() {
            Some(r) => Rc::new(move || r.next()),
            None => Rc::new(sys::random),
        };
        let config = DriverConfig {
            connect_timeout: options.connect_timeout,
            reconnect: options.reconnect,
            random,
        };
        let link = driver::start(core, hooks, config).await?;
        Ok(Self {
            link,
            inner: Rc::new(Inner {
                device_id,
                module_id,
                protocol: options.protocol,
                messages: RefCell::new(Some(rx)),
            }),
        })
    }

    /// Sends a device-to-cloud message and resolves when the hub acknowledged it (MQTT:
    /// PUBACK). The size and message-id rules are checked first; a message over 256 KiB fails
    /// with [`SendError::TooLarge`] without touching the network. While reconnecting, the
    /// message is queued and sent after the next CONNACK.
    pub async fn send_event(&self, message: Message) -> Result<SendReceipt, SendError> {
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
        let packet_id = self
            .link
            .publish(topic, payload, QoS::AtLeastOnce, false)
            .await?;
        Ok(SendReceipt {
            message_id,
            packet_id: packet_id.map_or(0, PacketId::get),
            wire_bytes,
            message_size,
        })
    }

    /// The stream of received C2D messages. Returns it once; later calls return `None`.
    /// Messages that arrive before it is taken are buffered.
    #[must_use]
    pub fn messages(&self) -> Option<Messages> {
        self.inner.messages.borrow_mut().take().map(Messages)
    }

    /// Completes a received message by lock token. On MQTT this is implicit (PUBACK on
    /// receipt), so it only checks the token.
    pub async fn complete(&self, lock_token: &str) -> Result<(), SettleError> {
        self.settle_token(lock_token, Settle::Complete)
    }

    /// Abandons a received message. Not available on MQTT.
    pub async fn abandon(&self, lock_token: &str) -> Result<(), SettleError> {
        self.settle_token(lock_token, Settle::Abandon)
    }

    /// Rejects a received message. Not available on MQTT.
    pub async fn reject(&self, lock_token: &str) -> Result<(), SettleError> {
        self.settle_token(lock_token, Settle::Reject)
    }

    fn settle_token(&self, lock_token: &str, op: Settle) -> Result<(), SettleError> {
        match self.inner.protocol {
            Protocol::Mqtt => {
                let ours = lock_token
                    .strip_prefix(MQTT_LOCK_PREFIX)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
                if !ours {
                    return Err(SettleError::UnknownLockToken);
                }
            }
        }
        settle(self.inner.protocol, op)
    }

    /// Current connection status.
    #[must_use]
    pub fn status(&self) -> ConnectionStatus {
        self.link.status()
    }

    /// Status changes, starting with the current status.
    #[must_use]
    pub fn status_events(&self) -> StatusEvents {
        self.link.status_events()
    }

    /// Traffic counters over all connections.
    #[must_use]
    pub fn stats(&self) -> WireStats {
        self.link.stats()
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

    /// Disconnects (MQTT DISCONNECT, then WebSocket close) and stops reconnecting. Messages
    /// still waiting for acknowledgement fail with [`SendError::Closed`].
    pub async fn close(&self) {
        self.link.close().await;
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
