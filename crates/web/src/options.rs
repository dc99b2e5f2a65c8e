//! Connection options of the device client, and their JSON/JavaScript form.
//!
//! Everything here is target-independent so it is unit-tested natively.

use core::fmt;
use core::time::Duration;
use std::rc::Rc;

use hubwire_iothub::{
    Authentication, ConnectionString, DeviceId, ModuleId, SasKey, SasToken, TokenPolicy,
};
use serde::Deserialize;

use crate::error::OptionsError;
use crate::poll::PollInterval;
use crate::reconnect::ReconnectPolicy;

/// Default MQTT keep-alive. Browsers throttle timers in background tabs, so the margin is
/// generous (the hub waits 1.5 × keep-alive before dropping a silent client).
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(120);

/// Default limit for the WebSocket handshake plus CONNACK.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// `DeviceClientType` sent in the MQTT user name.
pub const DEVICE_CLIENT_TYPE: &str = concat!("hubwire-web/", env!("CARGO_PKG_VERSION"));

/// The device protocol. Choosing the protocol is an option of the same client, not a different
/// program.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// MQTT 3.1.1 over WebSocket (`wss://{host}/$iothub/websocket`, subprotocol `mqtt`).
    #[default]
    Mqtt,
    /// The HTTPS device API (`https://{host}/devices/{id}/messages/…`) over `fetch`: one
    /// request per D2C send (or batch), C2D by polling ([`PollInterval`]), and complete,
    /// abandon and reject by lock token. A real IoT Hub does not answer CORS, so from a web
    /// page this needs a same-origin proxy (or a hub emulator that allows the page's origin).
    Http,
    /// AMQP 1.0 over WebSocket (`wss://{host}/$iothub/websocket`, subprotocol `AMQPWSB10`):
    /// SASL `ANONYMOUS` and a CBS put-token per device, token renewal on the live connection,
    /// and C2D settlement with complete, abandon and reject.
    Amqp,
}

