//! Typed errors of the browser client. Every error has a stable [`code`](ClientError::code)
//! string, which the JavaScript API puts on its `Error` objects.

use hubwire_iothub::{ConnectionStringError, IdError, MessageIdError, SasError, TokenError};
use hubwire_mqtt::{CommandError, ConnectReturnCode, ProtocolError};

/// Why the WebSocket transport failed or ended.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The browser rejected the URL (bad scheme, syntax, or a blocked port).
    #[error("invalid WebSocket URL: {url}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
    },
    /// The WebSocket handshake did not complete: server unreachable, HTTP error on the upgrade
    /// (for example 400 for a wrong path or subprotocol), or TLS failure. Browsers do not expose
    /// the HTTP status; `code` is the close code the browser reported (usually 1006).
    #[error(
        "WebSocket handshake failed (close code {code}{})",
        reason_suffix(reason)
    )]
    HandshakeFailed {
        /// Close code reported by the browser.
        code: u16,
        /// Close reason, usually empty.
        reason: String,
    },
    /// The handshake did not finish within the connect timeout.
    #[error("WebSocket handshake timed out")]
    HandshakeTimeout,
    /// The server accepted a different subprotocol than requested.
    #[error("server selected WebSocket subprotocol {selected:?}; expected {expected:?}")]
    WrongSubprotocol {
        /// What was requested.
        expected: &'static str,
        /// What the server selected.
        selected: String,
    },
    /// The peer (or the network) closed the connection.
    #[error("WebSocket closed by peer (code {code}{})", reason_suffix(reason))]
    Closed {
        /// WebSocket close code (1006 = abnormal closure without a close frame).
        code: u16,
        /// Close reason sent by the peer.
        reason: String,
        /// Whether the closing handshake completed.
        was_clean: bool,
    },
    /// A text frame arrived where only binary frames are allowed.
    #[error("unexpected WebSocket text frame")]
    UnexpectedText,
    /// Sending failed because the socket is no longer open.
    #[error("WebSocket is not open")]
    NotOpen,
    /// Any other failure reported by the browser.
    #[error("WebSocket error: {0}")]
    Other(String),
}

fn reason_suffix(reason: &str) -> String {
    if reason.is_empty() {
        String::new()
    } else {
        format!(", reason {reason:?}")
    }
}

/// Why connection options cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// Neither a connection string nor a SAS token (with host and device id) was given, or both.
    #[error("give either connectionString, or sasToken with hostName and deviceId")]
    MissingCredentials,
    /// A SAS token was given without this companion field.
    #[error("sasToken needs {field}")]
    MissingField {
        /// The missing field (`hostName` or `deviceId`).
        field: &'static str,
    },
    /// The connection string does not parse; the inner error names the offending key.
    #[error("invalid connection string: {0}")]
    ConnectionString(#[from] ConnectionStringError),
    /// The device id is not valid.
    #[error("invalid device id: {0}")]
    DeviceId(#[from] IdError),
    /// The SAS token does not parse.
    #[error("invalid SAS token: {0}")]
    SasToken(#[from] SasError),
    /// The connection string uses X.509, which browsers cannot present.
    #[error("x509 authentication is not available in a browser; use a SAS key or token")]
    X509NotSupported,
    /// The endpoint override is not a `ws://` or `wss://` URL.
    #[error("endpoint must start with ws:// or wss://: {endpoint}")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
    },
    /// Unknown protocol name.
    #[error("unknown protocol {name:?} (supported: \"mqtt\")")]
    UnknownProtocol {
        /// The name as given.
        name: String,
    },
    /// The protocol exists but this build does not include it (cargo feature off).
    #[error("protocol {name} is not included in this build")]
    ProtocolNotEnabled {
        /// Protocol name.
        name: &'static str,
    },
    /// A numeric option is out of range.
    #[error("option {field} is out of range")]
    OutOfRange {
        /// The option name.
        field: &'static str,
    },
    /// The options object itself has the wrong shape (JavaScript API).
    #[error("invalid options: {0}")]
    Invalid(String),
}

/// Why connecting failed, or why a connected client gave up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The options are invalid.
    #[error(transparent)]
    Options(#[from] OptionsError),
    /// No token could be issued (for example a fixed SAS token has expired).
    #[error("cannot issue SAS token: {0}")]
    Token(#[from] TokenError),
    /// The WebSocket failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The hub answered CONNACK with a refusal. `NotAuthorized` (5) is what IoT Hub sends for a
    /// wrong key, an expired token, or an unknown device.
    #[error("connection refused by the server: {0:?}")]
    Refused(ConnectReturnCode),
    /// No CONNACK within the connect timeout.
    #[error("no CONNACK within the connect timeout")]
    ConnAckTimeout,
    /// No PINGRESP within the timeout: the connection is dead.
    #[error("no PINGRESP: connection lost")]
    PingTimeout,
    /// The server broke the MQTT protocol.
    #[error("MQTT protocol error: {0}")]
    Protocol(#[from] ProtocolError),
    /// The reconnect policy gave up after this many attempts; the last failure is attached.
    #[error("gave up after {attempts} reconnect attempts: {last}")]
    RetriesExhausted {
        /// Attempts made.
        attempts: u32,
        /// The failure of the last attempt.
        last: Box<Self>,
    },
    /// The client was closed by the application.
    #[error("the client is closed")]
    Closed,
    /// The client is not connected right now (operations that cannot be queued).
    #[error("not connected")]
    NotConnected,
    /// The MQTT core rejected a command (for example an invalid topic or a full in-flight
    /// window).
    #[error("MQTT command rejected: {0}")]
    Command(#[from] CommandError),
    /// The subscription was refused by the server (SUBACK failure).
    #[error("subscription refused by the server")]
    SubscriptionRefused,
}

impl ClientError {
    /// Whether the hub refused our credentials (CONNACK 4 or 5): retrying with the same
    /// credentials cannot succeed.
    #[must_use]
    pub fn is_auth_failure(&self) -> bool {
        match self {
            Self::Refused(code) => matches!(
                code,
                ConnectReturnCode::NotAuthorized | ConnectReturnCode::BadUserNameOrPassword
            ),
            Self::RetriesExhausted { last, .. } => last.is_auth_failure(),
            _ => false,
        }
    }

    /// Whether a later attempt could succeed (network trouble, server unavailable, timeouts).
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport(_) | Self::ConnAckTimeout | Self::PingTimeout | Self::Protocol(_) => {
                true
            }
            Self::Refused(code) => *code == ConnectReturnCode::ServerUnavailable,
            _ => false,
        }
    }

    /// Stable machine-readable code (the `code` of JavaScript errors).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::Options(OptionsError::ConnectionString(_)) => "InvalidConnectionString",
            Self::Options(_) => "InvalidOptions",
            Self::Token(_) => "TokenUnavailable",
            Self::Transport(_) => "TransportError",
            Self::Refused(_) if self.is_auth_failure() => "Unauthorized",
            Self::Refused(_) => "ConnectionRefused",
            Self::ConnAckTimeout | Self::PingTimeout => "Timeout",
            Self::Protocol(_) => "ProtocolError",
            Self::RetriesExhausted { .. } => "RetriesExhausted",
            Self::Closed => "Closed",
            Self::NotConnected => "NotConnected",
            Self::Command(_) => "InvalidRequest",
            Self::SubscriptionRefused => "SubscriptionRefused",
        }
    }
}

