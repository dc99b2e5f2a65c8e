//! Malformed input is rejected with the right typed error; encoding failures leave the output
//! untouched.

use hubwire_amqp::{
    Array, Begin, Bytes, Decode, DecodeError, Descriptor, Encode, EncodeError, End, Message,
    Performative, SaslMechanisms, Symbol, Value, ValueKind, MAX_DEPTH,
};

fn value(bytes: &[u8]) -> Result<Value, DecodeError> {
    Value::decode(Bytes::copy_from_slice(bytes))
}

fn performative(bytes: &[u8]) -> Result<Performative, DecodeError> {
    Performative::decode(Bytes::copy_from_slice(bytes))
}

fn message(bytes: &[u8]) -> Result<Message, DecodeError> {
    Message::decode(Bytes::copy_from_slice(bytes))
}

#[test]
fn strings_and_symbols() {
    assert_eq!(
        value(&[0xa1, 0x02, 0xc3, 0x28]),
        Err(DecodeError::InvalidUtf8)
    );
    // An encoded surrogate is not UTF-8 either.
    assert_eq!(
        value(&[0xa1, 0x03, 0xed, 0xa0, 0x80]),
        Err(DecodeError::InvalidUtf8)
    );
    assert_eq!(value(&[0xa3, 0x01, 0x80]), Err(DecodeError::InvalidSymbol));
    assert_eq!(value(&[0xa1, 0x05, b'a']), Err(DecodeError::UnexpectedEnd));
    assert_eq!(
        value(&[0xb1, 0xff, 0xff, 0xff, 0xff, b'a']),
        Err(DecodeError::UnexpectedEnd)
    );
    assert!(Symbol::new("é").is_err());
}

#[test]
fn scalars() {
    assert_eq!(value(&[0x56, 0x02]), Err(DecodeError::InvalidBoolean(2)));
    assert_eq!(
        value(&[0x73, 0x00, 0x11, 0x00, 0x00]),
        Err(DecodeError::InvalidChar(0x11_0000))
    );
    assert_eq!(
        value(&[0x73, 0x00, 0x00, 0xd8, 0x00]),
        Err(DecodeError::InvalidChar(0xd800))
    );
    assert_eq!(value(&[0x70, 0x00, 0x00]), Err(DecodeError::UnexpectedEnd));
    assert_eq!(value(&[]), Err(DecodeError::UnexpectedEnd));
    for code in [
        0x01, 0x13, 0x46, 0x57, 0x62, 0x75, 0x85, 0x99, 0xa2, 0xc2, 0xe1, 0xff,
    ] {
        assert_eq!(value(&[code]), Err(DecodeError::InvalidFormatCode(code)));
    }
    assert_eq!(value(&[0x40, 0x40]), Err(DecodeError::TrailingBytes(1)));
}

#[test]
fn compounds() {
    assert_eq!(
        value(&[0xc1, 0x02, 0x01, 0x40]),
        Err(DecodeError::OddMapCount(1))
    );
    assert_eq!(
        value(&[0xc0, 0x01, 0x05]),
        Err(DecodeError::CountExceedsSize { count: 5, size: 1 })
    );
    assert_eq!(
        value(&[0xd0, 0, 0, 0, 4, 0xff, 0xff, 0xff, 0xff]),
        Err(DecodeError::CountExceedsSize {
            count: u32::MAX,
            size: 4
        })
    );
    // Declared size beyond the input.
    assert_eq!(
        value(&[0xc0, 0x05, 0x01, 0x40]),
        Err(DecodeError::UnexpectedEnd)
    );
    // One element where the size leaves room for two bytes: trailing byte inside the list.
    assert_eq!(
        value(&[0xc0, 0x03, 0x01, 0x40, 0x40]),
        Err(DecodeError::TrailingBytes(1))
    );
    // An element may not read past its container, even if the input goes on.
    assert_eq!(
        value(&[0xc0, 0x02, 0x01, 0xa1, 0x03, b'a', b'b', b'c']),
        Err(DecodeError::UnexpectedEnd)
    );
    // Size smaller than the count field.
    assert_eq!(
        value(&[0xd0, 0, 0, 0, 2, 0, 0, 0, 0]),
        Err(DecodeError::UnexpectedEnd)
    );
}

