//! Property tests: encode → decode round trips for arbitrary values, performatives, SASL bodies
//! and messages; arbitrary and mutated bytes never panic, and whatever decodes re-encodes to a
//! canonical form that decodes to the same thing.

use hubwire_amqp::{
    AmqpError, AnnotationKey, Annotations, Array, Attach, Begin, Body, Bytes, BytesMut, Close,
    Decimal128, Decimal32, Decimal64, Decode, DeliveryState, Descriptor, Detach, Disposition,
    Encode, End, ErrorCondition, Fields, Flow, Frame, FrameDecoder, Header, Map, Message,
    MessageId, Modified, Open, Performative, Properties, Received, ReceiverSettleMode, Rejected,
    Role, SaslChallenge, SaslCode, SaslFrame, SaslInit, SaslMechanisms, SaslOutcome, SaslResponse,
    SenderSettleMode, Source, Str, Symbol, Target, TerminusDurability, TerminusExpiryPolicy,
    Timestamp, Transfer, Uuid, Value, ValueKind,
};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

fn symbol() -> BoxedStrategy<Symbol> {
    prop_oneof![
        "[ -~]{0,12}",
        Just("amqp:accepted:list".to_owned()),
        "[a-z]{256,300}", // sym32
    ]
    .prop_map(|s| Symbol::try_from(s).expect("ascii"))
    .boxed()
}

fn string() -> BoxedStrategy<Str> {
    prop_oneof![4 => any::<String>(), 1 => "\\PC{256,280}"]
        .prop_map(Str::from)
        .boxed()
}

fn binary() -> BoxedStrategy<Bytes> {
    prop_oneof![4 => vec(any::<u8>(), 0..16), 1 => vec(any::<u8>(), 250..300)]
        .prop_map(Bytes::from)
        .boxed()
}

fn descriptor() -> BoxedStrategy<Descriptor> {
    prop_oneof![
        any::<u64>().prop_map(Descriptor::Code),
        (0u64..0x80).prop_map(Descriptor::Code),
        symbol().prop_map(Descriptor::Symbol),
    ]
    .boxed()
}

/// A non-NaN float (NaN is not equal to itself, which a structural round trip cannot show).
fn f32_value() -> impl Strategy<Value = f32> {
    any::<f32>().prop_filter("not NaN", |x| !x.is_nan())
}

fn f64_value() -> impl Strategy<Value = f64> {
    any::<f64>().prop_filter("not NaN", |x| !x.is_nan())
}

fn scalar() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<u8>().prop_map(Value::Ubyte),
        any::<u16>().prop_map(Value::Ushort),
        prop_oneof![Just(0u32), 0u32..256, any::<u32>()].prop_map(Value::Uint),
        prop_oneof![Just(0u64), 0u64..256, any::<u64>()].prop_map(Value::Ulong),
        any::<i8>().prop_map(Value::Byte),
        any::<i16>().prop_map(Value::Short),
        prop_oneof![-128i32..128, any::<i32>()].prop_map(Value::Int),
        prop_oneof![-128i64..128, any::<i64>()].prop_map(Value::Long),
        f32_value().prop_map(Value::Float),
        f64_value().prop_map(Value::Double),
        any::<[u8; 4]>().prop_map(|b| Value::Decimal32(Decimal32(b))),
        any::<[u8; 8]>().prop_map(|b| Value::Decimal64(Decimal64(b))),
        any::<[u8; 16]>().prop_map(|b| Value::Decimal128(Decimal128(b))),
        any::<char>().prop_map(Value::Char),
        any::<i64>().prop_map(|t| Value::Timestamp(Timestamp(t))),
        any::<[u8; 16]>().prop_map(|u| Value::Uuid(Uuid(u))),
        binary().prop_map(Value::Binary),
        string().prop_map(Value::String),
        symbol().prop_map(Value::Symbol),
    ]
    .boxed()
}

