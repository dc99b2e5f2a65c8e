//! MQTT 3.1.1 device connections (over WebSocket), driving one
//! [`hubwire_mqtt::ServerSession`] per connection with IoT Hub's rules on top:
//! SAS authentication, one connection per device, the telemetry topic only, the C2D (and no-op
//! twin/method) subscriptions only, at most 5 subscriptions, C2D delivery from the queue model.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use hubwire_iothub::limits::{self, MAX_MQTT_SUBSCRIPTIONS};
use hubwire_iothub::mqtt as topics;
use hubwire_iothub::DeviceId;
use hubwire_mqtt::{
    CloseReason, CommandError, Connect, ConnectReturnCode, LastWill, Publish, QoS, ServerConfig,
    ServerEvent, ServerSession, SessionState, Subscribe, SubscribeReturnCode, TopicName,
    Unsubscribe,
};
use tokio::sync::Notify;

use crate::hub::{lock, ConnectionGuard, Shared, StoredSession};
use crate::ws::{WsInput, WsStream};

/// Protocol name shown in logs and the service API.
pub(crate) const PROTOCOL: &str = "mqtt";

/// Twin and method filters: granted so that clients which subscribe eagerly can connect, but
/// nothing is ever published on them yet.
const NO_OP_FILTERS: [&str; 3] = [
    "$iothub/twin/res/#",
    "$iothub/twin/PATCH/properties/desired/#",
    "$iothub/methods/POST/#",
];

/// State of an authenticated connection.
struct Live {
    device_id: DeviceId,
    guard: ConnectionGuard,
    clean_session: bool,
    c2d_filter: String,
    filters: BTreeSet<String>,
    /// Outgoing C2D PUBLISH packet id → the message and its current lock.
    inflight: HashMap<u16, InflightC2d>,
    /// The SAS token's expiry (Unix seconds): the hub severs the connection then.
    token_expiry: u64,
    will: Option<LastWill>,
}

/// A C2D message published on this connection and not yet acknowledged.
struct InflightC2d {
    sequence_number: u64,
    lock_token: String,
}

impl Live {
    fn c2d_subscribed(&self) -> bool {
        self.filters.contains(&self.c2d_filter)
    }

    fn store_session(&self, hub: &Shared) {
        if !self.clean_session {
            lock(&hub.sessions).insert(
                self.device_id.as_str().to_owned(),
                StoredSession {
                    filters: self.filters.iter().cloned().collect(),
                },
            );
        }
    }
}

struct Conn {
    hub: Shared,
    session: ServerSession,
    live: Option<Live>,
    peer: Option<SocketAddr>,
    /// Why the hub ended the connection, for the disconnect log line.
    reason: Option<String>,
    /// The session's own close reason.
    closed: Option<CloseReason>,
}

/// Serves one MQTT-over-WebSocket connection until it ends.
pub(crate) async fn serve(hub: Shared, mut ws: WsStream, peer: Option<SocketAddr>) {
    let session = ServerSession::new(ServerConfig::default(), hub.clock.now());
    let mut c = Conn {
        hub,
        session,
        live: None,
        peer,
        reason: None,
        closed: None,
    };
    let mut out = Vec::new();
    let mut transport_open = true;
    tracing::debug!(?peer, "MQTT WebSocket opened");
    loop {
        while let Some(ev) = c.session.poll_event() {
            c.handle_event(ev);
        }
        c.deliver_c2d();
        out.clear();
        let _ = c.session.poll_transmit(&mut out);
        if !out.is_empty() && transport_open {
            if let Err(e) = ws.send(std::mem::take(&mut out)).await {
                tracing::debug!(?peer, error = %e, "WebSocket send failed");
                transport_open = false;
                c.close("WebSocket send failed");
            }
        }
        if c.session.state() == SessionState::Closed {
            // Events emitted by the close (e.g. `Closed`) are drained for the log line.
            while let Some(ev) = c.session.poll_event() {
                c.handle_event(ev);
            }
            break;
        }

        let timeout = c.session.poll_timeout().map(|t| c.hub.clock.instant(t));
        let kick = c.live.as_ref().map(|l| l.guard.kick.clone());
        let wake = c.live.as_ref().map(|l| l.guard.wake.clone());
        let token_left = c
            .live
            .as_ref()
            .map(|l| Duration::from_secs(l.token_expiry.saturating_sub(c.hub.clock.unix_secs())));
        tokio::select! {
            input = ws.recv() => match input {
                WsInput::Data(bytes) => {
                    let now = c.hub.clock.now();
                    if let Err(e) = c.session.handle_bytes(now, &bytes) {
                        c.reason.get_or_insert_with(|| format!("protocol violation: {e}"));
                    }
                }
                WsInput::Closed => {
                    transport_open = false;
                    c.close("connection closed by the device");
                }
                WsInput::Invalid(why) => {
                    c.close(&format!("WebSocket error: {why}"));
                }
            },
            () = sleep_until(timeout) => {
                c.session.handle_timeout(c.hub.clock.now());
            }
            () = notified(kick) => {
                c.close("closed by the hub: a newer connection for this device, or the device was deleted");
            }
            () = notified(wake) => {}
            () = sleep_for(token_left) => {
                c.close("SAS token expired");
            }
        }
    }
    c.finish();
    if transport_open {
        ws.close().await;
    }
}

