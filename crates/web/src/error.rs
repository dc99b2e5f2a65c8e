//! Typed errors of the browser client. Every error has a stable [`code`](ClientError::code)
//! string, which the JavaScript API puts on its `Error` objects.

use core::time::Duration;

use hubwire_iothub::{
    ConnectionStringError, HeaderError, IdError, MessageIdError, SasError, TokenError,
};
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
    /// The endpoint override of the HTTPS protocol is not an `https://` or `http://` URL or
    /// a same-origin path (`/…`), or it has a query.
    #[error(
        "HTTPS endpoint must be an https:// or http:// URL or a same-origin path starting with /, without a query: {endpoint}"
    )]
    InvalidHttpEndpoint {
        /// The endpoint as given.
        endpoint: String,
    },
    /// The HTTPS poll interval is shorter than allowed: 25 minutes for production intervals,
    /// 1 second for the explicit development setting.
    #[error(
        "poll interval of {} s is below the minimum of {} s (production: PollInterval::every, at least 1500 s; local development: PollInterval::development, at least 1 s)",
        Secs(*requested),
        Secs(*minimum)
    )]
    PollIntervalTooShort {
        /// What was asked for.
        requested: Duration,
        /// The minimum for that kind of interval.
        minimum: Duration,
    },
    /// Unknown protocol name.
    #[error("unknown protocol {name:?} (supported: \"mqtt\", \"http\", \"amqp\")")]
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
    /// A field gateway carries devices of one hub only: this device belongs to another host.
    #[error("device host {found:?} differs from the gateway's hub {expected:?}")]
    HostMismatch {
        /// The gateway's hub host name.
        expected: String,
        /// The device's host name.
        found: String,
    },
    /// A field gateway already carries a device with this id.
    #[error("device {device_id:?} is already on this gateway")]
    DuplicateDevice {
        /// The device id.
        device_id: String,
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
    /// An HTTPS request failed (protocol `Http`): CORS or network, or an HTTP error status.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The operation does not exist on this protocol (for example `poll_now` on MQTT).
    #[error("{operation} is not supported on {protocol}")]
    NotSupported {
        /// The operation.
        operation: &'static str,
        /// Protocol name.
        protocol: &'static str,
    },
    /// AMQP (protocol `Amqp`, the field gateway, the generic AMQP client): the peer closed the
    /// connection or a link with an error, refused a CBS token, or broke the protocol.
    #[error(transparent)]
    Amqp(#[from] AmqpError),
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
            Self::Http(e) => matches!(e, HttpError::Unauthorized { .. }),
            Self::Amqp(e) => e.is_auth_failure(),
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
            Self::Http(e) => e.is_transient(),
            Self::Amqp(e) => e.is_transient(),
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
            Self::Http(e) => e.code(),
            Self::NotSupported { .. } => "NotSupported",
            Self::Amqp(e) => e.code(),
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
    /// A property cannot travel as an HTTP header (HTTPS: names must be HTTP tokens, values
    /// printable ASCII); nothing was sent.
    #[error("{0} (not sent)")]
    InvalidHeader(HeaderError),
    /// A property cannot be expressed on this protocol (AMQP: a non-ASCII content type or
    /// encoding, a time out of range); nothing was sent.
    #[error("invalid message: {reason} (not sent)")]
    InvalidMessage {
        /// What is wrong.
        reason: String,
    },
    /// The batch is empty or holds more messages than a batch may; nothing was sent.
    #[error("invalid batch: {reason} (not sent)")]
    InvalidBatch {
        /// What is wrong.
        reason: String,
    },
    /// The HTTPS request failed: CORS or network, or an HTTP error status.
    #[error(transparent)]
    Http(HttpError),
    /// The operation does not exist on this protocol (`send_event_batch` on MQTT).
    #[error("{operation} is not supported on {protocol}")]
    NotSupported {
        /// The operation.
        operation: &'static str,
        /// Protocol name.
        protocol: &'static str,
    },
    /// AMQP: the peer did not accept the message (outcome `rejected`, with the peer's error
    /// condition and description, or `released`/`modified`), or the message cannot travel on
    /// the link (larger than the peer's max-message-size).
    #[error(transparent)]
    Amqp(AmqpError),
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
            Self::InvalidHeader(_) | Self::InvalidBatch { .. } | Self::InvalidMessage { .. } => {
                "InvalidMessage"
            }
            Self::Http(e) => e.code(),
            Self::NotSupported { .. } => "NotSupported",
            Self::Amqp(e) => e.code(),
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
    /// The HTTPS request failed. A lock that expired or was already settled gives
    /// [`HttpError::LockLost`] (HTTP 412).
    #[error(transparent)]
    Http(HttpError),
    /// The client failed permanently (for example, a fixed SAS token expired).
    #[error("the client failed: {0}")]
    Failed(Box<ClientError>),
    /// AMQP: the message was received on a connection that has since been replaced, so its
    /// lock is gone ([`AmqpError::LockLost`]; the hub delivers it again).
    #[error(transparent)]
    Amqp(AmqpError),
}

impl SettleError {
    /// Stable machine-readable code (the `code` of JavaScript errors).
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotSupported { .. } => "NotSupported",
            Self::UnknownLockToken => "UnknownLockToken",
            Self::Closed => "Closed",
            Self::Http(e) => e.code(),
            Self::Failed(e) => e.code(),
            Self::Amqp(e) => e.code(),
        }
    }
}

