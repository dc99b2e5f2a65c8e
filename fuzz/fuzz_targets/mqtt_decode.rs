//! Arbitrary bytes, cut at arbitrary points, through the incremental decoder and the one-shot
//! decoder. Whatever is accepted must re-encode to exactly the bytes it came from.
#![no_main]

use hubwire_mqtt::{Bytes, Decoder, Packet};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // The first byte chooses the chunk size, so the corpus explores different splits.
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(split).max(1);
    let mut decoder = Decoder::new(64 * 1024);
    let mut decoded = Vec::new();
    'feed: for piece in stream.chunks(chunk) {
        let mut input = piece;
        loop {
            match decoder.decode(&mut input) {
                Ok(Some(p)) => decoded.push(p),
                Ok(None) => break,
                Err(_) => break 'feed,
            }
        }
    }
    // Decoded packets re-encode to a prefix of the stream.
    let mut out = Vec::new();
    for p in &decoded {
        p.encode(&mut out).expect("decoded packets encode");
    }
    assert_eq!(&stream[..out.len()], &out[..]);

    if let Ok(p) = Packet::decode(Bytes::copy_from_slice(stream)) {
        assert_eq!(p.to_bytes().expect("encodes"), stream);
    }
});
