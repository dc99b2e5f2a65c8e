//! The device pane: identity and connection, D2C composer with results, C2D inbox.

use std::rc::Rc;

use hubwire_iothub::secret::Secret;
use yew::prelude::*;

use super::fields::{on_change, on_submit, on_text};
use super::kv::KvList;
use super::message_fields::MessageFields;
use crate::format;
use crate::state::device::{
    ConnectionStatus, DeviceAction, DeviceState, InboxMessage, Protocol, SendOutcome, SendRecord,
    Source,
};
use crate::state::hub::Load;
use crate::types::DeviceInfo;

/// Properties of [`DevicePane`].
#[derive(Properties, PartialEq, Clone)]
pub struct DevicePaneProps {
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
}

/// The device pane.
#[component]
pub fn DevicePane(props: &DevicePaneProps) -> Html {
    let state = &props.state;
    html! {
        <section class="pane" aria-labelledby="device-pane-title">
            <h2 id="device-pane-title" class="pane-title">
                { "Device" }<span class="pane-sub">{ "browser client" }</span>
            </h2>
            <ConnectionCard ..props.clone() />
            <section class="card" aria-labelledby="d2c-title">
                <h3 id="d2c-title">{ "Send device-to-cloud message" }</h3>
                <form class="composer" onsubmit={on_submit(props.on_send.clone())}>
                    <MessageFields id_prefix="d2c" draft={state.draft.clone()}
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
                if !state.sends.is_empty() {
                    <ol class="results" aria-label="Send results">
                        { for state.sends.iter().map(send_row) }
                    </ol>
                }
            </section>
            <section class="card" aria-labelledby="inbox-title">
                <div class="card-head">
                    <h3 id="inbox-title">
                        { "Cloud-to-device inbox" }
                        <span class="count">{ state.inbox.len() }</span>
                    </h3>
                    <button type="button" class="secondary small" disabled={state.inbox.is_empty()}
                        onclick={props.on_action.reform(|_: MouseEvent| DeviceAction::ClearInbox)}>
                        { "Clear" }
                    </button>
                </div>
                if state.inbox.is_empty() {
                    <p class="muted">{ "No messages received yet." }</p>
                } else {
                    <ol class="messages" aria-label="Received cloud-to-device messages">
                        { for state.inbox.iter().map(inbox_row) }
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
            let source = if value == "pasted" {
                Source::Pasted
            } else {
                Source::Demo
            };
            on_action.emit(DeviceAction::SetSource(source));
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
    html! {
        <section class="card" aria-labelledby="connection-title">
            <form class="connection" onsubmit={on_submit(props.on_connect.clone())}>
                <div class="card-head">
                    <h3 id="connection-title">{ "Connection" }</h3>
                    <fieldset class="source" disabled={locked}>
                        <legend>{ "Identity" }</legend>
                        <label class="radio">
                            <input type="radio" name="source" value="demo"
                                checked={state.source == Source::Demo} onchange={source_change.clone()} />
                            { "Demo device" }
                        </label>
                        <label class="radio">
                            <input type="radio" name="source" value="pasted"
                                checked={state.source == Source::Pasted} onchange={source_change} />
                            { "Connection string" }
                        </label>
                    </fieldset>
                </div>
                <div class="field-row connect-row">
                    if state.source == Source::Demo {
                        <div class="field grow">
                            <label for="demo-device">{ "Demo device" }</label>
                            <select id="demo-device" onchange={demo_change} disabled={locked}>
                                { demo_options(&props.devices, selected_demo) }
                            </select>
                        </div>
                    } else {
                        <div class="field grow">
                            <label for="connection-string">{ "Device connection string" }</label>
                            <input id="connection-string" type="password" autocomplete="off"
                                spellcheck="false" disabled={locked}
                                placeholder="HostName=…;DeviceId=…;SharedAccessKey=…"
                                value={state.pasted.expose().to_owned()} oninput={pasted_input} />
                        </div>
                    }
                    <div class="field">
                        <label for="protocol">{ "Protocol" }</label>
                        <select id="protocol" onchange={protocol_change} disabled={locked}>
                            { for Protocol::AVAILABLE.iter().map(|p| html! {
                                <option value={p.as_str()} selected={*p == state.protocol}>
                                    { p.label() }
                                </option>
                            }) }
                        </select>
                    </div>
                </div>
                <div class="actions connect-actions">
                    <button type="submit" disabled={locked}>{ "Connect" }</button>
                    <button type="button" class="secondary" disabled={!locked}
                        onclick={props.on_disconnect.reform(|_: MouseEvent| ())}>
                        { "Disconnect" }
                    </button>
                    { status_line(state) }
                </div>
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

fn status_line(state: &DeviceState) -> Html {
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
            reason,
        } => {
            let next = retry_in_ms
                .map(|ms| format!(", next try in {}", format::retry_in(ms)))
                .unwrap_or_default();
            (
                "status warn",
                format!("Reconnecting (attempt {attempt}{next}): {reason}"),
            )
        }
        ConnectionStatus::Failed { reason } => ("status bad", format!("Failed: {reason}")),
    };
    html! {
        <p class={class} role="status" aria-live="polite" id="connection-status">
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

fn inbox_row(message: &InboxMessage) -> Html {
    let system: Vec<(String, String)> = message
        .system
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    html! {
        <li class="message">
            <div class="message-head">
                <time>{ &message.received_at }</time>
            </div>
            <pre class={classes!("body", (!message.body_is_text).then_some("binary"))}>{ &message.body }</pre>
            <KvList pairs={message.properties.clone()} label="Application properties" />
            <KvList pairs={system} label="System properties" class="system" />
        </li>
    }
}
