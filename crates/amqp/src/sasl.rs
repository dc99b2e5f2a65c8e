//! SASL frame bodies (AMQP 1.0 §5.3).
//!
//! Initial responses and responses carry credentials (SASL PLAIN passwords, SAS tokens): their
//! `Debug` output shows only their length.

use alloc::vec::Vec;
use core::fmt;

use bytes::Bytes;

use crate::codes::{descriptor, format_code as fc};
use crate::error::{DecodeError, EncodeError};
use crate::read::{Dec, Reader};
use crate::types::{Str, Symbol};
use crate::write::{Enc, EncodeBuf};

/// The outcome code of a SASL exchange (AMQP 5.3.3.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SaslCode {
    /// Authentication succeeded.
    #[default]
    Ok,
    /// Failed due to an unspecified problem with the supplied credentials.
    Auth,
    /// Failed due to a system error.
    Sys,
    /// Failed due to an unrecoverable system error.
    SysPerm,
    /// Failed due to a transient system error.
    SysTemp,
}

impl SaslCode {
    /// The wire value.
    #[must_use]
    pub fn as_u8(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Auth => 1,
            Self::Sys => 2,
            Self::SysPerm => 3,
            Self::SysTemp => 4,
        }
    }
}

impl Enc for SaslCode {
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
        self.as_u8().enc(w)
    }
}

impl Dec for SaslCode {
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(match u8::decode_code(code, r)? {
            0 => Self::Ok,
            1 => Self::Auth,
            2 => Self::Sys,
            3 => Self::SysPerm,
            4 => Self::SysTemp,
            n => {
                return Err(DecodeError::InvalidEnumValue {
                    ty: "sasl-code",
                    value: u64::from(n),
                })
            }
        })
    }
}

composite! {
    /// `sasl-mechanisms` (AMQP 5.3.3.1): the mechanisms the server supports.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct SaslMechanisms (descriptor::SASL_MECHANISMS, "sasl-mechanisms") {
        /// `sasl-server-mechanisms`: at least one mechanism.
        sasl_server_mechanisms: reqmulti Symbol,
    }
}

composite! {
    /// `sasl-init` (AMQP 5.3.3.2): the mechanism chosen by the client and its initial
    /// response. `Debug` redacts the response.
    #[derive(Clone, PartialEq, Eq)]
    pub struct SaslInit (descriptor::SASL_INIT, "sasl-init") {
        /// `mechanism`: the chosen mechanism (`ANONYMOUS`, `PLAIN`, `MSSBCBS`, …).
        mechanism: req Symbol,
        /// `initial-response`: security response data (for PLAIN: `authzid NUL authcid NUL
        /// password`).
        initial_response: opt Bytes,
        /// `hostname`: the name of the target host.
        hostname: opt Str,
    }
}

composite! {
    /// `sasl-challenge` (AMQP 5.3.3.3). `Debug` shows only the length.
    #[derive(Clone, PartialEq, Eq)]
    pub struct SaslChallenge (descriptor::SASL_CHALLENGE, "sasl-challenge") {
        /// `challenge`: security challenge data.
        challenge: req Bytes,
    }
}

composite! {
    /// `sasl-response` (AMQP 5.3.3.4). `Debug` redacts the response.
    #[derive(Clone, PartialEq, Eq)]
    pub struct SaslResponse (descriptor::SASL_RESPONSE, "sasl-response") {
        /// `response`: security response data.
        response: req Bytes,
    }
}

composite! {
    /// `sasl-outcome` (AMQP 5.3.3.5): the result of the exchange.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct SaslOutcome (descriptor::SASL_OUTCOME, "sasl-outcome") {
        /// `code`: the outcome.
        code: req SaslCode,
        /// `additional-data`: additional data on success.
        additional_data: opt Bytes,
    }
}

impl SaslInit {
    /// `ANONYMOUS` without an initial response.
    #[must_use]
    pub fn anonymous() -> Self {
        Self {
            mechanism: Symbol::ascii("ANONYMOUS"),
            initial_response: None,
            hostname: None,
        }
    }

