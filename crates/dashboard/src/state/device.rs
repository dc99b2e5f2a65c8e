//! The device pane: which identity to connect as and over which protocol, the connection's
//! status (with the HTTPS poller's countdown), the D2C composer with its send results, and the
//! C2D inbox with each message's settlement.

use core::fmt;
use core::time::Duration;
use std::rc::Rc;

use hubwire_iothub::message::Message;
use hubwire_iothub::secret::Secret;
use hubwire_iothub::{Authentication, ConnectionString};
use yew::Reducible;

use super::draft::{Draft, DraftEdit, JSON};
use super::hub_url::HubUrl;
use crate::format::{parse_decimal, Num};

/// How many send results the pane keeps.
pub const MAX_SENDS: usize = 20;
/// How many received C2D messages the inbox keeps.
pub const MAX_INBOX: usize = 100;
/// The HTTPS poll interval the dashboard starts with: a development setting, since the
/// dashboard is a development tool and usually talks to devhub.
pub const DEFAULT_DEV_POLL_SECS: u64 = 5;
/// The longest development interval; from here on the production rule applies.
pub const MAX_DEV_POLL_SECS: u64 = 1499;
/// The production interval (IoT Hub guidance: poll HTTPS at most every 25 minutes).
pub const PRODUCTION_POLL_SECS: u64 = 25 * 60;

/// Device transport. The view offers whatever [`Protocol::AVAILABLE`] lists; each variant says
/// how received messages are settled and whether the client polls, so the views and the
/// provider need no per-protocol cases beyond the client option.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// MQTT 3.1.1 over WebSocket.
    #[default]
    MqttWs,
    /// The HTTPS device API; cloud-to-device messages are polled.
    Https,
    /// AMQP 1.0 over WebSocket; cloud-to-device messages are pushed and settled explicitly.
    AmqpWs,
}

/// How a protocol settles received cloud-to-device messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Settlement {
    /// Completed when the client acknowledges it on arrival (MQTT PUBACK): nothing is left to
    /// settle, and abandon or reject do not exist.
    OnReceipt,
    /// Locked for the device until it completes, abandons or rejects it (HTTPS, AMQP).
    Explicit,
}

impl Protocol {
    /// Protocols the dashboard can use now, in display order.
    pub const AVAILABLE: &'static [Self] = &[Self::MqttWs, Self::AmqpWs, Self::Https];

    /// Stable identifier (form values).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MqttWs => "mqtt-ws",
            Self::Https => "https",
            Self::AmqpWs => "amqp-ws",
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            Self::MqttWs => "MQTT over WebSocket",
            Self::Https => "HTTPS (polling)",
            Self::AmqpWs => "AMQP over WebSocket",
        }
    }

    /// The protocol's plain name (`MQTT`, `HTTPS`, `AMQP`).
    pub fn name(self) -> &'static str {
        match self {
            Self::MqttWs => "MQTT",
            Self::Https => "HTTPS",
            Self::AmqpWs => "AMQP",
        }
    }

    /// Short label for status lines.
    pub fn short_label(self) -> &'static str {
        match self {
            Self::MqttWs => "MQTT/WS",
            Self::Https => "HTTPS (poll)",
            Self::AmqpWs => "AMQP/WS",
        }
    }

    /// How received messages are settled.
    pub fn settlement(self) -> Settlement {
        match self {
            Self::MqttWs => Settlement::OnReceipt,
            Self::Https | Self::AmqpWs => Settlement::Explicit,
        }
    }

    /// Whether the device dials the hub's WebSocket listener (else its HTTPS base URL).
    pub fn uses_websocket(self) -> bool {
        matches!(self, Self::MqttWs | Self::AmqpWs)
    }

    /// Whether cloud-to-device messages are fetched by polling (and the poll interval applies).
    pub fn polls(self) -> bool {
        matches!(self, Self::Https)
    }

    /// Inverse of [`Protocol::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::AVAILABLE.iter().copied().find(|p| p.as_str() == s)
    }
}

/// The HTTPS poll interval a session uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollChoice {
    /// A development interval of this many seconds (1 to [`MAX_DEV_POLL_SECS`]).
    Development {
        /// Seconds between the end of one poll and the start of the next.
        secs: u64,
    },
    /// The production interval, [`PRODUCTION_POLL_SECS`].
    Production,
}

impl PollChoice {
    /// Seconds between polls.
    pub fn secs(self) -> u64 {
        match self {
            Self::Development { secs } => secs,
            Self::Production => PRODUCTION_POLL_SECS,
        }
    }
}

/// The poll-interval form: what was typed, and whether the production interval is chosen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PollSetting {
    /// The development interval in seconds, as typed.
    pub dev_secs: String,
    /// Use the production interval instead of `dev_secs`.
    pub production: bool,
}

impl Default for PollSetting {
    fn default() -> Self {
        Self {
            dev_secs: DEFAULT_DEV_POLL_SECS.to_string(),
            production: false,
        }
    }
}

impl PollSetting {
    /// The chosen interval, or why the typed one cannot be used.
    pub fn choice(&self) -> Result<PollChoice, String> {
        if self.production {
            return Ok(PollChoice::Production);
        }
        let typed = self.dev_secs.trim();
        match typed.parse::<u64>() {
            Ok(secs @ 1..=MAX_DEV_POLL_SECS) => Ok(PollChoice::Development { secs }),
            _ => Err(format!(
                "poll interval: enter whole seconds from 1 to {MAX_DEV_POLL_SECS}, or choose the production interval (got “{typed}”)"
            )),
        }
    }
}

/// Where the device identity comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Source {
    /// One of the hub's demo devices (its connection string comes from `GET /api/devices`).
    #[default]
    Demo,
    /// A connection string the user pasted.
    Pasted,
    /// A ready-made SAS token with its hub host name and device id. It cannot be renewed.
    Sas,
}

impl Source {
    /// All sources, in display order.
    pub const ALL: [Self; 3] = [Self::Demo, Self::Pasted, Self::Sas];

    /// Stable identifier (form values, stored settings).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Demo => "demo",
            Self::Pasted => "pasted",
            Self::Sas => "sas",
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Demo => "Demo device",
            Self::Pasted => "Connection string",
            Self::Sas => "SAS token",
        }
    }

    /// Inverse of [`Source::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// The devhub the page talks to, as far as device sessions care: where its listeners are and
/// which host name its device identities carry. A session whose identity names this host dials
/// the hub URL; any other host is a real hub, dialled directly.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DevhubTarget {
    /// The hub URL of the page (service API and device listeners).
    pub url: HubUrl,
    /// `HostName` of the devhub's device identities (from `GET /api/hub`).
    pub host_name: String,
}

impl DevhubTarget {
    /// The endpoint override for an identity on `host_name` over `protocol`: the devhub's
    /// listener when the host is devhub's, else `None` (the client dials the host itself).
    pub fn endpoint_for(&self, host_name: &str, protocol: Protocol) -> Option<String> {
        host_name
            .eq_ignore_ascii_case(&self.host_name)
            .then(|| self.url.endpoint_for(protocol))
    }
}

/// What the device connection is doing; the view renders exactly this.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ConnectionStatus {
    /// No connection and none wanted.
    #[default]
    Disconnected,
    /// Opening the first connection (HTTPS: the first poll).
    Connecting,
    /// Connected (MQTT CONNACK accepted; HTTPS: the hub answers the polls).
    Connected,
    /// Lost the connection (HTTPS: a poll failed); the client tries again.
    Reconnecting {
        /// Attempt number (1 = first retry).
        attempt: u32,
        /// Delay before the next try, when the client says.
        retry_in_ms: Option<u64>,
        /// Time of day (UTC, `HH:MM:SS`) the next try is due, from the caller's clock.
        next_try_at: Option<String>,
        /// Why the previous connection ended.
        reason: String,
    },
    /// Gave up (or could not start).
    Failed {
        /// Why.
        reason: String,
    },
}

impl ConnectionStatus {
    /// True while a connection exists or is being made.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            Self::Connecting | Self::Connected | Self::Reconnecting { .. }
        )
    }
}

/// One connection the user asked for. A new [`Session::generation`] means a new client: the
/// connection provider keys its effect on it, and stale client reports are ignored by it.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// Increases with every Connect.
    pub generation: u64,
    /// Device id (from the connection string).
    pub device_id: String,
    /// Full connection string; never printed.
    pub connection_string: Secret,
    /// Host the identity belongs to (`GatewayHostName` or `HostName`).
    pub host_name: String,
    /// Endpoint override (the devhub's listener for the protocol); `None` dials the host's
    /// default endpoint, as for a real hub.
    pub endpoint: Option<String>,
    /// When the identity is a fixed SAS token: its expiry in Unix seconds (it is not renewed).
    pub token_expires: Option<u64>,
    /// Transport.
    pub protocol: Protocol,
    /// Poll interval, for protocols that poll.
    pub poll: Option<PollChoice>,
}