impl Conn {
    fn now(&self) -> Duration {
        self.hub.clock.now()
    }

    /// Ends the session (MQTT servers close without a packet), remembering why.
    fn close(&mut self, reason: &str) {
        self.reason.get_or_insert_with(|| reason.to_owned());
        let now = self.now();
        self.session.close(now);
    }

    fn handle_event(&mut self, ev: ServerEvent) {
        if self.reason.is_some() && !matches!(ev, ServerEvent::Closed(_)) {
            // The hub already decided to close: nothing more is stored or settled (e.g. the
            // PUBACK that follows an out-of-order report must not complete its message).
            return;
        }
        match ev {
            ServerEvent::Connect(connect) => self.on_connect(connect),
            ServerEvent::Publish(p) => self.on_publish(p),
            ServerEvent::Subscribe(s) => self.on_subscribe(s),
            ServerEvent::Unsubscribe(u) => self.on_unsubscribe(u),
            ServerEvent::PubAck { packet_id } => self.on_puback(packet_id.get()),
            ServerEvent::PubAckOutOfOrder {
                packet_id,
                expected,
            } => self.close(&format!(
                "PUBACK out of order: got {}, expected {} (MQTT-4.6.0-2)",
                packet_id.get(),
                expected.get()
            )),
            ServerEvent::Closed(reason) => self.closed = Some(reason),
            other => tracing::debug!(?other, "ignored MQTT session event"),
        }
    }

    fn on_connect(&mut self, connect: Connect) {
        let now = self.now();
        let auth = authenticate(&self.hub, &connect);
        let (device_id, token_expiry) = match auth {
            Ok(x) => x,
            Err(why) => {
                tracing::warn!(
                    peer = ?self.peer,
                    client_id = connect.client_id.as_str(),
                    reason = %why,
                    "MQTT authentication failed: CONNACK 5 (not authorized)"
                );
                self.reason = Some(format!("authentication failed: {why}"));
                let _ = self.session.refuse(now, ConnectReturnCode::NotAuthorized);
                return;
            }
        };
        let guard = self.hub.register_connection(device_id.as_str(), PROTOCOL);
        let (session_present, filters) = {
            let mut sessions = lock(&self.hub.sessions);
            if connect.clean_session {
                sessions.remove(device_id.as_str());
                (false, BTreeSet::new())
            } else {
                match sessions.get(device_id.as_str()) {
                    Some(s) => (true, s.filters.iter().cloned().collect()),
                    None => (false, BTreeSet::new()),
                }
            }
        };
        let live = Live {
            c2d_filter: topics::c2d_subscribe_filter(&device_id),
            device_id,
            guard,
            clean_session: connect.clean_session,
            filters,
            inflight: HashMap::new(),
            token_expiry,
            will: connect.will.clone(),
        };
        live.store_session(&self.hub);
        if let Err(e) = self.session.accept(now, session_present) {
            tracing::warn!(error = %e, "MQTT accept failed");
            return;
        }
        tracing::info!(
            device = live.device_id.as_str(),
            protocol = PROTOCOL,
            peer = ?self.peer,
            clean_session = connect.clean_session,
            keep_alive = connect.keep_alive,
            session_present,
            "device connected"
        );
        self.live = Some(live);
    }

