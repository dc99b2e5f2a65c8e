//! The field gateway pane: N simulated devices over one AMQP/WebSocket connection, each
//! sending at a chosen rate.
//!
//! The form is validated into a [`GatewayPlan`] by [`GatewayAction::Start`]; the provider runs
//! the plan and reports back in batches ([`GatewayAction::Events`]) so hundreds of messages a
//! second cost a few renders, not hundreds. Every report carries the run's generation, so a
//! late report from a stopped run changes nothing.

use core::fmt;
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

use hubwire_iothub::secret::Secret;
use hubwire_iothub::ConnectionString;

use crate::format::{parse_decimal, Num};
use crate::state::hub_url::HubUrl;
use crate::state::metrics::percentile;

/// Devices the form starts with.
pub const DEFAULT_DEVICES: u32 = 20;
/// Most devices one run may simulate.
pub const MAX_DEVICES: u32 = 500;
/// Highest rate one device may send at, in messages per second.
pub const MAX_RATE_PER_DEVICE: f64 = 50.0;
/// Highest rate of all devices together: the page, not the hub, is the limit here.
pub const MAX_TOTAL_RATE: f64 = 2_000.0;
/// Sends of one device waiting for the hub at most; a device that reaches it waits for an
/// outcome before sending more, so a slow hub slows the run instead of piling up messages.
pub const MAX_IN_FLIGHT_PER_DEVICE: u32 = 4;
/// Largest body the form builds (the hub's limit is 256 KiB per message).
pub const MAX_BODY_BYTES: usize = 256 * 1024;
/// Latencies kept per device for its median.
pub const LATENCIES_KEPT: usize = 64;
/// The body template the form starts with.
pub const DEFAULT_TEMPLATE: &str = r#"{"device":"{device}","seq":{seq},"temperature":21.5}"#;

/// Where the devices come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum DeviceSource {
    /// Created (or reused) on devhub through its service API, named `{prefix}{number}`.
    #[default]
    Devhub,
    /// One device connection string per line, for any hub.
    Pasted,
}

/// The form as typed.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayForm {
    /// Device source.
    pub source: DeviceSource,
    /// Number of devices (devhub source).
    pub count: String,
    /// Device id prefix (devhub source).
    pub prefix: String,
    /// Pasted connection strings, one per line (contain keys).
    pub pasted: Secret,
    /// Messages per second per device.
    pub rate: String,
    /// Messages per device; empty or 0 sends until stopped.
    pub messages: String,
    /// Body template: `{device}` and `{seq}` are replaced.
    pub template: String,
    /// Pad the body with spaces to at least this many bytes (empty: no padding).
    pub pad_to: String,
}

impl Default for GatewayForm {
    fn default() -> Self {
        Self {
            source: DeviceSource::Devhub,
            count: DEFAULT_DEVICES.to_string(),
            prefix: "gw-".to_owned(),
            pasted: Secret::new(""),
            rate: "1".to_owned(),
            messages: "5".to_owned(),
            template: DEFAULT_TEMPLATE.to_owned(),
            pad_to: String::new(),
        }
    }
}

/// Why the form cannot start a run.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum FormError {
    /// The device count is not a whole number in 1..=[`MAX_DEVICES`].
    Count(String),
    /// The prefix is empty or has characters a device id may not contain.
    Prefix(String),
    /// The rate is not a number in (0, [`MAX_RATE_PER_DEVICE`]].
    Rate(String),
    /// All devices together would exceed [`MAX_TOTAL_RATE`].
    TotalRate {
        /// Devices times rate.
        total: f64,
    },
    /// Messages per device is not a whole number.
    Messages(String),
    /// The padding is not a whole number up to [`MAX_BODY_BYTES`].
    PadTo(String),
    /// The template is empty.
    Template,
    /// No connection strings pasted.
    NothingPasted,
    /// A pasted line is not a device connection string.
    Line {
        /// 1-based line number.
        line: usize,
        /// Parser's reason.
        reason: String,
    },
    /// A pasted line names a module; the gateway carries devices only.
    Module {
        /// 1-based line number.
        line: usize,
    },
    /// A pasted line belongs to another hub than the first line (one connection, one hub).
    HostMismatch {
        /// 1-based line number.
        line: usize,
        /// Host of the first device.
        expected: String,
        /// Host of this line.
        found: String,
    },
    /// The same device id twice.
    Duplicate {
        /// 1-based line number of the repeat.
        line: usize,
        /// Line of the first occurrence.
        first: usize,
        /// The device id.
        device_id: String,
    },
    /// More than [`MAX_DEVICES`] lines.
    TooMany(usize),
    /// Devhub source against a hub that is not devhub.
    NotDevhub,
    /// No valid hub URL.
    NoHub,
}

