//! W2 loops for `hubwire-amqp`.

use core::hint::black_box;

use bytes::{Bytes, BytesMut};
use hubwire_amqp::{
    encode_amqp_frame, AmqpFrame, Body, Decode, Encode, Frame, FrameDecoder, Incoming, Map,
    Message, MessageId, Performative, Properties, ProtocolHeader, Str, Symbol, Transfer, Value,
};

use super::{delivery_id, Tally, W2Codec, W2Error, CONTENT_ENCODING, CONTENT_TYPE, PAYLOAD};

/// Initial capacity of the shared frame buffer (reused once decoded frames are dropped).
const BUF_CAPACITY: usize = 8 * 1024;
/// Max frame size given to the decoder (IoT Hub's is 256 KiB; anything above 400 bytes behaves
/// the same here).
const MAX_FRAME_SIZE: u32 = 256 * 1024;

/// `hubwire-amqp`, the way the connection engine sends and receives: `Message::encode` into a
/// fresh payload, `encode_amqp_frame` around it into the connection's output buffer; on the
/// receiving side the stream [`FrameDecoder`] (which copies the bytes into its own buffer) and
/// `Message::decode` of the transfer payload. `decode_only` decodes frame 0 zero-copy with
/// [`Frame::decode`]; `decode_only_copy` goes through the stream decoder.
#[derive(Debug)]
pub struct HubwireW2 {
    /// Reference-counted: each message shares it.
    payload: Bytes,
    content_type: Symbol,
    content_encoding: Symbol,
    buf: BytesMut,
    decoder: FrameDecoder,
    frame0: Bytes,
}

impl HubwireW2 {
    /// Prepares the inputs (payload, symbols, the decoder past the protocol header, frame 0).
    pub fn new() -> Result<Self, W2Error> {
        let mut decoder = FrameDecoder::new(MAX_FRAME_SIZE);
        let header = ProtocolHeader::AMQP.to_bytes();
        match decoder.decode(&mut &header[..]) {
            Ok(Some(Incoming::Header(_))) => {}
            other => return Err(W2Error::new(format_args!("protocol header: {other:?}"))),
        }
        let mut codec = Self {
            payload: Bytes::copy_from_slice(&PAYLOAD),
            content_type: Symbol::from_static(CONTENT_TYPE).map_err(W2Error::new)?,
            content_encoding: Symbol::from_static(CONTENT_ENCODING).map_err(W2Error::new)?,
            buf: BytesMut::with_capacity(BUF_CAPACITY),
            decoder,
            frame0: Bytes::new(),
        };
        codec.frame0 = Bytes::from(codec.first_frame()?);
        Ok(codec)
    }

    /// A fresh message for frame `i`.
    #[inline]
    fn message(&self, i: u32) -> Message {
        let mut app = Map::with_capacity(3);
        app.push(
            Str::from_static("level"),
            Value::String(Str::from_static("critical")),
        );
        // The workload's seq is a signed 32-bit int equal to i (i < 2^31 here).
        app.push(Str::from_static("seq"), Value::Int(i as i32));
        app.push(Str::from_static("alert"), Value::Bool(true));
        Message {
            properties: Some(Properties {
                message_id: Some(MessageId::String(Str::from(format!("msg-{i}")))),
                correlation_id: Some(MessageId::Ulong(u64::from(i))),
                content_type: Some(self.content_type.clone()),
                content_encoding: Some(self.content_encoding.clone()),
                ..Properties::default()
            }),
            application_properties: Some(app),
            body: Body::Data(vec![self.payload.clone()]),
            ..Message::default()
        }
    }

    /// Encodes frame `i` (message first, then the frame around it) onto `self.buf`.
    #[inline]
    fn encode(&mut self, i: u64) -> Result<usize, W2Error> {
        let id = delivery_id(i);
        let message = self.message(id);
        let transfer = Transfer {
            settled: Some(false),
            ..Transfer::new(0, id, Bytes::copy_from_slice(&id.to_be_bytes()))
        };
        // A fresh payload per message, as the engine's `send` does.
        let mut payload = Vec::new();
        message.encode(&mut payload).map_err(W2Error::new)?;
        encode_amqp_frame(&mut self.buf, 0, &transfer, &payload).map_err(W2Error::new)
    }

    /// `decode_only` through the stream decoder, which copies the 369 bytes into its buffer.
    pub fn decode_only_copy(&mut self, n: u64) -> Result<Tally, W2Error> {
        let mut sum = 0u64;
        for _ in 0..n {
            let mut input = &self.frame0[..];
            sum += read_frame(&mut self.decoder, &mut input)?;
        }
        Ok(Tally {
            checksum: sum,
            bytes: n * self.frame0.len() as u64,
        })
    }
}

/// Decodes one whole frame from `input` with the stream decoder; returns its checksum term.
#[inline]
fn read_frame(decoder: &mut FrameDecoder, input: &mut &[u8]) -> Result<u64, W2Error> {
    match decoder.decode(input) {
        Ok(Some(Incoming::Frame(frame))) if input.is_empty() => checksum_of(frame),
        Ok(other) => Err(W2Error::new(format_args!("decoded {other:?}"))),
        Err(e) => Err(W2Error::new(e)),
    }
}

/// `delivery-id + seq + data length` of a decoded transfer frame (decoding its message).
#[inline]
fn checksum_of(frame: Frame) -> Result<u64, W2Error> {
    let Frame::Amqp(AmqpFrame {
        performative: Some(Performative::Transfer(t)),
        payload,
        ..
    }) = frame
    else {
        return Err(W2Error::new("not a transfer frame"));
    };
    let message = Message::decode(payload).map_err(W2Error::new)?;
    let seq = message
        .application_properties
        .as_ref()
        .and_then(|a| a.get("seq"))
        .and_then(Value::as_i64)
        .ok_or_else(|| W2Error::new("no seq"))?;
    let data = message
        .body
        .single_data()
        .ok_or_else(|| W2Error::new("no data section"))?;
    let id = t
        .delivery_id
        .ok_or_else(|| W2Error::new("no delivery-id"))?;
    Ok(u64::from(id) + seq as u64 + data.len() as u64)
}

impl W2Codec for HubwireW2 {
    const NAME: &'static str = "hubwire-amqp";

    fn first_frame(&mut self) -> Result<Vec<u8>, W2Error> {
        self.buf.clear();
        self.encode(0)?;
        let out = self.buf.to_vec();
        self.buf.clear();
        Ok(out)
    }

    fn combined(&mut self, start: u64, n: u64) -> Result<Tally, W2Error> {
        let mut t = Tally::default();
        for i in start..start + n {
            t.bytes += self.encode(i)? as u64;
            let mut input = &self.buf[..];
            t.checksum += read_frame(&mut self.decoder, &mut input)?;
            self.buf.clear();
        }
        Ok(t)
    }

    fn encode_only(&mut self, start: u64, n: u64) -> Result<Tally, W2Error> {
        let mut bytes = 0u64;
        for i in start..start + n {
            bytes += self.encode(i)? as u64;
            black_box(&mut self.buf);
            self.buf.clear();
        }
        Ok(Tally {
            checksum: bytes,
            bytes,
        })
    }

    fn decode_only(&mut self, n: u64) -> Result<Tally, W2Error> {
        let mut sum = 0u64;
        for _ in 0..n {
            let frame = Frame::decode(self.frame0.clone()).map_err(W2Error::new)?;
            sum += checksum_of(frame)?;
        }
        Ok(Tally {
            checksum: sum,
            bytes: n * self.frame0.len() as u64,
        })
    }
}