    fn on_publish(&mut self, p: Publish) {
        let Some(live) = self.live.as_ref() else {
            return self.close("PUBLISH before authentication");
        };
        let device = live.device_id.clone();
        let wire_bytes = p.encoded_len().unwrap_or(0);
        let topic = p.topic.as_str().to_owned();
        if topic.starts_with("$iothub/") {
            return self.close(&format!(
                "publish to {topic}: twin and direct-method topics are not supported by this devhub version"
            ));
        }
        let d2c = match topics::parse_d2c_topic(&topic, p.payload.to_vec()) {
            Ok(d) => d,
            Err(e) => {
                return self.close(&format!("publish to unsupported topic {topic}: {e}"));
            }
        };
        if !d2c.is_for(&device, None) {
            return self.close(&format!(
                "publish to {topic}: not the telemetry topic of device {device}"
            ));
        }
        let mut message = d2c.message;
        if let Err(e) = limits::check_d2c(&message) {
            return self.close(&format!("D2C message rejected: {e}"));
        }
        if p.retain {
            // IoT Hub does not retain; it forwards the flag as an application property.
            message.properties.insert("mqtt-retain", "true");
        }
        let event =
            crate::hub::d2c_event(&self.hub, device.as_str(), PROTOCOL, &message, wire_bytes);
        let event = self.hub.store_event(event);
        tracing::info!(
            device = device.as_str(),
            seq = event.seq,
            body_bytes = message.body.len(),
            wire_bytes,
            qos = p.qos.as_u8(),
            "D2C received"
        );
        if let Some(pid) = p.packet_id {
            let now = self.now();
            if let Err(e) = self.session.ack_publish(now, pid) {
                tracing::warn!(error = %e, "PUBACK failed");
            }
        }
    }

    fn on_subscribe(&mut self, s: Subscribe) {
        let Some(live) = self.live.as_mut() else {
            return self.close("SUBSCRIBE before authentication");
        };
        let mut codes = Vec::with_capacity(s.filters.len());
        let mut refused = (s.filters.len() > MAX_MQTT_SUBSCRIPTIONS).then(|| {
            format!(
                "SUBSCRIBE for {} topics; at most {MAX_MQTT_SUBSCRIPTIONS} are allowed",
                s.filters.len()
            )
        });
        let filters = if refused.is_none() {
            &s.filters[..]
        } else {
            &[]
        };
        for f in filters {
            let filter = f.filter.as_str();
            if filter != live.c2d_filter && !NO_OP_FILTERS.contains(&filter) {
                refused = Some(format!("subscription to unsupported topic filter {filter}"));
                break;
            }
            live.filters.insert(filter.to_owned());
            // IoT Hub grants at most QoS 1.
            codes.push(SubscribeReturnCode::Success(f.qos.min(QoS::AtLeastOnce)));
        }
        if refused.is_none() && live.filters.len() > MAX_MQTT_SUBSCRIPTIONS {
            refused = Some(format!("more than {MAX_MQTT_SUBSCRIPTIONS} subscriptions"));
        }
        if let Some(why) = refused {
            return self.close(&why);
        }
        live.store_session(&self.hub);
        let device = live.device_id.as_str().to_owned();
        let filters: Vec<&str> = s.filters.iter().map(|f| f.filter.as_str()).collect();
        tracing::info!(device, ?filters, "subscribed");
        let now = self.now();
        if let Err(e) = self.session.grant_subscribe(now, s.packet_id, codes) {
            tracing::warn!(error = %e, "SUBACK failed");
        }
    }

    fn on_unsubscribe(&mut self, u: Unsubscribe) {
        let Some(live) = self.live.as_mut() else {
            return self.close("UNSUBSCRIBE before authentication");
        };
        for f in &u.filters {
            live.filters.remove(f.as_str());
        }
        live.store_session(&self.hub);
        let now = self.now();
        if let Err(e) = self.session.ack_unsubscribe(now, u.packet_id) {
            tracing::warn!(error = %e, "UNSUBACK failed");
        }
    }

    fn on_puback(&mut self, packet_id: u16) {
        let now = self.now();
        let Some(live) = self.live.as_mut() else {
            return;
        };
        let Some(inflight) = live.inflight.remove(&packet_id) else {
            return;
        };
        let device = live.device_id.as_str();
        let result = lock(&self.hub.c2d).complete(device, &inflight.lock_token, now);
        self.hub.c2d_timer.notify_one();
        match result {
            Ok(()) => tracing::info!(device, packet_id, "C2D completed"),
            Err(e) => tracing::warn!(
                device,
                packet_id,
                error = %e,
                "C2D PUBACK could not complete the message (it will be redelivered)"
            ),
        }
    }