impl Session {
    /// The URL the client dials: the override, or the host's default endpoint for the protocol.
    pub fn dial_url(&self) -> String {
        match &self.endpoint {
            Some(endpoint) => endpoint.clone(),
            None if self.protocol.uses_websocket() => {
                format!("wss://{}/$iothub/websocket", self.host_name)
            }
            None => format!("https://{}", self.host_name),
        }
    }

    /// Whether the session dials a devhub (through the page's hub URL).
    pub fn via_devhub(&self) -> bool {
        self.endpoint.is_some()
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("generation", &self.generation)
            .field("device_id", &self.device_id)
            .field("host_name", &self.host_name)
            .field("endpoint", &self.endpoint)
            .field("token_expires", &self.token_expires)
            .field("protocol", &self.protocol)
            .field("poll", &self.poll)
            .finish_non_exhaustive()
    }
}

/// Where a session connects, as the pane shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dialled {
    /// The URL the client dials.
    pub url: String,
    /// Whether that is the devhub (through the page's hub URL) rather than the identity's hub.
    pub via_devhub: bool,
    /// A fixed SAS token's expiry in Unix seconds.
    pub token_expires: Option<u64>,
}

/// What the HTTPS poller is doing, as the countdown shows it. The countdown is kept in whole
/// seconds so the frequent reports from the provider change the state (and re-render) only
/// once a second.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PollView {
    /// Configured interval in whole seconds.
    pub interval_secs: u64,
    /// Whether the interval is the development setting.
    pub development: bool,
    /// Whether scheduled polling is on.
    pub running: bool,
    /// Whether a poll is in progress.
    pub polling: bool,
    /// Seconds until the next scheduled poll (rounded up); `None` while polling or paused.
    pub next_poll_in_secs: Option<u64>,
    /// Completed polls.
    pub cycles: u64,
    /// Failed polls since the last good one.
    pub failures: u32,
}

impl PollView {
    /// Whole seconds for a countdown: rounded up, so "1 s" shows until the poll starts.
    pub fn countdown_secs(remaining: Duration) -> u64 {
        let millis = u64::try_from(remaining.as_millis()).unwrap_or(u64::MAX);
        millis.div_ceil(1000)
    }
}

/// The last poll-control request the user made (Poll now, pause, resume).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PollCommand {
    /// None yet in this session.
    #[default]
    Idle,
    /// Poll now is running.
    PollingNow,
    /// Poll now finished.
    Polled {
        /// Messages that poll received.
        received: usize,
    },
    /// A request failed.
    Failed(String),
}

/// How one D2C send ended.
#[derive(Clone, Debug, PartialEq)]
pub enum SendOutcome {
    /// Waiting for the hub's acknowledgement.
    Pending,
    /// Acknowledged by the hub (MQTT PUBACK, HTTPS 204).
    Acked {
        /// Time from send to acknowledgement.
        latency_ms: f64,
        /// Bytes the message took on the wire, when the client reports it.
        wire_bytes: Option<u64>,
    },
    /// Not delivered.
    Failed(String),
}

/// One D2C send as listed in the pane.
#[derive(Clone, Debug, PartialEq)]
pub struct SendRecord {
    /// Local id (not the message id).
    pub id: u64,
    /// The message id, when one was set.
    pub message_id: Option<String>,
    /// Body size in bytes.
    pub body_bytes: usize,
    /// Result.
    pub outcome: SendOutcome,
}

/// The hub's delivery facts of a received message (HTTPS and AMQP carry them; MQTT does not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// Queue sequence number.
    pub sequence_number: u64,
    /// Deliveries before this one (abandons).
    pub delivery_count: u32,
    /// When the hub enqueued the message (RFC 3339), if it said.
    pub enqueued_time: Option<String>,
}

/// A received C2D message, flattened for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxMessage {
    /// Body as text, or a note for binary bodies.
    pub body: String,
    /// Whether [`InboxMessage::body`] is the real body (UTF-8) or a description of binary data.
    pub body_is_text: bool,
    /// System properties worth showing (message id, correlation id, content type, …).
    pub system: Vec<(&'static str, String)>,
    /// Application properties in order.
    pub properties: Vec<(String, String)>,
    /// Time of arrival, `HH:MM:SS` UTC.
    pub received_at: String,
    /// Sequence number and delivery count, when the protocol carries them.
    pub delivery: Option<Delivery>,
    /// The token that settles the message (HTTPS ETag, AMQP lock token).
    pub lock_token: Option<String>,
}

impl InboxMessage {
    /// Flattens a received message; `lock_token` is what the client settles it with and
    /// `received_at` is the caller's clock label.
    pub fn from_message(
        message: &Message,
        lock_token: Option<String>,
        received_at: String,
    ) -> Self {
        let (body, body_is_text) = match message.body_str() {
            Some(text) => (text.to_owned(), true),
            None => (
                format!("({} bytes of binary data)", message.body.len()),
                false,
            ),
        };
        let mut system = Vec::new();
        let mut push = |name: &'static str, value: &Option<String>| {
            if let Some(v) = value {
                system.push((name, v.clone()));
            }
        };
        push("messageId", &message.message_id);
        push("correlationId", &message.correlation_id);
        push("contentType", &message.content_type);
        push("contentEncoding", &message.content_encoding);
        push("userId", &message.user_id);
        let delivery = message.received.as_ref().map(|received| Delivery {
            sequence_number: received.sequence_number,
            delivery_count: received.delivery_count,
            enqueued_time: received.enqueued_time.map(|t| t.to_rfc3339_millis()),
        });
        let lock_token =
            lock_token.or_else(|| message.received.as_ref().and_then(|r| r.lock_token.clone()));
        Self {
            body,
            body_is_text,
            system,
            properties: message
                .properties
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            received_at,
            delivery,
            lock_token: lock_token.filter(|t| !t.is_empty()),
        }
    }
}

/// A settlement the device can send for a locked message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettleOp {
    /// Done with it: the hub deletes it (positive feedback if requested).
    Complete,
    /// Give it back: the hub delivers it again with the delivery count raised.
    Abandon,
    /// Refuse it: the hub dead-letters it (negative feedback if requested).
    Reject,
}

impl SettleOp {
    /// All operations, in button order.
    pub const ALL: [Self; 3] = [Self::Complete, Self::Abandon, Self::Reject];

    /// Button label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Complete => "Complete",
            Self::Abandon => "Abandon",
            Self::Reject => "Reject",
        }
    }

    /// Past tense for the settled state.
    pub fn done(self) -> &'static str {
        match self {
            Self::Complete => "completed",
            Self::Abandon => "abandoned",
            Self::Reject => "rejected",
        }
    }

    /// Present participle while the request runs.
    pub fn doing(self) -> &'static str {
        match self {
            Self::Complete => "completing",
            Self::Abandon => "abandoning",
            Self::Reject => "rejecting",
        }
    }
}

/// Where a received message stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettleState {
    /// The protocol completed it on arrival (MQTT PUBACK); there is nothing to settle.
    CompletedOnReceipt,
    /// Locked for this device, waiting to be settled.
    Locked,
    /// A settle request is in flight.
    Settling(SettleOp),
    /// Settled by this device.
    Settled(SettleOp),
    /// The settle request failed; the message may be settled again (the lock may be gone).
    Failed {
        /// What was tried.
        op: SettleOp,
        /// Why it failed.
        reason: String,
    },
    /// The hub delivered the same message again (its lock ran out): settle the newer copy.
    Redelivered,
    /// The connection that held the lock ended first; the hub delivers the message again.
    Unsettled,
}

impl SettleState {
    /// Whether complete / abandon / reject may be sent now.
    pub fn can_settle(&self) -> bool {
        matches!(self, Self::Locked | Self::Failed { .. })
    }
}

/// A message in the inbox: what arrived, on which session, and its settlement.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxEntry {
    /// Local id, unique in this page.
    pub id: u64,
    /// Session that received it (only its client can settle it).
    pub generation: u64,
    /// Protocol it arrived on.
    pub protocol: Protocol,
    /// The message.
    pub message: InboxMessage,
    /// Settlement.
    pub settle: SettleState,
}