/// Why a message was not sent (or its delivery could not be confirmed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SendError {
    /// The message exceeds the IoT Hub limit (256 KiB for D2C); nothing was sent.
    #[error("message is {size} bytes; the limit is {limit} bytes (not sent)")]
    TooLarge {
        /// Size as the hub counts it (body + property names and values).
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The message id breaks the IoT Hub rules; nothing was sent.
    #[error("invalid message id: {0}")]
    InvalidMessageId(MessageIdError),
    /// The topic built from the message is not a valid MQTT topic; nothing was sent.
    #[error("message properties do not form a valid topic")]
    InvalidTopic,
    /// Too many messages are waiting for acknowledgement.
    #[error("{limit} messages are already waiting for acknowledgement")]
    InflightFull {
        /// The in-flight limit.
        limit: usize,
    },
    /// The connection ended before the acknowledgement and will not be re-established.
    #[error("connection lost before the message was acknowledged")]
    Disconnected,
    /// The client was closed; the message may or may not have arrived.
    #[error("the client is closed")]
    Closed,
    /// The client failed permanently (for example, credentials refused).
    #[error("the client failed: {0}")]
    Failed(Box<ClientError>),
    /// A QoS 0 message needs a live connection.
    #[error("not connected")]
    NotConnected,
    /// The MQTT core rejected the publish.
    #[error("MQTT publish rejected: {0}")]
    Command(CommandError),
}

impl SendError {
    /// Stable machine-readable code (the `code` of JavaScript errors).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "MessageTooLarge",
            Self::InvalidMessageId(_) | Self::InvalidTopic => "InvalidMessage",
            Self::InflightFull { .. } => "Busy",
            Self::Disconnected => "Disconnected",
            Self::Closed => "Closed",
            Self::Failed(e) => e.code(),
            Self::NotConnected => "NotConnected",
            Self::Command(_) => "InvalidRequest",
        }
    }
}

impl From<CommandError> for SendError {
    fn from(e: CommandError) -> Self {
        match e {
            CommandError::InflightFull(limit) => Self::InflightFull { limit },
            CommandError::NotConnected => Self::NotConnected,
            other => Self::Command(other),
        }
    }
}

impl From<hubwire_iothub::LimitError> for SendError {
    fn from(e: hubwire_iothub::LimitError) -> Self {
        match e {
            hubwire_iothub::LimitError::TooLarge { size, limit } => Self::TooLarge { size, limit },
            hubwire_iothub::LimitError::InvalidMessageId(id) => Self::InvalidMessageId(id),
            // `LimitError` is non-exhaustive; a future limit is still a refusal to send.
            _ => Self::InvalidTopic,
        }
    }
}

/// Why a received message could not be settled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettleError {
    /// The protocol cannot express this outcome. MQTT only completes (PUBACK, sent
    /// automatically on receipt); abandon and reject need AMQP or HTTPS.
    #[error("{operation} is not supported on {protocol}")]
    NotSupported {
        /// `abandon` or `reject`.
        operation: &'static str,
        /// Protocol name.
        protocol: &'static str,
    },
    /// No received message has this lock token.
    #[error("unknown lock token")]
    UnknownLockToken,
    /// The client is closed.
    #[error("the client is closed")]
    Closed,
}

impl SettleError {
    /// Stable machine-readable code (the `code` of JavaScript errors).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotSupported { .. } => "NotSupported",
            Self::UnknownLockToken => "UnknownLockToken",
            Self::Closed => "Closed",
        }
    }
}
