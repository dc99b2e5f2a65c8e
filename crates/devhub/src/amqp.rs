//! AMQP 1.0 device connections (over WebSocket, subprotocol `AMQPWSB10`), driving one
//! [`hubwire_amqp::engine::Connection`] per connection with IoT Hub's rules on top:
//!
//! * SASL: no SASL, `ANONYMOUS` or `MSSBCBS` (then CBS), or `PLAIN` with user
//!   `{deviceId}@sas.{hubName}` and a SAS token as password (one identity for the connection).
//! * CBS (`$cbs` links): each put-token authorises one device on this connection, so one
//!   connection may carry several devices (field gateway). A device's links attach only after
//!   its token was accepted; when its token expires its links are detached, nothing else.
//! * D2C sender links (`/devices/{d}/messages/events`) and C2D receiver links
//!   (`/devices/{d}/messages/devicebound`) on top of the shared event log and C2D queue model.

mod meter;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hubwire_amqp::engine::{
    CloseReason, Connection, ConnectionConfig, Delivery, Event, LinkId, LinkOptions,
    PlainCredentials, PutToken, ServerSasl, SessionId, CBS_ADDRESS,
};
use hubwire_amqp::{
    AmqpError, DeliveryState, Encode, ErrorCondition, Message as AmqpMessage, Role, SaslCode,
    SenderSettleMode, Str,
};
use hubwire_iothub::amqp as iot;
use hubwire_iothub::{limits, DeviceId, ReceivedInfo};
use tokio::sync::Notify;

use crate::c2d::C2dError;
use crate::hub::{lock, ConnectionGuard, Shared};
use crate::mqtt::{sleep_for, sleep_until};
use crate::ws::{WsInput, WsStream};

use meter::TransferMeter;

/// Protocol name shown in logs and the service API.
pub(crate) const PROTOCOL: &str = "amqp";

/// Credit granted on links the device sends on (D2C and CBS requests), topped up at half.
const LINK_CREDIT: u32 = 100;

/// How a device on this connection was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthVia {
    /// SASL PLAIN: the connection's single identity; its expiry closes the connection.
    Plain,
    /// A CBS put-token: its expiry detaches the device's links only.
    Cbs,
}

impl AuthVia {
    fn as_str(self) -> &'static str {
        match self {
            Self::Plain => "sasl-plain",
            Self::Cbs => "cbs",
        }
    }
}

/// A device authorised on this connection.
struct DeviceAuth {
    device_id: DeviceId,
    /// The SAS token's expiry (Unix seconds).
    expiry: u64,
    via: AuthVia,
    guard: ConnectionGuard,
}

/// What a link attached by the device is for.
enum LinkRole {
    /// `$cbs`, device → hub: put-token requests.
    CbsRequests,
    /// `$cbs`, hub → device: put-token responses; whether they are sent settled.
    CbsResponses { settled: bool },
    /// Device telemetry.
    D2c { device: String },
    /// Cloud-to-device messages, with the deliveries awaiting an outcome by delivery tag.
    C2d {
        device: String,
        inflight: HashMap<Bytes, InflightC2d>,
    },
}

impl LinkRole {
    fn device(&self) -> Option<&str> {
        match self {
            Self::D2c { device } | Self::C2d { device, .. } => Some(device),
            Self::CbsRequests | Self::CbsResponses { .. } => None,
        }
    }
}

/// A C2D message sent on a link and not settled yet.
struct InflightC2d {
    sequence_number: u64,
    message_id: String,
    lock_token: String,
}

struct Conn {
    hub: Shared,
    engine: Connection,
    peer: Option<SocketAddr>,
    meter: TransferMeter,
    /// Our session → the peer's channel for it (for the meter).
    peer_channels: HashMap<SessionId, u16>,
    links: HashMap<LinkId, LinkRole>,
    /// Authorised devices by id.
    devices: BTreeMap<String, DeviceAuth>,
    /// Why the hub ended the connection, for the log line.
    reason: Option<String>,
    closed: Option<CloseReason>,
}

