//! The connection provider: the one component that owns the device client.
//!
//! The device reducer says which connection is wanted ([`DeviceState::session`]); an effect
//! keyed on that session starts a pump task (`spawn_local`) that connects, forwards status
//! changes and received messages to the reducer through its dispatcher, and keeps the client
//! where [`DeviceHandle::send_draft`] can reach it. The effect's teardown closes the client, so
//! Disconnect, a new Connect, or unmounting all end the old connection the same way.
//!
//! Every page holds one provider per device session (see `session.rs`), each with its own
//! reducer, client and tasks; nothing is shared between sessions.
//!
//! Send-N-times runs live here too: a pacing task hands messages to the client at the chosen
//! rate but never more than [`MAX_BURST_IN_FLIGHT`] awaiting acknowledgement, and reports each
//! hand-off and result to the reducer, which does the counting.
//!
//! For HTTPS a second task reads the poller's schedule a few times a second for the countdown
//! (the reducer drops reports that change nothing), and the handle's `poll_now`,
//! `set_polling` and `settle` call the client of the session that owns the message.

use core::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::stream::{self, StreamExt};
use gloo_timers::future::TimeoutFuture;
use hubwire_iothub::secret::Secret;
use hubwire_web::{
    ConnectionStatus as ClientStatus, DeviceClient, DeviceOptions, PollInfo, PollInterval,
};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::format;
use crate::state::device::DevhubTarget;
use crate::state::device::{
    Burst, ConnectionStatus, DeviceAction, DeviceState, InboxMessage, PollChoice, PollView,
    Protocol, SendOutcome, Session, SettleOp,
};
use crate::state::metrics::{Sample, SampleOrigin};
use crate::state::settings::SessionSettings;

/// The most send-N-times messages awaiting acknowledgement at once: the pacing waits for
/// results rather than piling sends up in the client when the hub is slower than the rate.
const MAX_BURST_IN_FLIGHT: u32 = 16;
/// The longest the pacing task sleeps in one go, so Stop takes effect promptly.
const BURST_TICK_MS: f64 = 50.0;

/// How often the countdown task reads the poller's schedule. The view shows whole seconds;
/// reading more often than once a second keeps the shown value from lagging by up to a second.
const POLL_VIEW_TICK_MS: u32 = 250;

/// The live client of one session.
struct ActiveClient {
    generation: u64,
    client: DeviceClient,
}

type ClientSlot = Rc<RefCell<Option<ActiveClient>>>;

/// What the provider hands to the tree: the device state plus domain methods.
#[derive(Clone)]
pub(crate) struct DeviceHandle {
    state: UseReducerHandle<DeviceState>,
    client: ClientSlot,
    next_send: Rc<Cell<u64>>,
    /// The send-N-times run allowed to continue (0: none); Stop clears it.
    burst_run: Rc<Cell<u64>>,
    /// Where acknowledged sends are reported (the latest prop of the provider).
    on_sample: Rc<RefCell<Callback<Sample>>>,
}

impl PartialEq for DeviceHandle {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
            && Rc::ptr_eq(&self.client, &other.client)
            && Rc::ptr_eq(&self.next_send, &other.next_send)
    }
}

/// One acknowledged send as a metrics sample.
fn sample(
    protocol: Protocol,
    body_bytes: usize,
    wire_bytes: Option<u64>,
    latency_ms: f64,
) -> Sample {
    Sample {
        protocol,
        origin: SampleOrigin::Device,
        body_bytes: u64::try_from(body_bytes).unwrap_or(u64::MAX),
        wire_bytes,
        latency_ms,
        at_ms: now_ms(),
    }
}

impl DeviceHandle {
    /// Current state.
    pub(crate) fn state(&self) -> &DeviceState {
        &self.state
    }

    /// Dispatches a pure state change.
    pub(crate) fn dispatch(&self, action: DeviceAction) {
        self.state.dispatch(action);
    }

    /// Connects with these credentials (replacing any connection); identities on the
    /// devhub's host dial the devhub, others their own hub.
    pub(crate) fn connect(&self, connection_string: Secret, devhub: Option<DevhubTarget>) {
        self.state.dispatch(DeviceAction::Connect {
            connection_string,
            devhub,
        });
    }

    /// Refuses to connect, with a reason for the user.
    pub(crate) fn reject_connect(&self, reason: String) {
        self.state.dispatch(DeviceAction::ConnectRejected(reason));
    }

