//! The device pane: identity, protocol and connection (with the HTTPS poller's countdown),
//! D2C composer with results, C2D inbox with settlement.

use std::rc::Rc;

use hubwire_iothub::secret::Secret;
use yew::prelude::*;

use super::fields::{id, on_change, on_check, on_submit, on_text};
use super::kv::KvList;
use super::message_fields::MessageFields;
use crate::format;
use crate::state::device::{
    Burst, BurstFormEdit, ConnectionStatus, DeviceAction, DeviceState, InboxEntry, PollCommand,
    PollView, Protocol, SendOutcome, SendRecord, SettleOp, SettleState, Settlement, Source,
    MAX_BURST, MAX_DEV_POLL_SECS,
};
use crate::state::hub::Load;
use crate::types::DeviceInfo;

/// Properties of [`DevicePane`].
#[derive(Properties, PartialEq, Clone)]
pub struct DevicePaneProps {
    /// Prefix for element ids (one pane per session: unique on the page).
    pub id_prefix: AttrValue,
    /// Session name (the pane's heading).
    pub title: AttrValue,
    /// Controls shown beside the heading (rename, remove).
    #[prop_or_default]
    pub head_controls: Html,
    /// Why demo devices cannot be used here (the hub is not devhub), if so.
    pub demo_note: Option<AttrValue>,
    /// Unix seconds now, for fixed-token expiry.
    pub now_secs: u64,
    /// Pane state.
    pub state: Rc<DeviceState>,
    /// The hub's devices (for the demo picker).
    pub devices: Load<Vec<DeviceInfo>>,
    /// The demo device Connect will use (the chosen one, else the first).
    pub demo_device: Option<AttrValue>,
    /// Pure edits.
    pub on_action: Callback<DeviceAction>,
    /// Connect with the current form.
    pub on_connect: Callback<()>,
    /// Close the connection.
    pub on_disconnect: Callback<()>,
    /// Send the D2C draft.
    pub on_send: Callback<()>,
    /// Send the D2C draft N times at the form's rate.
    pub on_burst: Callback<()>,
    /// Stop the running send-N-times run.
    pub on_stop_burst: Callback<()>,
    /// HTTPS: poll for cloud-to-device messages now.
    pub on_poll_now: Callback<()>,
    /// HTTPS: resume (`true`) or pause (`false`) scheduled polling.
    pub on_set_polling: Callback<bool>,
    /// Complete, abandon or reject an inbox entry (by its id).
    pub on_settle: Callback<(u64, SettleOp)>,
}

/// The device pane.
#[component]
pub fn DevicePane(props: &DevicePaneProps) -> Html {
    let state = &props.state;
    let current = state.session.as_ref().map(|s| s.generation);
    let p = &props.id_prefix;
    html! {
        <section class="pane device-pane" aria-labelledby={id(p, "-pane-title")}>
            <div class="pane-head">
                <h2 id={id(p, "-pane-title")} class="pane-title">
                    { props.title.clone() }<span class="pane-sub">{ "browser client" }</span>
                </h2>
                { props.head_controls.clone() }
            </div>
            <ConnectionCard ..props.clone() />
            <section class="card" aria-labelledby={id(p, "-inbox-title")}>
                <div class="card-head">
                    <h3 id={id(p, "-inbox-title")}>
                        { "Cloud-to-device inbox" }
                        <span class="count">{ state.inbox.len() }</span>
                    </h3>
                    <button type="button" class="secondary small" disabled={state.inbox.is_empty()}
                        onclick={props.on_action.reform(|_: MouseEvent| DeviceAction::ClearInbox)}>
                        { "Clear" }
                    </button>
                </div>
                { settlement_note(state.protocol) }
                if state.inbox.is_empty() {
                    <p class="muted">{ "No messages received yet." }</p>
                } else {
                    <ol class="messages" aria-label="Received cloud-to-device messages">
                        { for state.inbox.iter().map(|entry| inbox_row(entry, current, &props.on_settle)) }
                    </ol>
                }
            </section>
            <section class="card" aria-labelledby={id(p, "-d2c-title")}>
                <h3 id={id(p, "-d2c-title")}>{ "Send device-to-cloud message" }</h3>
                <form class="composer" onsubmit={on_submit(props.on_send.clone())}>
                    <MessageFields id_prefix={id(p, "-d2c")} draft={state.draft.clone()} with_encoding=true
                        on_edit={props.on_action.reform(DeviceAction::Draft)} />
                    <div class="actions">
                        <button type="submit" disabled={state.session.is_none()}>{ "Send" }</button>
                        if state.session.is_none() {
                            <span class="muted">{ "Connect first." }</span>
                        }
                    </div>
                    if let Some(error) = &state.draft_error {
                        <p class="error" role="alert">{ error.clone() }</p>
                    }
                </form>
                <BurstControls ..props.clone() />
                if !state.sends.is_empty() {
                    <ol class="results" aria-label="Send results">
                        { for state.sends.iter().map(send_row) }
                    </ol>
                }
            </section>
        </section>
    }
}