/// Everything the device pane shows.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceState {
    /// Demo device or pasted string.
    pub source: Source,
    /// Selected demo device id.
    pub demo_device: Option<String>,
    /// Pasted connection string (a secret: shown in a password field, never logged).
    pub pasted: Secret,
    /// SAS source: the hub host name.
    pub sas_host: String,
    /// SAS source: the device id.
    pub sas_device_id: String,
    /// SAS source: the token (`SharedAccessSignature sr=…&sig=…&se=…`), a secret.
    pub sas_token: Secret,
    /// Chosen transport.
    pub protocol: Protocol,
    /// HTTPS poll interval form.
    pub poll_setting: PollSetting,
    /// Connection status.
    pub status: ConnectionStatus,
    /// The connection currently wanted, if any.
    pub session: Option<Session>,
    /// Where the latest Connect went; kept after the session ends, so a failure can be read
    /// together with the endpoint that failed.
    pub dialled: Option<Dialled>,
    next_generation: u64,
    /// The poller of the current session (HTTPS), once it has reported.
    pub poll: Option<PollView>,
    /// The last poll-control request of the current session.
    pub poll_command: PollCommand,
    /// D2C composer.
    pub draft: Draft,
    /// Why the last Send was refused before reaching the client.
    pub draft_error: Option<String>,
    /// Send-N-times form.
    pub burst_form: BurstForm,
    /// The current or last send-N-times run.
    pub burst: Option<Burst>,
    /// D2C sends, newest first.
    pub sends: Vec<SendRecord>,
    /// Received C2D messages, newest first.
    pub inbox: Vec<InboxEntry>,
    next_inbox_id: u64,
}

impl Default for DeviceState {
    fn default() -> Self {
        Self {
            source: Source::default(),
            demo_device: None,
            pasted: Secret::new(""),
            sas_host: String::new(),
            sas_device_id: String::new(),
            sas_token: Secret::new(""),
            protocol: Protocol::default(),
            poll_setting: PollSetting::default(),
            status: ConnectionStatus::default(),
            session: None,
            dialled: None,
            next_generation: 1,
            poll: None,
            poll_command: PollCommand::Idle,
            draft: Draft::new(r#"{"temperature": 21.5, "humidity": 40}"#, JSON),
            draft_error: None,
            burst_form: BurstForm::default(),
            burst: None,
            sends: Vec::new(),
            inbox: Vec::new(),
            next_inbox_id: 1,
        }
    }
}

/// Everything that changes the device pane.
#[derive(Clone, Debug, PartialEq)]
pub enum DeviceAction {
    /// Switch between demo device and pasted string.
    SetSource(Source),
    /// Choose a demo device.
    SelectDemo(Option<String>),
    /// Edit the pasted connection string.
    EditPasted(Secret),
    /// SAS source: edit the host name.
    EditSasHost(String),
    /// SAS source: edit the device id.
    EditSasDevice(String),
    /// SAS source: edit the token.
    EditSasToken(Secret),
    /// Choose the transport.
    SetProtocol(Protocol),
    /// Edit the development poll interval (seconds, as typed).
    EditPollSecs(String),
    /// Choose the production poll interval (or go back to the development one).
    SetPollProduction(bool),
    /// Start a connection with these credentials (replaces any current one).
    Connect {
        /// Connection string to use.
        connection_string: Secret,
        /// The page's devhub, when the hub URL points at one: identities on its host dial it.
        devhub: Option<DevhubTarget>,
    },
    /// Connect could not even start (no device chosen, no hub URL): say why.
    ConnectRejected(String),
    /// Close the connection.
    Disconnect,
    /// A status report from the client of session `generation`.
    Client {
        /// Session the report belongs to.
        generation: u64,
        /// New status.
        status: ConnectionStatus,
    },
    /// The poller of session `generation` as it is now (sent several times a second).
    Poll {
        /// Session the report belongs to.
        generation: u64,
        /// Poller state.
        view: PollView,
    },
    /// Poll now was handed to the client of session `generation`.
    PollNowStarted {
        /// Session.
        generation: u64,
    },
    /// Poll now finished: messages received, or why it failed.
    PollNowFinished {
        /// Session.
        generation: u64,
        /// Result.
        result: Result<usize, String>,
    },
    /// Pausing or resuming the poller failed.
    PollCommandFailed {
        /// Session.
        generation: u64,
        /// Why.
        reason: String,
    },
    /// Edit the D2C composer.
    Draft(DraftEdit),
    /// Send was refused before reaching the client (draft invalid, not connected).
    SendRejected(String),
    /// A send was handed to the client.
    SendStarted {
        /// Local id.
        id: u64,
        /// Message id, if set.
        message_id: Option<String>,
        /// Body size.
        body_bytes: usize,
    },
    /// A send finished.
    SendFinished {
        /// Local id.
        id: u64,
        /// Result (never `Pending`).
        outcome: SendOutcome,
    },
    /// Edit the send-N-times form.
    BurstForm(BurstFormEdit),
    /// A send-N-times run started.
    BurstStarted {
        /// Run id (local).
        run: u64,
        /// Messages to send.
        total: u32,
        /// Messages per second.
        rate: f64,
    },
    /// Run `run` could not start (bad form, no connection, bad draft).
    BurstRejected(String),
    /// One message of run `run` was handed to the client.
    BurstSent {
        /// Run id.
        run: u64,
    },
    /// One message of run `run` ended: acknowledged, or why not.
    BurstResult {
        /// Run id.
        run: u64,
        /// Result.
        result: Result<(), String>,
    },
    /// Run `run` stops handing out messages (Stop, or the connection ended).
    BurstStopped {
        /// Run id.
        run: u64,
        /// Why, for the user.
        reason: String,
    },
    /// A C2D message arrived for session `generation`.
    Received {
        /// Session the message belongs to.
        generation: u64,
        /// The message.
        message: InboxMessage,
    },
    /// A settle request for inbox entry `id` was handed to the client.
    SettleStarted {
        /// Inbox entry.
        id: u64,
        /// Operation.
        op: SettleOp,
    },
    /// A settle request finished.
    SettleFinished {
        /// Inbox entry.
        id: u64,
        /// Operation.
        op: SettleOp,
        /// Result.
        result: Result<(), String>,
    },
    /// Empty the inbox.
    ClearInbox,
}

impl DeviceState {
    /// Applies one action. Pure: the connection provider performs the effects.
    pub fn apply(&mut self, action: DeviceAction) {
        match action {
            DeviceAction::SetSource(source) => self.source = source,
            DeviceAction::SelectDemo(id) => self.demo_device = id,
            DeviceAction::EditPasted(text) => self.pasted = text,
            DeviceAction::EditSasHost(host) => self.sas_host = host,
            DeviceAction::EditSasDevice(id) => self.sas_device_id = id,
            DeviceAction::EditSasToken(token) => self.sas_token = token,
            DeviceAction::SetProtocol(protocol) => self.protocol = protocol,
            DeviceAction::EditPollSecs(secs) => self.poll_setting.dev_secs = secs,
            DeviceAction::SetPollProduction(production) => {
                self.poll_setting.production = production;
            }
            DeviceAction::Connect {
                connection_string,
                devhub,
            } => self.connect(connection_string, devhub.as_ref()),
            DeviceAction::ConnectRejected(reason) => {
                self.end_session();
                self.status = ConnectionStatus::Failed { reason };
            }
            DeviceAction::Disconnect => {
                self.end_session();
                self.status = ConnectionStatus::Disconnected;
            }
            DeviceAction::Client { generation, status } => {
                if self.current_generation() != Some(generation) {
                    return;
                }
                // A client that has given up or closed is done: drop the session so the effect
                // tears it down and Connect becomes available again.
                if matches!(
                    status,
                    ConnectionStatus::Failed { .. } | ConnectionStatus::Disconnected
                ) {
                    self.end_session();
                }
                self.status = status;
            }
            DeviceAction::Poll { generation, view } => {
                if self.current_generation() == Some(generation) {
                    self.poll = Some(view);
                }
            }
            DeviceAction::PollNowStarted { generation } => {
                if self.current_generation() == Some(generation) {
                    self.poll_command = PollCommand::PollingNow;
                }
            }
            DeviceAction::PollNowFinished { generation, result } => {
                if self.current_generation() == Some(generation) {
                    self.poll_command = match result {
                        Ok(received) => PollCommand::Polled { received },
                        Err(reason) => PollCommand::Failed(reason),
                    };
                }
            }
            DeviceAction::PollCommandFailed { generation, reason } => {
                if self.current_generation() == Some(generation) {
                    self.poll_command = PollCommand::Failed(reason);
                }
            }
            DeviceAction::Draft(edit) => {
                self.draft.apply(edit);
                self.draft_error = None;
            }
            DeviceAction::SendRejected(reason) => self.draft_error = Some(reason),
            DeviceAction::SendStarted {
                id,
                message_id,
                body_bytes,
            } => {
                self.draft_error = None;
                self.sends.insert(
                    0,
                    SendRecord {
                        id,
                        message_id,
                        body_bytes,
                        outcome: SendOutcome::Pending,
                    },
                );
                self.sends.truncate(MAX_SENDS);
            }
            DeviceAction::SendFinished { id, outcome } => {
                if let Some(record) = self.sends.iter_mut().find(|r| r.id == id) {
                    record.outcome = outcome;
                }
            }
            DeviceAction::Received {
                generation,
                message,
            } => self.receive(generation, message),
            DeviceAction::SettleStarted { id, op } => {
                if let Some(entry) = self.inbox.iter_mut().find(|e| e.id == id) {
                    if entry.settle.can_settle() {
                        entry.settle = SettleState::Settling(op);
                    }
                }
            }
            DeviceAction::SettleFinished { id, op, result } => {
                if let Some(entry) = self.inbox.iter_mut().find(|e| e.id == id) {
                    entry.settle = match result {
                        Ok(()) => SettleState::Settled(op),
                        Err(reason) => SettleState::Failed { op, reason },
                    };
                }
            }
            DeviceAction::ClearInbox => self.inbox.clear(),
            DeviceAction::BurstForm(edit) => {
                match edit {
                    BurstFormEdit::Count(count) => self.burst_form.count = count,
                    BurstFormEdit::Rate(rate) => self.burst_form.rate = rate,
                }
                self.burst_form.error = None;
            }
            DeviceAction::BurstRejected(reason) => self.burst_form.error = Some(reason),
            DeviceAction::BurstStarted { run, total, rate } => {
                self.burst_form.error = None;
                self.burst = Some(Burst::new(run, total, rate));
            }
            DeviceAction::BurstSent { run } => {
                if let Some(burst) = self.burst.as_mut().filter(|b| b.run == run) {
                    burst.sent = burst.sent.saturating_add(1).min(burst.total);
                }
            }
            DeviceAction::BurstResult { run, result } => {
                if let Some(burst) = self.burst.as_mut().filter(|b| b.run == run) {
                    burst.settled(result);
                }
            }
            DeviceAction::BurstStopped { run, reason } => {
                if let Some(burst) = self.burst.as_mut().filter(|b| b.run == run) {
                    if burst.sent < burst.total {
                        burst.stopped = Some(reason);
                    }
                }
            }
        }
    }