impl Protocol {
    /// Name as used in options (`"mqtt"`, `"http"`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mqtt => "mqtt",
            Self::Http => "http",
            Self::Amqp => "amqp",
        }
    }

    /// Display name in messages (`MQTT`, `HTTPS`).
    #[must_use]
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Mqtt => "MQTT",
            Self::Http => "HTTPS",
            Self::Amqp => "AMQP",
        }
    }

    /// Parses a protocol name (ASCII case-insensitive; `"mqtt-ws"` and `"mqttws"` are accepted
    /// for MQTT since the browser only has WebSockets anyway; `"http"` and `"https"` for the
    /// HTTPS device API; `"amqp"`, `"amqp-ws"` and `"amqpws"` for AMQP over WebSocket).
    pub fn parse(name: &str) -> Result<Self, OptionsError> {
        let lower = name.to_ascii_lowercase();
        match lower.as_str() {
            "mqtt" | "mqtt-ws" | "mqttws" => Ok(Self::Mqtt),
            "http" | "https" => Ok(Self::Http),
            "amqp" | "amqp-ws" | "amqpws" => Ok(Self::Amqp),
            _ => Err(OptionsError::UnknownProtocol { name: name.into() }),
        }
    }

    /// Whether this build includes the protocol (cargo features `mqtt`, `http`, `amqp`).
    #[must_use]
    pub fn is_enabled(self) -> bool {
        match self {
            Self::Mqtt => cfg!(feature = "mqtt"),
            Self::Http => cfg!(feature = "http"),
            Self::Amqp => cfg!(feature = "amqp"),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the device proves its identity.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// A device (or module) connection string: with `SharedAccessKey` tokens are generated and
    /// renewed; with `SharedAccessSignature` the fixed token is used until it expires.
    ConnectionString(ConnectionString),
    /// A ready-made SAS token for `host_name` / `device_id`. It cannot be renewed: when it
    /// expires the hub drops the connection and the client fails with a token error.
    SasToken {
        /// Hub host name (`HostName`).
        host_name: String,
        /// Device id.
        device_id: DeviceId,
        /// The token (redacting `Debug`).
        token: SasToken,
    },
}

impl Credentials {
    /// Parses a connection string. The error names the offending key.
    pub fn from_connection_string(s: &str) -> Result<Self, OptionsError> {
        let cs = ConnectionString::parse(s)?;
        if matches!(cs.auth, Authentication::X509) {
            return Err(OptionsError::X509NotSupported);
        }
        Ok(Self::ConnectionString(cs))
    }

    /// A fixed SAS token for a device.
    pub fn from_sas_token(
        host_name: &str,
        device_id: &str,
        token: &str,
    ) -> Result<Self, OptionsError> {
        if host_name.is_empty() {
            return Err(OptionsError::MissingField { field: "hostName" });
        }
        Ok(Self::SasToken {
            host_name: host_name.into(),
            device_id: DeviceId::new(device_id)?,
            token: SasToken::parse(token)?,
        })
    }

    /// The identity as a connection string (fixed tokens become `SharedAccessSignature`), so
    /// one code path issues tokens for both kinds.
    #[must_use]
    pub fn to_connection_string(&self) -> ConnectionString {
        match self {
            Self::ConnectionString(cs) => cs.clone(),
            Self::SasToken {
                host_name,
                device_id,
                token,
            } => {
                // `ConnectionString` is non-exhaustive: build one with a placeholder key and
                // swap the credential.
                let mut cs = ConnectionString::with_device_key(
                    host_name.clone(),
                    device_id.clone(),
                    SasKey::from_bytes(Vec::new()),
                );
                cs.auth = Authentication::SharedAccessSignature(token.clone());
                cs
            }
        }
    }

    /// Hub host name (SAS resource URI and MQTT user name).
    #[must_use]
    pub fn host_name(&self) -> &str {
        match self {
            Self::ConnectionString(cs) => &cs.host_name,
            Self::SasToken { host_name, .. } => host_name,
        }
    }

    /// Where the socket goes: `GatewayHostName` if set, else `HostName`.
    #[must_use]
    pub fn connect_host(&self) -> &str {
        match self {
            Self::ConnectionString(cs) => cs.connect_host(),
            Self::SasToken { host_name, .. } => host_name,
        }
    }

    /// Device id.
    #[must_use]
    pub fn device_id(&self) -> &DeviceId {
        match self {
            Self::ConnectionString(cs) => &cs.device_id,
            Self::SasToken { device_id, .. } => device_id,
        }
    }

    /// Module id, for module identities.
    #[must_use]
    pub fn module_id(&self) -> Option<&ModuleId> {
        match self {
            Self::ConnectionString(cs) => cs.module_id.as_ref(),
            Self::SasToken { .. } => None,
        }
    }
}

/// A source of uniformly distributed numbers in `[0, 1)` for reconnect jitter. The browser
/// build uses `Math.random`; tests inject a deterministic one.
#[derive(Clone)]
pub struct RandomSource(Rc<dyn Fn() -> f64>);

impl RandomSource {
    /// Wraps a function returning values in `[0, 1)` (values outside are clamped).
    pub fn new(f: impl Fn() -> f64 + 'static) -> Self {
        Self(Rc::new(f))
    }

    /// Draws one value, clamped to `[0, 1]`; NaN becomes 0.
    #[must_use]
    pub fn next(&self) -> f64 {
        let v = (self.0)();
        if v.is_nan() {
            0.0
        } else {
            v.clamp(0.0, 1.0)
        }
    }
}

impl fmt::Debug for RandomSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RandomSource")
    }
}

/// Everything [`DeviceClient::connect`](crate::DeviceClient) needs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeviceOptions {
    /// Identity and secret.
    pub credentials: Credentials,
    /// Device protocol (default MQTT).
    pub protocol: Protocol,
    /// Endpoint override.
    ///
    /// MQTT: a WebSocket URL, e.g. `ws://127.0.0.1:8080` for a local hub; the path
    /// `/$iothub/websocket?iothub-no-client-cert=true` is appended unless the URL already has a
    /// path. Default: `wss://{GatewayHostName or HostName}`.
    ///
    /// HTTPS: the base the device API paths are appended to, e.g. `http://127.0.0.1:8080`, a
    /// proxy `https://example.com/iothub`, or a same-origin path `/iothub`. Default:
    /// `https://{GatewayHostName or HostName}`.
    pub endpoint: Option<String>,
    /// MQTT keep-alive (whole seconds are sent; default [`DEFAULT_KEEP_ALIVE`]).
    pub keep_alive: Duration,
    /// Limit for the WebSocket handshake and for CONNACK.
    pub connect_timeout: Duration,
    /// Reconnect behaviour after a connection is lost.
    pub reconnect: ReconnectPolicy,
    /// SAS token lifetime and renewal margin (keys only; fixed tokens are not renewed).
    pub token_policy: TokenPolicy,
    /// MQTT clean-session flag. The SDKs send `false`, so the hub keeps the C2D subscription.
    pub clean_session: bool,
    /// IoT Plug and Play model id (`model-id` in the user name).
    pub model_id: Option<String>,
    /// Most D2C messages awaiting PUBACK at once.
    pub max_inflight: usize,
    /// Jitter source; `None` uses `Math.random`.
    pub random: Option<RandomSource>,
    /// HTTPS: how often to poll for C2D messages (default 25 minutes; shorter only with
    /// [`PollInterval::development`]). Failed polls back off per `reconnect`.
    pub poll_interval: PollInterval,
}

