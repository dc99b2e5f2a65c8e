//! The field gateway pane: the run form, the connection's status, totals and one row per
//! simulated device.

use std::rc::Rc;

use hubwire_iothub::secret::Secret;
use yew::prelude::*;

use super::fields::{on_submit, on_text};
use crate::format::{self, Num};
use crate::state::gateway::{
    DeviceRow, DeviceSource, GatewayAction, GatewayState, LinkStatus, Run, RunPhase, MAX_DEVICES,
    MAX_IN_FLIGHT_PER_DEVICE, MAX_RATE_PER_DEVICE,
};

/// Properties of [`GatewayPane`].
#[derive(Properties, PartialEq, Clone)]
pub struct GatewayPaneProps {
    /// Pane state.
    pub state: Rc<GatewayState>,
    /// Whether the hub is devhub (devices can be created).
    pub devhub: bool,
    /// Pure edits.
    pub on_action: Callback<GatewayAction>,
    /// Start a run with the form's settings.
    pub on_start: Callback<()>,
    /// Stop the active run.
    pub on_stop: Callback<()>,
}

/// The field gateway pane.
#[component]
pub fn GatewayPane(props: &GatewayPaneProps) -> Html {
    let state = &props.state;
    html! {
        <section class="pane gateway-pane" aria-labelledby="gw-pane-title">
            <h2 id="gw-pane-title" class="pane-title">
                { "Field gateway" }
                <span class="pane-sub">{ "many devices over one AMQP/WebSocket connection" }</span>
            </h2>
            <GatewayForm ..props.clone() />
            if let Some(run) = &state.run {
                <RunCard run={Rc::new(run.clone())} />
            }
        </section>
    }
}

