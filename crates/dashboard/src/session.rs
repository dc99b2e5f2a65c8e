//! The device side of the page: a tab per device session, each a [`DeviceConnectionProvider`]
//! of its own (reducer, client, tasks) around a [`DevicePane`]. The session list is a pure
//! reducer ([`SessionsState`]); this module wires it to the views and keeps the settings in
//! storage.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use yew::prelude::*;

use crate::components::DevicePane;
use crate::connection::{use_device, DeviceConnectionProvider};
use crate::services::storage;
use crate::state::device::{ConnectionStatus, DevhubTarget, Protocol, Source};
use crate::state::hub::Load;
use crate::state::hub_url::HubUrl;
use crate::state::metrics::Sample;
use crate::state::sessions::{Badge, SessionsAction, SessionsState};
use crate::state::settings::{self, SessionSettings};
use crate::types::DeviceInfo;

/// Properties of [`DeviceSessions`].
#[derive(Properties, PartialEq)]
pub(crate) struct DeviceSessionsProps {
    /// The sessions the page starts with (read once, when it mounts).
    pub(crate) initial: Rc<SessionsState>,
    /// The applied hub URL (stored with the sessions).
    pub(crate) hub_url: Option<HubUrl>,
    /// The hub's devices (demo picker).
    pub(crate) devices: Load<Vec<DeviceInfo>>,
    /// The devhub, when the hub URL points at one.
    pub(crate) devhub: Option<DevhubTarget>,
    /// Why demo devices cannot be used, when the hub is not devhub.
    pub(crate) demo_note: Option<AttrValue>,
    /// One sample per acknowledged device-to-cloud message, from every session.
    pub(crate) on_sample: Callback<Sample>,
    /// Each C2D message a session's inbox receives: protocol, message id, arrival
    /// (`performance.now()` ms).
    #[prop_or_default]
    pub(crate) on_c2d_received: Callback<(Protocol, String, f64)>,
    /// Ask for a fresh device list (connected flags changed).
    pub(crate) on_refresh_devices: Callback<()>,
}

