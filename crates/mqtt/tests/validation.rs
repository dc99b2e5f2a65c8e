//! Every validation rule of the codec, one case (or more) per error variant.

use bytes::Bytes;
use hubwire_mqtt::{
    ConnAck, Connect, ConnectReturnCode, DecodeError, Decoder, EncodeError, LastWill, MqttString,
    Packet, PacketId, PacketType, Password, Publish, QoS, StringError, SubAck, Subscribe,
    TopicError, TopicFilter, TopicName, Unsubscribe, MAX_REMAINING_LENGTH,
};

fn decode(bytes: &[u8]) -> Result<Packet, DecodeError> {
    Packet::decode(Bytes::copy_from_slice(bytes))
}

/// Also runs the incremental decoder over the same bytes and checks it agrees (when the
/// input is a complete packet).
fn decode_err(bytes: &[u8]) -> DecodeError {
    let err = decode(bytes).expect_err("must be rejected");
    let mut decoder = Decoder::default();
    let mut input = bytes;
    assert_eq!(decoder.decode(&mut input), Err(err.clone()), "{bytes:02x?}");
    err
}

/// A CONNECT with the given flags byte and payload.
fn connect_bytes(name: &[u8], level: u8, flags: u8, payload: &[u8]) -> Vec<u8> {
    let mut body = vec![0, name.len() as u8];
    body.extend_from_slice(name);
    body.push(level);
    body.push(flags);
    body.extend_from_slice(&[0, 60]);
    body.extend_from_slice(payload);
    let mut out = vec![0x10, body.len() as u8];
    out.extend(body);
    out
}

#[test]
fn reserved_packet_types() {
    assert_eq!(decode_err(&[0x00, 0x00]), DecodeError::InvalidPacketType(0));
    assert_eq!(
        decode_err(&[0xf0, 0x00]),
        DecodeError::InvalidPacketType(15)
    );
}

#[test]
fn reserved_flag_bits_for_every_type() {
    for t in 1u8..=14 {
        let packet_type = PacketType::from_u8(t).expect("valid type");
        let Some(required) = packet_type.required_flags() else {
            continue;
        };
        for flags in 0u8..16 {
            if flags == required {
                continue;
            }
            let err = decode_err(&[(t << 4) | flags, 0x00]);
            assert_eq!(
                err,
                DecodeError::InvalidFlags { packet_type, flags },
                "type {t} flags {flags:04b}"
            );
        }
    }
}

#[test]
fn publish_flags() {
    // QoS 3.
    assert_eq!(decode_err(&[0x36, 0x00]), DecodeError::InvalidQoS);
    // DUP with QoS 0 (MQTT-3.3.1-2).
    assert_eq!(
        decode_err(&[0x38, 0x03, 0x00, 0x01, b'a']),
        DecodeError::InvalidFlags {
            packet_type: PacketType::Publish,
            flags: 0x08
        }
    );
}

#[test]
fn remaining_length_form() {
    assert_eq!(
        decode_err(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]),
        DecodeError::RemainingLengthTooLong
    );
    // Rejected as soon as the fifth length byte is visible, without more input.
    let mut d = Decoder::default();
    let mut input: &[u8] = &[0x30, 0x80, 0x80, 0x80, 0x80];
    assert_eq!(
        d.decode(&mut input),
        Err(DecodeError::RemainingLengthTooLong)
    );
    assert_eq!(
        decode_err(&[0xc0, 0x80, 0x00]),
        DecodeError::NonMinimalRemainingLength
    );
    assert_eq!(
        decode_err(&[0x30, 0x83, 0x80, 0x00]),
        DecodeError::NonMinimalRemainingLength
    );
}

#[test]
fn packet_too_large_in_read() {
    let mut buf = bytes::BytesMut::from(&[0x30u8, 0xff, 0x01][..]);
    assert_eq!(
        Packet::read(&mut buf, 200),
        Err(DecodeError::PacketTooLarge {
            size: 258,
            max: 200
        })
    );
}

#[test]
fn one_shot_boundaries() {
    assert_eq!(decode(&[]), Err(DecodeError::Incomplete));
    assert_eq!(decode(&[0x30, 0x80]), Err(DecodeError::Incomplete));
    assert_eq!(decode(&[0x40, 0x02, 0x00]), Err(DecodeError::Incomplete));
    assert_eq!(
        decode(&[0xc0, 0x00, 0xc0]),
        Err(DecodeError::BytesAfterPacket)
    );
}

