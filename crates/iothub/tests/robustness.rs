//! Property tests: round trips hold for arbitrary text, and no parser panics on any input.

use hubwire_iothub::mqtt;
use hubwire_iothub::{
    ConnectionString, DeviceId, Message, PropertyBag, SasKey, SasToken, SasVerifier, Timestamp,
};
use proptest::prelude::*;

fn id_strategy() -> impl Strategy<Value = String> {
    "[A-Za-z0-9\\-.%_*?!(),:=@$']{1,40}"
}

proptest! {
    #[test]
    fn property_bag_round_trips(entries in proptest::collection::vec(
        ("\\PC{1,12}", proptest::option::of("\\PC{0,12}")), 0..8)
    ) {
        let mut bag = PropertyBag::new();
        for (k, v) in &entries {
            match v {
                Some(v) => bag.push(k.clone(), v.clone()),
                None => bag.push_null(k.clone()),
            };
        }
        let encoded = bag.encode();
        prop_assert!(!encoded.contains(['/', '$', ' ', '+', '?', '#', ';']));
        prop_assert_eq!(PropertyBag::decode(&encoded).unwrap(), bag);
    }

    #[test]
    fn d2c_topic_round_trips(
        device in id_strategy(),
        mid in proptest::option::of("[A-Za-z0-9\\-:.+%_#*?!(),=@;$']{1,20}"),
        ct in proptest::option::of("\\PC{1,16}"),
        props in proptest::collection::vec(("[a-z$&=+ /%é]{1,8}", "\\PC{0,8}"), 0..5),
        exp_ms in proptest::option::of(0u64..100_000_000_000_000),
    ) {
        let device = DeviceId::new(device).unwrap();
        let mut msg = Message::new(b"x".to_vec());
        msg.message_id = mid;
        msg.content_type = ct;
        msg.absolute_expiry = exp_ms.map(Timestamp::from_unix_millis);
        for (k, v) in props {
            // `$.`-prefixed names are system properties; the generator cannot produce them.
            msg.properties.insert(k, v);
        }
        let topic = mqtt::d2c_topic(&device, None, &msg);
        let parsed = mqtt::parse_d2c_topic(&topic, b"x".to_vec()).unwrap();
        prop_assert!(parsed.is_for(&device, None));
        prop_assert_eq!(parsed.message, msg);
    }

    #[test]
    fn sas_build_then_verify(device in id_strategy(), key in proptest::collection::vec(any::<u8>(), 1..64), se in 1u64..u64::MAX) {
        let device = DeviceId::new(device).unwrap();
        let key = SasKey::from_bytes(key);
        let token = SasToken::build(&key, &format!("hub.example/devices/{device}"), se, None);
        let parsed = SasToken::parse(token.expose()).unwrap();
        prop_assert_eq!(&parsed, &token);
        let v = SasVerifier::new("hub.example", &device).identity_key(&key);
        prop_assert_eq!(v.verify(&parsed, se - 1).unwrap().expiry, se);
    }

    #[test]
    fn timestamps_round_trip(ms in 0u64..253_402_300_799_999) {
        let t = Timestamp::from_unix_millis(ms);
        prop_assert_eq!(Timestamp::parse_iso8601(&t.to_iso8601()), Ok(t));
        prop_assert_eq!(Timestamp::parse_iso8601(&t.to_rfc3339_millis()), Ok(t));
    }

    #[test]
    fn parsers_never_panic(s in "\\PC{0,200}") {
        let _ = ConnectionString::parse(&s);
        let _ = SasToken::parse(&s);
        let _ = PropertyBag::decode(&s);
        let _ = mqtt::parse_user_name(&s);
        let _ = mqtt::parse_d2c_topic(&s, Vec::new());
        let _ = mqtt::parse_c2d_topic(&s, Vec::new());
        let _ = Timestamp::parse_iso8601(&s);
        let d = DeviceId::new("d").unwrap();
        let k = SasKey::from_bytes(vec![1u8; 32]);
        let _ = SasVerifier::new("h", &d).identity_key(&k).policy("p", &k).verify_str(&s, 0);
    }

    #[test]
    fn structured_inputs_never_panic(
        segs in proptest::collection::vec("[a-zA-Z0-9/%?=&$.;+ ]{0,12}", 0..8),
        sep in prop::sample::select(vec!["/", ";", "&", "="]),
    ) {
        // Near-miss inputs built from the grammar's own separators reach deeper code paths.
        let s = segs.join(sep);
        let _ = ConnectionString::parse(&s);
        let _ = SasToken::parse(&format!("SharedAccessSignature {s}"));
        let _ = mqtt::parse_user_name(&s);
        let _ = mqtt::parse_d2c_topic(&format!("devices/{s}"), Vec::new());
        let _ = mqtt::parse_c2d_topic(&format!("devices/d/messages/devicebound/{s}"), Vec::new());
        let d = DeviceId::new("d").unwrap();
        let k = SasKey::from_bytes(vec![1u8; 32]);
        let _ = SasVerifier::new("h", &d)
            .identity_key(&k)
            .verify_str(&format!("SharedAccessSignature sr={s}&sig=AAAA&se=5"), 0);
    }
}