    /// Pushes visible C2D messages while the device is subscribed and the window has room.
    fn deliver_c2d(&mut self) {
        if self.session.state() != SessionState::Connected {
            return;
        }
        let Some(live) = self.live.as_mut() else {
            return;
        };
        if !live.c2d_subscribed() {
            return;
        }
        let max_inflight = ServerConfig::default().max_inflight;
        while self.session.inflight_len() < max_inflight {
            let now = self.hub.clock.now();
            let device = live.device_id.as_str();
            let delivery = match lock(&self.hub.c2d).receive(device, now) {
                Ok(Some(d)) => d,
                Ok(None) | Err(_) => break,
            };
            self.hub.c2d_timer.notify_one();
            // A message still in flight here whose lock expired is locked again under the new
            // token instead of being sent twice: the PUBACK for the first PUBLISH settles it,
            // and a reconnect redelivers it.
            if let Some(held) = live
                .inflight
                .values_mut()
                .find(|i| i.sequence_number == delivery.sequence_number)
            {
                held.lock_token = delivery.lock_token;
                continue;
            }
            let mut msg = delivery.message;
            // The hub's own `to` value, as captured from real hubs (capital B).
            msg.to = Some(format!("/devices/{device}/messages/deviceBound"));
            let topic = topics::c2d_topic(&live.device_id, &msg);
            let published = TopicName::new(&topic)
                .map_err(|e| e.to_string())
                .and_then(|t| {
                    self.session
                        .publish(now, t, Bytes::from(msg.body), QoS::AtLeastOnce, false)
                        .map_err(|e: CommandError| e.to_string())
                });
            match published {
                Ok(Some(pid)) => {
                    live.inflight.insert(
                        pid.get(),
                        InflightC2d {
                            sequence_number: delivery.sequence_number,
                            lock_token: delivery.lock_token,
                        },
                    );
                    tracing::info!(
                        device,
                        message_id = delivery.message_id,
                        sequence_number = delivery.sequence_number,
                        delivery_count = delivery.delivery_count,
                        packet_id = pid.get(),
                        "C2D sent"
                    );
                }
                Ok(None) | Err(_) => {
                    if let Err(e) = &published {
                        tracing::warn!(device, error = %e, "C2D publish failed");
                    }
                    let _ = lock(&self.hub.c2d).release(device, &delivery.lock_token, now);
                    break;
                }
            }
        }
    }

    /// Returns unsettled deliveries to the queue, sends the will, logs the disconnect.
    fn finish(mut self) {
        let now = self.now();
        let Some(live) = self.live.take() else {
            let why = self
                .reason
                .as_deref()
                .unwrap_or("closed before CONNECT completed");
            tracing::debug!(peer = ?self.peer, reason = why, "MQTT connection ended");
            return;
        };
        let device = live.device_id.as_str();
        if !live.inflight.is_empty() {
            let mut c2d = lock(&self.hub.c2d);
            for i in live.inflight.values() {
                let _ = c2d.release(device, &i.lock_token, now);
            }
            drop(c2d);
            self.hub.c2d_timer.notify_one();
        }
        let clean = self.closed.as_ref().is_some_and(CloseReason::is_clean);
        if !clean {
            if let Some(will) = &live.will {
                self.send_will(&live.device_id, will);
            }
        }
        let reason = match (&self.reason, &self.closed) {
            (Some(r), _) => r.clone(),
            (None, Some(CloseReason::ClientDisconnect)) => "DISCONNECT from the device".to_owned(),
            (None, Some(CloseReason::KeepAliveTimeout)) => "keep-alive timeout (404104)".to_owned(),
            (None, Some(r)) => format!("{r:?}"),
            (None, None) => "connection closed".to_owned(),
        };
        tracing::info!(device, protocol = PROTOCOL, reason = %reason, "device disconnected");
        drop(live.guard);
        // Messages released above may go to a newer connection of the same device.
        self.hub.wake(device);
    }

    fn send_will(&self, device: &DeviceId, will: &LastWill) {
        let wire_bytes = Publish::new(will.topic.clone(), will.payload.clone())
            .encoded_len()
            .unwrap_or(0);
        let Ok(d2c) = topics::parse_d2c_topic(will.topic.as_str(), will.payload.to_vec()) else {
            tracing::info!(
                device = device.as_str(),
                "will message dropped: not the telemetry topic"
            );
            return;
        };
        if !d2c.is_for(device, None) {
            tracing::info!(
                device = device.as_str(),
                "will message dropped: another device's topic"
            );
            return;
        }
        let mut message = d2c.message;
        message.properties.insert("iothub-MessageType", "Will");
        if will.retain {
            message.properties.insert("mqtt-retain", "true");
        }
        let event =
            crate::hub::d2c_event(&self.hub, device.as_str(), PROTOCOL, &message, wire_bytes);
        let event = self.hub.store_event(event);
        tracing::info!(
            device = device.as_str(),
            seq = event.seq,
            "D2C received (will message)"
        );
    }
}