/// Serves one AMQP-over-WebSocket connection until it ends.
pub(crate) async fn serve(hub: Shared, mut ws: WsStream, peer: Option<SocketAddr>) {
    let now = hub.clock.now();
    let config = ConnectionConfig::iot_hub(container_id(&hub));
    let meter = TransferMeter::new(config.max_frame_size);
    let engine = Connection::server(now, config, ServerSasl::iot_hub());
    let mut c = Conn {
        hub,
        engine,
        peer,
        meter,
        peer_channels: HashMap::new(),
        links: HashMap::new(),
        devices: BTreeMap::new(),
        reason: None,
        closed: None,
    };
    let mut out = Vec::new();
    let mut transport_open = true;
    tracing::debug!(?peer, "AMQP WebSocket opened");
    loop {
        while let Some(ev) = c.engine.poll_event() {
            c.handle_event(ev);
        }
        c.deliver_c2d();
        // Commands issued while delivering may have produced events (e.g. a detach answered).
        while let Some(ev) = c.engine.poll_event() {
            c.handle_event(ev);
        }
        out.clear();
        let _ = c.engine.poll_transmit(&mut out);
        if !out.is_empty() && transport_open {
            if let Err(e) = ws.send(std::mem::take(&mut out)).await {
                tracing::debug!(?peer, error = %e, "WebSocket send failed");
                transport_open = false;
                c.engine.handle_transport_closed(c.hub.clock.now());
                c.reason
                    .get_or_insert_with(|| "WebSocket send failed".to_owned());
                continue;
            }
        }
        if c.engine.is_closed() {
            break;
        }

        let timeout = c.engine.poll_timeout().map(|t| c.hub.clock.instant(t));
        let signals: Vec<(String, Arc<Notify>, bool)> = c
            .devices
            .iter()
            .flat_map(|(d, a)| {
                [
                    (d.clone(), a.guard.kick.clone(), true),
                    (d.clone(), a.guard.wake.clone(), false),
                ]
            })
            .collect();
        let next_expiry = c
            .devices
            .values()
            .map(|a| a.expiry)
            .min()
            .map(|e| Duration::from_secs(e.saturating_sub(c.hub.clock.unix_secs())));
        tokio::select! {
            input = ws.recv() => {
                let now = c.hub.clock.now();
                match input {
                    WsInput::Data(bytes) => {
                        c.meter.feed(&bytes);
                        if let Err(e) = c.engine.handle_bytes(now, &bytes) {
                            c.reason.get_or_insert_with(|| format!("protocol violation: {e}"));
                        }
                    }
                    WsInput::Closed => {
                        transport_open = false;
                        c.reason.get_or_insert_with(|| "connection closed by the device".to_owned());
                        c.engine.handle_transport_closed(now);
                    }
                    WsInput::Invalid(why) => {
                        // A CLOSE is attempted; if the WebSocket is broken the next read fails
                        // again and ends the connection for good.
                        let why = format!("WebSocket error: {why}");
                        if c.reason.is_some() {
                            c.engine.handle_transport_closed(now);
                        } else {
                            c.close(ErrorCondition::FRAMING_ERROR, &why);
                        }
                    }
                }
            }
            () = sleep_until(timeout) => {
                c.engine.handle_timeout(c.hub.clock.now());
            }
            signal = any_signal(signals) => {
                if let Some((device, true)) = signal {
                    c.revoke(
                        &device,
                        ErrorCondition::DETACH_FORCED,
                        "closed by the hub: a newer connection for this device, or the device was deleted",
                    );
                }
            }
            () = sleep_for(next_expiry) => {
                c.expire_tokens();
            }
        }
    }
    c.finish();
    if transport_open {
        ws.close().await;
    }
}