/// Items of one kind for an array (scalars only, or lists/maps of scalars).
fn array() -> BoxedStrategy<Array> {
    let kinds = prop_oneof![
        Just(ValueKind::Null),
        Just(ValueKind::Bool),
        Just(ValueKind::Uint),
        Just(ValueKind::Ulong),
        Just(ValueKind::Int),
        Just(ValueKind::Long),
        Just(ValueKind::Double),
        Just(ValueKind::Binary),
        Just(ValueKind::String),
        Just(ValueKind::Symbol),
        Just(ValueKind::Uuid),
        Just(ValueKind::List),
        Just(ValueKind::Map),
    ];
    (kinds, option::of(descriptor()), 0usize..6)
        .prop_flat_map(|(kind, desc, n)| {
            let item = scalar()
                .prop_filter("kind", move |v| v.kind() == kind)
                .boxed();
            let items = match kind {
                ValueKind::List => vec(vec(scalar(), 0..3).prop_map(Value::List), n).boxed(),
                ValueKind::Map => vec(
                    vec((scalar(), scalar()), 0..3).prop_map(|e| Value::Map(Map::from(e))),
                    n,
                )
                .boxed(),
                _ => vec(item, n).boxed(),
            };
            items.prop_map(move |items| match &desc {
                Some(d) => Array::described(d.clone(), kind, items).expect("uniform"),
                None => Array::new(kind, items).expect("uniform"),
            })
        })
        .boxed()
}

fn value() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![4 => scalar(), 1 => array().prop_map(Value::from)];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::List),
            vec((inner.clone(), inner.clone()), 0..4).prop_map(|e| Value::Map(Map::from(e))),
            (descriptor(), inner).prop_map(|(d, v)| Value::described(d, v)),
            // A list big enough for the 32-bit form.
            vec(Just(Value::Uint(7)), 254..258).prop_map(Value::List),
        ]
    })
    .boxed()
}

fn fields() -> BoxedStrategy<Fields> {
    vec((symbol(), value()), 0..3).prop_map(Map::from).boxed()
}

fn annotations() -> BoxedStrategy<Annotations> {
    vec(
        (
            prop_oneof![
                symbol().prop_map(AnnotationKey::Symbol),
                any::<u64>().prop_map(AnnotationKey::Ulong)
            ],
            value(),
        ),
        0..3,
    )
    .prop_map(Map::from)
    .boxed()
}

fn symbols() -> BoxedStrategy<Vec<Symbol>> {
    vec(symbol(), 0..4).boxed()
}

fn error() -> BoxedStrategy<AmqpError> {
    (symbol(), option::of(string()), option::of(fields()))
        .prop_map(|(c, d, i)| AmqpError {
            condition: ErrorCondition::new(c),
            description: d,
            info: i,
        })
        .boxed()
}

fn delivery_state() -> BoxedStrategy<DeliveryState> {
    prop_oneof![
        (any::<u32>(), any::<u64>()).prop_map(|(n, o)| DeliveryState::Received(Received {
            section_number: n,
            section_offset: o
        })),
        Just(DeliveryState::Accepted),
        option::of(error()).prop_map(|error| DeliveryState::Rejected(Rejected { error })),
        Just(DeliveryState::Released),
        (
            option::of(any::<bool>()),
            option::of(any::<bool>()),
            option::of(fields())
        )
            .prop_map(|(a, b, c)| DeliveryState::Modified(Modified {
                delivery_failed: a,
                undeliverable_here: b,
                message_annotations: c
            })),
    ]
    .boxed()
}

fn durability() -> impl Strategy<Value = TerminusDurability> {
    prop_oneof![
        Just(TerminusDurability::None),
        Just(TerminusDurability::Configuration),
        Just(TerminusDurability::UnsettledState)
    ]
}

fn expiry() -> impl Strategy<Value = TerminusExpiryPolicy> {
    prop_oneof![
        Just(TerminusExpiryPolicy::LinkDetach),
        Just(TerminusExpiryPolicy::SessionEnd),
        Just(TerminusExpiryPolicy::ConnectionClose),
        Just(TerminusExpiryPolicy::Never)
    ]
}

fn source() -> BoxedStrategy<Source> {
    (
        (
            option::of(string()),
            durability(),
            expiry(),
            any::<u32>(),
            any::<bool>(),
            option::of(fields()),
        ),
        (
            option::of(symbol()),
            option::of(vec((symbol(), value()), 0..2).prop_map(Map::from)),
            option::of(delivery_state()),
            symbols(),
            symbols(),
        ),
    )
        .prop_map(|((a, d, e, t, dy, dnp), (dm, f, o, os, c))| Source {
            address: a,
            durable: d,
            expiry_policy: e,
            timeout: t,
            dynamic: dy,
            dynamic_node_properties: dnp,
            distribution_mode: dm,
            filter: f,
            default_outcome: o,
            outcomes: os,
            capabilities: c,
        })
        .boxed()
}