#[component]
fn GatewayForm(props: &GatewayPaneProps) -> Html {
    let state = &props.state;
    let form = &state.form;
    let active = state.active();
    let edit = |f: fn(String) -> GatewayAction| on_text(props.on_action.reform(f));
    let source = |s: DeviceSource| {
        props
            .on_action
            .reform(move |_: Event| GatewayAction::SetSource(s))
    };
    let pasted_edit = on_text(
        props
            .on_action
            .reform(|v: String| GatewayAction::EditPasted(Secret::new(v))),
    );
    let stopping = matches!(
        state.run.as_ref().map(|r| &r.phase),
        Some(RunPhase::Stopping)
    );
    html! {
        <section class="card" aria-labelledby="gw-form-title">
            <form class="gateway-form" onsubmit={on_submit(props.on_start.clone())}>
                <div class="card-head">
                    <h3 id="gw-form-title">{ "Simulated devices" }</h3>
                </div>
                <fieldset class="source" disabled={active}>
                    <legend>{ "Devices" }</legend>
                    <label class="radio">
                        <input type="radio" name="gw-source" value="devhub"
                            checked={form.source == DeviceSource::Devhub}
                            onchange={source(DeviceSource::Devhub)} />
                        { "Create on devhub" }
                    </label>
                    <label class="radio">
                        <input type="radio" name="gw-source" value="pasted"
                            checked={form.source == DeviceSource::Pasted}
                            onchange={source(DeviceSource::Pasted)} />
                        { "Paste connection strings" }
                    </label>
                </fieldset>
                <fieldset class="plain" disabled={active}>
                    <legend class="visually-hidden">{ "Run settings" }</legend>
                    if form.source == DeviceSource::Devhub {
                        <div class="field-row">
                            <div class="field">
                                <label for="gw-count">{ "Number of devices" }</label>
                                <input id="gw-count" type="number" min="1" max={MAX_DEVICES.to_string()}
                                    inputmode="numeric" value={form.count.clone()}
                                    oninput={edit(GatewayAction::EditCount)} />
                            </div>
                            <div class="field grow">
                                <label for="gw-prefix">{ "Device id prefix" }</label>
                                <input id="gw-prefix" type="text" value={form.prefix.clone()}
                                    autocomplete="off" spellcheck="false"
                                    aria-describedby="gw-prefix-hint"
                                    oninput={edit(GatewayAction::EditPrefix)} />
                                <span id="gw-prefix-hint" class="muted hint">
                                    { format!("Devices {}01, {}02, … are created or reused.", form.prefix.trim(), form.prefix.trim()) }
                                </span>
                            </div>
                        </div>
                        if !props.devhub {
                            <p class="note warn-text" role="note">
                                { "This hub is not devhub: devices cannot be created here. Paste device connection strings instead." }
                            </p>
                        }
                    } else {
                        <div class="field">
                            <label for="gw-pasted">{ "Device connection strings, one per line" }</label>
                            <textarea id="gw-pasted" rows="4" autocomplete="off" spellcheck="false"
                                class="mono" aria-describedby="gw-pasted-hint"
                                placeholder="HostName=…;DeviceId=…;SharedAccessKey=…"
                                value={form.pasted.expose().to_owned()}
                                oninput={pasted_edit} />
                            <span id="gw-pasted-hint" class="muted hint">
                                { "All devices of one hub; blank lines and lines starting with # are skipped. Keys stay in this page." }
                            </span>
                        </div>
                    }
                    <div class="field-row">
                        <div class="field">
                            <label for="gw-rate">{ "Messages/s per device" }</label>
                            <input id="gw-rate" type="number" min="0.1" step="0.1"
                                max={Num(MAX_RATE_PER_DEVICE).to_string()} inputmode="decimal"
                                value={form.rate.clone()} oninput={edit(GatewayAction::EditRate)} />
                        </div>
                        <div class="field">
                            <label for="gw-messages">{ "Messages per device" }</label>
                            <input id="gw-messages" type="number" min="0" inputmode="numeric"
                                aria-describedby="gw-messages-hint"
                                value={form.messages.clone()} oninput={edit(GatewayAction::EditMessages)} />
                            <span id="gw-messages-hint" class="muted hint">{ "0: until stopped" }</span>
                        </div>
                        <div class="field">
                            <label for="gw-pad">{ "Pad body to (bytes)" }</label>
                            <input id="gw-pad" type="number" min="0" inputmode="numeric"
                                value={form.pad_to.clone()} oninput={edit(GatewayAction::EditPadTo)} />
                        </div>
                    </div>
                    <div class="field">
                        <label for="gw-template">{ "Body template" }</label>
                        <input id="gw-template" type="text" class="mono" value={form.template.clone()}
                            autocomplete="off" spellcheck="false" aria-describedby="gw-template-hint"
                            oninput={edit(GatewayAction::EditTemplate)} />
                        <span id="gw-template-hint" class="muted hint">
                            { format!("{{device}} and {{seq}} are replaced. At most {MAX_IN_FLIGHT_PER_DEVICE} messages per device wait for the hub at a time.") }
                        </span>
                    </div>
                </fieldset>
                <div class="actions">
                    <button type="submit" disabled={active}>{ "Start" }</button>
                    <button type="button" class="secondary" disabled={!active || stopping}
                        onclick={props.on_stop.reform(|_: MouseEvent| ())}>
                        { if stopping { "Stopping…" } else { "Stop" } }
                    </button>
                </div>
                if let Some(error) = &state.form_error {
                    <p class="error" role="alert">{ error.to_string() }</p>
                }
            </form>
        </section>
    }
}

#[derive(Properties, PartialEq)]
struct RunCardProps {
    run: Rc<Run>,
}

fn link_chip(status: &LinkStatus) -> (&'static str, String) {
    let class = match status {
        LinkStatus::Connected => "chip ok",
        LinkStatus::Waiting | LinkStatus::Connecting => "chip pending",
        LinkStatus::Reconnecting { .. } => "chip warn",
        LinkStatus::Disconnected => "chip",
        LinkStatus::Failed(_) => "chip bad",
    };
    (class, status.label())
}

fn phase_text(phase: &RunPhase) -> String {
    match phase {
        RunPhase::Preparing => "finding or creating devices…".to_owned(),
        RunPhase::Connecting => "connecting and adding devices…".to_owned(),
        RunPhase::Running => "running".to_owned(),
        RunPhase::Stopping => "stopping: waiting for messages in flight…".to_owned(),
        RunPhase::Finished => "stopped".to_owned(),
        RunPhase::Failed(reason) => format!("failed: {reason}"),
    }
}

