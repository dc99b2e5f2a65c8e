//! The device pane: which identity to connect as, the connection's status, the D2C composer
//! with its send results, and the C2D inbox.

use core::fmt;
use std::rc::Rc;

use hubwire_iothub::message::Message;
use hubwire_iothub::secret::Secret;
use hubwire_iothub::{Authentication, ConnectionString};
use yew::Reducible;

use super::draft::{Draft, DraftEdit, JSON};

/// How many send results the pane keeps.
pub const MAX_SENDS: usize = 20;
/// How many received C2D messages the inbox keeps.
pub const MAX_INBOX: usize = 100;

/// Device transport. Only MQTT over WebSocket exists today; AMQP and HTTPS join later, which is
/// why this is an enum and the view renders whatever [`Protocol::AVAILABLE`] lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Protocol {
    /// MQTT 3.1.1 over WebSocket.
    #[default]
    MqttWs,
}

impl Protocol {
    /// Protocols the dashboard can use now, in display order.
    pub const AVAILABLE: &'static [Self] = &[Self::MqttWs];

    /// Stable identifier (form values).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MqttWs => "mqtt-ws",
        }
    }

    /// Human label.
    pub fn label(self) -> &'static str {
        match self {
            Self::MqttWs => "MQTT over WebSocket",
        }
    }

    /// Short label for status lines.
    pub fn short_label(self) -> &'static str {
        match self {
            Self::MqttWs => "MQTT/WS",
        }
    }

    /// Inverse of [`Protocol::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::AVAILABLE.iter().copied().find(|p| p.as_str() == s)
    }
}

/// Where the device identity comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Source {
    /// One of the hub's demo devices (its connection string comes from `GET /api/devices`).
    #[default]
    Demo,
    /// A connection string the user pasted.
    Pasted,
}

/// What the device connection is doing; the view renders exactly this.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum ConnectionStatus {
    /// No connection and none wanted.
    #[default]
    Disconnected,
    /// Opening the first connection.
    Connecting,
    /// Connected (MQTT CONNACK accepted).
    Connected,
    /// Lost the connection; the client tries again.
    Reconnecting {
        /// Attempt number (1 = first retry).
        attempt: u32,
        /// Delay before the next try, when the client says.
        retry_in_ms: Option<u64>,
        /// Why the previous connection ended.
        reason: String,
    },
    /// Gave up (or could not start).
    Failed {
        /// Why.
        reason: String,
    },
}

impl ConnectionStatus {
    /// True while a connection exists or is being made.
    pub fn is_active(&self) -> bool {
        matches!(
            self,
            Self::Connecting | Self::Connected | Self::Reconnecting { .. }
        )
    }
}

/// One connection the user asked for. A new [`Session::generation`] means a new client: the
/// connection provider keys its effect on it, and stale client reports are ignored by it.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// Increases with every Connect.
    pub generation: u64,
    /// Device id (from the connection string).
    pub device_id: String,
    /// Full connection string; never printed.
    pub connection_string: Secret,
    /// WebSocket endpoint to dial (the hub URL's listener), overriding the string's host.
    pub endpoint: String,
    /// Transport.
    pub protocol: Protocol,
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("generation", &self.generation)
            .field("device_id", &self.device_id)
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

/// How one D2C send ended.
#[derive(Clone, Debug, PartialEq)]
pub enum SendOutcome {
    /// Waiting for the hub's acknowledgement.
    Pending,
    /// Acknowledged by the hub (MQTT PUBACK).
    Acked {
        /// Time from send to acknowledgement.
        latency_ms: f64,
        /// Bytes the message took on the wire, when the client reports it.
        wire_bytes: Option<u64>,
    },
    /// Not delivered.
    Failed(String),
}

/// One D2C send as listed in the pane.
#[derive(Clone, Debug, PartialEq)]
pub struct SendRecord {
    /// Local id (not the message id).
    pub id: u64,
    /// The message id, when one was set.
    pub message_id: Option<String>,
    /// Body size in bytes.
    pub body_bytes: usize,
    /// Result.
    pub outcome: SendOutcome,
}

