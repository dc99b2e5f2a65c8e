//! The string and topic-name checks against a byte-wise reference of the MQTT rules, over inputs
//! built to hit every byte position of the word-at-a-time fast path (lengths around multiples
//! of eight, forbidden bytes anywhere, non-ASCII and invalid UTF-8 mixed in).

use bytes::Bytes;
use hubwire_mqtt::{MqttString, StringError, TopicError, TopicName};
use proptest::prelude::*;

/// MQTT 1.5.3 string rules, checked in the order the error priority requires.
fn reference_string(b: &[u8]) -> Result<(), StringError> {
    if b.len() > 65_535 {
        Err(StringError::TooLong(b.len()))
    } else if core::str::from_utf8(b).is_err() {
        Err(StringError::InvalidUtf8)
    } else if b.contains(&0) {
        Err(StringError::NullCharacter)
    } else {
        Ok(())
    }
}

/// Topic name rules: non-empty, the string rules, no wildcards.
fn reference_topic(b: &[u8]) -> Result<(), TopicError> {
    if b.is_empty() {
        return Err(TopicError::Empty);
    }
    reference_string(b).map_err(|e| match e {
        StringError::TooLong(n) => TopicError::TooLong(n),
        StringError::InvalidUtf8 => TopicError::InvalidUtf8,
        _ => TopicError::NullCharacter,
    })?;
    if b.iter().any(|&c| c == b'+' || c == b'#') {
        return Err(TopicError::Wildcard);
    }
    Ok(())
}

fn check(b: &[u8]) {
    let bytes = Bytes::copy_from_slice(b);
    assert_eq!(
        MqttString::from_bytes(bytes.clone()).map(|_| ()),
        reference_string(b),
        "{b:02x?}"
    );
    assert_eq!(
        TopicName::from_bytes(bytes).map(|_| ()),
        reference_topic(b),
        "{b:02x?}"
    );
}

/// Mostly plain topic characters, sometimes one of the bytes the checks care about.
fn interesting_byte() -> impl Strategy<Value = u8> {
    prop_oneof![
        8 => prop::sample::select(b"abcXYZ019/%&=.-_$".to_vec()),
        1 => prop::sample::select(vec![0u8, b'+', b'#', 0x7f, 0x80, 0xc3, 0xa9, 0xff, 0xe2, 0x82, 0xac]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn checks_agree_with_reference(b in prop::collection::vec(interesting_byte(), 0..40)) {
        check(&b);
    }
}

#[test]
fn each_forbidden_byte_at_each_position() {
    for len in 1..=33usize {
        check(&vec![b'a'; len]);
        for pos in 0..len {
            for bad in [0u8, b'+', b'#', 0x80, 0xff] {
                let mut b = vec![b'a'; len];
                b[pos] = bad;
                check(&b);
            }
        }
    }
}

#[test]
fn valid_multibyte_and_length_limit() {
    check("devices/d\u{e9}v/messages/events/\u{20ac}".as_bytes());
    check(&vec![b'a'; 65_535]);
    check(&vec![b'a'; 65_536]);
    check(b"");
}
