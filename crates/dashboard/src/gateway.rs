//! The field gateway provider: the one component that owns the gateway's connection.
//!
//! [`GatewayPanel`] holds the gateway reducer. While a run is active an effect keyed on its
//! generation runs the plan in a task: find or create the devices (devhub), open one
//! [`FieldGateway`], add the devices, then let each device send at the planned pace. Reports
//! go into a buffer that a flush loop hands to the reducer (and the acknowledged messages to
//! `on_samples`) a few times a second, so hundreds of messages a second cost a few renders.
//!
//! Pacing: message `seq` of a device is due `seq / rate` seconds after sending began; a device
//! has at most [`MAX_IN_FLIGHT_PER_DEVICE`] messages waiting for the hub and waits for an
//! outcome before taking the next, so a slow hub slows the run instead of queueing without
//! bound. Every message handed to the gateway is reported as sent and later as acked (the
//! hub's `accepted` outcome) or failed; after Stop the in-flight ones are drained (up to
//! [`DRAIN_LIMIT_MS`]) before the connection closes, and those the close cuts off are counted
//! as cut off: sent, but with no outcome known.

use core::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use futures::future::{join_all, select, Either};
use futures::stream::{self, StreamExt};
use gloo_timers::future::TimeoutFuture;
use hubwire_iothub::secret::Secret;
use hubwire_iothub::{ConnectionString, Message};
use hubwire_web::{
    ConnectionStatus as ClientStatus, DeviceOptions, FieldGateway, GatewayDevice, GatewayOptions,
};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::components::GatewayPane;
use crate::services::devices;
use crate::state::device::Protocol;
use crate::state::gateway::{
    render_body, GatewayAction, GatewayEvent, GatewayPlan, GatewayState, HubTarget, LinkStatus,
    PlanDevices, MAX_IN_FLIGHT_PER_DEVICE,
};
use crate::state::hub_url::HubUrl;
use crate::state::metrics::{Sample, SampleOrigin};

/// How often buffered reports reach the reducer.
const FLUSH_MS: u32 = 250;
/// Longest single wait, so Stop is noticed promptly.
const MAX_SLEEP_MS: f64 = 200.0;
/// Devices created or added at the same time.
const SETUP_CONCURRENCY: usize = 16;
/// How long Stop waits for in-flight sends before closing the connection anyway.
const DRAIN_LIMIT_MS: u32 = 15_000;
/// How long sends may take to fail once the connection was closed.
const CLOSE_LIMIT_MS: u32 = 3_000;

/// Properties of [`GatewayPanel`].
#[derive(Properties, PartialEq)]
pub(crate) struct GatewayPanelProps {
    /// The hub URL in use.
    pub(crate) hub_url: Option<HubUrl>,
    /// Whether that hub is devhub.
    pub(crate) devhub: bool,
    /// Receives the acknowledged messages, in batches.
    pub(crate) on_samples: Callback<Vec<Sample>>,
}

/// Flags shared between the panel and a run's tasks.
#[derive(Clone)]
struct RunControl {
    generation: u64,
    /// Set by Stop: no new sends; drain and close.
    stop: Rc<Cell<bool>>,
}

/// The field gateway pane with its reducer and connection.
#[component]
pub(crate) fn GatewayPanel(props: &GatewayPanelProps) -> Html {
    let state = use_reducer(GatewayState::default);
    let control: Rc<RefCell<Option<RunControl>>> = use_mut_ref(|| None);
    {
        let active = state.active_run().map(|(g, plan)| (g, plan.clone()));
        let generation = active.as_ref().map(|(g, _)| *g);
        let dispatch = state.dispatcher();
        let on_samples = props.on_samples.clone();
        let control = control.clone();
        use_effect_with(generation, move |_| {
            let stop = Rc::new(Cell::new(false));
            let connection: Rc<RefCell<Option<FieldGateway>>> = Rc::new(RefCell::new(None));
            if let Some((generation, plan)) = active {
                *control.borrow_mut() = Some(RunControl {
                    generation,
                    stop: stop.clone(),
                });
                let reports = Reports::new(generation, dispatch, on_samples);
                spawn_local(reports.clone().flush_loop());
                spawn_local(run(plan, reports, stop.clone(), connection.clone()));
            }
            move || {
                // Unmounted or the run ended: nothing may keep sending.
                stop.set(true);
                if let Some(gateway) = connection.borrow_mut().take() {
                    spawn_local(async move { gateway.close().await });
                }
            }
        });
    }
    let on_action = {
        let state = state.dispatcher();
        Callback::from(move |a| state.dispatch(a))
    };
    let on_start = {
        let state = state.dispatcher();
        let target = HubTarget {
            url: props.hub_url.clone(),
            devhub: props.devhub,
        };
        Callback::from(move |()| state.dispatch(GatewayAction::Start(target.clone())))
    };
    let on_stop = {
        let state = state.clone();
        Callback::from(move |()| {
            let current = state.active_run().map(|(g, _)| g);
            if let Some(c) = control.borrow().as_ref() {
                if Some(c.generation) == current {
                    c.stop.set(true);
                }
            }
            state.dispatch(GatewayAction::Stop);
        })
    };
    html! {
        <GatewayPane
            state={Rc::new((*state).clone())}
            devhub={props.devhub}
            {on_action}
            {on_start}
            {on_stop}
        />
    }
}

