//! Measures the transfer frames of each incoming delivery, for the `wireBytes` of D2C events.
//!
//! The engine hands over reassembled message payloads only, so the incoming byte stream is
//! split into frames a second time here (headers only, bodies are zero-copy slices) and the
//! sizes of the transfer frames of each delivery are added up. A delivery is keyed by the
//! peer's channel and its delivery-id; the host maps the peer's channels to its sessions with
//! [`TransferMeter::take_begun`] as the engine reports sessions the peer began.

use std::collections::{HashMap, VecDeque};

use hubwire_amqp::{Frame, FrameDecoder, FrameType, Incoming, Performative};

/// Most finished deliveries remembered without being taken (a misbehaving peer cannot make
/// the table grow without bound).
const MAX_PENDING: usize = 4096;

/// Frame header bytes when no extended header is used (`doff` = 2), as every SDK sends.
const HEADER: usize = 8;

/// Sums transfer frame sizes per delivery; see the module documentation.
#[derive(Debug)]
pub(crate) struct TransferMeter {
    decoder: FrameDecoder,
    /// Peer channels of BEGINs without `remote-channel` (sessions the peer began), in order.
    begun: VecDeque<u16>,
    /// Delivery in progress per (peer channel, peer handle): its delivery-id and bytes so far.
    partial: HashMap<(u16, u32), (u32, usize)>,
    /// Finished deliveries per (peer channel, delivery-id): total transfer frame bytes.
    done: HashMap<(u16, u32), usize>,
    broken: bool,
}

impl TransferMeter {
    pub(crate) fn new(max_frame_size: u32) -> Self {
        Self {
            decoder: FrameDecoder::new(max_frame_size),
            begun: VecDeque::new(),
            partial: HashMap::new(),
            done: HashMap::new(),
            broken: false,
        }
    }

    /// Looks at bytes the peer sent (the same bytes the engine gets, in the same order).
    pub(crate) fn feed(&mut self, mut input: &[u8]) {
        while !self.broken {
            match self.decoder.decode_raw(&mut input) {
                Ok(None) => break,
                Ok(Some(Incoming::Header(_))) => {}
                Ok(Some(Incoming::Frame(raw))) => {
                    if raw.frame_type == FrameType::Sasl {
                        // The hub never challenges: after the client's SASL frame its next
                        // bytes are the AMQP protocol header.
                        self.decoder.expect_header();
                        continue;
                    }
                    let size = HEADER + raw.body.len();
                    let Ok(Frame::Amqp(frame)) = raw.parse() else {
                        // The engine reports the violation; measuring stops.
                        self.broken = true;
                        break;
                    };
                    self.on_frame(frame.channel, frame.performative, size);
                }
                Err(_) => self.broken = true,
            }
        }
    }

    fn on_frame(&mut self, channel: u16, performative: Option<Performative>, size: usize) {
        match performative {
            Some(Performative::Begin(b)) if b.remote_channel.is_none() => {
                self.begun.push_back(channel);
            }
            Some(Performative::End(_)) => {
                self.partial.retain(|k, _| k.0 != channel);
                self.done.retain(|k, _| k.0 != channel);
            }
            Some(Performative::Transfer(t)) => {
                let key = (channel, t.handle);
                let (id, so_far) = match (self.partial.remove(&key), t.delivery_id) {
                    (Some((id, n)), _) => (id, n),
                    (None, Some(id)) => (id, 0),
                    (None, None) => return,
                };
                let total = so_far.saturating_add(size);
                if t.aborted {
                    return;
                }
                if t.more {
                    self.partial.insert(key, (id, total));
                } else {
                    if self.done.len() >= MAX_PENDING {
                        self.done.clear();
                    }
                    self.done.insert((channel, id), total);
                }
            }
            _ => {}
        }
    }

    /// The peer channel of the next session the peer began (call once per
    /// `SessionBegun { by_peer: true }`).
    pub(crate) fn take_begun(&mut self) -> Option<u16> {
        self.begun.pop_front()
    }

    /// Total transfer frame bytes of a finished delivery.
    pub(crate) fn take(&mut self, peer_channel: u16, delivery_id: u32) -> Option<usize> {
        self.done.remove(&(peer_channel, delivery_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hubwire_amqp::{encode_amqp_frame, encode_transfer_frame, Begin, Bytes, Message, Transfer};

    #[test]
    fn sums_the_frames_of_each_delivery_across_cuts() {
        let mut wire = b"AMQP\x00\x01\x00\x00".to_vec();
        let begin = Begin {
            next_outgoing_id: 0,
            incoming_window: 10,
            outgoing_window: 10,
            ..Begin::default()
        };
        encode_amqp_frame(&mut wire, 3, &begin, &[]).unwrap_or_else(|e| panic!("{e}"));
        let start = wire.len();
        let mut first = Transfer::new(1, 7, Bytes::from_static(b"t"));
        first.more = true;
        let msg = Message::with_data(vec![1u8; 40]);
        encode_transfer_frame(&mut wire, 3, &first, &msg).unwrap_or_else(|e| panic!("{e}"));
        let rest = Transfer {
            handle: 1,
            ..Transfer::default()
        };
        encode_transfer_frame(&mut wire, 3, &rest, &msg).unwrap_or_else(|e| panic!("{e}"));
        let expected = wire.len() - start;
        let mut meter = TransferMeter::new(65536);
        for b in &wire {
            meter.feed(std::slice::from_ref(b));
        }
        assert_eq!(meter.take_begun(), Some(3));
        assert_eq!(meter.take_begun(), None);
        assert_eq!(meter.take(3, 7), Some(expected));
        assert_eq!(meter.take(3, 7), None);
    }
}