    /// The inbox entry with this id.
    pub fn inbox_entry(&self, id: u64) -> Option<&InboxEntry> {
        self.inbox.iter().find(|e| e.id == id)
    }

    fn current_generation(&self) -> Option<u64> {
        self.session.as_ref().map(|s| s.generation)
    }

    /// Forgets the current session and what only it could do: its poller, and the locks of
    /// the messages it received but did not settle.
    fn end_session(&mut self) {
        if let Some(ended) = self.session.take() {
            for entry in &mut self.inbox {
                if entry.generation == ended.generation && entry.settle == SettleState::Locked {
                    entry.settle = SettleState::Unsettled;
                }
            }
        }
        self.poll = None;
        self.poll_command = PollCommand::Idle;
    }

    fn receive(&mut self, generation: u64, mut message: InboxMessage) {
        let Some(session) = self.session.as_ref().filter(|s| s.generation == generation) else {
            return;
        };
        let protocol = session.protocol;
        let settle = match protocol.settlement() {
            Settlement::OnReceipt => {
                // The token is client-local bookkeeping there, nothing the user can use.
                message.lock_token = None;
                SettleState::CompletedOnReceipt
            }
            Settlement::Explicit => SettleState::Locked,
        };
        // The same message again in this session: its earlier lock has run out.
        if let Some(seq) = message.delivery.as_ref().map(|d| d.sequence_number) {
            for entry in &mut self.inbox {
                let same = entry.generation == generation
                    && entry.message.delivery.as_ref().map(|d| d.sequence_number) == Some(seq);
                if same && entry.settle.can_settle() {
                    entry.settle = SettleState::Redelivered;
                }
            }
        }
        let id = self.next_inbox_id;
        self.next_inbox_id += 1;
        self.inbox.insert(
            0,
            InboxEntry {
                id,
                generation,
                protocol,
                message,
                settle,
            },
        );
        self.inbox.truncate(MAX_INBOX);
    }

    fn connect(&mut self, connection_string: Secret, devhub: Option<&DevhubTarget>) {
        // Any earlier connection ends here, whether or not the new one can start.
        self.end_session();
        self.dialled = None;
        let parsed = match ConnectionString::parse(connection_string.expose().trim()) {
            Ok(parsed) => parsed,
            Err(e) => {
                self.status = ConnectionStatus::Failed {
                    reason: format!("invalid connection string: {e}"),
                };
                return;
            }
        };
        let token_expires = match &parsed.auth {
            Authentication::X509 => {
                self.status = ConnectionStatus::Failed {
                    reason: "X.509 device authentication is not available in the browser".into(),
                };
                return;
            }
            Authentication::SharedAccessSignature(token) => Some(token.expiry()),
            _ => None,
        };
        let poll = if self.protocol.polls() {
            match self.poll_setting.choice() {
                Ok(choice) => Some(choice),
                Err(reason) => {
                    self.status = ConnectionStatus::Failed { reason };
                    return;
                }
            }
        } else {
            None
        };
        let host_name = parsed.connect_host().to_owned();
        let endpoint = devhub.and_then(|d| d.endpoint_for(&host_name, self.protocol));
        let generation = self.next_generation;
        self.next_generation += 1;
        let session = Session {
            generation,
            device_id: parsed.device_id.as_str().to_owned(),
            connection_string: Secret::new(connection_string.expose().trim()),
            host_name,
            endpoint,
            token_expires,
            protocol: self.protocol,
            poll,
        };
        self.dialled = Some(Dialled {
            url: session.dial_url(),
            via_devhub: session.via_devhub(),
            token_expires: session.token_expires,
        });
        self.session = Some(session);
        self.status = ConnectionStatus::Connecting;
    }

    /// The connection string Connect uses for the chosen source: the demo device's (given by
    /// the caller, who has the hub's list), the pasted one, or one built from the SAS fields.
    pub fn credentials(&self, demo: Option<&Secret>) -> Result<Secret, String> {
        match self.source {
            Source::Demo => demo
                .cloned()
                .ok_or_else(|| "choose a demo device first".to_owned()),
            Source::Pasted if self.pasted.expose().trim().is_empty() => {
                Err("paste a device connection string first".to_owned())
            }
            Source::Pasted => Ok(self.pasted.clone()),
            Source::Sas => {
                sas_connection_string(&self.sas_host, &self.sas_device_id, self.sas_token.expose())
            }
        }
    }
}

/// `HostName=…;DeviceId=…;SharedAccessSignature=…` from the SAS source's fields, checked.
pub fn sas_connection_string(host: &str, device_id: &str, token: &str) -> Result<Secret, String> {
    let (host, device_id, token) = (host.trim(), device_id.trim(), token.trim());
    if host.is_empty() {
        return Err("enter the hub host name, e.g. myhub.azure-devices.net".into());
    }
    if device_id.is_empty() {
        return Err("enter the device id".into());
    }
    if !token.starts_with("SharedAccessSignature ") {
        return Err("the token must start with “SharedAccessSignature sr=”".into());
    }
    // `;` separates connection-string fields: a value containing one would be cut short.
    if [host, device_id, token].iter().any(|v| v.contains(';')) {
        return Err("host name, device id and token may not contain ';'".into());
    }
    Ok(Secret::new(format!(
        "HostName={host};DeviceId={device_id};SharedAccessSignature={token}"
    )))
}

/// The send-N-times form, as typed.
#[derive(Clone, Debug, PartialEq)]
pub struct BurstForm {
    /// How many messages.
    pub count: String,
    /// Messages per second.
    pub rate: String,
    /// Why the last start was refused.
    pub error: Option<String>,
}

impl Default for BurstForm {
    fn default() -> Self {
        Self {
            count: "20".into(),
            rate: "10".into(),
            error: None,
        }
    }
}

/// The most messages one run may send.
pub const MAX_BURST: u32 = 10_000;
/// The highest rate a run may ask for, in messages per second.
pub const MAX_BURST_RATE: f64 = 1_000.0;

impl BurstForm {
    /// The count and rate, or why they cannot be used.
    pub fn parse(&self) -> Result<(u32, f64), String> {
        let count = match self.count.trim().parse::<u32>() {
            Ok(n @ 1..=MAX_BURST) => n,
            _ => return Err(format!("count: enter a whole number from 1 to {MAX_BURST}")),
        };
        let rate = match parse_decimal(self.rate.trim()) {
            Some(r) if r.is_finite() && r > 0.0 && r <= MAX_BURST_RATE => r,
            _ => {
                return Err(format!(
                    "rate: enter messages per second, more than 0 and at most {}",
                    Num(MAX_BURST_RATE)
                ))
            }
        };
        Ok((count, rate))
    }
}

/// An edit to the send-N-times form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BurstFormEdit {
    /// Count, as typed.
    Count(String),
    /// Rate, as typed.
    Rate(String),
}