/// Checks a CONNECT per IoT Hub rules; returns the device and the token's expiry, or why not.
/// The reason never contains the token or a key.
fn authenticate(hub: &Shared, connect: &Connect) -> Result<(DeviceId, u64), String> {
    let user = connect
        .username
        .as_ref()
        .ok_or("no user name (expected {host}/{deviceId}/?api-version=…)")?;
    let parsed = topics::parse_user_name(user.as_str()).map_err(|e| format!("user name: {e}"))?;
    if parsed.module_id.is_some() {
        return Err("module identities are not supported by this devhub version".to_owned());
    }
    if !parsed.host_name.eq_ignore_ascii_case(&hub.host_name) {
        return Err(format!(
            "user name host '{}' is not this hub ('{}')",
            parsed.host_name, hub.host_name
        ));
    }
    let device_id = parsed.device_id;
    if connect.client_id.as_str() != device_id.as_str() {
        return Err(format!(
            "client id '{}' does not match the user name's device '{device_id}'",
            connect.client_id.as_str()
        ));
    }
    let password = connect
        .password
        .as_ref()
        .ok_or("no password: a SAS token is required (X.509 is not supported)")?;
    let token = std::str::from_utf8(password.expose()).map_err(|_| "password is not UTF-8")?;
    let expiry =
        crate::auth::verify_device_token(hub, &device_id, token).map_err(|e| e.to_string())?;
    Ok((device_id, expiry))
}

pub(crate) async fn sleep_until(at: Option<std::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

pub(crate) async fn sleep_for(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}

async fn notified(n: Option<Arc<Notify>>) {
    match n {
        Some(n) => n.notified().await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::HubState;
    use crate::registry::Registry;
    use hubwire_iothub::{SasKey, SasToken};
    use hubwire_mqtt::{MqttString, Password};

    fn hub() -> (Shared, std::path::PathBuf) {
        let mut b = [0u8; 8];
        let _ = crate::registry::fill_random(&mut b);
        let dir = std::env::temp_dir().join(format!("devhub-auth-{}", u64::from_le_bytes(b)));
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

    fn connect(device: &str, user: &str, password: &str) -> Connect {
        let mut c = Connect::new(MqttString::new(device).unwrap_or_else(|e| panic!("{e:?}")));
        c.username = Some(MqttString::new(user).unwrap_or_else(|e| panic!("{e:?}")));
        c.password = Some(Password::new(Bytes::copy_from_slice(password.as_bytes())));
        c
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

    #[test]
    fn auth_accepts_a_good_token_and_reasons_never_leak_secrets() {
        let (hub, dir) = hub();
        let now = hub.clock.unix_secs();
        let user = "localhost/demo-device-1/?api-version=2021-04-12";
        let k1 = key(&hub, "demo-device-1");
        let k2 = key(&hub, "demo-device-2");
        let good = token(&k1, "demo-device-1", now + 60);
        let ok = authenticate(&hub, &connect("demo-device-1", user, &good));
        assert_eq!(
            ok.map(|(d, exp)| (d.to_string(), exp)),
            Ok(("demo-device-1".to_owned(), now + 60))
        );

        let cases = [
            (
                "wrong key",
                connect(
                    "demo-device-1",
                    user,
                    &token(&k2, "demo-device-1", now + 60),
                ),
                "signature",
            ),
            (
                "expired",
                connect("demo-device-1", user, &token(&k1, "demo-device-1", now - 5)),
                "expired",
            ),
            (
                "other device",
                connect(
                    "demo-device-1",
                    user,
                    &token(&k2, "demo-device-2", now + 60),
                ),
                "",
            ),
            (
                "no api-version",
                connect("demo-device-1", "localhost/demo-device-1/?x=1", &good),
                "api-version",
            ),
            (
                "other host",
                connect(
                    "demo-device-1",
                    "elsewhere/demo-device-1/?api-version=1",
                    &good,
                ),
                "host",
            ),
            (
                "client id",
                connect("demo-device-2", user, &good),
                "client id",
            ),
            (
                "unknown",
                connect("ghost", "localhost/ghost/?api-version=1", &good),
                "unknown device",
            ),
        ];
        for (name, c, expect) in cases {
            let password = c
                .password
                .as_ref()
                .map(|p| String::from_utf8_lossy(p.expose()).into_owned())
                .unwrap_or_default();
            let why = match authenticate(&hub, &c) {
                Err(why) => why,
                Ok(_) => panic!("{name}: accepted"),
            };
            assert!(why.contains(expect), "{name}: {why}");
            let sig = password
                .split('&')
                .find_map(|p| p.strip_prefix("sig="))
                .unwrap_or("?");
            for secret in [password.as_str(), sig, k1.as_str(), k2.as_str()] {
                assert!(
                    !why.contains(secret),
                    "{name}: reason leaks a secret: {why}"
                );
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}