#[test]
fn fields_running_past_the_packet() {
    assert_eq!(
        decode_err(&[0x40, 0x01, 0x00]),
        DecodeError::UnexpectedEnd(PacketType::PubAck)
    );
    // Topic length 5 inside a 3-byte remaining length.
    assert_eq!(
        decode_err(&[0x30, 0x03, 0x00, 0x05, b'a']),
        DecodeError::UnexpectedEnd(PacketType::Publish)
    );
    // QoS 1 PUBLISH without room for the packet id.
    assert_eq!(
        decode_err(&[0x32, 0x04, 0x00, 0x01, b'a', 0x00]),
        DecodeError::UnexpectedEnd(PacketType::Publish)
    );
    assert_eq!(
        decode_err(&[0x20, 0x01, 0x00]),
        DecodeError::UnexpectedEnd(PacketType::ConnAck)
    );
    // CONNECT cut inside the client id.
    let mut c = connect_bytes(b"MQTT", 4, 0x02, &[0x00, 0x05, b'a']);
    c[1] = (c.len() - 2) as u8;
    assert_eq!(
        decode_err(&c),
        DecodeError::UnexpectedEnd(PacketType::Connect)
    );
    // SUBSCRIBE filter without its options byte.
    assert_eq!(
        decode_err(&[0x82, 0x05, 0x00, 0x01, 0x00, 0x01, b'a']),
        DecodeError::UnexpectedEnd(PacketType::Subscribe)
    );
}

#[test]
fn trailing_bytes_inside_a_packet() {
    assert_eq!(
        decode_err(&[0x40, 0x03, 0x00, 0x01, 0x00]),
        DecodeError::TrailingBytes(PacketType::PubAck)
    );
    assert_eq!(
        decode_err(&[0xc0, 0x01, 0x00]),
        DecodeError::TrailingBytes(PacketType::PingReq)
    );
    assert_eq!(
        decode_err(&[0xe0, 0x01, 0x00]),
        DecodeError::TrailingBytes(PacketType::Disconnect)
    );
    assert_eq!(
        decode_err(&[0x20, 0x03, 0x00, 0x00, 0x00]),
        DecodeError::TrailingBytes(PacketType::ConnAck)
    );
    let c = connect_bytes(b"MQTT", 4, 0x02, &[0x00, 0x01, b'a', 0xff]);
    assert_eq!(
        decode_err(&c),
        DecodeError::TrailingBytes(PacketType::Connect)
    );
}

#[test]
fn connect_protocol_name_and_level() {
    let ok = connect_bytes(b"MQTT", 4, 0x02, &[0x00, 0x01, b'a']);
    assert!(decode(&ok).is_ok());
    assert_eq!(
        decode_err(&connect_bytes(b"MQIsdp", 3, 0x02, &[0x00, 0x01, b'a'])),
        DecodeError::InvalidProtocolName
    );
    assert_eq!(
        decode_err(&connect_bytes(b"MQTX", 4, 0x02, &[0x00, 0x01, b'a'])),
        DecodeError::InvalidProtocolName
    );
    assert_eq!(
        decode_err(&connect_bytes(b"MQTT", 5, 0x02, &[0x00, 0x01, b'a'])),
        DecodeError::UnsupportedProtocolLevel(5)
    );
}

#[test]
fn connect_flag_rules() {
    let id = [0x00, 0x01, b'a'];
    assert_eq!(
        decode_err(&connect_bytes(b"MQTT", 4, 0x03, &id)),
        DecodeError::ConnectReservedFlag
    );
    // Will QoS without the will flag, will retain without the will flag, will QoS 3.
    for flags in [0x08, 0x10, 0x20, 0x1c] {
        assert_eq!(
            decode_err(&connect_bytes(b"MQTT", 4, flags, &id)),
            DecodeError::InvalidWillFlags,
            "flags {flags:#04x}"
        );
    }
    assert_eq!(
        decode_err(&connect_bytes(b"MQTT", 4, 0x42, &id)),
        DecodeError::PasswordWithoutUsername
    );
    // Will topic with a wildcard.
    let payload = [0x00, 0x01, b'a', 0x00, 0x01, b'#', 0x00, 0x00];
    assert_eq!(
        decode_err(&connect_bytes(b"MQTT", 4, 0x04, &payload)),
        DecodeError::InvalidTopicName(TopicError::Wildcard)
    );
}

