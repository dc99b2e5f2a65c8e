//! Wiring: reducers, hooks and the provider around the views. No logic of its own beyond
//! choosing which device a form refers to.

use std::rc::Rc;

use yew::platform::spawn_local;
use yew::prelude::*;

use crate::components::{CloudPane, DevicePane, HubBar};
use crate::connection::{use_device, DeviceConnectionProvider, DeviceHandle};
use crate::hooks::{use_event_feed, use_hub_loader};
use crate::services::devices;
use crate::state::cloud::{C2dOutcome, CloudAction, CloudState};
use crate::state::device::{ConnectionStatus, Source};
use crate::state::hub::{CloudSupport, HubAction, HubState};

/// The page.
#[component]
pub(crate) fn App() -> Html {
    html! {
        <DeviceConnectionProvider>
            <Dashboard />
        </DeviceConnectionProvider>
    }
}

/// The page's own origin: the hub that served it, by default.
fn page_origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

#[component]
fn Dashboard() -> Html {
    let hub = use_reducer(|| HubState::new(&page_origin()));
    let cloud = use_reducer(CloudState::default);
    let c2d_counter = use_mut_ref(|| 0u64);
    use_hub_loader(&hub);
    let devhub = hub.cloud_support() == CloudSupport::Devhub;
    use_event_feed(hub.url.clone(), devhub, cloud.dispatcher());

    let device = use_device();
    // Connected flags and queue counts change with the device's connection: refresh the list.
    {
        let hub = hub.dispatcher();
        let connected = device
            .as_ref()
            .is_some_and(|d| matches!(d.state().status, ConnectionStatus::Connected));
        use_effect_with(connected, move |_| hub.dispatch(HubAction::RefreshDevices));
    }
    let Some(device) = device else {
        return html! { <p class="error">{ "internal error: no device provider" }</p> };
    };

    let devices = hub.device_list();
    let demo_device = device
        .state()
        .demo_device
        .clone()
        .filter(|id| devices.iter().any(|d| &d.device_id == id))
        .or_else(|| devices.first().map(|d| d.device_id.clone()));
    // The C2D form targets the chosen device, else the device connected here, else the first.
    let session_device = device.state().session.as_ref().map(|s| s.device_id.clone());
    let c2d_device = Some(cloud.c2d_device.clone())
        .filter(|id| devices.iter().any(|d| &d.device_id == id))
        .or_else(|| session_device.filter(|id| devices.iter().any(|d| &d.device_id == id)))
        .or_else(|| devices.first().map(|d| d.device_id.clone()));

    let on_connect = connect_callback(&device, &hub, demo_device.clone());
    let on_send_c2d = c2d_callback(&hub, &cloud, c2d_counter, c2d_device.clone());

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
                <DevicePane
                    state={Rc::new(device.state().clone())}
                    devices={hub.devices.clone()}
                    demo_device={demo_device.map(AttrValue::from)}
                    on_action={{
                        let device = device.clone();
                        Callback::from(move |a| device.dispatch(a))
                    }}
                    on_connect={on_connect}
                    on_disconnect={{
                        let device = device.clone();
                        Callback::from(move |()| device.disconnect())
                    }}
                    on_send={{
                        let device = device.clone();
                        Callback::from(move |()| device.send_draft())
                    }}
                    on_poll_now={{
                        let device = device.clone();
                        Callback::from(move |()| device.poll_now())
                    }}
                    on_set_polling={{
                        let device = device.clone();
                        Callback::from(move |run| device.set_polling(run))
                    }}
                    on_settle={{
                        let device = device.clone();
                        Callback::from(move |(id, op)| device.settle(id, op))
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
        </>
    }
}

fn connect_callback(
    device: &DeviceHandle,
    hub: &UseReducerHandle<HubState>,
    demo_device: Option<String>,
) -> Callback<()> {
    let device = device.clone();
    let hub = hub.clone();
    Callback::from(move |()| {
        let credentials = match device.state().source {
            Source::Pasted => Ok(device.state().pasted.clone()),
            Source::Demo => match &demo_device {
                None => Err("choose a demo device first".to_owned()),
                Some(id) => hub
                    .device_list()
                    .iter()
                    .find(|d| &d.device_id == id)
                    .map(|d| d.connection_string.clone())
                    .ok_or_else(|| format!("the hub does not list {id}")),
            },
        };
        let protocol = device.state().protocol;
        let endpoint = hub
            .url
            .as_ref()
            .map(|u| u.endpoint_for(protocol))
            .ok_or_else(|| "set a valid hub URL first".to_owned());
        match credentials {
            Ok(connection_string) => device.connect(connection_string, endpoint),
            Err(reason) => device.reject_connect(reason),
        }
    })
}

fn c2d_callback(
    hub: &UseReducerHandle<HubState>,
    cloud: &UseReducerHandle<CloudState>,
    counter: Rc<std::cell::RefCell<u64>>,
    target: Option<String>,
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
        spawn_local(async move {
            let outcome = match devices::send_c2d(&url, &device_id, &request).await {
                Ok(accepted) => C2dOutcome::Queued {
                    message_id: accepted.message_id,
                    sequence_number: accepted.sequence_number,
                },
                Err(e) => C2dOutcome::Failed(e.to_string()),
            };
            cloud.dispatch(CloudAction::SendFinished { id, outcome });
            // Queue counts in the device list changed.
            hub.dispatch(HubAction::RefreshDevices);
        });
    })
}