#[component]
fn ConnectionCard(props: &DevicePaneProps) -> Html {
    let state = &props.state;
    let locked = state.session.is_some();
    let source_change = {
        let on_action = props.on_action.clone();
        on_change(Callback::from(move |value: String| {
            if let Some(source) = Source::parse(&value) {
                on_action.emit(DeviceAction::SetSource(source));
            }
        }))
    };
    let demo_change = {
        let on_action = props.on_action.clone();
        on_change(Callback::from(move |value: String| {
            on_action.emit(DeviceAction::SelectDemo(
                (!value.is_empty()).then_some(value),
            ));
        }))
    };
    let pasted_input = {
        let on_action = props.on_action.clone();
        on_text(Callback::from(move |value: String| {
            on_action.emit(DeviceAction::EditPasted(Secret::new(value)));
        }))
    };
    let protocol_change = {
        let on_action = props.on_action.clone();
        on_change(Callback::from(move |value: String| {
            if let Some(protocol) = Protocol::parse(&value) {
                on_action.emit(DeviceAction::SetProtocol(protocol));
            }
        }))
    };
    let selected_demo = props.demo_device.as_ref().map(AttrValue::as_str);
    let p = &props.id_prefix;
    let sas_edit = |make: fn(String) -> DeviceAction| {
        let on_action = props.on_action.clone();
        on_text(Callback::from(move |v| on_action.emit(make(v))))
    };
    let sas_token_input = {
        let on_action = props.on_action.clone();
        on_text(Callback::from(move |v: String| {
            on_action.emit(DeviceAction::EditSasToken(Secret::new(v)))
        }))
    };
    html! {
        <section class="card" aria-labelledby={id(p, "-connection-title")}>
            <form class="connection" onsubmit={on_submit(props.on_connect.clone())}>
                <div class="card-head">
                    <h3 id={id(p, "-connection-title")}>{ "Connection" }</h3>
                    <fieldset class="source" disabled={locked}>
                        <legend>{ "Identity" }</legend>
                        { for Source::ALL.iter().map(|source| html! {
                            <label class="radio">
                                <input type="radio" name={id(p, "-source")} value={source.as_str()}
                                    checked={state.source == *source} onchange={source_change.clone()} />
                                { source.label() }
                            </label>
                        }) }
                    </fieldset>
                </div>
                <div class="field-row connect-row">
                    if state.source == Source::Demo {
                        <div class="field grow">
                            <label for={id(p, "-demo-device")}>{ "Demo device" }</label>
                            <select id={id(p, "-demo-device")} onchange={demo_change} disabled={locked}>
                                { demo_options(&props.devices, selected_demo) }
                            </select>
                        </div>
                    } else if state.source == Source::Pasted {
                        <div class="field grow">
                            <label for={id(p, "-connection-string")}>{ "Device connection string" }</label>
                            <input id={id(p, "-connection-string")} type="password" autocomplete="off"
                                spellcheck="false" disabled={locked}
                                placeholder="HostName=…;DeviceId=…;SharedAccessKey=…"
                                value={state.pasted.expose().to_owned()} oninput={pasted_input} />
                        </div>
                    } else {
                        <div class="field">
                            <label for={id(p, "-sas-host")}>{ "Hub host name" }</label>
                            <input id={id(p, "-sas-host")} type="text" autocomplete="off"
                                spellcheck="false" disabled={locked} placeholder="myhub.azure-devices.net"
                                value={state.sas_host.clone()} oninput={sas_edit(DeviceAction::EditSasHost)} />
                        </div>
                        <div class="field">
                            <label for={id(p, "-sas-device")}>{ "Device id" }</label>
                            <input id={id(p, "-sas-device")} type="text" autocomplete="off"
                                spellcheck="false" disabled={locked}
                                value={state.sas_device_id.clone()} oninput={sas_edit(DeviceAction::EditSasDevice)} />
                        </div>
                        <div class="field grow">
                            <label for={id(p, "-sas-token")}>{ "SAS token" }</label>
                            <input id={id(p, "-sas-token")} type="password" autocomplete="off"
                                spellcheck="false" disabled={locked}
                                placeholder="SharedAccessSignature sr=…&sig=…&se=…"
                                value={state.sas_token.expose().to_owned()} oninput={sas_token_input} />
                        </div>
                    }
                    <div class="field">
                        <label for={id(p, "-protocol")}>{ "Protocol" }</label>
                        <select id={id(p, "-protocol")} onchange={protocol_change} disabled={locked}>
                            { for Protocol::AVAILABLE.iter().map(|p| html! {
                                <option value={p.as_str()} selected={*p == state.protocol}>
                                    { p.label() }
                                </option>
                            }) }
                        </select>
                    </div>
                </div>
                if state.source == Source::Demo {
                    if let Some(note) = &props.demo_note {
                        <p class="note warn-text" role="note">{ note.clone() }</p>
                    }
                }
                if state.source == Source::Sas {
                    <p class="muted hint">{ "A fixed token cannot be renewed: the hub closes the connection when it expires." }</p>
                }
                if state.protocol.polls() {
                    <PollSettings id_prefix={p.clone()} state={state.clone()} on_action={props.on_action.clone()} />
                }
                <div class="actions connect-actions">
                    <button type="submit" disabled={locked}>{ "Connect" }</button>
                    <button type="button" class="secondary" disabled={!locked}
                        onclick={props.on_disconnect.reform(|_: MouseEvent| ())}>
                        { "Disconnect" }
                    </button>
                    { status_line(p, state) }
                </div>
                { session_facts(state, props.now_secs) }
                if state.session.as_ref().is_some_and(|s| s.protocol.polls()) {
                    { poll_bar(p, state, &props.on_poll_now, &props.on_set_polling) }
                }
            </form>
        </section>
    }
}

