//! The incremental frame decoder: a whole connection's byte stream (SASL header, SASL frames,
//! AMQP header, performatives, a transfer, heartbeats) cut at every possible point, fed byte by
//! byte, and the framing errors, which must be reported before an oversized frame is buffered.

use hubwire_amqp::{
    encode_amqp_frame, encode_empty_frame, encode_sasl_frame, encode_transfer_frame, Attach, Begin,
    Bytes, Close, DecodeError, Frame, FrameDecoder, FrameError, Incoming, Message, Open,
    Performative, ProtocolHeader, Role, SaslCode, SaslFrame, SaslInit, SaslMechanisms, SaslOutcome,
    Symbol, Target, Transfer, MIN_MAX_FRAME_SIZE,
};

/// A client → hub stream: SASL header, init, AMQP header, open, begin, attach, a transfer,
/// a heartbeat, close.
fn client_stream() -> (Vec<u8>, usize) {
    let mut s = Vec::new();
    s.extend_from_slice(&ProtocolHeader::SASL.to_bytes());
    encode_sasl_frame(&mut s, &SaslInit::anonymous()).expect("encodes");
    s.extend_from_slice(&ProtocolHeader::AMQP.to_bytes());
    encode_amqp_frame(&mut s, 0, &Open::new("client-1"), &[]).expect("encodes");
    let begin = Begin {
        next_outgoing_id: 1,
        incoming_window: 100,
        outgoing_window: 100,
        ..Begin::default()
    };
    encode_amqp_frame(&mut s, 0, &begin, &[]).expect("encodes");
    let attach = Attach {
        target: Some(Target::with_address("/devices/d1/messages/events")),
        initial_delivery_count: Some(0),
        ..Attach::new("snd", 0, Role::Sender)
    };
    encode_amqp_frame(&mut s, 0, &attach, &[]).expect("encodes");
    let transfer = Transfer::new(0, 0, Bytes::from_static(b"t0"));
    encode_transfer_frame(&mut s, 0, &transfer, &Message::with_data(vec![7u8; 300]))
        .expect("encodes");
    encode_empty_frame(&mut s, 0);
    encode_amqp_frame(&mut s, 0, &Close { error: None }, &[]).expect("encodes");
    (s, 9)
}

/// Feeds `chunks` to a decoder, switching to header mode after the SASL exchange as an engine
/// would, and returns everything decoded.
fn decode_chunks<'a>(
    chunks: impl IntoIterator<Item = &'a [u8]>,
    max: u32,
) -> Result<Vec<Incoming>, FrameError> {
    let mut d = FrameDecoder::new(max);
    let mut out = Vec::new();
    for chunk in chunks {
        let mut input = chunk;
        while let Some(item) = d.decode(&mut input)? {
            // After sasl-init the client sends the AMQP header (no outcome in this one-sided
            // stream): the engine tells the decoder.
            if matches!(&item, Incoming::Frame(Frame::Sasl(_))) {
                d.expect_header();
            }
            out.push(item);
        }
        assert!(input.is_empty(), "Ok(None) only once the input is used up");
    }
    assert_eq!(
        d.buffered(),
        0,
        "nothing left over at the end of the stream"
    );
    Ok(out)
}

fn check_items(items: &[Incoming]) {
    assert_eq!(items.len(), 9);
    assert_eq!(items[0], Incoming::Header(ProtocolHeader::SASL));
    assert_eq!(
        items[1],
        Incoming::Frame(Frame::Sasl(SaslFrame::Init(SaslInit::anonymous())))
    );
    assert_eq!(items[2], Incoming::Header(ProtocolHeader::AMQP));
    let Incoming::Frame(Frame::Amqp(open)) = &items[3] else {
        panic!()
    };
    assert_eq!(
        open.performative,
        Some(Performative::from(Open::new("client-1")))
    );
    let Incoming::Frame(Frame::Amqp(t)) = &items[6] else {
        panic!()
    };
    assert!(matches!(t.performative, Some(Performative::Transfer(_))));
    let m: Message = hubwire_amqp::Decode::decode(t.payload.clone()).expect("message");
    assert_eq!(m.body.single_data().map(Bytes::len), Some(300));
    let Incoming::Frame(Frame::Amqp(hb)) = &items[7] else {
        panic!()
    };
    assert_eq!(hb.performative, None);
    let Incoming::Frame(Frame::Amqp(close)) = &items[8] else {
        panic!()
    };
    assert_eq!(
        close.performative,
        Some(Performative::Close(Close { error: None }))
    );
}

#[test]
fn whole_stream_in_one_piece() {
    let (s, n) = client_stream();
    let items = decode_chunks([&s[..]], 65536).expect("decodes");
    assert_eq!(items.len(), n);
    check_items(&items);
}

