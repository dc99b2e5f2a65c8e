//! Wiring: reducers, hooks and the device sessions around the views. No logic of its own
//! beyond choosing which device a form refers to.

use std::rc::Rc;

use yew::platform::spawn_local;
use yew::prelude::*;

use crate::components::{CloudPane, HubBar, MetricsPane};
use crate::gateway::{now_ms, GatewayPanel};
use crate::hooks::{use_event_feed, use_hub_loader};
use crate::metrics::use_metrics;
use crate::services::{devices, storage};
use crate::session::DeviceSessions;
use crate::state::cloud::{C2dOutcome, CloudAction, CloudState};
use crate::state::hub::{CloudSupport, HubAction, HubState};
use crate::state::metrics::MetricsAction;
use crate::state::settings;

/// The page.
#[component]
pub(crate) fn App() -> Html {
    html! { <Dashboard /> }
}

/// The page's own origin: the hub that served it, by default.
fn page_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

#[component]
fn Dashboard() -> Html {
    // Stored settings, read once: the hub URL and the device sessions.
    let stored = use_memo((), |_| settings::from_json(storage::load().as_deref()));
    let hub = {
        let url = stored.hub_url.clone().unwrap_or_else(page_origin);
        use_reducer(move || HubState::new(&url))
    };
    let cloud = use_reducer(CloudState::default);
    let c2d_counter = use_mut_ref(|| 0u64);
    use_hub_loader(&hub);
    let devhub = hub.cloud_support() == CloudSupport::Devhub;
    use_event_feed(hub.url.clone(), devhub, cloud.dispatcher());

    let devices = hub.device_list();
    // The C2D form targets the chosen device, else the first.
    let c2d_device = Some(cloud.c2d_device.clone())
        .filter(|id| devices.iter().any(|d| &d.device_id == id))
        .or_else(|| devices.first().map(|d| d.device_id.clone()));
    let metrics = use_metrics();
    let on_send_c2d = c2d_callback(
        &hub,
        &cloud,
        c2d_counter,
        c2d_device.clone(),
        metrics.on_c2d.clone(),
    );
    let on_c2d_received =
        metrics
            .on_c2d
            .reform(|(protocol, message_id, at_ms)| MetricsAction::C2dReceived {
                protocol,
                message_id,
                at_ms,
            });
    let on_sample = metrics.on_sample.clone();

    let hub_actions = hub.dispatcher();
    let cloud_actions = cloud.dispatcher();
    html! {
        <>
            <HubBar
                url_input={hub.url_input.clone()}
                url_error={hub.url_error.as_ref().map(|e| AttrValue::from(e.to_string()))}
                info={hub.info.clone()}
                unreachable={hub.devices_error.clone().map(AttrValue::from)}
                on_input={{
                    let hub = hub_actions.clone();
                    Callback::from(move |v| hub.dispatch(HubAction::EditUrl(v)))
                }}
                on_apply={{
                    let hub = hub_actions.clone();
                    Callback::from(move |()| hub.dispatch(HubAction::ApplyUrl))
                }}
            />
            <main class="panes">
                <DeviceSessions
                    initial={Rc::new(stored.sessions.clone())}
                    hub_url={hub.url.clone()}
                    devices={hub.devices.clone()}
                    devhub={hub.devhub_target()}
                    demo_note={hub.demo_note().map(AttrValue::from)}
                    on_sample={on_sample}
                    on_c2d_received={on_c2d_received}
                    on_refresh_devices={{
                        let hub = hub_actions.clone();
                        Callback::from(move |()| hub.dispatch(HubAction::RefreshDevices))
                    }}
                />
                <CloudPane
                    support={hub.cloud_support()}
                    hub_url={hub.url.as_ref().map(|u| AttrValue::from(u.to_string()))}
                    state={Rc::new((*cloud).clone())}
                    devices={Rc::new(devices.to_vec())}
                    c2d_device={c2d_device.map(AttrValue::from)}
                    on_action={Callback::from(move |a| cloud_actions.dispatch(a))}
                    on_send={on_send_c2d}
                />
            </main>
            <div class="panes wide">
                <GatewayPanel
                    hub_url={hub.url.clone()}
                    devhub={devhub}
                    on_samples={metrics.on_samples.clone()}
                />
                <MetricsPane
                    state={Rc::new((*metrics.state).clone())}
                    on_clear={metrics.on_clear.clone()}
                />
            </div>
        </>
    }
}

fn c2d_callback(
    hub: &UseReducerHandle<HubState>,
    cloud: &UseReducerHandle<CloudState>,
    counter: Rc<std::cell::RefCell<u64>>,
    target: Option<String>,
    on_c2d: Callback<MetricsAction>,
) -> Callback<()> {
    let hub = hub.clone();
    let cloud = cloud.clone();
    Callback::from(move |()| {
        let Some(device_id) = target.clone() else {
            return cloud.dispatch(CloudAction::SendRejected("choose a device first".into()));
        };
        let Some(url) = hub.url.clone() else {
            return cloud.dispatch(CloudAction::SendRejected(
                "set a valid hub URL first".into(),
            ));
        };
        let request = match cloud.c2d_draft.to_c2d_request(cloud.c2d_ack) {
            Ok(request) => request,
            Err(e) => return cloud.dispatch(CloudAction::SendRejected(e.to_string())),
        };
        let id = {
            let mut n = counter.borrow_mut();
            *n += 1;
            *n
        };
        cloud.dispatch(CloudAction::SendStarted {
            id,
            device_id: device_id.clone(),
        });
        let cloud = cloud.dispatcher();
        let hub = hub.dispatcher();
        let on_c2d = on_c2d.clone();
        spawn_local(async move {
            // Timed from the request's start: a pushed message can arrive before the answer.
            let sent_ms = now_ms();
            let outcome = match devices::send_c2d(&url, &device_id, &request).await {
                Ok(accepted) => {
                    on_c2d.emit(MetricsAction::C2dSent {
                        message_id: accepted.message_id.clone(),
                        sent_ms,
                    });
                    C2dOutcome::Queued {
                        message_id: accepted.message_id,
                        sequence_number: accepted.sequence_number,
                    }
                }
                Err(e) => C2dOutcome::Failed(e.to_string()),
            };
            cloud.dispatch(CloudAction::SendFinished { id, outcome });
            // Queue counts in the device list changed.
            hub.dispatch(HubAction::RefreshDevices);
        });
    })
}