/// The buffer between a run's tasks and the reducer.
#[derive(Clone)]
struct Reports {
    generation: u64,
    events: Rc<RefCell<Vec<GatewayEvent>>>,
    samples: Rc<RefCell<Vec<Sample>>>,
    /// Set once the run reported `Finished`; the flush loop then empties the buffer and ends.
    done: Rc<Cell<bool>>,
    /// Set when Stop closes the connection with sends still waiting: their errors say only
    /// that the connection closed, not what the hub did with them.
    closing: Rc<Cell<bool>>,
    dispatch: UseReducerDispatcher<GatewayState>,
    on_samples: Callback<Vec<Sample>>,
}

impl Reports {
    fn new(
        generation: u64,
        dispatch: UseReducerDispatcher<GatewayState>,
        on_samples: Callback<Vec<Sample>>,
    ) -> Self {
        Self {
            generation,
            events: Rc::default(),
            samples: Rc::default(),
            done: Rc::default(),
            closing: Rc::default(),
            dispatch,
            on_samples,
        }
    }

    fn push(&self, event: GatewayEvent) {
        self.events.borrow_mut().push(event);
    }

    fn sample(&self, sample: Sample) {
        self.samples.borrow_mut().push(sample);
    }

    fn finish(&self, result: Result<(), String>) {
        self.push(GatewayEvent::Finished(result));
        self.done.set(true);
    }

    fn flush(&self) {
        let samples = core::mem::take(&mut *self.samples.borrow_mut());
        if !samples.is_empty() {
            self.on_samples.emit(samples);
        }
        let events = core::mem::take(&mut *self.events.borrow_mut());
        if !events.is_empty() {
            self.dispatch.dispatch(GatewayAction::Events {
                generation: self.generation,
                events,
            });
        }
    }

    async fn flush_loop(self) {
        loop {
            TimeoutFuture::new(FLUSH_MS).await;
            let done = self.done.get();
            self.flush();
            if done {
                break;
            }
        }
    }
}

/// One run, start to finish.
async fn run(
    plan: GatewayPlan,
    reports: Reports,
    stop: Rc<Cell<bool>>,
    slot: Rc<RefCell<Option<FieldGateway>>>,
) {
    let result = run_inner(&plan, &reports, &stop, &slot).await;
    // Take it out first: the borrow must not live across the await (the teardown borrows too).
    let gateway = slot.borrow_mut().take();
    if let Some(gateway) = gateway {
        gateway.close().await;
    }
    reports.finish(result);
}