    /// Closes the connection.
    pub(crate) fn disconnect(&self) {
        self.state.dispatch(DeviceAction::Disconnect);
    }

    /// The live client, if it belongs to session `generation`.
    fn client_of(&self, generation: u64) -> Option<DeviceClient> {
        self.client
            .borrow()
            .as_ref()
            .filter(|a| a.generation == generation)
            .map(|a| a.client.clone())
    }

    /// HTTPS: polls for cloud-to-device messages now.
    pub(crate) fn poll_now(&self) {
        let Some(generation) = self.state.session.as_ref().map(|s| s.generation) else {
            return;
        };
        let Some(client) = self.client_of(generation) else {
            return self.state.dispatch(DeviceAction::PollNowFinished {
                generation,
                result: Err("not connected yet".into()),
            });
        };
        self.state
            .dispatch(DeviceAction::PollNowStarted { generation });
        let dispatch = self.state.dispatcher();
        spawn_local(async move {
            let result = client.poll_now().await.map_err(|e| e.to_string());
            dispatch.dispatch(DeviceAction::PollNowFinished { generation, result });
        });
    }

    /// HTTPS: resumes (`true`) or pauses (`false`) scheduled polling.
    pub(crate) fn set_polling(&self, run: bool) {
        let Some(generation) = self.state.session.as_ref().map(|s| s.generation) else {
            return;
        };
        let Some(client) = self.client_of(generation) else {
            return;
        };
        let result = if run {
            client.start_polling()
        } else {
            client.stop_polling()
        };
        match result {
            // Show the new schedule at once rather than at the next tick.
            Ok(()) => {
                if let Some(info) = client.poll_info() {
                    self.state.dispatch(DeviceAction::Poll {
                        generation,
                        view: poll_view(&info),
                    });
                }
            }
            Err(e) => self.state.dispatch(DeviceAction::PollCommandFailed {
                generation,
                reason: e.to_string(),
            }),
        }
    }

    /// Completes, abandons or rejects inbox entry `id` through the client that received it.
    pub(crate) fn settle(&self, id: u64, op: SettleOp) {
        let Some(entry) = self.state.inbox_entry(id) else {
            return;
        };
        if !entry.settle.can_settle() {
            return;
        }
        let failed = |reason: &str| DeviceAction::SettleFinished {
            id,
            op,
            result: Err(reason.to_owned()),
        };
        let Some(token) = entry.message.lock_token.clone() else {
            return self
                .state
                .dispatch(failed("the hub gave no lock token for this message"));
        };
        let Some(client) = self.client_of(entry.generation) else {
            return self.state.dispatch(failed(
                "the connection that received this message has ended",
            ));
        };
        self.state.dispatch(DeviceAction::SettleStarted { id, op });
        let dispatch = self.state.dispatcher();
        spawn_local(async move {
            let result = match op {
                SettleOp::Complete => client.complete(&token).await,
                SettleOp::Abandon => client.abandon(&token).await,
                SettleOp::Reject => client.reject(&token).await,
            };
            dispatch.dispatch(DeviceAction::SettleFinished {
                id,
                op,
                result: result.map_err(|e| e.to_string()),
            });
        });
    }

    /// Sends the composer's message through the live client.
    pub(crate) fn send_draft(&self) {
        let message = match self.state.draft.to_message() {
            Ok(message) => message,
            Err(e) => {
                return self
                    .state
                    .dispatch(DeviceAction::SendRejected(e.to_string()))
            }
        };
        let Some(client) = self.client.borrow().as_ref().map(|a| a.client.clone()) else {
            return self
                .state
                .dispatch(DeviceAction::SendRejected("not connected yet".into()));
        };
        let id = self.next_send.get() + 1;
        self.next_send.set(id);
        let body_bytes = message.body.len();
        self.state.dispatch(DeviceAction::SendStarted {
            id,
            message_id: message.message_id.clone(),
            body_bytes,
        });
        let dispatch = self.state.dispatcher();
        let protocol = self.state.session.as_ref().map(|s| s.protocol);
        let on_sample = self.on_sample.clone();
        spawn_local(async move {
            let started = now_ms();
            let result = client.send_event(message).await;
            let outcome = match result {
                Ok(receipt) => {
                    let latency_ms = now_ms() - started;
                    let wire_bytes = u64::try_from(receipt.wire_bytes).ok();
                    if let Some(protocol) = protocol {
                        let sample = sample(protocol, body_bytes, wire_bytes, latency_ms);
                        let emit = on_sample.borrow().clone();
                        emit.emit(sample);
                    }
                    SendOutcome::Acked {
                        latency_ms,
                        wire_bytes,
                    }
                }
                Err(e) => SendOutcome::Failed(e.to_string()),
            };
            dispatch.dispatch(DeviceAction::SendFinished { id, outcome });
        });
    }