impl fmt::Display for FormError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Count(v) => write!(
                f,
                "devices: \"{v}\" is not a whole number from 1 to {MAX_DEVICES}"
            ),
            Self::Prefix(v) => write!(
                f,
                "prefix: \"{v}\" must be 1–64 letters, digits or - . _ : characters"
            ),
            Self::Rate(v) => write!(
                f,
                "rate: \"{v}\" is not a number above 0 and at most {} messages/s",
                Num(MAX_RATE_PER_DEVICE)
            ),
            Self::TotalRate { total } => write!(
                f,
                "all devices together would send {} messages/s; the page sends at most {}",
                Num(*total),
                Num(MAX_TOTAL_RATE)
            ),
            Self::Messages(v) => write!(
                f,
                "messages per device: \"{v}\" is not a whole number (0 or empty: until stopped)"
            ),
            Self::PadTo(v) => write!(
                f,
                "body size: \"{v}\" is not a whole number of bytes up to {MAX_BODY_BYTES}"
            ),
            Self::Template => write!(f, "the body template is empty"),
            Self::NothingPasted => write!(f, "paste one device connection string per line"),
            Self::Line { line, reason } => write!(f, "line {line}: {reason}"),
            Self::Module { line } => write!(
                f,
                "line {line}: module identities cannot join the gateway, only devices"
            ),
            Self::HostMismatch {
                line,
                expected,
                found,
            } => write!(
                f,
                "line {line}: HostName {found} differs from {expected} (one gateway connects to one hub)"
            ),
            Self::Duplicate {
                line,
                first,
                device_id,
            } => write!(f, "line {line}: device {device_id} is already on line {first}"),
            Self::TooMany(n) => write!(f, "{n} devices pasted; at most {MAX_DEVICES}"),
            Self::NotDevhub => write!(
                f,
                "this hub is not devhub, so devices cannot be created here: paste connection strings instead"
            ),
            Self::NoHub => write!(f, "set a valid hub URL first"),
        }
    }
}

/// One pasted device.
#[derive(Clone, Debug, PartialEq)]
pub struct PastedDevice {
    /// Its id.
    pub device_id: String,
    /// The whole line.
    pub connection_string: Secret,
}

/// Parses pasted connection strings: one per line; blank lines and lines starting with `#`
/// are skipped. All must be device (not module) strings of one hub, each device once.
/// Returns the devices and their hub's host name.
pub fn parse_pasted(text: &str) -> Result<(Vec<PastedDevice>, String), FormError> {
    let mut devices = Vec::new();
    let mut host: Option<String> = None;
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let cs = ConnectionString::parse(trimmed).map_err(|e| FormError::Line {
            line,
            reason: e.to_string(),
        })?;
        if cs.module_id.is_some() {
            return Err(FormError::Module { line });
        }
        match &host {
            None => host = Some(cs.host_name.clone()),
            Some(h) if !h.eq_ignore_ascii_case(&cs.host_name) => {
                return Err(FormError::HostMismatch {
                    line,
                    expected: h.clone(),
                    found: cs.host_name,
                })
            }
            Some(_) => {}
        }
        let device_id = cs.device_id.as_str().to_owned();
        if let Some(first) = seen.get(&device_id) {
            return Err(FormError::Duplicate {
                line,
                first: *first,
                device_id,
            });
        }
        seen.insert(device_id.clone(), line);
        devices.push(PastedDevice {
            device_id,
            connection_string: Secret::new(trimmed),
        });
    }
    if devices.len() > MAX_DEVICES as usize {
        return Err(FormError::TooMany(devices.len()));
    }
    match host {
        Some(host) if !devices.is_empty() => Ok((devices, host)),
        _ => Err(FormError::NothingPasted),
    }
}

/// Device ids `{prefix}{n}` for n in 1..=count, zero-padded to at least two digits and to the
/// width of `count` (`gw-01 … gw-20`, `gw-001 … gw-500`).
pub fn numbered_ids(prefix: &str, count: u32) -> Vec<String> {
    let width = count.to_string().len().max(2);
    (1..=count)
        .map(|n| format!("{prefix}{n:0width$}"))
        .collect()
}

fn valid_prefix(prefix: &str) -> bool {
    !prefix.is_empty()
        && prefix.len() <= 64
        && prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | ':'))
}

/// The body of message `seq` of `device`: the template with `{device}` and `{seq}` replaced,
/// padded with trailing spaces to `pad_to` bytes when it is shorter.
pub fn render_body(template: &str, device: &str, seq: u64, pad_to: usize) -> String {
    let mut body = template
        .replace("{device}", device)
        .replace("{seq}", &seq.to_string());
    if body.len() < pad_to {
        body.extend(core::iter::repeat_n(' ', pad_to - body.len()));
    }
    body
}

/// Where and how to run the devices.
#[derive(Clone, Debug, PartialEq)]
pub enum PlanDevices {
    /// Create or reuse these ids on devhub at `hub`.
    Devhub {
        /// The devhub service API.
        hub: HubUrl,
        /// Ids to create or reuse.
        ids: Vec<String>,
    },
    /// Use these connection strings.
    Pasted(Vec<PastedDevice>),
}

/// A validated run.
#[derive(Clone, Debug, PartialEq)]
pub struct GatewayPlan {
    /// The devices.
    pub devices: PlanDevices,
    /// The hub host name, when known before the devices are created (pasted devices).
    pub host_name: Option<String>,
    /// WebSocket endpoint override (devhub); `None` dials `wss://{host}/$iothub/websocket`.
    pub endpoint: Option<String>,
    /// Messages per second per device.
    pub rate_per_sec: f64,
    /// Messages per device; `None` until stopped.
    pub messages_per_device: Option<u64>,
    /// Body template.
    pub template: String,
    /// Minimum body size.
    pub pad_to: usize,
}