async fn run_inner(
    plan: &GatewayPlan,
    reports: &Reports,
    stop: &Rc<Cell<bool>>,
    slot: &Rc<RefCell<Option<FieldGateway>>>,
) -> Result<(), String> {
    let devices = prepare(plan).await?;
    let host = match &plan.host_name {
        Some(host) => host.clone(),
        None => devices
            .first()
            .and_then(|(_, cs)| ConnectionString::parse(cs.expose()).ok())
            .map(|cs| cs.host_name)
            .ok_or_else(|| "the hub gave no usable connection string".to_owned())?,
    };
    reports.push(GatewayEvent::Prepared);
    if stop.get() {
        return Ok(());
    }
    let mut options = GatewayOptions::new(host);
    if let Some(endpoint) = &plan.endpoint {
        options = options.with_endpoint(endpoint.clone());
    }
    let gateway = FieldGateway::connect(options)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    *slot.borrow_mut() = Some(gateway.clone());
    spawn_local(forward_connection(gateway.clone(), reports.clone()));

    // Add the devices, a few at a time; one refused device fails alone.
    let added: Vec<Option<GatewayDevice>> = stream::iter(devices.into_iter().enumerate())
        .map(|(index, (_, cs))| {
            let gateway = gateway.clone();
            let stop = stop.clone();
            async move {
                if stop.get() {
                    return None;
                }
                reports.push(GatewayEvent::Device {
                    index,
                    status: LinkStatus::Connecting,
                });
                let added = match DeviceOptions::from_connection_string(cs.expose()) {
                    Ok(options) => gateway.add_device(options).await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                };
                match added {
                    Ok(device) => {
                        spawn_local(forward_device(device.clone(), index, reports.clone()));
                        Some(device)
                    }
                    Err(reason) => {
                        reports.push(GatewayEvent::Device {
                            index,
                            status: LinkStatus::Failed(reason),
                        });
                        None
                    }
                }
            }
        })
        .buffered(SETUP_CONCURRENCY)
        .collect()
        .await;
    reports.push(GatewayEvent::Running);

    let started = now_ms();
    let mut sends = Box::pin(join_all(
        added
            .into_iter()
            .enumerate()
            .filter_map(|(index, d)| d.map(|d| (index, d)))
            .map(|(index, device)| send_loop(plan, device, index, started, reports, stop)),
    ));
    // Until Stop: send (and, once the sends are over, keep receiving C2D messages).
    let stopped = Box::pin(async {
        while !stop.get() {
            TimeoutFuture::new(MAX_SLEEP_MS as u32).await;
        }
    });
    if let Either::Left((_, stopped)) = select(&mut sends, stopped).await {
        stopped.await;
        return Ok(());
    }
    // Stopped: no new sends; wait for the outcomes of those in flight, within a limit.
    let drain = TimeoutFuture::new(DRAIN_LIMIT_MS);
    if let Either::Right(_) = select(&mut sends, drain).await {
        // Closing fails the sends still waiting (reported as cut off), which ends the loops.
        reports.closing.set(true);
        let gateway = slot.borrow_mut().take();
        if let Some(gateway) = gateway {
            gateway.close().await;
        }
        let cut_off = TimeoutFuture::new(CLOSE_LIMIT_MS);
        if let Either::Right(_) = select(&mut sends, cut_off).await {
            return Err("stopped; some sends got no outcome from the hub".to_owned());
        }
    }
    Ok(())
}

/// The devices' ids and connection strings: pasted, or found or created on devhub.
async fn prepare(plan: &GatewayPlan) -> Result<Vec<(String, Secret)>, String> {
    match &plan.devices {
        PlanDevices::Pasted(devices) => Ok(devices
            .iter()
            .map(|d| (d.device_id.clone(), d.connection_string.clone()))
            .collect()),
        PlanDevices::Devhub { hub, ids } => {
            let existing: BTreeMap<String, Secret> = devices::list(hub)
                .await
                .map_err(|e| format!("listing devices: {e}"))?
                .into_iter()
                .map(|d| (d.device_id, d.connection_string))
                .collect();
            let found: Vec<Result<(String, Secret), String>> = stream::iter(ids.iter().cloned())
                .map(|id| {
                    let known = existing.get(&id).cloned();
                    async move {
                        match known {
                            Some(cs) => Ok((id, cs)),
                            None => devices::create(hub, &id)
                                .await
                                .map(|d| (id.clone(), d.connection_string))
                                .map_err(|e| format!("creating {id}: {e}")),
                        }
                    }
                })
                .buffered(SETUP_CONCURRENCY)
                .collect()
                .await;
            found.into_iter().collect()
        }
    }
}

