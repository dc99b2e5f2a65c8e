//! The field gateway: many IoT Hub devices over one AMQP/WebSocket connection
//! (iothub-protocols §5.10).

use core::cell::RefCell;
use core::time::Duration;
use std::rc::Rc;

use futures::channel::{mpsc, oneshot};
use futures::StreamExt;
use hubwire_iothub::{DeviceId, Message};

use crate::amqp_driver::{self, AmqpDriverConfig, AmqpLink};
use crate::amqp_hub::{self, HubCmd, HubConfig, HubHooks, NewDevice};
use crate::device::{Messages, Settle, AMQP_C2D_CREDIT};
use crate::error::{ClientError, OptionsError, SendError, SettleError};
use crate::events::{Shared, StatusEvents};
use crate::options::{websocket_url, DeviceOptions, RandomSource, DEFAULT_CONNECT_TIMEOUT};
use crate::reconnect::ReconnectPolicy;
use crate::status::{ConnectionStatus, SendReceipt, WireStats};
use crate::sys;
use crate::vec_map::VecMap;

/// Settings of a [`FieldGateway`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GatewayOptions {
    /// The hub all devices belong to (`HostName` of their connection strings).
    pub host_name: String,
    /// WebSocket endpoint override, as [`DeviceOptions::endpoint`] (default
    /// `wss://{host_name}/$iothub/websocket`).
    pub endpoint: Option<String>,
    /// Reconnect behaviour of the connection, and of a single device whose links were lost.
    pub reconnect: ReconnectPolicy,
    /// Limit for the WebSocket handshake and the AMQP header/SASL/OPEN exchange.
    pub connect_timeout: Duration,
    /// Jitter source; `None` uses `Math.random`.
    pub random: Option<RandomSource>,
    /// Credit of each device's C2D link.
    pub c2d_credit: u32,
}

impl GatewayOptions {
    /// Defaults for a hub.
    #[must_use]
    pub fn new(host_name: impl Into<String>) -> Self {
        Self {
            host_name: host_name.into(),
            endpoint: None,
            reconnect: ReconnectPolicy::default(),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            random: None,
            c2d_credit: AMQP_C2D_CREDIT,
        }
    }

    /// Sets the endpoint override.
    #[must_use]
    pub fn with_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets the reconnect policy.
    #[must_use]
    pub fn with_reconnect(mut self, policy: ReconnectPolicy) -> Self {
        self.reconnect = policy;
        self
    }

    /// Sets the jitter source.
    #[must_use]
    pub fn with_random(mut self, random: RandomSource) -> Self {
        self.random = Some(random);
        self
    }
}

/// A field gateway: one AMQP 1.0 connection over WebSocket that carries many devices, each
/// with its own credentials, CBS put-token, token renewal and D2C/C2D links.
///
/// * [`connect`](Self::connect) opens the connection (SASL `ANONYMOUS`, `$cbs` links); it
///   resolves when the hub answered and fails with the first error as is.
/// * [`add_device`](Self::add_device) puts a device on the connection while it runs and
///   resolves when its token was accepted and its links attached. A device the hub refuses
///   (for example a wrong key: CBS status 401) fails alone — the connection and the other
///   devices carry on. A device whose links are lost is retried alone with back-off.
/// * [`remove_device`](Self::remove_device) detaches a device's links.
/// * All devices must belong to the gateway's hub ([`OptionsError::HostMismatch`]).
/// * After a lost connection every device is authenticated and attached again; D2C messages
///   waiting for an outcome are re-sent (at least once).
///
/// Cheap to clone; the connection closes with [`close`](Self::close) or when the last clone
/// is dropped ([`GatewayDevice`] handles do not keep it open).
#[derive(Clone)]
pub struct FieldGateway {
    inner: Rc<GatewayInner>,
}

struct GatewayInner {
    link: AmqpLink<HubCmd>,
    host_name: String,
    devices: RefCell<VecMap<String, ()>>,
}

impl Drop for GatewayInner {
    fn drop(&mut self) {
        self.link.close_soon();
    }
}