/// A received C2D message, flattened for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxMessage {
    /// Body as text, or a note for binary bodies.
    pub body: String,
    /// Whether [`InboxMessage::body`] is the real body (UTF-8) or a description of binary data.
    pub body_is_text: bool,
    /// System properties worth showing (message id, correlation id, content type, …).
    pub system: Vec<(&'static str, String)>,
    /// Application properties in order.
    pub properties: Vec<(String, String)>,
    /// Time of arrival, `HH:MM:SS` UTC.
    pub received_at: String,
}

impl InboxMessage {
    /// Flattens a received message; `received_at` is the caller's clock label.
    pub fn from_message(message: &Message, received_at: String) -> Self {
        let (body, body_is_text) = match message.body_str() {
            Some(text) => (text.to_owned(), true),
            None => (
                format!("({} bytes of binary data)", message.body.len()),
                false,
            ),
        };
        let mut system = Vec::new();
        let mut push = |name: &'static str, value: &Option<String>| {
            if let Some(v) = value {
                system.push((name, v.clone()));
            }
        };
        push("messageId", &message.message_id);
        push("correlationId", &message.correlation_id);
        push("contentType", &message.content_type);
        push("contentEncoding", &message.content_encoding);
        push("userId", &message.user_id);
        if let Some(received) = &message.received {
            system.push(("sequenceNumber", received.sequence_number.to_string()));
            system.push(("deliveryCount", received.delivery_count.to_string()));
        }
        Self {
            body,
            body_is_text,
            system,
            properties: message
                .properties
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            received_at,
        }
    }
}

/// Everything the device pane shows.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceState {
    /// Demo device or pasted string.
    pub source: Source,
    /// Selected demo device id.
    pub demo_device: Option<String>,
    /// Pasted connection string (a secret: shown in a password field, never logged).
    pub pasted: Secret,
    /// Chosen transport.
    pub protocol: Protocol,
    /// Connection status.
    pub status: ConnectionStatus,
    /// The connection currently wanted, if any.
    pub session: Option<Session>,
    next_generation: u64,
    /// D2C composer.
    pub draft: Draft,
    /// Why the last Send was refused before reaching the client.
    pub draft_error: Option<String>,
    /// D2C sends, newest first.
    pub sends: Vec<SendRecord>,
    /// Received C2D messages, newest first.
    pub inbox: Vec<InboxMessage>,
}