/// One device's paced sends.
async fn send_loop(
    plan: &GatewayPlan,
    device: GatewayDevice,
    index: usize,
    started: f64,
    reports: &Reports,
    stop: &Rc<Cell<bool>>,
) {
    let limit = plan.messages_per_device.unwrap_or(u64::MAX);
    let id = device.device_id().as_str().to_owned();
    let due = stream::unfold(0u64, |seq| {
        let stop = stop.clone();
        async move {
            if seq >= limit {
                return None;
            }
            let at = started + plan.due_ms(seq);
            loop {
                if stop.get() {
                    return None;
                }
                let wait = at - now_ms();
                if wait <= 0.0 {
                    break;
                }
                TimeoutFuture::new(wait.min(MAX_SLEEP_MS).ceil() as u32).await;
            }
            Some((seq, seq + 1))
        }
    });
    due.map(|seq| {
        let body = render_body(&plan.template, &id, seq, plan.pad_to);
        let body_bytes = body.len() as u64;
        let message = Message::new(body)
            .with_message_id(format!("{id}-{seq}"))
            .with_content_type("application/json")
            .with_content_encoding("utf-8");
        reports.push(GatewayEvent::Sent { index });
        let device = device.clone();
        async move {
            let sent_at = now_ms();
            let result = device.send_event(message).await;
            (sent_at, body_bytes, result)
        }
    })
    .buffer_unordered(MAX_IN_FLIGHT_PER_DEVICE as usize)
    .for_each(|(sent_at, body_bytes, result)| {
        match result {
            Ok(receipt) => {
                let at_ms = now_ms();
                let latency_ms = at_ms - sent_at;
                reports.push(GatewayEvent::Acked { index, latency_ms });
                reports.sample(Sample {
                    protocol: Protocol::AmqpWs,
                    origin: SampleOrigin::Gateway,
                    body_bytes,
                    wire_bytes: u64::try_from(receipt.wire_bytes).ok(),
                    latency_ms,
                    at_ms,
                });
            }
            Err(_) if reports.closing.get() => reports.push(GatewayEvent::CutOff { index }),
            Err(e) => reports.push(GatewayEvent::Failed {
                index,
                reason: e.to_string(),
            }),
        }
        futures::future::ready(())
    })
    .await;
}

/// Reports the connection's status until it ends.
async fn forward_connection(gateway: FieldGateway, reports: Reports) {
    let mut events = gateway.status_events();
    while let Some(status) = events.next().await {
        let terminal = status.is_terminal();
        if let Some(s) = map_status(&status) {
            reports.push(GatewayEvent::Connection(s));
        }
        if terminal {
            break;
        }
    }
}

/// Reports one device's status and counts (and completes) its C2D messages.
async fn forward_device(device: GatewayDevice, index: usize, reports: Reports) {
    enum Input {
        Status(ClientStatus),
        C2d(String),
    }
    let statuses = device.status_events().map(Input::Status).boxed_local();
    let mut inputs = match device.messages() {
        Some(m) => stream::select(
            statuses,
            m.map(|received| Input::C2d(received.lock_token().to_owned())),
        )
        .boxed_local(),
        None => statuses,
    };
    while let Some(input) = inputs.next().await {
        match input {
            Input::Status(status) => {
                let terminal = status.is_terminal();
                if let Some(s) = map_status(&status) {
                    reports.push(GatewayEvent::Device { index, status: s });
                }
                if terminal {
                    break;
                }
            }
            Input::C2d(token) => {
                reports.push(GatewayEvent::C2d { index });
                // The simulated device takes every command: complete it so the hub does not
                // deliver it again.
                let device = device.clone();
                spawn_local(async move {
                    let _ = device.complete(&token).await;
                });
            }
        }
    }
}

fn map_status(status: &ClientStatus) -> Option<LinkStatus> {
    Some(match status {
        ClientStatus::Connecting => LinkStatus::Connecting,
        ClientStatus::Connected => LinkStatus::Connected,
        ClientStatus::Reconnecting {
            attempt,
            next_try_in,
            reason,
        } => LinkStatus::Reconnecting {
            attempt: *attempt,
            retry_in_ms: u64::try_from(next_try_in.as_millis()).ok(),
            reason: reason.to_string(),
        },
        ClientStatus::Disconnected => LinkStatus::Disconnected,
        ClientStatus::Failed { reason } => LinkStatus::Failed(reason.to_string()),
        _ => return None,
    })
}

/// Milliseconds from the page's monotonic clock (the samples' time base).
pub(crate) fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}
