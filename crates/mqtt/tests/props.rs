//! Property tests: encode→decode round trips over arbitrary valid packets, canonical
//! re-encoding, and no panics on arbitrary or mutated bytes anywhere in the stack.

use std::time::Duration;

use bytes::Bytes;
use hubwire_mqtt::{
    Client, ClientConfig, ConnAck, Connect, ConnectReturnCode, Decoder, LastWill, MqttString,
    Packet, PacketId, Password, PubAck, PubComp, PubRec, PubRel, Publish, QoS, ServerConfig,
    ServerSession, SubAck, Subscribe, SubscribeFilter, SubscribeReturnCode, TopicFilter, TopicName,
    UnsubAck, Unsubscribe,
};
use proptest::prelude::*;

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

fn packet_id() -> impl Strategy<Value = PacketId> {
    (1u16..=u16::MAX).prop_map(|v| PacketId::new(v).expect("non-zero"))
}

fn mqtt_string() -> impl Strategy<Value = MqttString> {
    "[^\u{0}]{0,12}".prop_map(|s| MqttString::new(&s).expect("valid"))
}

fn topic_name() -> impl Strategy<Value = TopicName> {
    "[^\u{0}+#]{1,24}".prop_map(|s| TopicName::new(&s).expect("valid"))
}

fn topic_filter() -> impl Strategy<Value = TopicFilter> {
    let level = prop_oneof![Just("+".to_owned()), "[^\u{0}+#/]{0,6}"];
    (prop::collection::vec(level, 1..5), any::<bool>())
        .prop_map(|(mut levels, hash)| {
            if hash {
                levels.push("#".to_owned());
            }
            levels.join("/")
        })
        .prop_filter("filters are non-empty", |s| !s.is_empty())
        .prop_map(|s| TopicFilter::new(&s).expect("valid"))
}

fn payload() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..300).prop_map(Bytes::from)
}

fn publish() -> impl Strategy<Value = Publish> {
    (
        qos(),
        packet_id(),
        any::<bool>(),
        any::<bool>(),
        topic_name(),
        payload(),
    )
        .prop_map(|(qos, id, dup, retain, topic, payload)| Publish {
            dup: dup && qos != QoS::AtMostOnce,
            qos,
            retain,
            topic,
            packet_id: (qos != QoS::AtMostOnce).then_some(id),
            payload,
        })
}

fn connect() -> impl Strategy<Value = Connect> {
    let will = (topic_name(), payload(), qos(), any::<bool>()).prop_map(
        |(topic, payload, qos, retain)| LastWill {
            topic,
            payload,
            qos,
            retain,
        },
    );
    (
        mqtt_string(),
        any::<bool>(),
        any::<u16>(),
        prop::option::of(will),
        prop::option::of(mqtt_string()),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..40)),
    )
        .prop_map(
            |(client_id, clean_session, keep_alive, will, username, password)| {
                // A password needs a user name (MQTT-3.1.2-22).
                let password = password.filter(|_| username.is_some()).map(Password::from);
                Connect {
                    client_id,
                    clean_session,
                    keep_alive,
                    will,
                    username,
                    password,
                }
            },
        )
}

fn return_code() -> impl Strategy<Value = ConnectReturnCode> {
    (0u8..=5).prop_map(|v| ConnectReturnCode::from_u8(v).expect("valid"))
}

fn suback_code() -> impl Strategy<Value = SubscribeReturnCode> {
    prop_oneof![
        qos().prop_map(SubscribeReturnCode::Success),
        Just(SubscribeReturnCode::Failure)
    ]
}

fn packet() -> impl Strategy<Value = Packet> {
    prop_oneof![
        connect().prop_map(Packet::Connect),
        (any::<bool>(), return_code()).prop_map(|(sp, code)| Packet::ConnAck(ConnAck {
            session_present: sp && code == ConnectReturnCode::Accepted,
            code
        })),
        publish().prop_map(Packet::Publish),
        packet_id().prop_map(|id| Packet::PubAck(PubAck::new(id))),
        packet_id().prop_map(|id| Packet::PubRec(PubRec::new(id))),
        packet_id().prop_map(|id| Packet::PubRel(PubRel::new(id))),
        packet_id().prop_map(|id| Packet::PubComp(PubComp::new(id))),
        (
            packet_id(),
            prop::collection::vec(
                (topic_filter(), qos()).prop_map(|(f, q)| SubscribeFilter::new(f, q)),
                1..5
            )
        )
            .prop_map(|(packet_id, filters)| Packet::Subscribe(Subscribe { packet_id, filters })),
        (packet_id(), prop::collection::vec(suback_code(), 1..5)).prop_map(
            |(packet_id, return_codes)| Packet::SubAck(SubAck {
                packet_id,
                return_codes
            })
        ),
        (packet_id(), prop::collection::vec(topic_filter(), 1..5)).prop_map(
            |(packet_id, filters)| Packet::Unsubscribe(Unsubscribe { packet_id, filters })
        ),
        packet_id().prop_map(|id| Packet::UnsubAck(UnsubAck::new(id))),
        Just(Packet::PingReq),
        Just(Packet::PingResp),
        Just(Packet::Disconnect),
    ]
}

