//! Connection, session, link and SASL settings.

use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use crate::definitions::{Fields, ReceiverSettleMode, SenderSettleMode};
use crate::messaging::{Source, Target};
use crate::types::{Str, Symbol};

/// The max-message-size a link advertises and enforces on incoming messages unless told
/// otherwise: 1 MiB, what IoT Hub advertises on its links.
pub const DEFAULT_MAX_MESSAGE_SIZE: u64 = 1024 * 1024;

/// Settings of one connection endpoint: what it advertises in its OPEN and the timers it keeps.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionConfig {
    /// `container-id` (caller-chosen: the engine draws no random numbers).
    pub container_id: Str,
    /// `hostname` sent in the OPEN and, for a client, in the SASL init (the IoT Hub host name).
    pub hostname: Option<Str>,
    /// The largest frame this endpoint accepts (advertised as `max-frame-size`; at least 512).
    /// Default 65536.
    pub max_frame_size: u32,
    /// The highest channel this endpoint accepts (`channel-max`). Default 255.
    pub channel_max: u16,
    /// `idle-time-out`: the peer is declared dead when nothing arrives for this long. `None`
    /// (or zero): no limit. Default 240 s, the IoT Hub value.
    pub idle_time_out: Option<Duration>,
    /// `properties` of the OPEN.
    pub properties: Option<Fields>,
    /// `offered-capabilities` of the OPEN.
    pub offered_capabilities: Vec<Symbol>,
    /// `desired-capabilities` of the OPEN.
    pub desired_capabilities: Vec<Symbol>,
    /// How long the header, SASL and OPEN exchange may take. Default 30 s.
    pub handshake_timeout: Option<Duration>,
    /// How long to wait for the peer's CLOSE after sending ours. Default 30 s.
    pub close_timeout: Option<Duration>,
    /// The session settings used when answering a session the peer begins.
    pub session: SessionOptions,
}

impl ConnectionConfig {
    /// Defaults with a container id.
    #[must_use]
    pub fn new(container_id: impl Into<Str>) -> Self {
        Self {
            container_id: container_id.into(),
            hostname: None,
            max_frame_size: 65536,
            channel_max: 255,
            idle_time_out: Some(Duration::from_secs(240)),
            properties: None,
            offered_capabilities: Vec::new(),
            desired_capabilities: Vec::new(),
            handshake_timeout: Some(Duration::from_secs(30)),
            close_timeout: Some(Duration::from_secs(30)),
            session: SessionOptions::default(),
        }
    }

    /// The values IoT Hub puts in its OPEN (iothub-protocols §5.3): max-frame-size 65536,
    /// channel-max 8191, idle-time-out 240000 ms, hostname `localhost`; sessions answered with
    /// incoming-window 5000.
    #[must_use]
    pub fn iot_hub(container_id: impl Into<Str>) -> Self {
        Self {
            hostname: Some(Str::from_static("localhost")),
            channel_max: 8191,
            ..Self::new(container_id)
        }
    }
}

/// Settings of one session (AMQP 2.5).
#[derive(Clone, Debug, PartialEq)]
pub struct SessionOptions {
    /// How many transfer frames the peer may send before we widen the window again
    /// (`incoming-window`). The engine tops it up when half is used. Default 5000.
    pub incoming_window: u32,
    /// `outgoing-window` advertised (informational: the engine sends whenever the peer's
    /// incoming window allows). Default 5000.
    pub outgoing_window: u32,
    /// The highest link handle the peer may use (`handle-max`). Default 4095.
    pub handle_max: u32,
    /// `properties` of the BEGIN.
    pub properties: Option<Fields>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        Self {
            incoming_window: 5000,
            outgoing_window: 5000,
            handle_max: 4095,
            properties: None,
        }
    }
}

/// Settings of one link (AMQP 2.6), for attaching it or for answering the peer's attach.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkOptions {
    /// Link name (ignored when answering: the peer's name is used).
    pub name: Str,
    /// `source` (when answering: `None` mirrors the peer's).
    pub source: Option<Source>,
    /// `target` (when answering: `None` mirrors the peer's).
    pub target: Option<Target>,
    /// `snd-settle-mode`. `None`: mixed when attaching, the peer's when answering.
    pub snd_settle_mode: Option<SenderSettleMode>,
    /// `rcv-settle-mode`. `None`: first when attaching, the peer's when answering. The engine
    /// settles incoming deliveries in mode first.
    pub rcv_settle_mode: Option<ReceiverSettleMode>,
    /// `max-message-size` advertised; a receiver detaches the link with
    /// `amqp:link:message-size-exceeded` when an incoming message grows beyond it. `None`: no
    /// limit. Default [`DEFAULT_MAX_MESSAGE_SIZE`].
    pub max_message_size: Option<u64>,
    /// Receivers: the credit granted once attached. Default 100 (the IoT Hub value).
    pub credit: u32,
    /// Receivers: top the credit up to `credit` whenever half of it is used. Default `true`.
    pub auto_credit: bool,
    /// `properties` (IoT Hub: `com.microsoft:client-version`, `com.microsoft:api-version`,
    /// `com.microsoft:channel-correlation-id`).
    pub properties: Option<Fields>,
    /// `offered-capabilities`.
    pub offered_capabilities: Vec<Symbol>,
    /// `desired-capabilities`.
    pub desired_capabilities: Vec<Symbol>,
}