impl Default for DeviceState {
    fn default() -> Self {
        Self {
            source: Source::default(),
            demo_device: None,
            pasted: Secret::new(""),
            protocol: Protocol::default(),
            status: ConnectionStatus::default(),
            session: None,
            next_generation: 1,
            draft: Draft::new(r#"{"temperature": 21.5, "humidity": 40}"#, JSON),
            draft_error: None,
            sends: Vec::new(),
            inbox: Vec::new(),
        }
    }
}

/// Everything that changes the device pane.
#[derive(Clone, Debug, PartialEq)]
pub enum DeviceAction {
    /// Switch between demo device and pasted string.
    SetSource(Source),
    /// Choose a demo device.
    SelectDemo(Option<String>),
    /// Edit the pasted connection string.
    EditPasted(Secret),
    /// Choose the transport.
    SetProtocol(Protocol),
    /// Start a connection with these credentials to this endpoint (replaces any current one).
    Connect {
        /// Connection string to use.
        connection_string: Secret,
        /// WebSocket endpoint, or why there is none (bad hub URL).
        endpoint: Result<String, String>,
    },
    /// Connect could not even start (no device chosen, no hub URL): say why.
    ConnectRejected(String),
    /// Close the connection.
    Disconnect,
    /// A status report from the client of session `generation`.
    Client {
        /// Session the report belongs to.
        generation: u64,
        /// New status.
        status: ConnectionStatus,
    },
    /// Edit the D2C composer.
    Draft(DraftEdit),
    /// Send was refused before reaching the client (draft invalid, not connected).
    SendRejected(String),
    /// A send was handed to the client.
    SendStarted {
        /// Local id.
        id: u64,
        /// Message id, if set.
        message_id: Option<String>,
        /// Body size.
        body_bytes: usize,
    },
    /// A send finished.
    SendFinished {
        /// Local id.
        id: u64,
        /// Result (never `Pending`).
        outcome: SendOutcome,
    },
    /// A C2D message arrived for session `generation`.
    Received {
        /// Session the message belongs to.
        generation: u64,
        /// The message.
        message: InboxMessage,
    },
    /// Empty the inbox.
    ClearInbox,
}

impl DeviceState {
    /// Applies one action. Pure: the connection provider performs the effects.
    pub fn apply(&mut self, action: DeviceAction) {
        match action {
            DeviceAction::SetSource(source) => self.source = source,
            DeviceAction::SelectDemo(id) => self.demo_device = id,
            DeviceAction::EditPasted(text) => self.pasted = text,
            DeviceAction::SetProtocol(protocol) => self.protocol = protocol,
            DeviceAction::Connect {
                connection_string,
                endpoint,
            } => self.connect(connection_string, endpoint),
            DeviceAction::ConnectRejected(reason) => {
                self.session = None;
                self.status = ConnectionStatus::Failed { reason };
            }
            DeviceAction::Disconnect => {
                self.session = None;
                self.status = ConnectionStatus::Disconnected;
            }
            DeviceAction::Client { generation, status } => {
                if self.current_generation() != Some(generation) {
                    return;
                }
                // A client that has given up or closed is done: drop the session so the effect
                // tears it down and Connect becomes available again.
                if matches!(
                    status,
                    ConnectionStatus::Failed { .. } | ConnectionStatus::Disconnected
                ) {
                    self.session = None;
                }
                self.status = status;
            }
            DeviceAction::Draft(edit) => {
                self.draft.apply(edit);
                self.draft_error = None;
            }
            DeviceAction::SendRejected(reason) => self.draft_error = Some(reason),
            DeviceAction::SendStarted {
                id,
                message_id,
                body_bytes,
            } => {
                self.draft_error = None;
                self.sends.insert(
                    0,
                    SendRecord {
                        id,
                        message_id,
                        body_bytes,
                        outcome: SendOutcome::Pending,
                    },
                );
                self.sends.truncate(MAX_SENDS);
            }
            DeviceAction::SendFinished { id, outcome } => {
                if let Some(record) = self.sends.iter_mut().find(|r| r.id == id) {
                    record.outcome = outcome;
                }
            }
            DeviceAction::Received {
                generation,
                message,
            } => {
                if self.current_generation() == Some(generation) {
                    self.inbox.insert(0, message);
                    self.inbox.truncate(MAX_INBOX);
                }
            }
            DeviceAction::ClearInbox => self.inbox.clear(),
        }
    }

    fn current_generation(&self) -> Option<u64> {
        self.session.as_ref().map(|s| s.generation)
    }

    fn connect(&mut self, connection_string: Secret, endpoint: Result<String, String>) {
        // Any earlier connection ends here, whether or not the new one can start.
        self.session = None;
        let endpoint = match endpoint {
            Ok(endpoint) => endpoint,
            Err(reason) => {
                self.status = ConnectionStatus::Failed { reason };
                return;
            }
        };
        let parsed = match ConnectionString::parse(connection_string.expose().trim()) {
            Ok(parsed) => parsed,
            Err(e) => {
                self.status = ConnectionStatus::Failed {
                    reason: format!("invalid connection string: {e}"),
                };
                return;
            }
        };
        if matches!(parsed.auth, Authentication::X509) {
            self.status = ConnectionStatus::Failed {
                reason: "X.509 device authentication is not available in the browser".into(),
            };
            return;
        }
        let generation = self.next_generation;
        self.next_generation += 1;
        self.session = Some(Session {
            generation,
            device_id: parsed.device_id.as_str().to_owned(),
            connection_string: Secret::new(connection_string.expose().trim()),
            endpoint,
            protocol: self.protocol,
        });
        self.status = ConnectionStatus::Connecting;
    }
}

impl Reducible for DeviceState {
    type Action = DeviceAction;