#[test]
fn arrays() {
    // Four billion nulls in five bytes.
    assert_eq!(
        value(&[0xf0, 0, 0, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x40]),
        Err(DecodeError::ArrayTooLong)
    );
    // Small arrays of nulls may have more elements than bytes…
    let Value::Array(a) = value(&[0xf0, 0, 0, 0, 5, 0, 0, 0x0f, 0xa0, 0x40]).expect("decodes")
    else {
        panic!()
    };
    assert_eq!(a.len(), 4000);
    // …but not many more.
    assert_eq!(
        value(&[0xf0, 0, 0, 0, 5, 0, 0, 0x13, 0x88, 0x40]),
        Err(DecodeError::ArrayTooLong)
    );
    // A few zero-width elements are fine.
    assert_eq!(
        value(&[0xe0, 0x02, 0x03, 0x40]),
        Ok(Array::new(ValueKind::Null, vec![Value::Null; 3])
            .expect("uniform")
            .into())
    );
    // uint0 elements decode as uints.
    assert_eq!(
        value(&[0xe0, 0x02, 0x02, 0x43]),
        Ok(Array::new(ValueKind::Uint, vec![Value::Uint(0); 2])
            .expect("uniform")
            .into())
    );
    // Fixed-width elements that cannot fit.
    assert_eq!(
        value(&[0xe0, 0x02, 0x05, 0x70]),
        Err(DecodeError::UnexpectedEnd)
    );
    assert_eq!(
        value(&[0xe0, 0x02, 0x01, 0x13]),
        Err(DecodeError::InvalidFormatCode(0x13))
    );
    assert_eq!(
        value(&[0xe0, 0x07, 0x01, 0x00, 0x53, 0x01, 0x00, 0x53, 0x02]),
        Err(DecodeError::UnsupportedArrayConstructor)
    );
    // A described array: descriptor once, then the elements.
    let v = value(&[0xe0, 0x07, 0x02, 0x00, 0x53, 0x09, 0x52, 0x01, 0x02]).expect("decodes");
    let Value::Array(a) = &v else { panic!() };
    assert_eq!(a.descriptor(), Some(&Descriptor::Code(9)));
    assert_eq!(a.items(), &[Value::Uint(1), Value::Uint(2)]);
    assert_eq!(v.to_bytes().expect("encodes"), value_bytes(&v));
}

fn value_bytes(v: &Value) -> Bytes {
    let b = v.to_bytes().expect("encodes");
    assert_eq!(Value::decode(b.clone()).as_ref(), Ok(v));
    b
}

#[test]
fn nesting_depth_is_limited() {
    let nested = |depth: usize| {
        let mut v = vec![0x40u8];
        for _ in 0..depth {
            let mut outer = vec![0xc0, u8::try_from(v.len() + 1).expect("small"), 0x01];
            outer.extend_from_slice(&v);
            v = outer;
        }
        v
    };
    assert!(value(&nested(MAX_DEPTH)).is_ok());
    assert_eq!(
        value(&nested(MAX_DEPTH + 1)),
        Err(DecodeError::DepthLimitExceeded)
    );
    // Described values nest too.
    let mut described = Vec::new();
    for _ in 0..=MAX_DEPTH {
        described.extend_from_slice(&[0x00, 0x53, 0x01]);
    }
    described.push(0x40);
    assert_eq!(value(&described), Err(DecodeError::DepthLimitExceeded));
    // Deep nesting far beyond the limit returns an error instead of overflowing the stack.
    let mut deep = [0x00, 0x53, 0x01].repeat(100_000);
    deep.push(0x40);
    assert_eq!(value(&deep), Err(DecodeError::DepthLimitExceeded));
}