    /// Starts sending the composer's message N times at the form's rate.
    pub(crate) fn start_burst(&self) {
        let reject = |reason: String| self.state.dispatch(DeviceAction::BurstRejected(reason));
        if self.state.burst.as_ref().is_some_and(Burst::running) {
            return reject("a run is still going: stop it first".into());
        }
        let (total, rate) = match self.state.burst_form.parse() {
            Ok(v) => v,
            Err(e) => return reject(e),
        };
        let message = match self.state.draft.to_message() {
            Ok(message) => message,
            Err(e) => return reject(e.to_string()),
        };
        // The longest numbered id must still be a valid message id.
        if let Some(longest) = Burst::message_id(message.message_id.as_deref(), total) {
            if let Err(e) = hubwire_iothub::limits::validate_message_id(&longest) {
                return reject(format!("numbered message id “{longest}”: {e}"));
            }
        }
        let Some(session) = self.state.session.as_ref() else {
            return reject("not connected yet".into());
        };
        let (generation, protocol) = (session.generation, session.protocol);
        if self.client_of(generation).is_none() {
            return reject("not connected yet".into());
        }
        let run = self.next_send.get() + 1;
        self.next_send.set(run);
        self.burst_run.set(run);
        self.state
            .dispatch(DeviceAction::BurstStarted { run, total, rate });
        spawn_local(burst(BurstTask {
            run,
            total,
            rate,
            message,
            generation,
            protocol,
            handle: self.clone(),
        }));
    }

    /// Stops the running send-N-times run (messages already handed out still report).
    pub(crate) fn stop_burst(&self) {
        self.burst_run.set(0);
    }
}

struct BurstTask {
    run: u64,
    total: u32,
    rate: f64,
    message: hubwire_iothub::message::Message,
    generation: u64,
    protocol: Protocol,
    handle: DeviceHandle,
}

/// Paces one send-N-times run: message `i` goes out no earlier than `(i - 1) / rate` seconds
/// after the start and only while fewer than [`MAX_BURST_IN_FLIGHT`] await their result.
async fn burst(task: BurstTask) {
    let BurstTask {
        run,
        total,
        rate,
        message,
        generation,
        protocol,
        handle,
    } = task;
    let dispatch = handle.state.dispatcher();
    let in_flight = Rc::new(Cell::new(0u32));
    let base_id = message.message_id.clone();
    let body_bytes = message.body.len();
    let interval_ms = 1000.0 / rate;
    let start = now_ms();
    for index in 1..=total {
        let client = loop {
            let stop = if handle.burst_run.get() != run {
                Some("stopped")
            } else if handle.client_of(generation).is_none() {
                Some("the connection ended")
            } else {
                None
            };
            if let Some(reason) = stop {
                dispatch.dispatch(DeviceAction::BurstStopped {
                    run,
                    reason: reason.into(),
                });
                return;
            }
            let wait = start + f64::from(index - 1) * interval_ms - now_ms();
            if wait <= 0.0 && in_flight.get() < MAX_BURST_IN_FLIGHT {
                if let Some(client) = handle.client_of(generation) {
                    break client;
                }
                continue;
            }
            TimeoutFuture::new(wait.clamp(1.0, BURST_TICK_MS) as u32).await;
        };
        let mut numbered = message.clone();
        numbered.message_id = Burst::message_id(base_id.as_deref(), index);
        in_flight.set(in_flight.get() + 1);
        dispatch.dispatch(DeviceAction::BurstSent { run });
        let dispatch = dispatch.clone();
        let in_flight = in_flight.clone();
        let on_sample = handle.on_sample.clone();
        spawn_local(async move {
            let started = now_ms();
            let result = client.send_event(numbered).await;
            in_flight.set(in_flight.get().saturating_sub(1));
            let result = match result {
                Ok(receipt) => {
                    let wire = u64::try_from(receipt.wire_bytes).ok();
                    let s = sample(protocol, body_bytes, wire, now_ms() - started);
                    let emit = on_sample.borrow().clone();
                    emit.emit(s);
                    Ok(())
                }
                Err(e) => Err(e.to_string()),
            };
            dispatch.dispatch(DeviceAction::BurstResult { run, result });
        });
    }
    if handle.burst_run.get() == run {
        handle.burst_run.set(0);
    }
}