    /// `PLAIN` (RFC 4616) with an empty authorization id: the response is
    /// `NUL user NUL password`.
    #[must_use]
    pub fn plain(user: &str, password: &str) -> Self {
        let mut resp = Vec::with_capacity(user.len() + password.len() + 2);
        resp.push(0);
        resp.extend_from_slice(user.as_bytes());
        resp.push(0);
        resp.extend_from_slice(password.as_bytes());
        Self {
            mechanism: Symbol::ascii("PLAIN"),
            initial_response: Some(Bytes::from(resp)),
            hostname: None,
        }
    }
}

impl fmt::Debug for SaslInit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslInit")
            .field("mechanism", &self.mechanism)
            .field(
                "initial_response",
                &self.initial_response.as_ref().map(|r| Redacted(r.len())),
            )
            .field("hostname", &self.hostname)
            .finish()
    }
}

impl fmt::Debug for SaslChallenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslChallenge")
            .field("challenge", &Redacted(self.challenge.len()))
            .finish()
    }
}

impl fmt::Debug for SaslResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SaslResponse")
            .field("response", &Redacted(self.response.len()))
            .finish()
    }
}

/// Prints `<redacted, N bytes>`.
struct Redacted(usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<redacted, {} bytes>", self.0)
    }
}

/// The body of a SASL frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaslFrame {
    /// `sasl-mechanisms` (server → client).
    Mechanisms(SaslMechanisms),
    /// `sasl-init` (client → server).
    Init(SaslInit),
    /// `sasl-challenge` (server → client).
    Challenge(SaslChallenge),
    /// `sasl-response` (client → server).
    Response(SaslResponse),
    /// `sasl-outcome` (server → client).
    Outcome(SaslOutcome),
}

impl From<SaslMechanisms> for SaslFrame {
    fn from(x: SaslMechanisms) -> Self {
        Self::Mechanisms(x)
    }
}

impl From<SaslInit> for SaslFrame {
    fn from(x: SaslInit) -> Self {
        Self::Init(x)
    }
}

impl From<SaslChallenge> for SaslFrame {
    fn from(x: SaslChallenge) -> Self {
        Self::Challenge(x)
    }
}

impl From<SaslResponse> for SaslFrame {
    fn from(x: SaslResponse) -> Self {
        Self::Response(x)
    }
}

impl From<SaslOutcome> for SaslFrame {
    fn from(x: SaslOutcome) -> Self {
        Self::Outcome(x)
    }
}

impl Enc for SaslFrame {
    fn enc<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
        match self {
            Self::Mechanisms(x) => x.enc(w),
            Self::Init(x) => x.enc(w),
            Self::Challenge(x) => x.enc(w),
            Self::Response(x) => x.enc(w),
            Self::Outcome(x) => x.enc(w),
        }
    }
}

impl Dec for SaslFrame {
    fn decode_code(code: u8, r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        const NAME: &str = "SASL frame body";
        if code != fc::DESCRIBED {
            return Err(DecodeError::UnexpectedFormatCode {
                expected: NAME,
                found: code,
            });
        }
        let d = r.descriptor()?;
        Ok(match d.code() {
            Some(descriptor::SASL_MECHANISMS) => Self::Mechanisms(SaslMechanisms::decode_list(r)?),
            Some(descriptor::SASL_INIT) => Self::Init(SaslInit::decode_list(r)?),
            Some(descriptor::SASL_CHALLENGE) => Self::Challenge(SaslChallenge::decode_list(r)?),
            Some(descriptor::SASL_RESPONSE) => Self::Response(SaslResponse::decode_list(r)?),
            Some(descriptor::SASL_OUTCOME) => Self::Outcome(SaslOutcome::decode_list(r)?),
            _ => {
                return Err(DecodeError::UnexpectedDescriptor {
                    expected: NAME,
                    found: d,
                })
            }
        })
    }
}