fn target() -> BoxedStrategy<Target> {
    (
        option::of(string()),
        durability(),
        expiry(),
        any::<u32>(),
        any::<bool>(),
        option::of(fields()),
        symbols(),
    )
        .prop_map(|(a, d, e, t, dy, dnp, c)| Target {
            address: a,
            durable: d,
            expiry_policy: e,
            timeout: t,
            dynamic: dy,
            dynamic_node_properties: dnp,
            capabilities: c,
        })
        .boxed()
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![Just(Role::Sender), Just(Role::Receiver)]
}

fn performative() -> BoxedStrategy<Performative> {
    let open = (
        (
            string(),
            option::of(string()),
            any::<u32>(),
            any::<u16>(),
            option::of(any::<u32>()),
        ),
        (
            symbols(),
            symbols(),
            symbols(),
            symbols(),
            option::of(fields()),
        ),
    )
        .prop_map(|((c, h, m, ch, i), (ol, il, oc, dc, p))| {
            Performative::from(Open {
                container_id: c,
                hostname: h,
                max_frame_size: m,
                channel_max: ch,
                idle_time_out: i,
                outgoing_locales: ol,
                incoming_locales: il,
                offered_capabilities: oc,
                desired_capabilities: dc,
                properties: p,
            })
        });
    let begin = (
        option::of(any::<u16>()),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        any::<u32>(),
        symbols(),
        symbols(),
        option::of(fields()),
    )
        .prop_map(|(rc, n, i, o, h, oc, dc, p)| {
            Performative::from(Begin {
                remote_channel: rc,
                next_outgoing_id: n,
                incoming_window: i,
                outgoing_window: o,
                handle_max: h,
                offered_capabilities: oc,
                desired_capabilities: dc,
                properties: p,
            })
        });
    let attach = (
        (
            string(),
            any::<u32>(),
            role(),
            prop_oneof![
                Just(SenderSettleMode::Unsettled),
                Just(SenderSettleMode::Settled),
                Just(SenderSettleMode::Mixed)
            ],
            prop_oneof![
                Just(ReceiverSettleMode::First),
                Just(ReceiverSettleMode::Second)
            ],
            option::of(source()),
            option::of(target()),
        ),
        (
            option::of(vec((value(), value()), 0..2).prop_map(Map::from)),
            any::<bool>(),
            option::of(any::<u32>()),
            option::of(any::<u64>()),
            symbols(),
            symbols(),
            option::of(fields()),
        ),
    )
        .prop_map(
            |((n, h, r, ssm, rsm, s, t), (u, iu, idc, mms, oc, dc, p))| {
                Performative::from(Attach {
                    name: n,
                    handle: h,
                    role: r,
                    snd_settle_mode: ssm,
                    rcv_settle_mode: rsm,
                    source: s,
                    target: t,
                    unsettled: u,
                    incomplete_unsettled: iu,
                    initial_delivery_count: idc,
                    max_message_size: mms,
                    offered_capabilities: oc,
                    desired_capabilities: dc,
                    properties: p,
                })
            },
        );
    let flow = (
        (
            option::of(any::<u32>()),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            option::of(any::<u32>()),
            option::of(any::<u32>()),
        ),
        (
            option::of(any::<u32>()),
            option::of(any::<u32>()),
            any::<bool>(),
            any::<bool>(),
            option::of(fields()),
        ),
    )
        .prop_map(|((ni, iw, no, ow, h, dc), (lc, a, d, e, p))| {
            Performative::from(Flow {
                next_incoming_id: ni,
                incoming_window: iw,
                next_outgoing_id: no,
                outgoing_window: ow,
                handle: h,
                delivery_count: dc,
                link_credit: lc,
                available: a,
                drain: d,
                echo: e,
                properties: p,
            })
        });
    let transfer = (
        (
            any::<u32>(),
            option::of(any::<u32>()),
            option::of(binary()),
            option::of(any::<u32>()),
            option::of(any::<bool>()),
            any::<bool>(),
        ),
        (
            option::of(prop_oneof![
                Just(ReceiverSettleMode::First),
                Just(ReceiverSettleMode::Second)
            ]),
            option::of(delivery_state()),
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
        ),
    )
        .prop_map(|((h, id, tag, mf, s, m), (rsm, st, r, ab, b))| {
            Performative::from(Transfer {
                handle: h,
                delivery_id: id,
                delivery_tag: tag,
                message_format: mf,
                settled: s,
                more: m,
                rcv_settle_mode: rsm,
                state: st,
                resume: r,
                aborted: ab,
                batchable: b,
            })
        });
    let disposition = (
        role(),
        any::<u32>(),
        option::of(any::<u32>()),
        any::<bool>(),
        option::of(delivery_state()),
        any::<bool>(),
    )
        .prop_map(|(r, f, l, s, st, b)| {
            Performative::from(Disposition {
                role: r,
                first: f,
                last: l,
                settled: s,
                state: st,
                batchable: b,
            })
        });
    let detach = (any::<u32>(), any::<bool>(), option::of(error())).prop_map(|(h, c, e)| {
        Performative::from(Detach {
            handle: h,
            closed: c,
            error: e,
        })
    });
    let end = option::of(error()).prop_map(|error| Performative::from(End { error }));
    let close = option::of(error()).prop_map(|error| Performative::from(Close { error }));
    prop_oneof![
        open.boxed(),
        begin.boxed(),
        attach.boxed(),
        flow.boxed(),
        transfer.boxed(),
        disposition.boxed(),
        detach.boxed(),
        end.boxed(),
        close.boxed()
    ]
    .boxed()
}

