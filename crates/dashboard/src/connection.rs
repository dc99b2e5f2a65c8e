//! The connection provider: the one component that owns the device client.
//!
//! The device reducer says which connection is wanted ([`DeviceState::session`]); an effect
//! keyed on that session starts a pump task (`spawn_local`) that connects, forwards status
//! changes and received messages to the reducer through its dispatcher, and keeps the client
//! where [`DeviceHandle::send_draft`] can reach it. The effect's teardown closes the client, so
//! Disconnect, a new Connect, or unmounting all end the old connection the same way.
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
use crate::state::device::{
    ConnectionStatus, DeviceAction, DeviceState, InboxMessage, PollChoice, PollView, Protocol,
    SendOutcome, Session, SettleOp,
};

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
}

impl PartialEq for DeviceHandle {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state
            && Rc::ptr_eq(&self.client, &other.client)
            && Rc::ptr_eq(&self.next_send, &other.next_send)
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

    /// Connects with these credentials to this endpoint (replacing any connection).
    pub(crate) fn connect(&self, connection_string: Secret, endpoint: Result<String, String>) {
        self.state.dispatch(DeviceAction::Connect {
            connection_string,
            endpoint,
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
        self.state.dispatch(DeviceAction::SendStarted {
            id,
            message_id: message.message_id.clone(),
            body_bytes: message.body.len(),
        });
        let dispatch = self.state.dispatcher();
        spawn_local(async move {
            let started = now_ms();
            let result = client.send_event(message).await;
            let outcome = match result {
                Ok(receipt) => SendOutcome::Acked {
                    latency_ms: now_ms() - started,
                    wire_bytes: u64::try_from(receipt.wire_bytes).ok(),
                },
                Err(e) => SendOutcome::Failed(e.to_string()),
            };
            dispatch.dispatch(DeviceAction::SendFinished { id, outcome });
        });
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
    /// The tree that may use [`use_device`].
    pub(crate) children: Html,
}

/// Owns the device reducer and the device client, and provides a [`DeviceHandle`].
#[component]
pub(crate) fn DeviceConnectionProvider(props: &DeviceConnectionProviderProps) -> Html {
    let state = use_reducer(DeviceState::default);
    let client: ClientSlot = use_mut_ref(|| None);
    let next_send = use_memo((), |_| Cell::new(0u64));
    {
        let dispatch = state.dispatcher();
        let slot = client.clone();
        use_effect_with(state.session.clone(), move |session| {
            let alive = Rc::new(Cell::new(true));
            if let Some(session) = session.clone() {
                spawn_local(pump(session, dispatch, slot.clone(), alive.clone()));
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
) {
    let generation = session.generation;
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
            let messages = messages.map(|received| {
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
    let options = DeviceOptions::from_connection_string(session.connection_string.expose())
        .map_err(|e| e.to_string())?
        .with_endpoint(session.endpoint.clone());
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