#[test]
fn connect_string_rules() {
    // Invalid UTF-8, U+0000, an encoded surrogate (U+D800), in the client id.
    assert_eq!(
        decode_err(&connect_bytes(b"MQTT", 4, 0x02, &[0x00, 0x01, 0xff])),
        DecodeError::InvalidString(StringError::InvalidUtf8)
    );
    assert_eq!(
        decode_err(&connect_bytes(b"MQTT", 4, 0x02, &[0x00, 0x02, b'a', 0x00])),
        DecodeError::InvalidString(StringError::NullCharacter)
    );
    assert_eq!(
        decode_err(&connect_bytes(
            b"MQTT",
            4,
            0x02,
            &[0x00, 0x03, 0xed, 0xa0, 0x80]
        )),
        DecodeError::InvalidString(StringError::InvalidUtf8)
    );
    // User name with U+0000.
    let payload = [0x00, 0x01, b'a', 0x00, 0x01, 0x00];
    assert_eq!(
        decode_err(&connect_bytes(b"MQTT", 4, 0x82, &payload)),
        DecodeError::InvalidString(StringError::NullCharacter)
    );
}

#[test]
fn connack_rules() {
    assert_eq!(
        decode_err(&[0x20, 0x02, 0x02, 0x00]),
        DecodeError::InvalidConnAckFlags(0x02)
    );
    // Session present together with a refusal (MQTT-3.2.2-4).
    assert_eq!(
        decode_err(&[0x20, 0x02, 0x01, 0x05]),
        DecodeError::InvalidConnAckFlags(0x01)
    );
    assert_eq!(
        decode_err(&[0x20, 0x02, 0x00, 0x06]),
        DecodeError::InvalidConnectReturnCode(6)
    );
}

#[test]
fn zero_packet_ids() {
    assert_eq!(
        decode_err(&[0x40, 0x02, 0x00, 0x00]),
        DecodeError::ZeroPacketId
    );
    assert_eq!(
        decode_err(&[0xb0, 0x02, 0x00, 0x00]),
        DecodeError::ZeroPacketId
    );
    assert_eq!(
        decode_err(&[0x32, 0x05, 0x00, 0x01, b'a', 0x00, 0x00]),
        DecodeError::ZeroPacketId
    );
    assert_eq!(
        decode_err(&[0x82, 0x06, 0x00, 0x00, 0x00, 0x01, b'a', 0x00]),
        DecodeError::ZeroPacketId
    );
}

#[test]
fn publish_topic_rules() {
    for (topic, err) in [
        (&b"a+"[..], TopicError::Wildcard),
        (b"a/#", TopicError::Wildcard),
        (b"", TopicError::Empty),
        (b"a\0", TopicError::NullCharacter),
        (b"\xff", TopicError::InvalidUtf8),
        (b"\xed\xa0\x80", TopicError::InvalidUtf8),
    ] {
        let mut bytes = vec![0x30, (2 + topic.len()) as u8, 0x00, topic.len() as u8];
        bytes.extend_from_slice(topic);
        assert_eq!(
            decode_err(&bytes),
            DecodeError::InvalidTopicName(err),
            "{topic:?}"
        );
    }
}