/// One send-N-times run: what was handed to the client and how each message ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Burst {
    /// Run id.
    pub run: u64,
    /// Messages asked for.
    pub total: u32,
    /// Messages per second asked for.
    pub rate: f64,
    /// Handed to the client.
    pub sent: u32,
    /// Acknowledged by the hub.
    pub acked: u32,
    /// Failed (the first reason is kept).
    pub failed: u32,
    /// The first failure's reason.
    pub first_error: Option<String>,
    /// Why the run stopped before sending everything, if it did.
    pub stopped: Option<String>,
}

impl Burst {
    /// A run that has sent nothing yet.
    pub fn new(run: u64, total: u32, rate: f64) -> Self {
        Self {
            run,
            total,
            rate,
            sent: 0,
            acked: 0,
            failed: 0,
            first_error: None,
            stopped: None,
        }
    }

    fn settled(&mut self, result: Result<(), String>) {
        // Never count more results than messages handed out.
        if self.acked + self.failed >= self.sent {
            return;
        }
        match result {
            Ok(()) => self.acked += 1,
            Err(reason) => {
                self.failed += 1;
                self.first_error.get_or_insert(reason);
            }
        }
    }

    /// Messages handed out and not yet acknowledged or failed.
    pub fn in_flight(&self) -> u32 {
        self.sent - self.acked - self.failed
    }

    /// Whether nothing more will happen: all sent (or stopped) and every result in.
    pub fn finished(&self) -> bool {
        (self.sent == self.total || self.stopped.is_some()) && self.in_flight() == 0
    }

    /// Whether the run is still sending or waiting for results.
    pub fn running(&self) -> bool {
        !self.finished()
    }

    /// The message id of message `index` (1-based) of a run: the draft's id with `-index`
    /// appended, so each message is distinct; no id when the draft sets none.
    pub fn message_id(base: Option<&str>, index: u32) -> Option<String> {
        base.map(|b| format!("{b}-{index}"))
    }
}

impl Reducible for DeviceState {
    type Action = DeviceAction;