/// What the browser's `fetch` and the hub's HTTPS device API can report.
///
/// [`CorsOrNetwork`](Self::CorsOrNetwork) is the one to expect from a web page talking to a
/// real IoT Hub: the hub does not answer CORS, so the browser refuses to hand over any
/// response; the browser reports such a refusal exactly like a network failure (a
/// `TypeError`), and the message says what can be done about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// `fetch` failed without a response: the browser refused it for CORS (the server sent no
    /// `Access-Control-Allow-Origin` for this page), or the network failed (server down,
    /// DNS, TLS, connection refused). Browsers do not say which.
    #[error(
        "HTTPS request to {url} got no usable response ({detail}): the browser blocked it because the server sent no CORS headers, or the network failed. Azure IoT Hub does not answer CORS, so a web page cannot call its HTTPS API directly: put a same-origin proxy in front of the hub and set `endpoint` to it, or use MQTT over WebSocket (protocol \"mqtt\"; AMQP over WebSocket works the same way)"
    )]
    CorsOrNetwork {
        /// The request URL (without the query).
        url: String,
        /// The browser's message, e.g. `Failed to fetch`.
        detail: String,
    },
    /// HTTP 401: the SAS token was refused (wrong key, expired, or for another device).
    #[error("unauthorized (HTTP 401{}): {message}", code_suffix(*error_code))]
    Unauthorized {
        /// IoT Hub error code (401002, 401003), when the body names one.
        error_code: Option<u32>,
        /// The hub's explanation.
        message: String,
    },
    /// HTTP 404 with `DeviceNotFound` (404001), or without an error code: the device is not
    /// registered (or the endpoint is not an IoT Hub device API).
    #[error("device not found (HTTP 404): {message}")]
    DeviceNotFound {
        /// The hub's explanation.
        message: String,
    },
    /// HTTP 412: the message lock expired or the lock token is unknown or already settled
    /// (`DeviceMessageLockLost`, 412002), or `If-Match` did not match (412001).
    #[error("message lock lost (HTTP 412{}): {message}", code_suffix(*error_code))]
    LockLost {
        /// IoT Hub error code.
        error_code: Option<u32>,
        /// The hub's explanation.
        message: String,
    },
    /// HTTP 413: the message or batch is too large.
    #[error("message too large (HTTP 413): {message}")]
    TooLarge {
        /// The hub's explanation.
        message: String,
    },
    /// HTTP 429: throttled. Retry after `retry_after` when the hub said so.
    #[error("throttled (HTTP 429{}): {message}", retry_suffix(*retry_after))]
    Throttled {
        /// The `Retry-After` delay.
        retry_after: Option<Duration>,
        /// The hub's explanation.
        message: String,
    },
    /// HTTP 403: a quota is exhausted (daily messages 403002, C2D queue depth 403004, …).
    #[error("quota exceeded (HTTP 403{}): {message}", code_suffix(*error_code))]
    QuotaExceeded {
        /// IoT Hub error code.
        error_code: Option<u32>,
        /// The hub's explanation.
        message: String,
    },
    /// HTTP 400: the request was refused as malformed (e.g. 400001 api-version, 400004 body).
    #[error("bad request (HTTP 400{}): {message}", code_suffix(*error_code))]
    BadRequest {
        /// IoT Hub error code.
        error_code: Option<u32>,
        /// The hub's explanation.
        message: String,
    },
    /// HTTP 5xx: the hub (or a proxy) failed; transient.
    #[error("server error (HTTP {status}{}): {message}", retry_suffix(*retry_after))]
    Server {
        /// The status code.
        status: u16,
        /// The `Retry-After` delay (503).
        retry_after: Option<Duration>,
        /// The server's explanation.
        message: String,
    },
    /// Any other unexpected status.
    #[error("unexpected HTTP status {status}{}: {message}", code_suffix(*error_code))]
    Status {
        /// The status code.
        status: u16,
        /// IoT Hub error code, when the body names one.
        error_code: Option<u32>,
        /// The server's explanation.
        message: String,
    },
    /// No response within the request timeout (the request was aborted).
    #[error("HTTPS request to {url} timed out")]
    Timeout {
        /// The request URL (without the query).
        url: String,
    },
    /// The browser refused to build the request (bad URL or header); nothing was sent.
    #[error("the browser refused the HTTPS request: {reason}")]
    InvalidRequest {
        /// The browser's message.
        reason: String,
    },
    /// The response lacks what the protocol needs, e.g. a C2D message without `ETag`
    /// (a proxy dropped it, or CORS `Access-Control-Expose-Headers` does not list it).
    #[error("invalid HTTPS response: {reason}")]
    InvalidResponse {
        /// What is missing or wrong.
        reason: String,
    },
}

