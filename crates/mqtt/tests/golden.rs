//! Golden byte vectors: every packet type, annotated field by field, checked in both
//! directions (encode gives exactly these bytes, decode gives back the same value).

use bytes::Bytes;
use hubwire_mqtt::{
    ConnAck, Connect, ConnectReturnCode, LastWill, MqttString, Packet, PacketId, Password, PubAck,
    PubComp, PubRec, PubRel, Publish, QoS, SubAck, Subscribe, SubscribeFilter, SubscribeReturnCode,
    TopicFilter, TopicName, UnsubAck, Unsubscribe,
};

fn id(v: u16) -> PacketId {
    PacketId::new(v).expect("non-zero id")
}

fn topic(s: &'static str) -> TopicName {
    TopicName::from_static(s).expect("valid topic")
}

fn filter(s: &'static str) -> TopicFilter {
    TopicFilter::from_static(s).expect("valid filter")
}

fn s(v: &'static str) -> MqttString {
    MqttString::from_static(v).expect("valid string")
}

/// Encodes `packet`, compares with `bytes`, decodes `bytes` and compares with `packet`.
fn check(packet: Packet, bytes: &[u8]) {
    let mut out = Vec::new();
    let n = packet.encode(&mut out).expect("encodes");
    assert_eq!(out, bytes, "encoding of {packet:?}");
    assert_eq!(n, bytes.len());
    assert_eq!(packet.encoded_len(), Ok(bytes.len()));
    let decoded = Packet::decode(Bytes::copy_from_slice(bytes)).expect("decodes");
    assert_eq!(decoded, packet);
    // The BytesMut encoder produces the same bytes.
    let mut out2 = bytes::BytesMut::new();
    packet.encode(&mut out2).expect("encodes");
    assert_eq!(&out2[..], bytes);
}

#[test]
fn connect_minimal() {
    let packet = Packet::Connect(Connect::new(s("c1")));
    #[rustfmt::skip]
    let bytes = [
        0x10, 0x0e,                         // CONNECT, remaining length 14
        0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
        0x04,                               // protocol level 4 (3.1.1)
        0x02,                               // flags: clean session
        0x00, 0x3c,                         // keep-alive 60 s
        0x00, 0x02, b'c', b'1',             // client id "c1"
    ];
    check(packet, &bytes);
}

#[test]
fn connect_full() {
    let packet = Packet::Connect(Connect {
        client_id: s("d"),
        clean_session: false,
        keep_alive: 240,
        will: Some(LastWill {
            topic: topic("w/t"),
            payload: Bytes::from_static(b"bye"),
            qos: QoS::AtLeastOnce,
            retain: true,
        }),
        username: Some(s("u")),
        password: Some(Password::from("p")),
    });
    #[rustfmt::skip]
    let bytes = [
        0x10, 0x1d,                         // CONNECT, remaining length 29
        0x00, 0x04, b'M', b'Q', b'T', b'T', // protocol name
        0x04,                               // level 4
        0xec,                               // user | password | will retain | will QoS 1 | will
        0x00, 0xf0,                         // keep-alive 240 s
        0x00, 0x01, b'd',                   // client id
        0x00, 0x03, b'w', b'/', b't',       // will topic
        0x00, 0x03, b'b', b'y', b'e',       // will payload
        0x00, 0x01, b'u',                   // user name
        0x00, 0x01, b'p',                   // password
    ];
    check(packet, &bytes);
}

#[test]
fn connack() {
    check(
        Packet::ConnAck(ConnAck {
            session_present: true,
            code: ConnectReturnCode::Accepted,
        }),
        // CONNACK, length 2, session present, accepted
        &[0x20, 0x02, 0x01, 0x00],
    );
    check(
        Packet::ConnAck(ConnAck {
            session_present: false,
            code: ConnectReturnCode::NotAuthorized,
        }),
        // CONNACK, length 2, no session, 0x05 not authorized (IoT Hub's answer to a bad SAS)
        &[0x20, 0x02, 0x00, 0x05],
    );
}

#[test]
fn publish_qos0() {
    #[rustfmt::skip]
    let bytes = [
        0x30, 0x07,                   // PUBLISH QoS 0, remaining length 7
        0x00, 0x03, b'a', b'/', b'b', // topic
        b'h', b'i',                   // payload
    ];
    check(
        Packet::Publish(Publish::new(topic("a/b"), Bytes::from_static(b"hi"))),
        &bytes,
    );
}