#[test]
fn subscribe_rules() {
    assert_eq!(
        decode_err(&[0x82, 0x02, 0x00, 0x01]),
        DecodeError::EmptySubscribe
    );
    assert_eq!(
        decode_err(&[0xa2, 0x02, 0x00, 0x01]),
        DecodeError::EmptyUnsubscribe
    );
    assert_eq!(
        decode_err(&[0x90, 0x02, 0x00, 0x01]),
        DecodeError::EmptySubAck
    );
    // Requested QoS 3, and reserved option bits.
    for options in [0x03u8, 0x04, 0x80] {
        assert_eq!(
            decode_err(&[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', options]),
            DecodeError::InvalidSubscribeOptions(options)
        );
    }
    for code in [0x03u8, 0x7f, 0x81, 0xff] {
        assert_eq!(
            decode_err(&[0x90, 0x03, 0x00, 0x01, code]),
            DecodeError::InvalidSubscribeReturnCode(code)
        );
    }
    for filter in [&b"a#"[..], b"a/b+", b"#/a", b"+a"] {
        let mut bytes = vec![
            0x82,
            (5 + filter.len()) as u8,
            0x00,
            0x01,
            0x00,
            filter.len() as u8,
        ];
        bytes.extend_from_slice(filter);
        bytes.push(0x00);
        assert_eq!(
            decode_err(&bytes),
            DecodeError::InvalidTopicFilter(TopicError::MisplacedWildcard),
            "{filter:?}"
        );
        let mut bytes = vec![
            0xa2,
            (4 + filter.len()) as u8,
            0x00,
            0x01,
            0x00,
            filter.len() as u8,
        ];
        bytes.extend_from_slice(filter);
        assert_eq!(
            decode_err(&bytes),
            DecodeError::InvalidTopicFilter(TopicError::MisplacedWildcard),
            "{filter:?}"
        );
    }
    assert_eq!(
        decode_err(&[0x82, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00]),
        DecodeError::InvalidTopicFilter(TopicError::Empty)
    );
}

#[test]
fn decoder_errors_are_sticky() {
    let mut d = Decoder::default();
    let mut input: &[u8] = &[0x40, 0x02, 0x00, 0x00];
    assert_eq!(d.decode(&mut input), Err(DecodeError::ZeroPacketId));
    let mut input: &[u8] = &[0xc0, 0x00];
    assert_eq!(d.decode(&mut input), Err(DecodeError::ZeroPacketId));
}

fn topic(s: &str) -> TopicName {
    TopicName::new(s).expect("valid")
}

/// Encoding `p` fails with `err` and writes nothing.
fn encode_err(p: Packet, err: EncodeError) {
    let mut out = vec![0xaa];
    assert_eq!(p.encode(&mut out), Err(err.clone()));
    assert_eq!(out, [0xaa], "nothing written");
    assert_eq!(p.encoded_len(), Err(err));
}

#[test]
fn encode_validation() {
    let id = PacketId::new(1).expect("non-zero");
    let mut p = Publish::new(topic("t"), Bytes::new());
    p.qos = QoS::AtLeastOnce;
    encode_err(
        Packet::Publish(p.clone()),
        EncodeError::MissingPacketId(QoS::AtLeastOnce),
    );
    p.qos = QoS::AtMostOnce;
    p.packet_id = Some(id);
    encode_err(Packet::Publish(p.clone()), EncodeError::UnexpectedPacketId);
    p.packet_id = None;
    p.dup = true;
    encode_err(Packet::Publish(p), EncodeError::DupWithQoS0);

    let mut c = Connect::new(MqttString::new("c").expect("valid"));
    c.password = Some(Password::from("p"));
    encode_err(
        Packet::Connect(c.clone()),
        EncodeError::PasswordWithoutUsername,
    );
    c.username = Some(MqttString::new("u").expect("valid"));
    c.password = Some(Password::from(vec![0u8; 65_536]));
    encode_err(
        Packet::Connect(c.clone()),
        EncodeError::FieldTooLong {
            field: "password",
            len: 65_536,
        },
    );
    c.password = None;
    c.will = Some(LastWill {
        topic: topic("w"),
        payload: Bytes::from(vec![0u8; 70_000]),
        qos: QoS::AtMostOnce,
        retain: false,
    });
    encode_err(
        Packet::Connect(c),
        EncodeError::FieldTooLong {
            field: "will payload",
            len: 70_000,
        },
    );

    encode_err(
        Packet::ConnAck(ConnAck {
            session_present: true,
            code: ConnectReturnCode::ServerUnavailable,
        }),
        EncodeError::SessionPresentWithRefusal,
    );
    encode_err(
        Packet::Subscribe(Subscribe {
            packet_id: id,
            filters: vec![],
        }),
        EncodeError::EmptySubscribe,
    );
    encode_err(
        Packet::Unsubscribe(Unsubscribe {
            packet_id: id,
            filters: vec![],
        }),
        EncodeError::EmptyUnsubscribe,
    );
    encode_err(
        Packet::SubAck(SubAck {
            packet_id: id,
            return_codes: vec![],
        }),
        EncodeError::EmptySubAck,
    );
}

#[test]
fn encode_rejects_oversized_packet() {
    // The zeroed allocation is lazily mapped; encoding fails before touching it.
    let payload = Bytes::from(vec![0u8; MAX_REMAINING_LENGTH]);
    let p = Packet::Publish(Publish::new(topic("t"), payload));
    encode_err(p, EncodeError::PacketTooLarge(MAX_REMAINING_LENGTH + 3));
}

#[test]
fn string_constructors() {
    assert_eq!(MqttString::new("a\0b"), Err(StringError::NullCharacter));
    assert_eq!(
        MqttString::new(&"x".repeat(65_536)),
        Err(StringError::TooLong(65_536))
    );
    assert!(MqttString::new(&"x".repeat(65_535)).is_ok());
    assert_eq!(
        MqttString::from_bytes(Bytes::from_static(b"\xc3")),
        Err(StringError::InvalidUtf8)
    );
    assert_eq!(MqttString::new("héllo").expect("valid").as_str(), "héllo");
    assert!(MqttString::new("").expect("valid").is_empty());
}

#[test]
fn topic_name_constructors() {
    assert_eq!(TopicName::new(""), Err(TopicError::Empty));
    assert_eq!(TopicName::new("a/+/b"), Err(TopicError::Wildcard));
    assert_eq!(TopicName::new("a/#"), Err(TopicError::Wildcard));
    assert_eq!(TopicName::new("a\0"), Err(TopicError::NullCharacter));
    assert_eq!(
        TopicName::new(&"t".repeat(65_536)),
        Err(TopicError::TooLong(65_536))
    );
    for ok in [
        "/",
        "a",
        "a//b",
        "$iothub/twin/res/200/?$rid=1",
        "devices/d/messages/events/",
    ] {
        assert_eq!(TopicName::new(ok).expect("valid").as_str(), ok);
    }
}

#[test]
fn topic_filter_rules() {
    for ok in [
        "#",
        "+",
        "a/#",
        "+/+/#",
        "/",
        "a//b",
        "+/",
        "/+",
        "a/+/c",
        "$iothub/methods/POST/#",
    ] {
        assert!(TopicFilter::new(ok).is_ok(), "{ok}");
    }
    for bad in ["a#", "#/", "a/#/b", "a+", "+a", "++", "a/b#", "##"] {
        assert_eq!(
            TopicFilter::new(bad),
            Err(TopicError::MisplacedWildcard),
            "{bad}"
        );
    }
    assert_eq!(TopicFilter::new(""), Err(TopicError::Empty));
}

#[test]
fn topic_filter_matching() {
    let m = |f: &str, t: &str| {
        TopicFilter::new(f)
            .expect("valid filter")
            .matches(&TopicName::new(t).expect("valid topic"))
    };
    assert!(m("a/+", "a/b"));
    assert!(!m("a/+", "a/b/c"));
    assert!(!m("a/+", "a"));
    assert!(m("a/#", "a"));
    assert!(m("a/#", "a/b/c"));
    assert!(m("#", "a/b"));
    assert!(m("+/+", "/x"));
    assert!(!m("#", "$iothub/twin"));
    assert!(!m("+/twin", "$iothub/twin"));
    assert!(m("$iothub/twin/res/#", "$iothub/twin/res/200/?$rid=1"));
    assert!(m(
        "devices/d1/messages/devicebound/#",
        "devices/d1/messages/devicebound/%24.mid=1&%24.to=%2Fdevices%2Fd1"
    ));
    assert!(!m(
        "devices/d1/messages/devicebound/#",
        "devices/d2/messages/devicebound/"
    ));
    assert!(m("a/b", "a/b"));
    assert!(!m("a/b", "a/b/"));
}

#[test]
fn packet_id_and_qos() {
    assert_eq!(PacketId::new(0), None);
    assert_eq!(
        PacketId::new(65_535).expect("non-zero").next(),
        PacketId::MIN
    );
    assert_eq!(QoS::from_u8(3), None);
    assert_eq!(QoS::from_u8(1), Some(QoS::AtLeastOnce));
}
