//! The connection provider: the one component that owns the device client.
//!
//! The device reducer says which connection is wanted ([`DeviceState::session`]); an effect
//! keyed on that session starts a pump task (`spawn_local`) that connects, forwards status
//! changes and received messages to the reducer through its dispatcher, and keeps the client
//! where [`DeviceHandle::send_draft`] can reach it. The effect's teardown closes the client, so
//! Disconnect, a new Connect, or unmounting all end the old connection the same way.

use core::cell::{Cell, RefCell};
use std::rc::Rc;

use futures::stream::{self, StreamExt};
use hubwire_iothub::secret::Secret;
use hubwire_web::{ConnectionStatus as ClientStatus, DeviceClient, DeviceOptions};
use yew::platform::spawn_local;
use yew::prelude::*;

use crate::format;
use crate::state::device::{
    ConnectionStatus, DeviceAction, DeviceState, InboxMessage, Protocol, SendOutcome, Session,
};

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
    let mut options =
        match DeviceOptions::from_connection_string(session.connection_string.expose()) {
            Ok(options) => options.with_endpoint(session.endpoint.clone()),
            Err(e) => {
                return report(ConnectionStatus::Failed {
                    reason: e.to_string(),
                })
            }
        };
    options.protocol = match session.protocol {
        Protocol::MqttWs => hubwire_web::Protocol::Mqtt,
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