#[test]
fn publish_qos1_dup_retain() {
    let mut p = Publish::at_least_once(topic("a/b"), Bytes::from_static(b"hi"), id(0x1234));
    p.dup = true;
    p.retain = true;
    #[rustfmt::skip]
    let bytes = [
        0x3b, 0x09,                   // PUBLISH | DUP | QoS 1 | RETAIN, length 9
        0x00, 0x03, b'a', b'/', b'b', // topic
        0x12, 0x34,                   // packet id 0x1234
        b'h', b'i',                   // payload
    ];
    check(Packet::Publish(p), &bytes);
}

#[test]
fn publish_qos2_empty_payload() {
    let mut p = Publish::new(topic("a/b"), Bytes::new());
    p.qos = QoS::ExactlyOnce;
    p.packet_id = Some(id(1));
    #[rustfmt::skip]
    let bytes = [
        0x34, 0x07,                   // PUBLISH QoS 2, length 7
        0x00, 0x03, b'a', b'/', b'b', // topic
        0x00, 0x01,                   // packet id 1, empty payload
    ];
    check(Packet::Publish(p), &bytes);
}

#[test]
fn publish_remaining_length_boundaries() {
    // Remaining length 127 uses one byte, 128 two, 16 383 two, 16 384 three, 2 097 152 four.
    for (rl, header) in [
        (127usize, &[0x30u8, 0x7f][..]),
        (128, &[0x30, 0x80, 0x01]),
        (16_383, &[0x30, 0xff, 0x7f]),
        (16_384, &[0x30, 0x80, 0x80, 0x01]),
        (2_097_151, &[0x30, 0xff, 0xff, 0x7f]),
        (2_097_152, &[0x30, 0x80, 0x80, 0x80, 0x01]),
    ] {
        let payload = Bytes::from(vec![0xaa; rl - 3]);
        let packet = Packet::Publish(Publish::new(topic("t"), payload));
        let bytes = packet.to_bytes().expect("encodes");
        assert_eq!(&bytes[..header.len()], header, "remaining length {rl}");
        assert_eq!(bytes.len(), header.len() + rl);
        assert_eq!(Packet::decode(bytes), Ok(packet));
    }
}

#[test]
fn id_only_packets() {
    // PUBACK, PUBREC, PUBREL (flags 0b0010), PUBCOMP, UNSUBACK — each: type, length 2, id 7.
    check(
        Packet::PubAck(PubAck::new(id(7))),
        &[0x40, 0x02, 0x00, 0x07],
    );
    check(
        Packet::PubRec(PubRec::new(id(7))),
        &[0x50, 0x02, 0x00, 0x07],
    );
    check(
        Packet::PubRel(PubRel::new(id(7))),
        &[0x62, 0x02, 0x00, 0x07],
    );
    check(
        Packet::PubComp(PubComp::new(id(7))),
        &[0x70, 0x02, 0x00, 0x07],
    );
    check(
        Packet::UnsubAck(UnsubAck::new(id(0xbeef))),
        &[0xb0, 0x02, 0xbe, 0xef],
    );
}

#[test]
fn subscribe() {
    let packet = Packet::Subscribe(Subscribe {
        packet_id: id(10),
        filters: vec![
            SubscribeFilter::new(filter("a/+"), QoS::AtLeastOnce),
            SubscribeFilter::new(filter("#"), QoS::AtMostOnce),
        ],
    });
    #[rustfmt::skip]
    let bytes = [
        0x82, 0x0c,                   // SUBSCRIBE (flags 0b0010), length 12
        0x00, 0x0a,                   // packet id 10
        0x00, 0x03, b'a', b'/', b'+', // filter "a/+"
        0x01,                         //   requested QoS 1
        0x00, 0x01, b'#',             // filter "#"
        0x00,                         //   requested QoS 0
    ];
    check(packet, &bytes);
}

#[test]
fn suback() {
    let packet = Packet::SubAck(SubAck {
        packet_id: id(10),
        return_codes: vec![
            SubscribeReturnCode::Success(QoS::AtLeastOnce),
            SubscribeReturnCode::Success(QoS::AtMostOnce),
            SubscribeReturnCode::Failure,
        ],
    });
    #[rustfmt::skip]
    let bytes = [
        0x90, 0x05,       // SUBACK, length 5
        0x00, 0x0a,       // packet id 10
        0x01, 0x00, 0x80, // granted QoS 1, granted QoS 0, failure
    ];
    check(packet, &bytes);
}