fn sasl() -> BoxedStrategy<SaslFrame> {
    prop_oneof![
        vec(symbol(), 1..4).prop_map(|m| SaslFrame::from(SaslMechanisms {
            sasl_server_mechanisms: m
        })),
        (symbol(), option::of(binary()), option::of(string())).prop_map(|(m, r, h)| {
            SaslFrame::from(SaslInit {
                mechanism: m,
                initial_response: r,
                hostname: h,
            })
        }),
        binary().prop_map(|c| SaslFrame::from(SaslChallenge { challenge: c })),
        binary().prop_map(|r| SaslFrame::from(SaslResponse { response: r })),
        (
            prop_oneof![
                Just(SaslCode::Ok),
                Just(SaslCode::Auth),
                Just(SaslCode::Sys),
                Just(SaslCode::SysPerm),
                Just(SaslCode::SysTemp)
            ],
            option::of(binary())
        )
            .prop_map(|(code, d)| SaslFrame::from(SaslOutcome {
                code,
                additional_data: d
            })),
    ]
    .boxed()
}

fn message_id() -> BoxedStrategy<MessageId> {
    prop_oneof![
        any::<u64>().prop_map(MessageId::Ulong),
        any::<[u8; 16]>().prop_map(|u| MessageId::Uuid(Uuid(u))),
        binary().prop_map(MessageId::Binary),
        string().prop_map(MessageId::String),
    ]
    .boxed()
}

fn message() -> BoxedStrategy<Message> {
    let header = (
        any::<bool>(),
        any::<u8>(),
        option::of(any::<u32>()),
        any::<bool>(),
        any::<u32>(),
    )
        .prop_map(|(d, p, t, f, c)| Header {
            durable: d,
            priority: p,
            ttl: t,
            first_acquirer: f,
            delivery_count: c,
        });
    let properties = (
        (
            option::of(message_id()),
            option::of(binary()),
            option::of(string()),
            option::of(string()),
            option::of(string()),
            option::of(message_id()),
            option::of(symbol()),
        ),
        (
            option::of(symbol()),
            option::of(any::<i64>().prop_map(Timestamp)),
            option::of(any::<i64>().prop_map(Timestamp)),
            option::of(string()),
            option::of(any::<u32>()),
            option::of(string()),
        ),
    )
        .prop_map(
            |((mi, ui, to, s, rt, ci, ct), (ce, ae, cr, gi, gs, rg))| Properties {
                message_id: mi,
                user_id: ui,
                to,
                subject: s,
                reply_to: rt,
                correlation_id: ci,
                content_type: ct,
                content_encoding: ce,
                absolute_expiry_time: ae,
                creation_time: cr,
                group_id: gi,
                group_sequence: gs,
                reply_to_group_id: rg,
            },
        );
    let body = prop_oneof![
        Just(Body::Empty),
        vec(binary(), 1..3).prop_map(Body::Data),
        vec(vec(value(), 0..3), 1..3).prop_map(Body::Sequence),
        value().prop_map(Body::Value),
    ];
    (
        option::of(header),
        option::of(annotations()),
        option::of(annotations()),
        option::of(properties),
        option::of(vec((string(), value()), 0..4).prop_map(Map::from)),
        body,
        option::of(annotations()),
    )
        .prop_map(|(h, da, ma, p, ap, b, f)| Message {
            header: h,
            delivery_annotations: da,
            message_annotations: ma,
            properties: p,
            application_properties: ap,
            body: b,
            footer: f,
        })
        .boxed()
}