/// A duration in decimal seconds ("1500", "2.5"), as `as_secs_f64()` prints for the durations
/// these messages carry, without pulling float formatting into the wasm.
struct Secs(Duration);

impl core::fmt::Display for Secs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}", self.0.as_secs())?;
        let mut nanos = self.0.subsec_nanos();
        if nanos == 0 {
            return Ok(());
        }
        let mut digits = 9;
        while nanos % 10 == 0 {
            nanos /= 10;
            digits -= 1;
        }
        write!(f, ".{nanos:0digits$}")
    }
}

fn code_suffix(code: Option<u32>) -> String {
    code.map(|c| format!(", error code {c}"))
        .unwrap_or_default()
}

fn retry_suffix(retry_after: Option<Duration>) -> String {
    retry_after
        .map(|d| format!(", retry after {} s", Secs(d)))
        .unwrap_or_default()
}

impl HttpError {
    /// Stable machine-readable code (the `code` of JavaScript errors): `CorsOrNetwork`,
    /// `Unauthorized`, `DeviceNotFound`, `LockLost`, `MessageTooLarge`, `Throttled`,
    /// `QuotaExceeded`, `BadRequest`, `ServerError`, `HttpError`, `Timeout`,
    /// `InvalidRequest`, `InvalidResponse`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self {
            Self::CorsOrNetwork { .. } => "CorsOrNetwork",
            Self::Unauthorized { .. } => "Unauthorized",
            Self::DeviceNotFound { .. } => "DeviceNotFound",
            Self::LockLost { .. } => "LockLost",
            Self::TooLarge { .. } => "MessageTooLarge",
            Self::Throttled { .. } => "Throttled",
            Self::QuotaExceeded { .. } => "QuotaExceeded",
            Self::BadRequest { .. } => "BadRequest",
            Self::Server { .. } => "ServerError",
            Self::Status { .. } => "HttpError",
            Self::Timeout { .. } => "Timeout",
            Self::InvalidRequest { .. } => "InvalidRequest",
            Self::InvalidResponse { .. } => "InvalidResponse",
        }
    }

    /// The HTTP status, when a response arrived.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { .. } => Some(401),
            Self::DeviceNotFound { .. } => Some(404),
            Self::LockLost { .. } => Some(412),
            Self::TooLarge { .. } => Some(413),
            Self::Throttled { .. } => Some(429),
            Self::QuotaExceeded { .. } => Some(403),
            Self::BadRequest { .. } => Some(400),
            Self::Server { status, .. } | Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The server's `Retry-After` (429, 503).
    #[must_use]
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Throttled { retry_after, .. } | Self::Server { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// Whether a later attempt could succeed: network trouble (or CORS, which cannot be told
    /// apart), timeouts, throttling, quotas and server errors. Credentials, unknown devices
    /// and malformed requests are permanent.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::CorsOrNetwork { .. }
                | Self::Timeout { .. }
                | Self::Throttled { .. }
                | Self::QuotaExceeded { .. }
                | Self::Server { .. }
        )
    }
}