#[test]
fn unsubscribe() {
    let packet = Packet::Unsubscribe(Unsubscribe {
        packet_id: id(11),
        filters: vec![filter("a/+")],
    });
    #[rustfmt::skip]
    let bytes = [
        0xa2, 0x07,                   // UNSUBSCRIBE (flags 0b0010), length 7
        0x00, 0x0b,                   // packet id 11
        0x00, 0x03, b'a', b'/', b'+', // filter
    ];
    check(packet, &bytes);
}

#[test]
fn empty_packets() {
    check(Packet::PingReq, &[0xc0, 0x00]);
    check(Packet::PingResp, &[0xd0, 0x00]);
    check(Packet::Disconnect, &[0xe0, 0x00]);
}

#[test]
fn iot_hub_connect_prefix() {
    // The first bytes of the CONNECT in the protocol reference (§4.2): device1, keep-alive 240,
    // flags 0xc0 (user name + password, clean session 0), a 165-byte SAS token.
    let user = "contoso.azure-devices.net/device1/?api-version=2021-04-12";
    let password = "x".repeat(213 - 10 - 9 - 2 - user.len() - 2);
    let connect = Connect {
        client_id: s("device1"),
        clean_session: false,
        keep_alive: 240,
        will: None,
        username: Some(MqttString::new(user).expect("valid")),
        password: Some(Password::from(password)),
    };
    let bytes = Packet::Connect(connect).to_bytes().expect("encodes");
    assert_eq!(
        &bytes[..20],
        &[
            0x10, 0xd5, 0x01, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0xc0, 0x00, 0xf0, 0x00,
            0x07, 0x64, 0x65, 0x76, 0x69, 0x63
        ]
    );
}

/// W1's payload: xorshift32 from 0x12345678, low byte of each new state.
fn w1_payload() -> Vec<u8> {
    let mut s: u32 = 0x1234_5678;
    (0..256)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s as u8
        })
        .collect()
}

fn fnv1a(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5u32, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

#[test]
fn w1_packet_zero() {
    let payload = w1_payload();
    assert_eq!(
        &payload[..8],
        &[0xa5, 0xa3, 0xc4, 0x98, 0x88, 0x4d, 0x1d, 0x29]
    );
    assert_eq!(
        &payload[246..],
        &[0xe8, 0xe0, 0x13, 0x3f, 0xc1, 0x2b, 0x14, 0x64, 0xd3, 0xe9]
    );
    let topic =
        topic("devices/dev1/messages/events/%24.ct=application%2Fjson&%24.ce=utf-8&temp=high");
    assert_eq!(topic.len(), 77);
    let publish = Publish::at_least_once(topic, Bytes::from(payload), id(1));
    let mut out = Vec::new();
    assert_eq!(publish.encode(&mut out), Ok(340));
    assert_eq!(out.len(), 340);
    assert_eq!(&out[..3], &[0x32, 0xd1, 0x02]);
    assert_eq!(format!("{:08x}", fnv1a(&out)), "6e7edf1e");
    let decoded = Packet::decode(Bytes::from(out)).expect("decodes");
    assert_eq!(decoded, Packet::Publish(publish));
}

#[test]
fn debug_redacts_secrets_and_payloads() {
    let connect = Connect {
        username: Some(s("user")),
        password: Some(Password::from("SharedAccessSignature sr=secret-token")),
        will: Some(LastWill {
            topic: topic("w"),
            payload: Bytes::from_static(b"will-body-text"),
            qos: QoS::AtMostOnce,
            retain: false,
        }),
        ..Connect::new(s("dev"))
    };
    let text = format!("{connect:?}");
    assert!(!text.contains("secret-token"), "{text}");
    assert!(text.contains("<redacted>"), "{text}");
    assert!(!text.contains("will-body-text"), "{text}");
    let text = format!("{:?}", Packet::Connect(connect));
    assert!(!text.contains("secret-token"), "{text}");

    let publish = Publish::new(topic("t"), Bytes::from_static(b"payload-content"));
    let text = format!("{publish:?}");
    assert!(!text.contains("payload-content"), "{text}");
    assert!(text.contains("payload_len: 15"), "{text}");
}