#[component]
fn RunCard(props: &RunCardProps) -> Html {
    let run = &props.run;
    let totals = run.totals();
    let (chip, chip_text) = link_chip(&run.connection);
    let planned = run
        .planned_total()
        .map(|p| format!(" of {p}"))
        .unwrap_or_default();
    let p50 = totals
        .latency_p50_ms
        .map(format::latency)
        .unwrap_or_else(|| "–".to_owned());
    let stat = |id: &'static str, label: &'static str, value: String| {
        html! {
            <div class="stat">
                <dt>{ label }</dt>
                <dd id={id}>{ value }</dd>
            </div>
        }
    };
    html! {
        <section class="card" aria-labelledby="gw-run-title">
            <div class="card-head">
                <h3 id="gw-run-title">{ "Run" }</h3>
                <span class={chip} id="gw-connection" role="status" aria-live="polite"
                    title="the gateway's one AMQP/WebSocket connection">
                    { format!("connection {chip_text}") }
                </span>
            </div>
            <p class={classes!("run-phase", matches!(run.phase, RunPhase::Failed(_)).then_some("error"))}
                id="gw-phase" role="status">
                { phase_text(&run.phase) }
            </p>
            <dl class="stats" aria-label="Totals over all devices">
                { stat("gw-total-devices", "Devices connected", format!("{} / {}", totals.connected, run.devices.len())) }
                { stat("gw-total-sent", "Sent", format!("{}{planned}", totals.sent)) }
                { stat("gw-total-acked", "Acked", totals.acked.to_string()) }
                { stat("gw-total-failed", "Failed", totals.failed.to_string()) }
                { stat("gw-total-inflight", "In flight", totals.in_flight.to_string()) }
                if totals.cut_off > 0 {
                    <div class="stat" title="Stop closed the connection before the hub answered: the hub may or may not have taken these">
                        <dt>{ "Cut off at stop" }</dt>
                        <dd id="gw-total-cutoff">{ totals.cut_off }</dd>
                    </div>
                }
                { stat("gw-total-c2d", "C2D received", totals.c2d.to_string()) }
                { stat("gw-total-p50", "Latency p50", p50) }
            </dl>
            <div class="table-scroll" tabindex="0" role="region" aria-label="Per-device counts">
                <table class="gw-devices">
                    <thead>
                        <tr>
                            <th scope="col">{ "Device" }</th>
                            <th scope="col">{ "Status" }</th>
                            <th scope="col" class="num">{ "Sent" }</th>
                            <th scope="col" class="num">{ "Acked" }</th>
                            <th scope="col" class="num">{ "Failed" }</th>
                            <th scope="col" class="num">{ "C2D" }</th>
                            <th scope="col" class="num">{ "p50" }</th>
                        </tr>
                    </thead>
                    <tbody>
                        { for run.devices.iter().map(device_row) }
                    </tbody>
                </table>
            </div>
        </section>
    }
}

fn device_row(d: &DeviceRow) -> Html {
    let (chip, text) = link_chip(&d.status);
    html! {
        <tr key={d.device_id.clone()} data-device={d.device_id.clone()}>
            <th scope="row" class="mono">{ &d.device_id }</th>
            <td><span class={chip} title={d.last_error.clone().unwrap_or_default()}>{ text }</span></td>
            <td class="num" data-col="sent">{ d.sent }</td>
            <td class="num" data-col="acked">{ d.acked }</td>
            <td class={classes!("num", (d.failed > 0).then_some("bad-text"))} data-col="failed"
                title={d.last_error.clone().unwrap_or_default()}>{ d.failed }</td>
            <td class="num" data-col="c2d">{ d.c2d }</td>
            <td class="num">{ d.latency_p50_ms().map(format::latency).unwrap_or_else(|| "–".to_owned()) }</td>
        </tr>
    }
}
