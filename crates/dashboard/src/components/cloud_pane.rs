//! The cloud pane: the live D2C feed and the C2D send form (devhub service API).

use std::rc::Rc;

use hubwire_iothub::message::Ack;
use yew::prelude::*;

use super::fields::{on_change, on_submit};
use super::kv::KvList;
use super::message_fields::MessageFields;
use crate::format;
use crate::state::cloud::{
    C2dOutcome, C2dRecord, CloudAction, CloudState, FeedStatus, ACK_CHOICES,
};
use crate::state::hub::CloudSupport;
use crate::types::{DeviceInfo, EventRecord};

/// Properties of [`CloudPane`].
#[derive(Properties, PartialEq, Clone)]
pub struct CloudPaneProps {
    /// Whether the hub has the devhub service API.
    pub support: CloudSupport,
    /// The hub URL in use (for the "needs devhub" notice).
    pub hub_url: Option<AttrValue>,
    /// Pane state.
    pub state: Rc<CloudState>,
    /// The hub's devices (C2D targets).
    pub devices: Rc<Vec<DeviceInfo>>,
    /// The C2D target the form shows (the chosen one, else the first device).
    pub c2d_device: Option<AttrValue>,
    /// Pure edits.
    pub on_action: Callback<CloudAction>,
    /// Send the C2D draft.
    pub on_send: Callback<()>,
}

/// The cloud pane.
#[component]
pub fn CloudPane(props: &CloudPaneProps) -> Html {
    let body = match props.support {
        CloudSupport::Unknown => html! {
            <section class="card"><p class="muted">{ "Asking the hub what it is…" }</p></section>
        },
        CloudSupport::Unavailable => {
            let hub = props
                .hub_url
                .as_ref()
                .map(|u| u.to_string())
                .unwrap_or_else(|| "the hub URL".to_owned());
            html! {
                <section class="card notice" role="note">
                    <h3>{ "This pane needs devhub" }</h3>
                    <p>
                        { format!("{hub} does not offer the devhub service API (GET /api/hub did not answer \"devhub\": true). ") }
                        { "Start devhub and point the hub URL at it to see device-to-cloud traffic and send cloud-to-device messages." }
                    </p>
                </section>
            }
        }
        CloudSupport::Devhub => html! {
            <>
                <FeedCard state={props.state.clone()} on_action={props.on_action.clone()} />
                <C2dCard ..props.clone() />
            </>
        },
    };
    html! {
        <section class="pane" aria-labelledby="cloud-pane-title">
            <h2 id="cloud-pane-title" class="pane-title">
                { "Cloud" }<span class="pane-sub">{ "devhub service API" }</span>
            </h2>
            { body }
        </section>
    }
}

#[derive(Properties, PartialEq, Clone)]
struct FeedCardProps {
    state: Rc<CloudState>,
    on_action: Callback<CloudAction>,
}

#[component]
fn FeedCard(props: &FeedCardProps) -> Html {
    let state = &props.state;
    let (class, text) = match &state.feed {
        FeedStatus::Idle => ("chip", "idle".to_owned()),
        FeedStatus::Connecting => ("chip pending", "connecting…".to_owned()),
        FeedStatus::Live => ("chip ok", "live".to_owned()),
        FeedStatus::Polling { .. } => ("chip warn", "polling".to_owned()),
        FeedStatus::Failed(reason) => ("chip bad", format!("failed: {reason}")),
    };
    let title = match &state.feed {
        FeedStatus::Live => "Server-Sent Events stream open".to_owned(),
        FeedStatus::Polling { reason } => format!("stream unavailable ({reason}); polling"),
        _ => String::new(),
    };
    html! {
        <section class="card feed-card" aria-labelledby="feed-title">
            <div class="card-head">
                <h3 id="feed-title">
                    { "Device-to-cloud messages" }
                    <span class="count">{ state.events.len() }</span>
                </h3>
                <span class={class} role="status" aria-live="polite" title={title}>{ text }</span>
                <button type="button" class="secondary small" disabled={state.events.is_empty()}
                    onclick={props.on_action.reform(|_: MouseEvent| CloudAction::ClearEvents)}>
                    { "Clear" }
                </button>
            </div>
            if state.events.is_empty() {
                <p class="muted">{ "Waiting for device-to-cloud messages." }</p>
            } else {
                <ol class="messages feed" aria-label="Device-to-cloud messages, newest first">
                    { for state.events.iter().map(event_row) }
                </ol>
            }
        </section>
    }
}

