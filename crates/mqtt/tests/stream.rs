//! Incremental decoding of a multi-packet stream cut at every possible point.

use bytes::{Bytes, BytesMut};
use hubwire_mqtt::{
    ConnAck, Connect, ConnectReturnCode, DecodeError, Decoder, MqttString, Packet, PacketId,
    Password, PubAck, Publish, QoS, SubAck, Subscribe, SubscribeFilter, SubscribeReturnCode,
    TopicFilter, TopicName,
};

fn sample_packets() -> Vec<Packet> {
    let id = |v| PacketId::new(v).expect("non-zero");
    vec![
        Packet::Connect(Connect {
            username: Some(MqttString::new("hub/dev/?api-version=2021-04-12").expect("valid")),
            password: Some(Password::from("SharedAccessSignature sr=x&sig=y&se=1")),
            ..Connect::new(MqttString::new("dev").expect("valid"))
        }),
        Packet::ConnAck(ConnAck {
            session_present: false,
            code: ConnectReturnCode::Accepted,
        }),
        Packet::PingReq,
        Packet::Publish(Publish::at_least_once(
            TopicName::new("devices/dev/messages/events/a=b").expect("valid"),
            Bytes::from(vec![7u8; 200]),
            id(1),
        )),
        Packet::PubAck(PubAck::new(id(1))),
        Packet::Subscribe(Subscribe {
            packet_id: id(2),
            filters: vec![SubscribeFilter::new(
                TopicFilter::new("devices/dev/messages/devicebound/#").expect("valid"),
                QoS::AtLeastOnce,
            )],
        }),
        Packet::SubAck(SubAck {
            packet_id: id(2),
            return_codes: vec![SubscribeReturnCode::Failure],
        }),
        Packet::Publish(Publish::new(
            TopicName::new("t").expect("valid"),
            Bytes::new(),
        )),
        Packet::PingResp,
        Packet::Disconnect,
    ]
}

fn encode_all(packets: &[Packet]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in packets {
        p.encode(&mut out).expect("encodes");
    }
    out
}

/// Feeds `chunks` in order and collects every decoded packet.
fn decode_chunks<'a>(
    decoder: &mut Decoder,
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<Packet> {
    let mut got = Vec::new();
    for chunk in chunks {
        let mut input = chunk;
        while let Some(p) = decoder.decode(&mut input).expect("valid stream") {
            got.push(p);
        }
        assert!(input.is_empty(), "Ok(None) means the chunk was consumed");
    }
    got
}

#[test]
fn every_single_split_point() {
    let packets = sample_packets();
    let stream = encode_all(&packets);
    for cut in 0..=stream.len() {
        let mut decoder = Decoder::new(1024);
        let (a, b) = stream.split_at(cut);
        let got = decode_chunks(&mut decoder, [a, b]);
        assert_eq!(got, packets, "split at {cut}");
        assert_eq!(decoder.buffered_len(), 0);
    }
}

#[test]
fn every_pair_of_split_points() {
    let packets = sample_packets();
    let stream = encode_all(&packets);
    for i in 0..=stream.len() {
        for j in i..=stream.len() {
            let mut decoder = Decoder::new(1024);
            let got = decode_chunks(&mut decoder, [&stream[..i], &stream[i..j], &stream[j..]]);
            assert_eq!(got, packets, "splits at {i} and {j}");
        }
    }
}

#[test]
fn byte_by_byte_and_fixed_chunk_sizes() {
    let packets = sample_packets();
    let stream = encode_all(&packets);
    for size in 1..=stream.len() {
        let mut decoder = Decoder::new(1024);
        let got = decode_chunks(&mut decoder, stream.chunks(size));
        assert_eq!(got, packets, "chunk size {size}");
    }
}

#[test]
fn connect_in_thirteen_messages() {
    let packet = &sample_packets()[0];
    let bytes = packet.to_bytes().expect("encodes");
    let size = bytes.len().div_ceil(13);
    let chunks: Vec<&[u8]> = bytes.chunks(size).collect();
    assert_eq!(chunks.len(), 13);
    let mut decoder = Decoder::default();
    let mut got = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut input = *chunk;
        let r = decoder.decode(&mut input).expect("valid");
        assert!(input.is_empty());
        if i < 12 {
            assert_eq!(r, None, "chunk {i} completes nothing");
        } else {
            got.extend(r);
        }
    }
    assert_eq!(got, vec![packet.clone()]);
}

#[test]
fn packet_read_from_bytes_mut() {
    let packets = sample_packets();
    let stream = encode_all(&packets);
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for chunk in stream.chunks(7) {
        buf.extend_from_slice(chunk);
        while let Some(p) = Packet::read(&mut buf, 1024).expect("valid") {
            got.push(p);
        }
    }
    assert_eq!(got, packets);
    assert!(buf.is_empty());
}

#[test]
fn decoded_publish_shares_the_frame_buffer() {
    let packet = Packet::Publish(Publish::new(
        TopicName::new("a/b").expect("valid"),
        Bytes::from_static(b"payload"),
    ));
    let frame = packet.to_bytes().expect("encodes");
    let Ok(Packet::Publish(p)) = Packet::decode(frame.clone()) else {
        panic!("expected a publish");
    };
    // Zero copy: topic and payload point into the frame.
    let range = frame.as_ptr_range();
    assert!(range.contains(&p.payload.as_ptr()));
    assert!(range.contains(&p.topic.as_bytes().as_ptr()));
}

#[test]
fn oversized_packet_rejected_from_its_header() {
    let mut decoder = Decoder::new(100);
    // PUBLISH declaring 1 000 000 bytes: rejected after the 4-byte header, before any payload.
    let mut input: &[u8] = &[0x30, 0xc0, 0x84, 0x3d];
    assert_eq!(
        decoder.decode(&mut input),
        Err(DecodeError::PacketTooLarge {
            size: 1_000_004,
            max: 100
        })
    );
    assert_eq!(decoder.buffered_len(), 0);
    // Sticky: more bytes do not help and are not buffered.
    let mut input: &[u8] = &[0u8; 64];
    assert!(decoder.decode(&mut input).is_err());
    assert_eq!(decoder.buffered_len(), 0);
    decoder.reset();
    let mut input: &[u8] = &[0xc0, 0x00];
    assert_eq!(decoder.decode(&mut input), Ok(Some(Packet::PingReq)));
}

#[test]
fn max_packet_size_counts_the_whole_packet() {
    let packet = Packet::Publish(Publish::new(
        TopicName::new("t").expect("valid"),
        Bytes::from(vec![1u8; 95]),
    ));
    let bytes = packet.to_bytes().expect("encodes");
    assert_eq!(bytes.len(), 100);
    let mut ok = Decoder::new(100);
    let mut input = &bytes[..];
    assert_eq!(ok.decode(&mut input), Ok(Some(packet)));
    let mut too_small = Decoder::new(99);
    let mut input = &bytes[..];
    assert!(matches!(
        too_small.decode(&mut input),
        Err(DecodeError::PacketTooLarge { size: 100, max: 99 })
    ));
}

#[test]
fn buffering_is_bounded_by_the_current_packet() {
    // A stream of many packets handed over at once is not copied wholesale: each call takes
    // only what the current packet needs (plus at most four bytes of the next header).
    let packets = sample_packets();
    let stream = encode_all(&packets);
    let mut decoder = Decoder::new(1024);
    let mut input = &stream[..];
    let first = decoder.decode(&mut input).expect("valid").expect("packet");
    assert_eq!(first, packets[0]);
    let first_len = packets[0].encoded_len().expect("valid");
    assert!(stream.len() - input.len() <= first_len + 4);
}