    fn reduce(self: Rc<Self>, action: DeviceAction) -> Rc<Self> {
        let mut next = Rc::unwrap_or_clone(self);
        next.apply(action);
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hubwire_iothub::message::ReceivedInfo;

    const GOOD: &str = "HostName=localhost;DeviceId=demo-device-1;SharedAccessKey=c2VjcmV0a2V5";
    const ENDPOINT: &str = "ws://127.0.0.1:8090/$iothub/websocket";

    fn connected() -> DeviceState {
        let mut state = DeviceState::default();
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new(GOOD),
            endpoint: Ok(ENDPOINT.into()),
        });
        state
    }

    #[test]
    fn connect_opens_a_session_and_reports_connecting() {
        let state = connected();
        let session = state.session.clone().unwrap();
        assert_eq!(session.device_id, "demo-device-1");
        assert_eq!(session.endpoint, ENDPOINT);
        assert_eq!(session.protocol, Protocol::MqttWs);
        assert_eq!(state.status, ConnectionStatus::Connecting);
        // The key never shows in Debug output of the state.
        let debug = format!("{state:?}");
        assert!(!debug.contains("c2VjcmV0a2V5"), "{debug}");
    }

    #[test]
    fn each_connect_gets_a_new_generation() {
        let mut state = connected();
        let first = state.session.as_ref().unwrap().generation;
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new(GOOD),
            endpoint: Ok(ENDPOINT.into()),
        });
        let second = state.session.as_ref().unwrap().generation;
        assert!(second > first);
    }

    #[test]
    fn invalid_connection_string_fails_without_a_session() {
        let mut state = connected();
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new("HostName=localhost;DeviceId=d"),
            endpoint: Ok(ENDPOINT.into()),
        });
        assert!(state.session.is_none());
        match &state.status {
            ConnectionStatus::Failed { reason } => {
                assert!(reason.starts_with("invalid connection string"), "{reason}")
            }
            other => panic!("unexpected status {other:?}"),
        }
    }

    #[test]
    fn bad_endpoint_fails_without_a_session() {
        let mut state = DeviceState::default();
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new(GOOD),
            endpoint: Err("the hub URL has no host".into()),
        });
        assert!(state.session.is_none());
        assert_eq!(
            state.status,
            ConnectionStatus::Failed {
                reason: "the hub URL has no host".into()
            }
        );
    }

    #[test]
    fn client_reports_for_old_sessions_are_ignored() {
        let mut state = connected();
        let old = state.session.as_ref().unwrap().generation;
        state.apply(DeviceAction::Connect {
            connection_string: Secret::new(GOOD),
            endpoint: Ok(ENDPOINT.into()),
        });
        state.apply(DeviceAction::Client {
            generation: old,
            status: ConnectionStatus::Failed {
                reason: "closed".into(),
            },
        });
        assert_eq!(state.status, ConnectionStatus::Connecting);
        assert!(state.session.is_some());
        state.apply(DeviceAction::Received {
            generation: old,
            message: InboxMessage::from_message(&Message::new("late"), "00:00:00".into()),
        });
        assert!(state.inbox.is_empty());
    }

    #[test]
    fn status_flow_connected_reconnecting_failed_ends_the_session() {
        let mut state = connected();
        let generation = state.session.as_ref().unwrap().generation;
        state.apply(DeviceAction::Client {
            generation,
            status: ConnectionStatus::Connected,
        });
        assert_eq!(state.status, ConnectionStatus::Connected);
        let reconnecting = ConnectionStatus::Reconnecting {
            attempt: 2,
            retry_in_ms: Some(4000),
            reason: "socket closed".into(),
        };
        state.apply(DeviceAction::Client {
            generation,
            status: reconnecting.clone(),
        });
        assert_eq!(state.status, reconnecting);
        assert!(state.session.is_some(), "retrying keeps the session");
        state.apply(DeviceAction::Client {
            generation,
            status: ConnectionStatus::Failed {
                reason: "not authorized".into(),
            },
        });
        assert!(state.session.is_none());
        assert!(!state.status.is_active());
    }

    #[test]
    fn rejected_connect_ends_the_current_session() {
        let mut state = connected();
        state.apply(DeviceAction::ConnectRejected("choose a demo device".into()));
        assert!(state.session.is_none());
        assert_eq!(
            state.status,
            ConnectionStatus::Failed {
                reason: "choose a demo device".into()
            }
        );
    }

    #[test]
    fn disconnect_clears_the_session() {
        let mut state = connected();
        state.apply(DeviceAction::Disconnect);
        assert!(state.session.is_none());
        assert_eq!(state.status, ConnectionStatus::Disconnected);
    }

    #[test]
    fn sends_are_listed_newest_first_and_completed_by_id() {
        let mut state = connected();
        for id in 1..=3 {
            state.apply(DeviceAction::SendStarted {
                id,
                message_id: None,
                body_bytes: 10,
            });
        }
        state.apply(DeviceAction::SendFinished {
            id: 2,
            outcome: SendOutcome::Acked {
                latency_ms: 4.5,
                wire_bytes: Some(96),
            },
        });
        let ids: Vec<u64> = state.sends.iter().map(|s| s.id).collect();
        assert_eq!(ids, vec![3, 2, 1]);
        assert_eq!(state.sends[0].outcome, SendOutcome::Pending);
        assert_eq!(
            state.sends[1].outcome,
            SendOutcome::Acked {
                latency_ms: 4.5,
                wire_bytes: Some(96)
            }
        );
        for id in 4..=40 {
            state.apply(DeviceAction::SendStarted {
                id,
                message_id: None,
                body_bytes: 1,
            });
        }
        assert_eq!(state.sends.len(), MAX_SENDS);
        assert_eq!(state.sends[0].id, 40);
    }

    #[test]
    fn rejected_send_shows_until_the_draft_changes() {
        let mut state = connected();
        state.apply(DeviceAction::SendRejected("body is not valid JSON".into()));
        assert_eq!(state.draft_error.as_deref(), Some("body is not valid JSON"));
        state.apply(DeviceAction::Draft(DraftEdit::Body("{}".into())));
        assert_eq!(state.draft_error, None);
    }

    #[test]
    fn inbox_flattens_received_messages() {
        let mut state = connected();
        let generation = state.session.as_ref().unwrap().generation;
        let message = Message::new("turn on")
            .with_message_id("c2d-1")
            .with_content_type("text/plain")
            .with_property("level", "3")
            .with_received(ReceivedInfo::new(1, 42, None, None));
        state.apply(DeviceAction::Received {
            generation,
            message: InboxMessage::from_message(&message, "12:00:01".into()),
        });
        let entry = &state.inbox[0];
        assert_eq!(entry.body, "turn on");
        assert!(entry.body_is_text);
        assert_eq!(entry.properties, vec![("level".into(), "3".into())]);
        assert!(entry.system.contains(&("messageId", "c2d-1".into())));
        assert!(entry.system.contains(&("sequenceNumber", "42".into())));
        assert_eq!(entry.received_at, "12:00:01");
        let binary = InboxMessage::from_message(&Message::new(vec![0xff, 0xfe]), String::new());
        assert!(!binary.body_is_text);
        assert_eq!(binary.body, "(2 bytes of binary data)");
        state.apply(DeviceAction::ClearInbox);
        assert!(state.inbox.is_empty());
    }

    #[test]
    fn protocol_round_trips_through_its_form_value() {
        for p in Protocol::AVAILABLE {
            assert_eq!(Protocol::parse(p.as_str()), Some(*p));
        }
        assert_eq!(Protocol::parse("carrier-pigeon"), None);
    }
}