impl GatewayPlan {
    /// Milliseconds from the run's start at which message `seq` (0-based) of a device is due.
    pub fn due_ms(&self, seq: u64) -> f64 {
        seq as f64 * 1000.0 / self.rate_per_sec
    }
}

/// The hub the run is for, as the app knows it.
#[derive(Clone, Debug, PartialEq)]
pub struct HubTarget {
    /// The hub URL in use.
    pub url: Option<HubUrl>,
    /// Whether that hub is devhub (its service API can create devices).
    pub devhub: bool,
}

impl GatewayForm {
    /// Validates the form into a plan for `target`.
    pub fn plan(&self, target: &HubTarget) -> Result<GatewayPlan, FormError> {
        let rate: f64 = parse_decimal(self.rate.trim())
            .filter(|r: &f64| r.is_finite() && *r > 0.0 && *r <= MAX_RATE_PER_DEVICE)
            .ok_or_else(|| FormError::Rate(self.rate.clone()))?;
        let messages: u64 = match self.messages.trim() {
            "" => 0,
            m => m
                .parse()
                .map_err(|_| FormError::Messages(self.messages.clone()))?,
        };
        let pad_to: usize = match self.pad_to.trim() {
            "" => 0,
            p => p
                .parse()
                .ok()
                .filter(|p| *p <= MAX_BODY_BYTES)
                .ok_or_else(|| FormError::PadTo(self.pad_to.clone()))?,
        };
        if self.template.is_empty() {
            return Err(FormError::Template);
        }
        let (devices, host_name, endpoint, n) = match self.source {
            DeviceSource::Devhub => {
                let count: u32 = self
                    .count
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_DEVICES).contains(n))
                    .ok_or_else(|| FormError::Count(self.count.clone()))?;
                let prefix = self.prefix.trim();
                if !valid_prefix(prefix) {
                    return Err(FormError::Prefix(self.prefix.clone()));
                }
                let hub = target.url.clone().ok_or(FormError::NoHub)?;
                if !target.devhub {
                    return Err(FormError::NotDevhub);
                }
                let endpoint = hub.device_endpoint();
                let ids = numbered_ids(prefix, count);
                (
                    PlanDevices::Devhub { hub, ids },
                    None,
                    Some(endpoint),
                    count,
                )
            }
            DeviceSource::Pasted => {
                let (devices, host) = parse_pasted(self.pasted.expose())?;
                let n = u32::try_from(devices.len()).unwrap_or(u32::MAX);
                // Devhub strings carry devhub's host name but are dialled on its listener.
                let endpoint = match (&target.url, target.devhub) {
                    (Some(url), true) => Some(url.device_endpoint()),
                    _ => None,
                };
                (PlanDevices::Pasted(devices), Some(host), endpoint, n)
            }
        };
        let total = f64::from(n) * rate;
        if total > MAX_TOTAL_RATE {
            return Err(FormError::TotalRate { total });
        }
        Ok(GatewayPlan {
            devices,
            host_name,
            endpoint,
            rate_per_sec: rate,
            messages_per_device: (messages > 0).then_some(messages),
            template: self.template.clone(),
            pad_to,
        })
    }
}

/// A connection's or a device's status.
#[derive(Clone, Debug, PartialEq)]
pub enum LinkStatus {
    /// Not started yet.
    Waiting,
    /// On its way (device: token and links).
    Connecting,
    /// Up.
    Connected,
    /// Lost and being re-established.
    Reconnecting {
        /// Attempt number.
        attempt: u32,
        /// Milliseconds to the next try, if known.
        retry_in_ms: Option<u64>,
        /// Why.
        reason: String,
    },
    /// Closed or removed.
    Disconnected,
    /// Gave up, with the reason.
    Failed(String),
}

impl LinkStatus {
    /// Short label for the view.
    pub fn label(&self) -> String {
        match self {
            Self::Waiting => "waiting".to_owned(),
            Self::Connecting => "connecting…".to_owned(),
            Self::Connected => "connected".to_owned(),
            Self::Reconnecting {
                attempt,
                retry_in_ms,
                ..
            } => match retry_in_ms {
                Some(ms) => format!(
                    "reconnecting (try {attempt}, next in {} s)",
                    ms.div_ceil(1000)
                ),
                None => format!("reconnecting (try {attempt})"),
            },
            Self::Disconnected => "disconnected".to_owned(),
            Self::Failed(reason) => format!("failed: {reason}"),
        }
    }
}

/// Where a run is.
#[derive(Clone, Debug, PartialEq)]
pub enum RunPhase {
    /// Creating or looking up the devices on devhub.
    Preparing,
    /// Opening the connection and adding the devices.
    Connecting,
    /// Devices are sending.
    Running,
    /// Stop asked: no new sends; waiting for the outcomes of those in flight.
    Stopping,
    /// Over: every device sent its messages, or the run was stopped.
    Finished,
    /// The run could not go on, with the reason.
    Failed(String),
}

impl RunPhase {
    /// Whether the run still holds a connection or may send.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            Self::Preparing | Self::Connecting | Self::Running | Self::Stopping
        )
    }
}