    fn reduce(self: Rc<Self>, action: DeviceAction) -> Rc<Self> {
        // Poller reports arrive several times a second; one that changes nothing must not
        // re-render the pane (Yew skips the render when the same Rc comes back).
        if let DeviceAction::Poll { generation, view } = &action {
            if self.current_generation() != Some(*generation) || self.poll == Some(*view) {
                return self;
            }
        }
        let mut next = Rc::unwrap_or_clone(self);
        next.apply(action);
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hubwire_iothub::message::ReceivedInfo;

    const GOOD: &str = "HostName=localhost;DeviceId=demo-device-1;SharedAccessKey=c2VjcmV0a2V5";
    const ENDPOINT: &str = "ws://127.0.0.1:8090/$iothub/websocket?iothub-no-client-cert=true";
    const HTTP_ENDPOINT: &str = "http://127.0.0.1:8090";

    fn devhub() -> DevhubTarget {
        DevhubTarget {
            url: HubUrl::parse("http://127.0.0.1:8090").unwrap(),
            host_name: "localhost".into(),
        }
    }

    fn connected() -> DeviceState {
        let mut state = DeviceState::default();
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new(GOOD),
            devhub: Some(devhub()),
        });
        state
    }

    fn connected_https() -> DeviceState {
        let mut state = DeviceState::default();
        state.apply(DeviceAction::SetProtocol(Protocol::Https));
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new(GOOD),
            devhub: Some(devhub()),
        });
        let generation = generation(&state);
        state.apply(DeviceAction::Client {
            generation,
            status: ConnectionStatus::Connected,
        });
        state
    }

    fn generation(state: &DeviceState) -> u64 {
        state.session.as_ref().map(|s| s.generation).unwrap()
    }

    /// An HTTPS delivery as the client hands it over.
    fn https_message(seq: u64, delivery_count: u32, token: &str) -> InboxMessage {
        let message = Message::new("turn on")
            .with_message_id("c2d-1")
            .with_received(ReceivedInfo::new(
                delivery_count,
                seq,
                None,
                Some(token.into()),
            ));
        InboxMessage::from_message(&message, Some(token.into()), "12:00:01".into())
    }

    fn poll_view(next_poll_in_secs: Option<u64>) -> PollView {
        PollView {
            interval_secs: 5,
            development: true,
            running: true,
            polling: next_poll_in_secs.is_none(),
            next_poll_in_secs,
            cycles: 1,
            failures: 0,
        }
    }

    #[test]
    fn connect_opens_a_session_and_reports_connecting() {
        let state = connected();
        let session = state.session.clone().unwrap();
        assert_eq!(session.device_id, "demo-device-1");
        assert_eq!(session.endpoint.as_deref(), Some(ENDPOINT));
        assert_eq!(session.protocol, Protocol::MqttWs);
        assert_eq!(session.poll, None, "MQTT does not poll");
        assert_eq!(state.status, ConnectionStatus::Connecting);
        // The key never shows in Debug output of the state.
        let debug = format!("{state:?}");
        assert!(!debug.contains("c2VjcmV0a2V5"), "{debug}");
    }

    #[test]
    fn each_connect_gets_a_new_generation() {
        let mut state = connected();
        let first = generation(&state);
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new(GOOD),
            devhub: Some(devhub()),
        });
        assert!(generation(&state) > first);
    }

    #[test]
    fn invalid_connection_string_fails_without_a_session() {
        let mut state = connected();
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new("HostName=localhost;DeviceId=d"),
            devhub: Some(devhub()),
        });
        assert!(state.session.is_none());
        match &state.status {
            ConnectionStatus::Failed { reason } => {
                assert!(reason.starts_with("invalid connection string"), "{reason}")
            }
            other => panic!("unexpected status {other:?}"),
        }
    }

    #[test]
    fn an_identity_on_another_host_dials_that_hub_directly() {
        let mut state = DeviceState::default();
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new(
                "HostName=myhub.azure-devices.net;DeviceId=d1;SharedAccessKey=c2VjcmV0a2V5",
            ),
            devhub: Some(devhub()),
        });
        let session = state.session.clone().unwrap();
        assert_eq!(session.endpoint, None, "not the devhub's host: no override");
        assert!(!session.via_devhub());
        assert_eq!(
            session.dial_url(),
            "wss://myhub.azure-devices.net/$iothub/websocket"
        );
        assert_eq!(
            session.token_expires, None,
            "a key is renewed, it has no fixed expiry"
        );

        // HTTPS goes to the host's HTTPS base; no devhub at all behaves the same.
        state.apply(DeviceAction::SetProtocol(Protocol::Https));
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new(
                "HostName=myhub.azure-devices.net;DeviceId=d1;SharedAccessKey=c2VjcmV0a2V5",
            ),
            devhub: None,
        });
        let session = state.session.clone().unwrap();
        assert_eq!(session.dial_url(), "https://myhub.azure-devices.net");

        // The endpoint stays on show after the connection fails.
        let generation = session.generation;
        state.apply(DeviceAction::Client {
            generation,
            status: ConnectionStatus::Failed {
                reason: "unreachable".into(),
            },
        });
        assert!(state.session.is_none());
        let dialled = state.dialled.clone().unwrap();
        assert_eq!(dialled.url, "https://myhub.azure-devices.net");
        assert!(!dialled.via_devhub);
        // A connect that cannot start clears it.
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new("nonsense"),
            devhub: None,
        });
        assert_eq!(state.dialled, None);
    }

    #[test]
    fn an_identity_on_the_devhub_host_dials_the_hub_url() {
        let mut state = DeviceState::default();
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new(
                "HostName=LOCALHOST;DeviceId=d1;SharedAccessKey=c2VjcmV0a2V5",
            ),
            devhub: Some(devhub()),
        });
        let session = state.session.clone().unwrap();
        assert!(session.via_devhub(), "host names compare without case");
        assert_eq!(session.dial_url(), ENDPOINT);
    }

    const TOKEN: &str = "SharedAccessSignature sr=myhub.azure-devices.net%2Fdevices%2Fd1&sig=gFSfLGMXDOvf906%2FiaX3KwzLLNFHgaFZyCbsGjxtd1Y%3D&se=1700000000";

    #[test]
    fn sas_source_builds_a_fixed_token_identity_with_its_expiry() {
        let mut state = DeviceState::default();
        state.apply(DeviceAction::SetSource(Source::Sas));
        assert!(state.credentials(None).is_err(), "empty fields are refused");
        state.apply(DeviceAction::EditSasHost(
            " myhub.azure-devices.net ".into(),
        ));
        state.apply(DeviceAction::EditSasDevice("d1".into()));
        state.apply(DeviceAction::EditSasToken(Secret::new("sig=abc")));
        let err = state.credentials(None).unwrap_err();
        assert!(err.contains("SharedAccessSignature"), "{err}");
        state.apply(DeviceAction::EditSasToken(Secret::new(TOKEN)));
        let credentials = state.credentials(None).unwrap();
        assert_eq!(
            credentials.expose(),
            format!("HostName=myhub.azure-devices.net;DeviceId=d1;SharedAccessSignature={TOKEN}")
        );
        state.apply(DeviceAction::Connect {
            connection_string: credentials,
            devhub: Some(devhub()),
        });
        let session = state.session.clone().unwrap();
        assert_eq!(session.token_expires, Some(1_700_000_000));
        assert_eq!(session.device_id, "d1");
        assert!(!session.via_devhub());
        let debug = format!("{state:?} {session:?}");
        assert!(
            !debug.contains("gFSf"),
            "the token stays out of Debug: {debug}"
        );
    }

    #[test]
    fn sas_fields_with_separators_are_refused() {
        assert!(sas_connection_string("h;x", "d", TOKEN).is_err());
        assert!(sas_connection_string("h", "", TOKEN).is_err());
        assert!(sas_connection_string("", "d", TOKEN).is_err());
    }

    #[test]
    fn credentials_follow_the_source() {
        let mut state = DeviceState::default();
        assert_eq!(
            state.credentials(None).unwrap_err(),
            "choose a demo device first"
        );
        assert_eq!(
            state
                .credentials(Some(&Secret::new(GOOD)))
                .unwrap()
                .expose(),
            GOOD
        );
        state.apply(DeviceAction::SetSource(Source::Pasted));
        assert!(state.credentials(Some(&Secret::new(GOOD))).is_err());
        state.apply(DeviceAction::EditPasted(Secret::new(GOOD)));
        assert_eq!(state.credentials(None).unwrap().expose(), GOOD);
    }

    #[test]
    fn source_round_trips_through_its_form_value() {
        for source in Source::ALL {
            assert_eq!(Source::parse(source.as_str()), Some(source));
        }
        assert_eq!(Source::parse("x509"), None);
    }

    #[test]
    fn burst_form_is_validated() {
        let mut form = BurstForm::default();
        assert_eq!(form.parse(), Ok((20, 10.0)));
        form.count = "0".into();
        assert!(form.parse().unwrap_err().starts_with("count"));
        form.count = "5".into();
        form.rate = "-1".into();
        assert!(form.parse().unwrap_err().starts_with("rate"));
        form.rate = "NaN".into();
        assert!(form.parse().is_err());
        form.rate = "0.5".into();
        assert_eq!(form.parse(), Ok((5, 0.5)));
    }

    #[test]
    fn burst_counts_sent_acked_and_failed_until_finished() {
        let mut state = connected();
        state.apply(DeviceAction::BurstStarted {
            run: 7,
            total: 3,
            rate: 10.0,
        });
        for _ in 0..3 {
            state.apply(DeviceAction::BurstSent { run: 7 });
        }
        // Reports of another run change nothing.
        state.apply(DeviceAction::BurstSent { run: 6 });
        state.apply(DeviceAction::BurstResult {
            run: 7,
            result: Ok(()),
        });
        let burst = state.burst.clone().unwrap();
        assert_eq!((burst.sent, burst.acked, burst.in_flight()), (3, 1, 2));
        assert!(burst.running());
        state.apply(DeviceAction::BurstResult {
            run: 7,
            result: Err("timed out".into()),
        });
        state.apply(DeviceAction::BurstResult {
            run: 7,
            result: Ok(()),
        });
        // A surplus result is not counted.
        state.apply(DeviceAction::BurstResult {
            run: 7,
            result: Ok(()),
        });
        let burst = state.burst.clone().unwrap();
        assert_eq!((burst.acked, burst.failed), (2, 1));
        assert_eq!(burst.first_error.as_deref(), Some("timed out"));
        assert!(burst.finished());
    }

    #[test]
    fn a_stopped_burst_finishes_when_its_sends_are_in() {
        let mut state = connected();
        state.apply(DeviceAction::BurstStarted {
            run: 1,
            total: 10,
            rate: 1.0,
        });
        state.apply(DeviceAction::BurstSent { run: 1 });
        state.apply(DeviceAction::BurstStopped {
            run: 1,
            reason: "stopped".into(),
        });
        assert!(
            state.burst.as_ref().unwrap().running(),
            "one still in flight"
        );
        state.apply(DeviceAction::BurstResult {
            run: 1,
            result: Ok(()),
        });
        let burst = state.burst.clone().unwrap();
        assert!(burst.finished());
        assert_eq!(burst.stopped.as_deref(), Some("stopped"));
        assert_eq!((burst.sent, burst.acked), (1, 1));
    }

    #[test]
    fn burst_message_ids_are_numbered() {
        assert_eq!(Burst::message_id(Some("m"), 3).as_deref(), Some("m-3"));
        assert_eq!(Burst::message_id(None, 3), None);
    }

    #[test]
    fn client_reports_for_old_sessions_are_ignored() {
        let mut state = connected();
        let old = generation(&state);
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new(GOOD),
            devhub: Some(devhub()),
        });
        state.apply(DeviceAction::Client {
            generation: old,
            status: ConnectionStatus::Failed {
                reason: "closed".into(),
            },
        });
        assert_eq!(state.status, ConnectionStatus::Connecting);
        assert!(state.session.is_some());
        state.apply(DeviceAction::Received {
            generation: old,
            message: InboxMessage::from_message(&Message::new("late"), None, "00:00:00".into()),
        });
        assert!(state.inbox.is_empty());
    }

    #[test]
    fn status_flow_connected_reconnecting_failed_ends_the_session() {
        let mut state = connected();
        let generation = generation(&state);
        state.apply(DeviceAction::Client {
            generation,
            status: ConnectionStatus::Connected,
        });
        assert_eq!(state.status, ConnectionStatus::Connected);
        let reconnecting = ConnectionStatus::Reconnecting {
            attempt: 2,
            retry_in_ms: Some(4000),
            next_try_at: Some("12:00:04".into()),
            reason: "socket closed".into(),
        };
        state.apply(DeviceAction::Client {
            generation,
            status: reconnecting.clone(),
        });
        assert_eq!(state.status, reconnecting);
        assert!(state.session.is_some(), "retrying keeps the session");
        state.apply(DeviceAction::Client {
            generation,
            status: ConnectionStatus::Failed {
                reason: "not authorized".into(),
            },
        });
        assert!(state.session.is_none());
        assert!(!state.status.is_active());
    }

    #[test]
    fn rejected_connect_ends_the_current_session() {
        let mut state = connected();
        state.apply(DeviceAction::ConnectRejected("choose a demo device".into()));
        assert!(state.session.is_none());
        assert_eq!(
            state.status,
            ConnectionStatus::Failed {
                reason: "choose a demo device".into()
            }
        );
    }

    #[test]
    fn disconnect_clears_the_session() {
        let mut state = connected();
        state.apply(DeviceAction::Disconnect);
        assert!(state.session.is_none());
        assert_eq!(state.status, ConnectionStatus::Disconnected);
    }

    #[test]
    fn sends_are_listed_newest_first_and_completed_by_id() {
        let mut state = connected();
        for id in 1..=3 {
            state.apply(DeviceAction::SendStarted {
                id,
                message_id: None,
                body_bytes: 10,
            });
        }
        state.apply(DeviceAction::SendFinished {
            id: 2,
            outcome: SendOutcome::Acked {
                latency_ms: 4.5,
                wire_bytes: Some(96),
            },
        });
        let ids: Vec<u64> = state.sends.iter().map(|s| s.id).collect();
        assert_eq!(ids, vec![3, 2, 1]);
        assert_eq!(state.sends[0].outcome, SendOutcome::Pending);
        assert_eq!(
            state.sends[1].outcome,
            SendOutcome::Acked {
                latency_ms: 4.5,
                wire_bytes: Some(96)
            }
        );
        for id in 4..=40 {
            state.apply(DeviceAction::SendStarted {
                id,
                message_id: None,
                body_bytes: 1,
            });
        }
        assert_eq!(state.sends.len(), MAX_SENDS);
        assert_eq!(state.sends[0].id, 40);
    }

    #[test]
    fn rejected_send_shows_until_the_draft_changes() {
        let mut state = connected();
        state.apply(DeviceAction::SendRejected("body is not valid JSON".into()));
        assert_eq!(state.draft_error.as_deref(), Some("body is not valid JSON"));
        state.apply(DeviceAction::Draft(DraftEdit::Body("{}".into())));
        assert_eq!(state.draft_error, None);
    }

    #[test]
    fn inbox_flattens_received_messages() {
        let mut state = connected();
        let generation = generation(&state);
        let message = Message::new("turn on")
            .with_message_id("c2d-1")
            .with_content_type("text/plain")
            .with_property("level", "3")
            .with_received(ReceivedInfo::new(1, 42, None, None));
        state.apply(DeviceAction::Received {
            generation,
            message: InboxMessage::from_message(&message, None, "12:00:01".into()),
        });
        let entry = &state.inbox[0].message;
        assert_eq!(entry.body, "turn on");
        assert!(entry.body_is_text);
        assert_eq!(entry.properties, vec![("level".into(), "3".into())]);
        assert!(entry.system.contains(&("messageId", "c2d-1".into())));
        assert_eq!(
            entry.delivery,
            Some(Delivery {
                sequence_number: 42,
                delivery_count: 1,
                enqueued_time: None
            })
        );
        assert_eq!(entry.received_at, "12:00:01");
        let binary =
            InboxMessage::from_message(&Message::new(vec![0xff, 0xfe]), None, String::new());
        assert!(!binary.body_is_text);
        assert_eq!(binary.body, "(2 bytes of binary data)");
        assert_eq!(binary.delivery, None);
        state.apply(DeviceAction::ClearInbox);
        assert!(state.inbox.is_empty());
    }

    #[test]
    fn protocol_round_trips_through_its_form_value() {
        for p in Protocol::AVAILABLE {
            assert_eq!(Protocol::parse(p.as_str()), Some(*p));
        }
        assert_eq!(Protocol::parse("carrier-pigeon"), None);
    }

    #[test]
    fn protocols_say_how_they_settle_and_whether_they_poll() {
        assert_eq!(Protocol::MqttWs.settlement(), Settlement::OnReceipt);
        assert!(!Protocol::MqttWs.polls());
        assert_eq!(Protocol::Https.settlement(), Settlement::Explicit);
        assert!(Protocol::Https.polls());
        assert!(Protocol::AVAILABLE.contains(&Protocol::Https));
        assert!(Protocol::AVAILABLE.contains(&Protocol::AmqpWs));
        assert_eq!(Protocol::AmqpWs.settlement(), Settlement::Explicit);
        assert!(!Protocol::AmqpWs.polls());
        assert!(Protocol::AmqpWs.uses_websocket() && Protocol::MqttWs.uses_websocket());
        assert!(!Protocol::Https.uses_websocket());
    }

    #[test]
    fn amqp_messages_arrive_locked_and_settle_like_https() {
        let mut state = DeviceState::default();
        state.apply(DeviceAction::SetProtocol(Protocol::AmqpWs));
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new(GOOD),
            devhub: Some(devhub()),
        });
        assert_eq!(state.session.as_ref().and_then(|s| s.poll), None);
        let generation = generation(&state);
        state.apply(DeviceAction::Received {
            generation,
            message: https_message(4, 0, "amqp-lock"),
        });
        let id = state.inbox[0].id;
        assert_eq!(state.inbox[0].settle, SettleState::Locked);
        assert_eq!(
            state.inbox[0].message.lock_token.as_deref(),
            Some("amqp-lock")
        );
        state.apply(DeviceAction::SettleStarted {
            id,
            op: SettleOp::Abandon,
        });
        state.apply(DeviceAction::SettleFinished {
            id,
            op: SettleOp::Abandon,
            result: Ok(()),
        });
        assert_eq!(
            state.inbox_entry(id).unwrap().settle,
            SettleState::Settled(SettleOp::Abandon)
        );
    }

    #[test]
    fn poll_setting_defaults_to_a_short_development_interval() {
        let setting = PollSetting::default();
        assert_eq!(
            setting.choice(),
            Ok(PollChoice::Development {
                secs: DEFAULT_DEV_POLL_SECS
            })
        );
        assert_eq!(DEFAULT_DEV_POLL_SECS, 5);
        assert_eq!(PollChoice::Production.secs(), 1500);
    }

    #[test]
    fn poll_setting_edits_are_validated_at_connect() {
        let mut state = DeviceState::default();
        state.apply(DeviceAction::SetProtocol(Protocol::Https));
        for bad in ["0", "", "2.5", "-1", "1500", "soon"] {
            state.apply(DeviceAction::EditPollSecs(bad.into()));
            state.apply(DeviceAction::Connect {
                connection_string: Secret::new(GOOD),
                devhub: Some(devhub()),
            });
            assert!(state.session.is_none(), "{bad:?} must not connect");
            match &state.status {
                ConnectionStatus::Failed { reason } => {
                    assert!(reason.starts_with("poll interval"), "{reason}")
                }
                other => panic!("unexpected status {other:?}"),
            }
        }
        state.apply(DeviceAction::EditPollSecs(" 30 ".into()));
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new(GOOD),
            devhub: Some(devhub()),
        });
        let session = state.session.clone().unwrap();
        assert_eq!(session.protocol, Protocol::Https);
        assert_eq!(session.endpoint.as_deref(), Some(HTTP_ENDPOINT));
        assert_eq!(session.poll, Some(PollChoice::Development { secs: 30 }));
    }

    #[test]
    fn production_interval_overrides_the_typed_seconds() {
        let mut state = DeviceState::default();
        state.apply(DeviceAction::SetProtocol(Protocol::Https));
        state.apply(DeviceAction::EditPollSecs("not a number".into()));
        state.apply(DeviceAction::SetPollProduction(true));
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new(GOOD),
            devhub: Some(devhub()),
        });
        assert_eq!(
            state.session.as_ref().and_then(|s| s.poll),
            Some(PollChoice::Production)
        );
        state.apply(DeviceAction::SetPollProduction(false));
        assert!(state.poll_setting.choice().is_err());
        assert_eq!(state.poll_setting.dev_secs, "not a number");
    }

    #[test]
    fn countdown_rounds_up_to_whole_seconds() {
        assert_eq!(PollView::countdown_secs(Duration::from_millis(4001)), 5);
        assert_eq!(PollView::countdown_secs(Duration::from_millis(4000)), 4);
        assert_eq!(PollView::countdown_secs(Duration::from_millis(1)), 1);
        assert_eq!(PollView::countdown_secs(Duration::ZERO), 0);
        assert_eq!(PollView::countdown_secs(Duration::from_secs(1500)), 1500);
    }

    #[test]
    fn poll_reports_update_the_current_session_only() {
        let mut state = connected_https();
        let generation = generation(&state);
        state.apply(DeviceAction::Poll {
            generation: generation + 7,
            view: poll_view(Some(3)),
        });
        assert_eq!(state.poll, None);
        state.apply(DeviceAction::Poll {
            generation,
            view: poll_view(Some(3)),
        });
        assert_eq!(state.poll, Some(poll_view(Some(3))));
        state.apply(DeviceAction::Disconnect);
        assert_eq!(state.poll, None, "the countdown ends with the session");
    }

    #[test]
    fn an_unchanged_poll_report_keeps_the_same_state() {
        let state = Rc::new(connected_https());
        let generation = generation(&state);
        let view = poll_view(Some(4));
        let next = state
            .clone()
            .reduce(DeviceAction::Poll { generation, view });
        assert!(!Rc::ptr_eq(&state, &next));
        let same = next.clone().reduce(DeviceAction::Poll { generation, view });
        assert!(Rc::ptr_eq(&next, &same), "no re-render for the same second");
        let later = same.clone().reduce(DeviceAction::Poll {
            generation,
            view: poll_view(Some(3)),
        });
        assert_eq!(later.poll.and_then(|p| p.next_poll_in_secs), Some(3));
        let stale = later.clone().reduce(DeviceAction::Poll {
            generation: generation + 1,
            view: poll_view(Some(1)),
        });
        assert!(Rc::ptr_eq(&later, &stale));
    }

    #[test]
    fn poll_now_reports_progress_and_result() {
        let mut state = connected_https();
        let generation = generation(&state);
        assert_eq!(state.poll_command, PollCommand::Idle);
        state.apply(DeviceAction::PollNowStarted { generation });
        assert_eq!(state.poll_command, PollCommand::PollingNow);
        state.apply(DeviceAction::PollNowFinished {
            generation,
            result: Ok(2),
        });
        assert_eq!(state.poll_command, PollCommand::Polled { received: 2 });
        state.apply(DeviceAction::PollNowFinished {
            generation,
            result: Err("HTTP 503".into()),
        });
        assert_eq!(state.poll_command, PollCommand::Failed("HTTP 503".into()));
        state.apply(DeviceAction::PollCommandFailed {
            generation,
            reason: "client closed".into(),
        });
        assert_eq!(
            state.poll_command,
            PollCommand::Failed("client closed".into())
        );
        // Results for another session are dropped; a new session starts clean.
        state.apply(DeviceAction::PollNowStarted {
            generation: generation + 1,
        });
        assert_eq!(
            state.poll_command,
            PollCommand::Failed("client closed".into())
        );
        state.apply(DeviceAction::Disconnect);
        assert_eq!(state.poll_command, PollCommand::Idle);
    }

    #[test]
    fn https_messages_arrive_locked_with_token_and_delivery_facts() {
        let mut state = connected_https();
        let generation = generation(&state);
        state.apply(DeviceAction::Received {
            generation,
            message: https_message(7, 0, "lock-a"),
        });
        let entry = &state.inbox[0];
        assert_eq!(entry.protocol, Protocol::Https);
        assert_eq!(entry.generation, generation);
        assert_eq!(entry.settle, SettleState::Locked);
        assert!(entry.settle.can_settle());
        assert_eq!(entry.message.lock_token.as_deref(), Some("lock-a"));
        assert_eq!(
            entry.message.delivery.as_ref().map(|d| d.sequence_number),
            Some(7)
        );
    }

    #[test]
    fn mqtt_messages_are_completed_on_receipt_and_hide_the_local_token() {
        let mut state = connected();
        let generation = generation(&state);
        let message = InboxMessage::from_message(
            &Message::new("on"),
            Some("mqtt:1".into()),
            "12:00:00".into(),
        );
        state.apply(DeviceAction::Received {
            generation,
            message,
        });
        let entry = &state.inbox[0];
        assert_eq!(entry.settle, SettleState::CompletedOnReceipt);
        assert!(!entry.settle.can_settle());
        assert_eq!(entry.message.lock_token, None);
        let id = entry.id;
        state.apply(DeviceAction::SettleStarted {
            id,
            op: SettleOp::Abandon,
        });
        assert_eq!(
            state.inbox_entry(id).map(|e| &e.settle),
            Some(&SettleState::CompletedOnReceipt),
            "nothing to settle on MQTT"
        );
    }

    #[test]
    fn settling_goes_from_locked_through_settling_to_settled() {
        let mut state = connected_https();
        let generation = generation(&state);
        state.apply(DeviceAction::Received {
            generation,
            message: https_message(1, 0, "lock-a"),
        });
        let id = state.inbox[0].id;
        state.apply(DeviceAction::SettleStarted {
            id,
            op: SettleOp::Complete,
        });
        assert_eq!(
            state.inbox_entry(id).unwrap().settle,
            SettleState::Settling(SettleOp::Complete)
        );
        // A second click while the first request runs changes nothing.
        state.apply(DeviceAction::SettleStarted {
            id,
            op: SettleOp::Reject,
        });
        assert_eq!(
            state.inbox_entry(id).unwrap().settle,
            SettleState::Settling(SettleOp::Complete)
        );
        state.apply(DeviceAction::SettleFinished {
            id,
            op: SettleOp::Complete,
            result: Ok(()),
        });
        assert_eq!(
            state.inbox_entry(id).unwrap().settle,
            SettleState::Settled(SettleOp::Complete)
        );
        assert!(!state.inbox_entry(id).unwrap().settle.can_settle());
    }

    #[test]
    fn a_failed_settlement_shows_the_error_and_may_be_retried() {
        let mut state = connected_https();
        let generation = generation(&state);
        state.apply(DeviceAction::Received {
            generation,
            message: https_message(1, 0, "lock-a"),
        });
        let id = state.inbox[0].id;
        state.apply(DeviceAction::SettleStarted {
            id,
            op: SettleOp::Reject,
        });
        state.apply(DeviceAction::SettleFinished {
            id,
            op: SettleOp::Reject,
            result: Err("lock lost".into()),
        });
        let settle = &state.inbox_entry(id).unwrap().settle;
        assert_eq!(
            settle,
            &SettleState::Failed {
                op: SettleOp::Reject,
                reason: "lock lost".into()
            }
        );
        assert!(settle.can_settle());
        state.apply(DeviceAction::SettleStarted {
            id,
            op: SettleOp::Complete,
        });
        assert_eq!(
            state.inbox_entry(id).unwrap().settle,
            SettleState::Settling(SettleOp::Complete)
        );
    }

    #[test]
    fn abandon_then_redelivery_is_a_new_entry_with_a_higher_count() {
        let mut state = connected_https();
        let generation = generation(&state);
        state.apply(DeviceAction::Received {
            generation,
            message: https_message(3, 0, "lock-a"),
        });
        let first = state.inbox[0].id;
        state.apply(DeviceAction::SettleStarted {
            id: first,
            op: SettleOp::Abandon,
        });
        state.apply(DeviceAction::SettleFinished {
            id: first,
            op: SettleOp::Abandon,
            result: Ok(()),
        });
        state.apply(DeviceAction::Received {
            generation,
            message: https_message(3, 1, "lock-b"),
        });
        assert_eq!(state.inbox.len(), 2);
        let again = &state.inbox[0];
        assert_ne!(again.id, first);
        assert_eq!(again.settle, SettleState::Locked);
        assert_eq!(again.message.delivery.as_ref().unwrap().delivery_count, 1);
        assert_eq!(again.message.lock_token.as_deref(), Some("lock-b"));
        assert_eq!(
            state.inbox_entry(first).unwrap().settle,
            SettleState::Settled(SettleOp::Abandon),
            "the abandoned copy keeps its outcome"
        );
    }

    #[test]
    fn a_redelivery_after_the_lock_ran_out_supersedes_the_unsettled_copy() {
        let mut state = connected_https();
        let generation = generation(&state);
        state.apply(DeviceAction::Received {
            generation,
            message: https_message(9, 0, "lock-a"),
        });
        let first = state.inbox[0].id;
        state.apply(DeviceAction::Received {
            generation,
            message: https_message(9, 0, "lock-b"),
        });
        assert_eq!(
            state.inbox_entry(first).unwrap().settle,
            SettleState::Redelivered
        );
        assert_eq!(state.inbox[0].settle, SettleState::Locked);
    }

    #[test]
    fn ending_the_session_leaves_locked_messages_unsettled() {
        let mut state = connected_https();
        let generation = generation(&state);
        for seq in 1..=3 {
            state.apply(DeviceAction::Received {
                generation,
                message: https_message(seq, 0, &format!("lock-{seq}")),
            });
        }
        let ids: Vec<u64> = state.inbox.iter().map(|e| e.id).collect();
        state.apply(DeviceAction::SettleStarted {
            id: ids[0],
            op: SettleOp::Complete,
        });
        state.apply(DeviceAction::SettleStarted {
            id: ids[1],
            op: SettleOp::Complete,
        });
        state.apply(DeviceAction::SettleFinished {
            id: ids[1],
            op: SettleOp::Complete,
            result: Ok(()),
        });
        state.apply(DeviceAction::Disconnect);
        let settles: Vec<SettleState> = state.inbox.iter().map(|e| e.settle.clone()).collect();
        assert_eq!(
            settles,
            vec![
                SettleState::Settling(SettleOp::Complete),
                SettleState::Settled(SettleOp::Complete),
                SettleState::Unsettled,
            ]
        );
        // The in-flight request still reports back.
        state.apply(DeviceAction::SettleFinished {
            id: ids[0],
            op: SettleOp::Complete,
            result: Err("closed".into()),
        });
        assert!(matches!(
            state.inbox_entry(ids[0]).unwrap().settle,
            SettleState::Failed { .. }
        ));
    }

    #[test]
    fn unknown_inbox_ids_are_ignored() {
        let mut state = connected_https();
        let before = state.clone();
        state.apply(DeviceAction::SettleStarted {
            id: 99,
            op: SettleOp::Complete,
        });
        state.apply(DeviceAction::SettleFinished {
            id: 99,
            op: SettleOp::Complete,
            result: Ok(()),
        });
        assert_eq!(state, before);
    }

    #[test]
    fn empty_lock_tokens_are_dropped() {
        let message =
            InboxMessage::from_message(&Message::new("x"), Some(String::new()), "".into());
        assert_eq!(message.lock_token, None);
        let from_info =
            Message::new("x").with_received(ReceivedInfo::new(0, 1, None, Some("t".into())));
        assert_eq!(
            InboxMessage::from_message(&from_info, None, "".into())
                .lock_token
                .as_deref(),
            Some("t")
        );
    }
}