fn demo_options(devices: &Load<Vec<DeviceInfo>>, selected: Option<&str>) -> Html {
    match devices {
        Load::Idle => html! { <option value="">{ "no hub URL" }</option> },
        Load::Loading => html! { <option value="">{ "loading devices…" }</option> },
        // The header says why in full; the picker stays short.
        Load::Failed(reason) => html! {
            <option value="" title={reason.clone()}>{ "cannot list devices" }</option>
        },
        Load::Ready(list) if list.is_empty() => {
            html! { <option value="">{ "the hub has no devices" }</option> }
        }
        Load::Ready(list) => html! {
            { for list.iter().map(|d| {
                let label = match (&d.connected, &d.protocol) {
                    (true, Some(p)) => format!("{} (connected, {p})", d.device_id),
                    (true, None) => format!("{} (connected)", d.device_id),
                    _ => d.device_id.clone(),
                };
                html! {
                    <option value={d.device_id.clone()} selected={selected == Some(d.device_id.as_str())}>
                        { label }
                    </option>
                }
            }) }
        },
    }
}

/// Where the session connects, and a fixed token's expiry.
fn session_facts(state: &DeviceState, now_secs: u64) -> Html {
    let Some(dialled) = &state.dialled else {
        return Html::default();
    };
    let via = if dialled.via_devhub {
        "devhub, through the hub URL"
    } else {
        "the identity's own hub"
    };
    let expiry = dialled.token_expires.map(|se| {
        let when = format::unix_secs_utc(se);
        if se <= now_secs {
            (
                "error",
                format!("The SAS token expired at {when} and cannot be renewed: use a new one."),
            )
        } else {
            (
                "warn-text",
                format!(
                    "The SAS token expires at {when} (in {}); a fixed token cannot be renewed.",
                    format::countdown(se - now_secs)
                ),
            )
        }
    });
    html! {
        <p class="muted session-facts">
            { "Endpoint: " }<code>{ dialled.url.clone() }</code>{ format!(" ({via})") }
            if let Some((class, text)) = expiry {
                <br /><span class={class}>{ text }</span>
            }
        </p>
    }
}

