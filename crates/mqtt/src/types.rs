//! Validated value types shared by the codec and both protocol cores.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::num::NonZeroU16;

use bytes::Bytes;

use crate::error::{StringError, TopicError};

/// A non-zero MQTT packet identifier.
///
/// MQTT-2.3.1-1: SUBSCRIBE, UNSUBSCRIBE and PUBLISH (QoS > 0) packets MUST contain a non-zero
/// 16-bit packet identifier. Using `NonZeroU16` makes the "unset" sentinel `0` unrepresentable.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PacketId(NonZeroU16);

impl PacketId {
    /// Packet identifier 1, the first one a fresh connection allocates.
    pub const MIN: Self = Self(NonZeroU16::MIN);

    /// Wraps `id`; `None` for 0.
    #[must_use]
    pub const fn new(id: u16) -> Option<Self> {
        match NonZeroU16::new(id) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// The numeric value (never 0).
    #[must_use]
    pub const fn get(self) -> u16 {
        self.0.get()
    }

    /// The identifier after this one, wrapping from 65535 to 1.
    #[must_use]
    pub const fn next(self) -> Self {
        match NonZeroU16::new(self.0.get().wrapping_add(1)) {
            Some(v) => Self(v),
            None => Self::MIN,
        }
    }
}

impl From<PacketId> for u16 {
    fn from(id: PacketId) -> Self {
        id.get()
    }
}

impl From<NonZeroU16> for PacketId {
    fn from(id: NonZeroU16) -> Self {
        Self(id)
    }
}

impl fmt::Debug for PacketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PacketId({})", self.get())
    }
}

impl fmt::Display for PacketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.get(), f)
    }
}

/// Quality of service level. The wire value 3 is invalid and has no representation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum QoS {
    /// QoS 0: fire and forget.
    #[default]
    AtMostOnce = 0,
    /// QoS 1: acknowledged with PUBACK, may be delivered more than once.
    AtLeastOnce = 1,
    /// QoS 2: four-way handshake. Encoded and decoded by the codec, refused by both cores
    /// (IoT Hub closes the connection on QoS 2).
    ExactlyOnce = 2,
}

impl QoS {
    /// Parses a wire value; `None` for 3 and above.
    #[must_use]
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::AtMostOnce),
            1 => Some(Self::AtLeastOnce),
            2 => Some(Self::ExactlyOnce),
            _ => None,
        }
    }

    /// The wire value.
    #[must_use]
    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}

/// The 14 MQTT 3.1.1 control packet types (upper nibble of the first byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// Client request to connect.
    Connect = 1,
    /// Connect acknowledgement.
    ConnAck = 2,
    /// Publish message.
    Publish = 3,
    /// QoS 1 publish acknowledgement.
    PubAck = 4,
    /// QoS 2 publish received.
    PubRec = 5,
    /// QoS 2 publish release.
    PubRel = 6,
    /// QoS 2 publish complete.
    PubComp = 7,
    /// Subscribe request.
    Subscribe = 8,
    /// Subscribe acknowledgement.
    SubAck = 9,
    /// Unsubscribe request.
    Unsubscribe = 10,
    /// Unsubscribe acknowledgement.
    UnsubAck = 11,
    /// Ping request.
    PingReq = 12,
    /// Ping response.
    PingResp = 13,
    /// Client is disconnecting.
    Disconnect = 14,
}

impl PacketType {
    /// Parses the upper nibble value; `None` for the reserved values 0 and 15.
    #[must_use]
    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            1 => Self::Connect,
            2 => Self::ConnAck,
            3 => Self::Publish,
            4 => Self::PubAck,
            5 => Self::PubRec,
            6 => Self::PubRel,
            7 => Self::PubComp,
            8 => Self::Subscribe,
            9 => Self::SubAck,
            10 => Self::Unsubscribe,
            11 => Self::UnsubAck,
            12 => Self::PingReq,
            13 => Self::PingResp,
            14 => Self::Disconnect,
            _ => return None,
        })
    }

    /// The wire value (1–14).
    #[must_use]
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// The fixed-header flag bits (lower nibble) MQTT 3.1.1 requires for this type; PUBLISH has
    /// variable flags and returns `None`.
    #[must_use]
    pub const fn required_flags(self) -> Option<u8> {
        match self {
            Self::Publish => None,
            // MQTT-3.6.1-1, MQTT-3.8.1-1, MQTT-3.10.1-1: these carry 0b0010.
            Self::PubRel | Self::Subscribe | Self::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }
}