/// What went wrong on an AMQP connection (IoT Hub device client, field gateway, or the generic
/// AMQP client). Conditions and descriptions are the peer's, as sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AmqpError {
    /// The peer closed the connection, ended the session or detached a link with an error
    /// (e.g. `amqp:unauthorized-access`, `amqp:link:detach-forced`), or closed it without one
    /// (`condition` empty).
    #[error(
        "{what} closed by the peer{}",
        condition_suffix(condition, description)
    )]
    Closed {
        /// `connection`, `session` or `link`.
        what: &'static str,
        /// The AMQP error condition (empty when the peer gave none).
        condition: String,
        /// The peer's description.
        description: Option<String>,
    },
    /// The peer refused to attach a link (e.g. an unknown address).
    #[error(
        "link to {address:?} refused{}",
        condition_suffix(condition, description)
    )]
    LinkRefused {
        /// The address asked for.
        address: String,
        /// The AMQP error condition (empty when the peer gave none).
        condition: String,
        /// The peer's description.
        description: Option<String>,
    },
    /// A CBS put-token was refused: `status_code` 401 for a wrong or expired token, 404 for an
    /// unknown device, 400 for a malformed request.
    #[error(
        "CBS put-token refused with status {status_code}{}",
        description_suffix(description)
    )]
    PutToken {
        /// The CBS `status-code`.
        status_code: i32,
        /// The CBS `status-description`.
        description: Option<String>,
    },
    /// No answer to a CBS put-token within the time limit.
    #[error("no answer to the CBS put-token")]
    PutTokenTimeout,
    /// The peer settled a sent message as `rejected`.
    #[error("message rejected{}", condition_suffix(condition, description))]
    Rejected {
        /// The AMQP error condition (empty when the peer gave none).
        condition: String,
        /// The peer's description.
        description: Option<String>,
    },
    /// The peer settled a sent message as `released` or `modified`: it was not processed.
    #[error("message not processed by the peer (outcome {outcome})")]
    NotProcessed {
        /// `released` or `modified`.
        outcome: &'static str,
    },
    /// The lock of a received message is gone: it arrived on an earlier connection (or its link
    /// was detached) and can no longer be settled; the hub delivers it again.
    #[error("message lock lost: the message arrived on a link that has since ended")]
    LockLost,
    /// SASL authentication failed (`code`: 1 auth, 2 sys, 3 sys-perm, 4 sys-temp), or the
    /// server does not offer the mechanism (`code` 0).
    #[error("SASL authentication failed (code {code})")]
    Sasl {
        /// The SASL outcome code.
        code: u8,
    },
    /// The peer broke the AMQP protocol (we closed the connection with `condition`).
    #[error("AMQP protocol error: {condition}: {description}")]
    Protocol {
        /// The condition sent in our CLOSE.
        condition: String,
        /// What was wrong.
        description: String,
    },
    /// Nothing arrived from the peer within the idle time-out.
    #[error("nothing received within the AMQP idle time-out: connection lost")]
    IdleTimeout,
    /// The protocol header, SASL and OPEN exchange did not finish in time.
    #[error("AMQP handshake timed out")]
    HandshakeTimeout,
    /// The engine refused a request (a bug or a use after close).
    #[error("AMQP request refused: {0}")]
    Command(String),
}