fn status_line(p: &str, state: &DeviceState) -> Html {
    let device = state
        .session
        .as_ref()
        .map(|s| s.device_id.as_str())
        .unwrap_or("device");
    let (class, text) = match &state.status {
        ConnectionStatus::Disconnected => ("status idle", "Disconnected".to_owned()),
        ConnectionStatus::Connecting => ("status pending", format!("Connecting as {device}…")),
        ConnectionStatus::Connected => (
            "status ok",
            format!("Connected as {device} · {}", state.protocol.short_label()),
        ),
        ConnectionStatus::Reconnecting {
            attempt,
            retry_in_ms,
            next_try_at,
            reason,
        } => {
            let at = next_try_at
                .as_ref()
                .map(|t| format!(" at {t} UTC"))
                .unwrap_or_default();
            let next = retry_in_ms
                .map(|ms| format!(", next try in {}{at}", format::retry_in(ms)))
                .unwrap_or_default();
            (
                "status warn",
                format!("Reconnecting (attempt {attempt}{next}): {reason}"),
            )
        }
        ConnectionStatus::Failed { reason } => ("status bad", format!("Failed: {reason}")),
    };
    html! {
        <p class={class} role="status" aria-live="polite" id={id(p, "-connection-status")}>
            <span class="dot" aria-hidden="true"></span>{ text }
        </p>
    }
}

fn send_row(record: &SendRecord) -> Html {
    let id = record
        .message_id
        .as_deref()
        .map(|m| format!("“{m}”"))
        .unwrap_or_else(|| format!("#{}", record.id));
    let (class, outcome) = match &record.outcome {
        SendOutcome::Pending => ("pending", "waiting for acknowledgement…".to_owned()),
        SendOutcome::Acked {
            latency_ms,
            wire_bytes,
        } => {
            let wire = wire_bytes
                .map(|b| format!(" · {} on the wire", format::bytes(b)))
                .unwrap_or_default();
            (
                "ok",
                format!("acknowledged in {}{wire}", format::latency(*latency_ms)),
            )
        }
        SendOutcome::Failed(reason) => ("bad", format!("failed: {reason}")),
    };
    html! {
        <li class={classes!("result", class)} key={record.id}>
            <span class="result-id">{ id }</span>
            <span class="muted">{ format!(" {} body · ", format::bytes(record.body_bytes as u64)) }</span>
            <span class="result-outcome">{ outcome }</span>
        </li>
    }
}

/// The HTTPS poll interval form (locked while connected, like the protocol).
#[derive(Properties, PartialEq, Clone)]
struct PollSettingsProps {
    id_prefix: AttrValue,
    state: Rc<DeviceState>,
    on_action: Callback<DeviceAction>,
}

#[component]
fn PollSettings(props: &PollSettingsProps) -> Html {
    let setting = &props.state.poll_setting;
    let locked = props.state.session.is_some();
    let secs_input = {
        let on_action = props.on_action.clone();
        on_text(Callback::from(move |v| {
            on_action.emit(DeviceAction::EditPollSecs(v))
        }))
    };
    let production_change = {
        let on_action = props.on_action.clone();
        on_check(Callback::from(move |on| {
            on_action.emit(DeviceAction::SetPollProduction(on))
        }))
    };
    let invalid = !setting.production && setting.choice().is_err();
    let p = &props.id_prefix;
    let hint = if setting.production {
        "IoT Hub guidance: poll HTTPS at most every 25 minutes."
    } else {
        "Development setting: a real IoT hub throttles frequent HTTPS polls."
    };
    html! {
        <div class="poll-settings">
            <div class="field poll-secs">
                <label for={id(p, "-poll-secs")}>{ "Poll every (s)" }</label>
                <input id={id(p, "-poll-secs")} type="number" min="1" max={MAX_DEV_POLL_SECS.to_string()}
                    step="1" inputmode="numeric" disabled={locked || setting.production}
                    aria-invalid={invalid.then_some("true")}
                    value={setting.dev_secs.clone()} oninput={secs_input} />
            </div>
            <label class="checkbox" for={id(p, "-poll-production")}>
                <input id={id(p, "-poll-production")} type="checkbox" checked={setting.production}
                    disabled={locked} onchange={production_change} />
                { "Production interval (25 min)" }
            </label>
            <p class="muted hint">{ hint }</p>
        </div>
    }
}

