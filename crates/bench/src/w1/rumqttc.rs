//! W1 loops for the peer: rumqttc 0.25's `mqttbytes::v4` (the codec inside rumqttc's event loop).

use core::hint::black_box;

use bytes::{Bytes, BytesMut};
use rumqttc::mqttbytes::v4::{Packet, Publish};
use rumqttc::mqttbytes::QoS;

use super::{packet_id, W1Codec, W1Error, PAYLOAD, TOPIC};

/// Same buffer strategy as [`super::HubwireW1`].
const BUF_CAPACITY: usize = 8 * 1024;
/// Maximum incoming packet size passed to `Packet::read` (rumqttc's own default is 10 KiB;
/// anything above 340 bytes behaves the same).
const MAX_PACKET: usize = 256 * 1024 + 8 * 1024;

/// rumqttc 0.25 `mqttbytes::v4`: `Publish::write` into a `BytesMut`, `Packet::read` from it.
/// Its `Publish` holds the topic as a `String`, so each fresh value copies the topic (that is
/// how its publish API takes it).
#[derive(Debug)]
pub struct RumqttcW1 {
    topic: String,
    payload: Bytes,
    buf: BytesMut,
    frame0: Bytes,
}

impl RumqttcW1 {
    /// Prepares the inputs (topic, payload, the encoding of packet 0).
    pub fn new() -> Result<Self, W1Error> {
        let mut codec = Self {
            topic: TOPIC.to_owned(),
            payload: Bytes::copy_from_slice(&PAYLOAD),
            buf: BytesMut::with_capacity(BUF_CAPACITY),
            frame0: Bytes::new(),
        };
        codec.frame0 = Bytes::from(codec.first_packet()?);
        Ok(codec)
    }

    #[inline]
    fn publish(&self, i: u64) -> Publish {
        let mut p = Publish::from_bytes(self.topic.clone(), QoS::AtLeastOnce, self.payload.clone());
        p.pkid = packet_id(i);
        p
    }
}

#[inline]
fn read_publish(buf: &mut BytesMut) -> Result<u64, W1Error> {
    match Packet::read(buf, MAX_PACKET) {
        Ok(Packet::Publish(p)) => Ok(u64::from(p.pkid) + p.payload.len() as u64),
        Ok(other) => Err(W1Error::new(format_args!("decoded {other:?}"))),
        Err(e) => Err(W1Error::new(e)),
    }
}

impl W1Codec for RumqttcW1 {
    const NAME: &'static str = "rumqttc-mqttbytes";

    fn first_packet(&mut self) -> Result<Vec<u8>, W1Error> {
        let mut out = BytesMut::new();
        self.publish(0).write(&mut out).map_err(W1Error::new)?;
        Ok(out.to_vec())
    }

    fn combined(&mut self, start: u64, n: u64) -> Result<u64, W1Error> {
        let mut sum = 0u64;
        for i in start..start + n {
            let publish = self.publish(i);
            publish.write(&mut self.buf).map_err(W1Error::new)?;
            sum += read_publish(&mut self.buf)?;
        }
        Ok(sum)
    }

    fn encode_only(&mut self, start: u64, n: u64) -> Result<u64, W1Error> {
        let mut bytes = 0u64;
        for i in start..start + n {
            let publish = self.publish(i);
            bytes += publish.write(&mut self.buf).map_err(W1Error::new)? as u64;
            black_box(&mut self.buf);
            self.buf.clear();
        }
        Ok(bytes)
    }

    fn decode_only(&mut self, n: u64) -> Result<u64, W1Error> {
        // `Packet::read` splits the frame off its input, so each decode gets a fresh copy.
        let mut sum = 0u64;
        for _ in 0..n {
            self.buf.extend_from_slice(&self.frame0);
            sum += read_publish(&mut self.buf)?;
        }
        Ok(sum)
    }
}