/// One simulated device's counts.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceRow {
    /// Its id.
    pub device_id: String,
    /// Its status on the connection.
    pub status: LinkStatus,
    /// Messages handed to the gateway.
    pub sent: u64,
    /// Accepted by the hub.
    pub acked: u64,
    /// Refused or lost (each with the last reason in `last_error`).
    pub failed: u64,
    /// Without an outcome: Stop closed the connection before the hub answered, so the hub
    /// may or may not have taken them.
    pub cut_off: u64,
    /// Cloud-to-device messages received.
    pub c2d: u64,
    /// Most recent latencies (at most [`LATENCIES_KEPT`]).
    latencies: VecDeque<f64>,
    /// Reason of the latest failure.
    pub last_error: Option<String>,
}

impl DeviceRow {
    fn new(device_id: String) -> Self {
        Self {
            device_id,
            status: LinkStatus::Waiting,
            sent: 0,
            acked: 0,
            failed: 0,
            cut_off: 0,
            c2d: 0,
            latencies: VecDeque::new(),
            last_error: None,
        }
    }

    /// Sent but without an outcome yet.
    pub fn in_flight(&self) -> u64 {
        self.sent
            .saturating_sub(self.acked + self.failed + self.cut_off)
    }

    /// Median of the kept latencies.
    pub fn latency_p50_ms(&self) -> Option<f64> {
        let mut v: Vec<f64> = self.latencies.iter().copied().collect();
        v.sort_by(f64::total_cmp);
        percentile(&v, 50.0)
    }
}

/// Sums over all devices.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// Devices connected now.
    pub connected: usize,
    /// Devices that failed.
    pub failed_devices: usize,
    /// Messages handed to the gateway.
    pub sent: u64,
    /// Accepted by the hub.
    pub acked: u64,
    /// Refused or lost.
    pub failed: u64,
    /// Cut off by Stop without an outcome.
    pub cut_off: u64,
    /// Sent without an outcome yet.
    pub in_flight: u64,
    /// Cloud-to-device messages received.
    pub c2d: u64,
    /// Median latency over every device's kept latencies.
    pub latency_p50_ms: Option<f64>,
}

/// One run.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// Distinguishes this run's reports from older ones.
    pub generation: u64,
    /// The plan it runs.
    pub plan: GatewayPlan,
    /// Where it is.
    pub phase: RunPhase,
    /// The gateway connection.
    pub connection: LinkStatus,
    /// One row per device, in plan order.
    pub devices: Vec<DeviceRow>,
}

impl Run {
    /// Sums over the devices.
    pub fn totals(&self) -> Totals {
        let mut t = Totals::default();
        let mut latencies = Vec::new();
        for d in &self.devices {
            t.connected += usize::from(d.status == LinkStatus::Connected);
            t.failed_devices += usize::from(matches!(d.status, LinkStatus::Failed(_)));
            t.sent += d.sent;
            t.acked += d.acked;
            t.failed += d.failed;
            t.cut_off += d.cut_off;
            t.in_flight += d.in_flight();
            t.c2d += d.c2d;
            latencies.extend(d.latencies.iter().copied());
        }
        latencies.sort_by(f64::total_cmp);
        t.latency_p50_ms = percentile(&latencies, 50.0);
        t
    }

    /// Messages the run will send in all, when it is not "until stopped".
    pub fn planned_total(&self) -> Option<u64> {
        self.plan
            .messages_per_device
            .map(|m| m.saturating_mul(self.devices.len() as u64))
    }
}

/// What the provider reports about a run; batched into [`GatewayAction::Events`].
#[derive(Clone, Debug, PartialEq)]
pub enum GatewayEvent {
    /// The devices are known (devhub: created or found) and the connection is being opened.
    Prepared,
    /// The connection's status changed.
    Connection(LinkStatus),
    /// Device `index`'s status changed.
    Device {
        /// Row index.
        index: usize,
        /// New status.
        status: LinkStatus,
    },
    /// Every device was added (or failed to be): sending starts.
    Running,
    /// Device `index` handed a message to the gateway.
    Sent {
        /// Row index.
        index: usize,
    },
    /// The hub accepted one of device `index`'s messages.
    Acked {
        /// Row index.
        index: usize,
        /// Send→accept time.
        latency_ms: f64,
    },
    /// One of device `index`'s messages failed.
    Failed {
        /// Row index.
        index: usize,
        /// Why.
        reason: String,
    },
    /// One of device `index`'s messages ended without an outcome: Stop closed the
    /// connection while it waited for the hub.
    CutOff {
        /// Row index.
        index: usize,
    },
    /// Device `index` received a cloud-to-device message.
    C2d {
        /// Row index.
        index: usize,
    },
    /// The run ended (every device done, or stopped and drained), or failed.
    Finished(Result<(), String>),
}