/// The device sessions: tabs, "Add device", "Remember secrets", and one panel per session.
#[component]
pub(crate) fn DeviceSessions(props: &DeviceSessionsProps) -> Html {
    let initial = props.initial.clone();
    let sessions = use_reducer(move || (*initial).clone());
    {
        let url = props.hub_url.as_ref().map(|u| u.as_str().to_owned());
        use_effect_with((url, sessions.clone()), |(url, sessions)| {
            storage::save(&settings::to_json(url.as_deref(), sessions));
        });
    }
    let dispatch = sessions.dispatcher();
    let on_session = Callback::from(move |a| dispatch.dispatch(a));
    let on_add = on_session.reform(|_: MouseEvent| SessionsAction::Add);
    let on_remember = {
        let on_session = on_session.clone();
        Callback::from(move |e: Event| {
            if let Some(input) = e.target_dyn_into::<web_sys::HtmlInputElement>() {
                on_session.emit(SessionsAction::RememberSecrets(input.checked()));
            }
        })
    };
    let on_tab_key = {
        let on_session = on_session.clone();
        let sessions = sessions.clone();
        Callback::from(move |e: KeyboardEvent| {
            let action = match e.key().as_str() {
                "ArrowRight" | "ArrowDown" => SessionsAction::SelectAdjacent(true),
                "ArrowLeft" | "ArrowUp" => SessionsAction::SelectAdjacent(false),
                "Home" | "End" => {
                    let end = if e.key() == "Home" {
                        sessions.entries.first()
                    } else {
                        sessions.entries.last()
                    };
                    match end {
                        Some(entry) => SessionsAction::Select(entry.id),
                        None => return,
                    }
                }
                _ => return,
            };
            e.prevent_default();
            let mut next = (*sessions).clone();
            next.apply(action.clone());
            on_session.emit(action);
            // Roving focus: the newly selected tab takes the keyboard focus.
            if let Some(id) = next.selected {
                focus(&format!("s{id}-tab"));
            }
        })
    };
    html! {
        <section class="sessions" aria-label="Device sessions">
            <div class="session-bar">
                <div class="tabs" role="tablist" aria-label="Device sessions" onkeydown={on_tab_key}>
                    { for sessions.entries.iter().map(|entry| {
                        let id = entry.id;
                        let selected = sessions.selected == Some(id);
                        let (class, label) = entry.badge.class_and_label();
                        html! {
                            <button type="button" role="tab" id={format!("s{id}-tab")} key={id}
                                class={classes!("tab", selected.then_some("selected"))}
                                aria-selected={selected.to_string()}
                                aria-controls={format!("s{id}-panel")}
                                tabindex={if selected { "0" } else { "-1" }}
                                onclick={on_session.reform(move |_: MouseEvent| SessionsAction::Select(id))}>
                                <span class={classes!("dot", class)} aria-hidden="true"></span>
                                { entry.name.clone() }
                                <span class="sr-only">{ format!(" ({label})") }</span>
                            </button>
                        }
                    }) }
                </div>
                <button type="button" class="secondary small" id="add-session" onclick={on_add}>
                    { "+ Add device" }
                </button>
                <label class="checkbox remember" for="remember-secrets"
                    title="Keep connection strings and SAS tokens in this browser's storage">
                    <input id="remember-secrets" type="checkbox"
                        checked={sessions.remember_secrets} onchange={on_remember} />
                    { "Remember secrets" }
                </label>
            </div>
            if sessions.entries.is_empty() {
                <p class="muted empty-sessions">{ "No device sessions: add one to connect a device." }</p>
            }
            // The keyed panels are the only children here, so adding or removing one never
            // remounts (and disconnects) the others.
            <div class="session-panels">
                { for sessions.entries.iter().map(|entry| html! {
                    <DeviceSession key={entry.id} id={entry.id} name={AttrValue::from(entry.name.clone())}
                        initial={entry.settings.clone()}
                        selected={sessions.selected == Some(entry.id)}
                        devices={props.devices.clone()} devhub={props.devhub.clone()}
                        demo_note={props.demo_note.clone()}
                        on_session={on_session.clone()} on_sample={props.on_sample.clone()}
                        on_c2d_received={props.on_c2d_received.clone()}
                        on_refresh_devices={props.on_refresh_devices.clone()} />
                }) }
            </div>
        </section>
    }
}

fn focus(id: &str) {
    let element = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id(id))
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(element) = element {
        let _ = element.focus();
    }
}

/// Properties of [`DeviceSession`].
#[derive(Properties, PartialEq, Clone)]
pub(crate) struct DeviceSessionProps {
    /// Stable session id.
    pub(crate) id: u64,
    /// Session name.
    pub(crate) name: AttrValue,
    /// Settings it starts with (read once).
    pub(crate) initial: SessionSettings,
    /// Whether its tab is selected (others stay mounted, hidden, and connected).
    pub(crate) selected: bool,
    /// The hub's devices.
    pub(crate) devices: Load<Vec<DeviceInfo>>,
    /// The devhub, when the hub URL points at one.
    pub(crate) devhub: Option<DevhubTarget>,
    /// Why demo devices cannot be used here.
    pub(crate) demo_note: Option<AttrValue>,
    /// Changes to the session list (rename, remove, settings, status).
    pub(crate) on_session: Callback<SessionsAction>,
    /// One sample per acknowledged send.
    pub(crate) on_sample: Callback<Sample>,
    /// Each received C2D message.
    pub(crate) on_c2d_received: Callback<(Protocol, String, f64)>,
    /// Ask for a fresh device list.
    pub(crate) on_refresh_devices: Callback<()>,
}

/// One self-contained device session: its own provider, client and pane.
#[component]
pub(crate) fn DeviceSession(props: &DeviceSessionProps) -> Html {
    html! {
        <DeviceConnectionProvider initial={props.initial.clone()} on_sample={props.on_sample.clone()}
            on_c2d_received={props.on_c2d_received.clone()}>
            <SessionPanel ..props.clone() />
        </DeviceConnectionProvider>
    }
}