impl core::fmt::Debug for FieldGateway {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FieldGateway")
            .field("host_name", &self.inner.host_name)
            .field("devices", &self.inner.devices.borrow().len())
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl FieldGateway {
    /// Opens the gateway's connection.
    pub async fn connect(options: GatewayOptions) -> Result<Self, ClientError> {
        if options.host_name.trim().is_empty() {
            return Err(OptionsError::MissingField { field: "hostName" }.into());
        }
        let url = websocket_url(options.endpoint.as_deref(), &options.host_name)?;
        let random: Rc<dyn Fn() -> f64> = match options.random.clone() {
            Some(r) => Rc::new(move || r.next()),
            None => Rc::new(sys::random),
        };
        let (link, rx) = amqp_driver::channel();
        let hooks = HubHooks::new(
            HubConfig {
                url,
                host_name: options.host_name.clone(),
                single: false,
                c2d_credit: options.c2d_credit,
                handshake_timeout: options.connect_timeout,
                reconnect: options.reconnect,
                random: Rc::clone(&random),
            },
            link.clone(),
        );
        let config = AmqpDriverConfig {
            connect_timeout: options.connect_timeout,
            reconnect: options.reconnect,
            random,
        };
        let link = amqp_driver::start(hooks, config, link, rx).await?;
        Ok(Self {
            inner: Rc::new(GatewayInner {
                link,
                host_name: options.host_name,
                devices: RefCell::new(VecMap::new()),
            }),
        })
    }

    /// Puts a device on the connection (its credentials and token policy come from
    /// `options`; protocol and endpoint are the gateway's). Resolves when the hub accepted
    /// its token and attached its links; fails with that device's error (a wrong key gives
    /// [`AmqpError::PutToken`](crate::AmqpError) with status 401, code `Unauthorized`).
    pub async fn add_device(&self, options: DeviceOptions) -> Result<GatewayDevice, ClientError> {
        let creds = &options.credentials;
        if !creds
            .host_name()
            .eq_ignore_ascii_case(&self.inner.host_name)
        {
            return Err(OptionsError::HostMismatch {
                expected: self.inner.host_name.clone(),
                found: creds.host_name().to_owned(),
            }
            .into());
        }
        if creds.module_id().is_some() {
            return Err(OptionsError::Invalid(
                "module identities are not supported over AMQP yet".into(),
            )
            .into());
        }
        let device_id = creds.device_id().clone();
        let key = device_id.as_str().to_owned();
        let shared = Shared::new();
        let (tx, messages) = mpsc::unbounded();
        let (reply, rx) = oneshot::channel();
        let cmd = HubCmd::Add {
            device: NewDevice {
                device_id: device_id.clone(),
                identity: creds.to_connection_string(),
                token_policy: options.token_policy,
                messages: tx,
                shared: Some(Rc::clone(&shared)),
            },
            reply,
        };
        let link = &self.inner.link;
        if !link.request(cmd) {
            return Err(link.final_error());
        }
        let added = rx.await.unwrap_or_else(|_| Err(link.final_error()));
        match added {
            Ok(()) => {
                self.inner.devices.borrow_mut().insert(key, ());
                Ok(GatewayDevice {
                    inner: Rc::new(DeviceInner {
                        device_id,
                        link: link.clone(),
                        shared,
                        messages: RefCell::new(Some(messages)),
                    }),
                })
            }
            Err(e) => {
                // The device is known to the connection until removed; a failed add leaves
                // nothing behind.
                if !matches!(
                    e,
                    ClientError::Options(OptionsError::DuplicateDevice { .. })
                ) {
                    let _ = self.remove(&key).await;
                }
                Err(e)
            }
        }
    }

    async fn remove(&self, device_id: &str) -> Result<(), ClientError> {
        let (reply, rx) = oneshot::channel();
        let link = &self.inner.link;
        if !link.request(HubCmd::Remove {
            device_id: device_id.to_owned(),
            reply,
        }) {
            return Err(link.final_error());
        }
        rx.await.unwrap_or_else(|_| Err(link.final_error()))
    }

    /// Takes a device off the connection: its links are detached, its waiting sends fail
    /// with [`SendError::Closed`], its status becomes `Disconnected` and its message stream
    /// ends.
    pub async fn remove_device(&self, device_id: &str) -> Result<(), ClientError> {
        let r = self.remove(device_id).await;
        if r.is_ok() {
            self.inner.devices.borrow_mut().remove(device_id);
        }
        r
    }

    /// Ids of the devices added (and not removed) through this gateway.
    #[must_use]
    pub fn devices(&self) -> Vec<String> {
        self.inner.devices.borrow().keys().cloned().collect()
    }

    /// The hub host name.
    #[must_use]
    pub fn host_name(&self) -> &str {
        &self.inner.host_name
    }

    /// Status of the connection.
    #[must_use]
    pub fn status(&self) -> ConnectionStatus {
        self.inner.link.status()
    }

    /// Changes of the connection status, starting with the current one.
    #[must_use]
    pub fn status_events(&self) -> StatusEvents {
        self.inner.link.status_events()
    }

    /// Traffic of the whole connection (bytes, frames, messages of all devices).
    #[must_use]
    pub fn stats(&self) -> WireStats {
        self.inner.link.stats()
    }

    /// Closes the connection (every device becomes `Disconnected`).
    pub async fn close(&self) {
        self.inner.link.close().await;
    }

    /// Waits until the connection reaches a terminal status and returns it.
    pub async fn closed(&self) -> ConnectionStatus {
        closed(self.status_events(), self.status()).await
    }
}

async fn closed(mut events: StatusEvents, mut last: ConnectionStatus) -> ConnectionStatus {
    while let Some(s) = events.next().await {
        last = s;
        if last.is_terminal() {
            break;
        }
    }
    last
}

/// One device of a [`FieldGateway`]. Cheap to clone. Dropping it does not remove the device
/// (use [`FieldGateway::remove_device`]).
#[derive(Clone)]
pub struct GatewayDevice {
    inner: Rc<DeviceInner>,
}

struct DeviceInner {
    device_id: DeviceId,
    link: AmqpLink<HubCmd>,
    shared: Rc<RefCell<Shared>>,
    messages: RefCell<Option<mpsc::UnboundedReceiver<crate::device::ReceivedMessage>>>,
}

impl core::fmt::Debug for GatewayDevice {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("GatewayDevice")
            .field("device_id", &self.inner.device_id)
            .field("status", &self.status())
            .finish_non_exhaustive()
    }
}

