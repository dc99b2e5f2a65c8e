//! Golden byte vectors, annotated field by field and worked out by hand from the spec: every
//! performative, the SASL bodies, and messages. Each is checked in both directions (encoding
//! gives exactly these bytes; decoding gives back the same value), into `Vec<u8>` and
//! `BytesMut`.

use hubwire_amqp::{
    encode_amqp_frame, encode_sasl_frame, AmqpError, AmqpFrame, Attach, Begin, Body, Bytes,
    BytesMut, Close, Decode, DeliveryState, Detach, Disposition, Encode, End, ErrorCondition,
    Fields, Flow, Frame, Header, Map, Message, MessageId, Open, Performative, Properties,
    ReceiverSettleMode, Role, SaslCode, SaslFrame, SaslInit, SaslMechanisms, SaslOutcome, Source,
    Str, Symbol, Transfer, Value,
};

fn sym(s: &'static str) -> Symbol {
    Symbol::from_static(s).expect("ascii")
}

/// `body` framed: size, DOFF 2, type, channel.
fn framed(frame_type: u8, channel: u16, body: &[u8]) -> Vec<u8> {
    let size = u32::try_from(body.len() + 8).expect("small");
    let mut v = size.to_be_bytes().to_vec();
    v.extend_from_slice(&[2, frame_type]);
    v.extend_from_slice(&channel.to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// Checks a performative both ways, bare and framed on `channel` with `payload`.
fn check(p: impl Into<Performative>, body: &[u8], channel: u16, payload: &[u8]) {
    let p = p.into();
    assert_eq!(&p.to_bytes().expect("encodes")[..], body, "body of {p:?}");
    assert_eq!(
        Performative::decode(Bytes::copy_from_slice(body)),
        Ok(p.clone())
    );

    let mut full = body.to_vec();
    full.extend_from_slice(payload);
    let frame = framed(0, channel, &full);
    let mut out = Vec::new();
    let n = encode_amqp_frame(&mut out, channel, &p, payload).expect("encodes");
    assert_eq!(out, frame, "frame of {p:?}");
    assert_eq!(n, frame.len());
    let mut out2 = BytesMut::new();
    encode_amqp_frame(&mut out2, channel, &p, payload).expect("encodes");
    assert_eq!(&out2[..], &frame[..]);
    assert_eq!(
        Frame::decode(Bytes::from(frame)),
        Ok(Frame::Amqp(AmqpFrame {
            channel,
            performative: Some(p),
            payload: Bytes::copy_from_slice(payload),
        }))
    );
}

fn check_sasl(s: impl Into<SaslFrame>, body: &[u8]) {
    let s = s.into();
    let frame = framed(1, 0, body);
    let mut out = Vec::new();
    encode_sasl_frame(&mut out, &s).expect("encodes");
    assert_eq!(out, frame, "{s:?}");
    assert_eq!(Frame::decode(Bytes::from(frame)), Ok(Frame::Sasl(s)));
}

fn check_message(m: &Message, bytes: &[u8]) {
    assert_eq!(&m.to_bytes().expect("encodes")[..], bytes);
    let mut out = BytesMut::new();
    m.encode(&mut out).expect("encodes");
    assert_eq!(&out[..], bytes);
    assert_eq!(
        Message::decode(Bytes::copy_from_slice(bytes)).as_ref(),
        Ok(m)
    );
}

#[test]
fn open() {
    let open = Open {
        container_id: Str::from("c1"),
        hostname: Some(Str::from("h")),
        max_frame_size: 65536,
        channel_max: 8191,
        idle_time_out: Some(240_000),
        ..Open::default()
    };
    #[rustfmt::skip]
    let body = [
        0x00, 0x53, 0x10,             // descriptor: smallulong 0x10 (open)
        0xc0, 0x15, 0x05,             // list8, size 21, 5 fields (trailing defaults omitted)
        0xa1, 0x02, b'c', b'1',       // container-id: str8 "c1"
        0xa1, 0x01, b'h',             // hostname: str8 "h"
        0x70, 0x00, 0x01, 0x00, 0x00, // max-frame-size: uint 65536
        0x60, 0x1f, 0xff,             // channel-max: ushort 8191
        0x70, 0x00, 0x03, 0xa9, 0x80, // idle-time-out: uint 240000
    ];
    check(open, &body, 0, &[]);
}

#[test]
fn open_defaults_are_omitted() {
    // max-frame-size and channel-max at their defaults become null, and trailing nulls go.
    #[rustfmt::skip]
    let body = [
        0x00, 0x53, 0x10,
        0xc0, 0x05, 0x01,             // one field
        0xa1, 0x02, b'c', b'1',
    ];
    check(Open::new("c1"), &body, 0, &[]);
    // A default in the middle is written as null.
    let open = Open {
        idle_time_out: Some(0),
        ..Open::new("c1")
    };
    #[rustfmt::skip]
    let body = [
        0x00, 0x53, 0x10,
        0xc0, 0x09, 0x05,
        0xa1, 0x02, b'c', b'1',
        0x40,                         // hostname: null
        0x40,                         // max-frame-size: default → null
        0x40,                         // channel-max: default → null
        0x43,                         // idle-time-out: uint0
    ];
    check(open, &body, 0, &[]);
}

#[test]
fn begin() {
    let begin = Begin {
        remote_channel: Some(0),
        next_outgoing_id: 1,
        incoming_window: 5000,
        outgoing_window: u32::MAX,
        handle_max: 262_143,
        ..Begin::default()
    };
    #[rustfmt::skip]
    let body = [
        0x00, 0x53, 0x11,             // begin
        0xc0, 0x15, 0x05,
        0x60, 0x00, 0x00,             // remote-channel: ushort 0
        0x52, 0x01,                   // next-outgoing-id: smalluint 1
        0x70, 0x00, 0x00, 0x13, 0x88, // incoming-window: 5000
        0x70, 0xff, 0xff, 0xff, 0xff, // outgoing-window: 4294967295
        0x70, 0x00, 0x03, 0xff, 0xff, // handle-max: 262143
    ];
    check(begin, &body, 1, &[]);
}

#[test]
fn attach() {
    let attach = Attach {
        rcv_settle_mode: ReceiverSettleMode::Second,
        source: Some(Source::with_address("/s")),
        ..Attach::new("l", 0, Role::Receiver)
    };
    #[rustfmt::skip]
    let body = [
        0x00, 0x53, 0x12,             // attach
        0xc0, 0x13, 0x06,             // list8, size 19, 6 fields
        0xa1, 0x01, b'l',             // name
        0x43,                         // handle: uint0
        0x41,                         // role: true (receiver)
        0x40,                         // snd-settle-mode: default (mixed) → null
        0x50, 0x01,                   // rcv-settle-mode: ubyte 1 (second)
        0x00, 0x53, 0x28,             // source
        0xc0, 0x05, 0x01,
        0xa1, 0x02, b'/', b's',       //   address
    ];
    check(attach, &body, 0, &[]);
}

#[test]
fn attach_with_properties_and_capabilities() {
    let mut props = Fields::new();
    props.push(sym("k"), Value::from("v"));
    let attach = Attach {
        max_message_size: Some(65536),
        offered_capabilities: vec![sym("a"), sym("bc")],
        desired_capabilities: vec![sym("d")],
        properties: Some(props),
        ..Attach::new("n", 1, Role::Sender)
    };
    #[rustfmt::skip]
    let body = [
        0x00, 0x53, 0x12,
        0xc0, 0x2c, 0x0e,             // size 44, all 14 fields
        0xa1, 0x01, b'n',
        0x52, 0x01,                   // handle 1
        0x42,                         // role: false (sender)
        0x40, 0x40, 0x40, 0x40, 0x40, // settle modes, source, target, unsettled
        0x40,                         // incomplete-unsettled: default
        0x40,                         // initial-delivery-count
        0x80, 0, 0, 0, 0, 0, 1, 0, 0, // max-message-size: ulong 65536
        0xe0, 0x07, 0x02, 0xa3,       // offered-capabilities: array8 of sym8, 2 elements
        0x01, b'a', 0x02, b'b', b'c',
        0xa3, 0x01, b'd',             // desired-capabilities: one → a single symbol
        0xc1, 0x07, 0x02,             // properties: map8, 2 elements
        0xa3, 0x01, b'k', 0xa1, 0x01, b'v',
    ];
    check(attach, &body, 0, &[]);
}

#[test]
fn flow() {
    let flow = Flow {
        incoming_window: 100,
        handle: Some(1),
        delivery_count: Some(0),
        link_credit: Some(50),
        ..Flow::default()
    };
    #[rustfmt::skip]
    let body = [
        0x00, 0x53, 0x13,             // flow
        0xc0, 0x0b, 0x07,
        0x40,                         // next-incoming-id: null
        0x52, 0x64,                   // incoming-window 100
        0x43,                         // next-outgoing-id 0
        0x43,                         // outgoing-window 0
        0x52, 0x01,                   // handle 1
        0x43,                         // delivery-count 0
        0x52, 0x32,                   // link-credit 50
    ];
    check(flow, &body, 0, &[]);
}

#[test]
fn transfer_with_payload() {
    let transfer = Transfer {
        settled: Some(false),
        ..Transfer::new(0, 1, Bytes::from_static(&[0, 0, 0, 1]))
    };
    #[rustfmt::skip]
    let body = [
        0x00, 0x53, 0x14,             // transfer
        0xc0, 0x0c, 0x05,
        0x43,                         // handle 0
        0x52, 0x01,                   // delivery-id 1
        0xa0, 0x04, 0, 0, 0, 1,       // delivery-tag: vbin8
        0x43,                         // message-format 0
        0x42,                         // settled false
    ];
    check(transfer, &body, 5, b"message bytes");
}

#[test]
fn transfer_continuation() {
    let transfer = Transfer {
        handle: 300,
        more: true,
        ..Transfer::default()
    };
    #[rustfmt::skip]
    let body = [
        0x00, 0x53, 0x14,
        0xc0, 0x0b, 0x06,
        0x70, 0x00, 0x00, 0x01, 0x2c, // handle 300
        0x40, 0x40, 0x40, 0x40,       // delivery-id, tag, format, settled
        0x41,                         // more
    ];
    check(transfer, &body, 0, &[0xaa; 10]);
}

#[test]
fn disposition() {
    let d = Disposition {
        role: Role::Receiver,
        first: 0,
        last: None,
        settled: true,
        state: Some(DeliveryState::Accepted),
        batchable: false,
    };
    #[rustfmt::skip]
    let body = [
        0x00, 0x53, 0x15,             // disposition
        0xc0, 0x09, 0x05,
        0x41,                         // role: receiver
        0x43,                         // first 0
        0x40,                         // last: null
        0x41,                         // settled
        0x00, 0x53, 0x24, 0x45,       // state: accepted (list0)
    ];
    check(d, &body, 0, &[]);
}

#[test]
fn disposition_rejected_and_released() {
    let d = Disposition {
        role: Role::Receiver,
        first: 7,
        last: Some(9),
        settled: true,
        state: Some(DeliveryState::rejected(AmqpError::new(
            ErrorCondition::new(sym("x:y")),
            Some(Str::from("no")),
        ))),
        batchable: false,
    };
    #[rustfmt::skip]
    let body = [
        0x00, 0x53, 0x15,
        0xc0, 0x1c, 0x05,             // size 28
        0x41, 0x52, 0x07, 0x52, 0x09, 0x41,
        0x00, 0x53, 0x25,             // rejected
        0xc0, 0x10, 0x01,
        0x00, 0x53, 0x1d,             //   error
        0xc0, 0x0a, 0x02,
        0xa3, 0x03, b'x', b':', b'y', //     condition
        0xa1, 0x02, b'n', b'o',       //     description
    ];
    check(d, &body, 0, &[]);

    let d = Disposition {
        role: Role::Receiver,
        first: 1,
        state: Some(DeliveryState::Released),
        ..Disposition::default()
    };
    #[rustfmt::skip]
    let body = [
        0x00, 0x53, 0x15,
        0xc0, 0x0a, 0x05,
        0x41, 0x52, 0x01, 0x40, 0x40, // last null, settled default
        0x00, 0x53, 0x26, 0x45,       // released
    ];
    check(d, &body, 0, &[]);
}

#[test]
fn detach_end_close() {
    let detach = Detach {
        handle: 2,
        closed: true,
        error: Some(AmqpError::new(ErrorCondition::DETACH_FORCED, None)),
    };
    let mut body = vec![
        0x00, 0x53, 0x16, // detach
        0xc0, 0x23, 0x03, // size 35
        0x52, 0x02, // handle 2
        0x41, // closed
        0x00, 0x53, 0x1d, // error
        0xc0, 0x1a, 0x01, // size 26, condition only
        0xa3, 0x17, // sym8, 23 bytes
    ];
    body.extend_from_slice(b"amqp:link:detach-forced");
    check(detach, &body, 0, &[]);

    check(End { error: None }, &[0x00, 0x53, 0x17, 0x45], 3, &[]);
    check(Close { error: None }, &[0x00, 0x53, 0x18, 0x45], 0, &[]);
}

#[test]
fn heartbeat() {
    let mut out = Vec::new();
    assert_eq!(hubwire_amqp::encode_empty_frame(&mut out, 0), 8);
    assert_eq!(out, [0, 0, 0, 8, 2, 0, 0, 0]);
    assert_eq!(
        Frame::decode(Bytes::from(out)),
        Ok(Frame::Amqp(AmqpFrame::heartbeat()))
    );
}

#[test]
fn sasl() {
    let mut body = vec![
        0x00, 0x53, 0x40, // sasl-mechanisms
        0xc0, 0x15, 0x01, // size 21, one field
        0xe0, 0x12, 0x02, 0xa3, // array8, size 18, 2 × sym8
        0x09,
    ];
    body.extend_from_slice(b"ANONYMOUS");
    body.push(0x05);
    body.extend_from_slice(b"PLAIN");
    check_sasl(
        SaslMechanisms {
            sasl_server_mechanisms: vec![sym("ANONYMOUS"), sym("PLAIN")],
        },
        &body,
    );

    let mut body = vec![0x00, 0x53, 0x41, 0xc0, 0x0c, 0x01, 0xa3, 0x09];
    body.extend_from_slice(b"ANONYMOUS");
    check_sasl(SaslInit::anonymous(), &body);

    #[rustfmt::skip]
    let body = [
        0x00, 0x53, 0x41,
        0xc0, 0x0f, 0x02,
        0xa3, 0x05, b'P', b'L', b'A', b'I', b'N',
        0xa0, 0x05, 0, b'u', 0, b'p', b'w',      // initial-response: NUL u NUL pw
    ];
    check_sasl(SaslInit::plain("u", "pw"), &body);

    check_sasl(
        SaslOutcome {
            code: SaslCode::Ok,
            additional_data: None,
        },
        &[0x00, 0x53, 0x44, 0xc0, 0x03, 0x01, 0x50, 0x00],
    );
}

/// The W2 message for i = 0 (WORKLOADS.md), without the payload bytes.
fn w2_sections_prefix() -> Vec<u8> {
    let mut v = vec![
        0x00, 0x53, 0x73, // properties
        0xc0, 0x26, 0x08, // list8, size 38, 8 fields
        0xa1, 0x05, b'm', b's', b'g', b'-', b'0', // message-id: str8 "msg-0"
        0x40, 0x40, 0x40, 0x40, // user-id, to, subject, reply-to
        0x44, // correlation-id: ulong0
        0xa3, 0x10, // content-type: sym8 (16)
    ];
    v.extend_from_slice(b"application/json");
    v.extend_from_slice(&[0xa3, 0x05]);
    v.extend_from_slice(b"utf-8");
    v.extend_from_slice(&[
        0x00, 0x53, 0x74, // application-properties
        0xc1, 0x21, 0x06, // map8, size 33, 6 elements
        0xa1, 0x05, b'l', b'e', b'v', b'e', b'l', 0xa1, 0x08,
    ]);
    v.extend_from_slice(b"critical");
    v.extend_from_slice(&[0xa1, 0x03, b's', b'e', b'q', 0x54, 0x00]); // seq: smallint 0
    v.extend_from_slice(&[0xa1, 0x05, b'a', b'l', b'e', b'r', b't', 0x41]); // alert: true
    v.extend_from_slice(&[0x00, 0x53, 0x75, 0xb0, 0x00, 0x00, 0x01, 0x00]); // data: vbin32 256
    v
}

#[test]
fn message_w2_shape() {
    let payload: Vec<u8> = (0..=255u8).collect();
    let mut app = Map::new();
    app.push(Str::from("level"), Value::from("critical"));
    app.push(Str::from("seq"), Value::Int(0));
    app.push(Str::from("alert"), Value::Bool(true));
    let m = Message {
        properties: Some(Properties {
            message_id: Some(MessageId::String(Str::from("msg-0"))),
            correlation_id: Some(MessageId::Ulong(0)),
            content_type: Some(sym("application/json")),
            content_encoding: Some(sym("utf-8")),
            ..Properties::default()
        }),
        application_properties: Some(app),
        body: Body::data(payload.clone()),
        ..Message::default()
    };
    let mut bytes = w2_sections_prefix();
    bytes.extend_from_slice(&payload);
    assert_eq!(bytes.len(), 345);
    check_message(&m, &bytes);
}

#[test]
fn message_header_annotations_value_footer() {
    let mut ann = hubwire_amqp::Annotations::new();
    ann.push(sym("x").into(), Value::Ulong(300));
    let mut footer = hubwire_amqp::Annotations::new();
    footer.push(7u64.into(), Value::Null);
    let m = Message {
        header: Some(Header {
            durable: true,
            ttl: Some(1000),
            ..Header::default()
        }),
        message_annotations: Some(ann),
        body: Body::Value(Value::List(vec![Value::Bool(false), Value::from("é")])),
        footer: Some(footer),
        ..Message::default()
    };
    #[rustfmt::skip]
    let bytes = [
        0x00, 0x53, 0x70,             // header
        0xc0, 0x08, 0x03,
        0x41,                         // durable
        0x40,                         // priority: default 4 → null
        0x70, 0x00, 0x00, 0x03, 0xe8, // ttl 1000
        0x00, 0x53, 0x72,             // message-annotations
        0xc1, 0x0d, 0x02,
        0xa3, 0x01, b'x',
        0x80, 0, 0, 0, 0, 0, 0, 0x01, 0x2c, // ulong 300
        0x00, 0x53, 0x77,             // amqp-value
        0xc0, 0x06, 0x02,             // list8
        0x42,                         // false
        0xa1, 0x02, 0xc3, 0xa9,       // "é"
        0x00, 0x53, 0x78,             // footer
        0xc1, 0x04, 0x02,
        0x53, 0x07, 0x40,             // key: smallulong 7 → null
    ];
    check_message(&m, &bytes);
}

#[test]
fn message_sequences_and_empty() {
    let m = Message {
        body: Body::Sequence(vec![vec![], vec![Value::Uint(1)]]),
        ..Message::default()
    };
    let bytes = [
        0x00, 0x53, 0x76, 0x45, // amqp-sequence: list0
        0x00, 0x53, 0x76, 0xc0, 0x03, 0x01, 0x52, 0x01, // amqp-sequence: [1]
    ];
    check_message(&m, &bytes);
    check_message(&Message::default(), &[]);
}

#[test]
fn large_compounds_use_32_bit_forms() {
    // A list whose body exceeds 254 bytes is widened in place.
    let s = Str::from("a".repeat(253));
    let v = Value::List(vec![Value::String(s.clone())]);
    let bytes = v.to_bytes().expect("encodes");
    // str8 of 253 bytes = 255 bytes of body: too big for list8 (size would be 256).
    assert_eq!(&bytes[..9], &[0xd0, 0, 0, 1, 3, 0, 0, 0, 1]);
    assert_eq!(bytes.len(), 9 + 255);
    assert_eq!(Value::decode(bytes), Ok(v));
    // One byte less fits list8 exactly: size 255.
    let v = Value::List(vec![Value::String(Str::from("a".repeat(252)))]);
    let bytes = v.to_bytes().expect("encodes");
    assert_eq!(&bytes[..3], &[0xc0, 0xff, 0x01]);
    assert_eq!(Value::decode(bytes), Ok(v));
    // 256 elements need list32 even though each is one byte.
    let v = Value::List(vec![Value::Null; 256]);
    let bytes = v.to_bytes().expect("encodes");
    assert_eq!(&bytes[..9], &[0xd0, 0, 0, 1, 4, 0, 0, 1, 0]);
    assert_eq!(Value::decode(bytes), Ok(v));
}