/// The live poller: countdown to the next poll, Poll now, pause/resume, last result.
fn poll_bar(
    p: &str,
    state: &DeviceState,
    on_poll_now: &Callback<()>,
    on_set_polling: &Callback<bool>,
) -> Html {
    let connected = matches!(state.status, ConnectionStatus::Connected);
    let (class, text) = match (&state.status, &state.poll) {
        (ConnectionStatus::Connecting, _) | (_, None) => ("chip pending", "first poll…".to_owned()),
        (_, Some(PollView { polling: true, .. })) => ("chip pending", "polling…".to_owned()),
        (_, Some(PollView { running: false, .. })) => ("chip warn", "polling paused".to_owned()),
        (
            _,
            Some(PollView {
                next_poll_in_secs: Some(secs),
                ..
            }),
        ) => (
            "chip ok",
            format!("next poll in {}", format::countdown(*secs)),
        ),
        (_, Some(_)) => ("chip pending", "waiting…".to_owned()),
    };
    let schedule = state.poll.map(|p| {
        let kind = if p.development { " (dev)" } else { "" };
        let polls = if p.cycles == 1 { "poll" } else { "polls" };
        let failures = if p.failures > 0 {
            format!(" · {} failed", p.failures)
        } else {
            String::new()
        };
        format!(
            "every {}{kind} · {} {polls}{failures}",
            format::interval(p.interval_secs),
            p.cycles
        )
    });
    let running = state.poll.is_none_or(|p| p.running);
    let polling_now = state.poll_command == PollCommand::PollingNow;
    let (result_class, result) = match &state.poll_command {
        PollCommand::Idle => ("muted", String::new()),
        PollCommand::PollingNow => ("muted", "polling now…".to_owned()),
        PollCommand::Polled { received: 0 } => ("muted", "no messages waiting".to_owned()),
        PollCommand::Polled { received: 1 } => ("ok-text", "received 1 message".to_owned()),
        PollCommand::Polled { received } => ("ok-text", format!("received {received} messages")),
        PollCommand::Failed(reason) => ("error", format!("failed: {reason}")),
    };
    html! {
        <div class="poll-bar" role="group" aria-label="HTTPS polling">
            <span id={id(p, "-poll-countdown")} class={class}>{ text }</span>
            <button type="button" id={id(p, "-poll-now")} class="small" disabled={!connected || polling_now}
                onclick={on_poll_now.reform(|_: MouseEvent| ())}>
                { "Poll now" }
            </button>
            <button type="button" id={id(p, "-poll-toggle")} class="secondary small" disabled={!connected}
                onclick={on_set_polling.reform(move |_: MouseEvent| !running)}>
                { if running { "Pause polling" } else { "Resume polling" } }
            </button>
            if let Some(schedule) = schedule {
                <span class="muted poll-schedule">{ schedule }</span>
            }
            <span id={id(p, "-poll-result")} class={classes!("poll-result", result_class)} role="status"
                aria-live="polite">{ result }</span>
        </div>
    }
}

/// The offered protocols that can abandon and reject (`HTTPS or AMQP`).
fn explicit_protocols() -> String {
    let names: Vec<&str> = Protocol::AVAILABLE
        .iter()
        .filter(|p| p.settlement() == Settlement::Explicit)
        .map(|p| p.name())
        .collect();
    names.join(" or ")
}