/// Everything that changes [`GatewayState`].
#[derive(Clone, Debug, PartialEq)]
pub enum GatewayAction {
    /// Choose the device source.
    SetSource(DeviceSource),
    /// Edit the device count.
    EditCount(String),
    /// Edit the id prefix.
    EditPrefix(String),
    /// Edit the pasted connection strings.
    EditPasted(Secret),
    /// Edit the rate.
    EditRate(String),
    /// Edit messages per device.
    EditMessages(String),
    /// Edit the body template.
    EditTemplate(String),
    /// Edit the padding.
    EditPadTo(String),
    /// Validate the form and start a run against this hub (ignored while one is active).
    Start(HubTarget),
    /// Stop sending (the provider drains and closes).
    Stop,
    /// Reports from the provider for run `generation`.
    Events {
        /// The run they belong to.
        generation: u64,
        /// In order.
        events: Vec<GatewayEvent>,
    },
}

/// The pane's state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GatewayState {
    /// The form.
    pub form: GatewayForm,
    /// Why the last Start was refused.
    pub form_error: Option<FormError>,
    /// The current or last run.
    pub run: Option<Run>,
    /// Generation of the latest run.
    generation: u64,
}

impl GatewayState {
    /// Whether a run is active.
    pub fn active(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.phase.is_active())
    }

    /// The active run's generation and plan, which the provider runs.
    pub fn active_run(&self) -> Option<(u64, &GatewayPlan)> {
        self.run
            .as_ref()
            .filter(|r| r.phase.is_active())
            .map(|r| (r.generation, &r.plan))
    }

    /// Applies one action.
    pub fn apply(&mut self, action: GatewayAction) {
        match action {
            GatewayAction::SetSource(s) => self.form.source = s,
            GatewayAction::EditCount(v) => self.form.count = v,
            GatewayAction::EditPrefix(v) => self.form.prefix = v,
            GatewayAction::EditPasted(v) => self.form.pasted = v,
            GatewayAction::EditRate(v) => self.form.rate = v,
            GatewayAction::EditMessages(v) => self.form.messages = v,
            GatewayAction::EditTemplate(v) => self.form.template = v,
            GatewayAction::EditPadTo(v) => self.form.pad_to = v,
            GatewayAction::Start(target) => self.start(&target),
            GatewayAction::Stop => {
                if let Some(run) = self.run.as_mut() {
                    if run.phase.is_active() {
                        run.phase = RunPhase::Stopping;
                    }
                }
            }
            GatewayAction::Events { generation, events } => {
                let Some(run) = self.run.as_mut().filter(|r| r.generation == generation) else {
                    return;
                };
                for event in events {
                    run.apply(event);
                }
            }
        }
    }

    fn start(&mut self, target: &HubTarget) {
        if self.active() {
            return;
        }
        match self.form.plan(target) {
            Err(e) => self.form_error = Some(e),
            Ok(plan) => {
                self.form_error = None;
                self.generation += 1;
                let ids: Vec<String> = match &plan.devices {
                    PlanDevices::Devhub { ids, .. } => ids.clone(),
                    PlanDevices::Pasted(devices) => {
                        devices.iter().map(|d| d.device_id.clone()).collect()
                    }
                };
                self.run = Some(Run {
                    generation: self.generation,
                    plan,
                    phase: RunPhase::Preparing,
                    connection: LinkStatus::Waiting,
                    devices: ids.into_iter().map(DeviceRow::new).collect(),
                });
            }
        }
    }
}

impl Run {
    fn apply(&mut self, event: GatewayEvent) {
        let stopping = self.phase == RunPhase::Stopping;
        match event {
            GatewayEvent::Prepared => {
                if !stopping {
                    self.phase = RunPhase::Connecting;
                }
                self.connection = LinkStatus::Connecting;
            }
            GatewayEvent::Connection(status) => self.connection = status,
            GatewayEvent::Device { index, status } => {
                if let Some(d) = self.devices.get_mut(index) {
                    d.status = status;
                }
            }
            GatewayEvent::Running => {
                if !stopping {
                    self.phase = RunPhase::Running;
                }
            }
            GatewayEvent::Sent { index } => {
                if let Some(d) = self.devices.get_mut(index) {
                    d.sent += 1;
                }
            }
            GatewayEvent::Acked { index, latency_ms } => {
                if let Some(d) = self.devices.get_mut(index) {
                    d.acked += 1;
                    if latency_ms.is_finite() && latency_ms >= 0.0 {
                        if d.latencies.len() == LATENCIES_KEPT {
                            d.latencies.pop_front();
                        }
                        d.latencies.push_back(latency_ms);
                    }
                }
            }
            GatewayEvent::Failed { index, reason } => {
                if let Some(d) = self.devices.get_mut(index) {
                    d.failed += 1;
                    d.last_error = Some(reason);
                }
            }
            GatewayEvent::CutOff { index } => {
                if let Some(d) = self.devices.get_mut(index) {
                    d.cut_off += 1;
                }
            }
            GatewayEvent::C2d { index } => {
                if let Some(d) = self.devices.get_mut(index) {
                    d.c2d += 1;
                }
            }
            GatewayEvent::Finished(result) => {
                // Whatever had not come up by now never will in this run.
                let unfinished =
                    |s: &LinkStatus| matches!(s, LinkStatus::Waiting | LinkStatus::Connecting);
                if unfinished(&self.connection) {
                    self.connection = match &result {
                        Ok(()) => LinkStatus::Disconnected,
                        Err(reason) => LinkStatus::Failed(reason.clone()),
                    };
                }
                for d in self.devices.iter_mut().filter(|d| unfinished(&d.status)) {
                    d.status = LinkStatus::Disconnected;
                }
                self.phase = match result {
                    Ok(()) => RunPhase::Finished,
                    Err(reason) => RunPhase::Failed(reason),
                };
            }
        }
    }
}

