//! The W2 benchmark frame (shared/bench/WORKLOADS.md) built with this crate's types: its exact
//! bytes (worked out by hand), size and FNV-1a fingerprint; our decoder reading rhea's frame 0;
//! and `fixtures/hubwire.txt`, our encodings that tests/amqp-golden/check.js decodes with rhea.

use hubwire_amqp::{
    encode_amqp_frame, encode_sasl_frame, encode_transfer_frame, AmqpError, AmqpFrame, Attach,
    Begin, Body, Bytes, Close, Decode, DeliveryState, Detach, Disposition, Encode, ErrorCondition,
    Fields, Flow, Frame, Map, Message, MessageId, Open, Performative, Properties, Role, SaslFrame,
    SaslInit, SaslMechanisms, SaslOutcome, Source, Str, Symbol, Target, Transfer, Value,
};

fn payload() -> Vec<u8> {
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
    bytes.iter().fold(0x811c_9dc5, |h, &b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    })
}

fn sym(s: &'static str) -> Symbol {
    Symbol::from_static(s).expect("ascii")
}

/// W2 message i, as the workload defines it.
fn w2_message(i: u32, payload: &Bytes) -> Message {
    let mut app = Map::with_capacity(3);
    app.push(
        Str::from_static("level"),
        Value::String(Str::from_static("critical")),
    );
    app.push(Str::from_static("seq"), Value::Int(i as i32));
    app.push(Str::from_static("alert"), Value::Bool(true));
    Message {
        properties: Some(Properties {
            message_id: Some(MessageId::String(Str::from(format!("msg-{i}")))),
            correlation_id: Some(MessageId::Ulong(u64::from(i))),
            content_type: Some(sym("application/json")),
            content_encoding: Some(sym("utf-8")),
            ..Properties::default()
        }),
        application_properties: Some(app),
        body: Body::Data(vec![payload.clone()]),
        ..Message::default()
    }
}

fn w2_transfer(i: u32) -> Transfer {
    Transfer {
        settled: Some(false),
        ..Transfer::new(0, i, Bytes::copy_from_slice(&i.to_be_bytes()))
    }
}

/// Frame 0, byte by byte.
fn expected_frame0() -> Vec<u8> {
    let mut v = vec![
        0x00, 0x00, 0x01, 0x71, // size 369
        0x02, 0x00, 0x00, 0x00, // doff 2, AMQP, channel 0
        0x00, 0x53, 0x14, 0xc0, 0x0b, 0x05, // transfer, list8 size 11, 5 fields
        0x43, // handle 0
        0x43, // delivery-id 0
        0xa0, 0x04, 0, 0, 0, 0,    // delivery-tag
        0x43, // message-format 0
        0x42, // settled false
        0x00, 0x53, 0x73, 0xc0, 0x26, 0x08, // properties, size 38, 8 fields
        0xa1, 0x05, b'm', b's', b'g', b'-', b'0', // message-id
        0x40, 0x40, 0x40, 0x40, // user-id, to, subject, reply-to
        0x44, // correlation-id: ulong0
        0xa3, 0x10,
    ];
    v.extend_from_slice(b"application/json");
    v.extend_from_slice(&[0xa3, 0x05]);
    v.extend_from_slice(b"utf-8");
    v.extend_from_slice(&[0x00, 0x53, 0x74, 0xc1, 0x21, 0x06, 0xa1, 0x05]);
    v.extend_from_slice(b"level");
    v.extend_from_slice(&[0xa1, 0x08]);
    v.extend_from_slice(b"critical");
    v.extend_from_slice(&[0xa1, 0x03, b's', b'e', b'q', 0x54, 0x00, 0xa1, 0x05]);
    v.extend_from_slice(b"alert");
    v.push(0x41);
    v.extend_from_slice(&[0x00, 0x53, 0x75, 0xb0, 0x00, 0x00, 0x01, 0x00]);
    v.extend_from_slice(&payload());
    v
}

/// Our frame 0: 369 bytes, FNV-1a 32 `1614fe12`. fe2o3-amqp-types 0.18 produces the identical
/// bytes (checked in a side-by-side run); rhea's frame is 391 bytes because it always writes an
/// empty `header` section and list32/map32 forms.
const W2_FRAME0_SIZE: usize = 369;
const W2_FRAME0_FNV1A: u32 = 0x1614_fe12;