/// Encodes into both buffer kinds (which must agree), decodes, compares.
fn round_trip<T: Encode + Decode + PartialEq + std::fmt::Debug>(
    v: &T,
) -> Result<(), TestCaseError> {
    let bytes = v.to_bytes().expect("encodes");
    let mut bm = BytesMut::new();
    let n = v.encode(&mut bm).expect("encodes");
    prop_assert_eq!(n, bytes.len());
    prop_assert_eq!(&bm[..], &bytes[..]);
    let back = T::decode(bytes.clone()).map_err(|e| TestCaseError::fail(format!("{e}")))?;
    prop_assert_eq!(&back, v);
    // The encoding is canonical: re-encoding the decoded value gives the same bytes.
    prop_assert_eq!(back.to_bytes().expect("encodes"), bytes);
    Ok(())
}

/// Whatever decodes re-encodes to bytes that decode and re-encode identically.
fn canonical<T: Encode + Decode>(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(v) = T::decode(Bytes::copy_from_slice(bytes)) {
        let e1 = v.to_bytes().expect("decoded values encode");
        let v2 = T::decode(e1.clone()).map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(v2.to_bytes().expect("encodes"), e1);
    }
    Ok(())
}

fn all_decoders(bytes: &[u8]) -> Result<(), TestCaseError> {
    canonical::<Value>(bytes)?;
    canonical::<Performative>(bytes)?;
    canonical::<SaslFrame>(bytes)?;
    canonical::<Message>(bytes)?;
    canonical::<Source>(bytes)?;
    canonical::<DeliveryState>(bytes)?;
    let _ = Frame::decode(Bytes::copy_from_slice(bytes));
    let mut d = FrameDecoder::new(4096);
    d.expect_header();
    let mut input = bytes;
    while let Ok(Some(_)) = d.decode(&mut input) {}
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn values_round_trip(v in value()) {
        round_trip(&v)?;
    }

    #[test]
    fn performatives_round_trip(p in performative(), channel in any::<u16>(), payload in vec(any::<u8>(), 0..40)) {
        round_trip(&p)?;
        // Framed: payload only after transfers.
        let payload = if matches!(p, Performative::Transfer(_)) { payload } else { Vec::new() };
        let mut out = Vec::new();
        hubwire_amqp::encode_amqp_frame(&mut out, channel, &p, &payload).expect("encodes");
        let Frame::Amqp(f) = Frame::decode(Bytes::from(out)).expect("decodes") else {
            return Err(TestCaseError::fail("not an AMQP frame"));
        };
        prop_assert_eq!(f.channel, channel);
        prop_assert_eq!(f.performative.as_ref(), Some(&p));
        prop_assert_eq!(&f.payload[..], &payload[..]);
    }

    #[test]
    fn sasl_round_trip(s in sasl()) {
        round_trip(&s)?;
    }

    #[test]
    fn messages_round_trip(m in message()) {
        round_trip(&m)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        all_decoders(&bytes)?;
    }

    #[test]
    fn mutated_encodings_never_panic(
        p in performative(),
        m in message(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        for mut bytes in [p.to_bytes().expect("encodes").to_vec(), m.to_bytes().expect("encodes").to_vec()] {
            if bytes.is_empty() {
                continue;
            }
            for (i, b) in &edits {
                let i = i.index(bytes.len());
                bytes[i] = *b;
            }
            all_decoders(&bytes)?;
            let n = cut.index(bytes.len());
            all_decoders(&bytes[..n])?;
        }
    }

    #[test]
    fn stream_chunking_does_not_matter(
        ps in vec(performative(), 1..6),
        cuts in vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let mut stream = hubwire_amqp::ProtocolHeader::AMQP.to_bytes().to_vec();
        for p in &ps {
            hubwire_amqp::encode_amqp_frame(&mut stream, 1, p, &[]).expect("encodes");
        }
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        points.push(0);
        points.push(stream.len());
        points.sort_unstable();
        let mut d = FrameDecoder::new(u32::MAX);
        let mut got = Vec::new();
        for w in points.windows(2) {
            let mut input = &stream[w[0]..w[1]];
            while let Some(item) = d.decode(&mut input).expect("decodes") {
                got.push(item);
            }
        }
        prop_assert_eq!(got.len(), ps.len() + 1);
        for (item, p) in got[1..].iter().zip(&ps) {
            let hubwire_amqp::Incoming::Frame(Frame::Amqp(f)) = item else {
                return Err(TestCaseError::fail("not a frame"));
            };
            prop_assert_eq!(f.performative.as_ref(), Some(p));
        }
    }
}
