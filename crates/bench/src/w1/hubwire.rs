//! W1 loops for `hubwire-mqtt`.

use core::hint::black_box;

use bytes::{Bytes, BytesMut};
use hubwire_mqtt::{Packet, PacketId, Publish, TopicName, IOT_HUB_MAX_PACKET_SIZE};

use super::{packet_id, W1Codec, W1Error, PAYLOAD, TOPIC};

/// Initial capacity of the shared encode buffer; `BytesMut` reuses it once the decoded frames
/// that borrowed from it are dropped, so the steady state does not allocate for the wire bytes.
const BUF_CAPACITY: usize = 8 * 1024;

/// `hubwire-mqtt`: [`Publish::encode`] into a `BytesMut`, [`Packet::read`] from it (the stream
/// path a connection uses), zero-copy [`Packet::decode`] for `decode_only`.
#[derive(Debug)]
pub struct HubwireW1 {
    /// Built once, as a device builds its telemetry topic once per connection.
    topic: TopicName,
    /// Reference-counted: each publish value shares it.
    payload: Bytes,
    buf: BytesMut,
    frame0: Bytes,
}

impl HubwireW1 {
    /// Prepares the inputs (topic, payload, the encoding of packet 0).
    pub fn new() -> Result<Self, W1Error> {
        let topic = TopicName::new(TOPIC).map_err(W1Error::new)?;
        let mut codec = Self {
            topic,
            payload: Bytes::copy_from_slice(&PAYLOAD),
            buf: BytesMut::with_capacity(BUF_CAPACITY),
            frame0: Bytes::new(),
        };
        codec.frame0 = Bytes::from(codec.first_packet()?);
        Ok(codec)
    }

    /// A fresh publish value for packet `i`.
    #[inline]
    fn publish(&self, i: u64) -> Result<Publish, W1Error> {
        let id = PacketId::new(packet_id(i)).ok_or_else(|| W1Error::new("packet id 0"))?;
        Ok(Publish::at_least_once(
            self.topic.clone(),
            self.payload.clone(),
            id,
        ))
    }

    /// `decode_only` through the stream path: copies the 340 bytes into the receive buffer each
    /// time and decodes with [`Packet::read`], like the peers whose decoder consumes its input.
    /// Reported beside `decode_only` so the zero-copy advantage is visible separately.
    pub fn decode_only_copy(&mut self, n: u64) -> Result<u64, W1Error> {
        let mut sum = 0u64;
        for _ in 0..n {
            self.buf.extend_from_slice(&self.frame0);
            sum += read_publish(&mut self.buf)?;
        }
        Ok(sum)
    }
}

/// Decodes one publish from the front of `buf`; returns `packet_id + payload length`.
#[inline]
fn read_publish(buf: &mut BytesMut) -> Result<u64, W1Error> {
    match Packet::read(buf, IOT_HUB_MAX_PACKET_SIZE) {
        Ok(Some(Packet::Publish(p))) => Ok(checksum_of(&p)),
        Ok(other) => Err(W1Error::new(format_args!("decoded {other:?}"))),
        Err(e) => Err(W1Error::new(e)),
    }
}

#[inline]
fn checksum_of(p: &Publish) -> u64 {
    p.packet_id.map_or(0, |id| u64::from(id.get())) + p.payload.len() as u64
}

impl W1Codec for HubwireW1 {
    const NAME: &'static str = "hubwire-mqtt";

    fn first_packet(&mut self) -> Result<Vec<u8>, W1Error> {
        let mut out = Vec::new();
        self.publish(0)?.encode(&mut out).map_err(W1Error::new)?;
        Ok(out)
    }

    fn combined(&mut self, start: u64, n: u64) -> Result<u64, W1Error> {
        let mut sum = 0u64;
        for i in start..start + n {
            let publish = self.publish(i)?;
            publish.encode(&mut self.buf).map_err(W1Error::new)?;
            sum += read_publish(&mut self.buf)?;
        }
        Ok(sum)
    }

    fn encode_only(&mut self, start: u64, n: u64) -> Result<u64, W1Error> {
        let mut bytes = 0u64;
        for i in start..start + n {
            let publish = self.publish(i)?;
            bytes += publish.encode(&mut self.buf).map_err(W1Error::new)? as u64;
            black_box(&mut self.buf);
            self.buf.clear();
        }
        Ok(bytes)
    }

    fn decode_only(&mut self, n: u64) -> Result<u64, W1Error> {
        let mut sum = 0u64;
        for _ in 0..n {
            match Packet::decode(self.frame0.clone()) {
                Ok(Packet::Publish(p)) => sum += checksum_of(&p),
                Ok(other) => return Err(W1Error::new(format_args!("decoded {other:?}"))),
                Err(e) => return Err(W1Error::new(e)),
            }
        }
        Ok(sum)
    }
}