impl yew::Reducible for GatewayState {
    type Action = GatewayAction;

    fn reduce(self: Rc<Self>, action: Self::Action) -> Rc<Self> {
        let mut next = Rc::unwrap_or_clone(self);
        next.apply(action);
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    fn cs(host: &str, device: &str) -> String {
        format!("HostName={host};DeviceId={device};SharedAccessKey={KEY}")
    }

    fn devhub() -> HubTarget {
        HubTarget {
            url: HubUrl::parse("http://127.0.0.1:8090").ok(),
            devhub: true,
        }
    }

    fn other_hub() -> HubTarget {
        HubTarget {
            url: HubUrl::parse("https://example.org").ok(),
            devhub: false,
        }
    }

    fn started(form: GatewayForm, target: &HubTarget) -> GatewayState {
        let mut s = GatewayState {
            form,
            ..GatewayState::default()
        };
        s.apply(GatewayAction::Start(target.clone()));
        s
    }

    fn events(s: &mut GatewayState, generation: u64, events: Vec<GatewayEvent>) {
        s.apply(GatewayAction::Events { generation, events });
    }

    #[test]
    fn numbered_ids_are_zero_padded_to_the_count() {
        assert_eq!(numbered_ids("gw-", 3), vec!["gw-01", "gw-02", "gw-03"]);
        let ids = numbered_ids("gw-", 20);
        assert_eq!(
            (ids.len(), ids[0].as_str(), ids[19].as_str()),
            (20, "gw-01", "gw-20")
        );
        let ids = numbered_ids("x", 500);
        assert_eq!((ids[0].as_str(), ids[499].as_str()), ("x001", "x500"));
    }

    #[test]
    fn body_template_and_padding() {
        assert_eq!(
            render_body(DEFAULT_TEMPLATE, "gw-07", 3, 0),
            r#"{"device":"gw-07","seq":3,"temperature":21.5}"#
        );
        let b = render_body("{seq}", "d", 12, 10);
        assert_eq!(b, "12        ");
        assert_eq!(render_body("long body", "d", 0, 4), "long body");
    }

    #[test]
    fn default_form_plans_twenty_devhub_devices() {
        let plan = GatewayForm::default().plan(&devhub()).unwrap();
        match &plan.devices {
            PlanDevices::Devhub { ids, hub } => {
                assert_eq!(ids.len(), 20);
                assert_eq!(hub.as_str(), "http://127.0.0.1:8090");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            plan.endpoint.as_deref(),
            Some("ws://127.0.0.1:8090/$iothub/websocket?iothub-no-client-cert=true")
        );
        assert_eq!(plan.rate_per_sec, 1.0);
        assert_eq!(plan.messages_per_device, Some(5));
        assert_eq!(plan.due_ms(0), 0.0);
        assert_eq!(plan.due_ms(3), 3000.0);
    }

    #[test]
    fn form_errors_are_specific() {
        let bad = |edit: fn(&mut GatewayForm), target: HubTarget| {
            let mut f = GatewayForm::default();
            edit(&mut f);
            f.plan(&target).unwrap_err()
        };
        assert_eq!(
            bad(|f| f.count = "0".into(), devhub()),
            FormError::Count("0".into())
        );
        assert_eq!(
            bad(|f| f.count = "501".into(), devhub()),
            FormError::Count("501".into())
        );
        assert_eq!(
            bad(|f| f.count = "x".into(), devhub()),
            FormError::Count("x".into())
        );
        assert_eq!(
            bad(|f| f.prefix = "a/b".into(), devhub()),
            FormError::Prefix("a/b".into())
        );
        assert_eq!(
            bad(|f| f.prefix = " ".into(), devhub()),
            FormError::Prefix(" ".into())
        );
        assert_eq!(
            bad(|f| f.rate = "0".into(), devhub()),
            FormError::Rate("0".into())
        );
        assert_eq!(
            bad(|f| f.rate = "NaN".into(), devhub()),
            FormError::Rate("NaN".into())
        );
        assert_eq!(
            bad(|f| f.rate = "51".into(), devhub()),
            FormError::Rate("51".into())
        );
        assert_eq!(
            bad(|f| f.messages = "-1".into(), devhub()),
            FormError::Messages("-1".into())
        );
        assert_eq!(
            bad(|f| f.pad_to = "262145".into(), devhub()),
            FormError::PadTo("262145".into())
        );
        assert_eq!(bad(|f| f.template.clear(), devhub()), FormError::Template);
        assert_eq!(bad(|_| {}, other_hub()), FormError::NotDevhub);
        assert_eq!(
            bad(
                |_| {},
                HubTarget {
                    url: None,
                    devhub: true
                }
            ),
            FormError::NoHub
        );
        let e = bad(
            |f| {
                f.count = "500".into();
                f.rate = "5".into();
            },
            devhub(),
        );
        assert_eq!(e, FormError::TotalRate { total: 2500.0 });
        assert!(e.to_string().contains("2500 messages/s"));
    }

    #[test]
    fn pasted_lists_parse_with_line_numbers() {
        let text = format!(
            "# field devices\n{}\n\n  {}  \n",
            cs("h.example.net", "a"),
            cs("H.EXAMPLE.NET", "b")
        );
        let (devices, host) = parse_pasted(&text).unwrap();
        assert_eq!(host, "h.example.net");
        assert_eq!(
            devices
                .iter()
                .map(|d| d.device_id.as_str())
                .collect::<Vec<_>>(),
            vec!["a", "b"]
        );
        assert_eq!(
            devices[1].connection_string.expose(),
            cs("H.EXAMPLE.NET", "b")
        );
        // Secrets stay out of Debug output.
        assert!(!format!("{devices:?}").contains(KEY));
    }

    #[test]
    fn pasted_list_errors() {
        assert_eq!(parse_pasted(""), Err(FormError::NothingPasted));
        assert_eq!(
            parse_pasted("\n# only a comment\n"),
            Err(FormError::NothingPasted)
        );
        match parse_pasted(&format!("{}\nnot a connection string", cs("h", "a"))) {
            Err(FormError::Line { line: 2, reason }) => assert!(!reason.is_empty()),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            parse_pasted(&format!("{}\n{}", cs("h", "a"), cs("other", "b"))),
            Err(FormError::HostMismatch {
                line: 2,
                expected: "h".into(),
                found: "other".into()
            })
        );
        assert_eq!(
            parse_pasted(&format!("{}\n\n{}", cs("h", "a"), cs("h", "a"))),
            Err(FormError::Duplicate {
                line: 3,
                first: 1,
                device_id: "a".into()
            })
        );
        assert_eq!(
            parse_pasted(&format!(
                "HostName=h;DeviceId=a;ModuleId=m;SharedAccessKey={KEY}"
            )),
            Err(FormError::Module { line: 1 })
        );
        let many: Vec<String> = (0..=MAX_DEVICES)
            .map(|i| cs("h", &format!("d{i}")))
            .collect();
        assert_eq!(
            parse_pasted(&many.join("\n")),
            Err(FormError::TooMany(MAX_DEVICES as usize + 1))
        );
        let e = FormError::Line {
            line: 4,
            reason: "x".into(),
        };
        assert_eq!(e.to_string(), "line 4: x");
    }

    #[test]
    fn pasted_plan_uses_devhub_listener_only_for_devhub() {
        let form = GatewayForm {
            source: DeviceSource::Pasted,
            pasted: Secret::new(cs("h.example.net", "a")),
            ..GatewayForm::default()
        };
        let plan = form.plan(&other_hub()).unwrap();
        assert_eq!(plan.endpoint, None);
        assert_eq!(plan.host_name.as_deref(), Some("h.example.net"));
        let plan = form.plan(&devhub()).unwrap();
        assert!(plan.endpoint.unwrap().starts_with("ws://127.0.0.1:8090/"));
    }

    #[test]
    fn a_refused_start_keeps_the_form_and_says_why() {
        let form = GatewayForm {
            rate: "fast".into(),
            ..GatewayForm::default()
        };
        let s = started(form, &devhub());
        assert_eq!(s.run, None);
        assert_eq!(s.form_error, Some(FormError::Rate("fast".into())));
        assert!(!s.active());
    }

    #[test]
    fn counts_per_device_and_totals() {
        let mut s = started(GatewayForm::default(), &devhub());
        let run = s.run.as_ref().unwrap();
        assert_eq!(run.devices.len(), 20);
        assert_eq!(run.phase, RunPhase::Preparing);
        assert_eq!(run.planned_total(), Some(100));
        let (generation, _) = s.active_run().unwrap();
        let mut batch = vec![
            GatewayEvent::Prepared,
            GatewayEvent::Connection(LinkStatus::Connected),
        ];
        for index in 0..20 {
            batch.push(GatewayEvent::Device {
                index,
                status: LinkStatus::Connected,
            });
        }
        batch.push(GatewayEvent::Running);
        events(&mut s, generation, batch);
        let run = s.run.as_ref().unwrap();
        assert_eq!(run.phase, RunPhase::Running);
        assert_eq!(run.totals().connected, 20);

        // Device i sends i+1 messages; all are accepted except one of device 3's;
        // device 5 receives two C2D messages.
        let mut batch = Vec::new();
        for index in 0..20usize {
            for _ in 0..=index {
                batch.push(GatewayEvent::Sent { index });
            }
        }
        for index in 0..20usize {
            for k in 0..=index {
                if index == 3 && k == 0 {
                    batch.push(GatewayEvent::Failed {
                        index,
                        reason: "rejected".into(),
                    });
                } else {
                    batch.push(GatewayEvent::Acked {
                        index,
                        latency_ms: (k + 1) as f64,
                    });
                }
            }
        }
        batch.push(GatewayEvent::C2d { index: 5 });
        batch.push(GatewayEvent::C2d { index: 5 });
        batch.push(GatewayEvent::Sent { index: 7 });
        batch.push(GatewayEvent::CutOff { index: 7 });
        // Unknown rows are ignored, not a panic.
        batch.push(GatewayEvent::Acked {
            index: 99,
            latency_ms: 1.0,
        });
        events(&mut s, generation, batch);
        let run = s.run.as_ref().unwrap();
        let d3 = &run.devices[3];
        assert_eq!((d3.sent, d3.acked, d3.failed), (4, 3, 1));
        assert_eq!(d3.last_error.as_deref(), Some("rejected"));
        assert_eq!(d3.latency_p50_ms(), Some(3.0));
        assert_eq!(run.devices[0].latency_p50_ms(), Some(1.0));
        assert_eq!(run.devices[5].c2d, 2);
        let t = run.totals();
        assert_eq!((run.devices[7].sent, run.devices[7].cut_off), (9, 1));
        assert_eq!(run.devices[7].in_flight(), 0);
        // 1 + 2 + … + 20, and the one cut off
        assert_eq!(t.sent, 211);
        assert_eq!(t.cut_off, 1);
        assert_eq!(t.acked, 209);
        assert_eq!(t.failed, 1);
        assert_eq!(t.in_flight, 0);
        assert_eq!(t.c2d, 2);
        assert_eq!(t.sent, run.devices.iter().map(|d| d.sent).sum::<u64>());
        // Latency v occurs 21 − v times (v = 1 once fewer): 209 values, and the 105th is 7
        // (values up to 6 make 104).
        assert_eq!(t.latency_p50_ms, Some(7.0));
    }

    #[test]
    fn start_stop_and_stale_reports() {
        let mut s = started(GatewayForm::default(), &devhub());
        let first = s.active_run().unwrap().0;
        // A second Start while running is ignored.
        s.apply(GatewayAction::Start(devhub()));
        assert_eq!(s.active_run().unwrap().0, first);
        events(
            &mut s,
            first,
            vec![GatewayEvent::Prepared, GatewayEvent::Running],
        );
        events(&mut s, first, vec![GatewayEvent::Sent { index: 0 }]);
        s.apply(GatewayAction::Stop);
        assert_eq!(s.run.as_ref().unwrap().phase, RunPhase::Stopping);
        assert!(s.active());
        // A late "running" does not undo the stop; the in-flight message still counts.
        events(
            &mut s,
            first,
            vec![
                GatewayEvent::Running,
                GatewayEvent::Acked {
                    index: 0,
                    latency_ms: 4.0,
                },
                GatewayEvent::Connection(LinkStatus::Disconnected),
                GatewayEvent::Finished(Ok(())),
            ],
        );
        let run = s.run.as_ref().unwrap();
        assert_eq!(run.phase, RunPhase::Finished);
        assert_eq!(run.totals().acked, 1);
        assert!(!s.active());
        assert_eq!(s.active_run(), None);

        // A new run; reports of the old one change nothing.
        s.apply(GatewayAction::Start(devhub()));
        let second = s.active_run().unwrap().0;
        assert_ne!(first, second);
        events(&mut s, first, vec![GatewayEvent::Sent { index: 0 }]);
        assert_eq!(s.run.as_ref().unwrap().totals().sent, 0);
        events(
            &mut s,
            second,
            vec![GatewayEvent::Finished(Err("refused".into()))],
        );
        assert_eq!(
            s.run.as_ref().unwrap().phase,
            RunPhase::Failed("refused".into())
        );
        // Stop after the end changes nothing.
        s.apply(GatewayAction::Stop);
        assert_eq!(
            s.run.as_ref().unwrap().phase,
            RunPhase::Failed("refused".into())
        );
    }

    #[test]
    fn a_failed_connect_leaves_nothing_connecting() {
        let mut s = started(GatewayForm::default(), &devhub());
        let g = s.active_run().unwrap().0;
        events(
            &mut s,
            g,
            vec![
                GatewayEvent::Prepared,
                GatewayEvent::Device {
                    index: 1,
                    status: LinkStatus::Failed("401".into()),
                },
                GatewayEvent::Finished(Err("connect: refused".into())),
            ],
        );
        let run = s.run.as_ref().unwrap();
        assert_eq!(
            run.connection,
            LinkStatus::Failed("connect: refused".into())
        );
        assert_eq!(run.devices[0].status, LinkStatus::Disconnected);
        assert_eq!(run.devices[1].status, LinkStatus::Failed("401".into()));
        assert_eq!(run.totals().failed_devices, 1);
    }

    #[test]
    fn per_device_latencies_are_bounded() {
        let mut s = started(GatewayForm::default(), &devhub());
        let g = s.active_run().unwrap().0;
        let batch = (0..LATENCIES_KEPT + 36)
            .map(|k| GatewayEvent::Acked {
                index: 0,
                latency_ms: k as f64,
            })
            .collect();
        events(&mut s, g, batch);
        let d = &s.run.as_ref().unwrap().devices[0];
        assert_eq!(d.latencies.len(), LATENCIES_KEPT);
        assert_eq!(d.latencies.front(), Some(&36.0));
        assert_eq!(d.acked, (LATENCIES_KEPT + 36) as u64);
    }

    #[test]
    fn status_labels() {
        assert_eq!(
            LinkStatus::Reconnecting {
                attempt: 2,
                retry_in_ms: Some(1500),
                reason: "x".into()
            }
            .label(),
            "reconnecting (try 2, next in 2 s)"
        );
        assert_eq!(LinkStatus::Failed("401".into()).label(), "failed: 401");
    }
}
