//! W2 loops for the peer: fe2o3-amqp-types 0.18 + serde_amqp 0.18.
//!
//! fe2o3-amqp's own frame codec is crate-private, so the glue here repeats what fe2o3-amqp 0.18
//! does around these types: the sender serialises `Serializable(message)` into a fresh
//! `BytesMut` payload; the frame encoder writes the 8-byte header, serialises the `Transfer`
//! with a `serde_amqp` serializer writing into the output buffer and appends the payload; the
//! length-delimited decoder splits the frame off the read buffer, the frame decoder reads
//! DOFF/type/channel, deserialises the `Performative` through an `IoReader` over the buffer
//! and takes the rest as the payload; the receiver decodes the message with
//! `decode_message_from_reader(SliceReader::new(&payload))`.

use core::hint::black_box;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use fe2o3_amqp_types::definitions::Handle;
use fe2o3_amqp_types::messaging::message::__private::Serializable;
use fe2o3_amqp_types::messaging::message::DecodeIntoMessage;
use fe2o3_amqp_types::messaging::{ApplicationProperties, Data, Message, MessageId, Properties};
use fe2o3_amqp_types::performatives::{Performative, Transfer};
use fe2o3_amqp_types::primitives::{Binary, SimpleValue, Symbol};
use serde::{Deserialize, Serialize};
use serde_amqp::read::{IoReader, SliceReader};

use super::{delivery_id, Tally, W2Codec, W2Error, CONTENT_ENCODING, CONTENT_TYPE, PAYLOAD};

/// Same buffer strategy as [`super::HubwireW2`].
const BUF_CAPACITY: usize = 8 * 1024;
const FRAME_TYPE_AMQP: u8 = 0;

/// fe2o3-amqp-types 0.18 with fe2o3-amqp 0.18's frame and message glue. Its message types own
/// their data (`String`, `Symbol(String)`, `Binary` = `Vec<u8>`), so each fresh message copies
/// the strings and the 256-byte payload: that is how its `Sender::send` takes a message.
#[derive(Debug)]
pub struct Fe2o3W2 {
    buf: BytesMut,
    frame0: Bytes,
}

impl Fe2o3W2 {
    /// Prepares the inputs (frame 0).
    pub fn new() -> Result<Self, W2Error> {
        let mut codec = Self {
            buf: BytesMut::with_capacity(BUF_CAPACITY),
            frame0: Bytes::new(),
        };
        codec.frame0 = Bytes::from(codec.first_frame()?);
        Ok(codec)
    }

    /// A fresh message for frame `i`.
    #[inline]
    fn message(i: u32) -> Message<Data> {
        let properties = Properties {
            message_id: Some(MessageId::String(format!("msg-{i}"))),
            correlation_id: Some(MessageId::Ulong(u64::from(i))),
            content_type: Some(Symbol::from(CONTENT_TYPE)),
            content_encoding: Some(Symbol::from(CONTENT_ENCODING)),
            ..Properties::default()
        };
        let app = ApplicationProperties::builder()
            .insert("level", SimpleValue::String("critical".to_owned()))
            // The workload's seq is a signed 32-bit int equal to i (i < 2^31 here).
            .insert("seq", SimpleValue::Int(i as i32))
            .insert("alert", SimpleValue::Bool(true))
            .build();
        Message {
            header: None,
            delivery_annotations: None,
            message_annotations: None,
            properties: Some(properties),
            application_properties: Some(app),
            body: Data(Binary::from(PAYLOAD.to_vec())),
            footer: None,
        }
    }

    /// Encodes frame `i` onto `self.buf`; returns the frame's size.
    #[inline]
    fn encode(&mut self, i: u64) -> Result<usize, W2Error> {
        let id = delivery_id(i);
        // Sender: the message into a fresh payload buffer.
        let mut payload = BytesMut::new();
        {
            let mut ser = serde_amqp::ser::Serializer::from((&mut payload).writer());
            Serializable(Self::message(id))
                .serialize(&mut ser)
                .map_err(W2Error::new)?;
        }
        let transfer = Transfer {
            handle: Handle(0),
            delivery_id: Some(id),
            delivery_tag: Some(Binary::from(id.to_be_bytes().to_vec())),
            message_format: Some(0),
            settled: Some(false),
            more: false,
            rcv_settle_mode: None,
            state: None,
            resume: false,
            aborted: false,
            batchable: false,
        };
        // Frame encoder: header (size patched in afterwards), performative, payload.
        let start = self.buf.len();
        self.buf.put_u32(0);
        self.buf.put_u8(2);
        self.buf.put_u8(FRAME_TYPE_AMQP);
        self.buf.put_u16(0);
        {
            let mut ser = serde_amqp::ser::Serializer::from((&mut self.buf).writer());
            transfer.serialize(&mut ser).map_err(W2Error::new)?;
        }
        self.buf.put(payload);
        let size = self.buf.len() - start;
        let size32 = u32::try_from(size).map_err(W2Error::new)?;
        self.buf[start..start + 4].copy_from_slice(&size32.to_be_bytes());
        Ok(size)
    }
}

/// Length-delimited split, frame decoder and message decoder for the one whole frame at the
/// front of `buf`; returns the checksum term.
#[inline]
fn read_frame(buf: &mut BytesMut) -> Result<u64, W2Error> {
    let size = buf
        .get(..4)
        .and_then(|s| <[u8; 4]>::try_from(s).ok())
        .map(u32::from_be_bytes)
        .ok_or_else(|| W2Error::new("short frame"))? as usize;
    if size < 8 || buf.len() < size {
        return Err(W2Error::new("bad frame size"));
    }
    let mut src = buf.split_to(size);
    src.advance(4);
    let doff = src.get_u8();
    let ftype = src.get_u8();
    let _channel = src.get_u16();
    if doff != 2 || ftype != FRAME_TYPE_AMQP {
        return Err(W2Error::new("unexpected frame header"));
    }
    let performative = {
        let mut de = serde_amqp::de::Deserializer::new(IoReader::new((&mut src).reader()));
        Performative::deserialize(&mut de).map_err(W2Error::new)?
    };
    let Performative::Transfer(transfer) = performative else {
        return Err(W2Error::new("not a transfer"));
    };
    let payload: Bytes = src.split().freeze();
    let message =
        Data::decode_message_from_reader(SliceReader::new(&payload)).map_err(W2Error::new)?;
    let seq = match message
        .application_properties
        .as_ref()
        .and_then(|a| a.get("seq"))
    {
        Some(SimpleValue::Int(v)) => i64::from(*v),
        other => return Err(W2Error::new(format_args!("seq: {other:?}"))),
    };
    let id = transfer
        .delivery_id
        .ok_or_else(|| W2Error::new("no delivery-id"))?;
    Ok(u64::from(id) + seq as u64 + message.body.0.len() as u64)
}

impl W2Codec for Fe2o3W2 {
    const NAME: &'static str = "fe2o3-amqp-types";

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
            t.checksum += read_frame(&mut self.buf)?;
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
        // The frame decoder consumes its input, so each decode gets a fresh copy.
        let mut sum = 0u64;
        for _ in 0..n {
            self.buf.extend_from_slice(&self.frame0);
            sum += read_frame(&mut self.buf)?;
        }
        Ok(Tally {
            checksum: sum,
            bytes: n * self.frame0.len() as u64,
        })
    }
}