#[test]
fn every_split_point() {
    let (s, _) = client_stream();
    for k in 0..=s.len() {
        let items = decode_chunks([&s[..k], &s[k..]], 65536)
            .unwrap_or_else(|e| panic!("split at {k}: {e}"));
        check_items(&items);
    }
}

#[test]
fn every_pair_of_split_points_in_the_first_frames() {
    // Both cuts inside the first 80 bytes: headers and small frames cut twice.
    let (s, _) = client_stream();
    for a in 0..80 {
        for b in a..80 {
            let items = decode_chunks([&s[..a], &s[a..b], &s[b..]], 65536)
                .unwrap_or_else(|e| panic!("split at {a},{b}: {e}"));
            check_items(&items);
        }
    }
}

#[test]
fn byte_by_byte() {
    let (s, _) = client_stream();
    let items = decode_chunks(s.chunks(1), 65536).expect("decodes");
    check_items(&items);
    for size in [2, 3, 7, 64, 511] {
        check_items(&decode_chunks(s.chunks(size), 65536).expect("decodes"));
    }
}

#[test]
fn oversized_frame_is_refused_before_it_is_buffered() {
    let mut d = FrameDecoder::new(MIN_MAX_FRAME_SIZE);
    let mut input: &[u8] = &ProtocolHeader::AMQP.to_bytes();
    assert!(matches!(
        d.decode(&mut input),
        Ok(Some(Incoming::Header(_)))
    ));
    // Only the four size bytes of a 1 MiB frame have arrived.
    let mut input: &[u8] = &[0x00, 0x10, 0x00, 0x00];
    assert_eq!(
        d.decode(&mut input),
        Err(FrameError::TooLarge {
            size: 0x0010_0000,
            max: MIN_MAX_FRAME_SIZE
        })
    );
    assert_eq!(d.buffered(), 0);
    // Sticky.
    let mut input: &[u8] = &[0, 0, 0, 8, 2, 0, 0, 0];
    assert!(matches!(
        d.decode(&mut input),
        Err(FrameError::TooLarge { .. })
    ));
}

#[test]
fn max_frame_size_can_be_raised_after_open() {
    let mut frame = Vec::new();
    encode_amqp_frame(
        &mut frame,
        0,
        &Transfer::new(0, 0, Bytes::new()),
        &[0u8; 1000],
    )
    .expect("encodes");
    let mut d = FrameDecoder::new(MIN_MAX_FRAME_SIZE);
    let mut input: &[u8] = &ProtocolHeader::AMQP.to_bytes();
    assert!(d.decode(&mut input).expect("header").is_some());
    d.set_max_frame_size(65536);
    let mut input = &frame[..];
    let Some(Incoming::Frame(Frame::Amqp(f))) = d.decode(&mut input).expect("frame") else {
        panic!()
    };
    assert_eq!(f.payload.len(), 1000);
}

fn header_then(bytes: &[u8], max: u32) -> Result<Option<Incoming>, FrameError> {
    let mut d = FrameDecoder::new(max);
    let mut input: &[u8] = &ProtocolHeader::AMQP.to_bytes();
    assert!(d.decode(&mut input).expect("header").is_some());
    let mut input = bytes;
    d.decode(&mut input)
}

#[test]
fn framing_errors() {
    assert_eq!(
        header_then(&[0, 0, 0, 7, 2, 0, 0, 0], 512),
        Err(FrameError::TooSmall(7))
    );
    assert_eq!(
        header_then(&[0, 0, 0, 8, 1, 0, 0, 0], 512),
        Err(FrameError::InvalidDataOffset { doff: 1, size: 8 })
    );
    assert_eq!(
        header_then(&[0, 0, 0, 8, 3, 0, 0, 0], 512),
        Err(FrameError::InvalidDataOffset { doff: 3, size: 8 })
    );
    assert_eq!(
        header_then(&[0, 0, 0, 8, 2, 2, 0, 0], 512),
        Err(FrameError::UnknownFrameType(2))
    );
    assert_eq!(
        header_then(&[0, 0, 0, 8, 2, 1, 0, 0], 512),
        Err(FrameError::EmptySaslFrame)
    );
    // A non-transfer performative followed by bytes.
    let mut f = Vec::new();
    encode_amqp_frame(&mut f, 0, &Close { error: None }, &[1]).expect("encodes");
    assert_eq!(
        header_then(&f, 512),
        Err(FrameError::Body(DecodeError::TrailingBytes(1)))
    );
    // A body that is not a performative.
    assert_eq!(
        header_then(&[0, 0, 0, 9, 2, 0, 0, 0, 0x40], 512),
        Err(FrameError::Body(DecodeError::UnexpectedFormatCode {
            expected: "performative",
            found: 0x40
        }))
    );
    // A protocol header that is not AMQP (an HTTP request, say).
    let mut d = FrameDecoder::new(512);
    let mut input: &[u8] = b"GET / HTTP/1.1\r\n";
    assert_eq!(
        d.decode(&mut input),
        Err(FrameError::InvalidProtocolHeader(*b"GET / HT"))
    );
}

