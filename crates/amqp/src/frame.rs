//! Framing (AMQP 1.0 §2.2, §2.3, §5.3.1): protocol headers, AMQP and SASL frames, frame
//! encoding and the incremental [`FrameDecoder`].
//!
//! A frame is `SIZE (4) | DOFF (1) | TYPE (1) | CHANNEL (2) | extended header | body`, where
//! SIZE counts the whole frame and DOFF the header in 4-byte words (at least 2).

use bytes::{Bytes, BytesMut};

use crate::error::{DecodeError, EncodeError, FrameError};
use crate::message::Message;
use crate::performative::{
    Attach, Begin, Close, Detach, Disposition, End, Flow, Open, Performative, Transfer,
};
use crate::read::{Dec, Reader};
use crate::sasl::{SaslChallenge, SaslFrame, SaslInit, SaslMechanisms, SaslOutcome, SaslResponse};
use crate::write::{atomically, patch, Enc, EncodeBuf};

/// Size of the fixed frame header.
pub const FRAME_HEADER_SIZE: usize = 8;

/// The max-frame-size every peer must accept, and the limit before `open` is exchanged
/// (AMQP 2.4.1 `MIN-MAX-FRAME-SIZE`).
pub const MIN_MAX_FRAME_SIZE: u32 = 512;

/// The 8-byte protocol header `AMQP id major minor revision` (AMQP 2.2, 5.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProtocolHeader {
    /// Protocol id: 0 AMQP, 2 TLS, 3 SASL.
    pub id: u8,
    /// Major version (1).
    pub major: u8,
    /// Minor version (0).
    pub minor: u8,
    /// Revision (0).
    pub revision: u8,
}

impl ProtocolHeader {
    /// `AMQP 0 1 0 0`: plain AMQP 1.0.
    pub const AMQP: Self = Self::new(0);
    /// `AMQP 2 1 0 0`: TLS layer.
    pub const TLS: Self = Self::new(2);
    /// `AMQP 3 1 0 0`: SASL layer.
    pub const SASL: Self = Self::new(3);

    const fn new(id: u8) -> Self {
        Self {
            id,
            major: 1,
            minor: 0,
            revision: 0,
        }
    }

    /// The wire bytes.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 8] {
        [
            b'A',
            b'M',
            b'Q',
            b'P',
            self.id,
            self.major,
            self.minor,
            self.revision,
        ]
    }

    /// Parses eight bytes. Any version is returned as-is (answering an unsupported version with
    /// our own header is the engine's job); only the `AMQP` prefix is required.
    ///
    /// # Errors
    /// [`FrameError::InvalidProtocolHeader`] without the `AMQP` prefix.
    pub fn parse(b: [u8; 8]) -> Result<Self, FrameError> {
        if b[..4] != *b"AMQP" {
            return Err(FrameError::InvalidProtocolHeader(b));
        }
        Ok(Self {
            id: b[4],
            major: b[5],
            minor: b[6],
            revision: b[7],
        })
    }

    /// Whether this is version 1.0.0 (of any protocol id).
    #[must_use]
    pub fn is_1_0_0(&self) -> bool {
        self.major == 1 && self.minor == 0 && self.revision == 0
    }
}

/// The frame type byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FrameType {
    /// 0x00: an AMQP frame.
    Amqp,
    /// 0x01: a SASL frame.
    Sasl,
}

impl FrameType {
    /// The wire value.
    #[must_use]
    pub fn as_u8(self) -> u8 {
        match self {
            Self::Amqp => 0,
            Self::Sasl => 1,
        }
    }
}

/// An AMQP frame: a performative (none for a heartbeat) and, for `transfer`, the payload.
#[derive(Clone, Debug, PartialEq)]
pub struct AmqpFrame {
    /// The channel (session).
    pub channel: u16,
    /// The performative; `None` for an empty frame (heartbeat).
    pub performative: Option<Performative>,
    /// The bytes after the performative: message bytes of a `transfer`, otherwise empty.
    /// A zero-copy slice of the received frame.
    pub payload: Bytes,
}