const SWAR_ONES: u64 = 0x0101_0101_0101_0101;
const SWAR_HIGHS: u64 = 0x8080_8080_8080_8080;

/// Fast path of the string checks, eight bytes at a time: `true` when `bytes` is all ASCII
/// (hence valid UTF-8) with no NUL and, if `no_wildcards`, no `+` or `#`. `false` does not
/// mean invalid, only that the exact byte-wise checks must decide (and pick the error).
///
/// Topics are validated on every decoded PUBLISH; a byte-at-a-time scan for three
/// separate conditions was the largest cost of decoding one.
#[inline]
fn is_plain_ascii(bytes: &[u8], no_wildcards: bool) -> bool {
    // Per 64-bit word `w`, the high bit of some byte of the accumulated value is set iff:
    // * `(w - ONES) | w`: some byte is >= 0x80, or is 0 (a zero byte borrows and becomes 0xff;
    //   without a zero byte nothing borrows and ASCII bytes stay below 0x80);
    // * `y - ONES` with `y = (w & !0x08..) ^ 0x23..`: for ASCII `w`, a byte of `y` is zero iff
    //   the byte is `#` (0x23) or `+` (0x2b), which differ only in bit 3; same borrow argument.
    // Non-ASCII words are flagged by the first term whatever the second computes.
    const NO_BIT3: u64 = SWAR_ONES * 0xf7;
    const HASH: u64 = SWAR_ONES * b'#' as u64;
    let word_bad = |w: u64| {
        let mut bad = w.wrapping_sub(SWAR_ONES) | w;
        if no_wildcards {
            bad |= ((w & NO_BIT3) ^ HASH).wrapping_sub(SWAR_ONES);
        }
        bad
    };
    let mut bad = 0u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        bad |= word_bad(u64::from_le_bytes(word));
    }
    if !chunks.remainder().is_empty() {
        // The tail: the last eight bytes when there are that many (re-checking a few bytes
        // is harmless and avoids a variable-length copy), else byte by byte.
        match bytes
            .len()
            .checked_sub(8)
            .and_then(|start| bytes.get(start..))
        {
            Some(last) => {
                let mut word = [0u8; 8];
                word.copy_from_slice(last);
                bad |= word_bad(u64::from_le_bytes(word));
            }
            None => {
                for &b in chunks.remainder() {
                    bad |= word_bad(u64::from(b) | ((SWAR_ONES * u64::from(b'a')) & !0xff));
                }
            }
        }
    }
    bad & SWAR_HIGHS == 0
}

/// Checks the MQTT UTF-8 string rules (MQTT 1.5.3) and returns the validated bytes.
///
/// Rust's UTF-8 validation already rejects encoded surrogates (MQTT-1.5.3-1); U+0000 is rejected
/// separately (MQTT-1.5.3-2).
fn check_mqtt_str(bytes: &[u8]) -> Result<(), StringError> {
    if bytes.len() > usize::from(u16::MAX) {
        return Err(StringError::TooLong(bytes.len()));
    }
    if is_plain_ascii(bytes, false) {
        return Ok(());
    }
    if core::str::from_utf8(bytes).is_err() {
        return Err(StringError::InvalidUtf8);
    }
    if bytes.contains(&0) {
        return Err(StringError::NullCharacter);
    }
    Ok(())
}

