//! Arbitrary bytes through the AMQP frame decoder (cut into chunks the fuzzer chooses) and the
//! one-shot value, performative, SASL and message decoders. Whatever is accepted must encode,
//! and its encoding must decode and re-encode to the same bytes.
#![no_main]

use hubwire_amqp::{
    Bytes, Decode, Encode, Frame, FrameDecoder, Incoming, Message, Performative, SaslFrame,
    Value,
};
use libfuzzer_sys::fuzz_target;

/// Decoded values re-encode canonically (compared as bytes: floats may be NaN).
fn canonical<T: Encode + Decode>(bytes: &[u8]) {
    if let Ok(v) = T::decode(Bytes::copy_from_slice(bytes)) {
        let e1 = v.to_bytes().expect("decoded values encode");
        let v2 = T::decode(e1.clone()).expect("our encoding decodes");
        assert_eq!(v2.to_bytes().expect("encodes"), e1);
    }
}

fn frame_round_trip(f: &Frame) {
    let mut e1 = Vec::new();
    f.encode(&mut e1).expect("decoded frames encode");
    let f2 = Frame::decode(Bytes::from(e1.clone())).expect("our frame decodes");
    let mut e2 = Vec::new();
    f2.encode(&mut e2).expect("encodes");
    assert_eq!(e1, e2);
}

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the chunk size (and whether a protocol header comes first), so
    // the corpus explores different splits.
    let Some((&control, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(control & 0x7f).max(1);
    let mut decoder = FrameDecoder::new(64 * 1024);
    if control & 0x80 == 0 {
        // Frames straight away: skip the header state by feeding one.
        let mut header: &[u8] = &hubwire_amqp::ProtocolHeader::AMQP.to_bytes();
        let _ = decoder.decode(&mut header);
    }
    'feed: for piece in stream.chunks(chunk) {
        let mut input = piece;
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(Incoming::Frame(f))) => {
                    frame_round_trip(&f);
                    if let Frame::Amqp(a) = &f {
                        if let Some(Performative::Transfer(_)) = a.performative {
                            canonical::<Message>(&a.payload);
                        }
                    }
                    if matches!(f, Frame::Sasl(_)) {
                        decoder.expect_header();
                    }
                }
                Ok(Some(Incoming::Header(_))) => {}
                Ok(None) => break,
                Err(_) => break 'feed,
            }
        }
    }

    canonical::<Value>(stream);
    canonical::<Performative>(stream);
    canonical::<SaslFrame>(stream);
    canonical::<Message>(stream);
    if let Ok(f) = Frame::decode(Bytes::copy_from_slice(stream)) {
        frame_round_trip(&f);
    }
});