impl AmqpFrame {
    /// An empty frame (heartbeat) on channel 0.
    #[must_use]
    pub fn heartbeat() -> Self {
        Self {
            channel: 0,
            performative: None,
            payload: Bytes::new(),
        }
    }
}

/// A decoded frame.
#[derive(Clone, Debug, PartialEq)]
pub enum Frame {
    /// An AMQP frame.
    Amqp(AmqpFrame),
    /// A SASL frame.
    Sasl(SaslFrame),
}

/// A frame split off the stream but not yet parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFrame {
    /// The frame type.
    pub frame_type: FrameType,
    /// The channel field (ignored for SASL frames).
    pub channel: u16,
    /// The body after the (extended) header: zero-copy.
    pub body: Bytes,
}

impl RawFrame {
    /// Parses the body.
    ///
    /// # Errors
    /// A malformed body; trailing bytes after any performative but `transfer`; an empty SASL
    /// frame.
    pub fn parse(&self) -> Result<Frame, FrameError> {
        match self.frame_type {
            FrameType::Amqp => {
                if self.body.is_empty() {
                    return Ok(Frame::Amqp(AmqpFrame {
                        channel: self.channel,
                        performative: None,
                        payload: Bytes::new(),
                    }));
                }
                let mut r = Reader::new(&self.body);
                let code = r.u8()?;
                let performative = Performative::decode_code(code, &mut r)?;
                let payload = r.rest();
                if !payload.is_empty() && !matches!(performative, Performative::Transfer(_)) {
                    return Err(DecodeError::TrailingBytes(payload.len()).into());
                }
                Ok(Frame::Amqp(AmqpFrame {
                    channel: self.channel,
                    performative: Some(performative),
                    payload,
                }))
            }
            FrameType::Sasl => {
                if self.body.is_empty() {
                    return Err(FrameError::EmptySaslFrame);
                }
                let mut r = Reader::new(&self.body);
                let code = r.u8()?;
                let body = SaslFrame::decode_code(code, &mut r)?;
                r.finish()?;
                Ok(Frame::Sasl(body))
            }
        }
    }
}

/// What the stream delivers: a protocol header or a frame.
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming<F = Frame> {
    /// A protocol header (at the start, and again after a SASL exchange).
    Header(ProtocolHeader),
    /// A frame.
    Frame(F),
}

/// The validated fixed header of a frame.
#[derive(Clone, Copy)]
struct Head {
    size: u32,
    body_offset: usize,
    frame_type: FrameType,
    channel: u16,
}

/// The first eight buffered bytes (callers have checked that there are eight).
fn first8(b: &[u8]) -> [u8; 8] {
    b.get(..8)
        .and_then(|h| h.try_into().ok())
        .unwrap_or_default()
}

/// Validates a frame header against `max` (bytes beyond the first 8 are ignored).
fn parse_head(h: &[u8; 8], max: u32) -> Result<Head, FrameError> {
    let size = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
    check_size(size, max)?;
    let doff = h[4];
    let body_offset = usize::from(doff) * 4;
    if doff < 2 || body_offset > size as usize {
        return Err(FrameError::InvalidDataOffset { doff, size });
    }
    let frame_type = match h[5] {
        0 => FrameType::Amqp,
        1 => FrameType::Sasl,
        t => return Err(FrameError::UnknownFrameType(t)),
    };
    Ok(Head {
        size,
        body_offset,
        frame_type,
        channel: u16::from_be_bytes([h[6], h[7]]),
    })
}

fn check_size(size: u32, max: u32) -> Result<(), FrameError> {
    if size < FRAME_HEADER_SIZE as u32 {
        return Err(FrameError::TooSmall(size));
    }
    if size > max {
        return Err(FrameError::TooLarge { size, max });
    }
    Ok(())
}