/// The device handle from the nearest [`DeviceConnectionProvider`].
#[hook]
pub(crate) fn use_device() -> Option<DeviceHandle> {
    use_context::<DeviceHandle>()
}

/// Properties of [`DeviceConnectionProvider`].
#[derive(Properties, PartialEq)]
pub(crate) struct DeviceConnectionProviderProps {
    /// The settings the session starts with (read once, when it mounts).
    pub(crate) initial: SessionSettings,
    /// Receives one sample per acknowledged device-to-cloud message.
    pub(crate) on_sample: Callback<Sample>,
    /// Each C2D message the inbox receives: protocol, message id, `performance.now()` ms.
    #[prop_or_default]
    pub(crate) on_c2d_received: Callback<(Protocol, String, f64)>,
    /// The tree that may use [`use_device`].
    pub(crate) children: Html,
}

/// Owns the device reducer and the device client, and provides a [`DeviceHandle`].
#[component]
pub(crate) fn DeviceConnectionProvider(props: &DeviceConnectionProviderProps) -> Html {
    let initial = props.initial.clone();
    let state = use_reducer(move || DeviceState::from_settings(&initial));
    let client: ClientSlot = use_mut_ref(|| None);
    let next_send = use_memo((), |_| Cell::new(0u64));
    let burst_run = use_memo((), |_| Cell::new(0u64));
    let on_sample = use_mut_ref(|| props.on_sample.clone());
    // Background sends report through the latest callback the parent gave.
    *on_sample.borrow_mut() = props.on_sample.clone();
    let on_c2d = use_mut_ref(|| props.on_c2d_received.clone());
    *on_c2d.borrow_mut() = props.on_c2d_received.clone();
    {
        let dispatch = state.dispatcher();
        let slot = client.clone();
        use_effect_with(state.session.clone(), move |session| {
            let alive = Rc::new(Cell::new(true));
            if let Some(session) = session.clone() {
                let pump = pump(session, dispatch, slot.clone(), alive.clone(), on_c2d);
                spawn_local(pump);
            }
            move || {
                alive.set(false);
                if let Some(active) = slot.borrow_mut().take() {
                    spawn_local(async move { active.client.close().await });
                }
            }
        });
    }
    let handle = DeviceHandle {
        state,
        client,
        next_send,
        burst_run,
        on_sample,
    };
    html! {
        <ContextProvider<DeviceHandle> context={handle}>
            { props.children.clone() }
        </ContextProvider<DeviceHandle>>
    }
}

/// One session's life: connect, then forward status and C2D messages until the client stops
/// or the effect is torn down (`alive` cleared).
async fn pump(
    session: Session,
    dispatch: UseReducerDispatcher<DeviceState>,
    slot: ClientSlot,
    alive: Rc<Cell<bool>>,
    on_c2d: Rc<RefCell<Callback<(Protocol, String, f64)>>>,
) {
    let generation = session.generation;
    let protocol = session.protocol;
    let report = |status: ConnectionStatus| {
        if alive.get() {
            dispatch.dispatch(DeviceAction::Client { generation, status });
        }
    };
    let options = match client_options(&session) {
        Ok(options) => options,
        Err(reason) => return report(ConnectionStatus::Failed { reason }),
    };
    let client = match DeviceClient::connect(options).await {
        Ok(client) => client,
        Err(e) => {
            return report(ConnectionStatus::Failed {
                reason: e.to_string(),
            })
        }
    };
    if !alive.get() {
        // Torn down while connecting: nobody wants this connection any more.
        client.close().await;
        return;
    }
    *slot.borrow_mut() = Some(ActiveClient {
        generation,
        client: client.clone(),
    });
    if session.protocol.polls() {
        spawn_local(report_polls(
            client.clone(),
            dispatch.clone(),
            alive.clone(),
            generation,
        ));
    }

    enum Input {
        Status(ClientStatus),
        Message(Box<InboxMessage>),
    }
    let statuses = client.status_events().map(Input::Status).boxed_local();
    let inputs = match client.messages() {
        Some(messages) => {
            let messages = messages.map(move |received| {
                // Timed on arrival, before the render, for the push-vs-poll comparison.
                if let Some(id) = received.message().message_id.clone() {
                    let emit = on_c2d.borrow().clone();
                    emit.emit((protocol, id, now_ms()));
                }
                let label = format::clock_label(js_sys::Date::now());
                Input::Message(Box::new(InboxMessage::from_message(
                    received.message(),
                    Some(received.lock_token().to_owned()),
                    label,
                )))
            });
            stream::select(statuses, messages).boxed_local()
        }
        None => statuses,
    };
    let mut inputs = inputs;
    while let Some(input) = inputs.next().await {
        if !alive.get() {
            break;
        }
        match input {
            Input::Status(status) => {
                let terminal = status.is_terminal();
                if let Some(status) = map_status(&status) {
                    report(status);
                }
                if terminal {
                    break;
                }
            }
            Input::Message(message) => dispatch.dispatch(DeviceAction::Received {
                generation,
                message: *message,
            }),
        }
    }
    // Leave the slot to a newer session if one has taken it.
    let mut slot = slot.borrow_mut();
    if slot.as_ref().is_some_and(|a| a.generation == generation) {
        *slot = None;
    }
}