#[test]
fn w2_frame0_bytes_size_and_fingerprint() {
    let payload = Bytes::from(payload());
    assert_eq!(
        &payload[..8],
        &[0xa5, 0xa3, 0xc4, 0x98, 0x88, 0x4d, 0x1d, 0x29]
    );
    assert_eq!(
        &payload[246..],
        &[0xe8, 0xe0, 0x13, 0x3f, 0xc1, 0x2b, 0x14, 0x64, 0xd3, 0xe9]
    );
    let expected = expected_frame0();
    assert_eq!(expected.len(), W2_FRAME0_SIZE);
    assert_eq!(
        fnv1a(&expected),
        W2_FRAME0_FNV1A,
        "{:#010x}",
        fnv1a(&expected)
    );

    // One pass: the message encoded straight into the frame.
    let mut one = Vec::new();
    encode_transfer_frame(&mut one, 0, &w2_transfer(0), &w2_message(0, &payload)).expect("encodes");
    assert_eq!(one, expected);
    // The workload's order: message first, then the frame around it.
    let msg = w2_message(0, &payload).to_bytes().expect("encodes");
    let mut two = Vec::new();
    encode_amqp_frame(&mut two, 0, &w2_transfer(0), &msg).expect("encodes");
    assert_eq!(two, expected);
}

#[test]
fn w2_frame0_decodes() {
    let payload = Bytes::from(payload());
    let Frame::Amqp(AmqpFrame {
        channel: 0,
        performative: Some(Performative::Transfer(t)),
        payload: body,
    }) = Frame::decode(Bytes::from(expected_frame0())).expect("decodes")
    else {
        panic!("not a transfer");
    };
    assert_eq!(t, w2_transfer(0));
    assert_eq!(
        Message::decode(body).expect("decodes"),
        w2_message(0, &payload)
    );
}

#[test]
fn rhea_w2_frame0_decodes_here() {
    let line = include_str!("fixtures/rhea.txt")
        .lines()
        .find_map(|l| l.strip_prefix("w2_frame0 "))
        .expect("fixture");
    let bytes: Vec<u8> = (0..line.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&line[i..i + 2], 16).expect("hex"))
        .collect();
    assert_eq!(bytes.len(), 391, "rhea's size per WORKLOADS.md");
    let Frame::Amqp(AmqpFrame {
        performative: Some(Performative::Transfer(t)),
        payload: body,
        ..
    }) = Frame::decode(Bytes::from(bytes)).expect("decodes")
    else {
        panic!("not a transfer");
    };
    assert_eq!(t, w2_transfer(0));
    let m = Message::decode(body).expect("decodes");
    // rhea adds an empty header section; everything else is the same message.
    assert_eq!(m.header, Some(hubwire_amqp::Header::default()));
    let expected = w2_message(0, &Bytes::from(payload()));
    assert_eq!(Message { header: None, ..m }, expected);
}

#[test]
fn w2_checksum_over_a_few_frames() {
    // The combined loop's checksum term: delivery-id + seq + data length.
    let payload = Bytes::from(payload());
    let mut sum = 0u64;
    for i in 0..1000u32 {
        let mut frame = Vec::new();
        encode_transfer_frame(&mut frame, 0, &w2_transfer(i), &w2_message(i, &payload))
            .expect("encodes");
        let Frame::Amqp(AmqpFrame {
            performative: Some(Performative::Transfer(t)),
            payload: body,
            ..
        }) = Frame::decode(Bytes::from(frame)).expect("decodes")
        else {
            panic!()
        };
        let m = Message::decode(body).expect("decodes");
        let seq = m
            .application_properties
            .as_ref()
            .and_then(|a| a.get("seq"))
            .and_then(Value::as_i64)
            .expect("seq");
        let len = m.body.single_data().map(Bytes::len).expect("data");
        sum += u64::from(t.delivery_id.expect("id")) + seq as u64 + len as u64;
    }
    // Σ (2i + 256) for i < 1000.
    assert_eq!(sum, 999 * 1000 + 256 * 1000);
}