impl DeviceOptions {
    /// Options with defaults for these credentials.
    #[must_use]
    pub fn new(credentials: Credentials) -> Self {
        Self {
            credentials,
            protocol: Protocol::default(),
            endpoint: None,
            keep_alive: DEFAULT_KEEP_ALIVE,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            reconnect: ReconnectPolicy::default(),
            token_policy: TokenPolicy::default(),
            clean_session: false,
            model_id: None,
            max_inflight: 64,
            random: None,
            poll_interval: PollInterval::default(),
        }
    }

    /// Options for a connection string (parsed now; the error names the bad key).
    pub fn from_connection_string(s: &str) -> Result<Self, OptionsError> {
        Ok(Self::new(Credentials::from_connection_string(s)?))
    }

    /// Options for a fixed SAS token (not renewable).
    pub fn from_sas_token(
        host_name: &str,
        device_id: &str,
        token: &str,
    ) -> Result<Self, OptionsError> {
        Ok(Self::new(Credentials::from_sas_token(
            host_name, device_id, token,
        )?))
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

    /// Sets the keep-alive.
    #[must_use]
    pub fn with_keep_alive(mut self, keep_alive: Duration) -> Self {
        self.keep_alive = keep_alive;
        self
    }

    /// Sets the token policy.
    #[must_use]
    pub fn with_token_policy(mut self, policy: TokenPolicy) -> Self {
        self.token_policy = policy;
        self
    }

    /// Sets the jitter source.
    #[must_use]
    pub fn with_random(mut self, random: RandomSource) -> Self {
        self.random = Some(random);
        self
    }

    /// Sets the protocol.
    #[must_use]
    pub fn with_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Sets the HTTPS poll interval.
    #[must_use]
    pub fn with_poll_interval(mut self, interval: PollInterval) -> Self {
        self.poll_interval = interval;
        self
    }

    /// The WebSocket URL to dial.
    pub fn websocket_url(&self) -> Result<String, OptionsError> {
        websocket_url(self.endpoint.as_deref(), self.credentials.connect_host())
    }

    /// The base URL of the HTTPS device API.
    pub fn http_base_url(&self) -> Result<String, OptionsError> {
        http_base_url(self.endpoint.as_deref(), self.credentials.connect_host())
    }

    /// Keep-alive in whole seconds as sent in CONNECT (at most 65535).
    #[must_use]
    pub fn keep_alive_secs(&self) -> u16 {
        u16::try_from(self.keep_alive.as_secs()).unwrap_or(u16::MAX)
    }
}

/// The IoT Hub WebSocket path, with the query browser clients always send (§1.1).
pub const WEBSOCKET_PATH: &str = "/$iothub/websocket?iothub-no-client-cert=true";

/// The URL for an MQTT/AMQP WebSocket connection: `wss://{connect_host}{WEBSOCKET_PATH}`, or
/// the override with [`WEBSOCKET_PATH`] appended when the override has no path of its own.
pub fn websocket_url(endpoint: Option<&str>, connect_host: &str) -> Result<String, OptionsError> {
    let Some(endpoint) = endpoint else {
        return Ok(format!("wss://{connect_host}{WEBSOCKET_PATH}"));
    };
    let trimmed = endpoint.trim();
    let rest = trimmed
        .strip_prefix("ws://")
        .or_else(|| trimmed.strip_prefix("wss://"))
        .filter(|rest| !rest.is_empty() && !rest.starts_with('/'))
        .ok_or_else(|| OptionsError::InvalidEndpoint {
            endpoint: endpoint.into(),
        })?;
    let path = rest.find(['/', '?']).and_then(|i| rest.get(i..));
    match path {
        None | Some("/") => Ok(format!("{}{WEBSOCKET_PATH}", trimmed.trim_end_matches('/'))),
        // A path or query given by the caller is kept verbatim (a proxy may live elsewhere).
        Some(_) => Ok(trimmed.into()),
    }
}

/// The base URL of the HTTPS device API: `https://{connect_host}`, or the override without a
/// trailing `/`. The override is an `https://` or `http://` URL (any path: a proxy may live
/// under one) or a same-origin path starting with `/`; it may not carry a query, since the
/// request paths and `api-version` are appended to it.
pub fn http_base_url(endpoint: Option<&str>, connect_host: &str) -> Result<String, OptionsError> {
    let Some(endpoint) = endpoint else {
        return Ok(format!("https://{connect_host}"));
    };
    let trimmed = endpoint.trim();
    let invalid = || OptionsError::InvalidHttpEndpoint {
        endpoint: endpoint.into(),
    };
    if trimmed.contains(['?', '#']) {
        return Err(invalid());
    }
    let absolute = trimmed
        .strip_prefix("https://")
        .or_else(|| trimmed.strip_prefix("http://"));
    match absolute {
        Some(rest) if !rest.is_empty() && !rest.starts_with('/') => {}
        Some(_) => return Err(invalid()),
        // A same-origin path; `//host` would be a different origin in disguise.
        None if trimmed.starts_with('/') && !trimmed.starts_with("//") => {}
        None => return Err(invalid()),
    }
    Ok(trimmed.trim_end_matches('/').into())
}

/// The options object of the JavaScript API (`HubwireDevice.connect(options)`), also accepted
/// as JSON. Field names are camelCase.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct JsDeviceOptions {
    /// Device connection string.
    pub connection_string: Option<String>,
    /// Fixed SAS token (needs `hostName` and `deviceId`).
    pub sas_token: Option<String>,
    /// Hub host name for `sasToken`.
    pub host_name: Option<String>,
    /// Device id for `sasToken`.
    pub device_id: Option<String>,
    /// WebSocket endpoint override.
    pub endpoint: Option<String>,
    /// `"mqtt"` (default) or `"http"`.
    pub protocol: Option<String>,
    /// MQTT keep-alive in seconds (1–65535; 0 disables keep-alive).
    pub keep_alive_secs: Option<u32>,
    /// Connect timeout in milliseconds.
    pub connect_timeout_ms: Option<f64>,
    /// Reconnect settings.
    pub reconnect: Option<JsReconnect>,
    /// SAS token lifetime in seconds.
    pub token_ttl_secs: Option<f64>,
    /// Renew this many seconds before expiry.
    pub token_renew_before_secs: Option<f64>,
    /// MQTT clean-session flag.
    pub clean_session: Option<bool>,
    /// Plug and Play model id.
    pub model_id: Option<String>,
    /// HTTPS C2D poll interval in whole seconds: 1500 and more for production hubs, 1–1499
    /// selects the development setting ([`PollInterval::development`]). Default 1500.
    pub poll_interval_secs: Option<f64>,
}