#[test]
fn extended_header_is_skipped() {
    // DOFF 3: four bytes of extended header before the body.
    let mut f = vec![0, 0, 0, 16, 3, 0, 0, 5, 0xde, 0xad, 0xbe, 0xef];
    f.extend_from_slice(&[0x00, 0x53, 0x17, 0x45]); // end
    let Some(Incoming::Frame(Frame::Amqp(a))) = header_then(&f, 512).expect("decodes") else {
        panic!()
    };
    assert_eq!(a.channel, 5);
    assert_eq!(
        a.performative,
        Some(Performative::End(hubwire_amqp::End { error: None }))
    );
    assert_eq!(
        Frame::decode(Bytes::from(f)).expect("decodes"),
        Frame::Amqp(a)
    );
}

#[test]
fn one_shot_frame_decode_checks_length() {
    let mut f = Vec::new();
    encode_empty_frame(&mut f, 3);
    let mut longer = f.clone();
    longer.push(0);
    assert_eq!(
        Frame::decode(Bytes::from(longer)),
        Err(FrameError::Body(DecodeError::TrailingBytes(1)))
    );
    assert_eq!(
        Frame::decode(Bytes::copy_from_slice(&f[..7])),
        Err(FrameError::Body(DecodeError::UnexpectedEnd))
    );
}

#[test]
fn hub_side_sasl_exchange() {
    // The hub reads the client's SASL header and init, answers, then expects the AMQP header.
    let mut from_client = ProtocolHeader::SASL.to_bytes().to_vec();
    encode_sasl_frame(&mut from_client, &SaslInit::plain("d1@sas.hub", "tok")).expect("encodes");
    from_client.extend_from_slice(&ProtocolHeader::AMQP.to_bytes());
    encode_amqp_frame(&mut from_client, 0, &Open::new("c"), &[]).expect("encodes");

    let mut hub = FrameDecoder::new(MIN_MAX_FRAME_SIZE);
    let mut input = &from_client[..];
    assert_eq!(
        hub.decode(&mut input),
        Ok(Some(Incoming::Header(ProtocolHeader::SASL)))
    );
    let Ok(Some(Incoming::Frame(Frame::Sasl(SaslFrame::Init(init))))) = hub.decode(&mut input)
    else {
        panic!()
    };
    assert_eq!(init.mechanism, Symbol::from_static("PLAIN").expect("ascii"));
    // The hub sends mechanisms and outcome (not shown), then switches.
    hub.expect_header();
    assert_eq!(
        hub.decode(&mut input),
        Ok(Some(Incoming::Header(ProtocolHeader::AMQP)))
    );
    assert!(matches!(
        hub.decode(&mut input),
        Ok(Some(Incoming::Frame(Frame::Amqp(_))))
    ));
    assert_eq!(hub.decode(&mut input), Ok(None));

    // And the client side of the same exchange.
    let mut from_hub = ProtocolHeader::SASL.to_bytes().to_vec();
    let mechs = SaslMechanisms {
        sasl_server_mechanisms: vec![Symbol::from_static("ANONYMOUS").expect("ascii")],
    };
    encode_sasl_frame(&mut from_hub, &mechs).expect("encodes");
    let outcome = SaslOutcome {
        code: SaslCode::Ok,
        additional_data: None,
    };
    encode_sasl_frame(&mut from_hub, &outcome).expect("encodes");
    from_hub.extend_from_slice(&ProtocolHeader::AMQP.to_bytes());
    let mut client = FrameDecoder::new(MIN_MAX_FRAME_SIZE);
    let mut input = &from_hub[..];
    let mut seen = Vec::new();
    while let Some(item) = client.decode(&mut input).expect("decodes") {
        if matches!(item, Incoming::Frame(Frame::Sasl(SaslFrame::Outcome(_)))) {
            client.expect_header();
        }
        seen.push(item);
    }
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[3], Incoming::Header(ProtocolHeader::AMQP));
}

#[test]
fn decoder_debug_shows_no_buffered_bytes() {
    let mut d = FrameDecoder::new(512);
    let mut input: &[u8] = &ProtocolHeader::SASL.to_bytes();
    d.decode(&mut input).expect("header");
    let mut f = Vec::new();
    encode_sasl_frame(&mut f, &SaslInit::plain("user", "hunter2-secret")).expect("encodes");
    let mut input = &f[..f.len() - 1];
    assert_eq!(d.decode(&mut input), Ok(None));
    let dbg = format!("{d:?}");
    assert!(!dbg.contains("hunter2"), "{dbg}");
    assert!(dbg.contains(&format!("buffered: {}", f.len() - 1)), "{dbg}");
}