/// What settling means on the chosen protocol.
fn settlement_note(protocol: Protocol) -> Html {
    match protocol.settlement() {
        Settlement::OnReceipt => html! {
            <p class="note" role="note">
                { format!("{} completes each message on arrival (the client's PUBACK): nothing is left to settle, and abandon and reject need {}.", protocol.name(), explicit_protocols()) }
            </p>
        },
        Settlement::Explicit => html! {
            <p class="note" role="note">
                { "Messages stay locked until completed, abandoned (delivered again) or rejected (dead-lettered); an unsettled lock runs out after about a minute." }
            </p>
        },
    }
}

fn settle_chip(settle: &SettleState) -> (&'static str, String, &'static str) {
    match settle {
        SettleState::CompletedOnReceipt => (
            "chip ok",
            "completed on arrival".to_owned(),
            "MQTT: the client's PUBACK on receipt completed it",
        ),
        SettleState::Locked => ("chip pending", "locked".to_owned(), "waiting to be settled"),
        SettleState::Settling(op) => ("chip pending", format!("{}…", op.doing()), ""),
        SettleState::Settled(SettleOp::Complete) => ("chip ok", "completed".to_owned(), ""),
        SettleState::Settled(SettleOp::Abandon) => (
            "chip warn",
            "abandoned".to_owned(),
            "the hub delivers it again with a higher delivery count",
        ),
        SettleState::Settled(SettleOp::Reject) => (
            "chip bad",
            "rejected".to_owned(),
            "dead-lettered by the hub",
        ),
        SettleState::Failed { op, .. } => (
            "chip bad",
            format!("{} failed", op.label().to_lowercase()),
            "",
        ),
        SettleState::Redelivered => (
            "chip",
            "delivered again".to_owned(),
            "its lock ran out and the hub delivered it again: settle the newer copy",
        ),
        SettleState::Unsettled => (
            "chip warn",
            "not settled".to_owned(),
            "the connection ended first; the hub delivers it again",
        ),
    }
}

fn inbox_row(
    entry: &InboxEntry,
    current: Option<u64>,
    on_settle: &Callback<(u64, SettleOp)>,
) -> Html {
    let message = &entry.message;
    // The lock token leads the system properties: it is what settles the message.
    let system: Vec<(String, String)> = message
        .lock_token
        .iter()
        .map(|token| ("lockToken".to_owned(), token.clone()))
        .chain(
            message
                .system
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone())),
        )
        .collect();
    let delivery: Vec<(String, String)> = message
        .delivery
        .iter()
        .flat_map(|d| {
            [
                ("sequenceNumber".to_owned(), d.sequence_number.to_string()),
                ("deliveryCount".to_owned(), d.delivery_count.to_string()),
            ]
        })
        .collect();
    let enqueued = message
        .delivery
        .as_ref()
        .and_then(|d| d.enqueued_time.as_ref())
        .map(|t| format!("enqueued by the hub at {t}"));
    let (chip_class, chip_text, chip_title) = settle_chip(&entry.settle);
    let explicit = entry.protocol.settlement() == Settlement::Explicit;
    let settling = matches!(entry.settle, SettleState::Settling(_));
    let show_buttons = explicit && (entry.settle.can_settle() || settling);
    let usable = entry.settle.can_settle() && current == Some(entry.generation);
    let id = entry.id;
    html! {
        <li class={classes!("message", format!("settle-{}", settle_name(&entry.settle)))} key={id}>
            <div class="message-head">
                <time title={enqueued}>{ &message.received_at }</time>
                <span class="muted">{ entry.protocol.short_label() }</span>
                <KvList pairs={delivery} label="Delivery" class="delivery" />
                <span class={chip_class} title={chip_title}>{ chip_text }</span>
            </div>
            <pre class={classes!("body", (!message.body_is_text).then_some("binary"))}>{ &message.body }</pre>
            <KvList pairs={message.properties.clone()} label="Application properties" />
            <KvList pairs={system} label="System properties" class="system" />
            if show_buttons {
                <div class="settle-actions" role="group" aria-label="Settle this message">
                    { for SettleOp::ALL.iter().map(|op| {
                        let op = *op;
                        let class = match op {
                            SettleOp::Complete => classes!("small"),
                            SettleOp::Abandon => classes!("secondary", "small"),
                            SettleOp::Reject => classes!("secondary", "small", "danger"),
                        };
                        html! {
                            <button type="button" class={class} disabled={!usable}
                                onclick={on_settle.reform(move |_: MouseEvent| (id, op))}>
                                { op.label() }
                            </button>
                        }
                    }) }
                </div>
            }
            if let SettleState::Failed { op, reason } = &entry.settle {
                <p class="error" role="alert">{ format!("{} failed: {reason}", op.label()) }</p>
            }
        </li>
    }
}