fn event_row(event: &EventRecord) -> Html {
    let (body, binary) = match (&event.body, &event.body_base64) {
        (Some(text), _) => (text.clone(), false),
        (None, Some(b64)) => (format!("base64: {b64}"), true),
        (None, None) => ("(empty body)".to_owned(), true),
    };
    html! {
        <li class="message" key={event.seq}>
            <div class="message-head">
                <time>{ format::time_of_day(&event.enqueued_time_utc) }</time>
                <strong class="device">{ &event.device_id }</strong>
                <span class="muted">
                    { format!("#{} · {}", event.seq, event.protocol) }
                    { event.wire_bytes.map(|b| format!(" · {} on the wire", format::bytes(b))).unwrap_or_default() }
                </span>
            </div>
            <pre class={classes!("body", binary.then_some("binary"))}>{ body }</pre>
            <KvList pairs={event.properties.clone()} label="Application properties" />
            <KvList pairs={event.system_properties.clone()} label="System properties" class="system" />
        </li>
    }
}

#[component]
fn C2dCard(props: &CloudPaneProps) -> Html {
    let state = &props.state;
    let device_change = {
        let on_action = props.on_action.clone();
        on_change(Callback::from(move |v: String| {
            on_action.emit(CloudAction::SetDevice(v))
        }))
    };
    let ack_change = {
        let on_action = props.on_action.clone();
        on_change(Callback::from(move |v: String| {
            if let Some(ack) = Ack::parse(&v) {
                on_action.emit(CloudAction::SetAck(ack));
            }
        }))
    };
    let selected = props.c2d_device.as_ref().map(AttrValue::as_str);
    html! {
        <section class="card" aria-labelledby="c2d-title">
            <h3 id="c2d-title">{ "Send cloud-to-device message" }</h3>
            <form class="composer" onsubmit={on_submit(props.on_send.clone())}>
                <div class="field-row">
                    <div class="field grow">
                        <label for="c2d-device">{ "Device" }</label>
                        <select id="c2d-device" onchange={device_change}>
                            if props.devices.is_empty() {
                                <option value="">{ "no devices" }</option>
                            }
                            { for props.devices.iter().map(|d| html! {
                                <option value={d.device_id.clone()} selected={selected == Some(d.device_id.as_str())}>
                                    { if d.connected { format!("{} (connected)", d.device_id) } else { d.device_id.clone() } }
                                    { if d.c2d_queued > 0 { format!(" · {} queued", d.c2d_queued) } else { String::new() } }
                                </option>
                            }) }
                        </select>
                    </div>
                    <div class="field">
                        <label for="c2d-ack">{ "Feedback (ack)" }</label>
                        <select id="c2d-ack" onchange={ack_change}>
                            { for ACK_CHOICES.iter().map(|a| html! {
                                <option value={a.as_str()} selected={*a == state.c2d_ack}>{ a.as_str() }</option>
                            }) }
                        </select>
                    </div>
                </div>
                <MessageFields id_prefix="c2d" draft={state.c2d_draft.clone()}
                    on_edit={props.on_action.reform(CloudAction::Draft)} />
                <div class="actions">
                    <button type="submit" disabled={selected.is_none()}>{ "Send to device" }</button>
                </div>
                if let Some(error) = &state.c2d_error {
                    <p class="error" role="alert">{ error.clone() }</p>
                }
            </form>
            if !state.c2d_sends.is_empty() {
                <ol class="results" aria-label="Cloud-to-device send results">
                    { for state.c2d_sends.iter().map(c2d_row) }
                </ol>
            }
        </section>
    }
}

fn c2d_row(record: &C2dRecord) -> Html {
    let (class, text) = match &record.outcome {
        C2dOutcome::Pending => ("pending", "sending…".to_owned()),
        C2dOutcome::Queued {
            message_id,
            sequence_number,
        } => (
            "ok",
            format!("queued as “{message_id}” (sequence {sequence_number})"),
        ),
        C2dOutcome::Failed(reason) => ("bad", format!("failed: {reason}")),
    };
    html! {
        <li class={classes!("result", class)} key={record.id}>
            <span class="result-id">{ format!("→ {}", record.device_id) }</span>
            <span class="result-outcome">{ format!(" {text}") }</span>
        </li>
    }
}