#[component]
fn SessionPanel(props: &DeviceSessionProps) -> Html {
    let device = use_device();
    let id = props.id;
    // Report settings (stored) and status (tab badge) to the list when they change.
    {
        let settings = device.as_ref().map(|d| d.state().settings());
        let on_session = props.on_session.clone();
        use_effect_with(settings, move |settings| {
            if let Some(settings) = settings.clone() {
                on_session.emit(SessionsAction::Settings(id, settings));
            }
        });
    }
    {
        let badge = device.as_ref().map(|d| Badge::of(&d.state().status));
        let on_session = props.on_session.clone();
        let refresh = props.on_refresh_devices.clone();
        use_effect_with(badge, move |badge| {
            if let Some(badge) = *badge {
                on_session.emit(SessionsAction::Status(id, badge));
                // Connected flags and queue counts in the device list change with it.
                refresh.emit(());
            }
        });
    }
    let Some(device) = device else {
        return html! { <p class="error">{ "internal error: no device provider" }</p> };
    };
    let state = device.state();
    let devices = props.devices.ready().map(Vec::as_slice).unwrap_or_default();
    let demo_device = state
        .demo_device
        .clone()
        .filter(|d| devices.iter().any(|x| &x.device_id == d))
        .or_else(|| devices.first().map(|d| d.device_id.clone()));
    let on_connect = {
        let device = device.clone();
        let devhub = props.devhub.clone();
        let note = props.demo_note.clone();
        let demo = demo_device
            .as_ref()
            .and_then(|id| devices.iter().find(|d| &d.device_id == id))
            .map(|d| d.connection_string.clone());
        Callback::from(move |()| {
            if device.state().source == Source::Demo && devhub.is_none() {
                let reason = note.as_ref().map_or_else(
                    || "demo devices come from devhub, which has not answered yet".to_owned(),
                    |n| n.to_string(),
                );
                return device.reject_connect(reason);
            }
            match device.state().credentials(demo.as_ref()) {
                Ok(credentials) => device.connect(credentials, devhub.clone()),
                Err(reason) => device.reject_connect(reason),
            }
        })
    };
    let name_input = props.on_session.reform(move |e: Event| {
        let value = e
            .target_dyn_into::<web_sys::HtmlInputElement>()
            .map(|i| i.value())
            .unwrap_or_default();
        SessionsAction::Rename(id, value)
    });
    let active = state.status.is_active() || matches!(state.status, ConnectionStatus::Connected);
    let p = format!("s{id}");
    let handle = |f: fn(&crate::connection::DeviceHandle)| {
        let device = device.clone();
        Callback::from(move |()| f(&device))
    };
    html! {
        <div role="tabpanel" id={format!("{p}-panel")} aria-labelledby={format!("{p}-tab")}
            class="session-panel" hidden={!props.selected} data-session={id.to_string()}>
            <DevicePane
                id_prefix={AttrValue::from(p.clone())}
                title={props.name.clone()}
                head_controls={html! {
                    <div class="session-head">
                        <div class="field inline">
                            <label for={format!("{p}-name")}>{ "Session name" }</label>
                            <input id={format!("{p}-name")} type="text" autocomplete="off"
                                value={props.name.clone()} onchange={name_input} />
                        </div>
                        <button type="button" class="secondary small danger"
                            aria-label={format!("Remove {}", props.name)}
                            title={if active { "Closes the connection" } else { "" }}
                            onclick={props.on_session.reform(move |_: MouseEvent| SessionsAction::Remove(id))}>
                            { "Remove" }
                        </button>
                    </div>
                }}
                demo_note={props.demo_note.clone()}
                now_secs={(js_sys::Date::now() / 1000.0) as u64}
                state={Rc::new(state.clone())}
                devices={props.devices.clone()}
                demo_device={demo_device.map(AttrValue::from)}
                on_action={{
                    let device = device.clone();
                    Callback::from(move |a| device.dispatch(a))
                }}
                on_connect={on_connect}
                on_disconnect={handle(|d| d.disconnect())}
                on_send={handle(|d| d.send_draft())}
                on_burst={handle(|d| d.start_burst())}
                on_stop_burst={handle(|d| d.stop_burst())}
                on_poll_now={handle(|d| d.poll_now())}
                on_set_polling={{
                    let device = device.clone();
                    Callback::from(move |run| device.set_polling(run))
                }}
                on_settle={{
                    let device = device.clone();
                    Callback::from(move |(id, op)| device.settle(id, op))
                }}
            />
        </div>
    }
}