fn condition_suffix(condition: &str, description: &Option<String>) -> String {
    let mut s = String::new();
    if !condition.is_empty() {
        s.push_str(": ");
        s.push_str(condition);
    }
    s.push_str(&description_suffix(description));
    s
}

fn description_suffix(description: &Option<String>) -> String {
    match description {
        Some(d) if !d.is_empty() => format!(" ({d})"),
        _ => String::new(),
    }
}

/// Conditions meaning "these credentials are not good enough".
const AUTH_CONDITIONS: &[&str] = &["amqp:unauthorized-access"];

/// Conditions after which retrying cannot help.
const PERMANENT_CONDITIONS: &[&str] = &[
    "amqp:unauthorized-access",
    "amqp:not-found",
    "amqp:not-allowed",
    "amqp:not-implemented",
    "amqp:invalid-field",
    "amqp:decode-error",
    "com.microsoft:argument-error",
    "com.microsoft:argument-out-of-range",
    "com.microsoft:iot-hub-not-found-error",
    "com.microsoft:iot-hub-suspended",
];

impl AmqpError {
    /// Stable machine-readable code (the `code` of JavaScript errors): `Unauthorized`,
    /// `DeviceNotFound`, `MessageRejected`, `MessageNotProcessed`, `LockLost`, `LinkRefused`,
    /// `ConnectionClosed`, `Timeout`, `ProtocolError`, `BadRequest`, `AmqpError`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        if self.is_auth_failure() {
            return "Unauthorized";
        }
        match self {
            Self::PutToken {
                status_code: 404, ..
            } => "DeviceNotFound",
            Self::PutToken {
                status_code: 400, ..
            } => "BadRequest",
            Self::PutToken { .. } => "AmqpError",
            Self::Rejected { .. } => "MessageRejected",
            Self::NotProcessed { .. } => "MessageNotProcessed",
            Self::LockLost => "LockLost",
            Self::LinkRefused { .. } => "LinkRefused",
            Self::Closed { .. } => "ConnectionClosed",
            Self::PutTokenTimeout | Self::IdleTimeout | Self::HandshakeTimeout => "Timeout",
            Self::Protocol { .. } => "ProtocolError",
            Self::Sasl { .. } | Self::Command(_) => "AmqpError",
        }
    }

    /// The AMQP error condition the peer sent, if any.
    #[must_use]
    pub fn condition(&self) -> Option<&str> {
        match self {
            Self::Closed { condition, .. }
            | Self::LinkRefused { condition, .. }
            | Self::Rejected { condition, .. }
            | Self::Protocol { condition, .. }
                if !condition.is_empty() =>
            {
                Some(condition)
            }
            _ => None,
        }
    }

    /// Whether the peer refused the credentials: CBS 401/403, SASL `auth`, or the condition
    /// `amqp:unauthorized-access`.
    #[must_use]
    pub fn is_auth_failure(&self) -> bool {
        match self {
            Self::PutToken { status_code, .. } => matches!(status_code, 401 | 403),
            Self::Sasl { code } => *code == 1,
            _ => self
                .condition()
                .is_some_and(|c| AUTH_CONDITIONS.contains(&c)),
        }
    }

    /// Whether reconnecting could help: connection losses, time-outs, server-side errors and
    /// throttling are transient; refused credentials, unknown devices and refused links are not.
    #[must_use]
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Closed { condition, .. } => !PERMANENT_CONDITIONS.contains(&condition.as_str()),
            Self::PutToken { status_code, .. } => *status_code == 429 || *status_code >= 500,
            Self::PutTokenTimeout
            | Self::IdleTimeout
            | Self::HandshakeTimeout
            | Self::Protocol { .. } => true,
            Self::Sasl { code } => matches!(code, 2 | 4),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // Also run in the browser suite (the scripts run this crate's tests only on wasm32).
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn closed(condition: &str) -> AmqpError {
        AmqpError::Closed {
            what: "link",
            condition: condition.into(),
            description: Some("why".into()),
        }
    }

    #[test]
    fn seconds_print_like_f64_seconds() {
        for d in [
            Duration::ZERO,
            Duration::from_secs(1500),
            Duration::from_millis(2500),
            Duration::from_millis(1),
            Duration::from_nanos(1_000_000_007),
            Duration::from_secs_f64(0.3),
        ] {
            assert_eq!(Secs(d).to_string(), d.as_secs_f64().to_string(), "{d:?}");
        }
    }

    #[test]
    fn amqp_refused_tokens_are_auth_failures_and_final() {
        for status in [401, 403] {
            let e = ClientError::Amqp(AmqpError::PutToken {
                status_code: status,
                description: None,
            });
            assert!(e.is_auth_failure() && !e.is_transient(), "{status}");
            assert_eq!(e.code(), "Unauthorized");
        }
        let e = AmqpError::PutToken {
            status_code: 404,
            description: Some("no such device".into()),
        };
        assert_eq!(e.code(), "DeviceNotFound");
        assert!(!e.is_transient());
        assert!(e.to_string().contains("404") && e.to_string().contains("no such device"));
        let busy = AmqpError::PutToken {
            status_code: 503,
            description: None,
        };
        assert!(busy.is_transient() && !busy.is_auth_failure());
        assert!(closed("amqp:unauthorized-access").is_auth_failure());
        assert!(AmqpError::Sasl { code: 1 }.is_auth_failure());
        assert!(AmqpError::Sasl { code: 4 }.is_transient());
    }

    #[test]
    fn amqp_conditions_decide_retries() {
        assert!(closed("amqp:link:detach-forced").is_transient());
        assert!(
            closed("").is_transient(),
            "a plain close by the peer is retried"
        );
        assert!(closed("com.microsoft:device-container-throttled").is_transient());
        assert!(!closed("amqp:not-found").is_transient());
        assert!(!closed("amqp:unauthorized-access").is_transient());
        assert_eq!(closed("amqp:link:detach-forced").code(), "ConnectionClosed");
        assert_eq!(closed("").condition(), None);
        assert_eq!(closed("amqp:not-found").condition(), Some("amqp:not-found"));
        assert!(AmqpError::IdleTimeout.is_transient());
        assert_eq!(AmqpError::IdleTimeout.code(), "Timeout");
        assert!(!AmqpError::LockLost.is_transient());
        assert_eq!(SettleError::Amqp(AmqpError::LockLost).code(), "LockLost");
    }

    #[test]
    fn amqp_outcomes_have_codes_and_readable_messages() {
        let e = SendError::Amqp(AmqpError::Rejected {
            condition: "amqp:link:message-size-exceeded".into(),
            description: Some("too big".into()),
        });
        assert_eq!(e.code(), "MessageRejected");
        assert_eq!(
            e.to_string(),
            "message rejected: amqp:link:message-size-exceeded (too big)"
        );
        let e = SendError::Amqp(AmqpError::NotProcessed {
            outcome: "released",
        });
        assert_eq!(e.code(), "MessageNotProcessed");
        assert_eq!(
            SendError::InvalidMessage { reason: "x".into() }.code(),
            "InvalidMessage"
        );
        let e = OptionsError::HostMismatch {
            expected: "a".into(),
            found: "b".into(),
        };
        assert!(e.to_string().contains("\"b\"") && e.to_string().contains("\"a\""));
    }
}