#[test]
fn descriptors() {
    assert_eq!(
        value(&[0x00, 0xa1, 0x01, b'x', 0x40]),
        Err(DecodeError::InvalidDescriptor(0xa1))
    );
    assert_eq!(
        performative(&[0x00, 0x53, 0x99, 0x45]),
        Err(DecodeError::UnexpectedDescriptor {
            expected: "performative",
            found: Descriptor::Code(0x99)
        })
    );
    // Symbolic descriptors are understood.
    let mut b = vec![0x00, 0xa3, 0x0d];
    b.extend_from_slice(b"amqp:end:list");
    b.push(0x45);
    assert_eq!(performative(&b), Ok(Performative::End(End { error: None })));
    // ulong (not smallulong) descriptor code.
    assert_eq!(
        performative(&[0x00, 0x80, 0, 0, 0, 0, 0, 0, 0, 0x17, 0x45]),
        Ok(Performative::End(End { error: None }))
    );
}

#[test]
fn performative_fields() {
    assert_eq!(
        performative(&[0x00, 0x53, 0x11, 0x45]),
        Err(DecodeError::MissingField {
            ty: "begin",
            field: "next_outgoing_id"
        })
    );
    // A null mandatory field.
    assert_eq!(
        Begin::decode(Bytes::from_static(&[
            0x00, 0x53, 0x11, 0xc0, 0x04, 0x03, 0x40, 0x40, 0x43
        ])),
        Err(DecodeError::MissingField {
            ty: "begin",
            field: "next_outgoing_id"
        })
    );
    assert_eq!(
        performative(&[0x00, 0x53, 0x10, 0xc0, 0x02, 0x01, 0x43]),
        Err(DecodeError::UnexpectedFormatCode {
            expected: "string",
            found: 0x43
        })
    );
    // snd-settle-mode 3.
    assert_eq!(
        performative(&[
            0x00, 0x53, 0x12, 0xc0, 0x08, 0x04, 0xa1, 0x01, b'l', 0x43, 0x41, 0x50, 0x03
        ]),
        Err(DecodeError::InvalidEnumValue {
            ty: "sender-settle-mode",
            value: 3
        })
    );
    // A performative body that is not a list.
    assert_eq!(
        performative(&[0x00, 0x53, 0x18, 0x40]),
        Err(DecodeError::UnexpectedFormatCode {
            expected: "close list",
            found: 0x40
        })
    );
    // Extra fields beyond the spec's are validated and skipped…
    assert_eq!(
        performative(&[0x00, 0x53, 0x17, 0xc0, 0x04, 0x03, 0x40, 0x41, 0x43]),
        Ok(Performative::End(End { error: None }))
    );
    // …but must still be well-formed.
    assert_eq!(
        performative(&[0x00, 0x53, 0x17, 0xc0, 0x03, 0x02, 0x40, 0x13]),
        Err(DecodeError::InvalidFormatCode(0x13))
    );
}

#[test]
fn terminus_expiry_policy_must_be_known() {
    // target { address null, durable null, expiry-policy :"soon" }
    let mut b = vec![
        0x00, 0x53, 0x12, 0xc0, 0x17, 0x07, 0xa1, 0x01, b'l', 0x43, 0x41, 0x40, 0x40, 0x40,
    ];
    b.extend_from_slice(&[0x00, 0x53, 0x29, 0xc0, 0x09, 0x03, 0x40, 0x40, 0xa3, 0x04]);
    b.extend_from_slice(b"soon");
    assert!(matches!(
        performative(&b),
        Err(DecodeError::UnknownSymbol {
            ty: "terminus-expiry-policy",
            ..
        })
    ));
}