/// A UTF-8 string that satisfies the MQTT rules: at most 65535 bytes, valid UTF-8 (hence no
/// surrogates), no U+0000. Backed by [`Bytes`], so decoding and cloning do not copy.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MqttString(Bytes);

impl MqttString {
    /// Validates and wraps bytes without copying them.
    pub fn from_bytes(bytes: Bytes) -> Result<Self, StringError> {
        check_mqtt_str(&bytes)?;
        Ok(Self(bytes))
    }

    /// Validates and copies `s`.
    pub fn new(s: &str) -> Result<Self, StringError> {
        Self::from_bytes(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// Validates a static string without copying it.
    pub fn from_static(s: &'static str) -> Result<Self, StringError> {
        Self::from_bytes(Bytes::from_static(s.as_bytes()))
    }

    /// The empty string.
    #[must_use]
    pub const fn empty() -> Self {
        Self(Bytes::new())
    }

    /// The string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        // The bytes were validated on construction; without `unsafe` the check is repeated,
        // and it cannot fail.
        core::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The backing buffer.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the string is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for MqttString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for MqttString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for MqttString {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for MqttString {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for MqttString {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl TryFrom<&str> for MqttString {
    type Error = StringError;
    fn try_from(s: &str) -> Result<Self, StringError> {
        Self::new(s)
    }
}

impl TryFrom<String> for MqttString {
    type Error = StringError;
    fn try_from(s: String) -> Result<Self, StringError> {
        Self::from_bytes(Bytes::from(s))
    }
}

impl TryFrom<Bytes> for MqttString {
    type Error = StringError;
    fn try_from(b: Bytes) -> Result<Self, StringError> {
        Self::from_bytes(b)
    }
}

fn string_to_topic_error(e: StringError) -> TopicError {
    match e {
        StringError::TooLong(n) => TopicError::TooLong(n),
        StringError::InvalidUtf8 => TopicError::InvalidUtf8,
        StringError::NullCharacter => TopicError::NullCharacter,
    }
}

/// Checks a topic name: MQTT string rules, non-empty (MQTT-4.7.3-1), no `+`/`#` (MQTT-3.3.2-2).
fn check_topic_name(bytes: &[u8]) -> Result<(), TopicError> {
    if bytes.is_empty() {
        return Err(TopicError::Empty);
    }
    if bytes.len() <= usize::from(u16::MAX) && is_plain_ascii(bytes, true) {
        return Ok(());
    }
    check_mqtt_str(bytes).map_err(string_to_topic_error)?;
    if bytes.iter().any(|&b| b == b'+' || b == b'#') {
        return Err(TopicError::Wildcard);
    }
    Ok(())
}

/// Checks a topic filter: MQTT string rules, non-empty, and the wildcard rules of MQTT 4.7.1:
/// `#` only as the whole last level (MQTT-4.7.1-2), `+` only as a whole level (MQTT-4.7.1-3).
fn check_topic_filter(bytes: &[u8]) -> Result<(), TopicError> {
    if bytes.is_empty() {
        return Err(TopicError::Empty);
    }
    check_mqtt_str(bytes).map_err(string_to_topic_error)?;
    let mut levels = bytes.split(|&b| b == b'/').peekable();
    while let Some(level) = levels.next() {
        let is_last = levels.peek().is_none();
        for &b in level {
            let whole_level = level.len() == 1;
            match b {
                b'#' if !(whole_level && is_last) => return Err(TopicError::MisplacedWildcard),
                b'+' if !whole_level => return Err(TopicError::MisplacedWildcard),
                _ => {}
            }
        }
    }
    Ok(())
}

/// A topic name as used in PUBLISH: a non-empty MQTT string without wildcards.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicName(MqttString);

impl TopicName {
    /// Validates and wraps bytes without copying them.
    pub fn from_bytes(bytes: Bytes) -> Result<Self, TopicError> {
        check_topic_name(&bytes)?;
        Ok(Self(MqttString(bytes)))
    }

    /// Validates and copies `s`.
    pub fn new(s: &str) -> Result<Self, TopicError> {
        check_topic_name(s.as_bytes())?;
        Ok(Self(MqttString(Bytes::copy_from_slice(s.as_bytes()))))
    }

    /// Validates a static string without copying it.
    pub fn from_static(s: &'static str) -> Result<Self, TopicError> {
        Self::from_bytes(Bytes::from_static(s.as_bytes()))
    }

    /// The topic.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The UTF-8 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The backing buffer.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: topic names are non-empty. Present for API symmetry with `len`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for TopicName {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for TopicName {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for TopicName {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl TryFrom<&str> for TopicName {
    type Error = TopicError;
    fn try_from(s: &str) -> Result<Self, TopicError> {
        Self::new(s)
    }
}

impl TryFrom<String> for TopicName {
    type Error = TopicError;
    fn try_from(s: String) -> Result<Self, TopicError> {
        Self::from_bytes(Bytes::from(s))
    }
}

impl TryFrom<Bytes> for TopicName {
    type Error = TopicError;
    fn try_from(b: Bytes) -> Result<Self, TopicError> {
        Self::from_bytes(b)
    }
}

/// A topic filter as used in SUBSCRIBE/UNSUBSCRIBE: a non-empty MQTT string whose wildcards
/// follow MQTT 4.7.1.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicFilter(MqttString);

impl TopicFilter {
    /// Validates and wraps bytes without copying them.
    pub fn from_bytes(bytes: Bytes) -> Result<Self, TopicError> {
        check_topic_filter(&bytes)?;
        Ok(Self(MqttString(bytes)))
    }

    /// Validates and copies `s`.
    pub fn new(s: &str) -> Result<Self, TopicError> {
        check_topic_filter(s.as_bytes())?;
        Ok(Self(MqttString(Bytes::copy_from_slice(s.as_bytes()))))
    }

    /// Validates a static string without copying it.
    pub fn from_static(s: &'static str) -> Result<Self, TopicError> {
        Self::from_bytes(Bytes::from_static(s.as_bytes()))
    }

    /// The filter.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The UTF-8 bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The backing buffer.
    #[must_use]
    pub fn into_bytes(self) -> Bytes {
        self.0.into_bytes()
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Always `false`: topic filters are non-empty. Present for API symmetry with `len`.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the filter contains `+` or `#`.
    #[must_use]
    pub fn has_wildcards(&self) -> bool {
        self.as_bytes().iter().any(|&b| b == b'+' || b == b'#')
    }

    /// Whether `topic` matches this filter (MQTT 4.7). A topic starting with `$` is not matched
    /// by a filter starting with a wildcard (MQTT-4.7.2-1).
    #[must_use]
    pub fn matches(&self, topic: &TopicName) -> bool {
        let filter = self.as_bytes();
        let name = topic.as_bytes();
        if name.first() == Some(&b'$') && matches!(filter.first(), Some(b'+' | b'#')) {
            return false;
        }
        let mut f_levels = filter.split(|&b| b == b'/');
        let mut t_levels = name.split(|&b| b == b'/');
        loop {
            match (f_levels.next(), t_levels.next()) {
                // `#` also matches the parent level ("a/#" matches "a").
                (Some(b"#"), _) => return true,
                (Some(b"+"), Some(_)) => {}
                (Some(f), Some(t)) if f == t => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }
}

impl fmt::Debug for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for TopicFilter {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for TopicFilter {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for TopicFilter {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl TryFrom<&str> for TopicFilter {
    type Error = TopicError;
    fn try_from(s: &str) -> Result<Self, TopicError> {
        Self::new(s)
    }
}

impl TryFrom<String> for TopicFilter {
    type Error = TopicError;
    fn try_from(s: String) -> Result<Self, TopicError> {
        Self::from_bytes(Bytes::from(s))
    }
}

impl TryFrom<Bytes> for TopicFilter {
    type Error = TopicError;
    fn try_from(b: Bytes) -> Result<Self, TopicError> {
        Self::from_bytes(b)
    }
}

impl From<TopicName> for TopicFilter {
    /// A topic name is a valid filter that matches only itself.
    fn from(t: TopicName) -> Self {
        Self(t.0)
    }
}

/// The CONNECT password: binary data that never appears in `Debug` output.
///
/// Its length (at most 65535 bytes) is checked when the CONNECT is encoded.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Password(Bytes);

impl Password {
    /// Wraps password bytes (a SAS token for IoT Hub).
    #[must_use]
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        Self(bytes.into())
    }

    /// The secret bytes. Do not log them.
    #[must_use]
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the password is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

impl From<Bytes> for Password {
    fn from(b: Bytes) -> Self {
        Self(b)
    }
}

impl From<Vec<u8>> for Password {
    fn from(b: Vec<u8>) -> Self {
        Self(Bytes::from(b))
    }
}

impl From<String> for Password {
    fn from(s: String) -> Self {
        Self(Bytes::from(s))
    }
}

impl From<&str> for Password {
    fn from(s: &str) -> Self {
        Self(Bytes::copy_from_slice(s.as_bytes()))
    }
}

/// CONNACK return code (MQTT 3.2.2.3). Values 6–255 are reserved and rejected by the decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ConnectReturnCode {
    /// 0x00 Connection accepted.
    Accepted = 0,
    /// 0x01 The server does not support the requested protocol level.
    UnacceptableProtocolVersion = 1,
    /// 0x02 The client identifier is not allowed.
    IdentifierRejected = 2,
    /// 0x03 The MQTT service is unavailable.
    ServerUnavailable = 3,
    /// 0x04 Malformed user name or password.
    BadUserNameOrPassword = 4,
    /// 0x05 Not authorized (IoT Hub: bad or expired SAS token, unknown device).
    NotAuthorized = 5,
}

impl ConnectReturnCode {
    /// Parses a wire value; `None` for reserved values.
    #[must_use]
    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0 => Self::Accepted,
            1 => Self::UnacceptableProtocolVersion,
            2 => Self::IdentifierRejected,
            3 => Self::ServerUnavailable,
            4 => Self::BadUserNameOrPassword,
            5 => Self::NotAuthorized,
            _ => return None,
        })
    }

    /// The wire value.
    #[must_use]
    pub const fn as_u8(self) -> u8 {
        self as u8
    }
}

impl fmt::Display for ConnectReturnCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Accepted => "connection accepted",
            Self::UnacceptableProtocolVersion => "unacceptable protocol version",
            Self::IdentifierRejected => "identifier rejected",
            Self::ServerUnavailable => "server unavailable",
            Self::BadUserNameOrPassword => "bad user name or password",
            Self::NotAuthorized => "not authorized",
        })
    }
}

/// One SUBACK return code: the granted QoS, or failure (0x80).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SubscribeReturnCode {
    /// The subscription was accepted with this maximum QoS.
    Success(QoS),
    /// 0x80: the subscription was refused.
    Failure,
}

impl SubscribeReturnCode {
    /// Parses a wire value; `None` for anything but 0x00, 0x01, 0x02 and 0x80.
    #[must_use]
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0x80 => Some(Self::Failure),
            _ => match QoS::from_u8(v) {
                Some(q) => Some(Self::Success(q)),
                None => None,
            },
        }
    }

    /// The wire value.
    #[must_use]
    pub const fn as_u8(self) -> u8 {
        match self {
            Self::Success(q) => q.as_u8(),
            Self::Failure => 0x80,
        }
    }
}

/// Per-connection traffic counters (the product shows bytes on the wire).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Bytes handed out by `poll_transmit` since the connection started.
    pub bytes_sent: u64,
    /// Bytes passed to `handle_bytes` since the connection started.
    pub bytes_received: u64,
    /// Complete packets queued for sending.
    pub packets_sent: u64,
    /// Complete packets decoded.
    pub packets_received: u64,
}