impl Frame {
    /// Decodes one complete frame that fills `bytes` exactly (no size limit beyond AMQP's).
    ///
    /// # Errors
    /// Malformed header or body, or `bytes` longer or shorter than the declared size.
    pub fn decode(bytes: Bytes) -> Result<Self, FrameError> {
        Self::decode_raw(bytes)?.parse()
    }

    /// Splits one complete frame without parsing its body.
    ///
    /// # Errors
    /// As [`Frame::decode`], for the header.
    pub fn decode_raw(bytes: Bytes) -> Result<RawFrame, FrameError> {
        let h: [u8; 8] = bytes
            .get(..FRAME_HEADER_SIZE)
            .and_then(|h| h.try_into().ok())
            .ok_or(FrameError::Body(DecodeError::UnexpectedEnd))?;
        let head = parse_head(&h, u32::MAX)?;
        match (head.size as usize).cmp(&bytes.len()) {
            core::cmp::Ordering::Greater => Err(DecodeError::UnexpectedEnd.into()),
            core::cmp::Ordering::Less => {
                Err(DecodeError::TrailingBytes(bytes.len() - head.size as usize).into())
            }
            core::cmp::Ordering::Equal => Ok(RawFrame {
                frame_type: head.frame_type,
                channel: head.channel,
                body: bytes.slice(head.body_offset..),
            }),
        }
    }

    /// Encodes the frame.
    ///
    /// # Errors
    /// See [`EncodeError`]; nothing is appended on error.
    pub fn encode<B: EncodeBuf>(&self, buf: &mut B) -> Result<usize, EncodeError> {
        match self {
            Self::Amqp(f) => match &f.performative {
                Some(p) => encode_amqp_frame(buf, f.channel, p, &f.payload),
                None => Ok(encode_empty_frame(buf, f.channel)),
            },
            Self::Sasl(s) => encode_sasl_frame(buf, s),
        }
    }
}

mod sealed {
    pub trait Sealed {}
}

/// Types that can be the body of an AMQP frame: the nine performatives and [`Performative`].
pub trait AmqpBody: sealed::Sealed + crate::Encode {
    #[doc(hidden)]
    fn enc_body<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError>;
}

/// Types that can be the body of a SASL frame: the five SASL bodies and [`SaslFrame`].
pub trait SaslBody: sealed::Sealed + crate::Encode {
    #[doc(hidden)]
    fn enc_body<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError>;
}

macro_rules! bodies {
    ($tr:ident: $($t:ty),*) => {
        $(
            impl sealed::Sealed for $t {}
            impl $tr for $t {
                #[inline]
                fn enc_body<B: EncodeBuf>(&self, w: &mut B) -> Result<(), EncodeError> {
                    self.enc(w)
                }
            }
        )*
    };
}

bodies!(AmqpBody: Performative, Open, Begin, Attach, Flow, Transfer, Disposition, Detach, End, Close);
bodies!(SaslBody: SaslFrame, SaslMechanisms, SaslInit, SaslChallenge, SaslResponse, SaslOutcome);

/// Writes the 8-byte header with a zero size; returns where the frame starts.
#[inline]
fn begin_frame<B: EncodeBuf>(w: &mut B, frame_type: u8, channel: u16) -> usize {
    let start = w.buf_len();
    let c = channel.to_be_bytes();
    w.put_slice(&[0, 0, 0, 0, 2, frame_type, c[0], c[1]]);
    start
}

#[inline]
fn end_frame<B: EncodeBuf>(w: &mut B, start: usize) -> Result<(), EncodeError> {
    let size = u32::try_from(w.buf_len() - start).map_err(|_| EncodeError::TooLarge("frame"))?;
    patch(w, start, &size.to_be_bytes());
    Ok(())
}