/// `DeviceGateway_{32 hex}` as the real hub names its container (§5.3).
fn container_id(hub: &Shared) -> String {
    let mut b = [0u8; 16];
    if crate::registry::fill_random(&mut b).is_err() {
        // Only a label: a clock-derived value is as good.
        b[..8].copy_from_slice(&(hub.clock.now().as_nanos() as u64).to_le_bytes());
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("DeviceGateway_{hex}")
}

fn amqp_error(condition: ErrorCondition, description: impl Into<String>) -> AmqpError {
    AmqpError::new(condition, Some(Str::from(description.into())))
}

impl Conn {
    fn now(&self) -> Duration {
        self.hub.clock.now()
    }

    /// Closes the connection with an error, remembering why.
    fn close(&mut self, condition: ErrorCondition, reason: &str) {
        self.reason.get_or_insert_with(|| reason.to_owned());
        let now = self.now();
        if self
            .engine
            .close(now, Some(amqp_error(condition, reason)))
            .is_err()
        {
            self.engine.handle_transport_closed(now);
        }
    }

    fn handle_event(&mut self, ev: Event) {
        match ev {
            Event::SaslPlain(creds) => self.on_sasl_plain(&creds),
            Event::SaslCompleted { mechanism } => {
                tracing::debug!(peer = ?self.peer, %mechanism, "AMQP SASL completed");
            }
            Event::Opened { remote } => {
                tracing::debug!(
                    peer = ?self.peer,
                    container_id = remote.container_id.as_str(),
                    "AMQP connection opened"
                );
            }
            Event::SessionBegun {
                session, by_peer, ..
            } => {
                if by_peer {
                    if let Some(ch) = self.meter.take_begun() {
                        self.peer_channels.insert(session, ch);
                    }
                }
            }
            Event::AttachRequested { link, attach } => self.on_attach(link, &attach),
            Event::Delivery(d) => self.on_delivery(d),
            Event::Outcome {
                link, tag, state, ..
            } => self.on_outcome(link, &tag, state),
            Event::LinkDetached {
                link, error, lost, ..
            } => self.on_detached(link, error.as_ref(), &lost),
            Event::SessionEnded { session, .. } => {
                self.peer_channels.remove(&session);
            }
            Event::Closed(reason) => self.closed = Some(reason),
            other => tracing::trace!(?other, "AMQP event"),
        }
    }

    // ------------------------------------------------------------------ authentication

    fn on_sasl_plain(&mut self, creds: &PlainCredentials) {
        let now = self.now();
        match authenticate_plain(&self.hub, creds) {
            Ok((device_id, expiry)) => {
                if self.engine.sasl_accept(now).is_ok() {
                    self.authorise(device_id, expiry, AuthVia::Plain);
                }
            }
            Err(why) => {
                tracing::warn!(
                    peer = ?self.peer,
                    user = creds.username.as_str(),
                    reason = %why,
                    "AMQP authentication failed: SASL PLAIN refused"
                );
                self.reason = Some(format!("authentication failed: {why}"));
                let _ = self.engine.sasl_reject(now, SaslCode::Auth);
            }
        }
    }

    /// Records a device as authorised on this connection (first time: registers the live
    /// connection, closing an older one of that device; later: a renewed token).
    fn authorise(&mut self, device_id: DeviceId, expiry: u64, via: AuthVia) {
        let id = device_id.as_str().to_owned();
        if let Some(auth) = self.devices.get_mut(&id) {
            auth.expiry = expiry;
            tracing::info!(device = id, via = via.as_str(), expiry, "SAS token renewed");
            return;
        }
        let guard = self.hub.register_connection(&id, PROTOCOL);
        tracing::info!(
            device = id,
            protocol = PROTOCOL,
            peer = ?self.peer,
            auth = via.as_str(),
            "device connected"
        );
        self.devices.insert(
            id,
            DeviceAuth {
                device_id,
                expiry,
                via,
                guard,
            },
        );
    }

    /// Takes a device's authorisation away: its links are detached with `condition`; a SASL
    /// PLAIN identity closes the whole connection.
    fn revoke(&mut self, device: &str, condition: ErrorCondition, why: &str) {
        let Some(auth) = self.devices.remove(device) else {
            return;
        };
        if auth.via == AuthVia::Plain {
            // The connection's only identity: the whole connection ends.
            self.devices.insert(device.to_owned(), auth);
            let condition = if condition == ErrorCondition::DETACH_FORCED {
                ErrorCondition::CONNECTION_FORCED
            } else {
                condition
            };
            return self.close(condition, why);
        }
        let now = self.now();
        let links: Vec<LinkId> = self
            .links
            .iter()
            .filter(|(_, r)| r.device() == Some(device))
            .map(|(l, _)| *l)
            .collect();
        for link in links {
            let _ = self
                .engine
                .detach(now, link, true, Some(amqp_error(condition.clone(), why)));
        }
        tracing::info!(
            device,
            protocol = PROTOCOL,
            reason = why,
            "device disconnected"
        );
        drop(auth.guard);
        self.hub.wake(device);
    }

    fn expire_tokens(&mut self) {
        let now = self.hub.clock.unix_secs();
        let expired: Vec<String> = self
            .devices
            .iter()
            .filter(|(_, a)| a.expiry <= now)
            .map(|(d, _)| d.clone())
            .collect();
        for device in expired {
            self.revoke(
                &device,
                ErrorCondition::UNAUTHORIZED_ACCESS,
                "SAS token expired",
            );
        }
    }

    /// Answers a put-token request: status code and description (never the token).
    fn put_token(&mut self, request: &PutToken) -> (i32, String) {
        if !request.is_known_token_type() {
            return (
                400,
                format!("unsupported token type '{}'", request.token_type),
            );
        }
        let audience = match iot::parse_audience(request.audience.as_str()) {
            Ok(a) => a,
            Err(e) => return (400, format!("audience: {e}")),
        };
        if audience.module_id.is_some() {
            return (
                401,
                "module identities are not supported by this devhub version".to_owned(),
            );
        }
        if let Some(host) = &audience.host {
            if !host.eq_ignore_ascii_case(&self.hub.host_name) {
                return (
                    401,
                    format!(
                        "audience host '{host}' is not this hub ('{}')",
                        self.hub.host_name
                    ),
                );
            }
        }
        let Some(device_id) = audience.device_id else {
            return (
                401,
                "hub-wide audiences (shared access policies) are not supported by this devhub version"
                    .to_owned(),
            );
        };
        match crate::auth::verify_device_token(&self.hub, &device_id, request.token.as_str()) {
            Ok(expiry) => {
                self.authorise(device_id, expiry, AuthVia::Cbs);
                (200, "OK".to_owned())
            }
            Err(e) => {
                tracing::warn!(
                    peer = ?self.peer,
                    device = device_id.as_str(),
                    reason = %e,
                    "AMQP put-token refused: 401"
                );
                (401, e.to_string())
            }
        }
    }

    // ------------------------------------------------------------------ links

    fn on_attach(&mut self, link: LinkId, attach: &hubwire_amqp::Attach) {
        let now = self.now();
        // The device's role: a sender names the target, a receiver the source.
        let device_sends = attach.role == Role::Sender;
        let address = if device_sends {
            attach.target.as_ref().and_then(|t| t.address.as_ref())
        } else {
            attach.source.as_ref().and_then(|s| s.address.as_ref())
        };
        let address = address.map_or("", Str::as_str).to_owned();
        match self.classify(&address, device_sends) {
            Ok(role) => {
                let mut options = LinkOptions {
                    credit: LINK_CREDIT,
                    ..LinkOptions::default()
                };
                if matches!(role, LinkRole::C2d { .. }) {
                    // Every C2D message waits for the device's outcome.
                    options.snd_settle_mode = Some(SenderSettleMode::Unsettled);
                }
                let role = match role {
                    LinkRole::CbsResponses { .. } => LinkRole::CbsResponses {
                        settled: attach.snd_settle_mode != SenderSettleMode::Unsettled,
                    },
                    r => r,
                };
                if let Err(e) = self.engine.accept_attach(now, link, options) {
                    tracing::warn!(error = %e, address, "AMQP attach could not be accepted");
                    return;
                }
                if let Some(device) = role.device() {
                    tracing::info!(
                        device,
                        link = attach.name.as_str(),
                        address,
                        "AMQP link attached"
                    );
                }
                self.links.insert(link, role);
            }
            Err(error) => {
                tracing::warn!(
                    peer = ?self.peer,
                    link = attach.name.as_str(),
                    address,
                    condition = %error.condition,
                    reason = error.description.as_ref().map_or("", Str::as_str),
                    "AMQP attach refused"
                );
                let _ = self.engine.refuse_attach(now, link, Some(error));
            }
        }
    }

    /// What a link to `address` is, or why it may not attach.
    fn classify(&self, address: &str, device_sends: bool) -> Result<LinkRole, AmqpError> {
        if address == CBS_ADDRESS {
            return Ok(if device_sends {
                LinkRole::CbsRequests
            } else {
                LinkRole::CbsResponses { settled: true }
            });
        }
        let parsed = iot::parse_link_address(address).map_err(|e| {
            amqp_error(
                ErrorCondition::NOT_FOUND,
                format!("unknown address '{address}': {e}"),
            )
        })?;
        if parsed.module_id.is_some() {
            return Err(amqp_error(
                ErrorCondition::NOT_IMPLEMENTED,
                "module identities are not supported by this devhub version",
            ));
        }
        let device = parsed.device_id.as_str().to_owned();
        let wanted_role = match parsed.kind {
            iot::LinkKind::D2c => true,
            iot::LinkKind::C2d => false,
            _ => {
                return Err(amqp_error(
                    ErrorCondition::NOT_IMPLEMENTED,
                    format!(
                    "'{address}': twin and direct methods are not supported by this devhub version"
                ),
                ))
            }
        };
        if wanted_role != device_sends {
            return Err(amqp_error(
                ErrorCondition::NOT_ALLOWED,
                format!(
                    "'{address}' takes a {} link from the device",
                    if wanted_role { "sender" } else { "receiver" }
                ),
            ));
        }
        if !self.devices.contains_key(&device) {
            return Err(amqp_error(
                ErrorCondition::UNAUTHORIZED_ACCESS,
                format!("device '{device}' is not authorised on this connection: put a token on $cbs first"),
            ));
        }
        Ok(if device_sends {
            LinkRole::D2c { device }
        } else {
            LinkRole::C2d {
                device,
                inflight: HashMap::new(),
            }
        })
    }

    fn on_delivery(&mut self, d: Delivery) {
        let kind = match self.links.get(&d.link) {
            Some(LinkRole::CbsRequests) => None,
            Some(LinkRole::D2c { device }) => Some(device.clone()),
            _ => return,
        };
        let wire_bytes = self
            .peer_channels
            .get(&d.link.session())
            .and_then(|ch| self.meter.take(*ch, d.delivery_id))
            .unwrap_or(d.payload.len());
        let outcome = match kind {
            None => self.on_cbs_request(&d),
            Some(device) => self.on_d2c(&device, &d, wire_bytes),
        };
        if !d.settled {
            let now = self.now();
            if let Err(e) = self
                .engine
                .settle(now, d.link, d.delivery_id, Some(outcome))
            {
                tracing::debug!(error = %e, "AMQP settle failed");
            }
        }
    }

    fn on_cbs_request(&mut self, d: &Delivery) -> DeliveryState {
        let request = match d
            .message()
            .map_err(|e| e.to_string())
            .and_then(|m| PutToken::from_message(&m).map_err(|e| e.to_string()))
        {
            Ok(r) => r,
            Err(why) => {
                tracing::warn!(peer = ?self.peer, reason = %why, "malformed CBS request");
                return DeliveryState::rejected(amqp_error(ErrorCondition::DECODE_ERROR, why));
            }
        };
        let (status, description) = self.put_token(&request);
        tracing::debug!(
            peer = ?self.peer,
            audience = request.audience.as_str(),
            status,
            "CBS put-token answered"
        );
        let response = request.respond(status, Str::from(description));
        self.send_cbs_response(d.link.session(), &response);
        DeliveryState::Accepted
    }

    /// Sends a put-token response on the device's `$cbs` receiver link (the one in the
    /// request's session if there are several).
    fn send_cbs_response(&mut self, session: SessionId, response: &AmqpMessage) {
        let mut best = None;
        for (link, role) in &self.links {
            if let LinkRole::CbsResponses { settled } = role {
                if best.is_none() || link.session() == session {
                    best = Some((*link, *settled));
                }
            }
        }
        let Some((link, settled)) = best else {
            tracing::warn!(
                peer = ?self.peer,
                "put-token response dropped: no $cbs receiver link"
            );
            return;
        };
        let now = self.now();
        if let Err(e) = self.engine.send(now, link, response, settled) {
            tracing::warn!(error = %e, "put-token response could not be sent");
        }
    }

    fn on_d2c(&mut self, device: &str, d: &Delivery, wire_bytes: usize) -> DeliveryState {
        if !self.devices.contains_key(device) {
            return DeliveryState::rejected(amqp_error(
                ErrorCondition::UNAUTHORIZED_ACCESS,
                format!("device '{device}' is no longer authorised on this connection"),
            ));
        }
        let message = match d
            .message()
            .map_err(|e| e.to_string())
            .and_then(|m| iot::d2c_message_from_amqp(&m).map_err(|e| e.to_string()))
        {
            Ok(m) => m,
            Err(why) => {
                tracing::warn!(device, reason = %why, "D2C message rejected: cannot be decoded");
                return DeliveryState::rejected(amqp_error(ErrorCondition::DECODE_ERROR, why));
            }
        };
        if let Err(e) = limits::check_d2c(&message) {
            tracing::warn!(device, error = %e, "D2C message rejected");
            let condition = match e {
                limits::LimitError::TooLarge { .. } => ErrorCondition::MESSAGE_SIZE_EXCEEDED,
                _ => ErrorCondition::ARGUMENT_ERROR,
            };
            return DeliveryState::rejected(amqp_error(condition, e.to_string()));
        }
        let event = crate::hub::d2c_event(&self.hub, device, PROTOCOL, &message, wire_bytes);
        let event = self.hub.store_event(event);
        tracing::info!(
            device,
            seq = event.seq,
            body_bytes = message.body.len(),
            wire_bytes,
            settled = d.settled,
            "D2C received"
        );
        DeliveryState::Accepted
    }

    // ------------------------------------------------------------------ C2D

    /// Sends visible C2D messages on each authorised C2D link while it has credit.
    fn deliver_c2d(&mut self) {
        if !self.engine.is_open() {
            return;
        }
        let links: Vec<(LinkId, String)> = self
            .links
            .iter()
            .filter_map(|(l, r)| match r {
                LinkRole::C2d { device, .. } if self.devices.contains_key(device) => {
                    Some((*l, device.clone()))
                }
                _ => None,
            })
            .collect();
        for (link, device) in links {
            while self.engine.is_attached(link) && self.engine.link_credit(link).unwrap_or(0) > 0 {
                if !self.send_one_c2d(link, &device) {
                    break;
                }
            }
        }
    }

    /// Locks and sends one message; whether one was sent (or re-locked).
    fn send_one_c2d(&mut self, link: LinkId, device: &str) -> bool {
        let now = self.now();
        let delivery = match lock(&self.hub.c2d).receive(device, now) {
            Ok(Some(d)) => d,
            Ok(None) | Err(_) => return false,
        };
        self.hub.c2d_timer.notify_one();
        // A message still unsettled here whose lock expired is locked again under the new
        // token instead of being sent twice: the device's outcome for the first transfer
        // settles it.
        for role in self.links.values_mut() {
            if let LinkRole::C2d {
                device: held_for,
                inflight,
            } = role
            {
                if held_for != device {
                    // Sequence numbers are per device queue.
                    continue;
                }
                if let Some(held) = inflight
                    .values_mut()
                    .find(|i| i.sequence_number == delivery.sequence_number)
                {
                    held.lock_token = delivery.lock_token;
                    return true;
                }
            }
        }
        // The delivery tag is the lock token's GUID bytes (§5.6); tokens come from the queue
        // model in GUID form, so the fallback (its text) is never used in practice.
        let tag = iot::delivery_tag_from_lock_token(&delivery.lock_token).map_or_else(
            || Bytes::copy_from_slice(delivery.lock_token.as_bytes()),
            |t| Bytes::copy_from_slice(&t),
        );
        let mut msg = delivery.message;
        msg.received = Some(ReceivedInfo::new(
            delivery.delivery_count,
            delivery.sequence_number,
            Some(self.hub.clock.utc(delivery.enqueued_at)),
            Some(delivery.lock_token.clone()),
        ));
        let sent = self
            .devices
            .get(device)
            .ok_or_else(|| "device no longer authorised".to_owned())
            .and_then(|a| iot::c2d_message_to_amqp(&a.device_id, &msg).map_err(|e| e.to_string()))
            .and_then(|m| m.to_bytes().map_err(|e| e.to_string()))
            .and_then(|payload| {
                self.engine
                    .send_bytes(now, link, payload, false, Some(tag.clone()))
                    .map_err(|e| e.to_string())
            });
        match sent {
            Ok(_) => {
                tracing::info!(
                    device,
                    message_id = delivery.message_id,
                    sequence_number = delivery.sequence_number,
                    delivery_count = delivery.delivery_count,
                    "C2D sent"
                );
                if let Some(LinkRole::C2d { inflight, .. }) = self.links.get_mut(&link) {
                    inflight.insert(
                        tag,
                        InflightC2d {
                            sequence_number: delivery.sequence_number,
                            message_id: delivery.message_id,
                            lock_token: delivery.lock_token,
                        },
                    );
                }
                true
            }
            Err(e) => {
                tracing::warn!(device, error = %e, "C2D send failed");
                let _ = lock(&self.hub.c2d).release(device, &delivery.lock_token, now);
                false
            }
        }
    }

    /// Applies the device's outcome for a C2D delivery (§5.7).
    fn on_outcome(&mut self, link: LinkId, tag: &Bytes, state: Option<DeliveryState>) {
        let now = self.now();
        let Some(LinkRole::C2d { device, inflight }) = self.links.get_mut(&link) else {
            return;
        };
        let Some(held) = inflight.remove(tag) else {
            return;
        };
        let device = device.clone();
        let (action, result) = {
            let mut c2d = lock(&self.hub.c2d);
            match &state {
                Some(DeliveryState::Accepted) => {
                    ("completed", c2d.complete(&device, &held.lock_token, now))
                }
                Some(DeliveryState::Rejected(_)) => {
                    ("rejected", c2d.reject(&device, &held.lock_token, now))
                }
                Some(DeliveryState::Released | DeliveryState::Modified(_)) => {
                    ("abandoned", c2d.abandon(&device, &held.lock_token, now))
                }
                // Settled without an outcome: back to the queue, delivery count unchanged.
                Some(DeliveryState::Received(_)) | None => {
                    ("released", c2d.release(&device, &held.lock_token, now))
                }
            }
        };
        self.hub.c2d_timer.notify_one();
        match result {
            Ok(()) => tracing::info!(
                device,
                message_id = held.message_id,
                sequence_number = held.sequence_number,
                "C2D {action}"
            ),
            // The device settled already (receiver settle mode first), so there is nothing to
            // answer: the message is visible again and will be delivered anew.
            Err(C2dError::LockLost) => tracing::warn!(
                device,
                message_id = held.message_id,
                sequence_number = held.sequence_number,
                "C2D outcome ignored: the message lock expired (412002); it will be redelivered"
            ),
            Err(e) => tracing::warn!(device, error = %e, "C2D outcome failed"),
        }
        if action != "completed" {
            self.hub.wake(&device);
        }
    }

    fn on_detached(&mut self, link: LinkId, error: Option<&AmqpError>, lost: &[Bytes]) {
        let Some(role) = self.links.remove(&link) else {
            return;
        };
        let device = role.device().map(str::to_owned);
        if let LinkRole::C2d { device, inflight } = role {
            // Unsettled messages (lost tags, and any other still held) go back to the queue.
            if !inflight.is_empty() {
                let now = self.now();
                let mut c2d = lock(&self.hub.c2d);
                for held in inflight.values() {
                    let _ = c2d.release(&device, &held.lock_token, now);
                }
                drop(c2d);
                self.hub.c2d_timer.notify_one();
                tracing::info!(
                    device,
                    returned = inflight.len(),
                    lost = lost.len(),
                    "unsettled C2D messages returned to the queue"
                );
                self.hub.wake(&device);
            }
        }
        if let Some(device) = device {
            tracing::debug!(
                device,
                error = error.map(|e| e.condition.to_string()),
                "AMQP link detached"
            );
        }
    }

    /// Returns unsettled deliveries to the queue and logs the disconnects.
    fn finish(mut self) {
        let links: Vec<LinkId> = self.links.keys().copied().collect();
        for link in links {
            self.on_detached(link, None, &[]);
        }
        let reason = match (&self.reason, &self.closed) {
            (Some(r), _) => r.clone(),
            (None, Some(CloseReason::Remote(None))) => "CLOSE from the device".to_owned(),
            (None, Some(CloseReason::IdleTimeout)) => "idle timeout".to_owned(),
            (None, Some(r)) => format!("{r:?}"),
            (None, None) => "connection closed".to_owned(),
        };
        if self.devices.is_empty() {
            tracing::debug!(peer = ?self.peer, reason = %reason, "AMQP connection ended");
        }
        for (device, auth) in std::mem::take(&mut self.devices) {
            tracing::info!(device, protocol = PROTOCOL, reason = %reason, "device disconnected");
            drop(auth.guard);
            self.hub.wake(&device);
        }
    }
}

/// Checks SASL PLAIN credentials (`{deviceId}@sas.{hubName}`, SAS token); returns the device
/// and the token's expiry, or why not. The reason never contains the token or a key.
fn authenticate_plain(hub: &Shared, creds: &PlainCredentials) -> Result<(DeviceId, u64), String> {
    let user = iot::parse_plain_user_name(creds.username.as_str())
        .map_err(|e| format!("user name: {e}"))?;
    let (device_id, user_hub) = match user {
        iot::PlainUser::Device {
            device_id,
            hub_name,
        } => (device_id, hub_name),
        _ => {
            return Err(
                "shared access policy user names ({policy}@sas.root.{hub}) are not supported by this devhub version"
                    .to_owned(),
            )
        }
    };
    let hub_name = iot::hub_name(&hub.host_name);
    if !user_hub.eq_ignore_ascii_case(hub_name) && !user_hub.eq_ignore_ascii_case(&hub.host_name) {
        return Err(format!(
            "user name hub '{user_hub}' is not this hub ('{hub_name}')"
        ));
    }
    let expiry = crate::auth::verify_device_token(hub, &device_id, creds.password.as_str())
        .map_err(|e| e.to_string())?;
    Ok((device_id, expiry))
}

/// Waits for any device's kick (`true`) or wake (`false`) signal.
async fn any_signal(signals: Vec<(String, Arc<Notify>, bool)>) -> Option<(String, bool)> {
    if signals.is_empty() {
        return std::future::pending().await;
    }
    let waits = signals.into_iter().map(|(device, n, kick)| {
        Box::pin(async move {
            n.notified().await;
            (device, kick)
        })
    });
    let (got, _, _) = futures_util::future::select_all(waits).await;
    Some(got)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::HubState;
    use crate::registry::Registry;
    use hubwire_iothub::{SasKey, SasToken};

    fn hub() -> (Shared, std::path::PathBuf) {
        let mut b = [0u8; 8];
        let _ = crate::registry::fill_random(&mut b);
        let dir = std::env::temp_dir().join(format!("devhub-amqp-auth-{}", u64::from_le_bytes(b)));
        let reg = Registry::open(&dir, 2).unwrap_or_else(|e| panic!("{e}"));
        (
            Arc::new(HubState::new(
                "localhost".to_owned(),
                reg,
                crate::c2d::C2dConfig::default(),
                1,
            )),
            dir,
        )
    }

    fn key(hub: &Shared, device: &str) -> String {
        lock(&hub.registry)
            .get(device)
            .map(|d| d.primary_key.clone())
            .unwrap_or_default()
    }

    fn token(key: &str, device: &str, expiry: u64) -> String {
        let key = SasKey::from_base64(key).unwrap_or_else(|e| panic!("{e}"));
        SasToken::build(&key, &format!("localhost/devices/{device}"), expiry, None)
            .expose()
            .to_owned()
    }

    fn creds(user: &str, password: &str) -> PlainCredentials {
        PlainCredentials {
            authzid: None,
            username: Str::from(user.to_owned()),
            password: Str::from(password.to_owned()),
        }
    }

    #[test]
    fn plain_accepts_a_good_token_and_reasons_never_leak_secrets() {
        let (hub, dir) = hub();
        let now = hub.clock.unix_secs();
        let k1 = key(&hub, "demo-device-1");
        let k2 = key(&hub, "demo-device-2");
        let good = token(&k1, "demo-device-1", now + 60);
        for user in ["demo-device-1@sas.localhost", "demo-device-1@sas.LOCALHOST"] {
            let ok = authenticate_plain(&hub, &creds(user, &good));
            assert_eq!(
                ok.map(|(d, exp)| (d.to_string(), exp)),
                Ok(("demo-device-1".to_owned(), now + 60)),
                "{user}"
            );
        }
        let cases = [
            (
                "demo-device-1@sas.localhost",
                token(&k2, "demo-device-1", now + 60),
                "signature",
            ),
            (
                "demo-device-1@sas.localhost",
                token(&k1, "demo-device-1", now - 5),
                "expired",
            ),
            (
                "demo-device-1@sas.localhost",
                token(&k2, "demo-device-2", now + 60),
                "",
            ),
            ("demo-device-1@sas.otherhub", good.clone(), "not this hub"),
            ("demo-device-1", good.clone(), "user name"),
            ("policy@sas.root.localhost", good.clone(), "policy"),
            ("ghost@sas.localhost", good.clone(), "unknown device"),
        ];
        for (user, password, expect) in cases {
            let why = match authenticate_plain(&hub, &creds(user, &password)) {
                Err(why) => why,
                Ok(_) => panic!("{user}: accepted"),
            };
            assert!(why.contains(expect), "{user}: {why}");
            let sig = password
                .split('&')
                .find_map(|p| p.strip_prefix("sig="))
                .unwrap_or("?");
            for secret in [password.as_str(), sig, k1.as_str(), k2.as_str()] {
                assert!(
                    !why.contains(secret),
                    "{user}: reason leaks a secret: {why}"
                );
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