impl JsDeviceOptions {
    /// The accepted field names, for checking objects whose deserializer does not report
    /// unknown fields (JavaScript objects read with `serde-wasm-bindgen`).
    pub const FIELDS: &'static [&'static str] = &[
        "connectionString",
        "sasToken",
        "hostName",
        "deviceId",
        "endpoint",
        "protocol",
        "keepAliveSecs",
        "connectTimeoutMs",
        "reconnect",
        "tokenTtlSecs",
        "tokenRenewBeforeSecs",
        "cleanSession",
        "modelId",
        "pollIntervalSecs",
    ];
}

impl JsReconnect {
    /// The accepted field names (see [`JsDeviceOptions::FIELDS`]).
    pub const FIELDS: &'static [&'static str] = &[
        "enabled",
        "initialDelayMs",
        "maxDelayMs",
        "multiplier",
        "jitter",
        "maxAttempts",
    ];
}

impl JsReconnect {
    /// Applies the settings given to `p` (checking their ranges).
    pub fn apply_to(&self, p: &mut ReconnectPolicy) -> Result<(), OptionsError> {
        let r = self;
        if let Some(e) = r.enabled {
            p.enabled = e;
        }
        if let Some(ms) = r.initial_delay_ms {
            p.initial_delay = millis("reconnect.initialDelayMs", ms)?;
        }
        if let Some(ms) = r.max_delay_ms {
            p.max_delay = millis("reconnect.maxDelayMs", ms)?;
        }
        if let Some(m) = r.multiplier {
            if !(m.is_finite() && (1.0..=100.0).contains(&m)) {
                return Err(OptionsError::OutOfRange {
                    field: "reconnect.multiplier",
                });
            }
            p.multiplier = m;
        }
        if let Some(j) = r.jitter {
            if !(0.0..=1.0).contains(&j) {
                return Err(OptionsError::OutOfRange {
                    field: "reconnect.jitter",
                });
            }
            p.jitter = j;
        }
        if r.max_attempts.is_some() {
            p.max_attempts = r.max_attempts;
        }
        Ok(())
    }
}