/// Appends an AMQP frame: header, performative, payload (the payload is only meaningful for
/// `transfer`). Returns the frame size. Checking the size against the peer's max-frame-size
/// (and splitting large messages over several transfers) is the caller's job.
///
/// # Errors
/// See [`EncodeError`]; nothing is appended on error.
pub fn encode_amqp_frame<B: EncodeBuf, P: AmqpBody>(
    buf: &mut B,
    channel: u16,
    performative: &P,
    payload: &[u8],
) -> Result<usize, EncodeError> {
    atomically(buf, |w| {
        w.reserve_more(FRAME_HEADER_SIZE + 64 + payload.len());
        let start = begin_frame(w, 0, channel);
        performative.enc_body(w)?;
        w.put_slice(payload);
        end_frame(w, start)
    })
}

/// Appends a transfer frame whose payload is `message`, encoded in place (one pass, no
/// intermediate buffer). The caller must know the frame fits the peer's max-frame-size.
///
/// # Errors
/// See [`EncodeError`]; nothing is appended on error.
pub fn encode_transfer_frame<B: EncodeBuf>(
    buf: &mut B,
    channel: u16,
    transfer: &Transfer,
    message: &Message,
) -> Result<usize, EncodeError> {
    atomically(buf, |w| {
        w.reserve_more(FRAME_HEADER_SIZE + 64 + message.size_hint());
        let start = begin_frame(w, 0, channel);
        transfer.enc(w)?;
        message.enc(w)?;
        end_frame(w, start)
    })
}

/// Appends a SASL frame. Returns the frame size.
///
/// # Errors
/// See [`EncodeError`]; nothing is appended on error.
pub fn encode_sasl_frame<B: EncodeBuf, S: SaslBody>(
    buf: &mut B,
    body: &S,
) -> Result<usize, EncodeError> {
    atomically(buf, |w| {
        let start = begin_frame(w, 1, 0);
        body.enc_body(w)?;
        end_frame(w, start)
    })
}

/// Appends an empty AMQP frame (a heartbeat: `00 00 00 08 02 00 CH CH`). Returns 8.
pub fn encode_empty_frame<B: EncodeBuf>(buf: &mut B, channel: u16) -> usize {
    let c = channel.to_be_bytes();
    buf.put_slice(&[0, 0, 0, 8, 2, 0, c[0], c[1]]);
    FRAME_HEADER_SIZE
}

/// Incremental decoder for the byte stream of one connection: protocol headers and frames,
/// from input cut at arbitrary points (WebSocket messages do not align with frames).
///
/// It expects a protocol header first; call [`expect_header`](Self::expect_header) again when
/// the SASL layer completes (after the `sasl-outcome`), because the peer then sends the AMQP
/// header. A frame's declared size is checked against the max-frame-size as soon as its
/// 8-byte header is in, before the rest is buffered.
///
/// Errors are sticky: once the stream is broken every later call returns the same error.
/// `Debug` shows the state and how many bytes are buffered, never the bytes (they may hold
/// credentials).
pub struct FrameDecoder {
    max_frame_size: u32,
    expect_header: bool,
    /// The current partial header or frame.
    buf: BytesMut,
    /// The current frame's validated header, once its first 8 bytes are in.
    head: Option<Head>,
    failed: Option<FrameError>,
}

impl core::fmt::Debug for FrameDecoder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FrameDecoder")
            .field("max_frame_size", &self.max_frame_size)
            .field("expect_header", &self.expect_header)
            .field("buffered", &self.buf.len())
            .field("head", &self.head)
            .field("failed", &self.failed)
            .finish()
    }
}

impl core::fmt::Debug for Head {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Head(size {}, {:?})", self.size, self.frame_type)
    }
}

impl FrameDecoder {
    /// A decoder that accepts frames up to `max_frame_size` bytes and expects a protocol
    /// header first. Before `open` is exchanged the spec's limit is
    /// [`MIN_MAX_FRAME_SIZE`]; raise it with
    /// [`set_max_frame_size`](Self::set_max_frame_size) once negotiated.
    #[must_use]
    pub fn new(max_frame_size: u32) -> Self {
        Self {
            max_frame_size,
            expect_header: true,
            buf: BytesMut::new(),
            head: None,
            failed: None,
        }
    }