/// Our encodings of a set of frames and messages, for tests/amqp-golden/check.js (rhea
/// decodes them and checks their fields). The committed file must match the encoder.
fn hubwire_cases() -> Vec<(&'static str, Vec<u8>)> {
    let payload = Bytes::from(payload());
    let frame = |channel: u16, p: Performative| {
        let mut v = Vec::new();
        encode_amqp_frame(&mut v, channel, &p, &[]).expect("encodes");
        v
    };
    let sasl = |s: SaslFrame| {
        let mut v = Vec::new();
        encode_sasl_frame(&mut v, &s).expect("encodes");
        v
    };
    let mut props = Fields::new();
    props.push(
        sym("com.microsoft:client-version"),
        Value::from("hubwire/0.1"),
    );
    let mut cbs_app = Map::new();
    cbs_app.push(Str::from("operation"), Value::from("put-token"));
    cbs_app.push(
        Str::from("type"),
        Value::from("servicebus.windows.net:sastoken"),
    );
    cbs_app.push(Str::from("name"), Value::from("hub.example/devices/d1"));
    let cbs = Message {
        properties: Some(Properties {
            message_id: Some(MessageId::Ulong(1)),
            to: Some(Str::from("$cbs")),
            reply_to: Some(Str::from("cbs")),
            ..Properties::default()
        }),
        application_properties: Some(cbs_app),
        body: Body::Value(Value::from("SharedAccessSignature sr=x&sig=y&se=1")),
        ..Message::default()
    };
    let mut w2 = Vec::new();
    encode_transfer_frame(&mut w2, 0, &w2_transfer(0), &w2_message(0, &payload)).expect("encodes");
    vec![
        ("w2_frame0", w2),
        (
            "open",
            frame(
                0,
                Open {
                    hostname: Some(Str::from("hub.example")),
                    max_frame_size: 65536,
                    channel_max: 7,
                    idle_time_out: Some(120_000),
                    offered_capabilities: vec![sym("A"), sym("B")],
                    properties: Some(props.clone()),
                    ..Open::new("hubwire-1")
                }
                .into(),
            ),
        ),
        (
            "begin",
            frame(
                1,
                Begin {
                    remote_channel: Some(3),
                    next_outgoing_id: 0,
                    incoming_window: 5000,
                    outgoing_window: u32::MAX,
                    handle_max: 262_143,
                    ..Begin::default()
                }
                .into(),
            ),
        ),
        (
            "attach",
            frame(
                1,
                Attach {
                    source: Some(Source::with_address("link-source")),
                    target: Some(Target::with_address("/devices/d1/messages/events")),
                    initial_delivery_count: Some(0),
                    max_message_size: Some(1_048_576),
                    properties: Some(props),
                    ..Attach::new("snd-1", 2, Role::Sender)
                }
                .into(),
            ),
        ),
        (
            "flow",
            frame(
                1,
                Flow {
                    next_incoming_id: Some(0),
                    incoming_window: 5000,
                    next_outgoing_id: 0,
                    outgoing_window: 100,
                    handle: Some(2),
                    delivery_count: Some(0),
                    link_credit: Some(100),
                    ..Flow::default()
                }
                .into(),
            ),
        ),
        (
            "disposition",
            frame(
                1,
                Disposition {
                    role: Role::Receiver,
                    first: 4,
                    last: Some(6),
                    settled: true,
                    state: Some(DeliveryState::Accepted),
                    batchable: false,
                }
                .into(),
            ),
        ),
        (
            "detach",
            frame(
                1,
                Detach {
                    handle: 2,
                    closed: true,
                    error: Some(AmqpError::new(
                        ErrorCondition::MESSAGE_SIZE_EXCEEDED,
                        Some(Str::from("too big")),
                    )),
                }
                .into(),
            ),
        ),
        ("close", frame(0, Close { error: None }.into())),
        (
            "sasl_mechanisms",
            sasl(
                SaslMechanisms {
                    sasl_server_mechanisms: vec![sym("ANONYMOUS"), sym("PLAIN")],
                }
                .into(),
            ),
        ),
        (
            "sasl_init",
            sasl(SaslInit::plain("d1@sas.hub", "pw").into()),
        ),
        (
            "sasl_outcome",
            sasl(
                SaslOutcome {
                    code: hubwire_amqp::SaslCode::Auth,
                    additional_data: None,
                }
                .into(),
            ),
        ),
        ("msg_cbs", cbs.to_bytes().expect("encodes").to_vec()),
    ]
}

fn hubwire_fixture_text() -> String {
    let mut s =
        String::from("# hubwire-amqp encodings, decoded by tests/amqp-golden/check.js with rhea\n");
    for (name, bytes) in hubwire_cases() {
        s.push_str(name);
        s.push(' ');
        for b in bytes {
            s.push_str(&format!("{b:02x}"));
        }
        s.push('\n');
    }
    s
}

#[test]
fn hubwire_fixture_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/hubwire.txt");
    let text = hubwire_fixture_text();
    // Regenerate with HUBWIRE_WRITE_FIXTURES=1 after an intended encoding change.
    if std::env::var_os("HUBWIRE_WRITE_FIXTURES").is_some() {
        std::fs::write(path, &text).expect("writes fixture");
    }
    let committed = std::fs::read_to_string(path).expect("fixture exists");
    assert_eq!(committed, text, "tests/fixtures/hubwire.txt is stale");
}