/// The client options for a session: credentials, endpoint, protocol and poll interval.
fn client_options(session: &Session) -> Result<DeviceOptions, String> {
    let mut options = DeviceOptions::from_connection_string(session.connection_string.expose())
        .map_err(|e| e.to_string())?;
    // Without an override the client dials the identity's own hub (a real IoT hub).
    if let Some(endpoint) = &session.endpoint {
        options = options.with_endpoint(endpoint.clone());
    }
    Ok(match session.protocol {
        Protocol::MqttWs => options.with_protocol(hubwire_web::Protocol::Mqtt),
        Protocol::AmqpWs => options.with_protocol(hubwire_web::Protocol::Amqp),
        Protocol::Https => {
            let interval = match session.poll {
                Some(PollChoice::Development { secs }) => {
                    PollInterval::development(secs).map_err(|e| e.to_string())?
                }
                Some(PollChoice::Production) | None => PollInterval::production(),
            };
            options
                .with_protocol(hubwire_web::Protocol::Http)
                .with_poll_interval(interval)
        }
    })
}

/// Reports the HTTPS poller's schedule to the reducer until the session ends.
async fn report_polls(
    client: DeviceClient,
    dispatch: UseReducerDispatcher<DeviceState>,
    alive: Rc<Cell<bool>>,
    generation: u64,
) {
    while alive.get() && !client.status().is_terminal() {
        if let Some(info) = client.poll_info() {
            dispatch.dispatch(DeviceAction::Poll {
                generation,
                view: poll_view(&info),
            });
        }
        TimeoutFuture::new(POLL_VIEW_TICK_MS).await;
    }
}

fn poll_view(info: &PollInfo) -> PollView {
    PollView {
        interval_secs: info.interval.as_secs(),
        development: info.development,
        running: info.running,
        polling: info.polling,
        next_poll_in_secs: info.next_poll_in.map(PollView::countdown_secs),
        cycles: info.cycles,
        failures: info.consecutive_failures,
    }
}

fn map_status(status: &ClientStatus) -> Option<ConnectionStatus> {
    Some(match status {
        ClientStatus::Connecting => ConnectionStatus::Connecting,
        ClientStatus::Connected => ConnectionStatus::Connected,
        ClientStatus::Reconnecting {
            attempt,
            next_try_in,
            reason,
        } => ConnectionStatus::Reconnecting {
            attempt: *attempt,
            retry_in_ms: u64::try_from(next_try_in.as_millis()).ok(),
            next_try_at: Some(format::clock_label(
                js_sys::Date::now() + next_try_in.as_millis() as f64,
            )),
            reason: reason.to_string(),
        },
        ClientStatus::Disconnected => ConnectionStatus::Disconnected,
        ClientStatus::Failed { reason } => ConnectionStatus::Failed {
            reason: reason.to_string(),
        },
        // A status this dashboard does not know yet: keep showing the last known one.
        _ => return None,
    })
}

/// Milliseconds from the page's monotonic clock.
fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now())
        .unwrap_or_else(js_sys::Date::now)
}