/// A stable name per settlement state, for styling and tests.
fn settle_name(settle: &SettleState) -> &'static str {
    match settle {
        SettleState::CompletedOnReceipt => "on-receipt",
        SettleState::Locked => "locked",
        SettleState::Settling(_) => "settling",
        SettleState::Settled(SettleOp::Complete) => "completed",
        SettleState::Settled(SettleOp::Abandon) => "abandoned",
        SettleState::Settled(SettleOp::Reject) => "rejected",
        SettleState::Failed { .. } => "failed",
        SettleState::Redelivered => "redelivered",
        SettleState::Unsettled => "unsettled",
    }
}

/// Send N times at a rate: the form, the Stop button and the run's progress.
#[component]
fn BurstControls(props: &DevicePaneProps) -> Html {
    let state = &props.state;
    let p = &props.id_prefix;
    let form = &state.burst_form;
    let running = state.burst.as_ref().is_some_and(Burst::running);
    let edit = |make: fn(String) -> BurstFormEdit| {
        let on_action = props.on_action.clone();
        on_text(Callback::from(move |v| {
            on_action.emit(DeviceAction::BurstForm(make(v)))
        }))
    };
    html! {
        <form class="burst" onsubmit={on_submit(props.on_burst.clone())}
            aria-label="Send the message several times">
            <div class="field-row burst-row">
                <div class="field">
                    <label for={id(p, "-burst-count")}>{ "Times" }</label>
                    <input id={id(p, "-burst-count")} type="number" min="1"
                        max={MAX_BURST.to_string()} step="1" inputmode="numeric" disabled={running}
                        value={form.count.clone()} oninput={edit(BurstFormEdit::Count)} />
                </div>
                <div class="field">
                    <label for={id(p, "-burst-rate")}>{ "Rate (msg/s)" }</label>
                    <input id={id(p, "-burst-rate")} type="number" min="0.1" step="any"
                        inputmode="decimal" disabled={running}
                        value={form.rate.clone()} oninput={edit(BurstFormEdit::Rate)} />
                </div>
                <div class="actions">
                    <button type="submit" class="secondary" disabled={running || state.session.is_none()}>
                        { "Send N times" }
                    </button>
                    <button type="button" class="secondary danger" disabled={!running}
                        onclick={props.on_stop_burst.reform(|_: MouseEvent| ())}>
                        { "Stop" }
                    </button>
                </div>
            </div>
            <p class="muted hint">{ "With a message id set, each copy gets -1, -2, … appended." }</p>
            if let Some(error) = &form.error {
                <p class="error" role="alert">{ error.clone() }</p>
            }
            if let Some(burst) = &state.burst {
                { burst_progress(p, burst) }
            }
        </form>
    }
}

fn burst_progress(p: &str, burst: &Burst) -> Html {
    let done = burst.acked + burst.failed;
    let state = if burst.running() {
        "running"
    } else if burst.stopped.is_some() {
        "stopped"
    } else {
        "finished"
    };
    let mut text = format!(
        "{state}: sent {}/{} · acknowledged {} · failed {} (at {} per second)",
        burst.sent, burst.total, burst.acked, burst.failed, burst.rate
    );
    if let Some(reason) = &burst.stopped {
        text.push_str(&format!(" · {reason}"));
    }
    html! {
        <div class={classes!("burst-progress", state)}>
            <progress id={id(p, "-burst-progress")} max={burst.total.to_string()}
                value={done.to_string()} aria-label="Messages acknowledged or failed" />
            <p id={id(p, "-burst-status")} role="status" aria-live="polite">{ text }</p>
            if let Some(error) = &burst.first_error {
                <p class="error">{ format!("first failure: {error}") }</p>
            }
        </div>
    }
}
