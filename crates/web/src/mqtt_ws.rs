//! A generic MQTT 3.1.1 client over WebSocket, without IoT Hub conventions (usable against
//! any broker with a WebSocket listener, e.g. Mosquitto).

use core::cell::RefCell;
use core::time::Duration;
use std::rc::Rc;

use bytes::Bytes;
use futures::channel::mpsc;
use futures::StreamExt;
use hubwire_mqtt::{
    Client, ClientConfig, Connect, PacketId, Publish, QoS, SubscribeFilter, SubscribeReturnCode,
    TopicFilter, TopicName,
};

use crate::driver::{self, Dial, DriverConfig, Hooks, Link, StatusEvents};
use crate::error::{ClientError, SendError};
use crate::options::DEFAULT_CONNECT_TIMEOUT;
use crate::reconnect::ReconnectPolicy;
use crate::status::{ConnectionStatus, WireStats};

/// Settings of [`MqttWsClient::connect_with`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MqttWsConfig {
    /// Settings of the protocol core (in-flight window, timeouts, packet size limit).
    pub client: ClientConfig,
    /// Limit for the WebSocket handshake.
    pub connect_timeout: Duration,
}

impl Default for MqttWsConfig {
    fn default() -> Self {
        Self {
            client: ClientConfig::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
        }
    }
}

/// Incoming PUBLISH packets of an [`MqttWsClient`]. Ends when the client stops.
#[derive(Debug)]
pub struct Incoming(mpsc::UnboundedReceiver<Publish>);

impl futures::Stream for Incoming {
    type Item = Publish;

    fn poll_next(
        mut self: core::pin::Pin<&mut Self>,
        cx: &mut core::task::Context<'_>,
    ) -> core::task::Poll<Option<Publish>> {
        self.0.poll_next_unpin(cx)
    }
}

struct PlainHooks {
    url: String,
    connect: Connect,
    messages: mpsc::UnboundedSender<Publish>,
}

impl Hooks for PlainHooks {
    fn dial(&mut self, _now_unix: u64) -> Result<Dial, ClientError> {
        Ok(Dial {
            url: self.url.clone(),
            connect: self.connect.clone(),
            renew_at_unix: None,
        })
    }

    fn on_connected(
        &mut self,
        _core: &mut Client,
        _now: Duration,
    ) -> Result<Option<PacketId>, ClientError> {
        Ok(None)
    }

    fn on_message(&mut self, publish: Publish, _stats: &mut WireStats) {
        let _ = self.messages.unbounded_send(publish);
    }
}

/// One MQTT connection over a WebSocket (subprotocol `mqtt`), driven by a `spawn_local` task
/// around the sans-IO [`hubwire_mqtt::Client`]. No reconnect: when the connection ends the
/// client is done (status `Failed` or `Disconnected`).
///
/// Cheap to clone; all clones share the connection, which closes when the last clone is
/// dropped or [`close`](Self::close) is called.
#[derive(Clone)]
pub struct MqttWsClient {
    link: Link,
    incoming: Rc<RefCell<Option<mpsc::UnboundedReceiver<Publish>>>>,
}

impl core::fmt::Debug for MqttWsClient {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("MqttWsClient")
            .field("status", &self.link.status())
            .finish_non_exhaustive()
    }
}

impl MqttWsClient {
    /// Opens `url` (e.g. `ws://127.0.0.1:9001`) and sends `connect`; resolves on CONNACK
    /// accepted, fails with [`ClientError::Refused`] on a refusal.
    pub async fn connect(url: &str, connect: Connect) -> Result<Self, ClientError> {
        Self::connect_with(url, connect, MqttWsConfig::default()).await
    }

    /// [`connect`](Self::connect) with explicit settings.
    pub async fn connect_with(
        url: &str,
        connect: Connect,
        config: MqttWsConfig,
    ) -> Result<Self, ClientError> {
        let (tx, rx) = mpsc::unbounded();
        let hooks = PlainHooks {
            url: url.into(),
            connect,
            messages: tx,
        };
        let mut client = config.client;
        if client.connack_timeout.is_none() {
            client.connack_timeout = Some(config.connect_timeout);
        }
        let driver_config = DriverConfig {
            connect_timeout: config.connect_timeout,
            reconnect: ReconnectPolicy::disabled(),
            random: Rc::new(|| 0.0),
        };
        let link = driver::start(Client::new(client), hooks, driver_config).await?;
        Ok(Self {
            link,
            incoming: Rc::new(RefCell::new(Some(rx))),
        })
    }

    /// Publishes. QoS 0 resolves once the bytes went to the socket (`None`); QoS 1 resolves on
    /// PUBACK with the packet id. QoS 2 is not supported.
    pub async fn publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<Option<PacketId>, SendError> {
        let topic = TopicName::new(topic).map_err(|_| SendError::InvalidTopic)?;
        self.link.publish(topic, payload.into(), qos, retain).await
    }

    /// Subscribes; resolves with the SUBACK return code of each filter, in order.
    pub async fn subscribe(
        &self,
        filters: Vec<SubscribeFilter>,
    ) -> Result<Vec<(TopicFilter, SubscribeReturnCode)>, ClientError> {
        self.link.subscribe(filters).await
    }

    /// Subscribes to one filter; resolves with its SUBACK return code.
    pub async fn subscribe_one(
        &self,
        filter: TopicFilter,
        qos: QoS,
    ) -> Result<SubscribeReturnCode, ClientError> {
        let results = self
            .link
            .subscribe(vec![SubscribeFilter::new(filter, qos)])
            .await?;
        results
            .into_iter()
            .next()
            .map(|(_, rc)| rc)
            .ok_or(ClientError::SubscriptionRefused)
    }

    /// Unsubscribes; resolves on UNSUBACK.
    pub async fn unsubscribe(&self, filters: Vec<TopicFilter>) -> Result<(), ClientError> {
        self.link.unsubscribe(filters).await
    }

    /// Incoming messages. Returns the stream once; later calls return `None`. Messages that
    /// arrive before it is taken are buffered.
    #[must_use]
    pub fn messages(&self) -> Option<Incoming> {
        self.incoming.borrow_mut().take().map(Incoming)
    }

    /// Current status.
    #[must_use]
    pub fn status(&self) -> ConnectionStatus {
        self.link.status()
    }

    /// Status changes, starting with the current status.
    #[must_use]
    pub fn status_events(&self) -> StatusEvents {
        self.link.status_events()
    }

    /// Bytes and packets on the wire.
    #[must_use]
    pub fn stats(&self) -> WireStats {
        self.link.stats()
    }

    /// Sends DISCONNECT and closes the socket.
    pub async fn close(&self) {
        self.link.close().await;
    }
}