    /// The current frame size limit.
    #[must_use]
    pub fn max_frame_size(&self) -> u32 {
        self.max_frame_size
    }

    /// Changes the frame size limit (applies to frames whose header is not yet complete).
    pub fn set_max_frame_size(&mut self, max: u32) {
        self.max_frame_size = max;
    }

    /// Makes the next 8 bytes a protocol header.
    pub fn expect_header(&mut self) {
        self.expect_header = true;
    }

    /// Whether the next item is a protocol header.
    #[must_use]
    pub fn is_expecting_header(&self) -> bool {
        self.expect_header
    }

    /// Bytes of an incomplete header or frame held back.
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Forgets buffered bytes and a sticky error; expects a protocol header next.
    pub fn reset(&mut self) {
        self.buf.clear();
        self.head = None;
        self.failed = None;
        self.expect_header = true;
    }

    /// Consumes bytes from `input` and returns the next header or parsed frame, or `None` once
    /// `input` is used up without completing one. Call in a loop until `Ok(None)`.
    ///
    /// # Errors
    /// A framing error or a malformed frame body; sticky.
    pub fn decode(&mut self, input: &mut &[u8]) -> Result<Option<Incoming>, FrameError> {
        match self.decode_raw(input)? {
            None => Ok(None),
            Some(Incoming::Header(h)) => Ok(Some(Incoming::Header(h))),
            Some(Incoming::Frame(raw)) => match raw.parse() {
                Ok(f) => Ok(Some(Incoming::Frame(f))),
                Err(e) => Err(self.fail(e)),
            },
        }
    }

    /// As [`decode`](Self::decode), but returns frames unparsed.
    ///
    /// # Errors
    /// A framing error; sticky.
    pub fn decode_raw(
        &mut self,
        input: &mut &[u8],
    ) -> Result<Option<Incoming<RawFrame>>, FrameError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        if self.expect_header {
            if !self.fill_to(input, 8) {
                return Ok(None);
            }
            let h = first8(&self.buf);
            self.buf.clear();
            let header = ProtocolHeader::parse(h).map_err(|e| self.fail(e))?;
            self.expect_header = false;
            return Ok(Some(Incoming::Header(header)));
        }
        let head = match self.head {
            Some(h) => h,
            None => {
                // Check the size as soon as it is known, before buffering anything more.
                if self.fill_to(input, 4) {
                    let size = self
                        .buf
                        .get(..4)
                        .and_then(|s| s.try_into().ok())
                        .map_or(0, u32::from_be_bytes);
                    check_size(size, self.max_frame_size).map_err(|e| self.fail(e))?;
                }
                if !self.fill_to(input, FRAME_HEADER_SIZE) {
                    return Ok(None);
                }
                let h = first8(&self.buf);
                let head = parse_head(&h, self.max_frame_size).map_err(|e| self.fail(e))?;
                // Reserve for the frame, but not more than a typical frame up front: a declared
                // size is only a claim until the bytes arrive.
                self.buf
                    .reserve((head.size as usize - FRAME_HEADER_SIZE).min(64 * 1024));
                self.head = Some(head);
                head
            }
        };
        if !self.fill_to(input, head.size as usize) {
            return Ok(None);
        }
        self.head = None;
        let frame = self.buf.split().freeze();
        Ok(Some(Incoming::Frame(RawFrame {
            frame_type: head.frame_type,
            channel: head.channel,
            body: frame.slice(head.body_offset..),
        })))
    }

    /// Moves bytes from `input` until `want` are buffered; whether that many are.
    fn fill_to(&mut self, input: &mut &[u8], want: usize) -> bool {
        let have = self.buf.len();
        if have < want {
            let n = (want - have).min(input.len());
            let (take, rest) = input.split_at(n);
            self.buf.extend_from_slice(take);
            *input = rest;
        }
        self.buf.len() >= want
    }

    fn fail(&mut self, e: FrameError) -> FrameError {
        self.buf.clear();
        self.head = None;
        self.failed = Some(e.clone());
        e
    }
}