#[test]
fn sasl_mechanisms_must_not_be_empty() {
    let empty = SaslMechanisms {
        sasl_server_mechanisms: vec![],
    };
    let mut out = vec![1, 2, 3];
    assert_eq!(
        empty.encode(&mut out),
        Err(EncodeError::MissingField {
            ty: "sasl-mechanisms",
            field: "sasl_server_mechanisms"
        })
    );
    assert_eq!(out, [1, 2, 3], "nothing half-written");
    // An empty array on the wire.
    assert_eq!(
        SaslMechanisms::decode(Bytes::from_static(&[
            0x00, 0x53, 0x40, 0xc0, 0x05, 0x01, 0xe0, 0x02, 0x00, 0xa3
        ])),
        Err(DecodeError::MissingField {
            ty: "sasl-mechanisms",
            field: "sasl_server_mechanisms"
        })
    );
}

#[test]
fn message_sections() {
    let header = [0x00, 0x53, 0x70, 0x45];
    let props = [0x00, 0x53, 0x73, 0x45];
    let value = [0x00, 0x53, 0x77, 0x40];
    let data = [0x00, 0x53, 0x75, 0xa0, 0x00];
    let seq = [0x00, 0x53, 0x76, 0x45];
    let cat = |parts: &[&[u8]]| parts.concat();
    assert_eq!(
        message(&cat(&[&props, &header])),
        Err(DecodeError::SectionOrder("header"))
    );
    assert_eq!(
        message(&cat(&[&header, &header])),
        Err(DecodeError::SectionOrder("header"))
    );
    assert_eq!(
        message(&cat(&[&value, &value])),
        Err(DecodeError::SectionOrder("amqp-value"))
    );
    assert_eq!(
        message(&cat(&[&data, &seq])),
        Err(DecodeError::SectionOrder("amqp-sequence"))
    );
    assert_eq!(
        message(&cat(&[&data, &value])),
        Err(DecodeError::SectionOrder("amqp-value"))
    );
    assert!(message(&cat(&[&header, &props, &data, &data])).is_ok());
    assert_eq!(
        message(&[0x40]),
        Err(DecodeError::UnexpectedFormatCode {
            expected: "message section",
            found: 0x40
        })
    );
    assert!(matches!(
        message(&[0x00, 0x53, 0x10, 0x45]),
        Err(DecodeError::UnexpectedDescriptor { .. })
    ));
    // Annotation keys are symbols or ulongs; application-property keys are strings.
    assert!(matches!(
        message(&[0x00, 0x53, 0x72, 0xc1, 0x05, 0x02, 0xa1, 0x01, b'k', 0x40]),
        Err(DecodeError::UnexpectedFormatCode { found: 0xa1, .. })
    ));
    assert!(matches!(
        message(&[0x00, 0x53, 0x74, 0xc1, 0x05, 0x02, 0xa3, 0x01, b'k', 0x40]),
        Err(DecodeError::UnexpectedFormatCode { found: 0xa3, .. })
    ));
    // A truncated section.
    assert_eq!(
        message(&[0x00, 0x53, 0x75, 0xa0, 0x05, 1]),
        Err(DecodeError::UnexpectedEnd)
    );
}

#[test]
fn arrays_are_uniform() {
    assert_eq!(
        Array::new(ValueKind::Uint, vec![Value::Uint(1), Value::Int(1)]),
        Err(EncodeError::ArrayElementMismatch {
            expected: ValueKind::Uint,
            found: ValueKind::Int
        })
    );
    assert!(Array::new(ValueKind::Described, vec![]).is_err());
    // Empty arrays keep their element type.
    let empty = Array::new(ValueKind::Symbol, vec![]).expect("uniform");
    let v = Value::from(empty);
    assert_eq!(
        &v.to_bytes().expect("encodes")[..],
        &[0xe0, 0x02, 0x00, 0xa3]
    );
    assert_eq!(value(&[0xe0, 0x02, 0x00, 0xa3]), Ok(v));
}