/// Feeds `bytes` to a decoder cut at `cuts` (positions taken modulo the length); returns the
/// packets decoded before the end or the first error.
fn decode_split(bytes: &[u8], cuts: &[usize]) -> Result<Vec<Packet>, hubwire_mqtt::DecodeError> {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (bytes.len() + 1)).collect();
    points.push(0);
    points.push(bytes.len());
    points.sort_unstable();
    let mut decoder = Decoder::new(4096);
    let mut out = Vec::new();
    for w in points.windows(2) {
        let mut input = &bytes[w[0]..w[1]];
        while let Some(p) = decoder.decode(&mut input)? {
            out.push(p);
        }
        assert!(input.is_empty());
    }
    Ok(out)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 512,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn encode_decode_round_trip(p in packet()) {
        let mut out = Vec::new();
        let n = p.encode(&mut out).expect("valid packets encode");
        prop_assert_eq!(n, out.len());
        prop_assert_eq!(p.encoded_len(), Ok(n));
        let decoded = Packet::decode(Bytes::from(out)).expect("decodes");
        prop_assert_eq!(decoded, p);
    }

    #[test]
    fn stream_round_trip_with_random_splits(
        packets in prop::collection::vec(packet(), 1..6),
        cuts in prop::collection::vec(any::<usize>(), 0..8),
    ) {
        let mut stream = Vec::new();
        for p in &packets {
            p.encode(&mut stream).expect("encodes");
        }
        prop_assert_eq!(decode_split(&stream, &cuts).expect("valid stream"), packets);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_accepted_bytes_are_canonical(
        bytes in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        if let Ok(p) = Packet::decode(Bytes::from(bytes.clone())) {
            // The decoder is strict, so anything it accepts is the one canonical encoding.
            prop_assert_eq!(p.to_bytes().expect("decoded packets encode"), Bytes::from(bytes));
        }
    }

    #[test]
    fn mutated_packets_never_panic(
        p in packet(),
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..4),
        truncate in any::<usize>(),
        cuts in prop::collection::vec(any::<usize>(), 0..4),
    ) {
        let mut bytes = p.to_bytes().expect("encodes").to_vec();
        for (pos, val) in flips {
            let i = pos % bytes.len();
            bytes[i] = val;
        }
        bytes.truncate(truncate % (bytes.len() + 1));
        if let Ok(decoded) = Packet::decode(Bytes::from(bytes.clone())) {
            prop_assert_eq!(decoded.to_bytes().expect("encodes"), Bytes::from(bytes.clone()));
        }
        let _ = decode_split(&bytes, &cuts);
    }

    #[test]
    fn cores_never_panic_on_arbitrary_input(
        prefix in packet(),
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..6),
        dt in 0u64..100_000,
    ) {
        let now = Duration::from_millis(dt);
        let mut server = ServerSession::new(ServerConfig::default(), Duration::ZERO);
        let mut client = Client::new(ClientConfig::default());
        client
            .connect(Duration::ZERO, Connect::new(MqttString::new("d").expect("valid")))
            .expect("connect");
        // A valid packet first so the cores get past their initial state some of the time.
        let first = prefix.to_bytes().expect("encodes");
        let _ = server.handle_bytes(now, &first);
        let _ = client.handle_bytes(now, &first);
        if let Some(hubwire_mqtt::ServerEvent::Connect(_)) = server.poll_event() {
            let _ = server.accept(now, false);
        }
        for chunk in &chunks {
            let _ = server.handle_bytes(now, chunk);
            let _ = client.handle_bytes(now, chunk);
            server.handle_timeout(now);
            client.handle_timeout(now);
        }
        let mut out = Vec::new();
        let _ = server.poll_transmit(&mut out);
        let _ = client.poll_transmit(&mut out);
        while server.poll_event().is_some() {}
        while client.poll_event().is_some() {}
        // Whatever the cores emit is itself valid MQTT.
        let mut rest = &out[..];
        let mut d = Decoder::default();
        while let Some(_p) = d.decode(&mut rest).expect("cores emit valid packets") {}
    }
}