impl LinkOptions {
    /// Defaults with a name and no termini.
    #[must_use]
    pub fn new(name: impl Into<Str>) -> Self {
        Self {
            name: name.into(),
            source: None,
            target: None,
            snd_settle_mode: None,
            rcv_settle_mode: None,
            max_message_size: Some(DEFAULT_MAX_MESSAGE_SIZE),
            credit: 100,
            auto_credit: true,
            properties: None,
            offered_capabilities: Vec::new(),
            desired_capabilities: Vec::new(),
        }
    }

    /// A sending link to `address` (the target).
    #[must_use]
    pub fn sender(name: impl Into<Str>, address: impl Into<Str>) -> Self {
        Self {
            target: Some(Target::with_address(address)),
            ..Self::new(name)
        }
    }

    /// A receiving link from `address` (the source).
    #[must_use]
    pub fn receiver(name: impl Into<Str>, address: impl Into<Str>) -> Self {
        Self {
            source: Some(Source::with_address(address)),
            ..Self::new(name)
        }
    }
}

impl Default for LinkOptions {
    fn default() -> Self {
        Self::new(Str::default())
    }
}

/// How a client authenticates at the SASL layer (AMQP 5.3; iothub-protocols §5.2).
#[derive(Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ClientSasl {
    /// No SASL layer: the AMQP header straight away (the Node SDK's way; CBS follows).
    #[default]
    None,
    /// `ANONYMOUS` (CBS follows).
    Anonymous,
    /// `MSSBCBS`, IoT Hub's "CBS follows" mechanism, with an empty initial response.
    MsSbCbs,
    /// `PLAIN` (RFC 4616) with an empty authorization id. For IoT Hub: user
    /// `{deviceId}@sas.{hubName}`, password = a SAS token. `Debug` redacts the password.
    Plain {
        /// The authentication id.
        username: Str,
        /// The password.
        password: Str,
    },
}

impl ClientSasl {
    /// `PLAIN` with these credentials.
    #[must_use]
    pub fn plain(username: impl Into<Str>, password: impl Into<Str>) -> Self {
        Self::Plain {
            username: username.into(),
            password: password.into(),
        }
    }

    /// The mechanism name, or `None` without SASL.
    #[must_use]
    pub fn mechanism(&self) -> Option<Symbol> {
        match self {
            Self::None => None,
            Self::Anonymous => Some(Symbol::ascii("ANONYMOUS")),
            Self::MsSbCbs => Some(Symbol::ascii("MSSBCBS")),
            Self::Plain { .. } => Some(Symbol::ascii("PLAIN")),
        }
    }
}

impl fmt::Debug for ClientSasl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::None => f.write_str("None"),
            Self::Anonymous => f.write_str("Anonymous"),
            Self::MsSbCbs => f.write_str("MsSbCbs"),
            Self::Plain { username, password } => f
                .debug_struct("Plain")
                .field("username", username)
                .field(
                    "password",
                    &format_args!("<redacted, {} bytes>", password.len()),
                )
                .finish(),
        }
    }
}

/// What a server offers at the SASL layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerSasl {
    /// Mechanisms advertised in `sasl-mechanisms`, in preference order. Empty: SASL is not
    /// offered. `PLAIN` credentials are put to the host
    /// ([`Event::SaslPlain`](super::Event::SaslPlain)); the other mechanisms (`ANONYMOUS`,
    /// `MSSBCBS`, `EXTERNAL`, …) are accepted as soon as the client picks them.
    pub mechanisms: Vec<Symbol>,
    /// Accept a client that sends the AMQP header straight away, without SASL.
    pub allow_no_sasl: bool,
}

impl ServerSasl {
    /// What IoT Hub accepts from devices: `MSSBCBS`, `ANONYMOUS`, `PLAIN`, and no SASL.
    #[must_use]
    pub fn iot_hub() -> Self {
        Self {
            mechanisms: alloc::vec![
                Symbol::ascii("MSSBCBS"),
                Symbol::ascii("ANONYMOUS"),
                Symbol::ascii("PLAIN"),
            ],
            allow_no_sasl: true,
        }
    }

    /// No SASL layer at all: only the plain AMQP header is accepted.
    #[must_use]
    pub fn none() -> Self {
        Self {
            mechanisms: Vec::new(),
            allow_no_sasl: true,
        }
    }
}

impl Default for ServerSasl {
    fn default() -> Self {
        Self::iot_hub()
    }
}