/// Reconnect settings of the JavaScript API.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[non_exhaustive]
pub struct JsReconnect {
    /// `false` disables automatic reconnect.
    pub enabled: Option<bool>,
    /// First delay in milliseconds.
    pub initial_delay_ms: Option<f64>,
    /// Largest delay in milliseconds.
    pub max_delay_ms: Option<f64>,
    /// Growth factor per attempt (≥ 1).
    pub multiplier: Option<f64>,
    /// Share of each delay that is randomized (0–1).
    pub jitter: Option<f64>,
    /// Give up after this many consecutive failed attempts.
    pub max_attempts: Option<u32>,
}

fn millis(field: &'static str, v: f64) -> Result<Duration, OptionsError> {
    if v.is_finite() && (0.0..=1e12).contains(&v) {
        Ok(Duration::from_secs_f64(v / 1000.0))
    } else {
        Err(OptionsError::OutOfRange { field })
    }
}

fn whole_secs(field: &'static str, v: f64) -> Result<u64, OptionsError> {
    if v.is_finite() && (0.0..=1e10).contains(&v) && v.fract() == 0.0 {
        // In range and integral, so the cast is exact.
        Ok(v as u64)
    } else {
        Err(OptionsError::OutOfRange { field })
    }
}

impl TryFrom<JsDeviceOptions> for DeviceOptions {
    type Error = OptionsError;

    fn try_from(js: JsDeviceOptions) -> Result<Self, OptionsError> {
        let credentials = match (js.connection_string, js.sas_token) {
            (Some(cs), None) => Credentials::from_connection_string(&cs)?,
            (None, Some(token)) => {
                let host = js
                    .host_name
                    .ok_or(OptionsError::MissingField { field: "hostName" })?;
                let device = js
                    .device_id
                    .ok_or(OptionsError::MissingField { field: "deviceId" })?;
                Credentials::from_sas_token(&host, &device, &token)?
            }
            _ => return Err(OptionsError::MissingCredentials),
        };
        let mut o = Self::new(credentials);
        if let Some(p) = js.protocol {
            o.protocol = Protocol::parse(&p)?;
        }
        if let Some(e) = js.endpoint {
            // Validate now so a typo fails at connect, not at the first dial.
            match o.protocol {
                Protocol::Http => http_base_url(Some(&e), "")?,
                _ => websocket_url(Some(&e), "")?,
            };
            o.endpoint = Some(e);
        }
        if let Some(secs) = js.poll_interval_secs {
            o.poll_interval = PollInterval::from_secs(whole_secs("pollIntervalSecs", secs)?)?;
        }
        if let Some(ka) = js.keep_alive_secs {
            if ka > u32::from(u16::MAX) {
                return Err(OptionsError::OutOfRange {
                    field: "keepAliveSecs",
                });
            }
            o.keep_alive = Duration::from_secs(ka.into());
        }
        if let Some(ms) = js.connect_timeout_ms {
            o.connect_timeout = millis("connectTimeoutMs", ms)?;
        }
        if let Some(r) = js.reconnect {
            r.apply_to(&mut o.reconnect)?;
        }
        let ttl = js
            .token_ttl_secs
            .map(|v| whole_secs("tokenTtlSecs", v))
            .transpose()?;
        let before = js
            .token_renew_before_secs
            .map(|v| whole_secs("tokenRenewBeforeSecs", v))
            .transpose()?;
        if ttl.is_some() || before.is_some() {
            let ttl = ttl.unwrap_or(o.token_policy.ttl_secs);
            let before = before.unwrap_or(o.token_policy.renew_before_secs.min(ttl / 4));
            if ttl == 0 || before >= ttl {
                return Err(OptionsError::OutOfRange {
                    field: "tokenRenewBeforeSecs",
                });
            }
            o.token_policy = TokenPolicy::new(ttl, before);
        }
        if let Some(c) = js.clean_session {
            o.clean_session = c;
        }
        o.model_id = js.model_id;
        Ok(o)
    }
}

#[cfg(test)]
mod tests;