impl GatewayDevice {
    /// The device id.
    #[must_use]
    pub fn device_id(&self) -> &DeviceId {
        &self.inner.device_id
    }

    fn stopped(&self) -> Option<ClientError> {
        let sh = self.inner.shared.borrow();
        sh.status.is_terminal().then(|| sh.final_error())
    }

    /// Sends a device-to-cloud message; resolves when the hub accepted it (outcome
    /// `accepted`; `rejected` gives [`SendError::Amqp`]). Queued while the device or the
    /// connection is being re-established.
    pub async fn send_event(&self, message: Message) -> Result<SendReceipt, SendError> {
        if let Some(e) = self.stopped() {
            return Err(match e {
                ClientError::Closed => SendError::Closed,
                other => SendError::Failed(Box::new(other)),
            });
        }
        amqp_hub::send_event(&self.inner.link, self.inner.device_id.as_str(), message).await
    }

    /// The device's C2D messages. Returned once; later calls return `None`.
    #[must_use]
    pub fn messages(&self) -> Option<Messages> {
        self.inner.messages.borrow_mut().take().map(Messages::new)
    }

    /// Completes a received message (disposition `accepted`).
    pub async fn complete(&self, lock_token: &str) -> Result<(), SettleError> {
        self.settle(lock_token, Settle::Complete).await
    }

    /// Abandons a received message (`released`: the hub delivers it again).
    pub async fn abandon(&self, lock_token: &str) -> Result<(), SettleError> {
        self.settle(lock_token, Settle::Abandon).await
    }

    /// Rejects a received message (`rejected`: dead-lettered).
    pub async fn reject(&self, lock_token: &str) -> Result<(), SettleError> {
        self.settle(lock_token, Settle::Reject).await
    }

    async fn settle(&self, lock_token: &str, op: Settle) -> Result<(), SettleError> {
        amqp_hub::settle(
            &self.inner.link,
            self.inner.device_id.as_str(),
            lock_token,
            op,
        )
        .await
    }

    /// The device's status: `Connecting` (token and links on their way), `Connected`,
    /// `Reconnecting` (the connection or the device's links are being re-established),
    /// `Failed` (e.g. its token was refused) or `Disconnected` (removed, or the gateway
    /// closed).
    #[must_use]
    pub fn status(&self) -> ConnectionStatus {
        self.inner.shared.borrow().status.clone()
    }

    /// Changes of the device's status, starting with the current one.
    #[must_use]
    pub fn status_events(&self) -> StatusEvents {
        StatusEvents::new(self.inner.shared.borrow_mut().listen())
    }

    /// Waits until the device reaches a terminal status and returns it.
    pub async fn closed(&self) -> ConnectionStatus {
        closed(self.status_events(), self.status()).await
    }

    /// The device's counters: messages sent and received, their encoded bytes, link
    /// attachments (`connects`), retries and token renewals. Wire bytes and frames are the
    /// gateway's ([`FieldGateway::stats`]).
    #[must_use]
    pub fn stats(&self) -> WireStats {
        self.inner.shared.borrow().stats
    }
}
