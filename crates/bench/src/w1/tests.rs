use super::*;

#[test]
fn payload_matches_the_workload_definition() {
    let p = payload();
    assert_eq!(p.len(), 256);
    assert_eq!(p[..8], [0xa5, 0xa3, 0xc4, 0x98, 0x88, 0x4d, 0x1d, 0x29]);
    assert_eq!(
        p[246..],
        [0xe8, 0xe0, 0x13, 0x3f, 0xc1, 0x2b, 0x14, 0x64, 0xd3, 0xe9]
    );
    assert_eq!(PAYLOAD, p);
}

#[test]
fn fnv1a_known_vectors() {
    // Published FNV-1a 32 test vectors.
    assert_eq!(fnv1a(b""), 0x811c_9dc5);
    assert_eq!(fnv1a(b"a"), 0xe40c_292c);
    assert_eq!(fnv1a(b"foobar"), 0xbf9c_f968);
}

#[test]
fn topic_and_packet_ids() {
    assert_eq!(TOPIC.len(), 77);
    assert_eq!(packet_id(0), 1);
    assert_eq!(packet_id(65_534), 65_535);
    assert_eq!(packet_id(65_535), 1);
}

#[test]
fn expected_checksums() {
    assert_eq!(combined_checksum(0, N), COMBINED_CHECKSUM_1M);
    assert_eq!(combined_checksum(0, 2), 1 + 256 + 2 + 256);
    assert_eq!(combined_checksum(65_534, 2), 65_535 + 256 + 1 + 256);
    assert_eq!(encode_only_checksum(3), 1_020);
    assert_eq!(decode_only_checksum(2), 514);
}

/// The header, topic and payload of packet 0 laid out by hand from the MQTT 3.1.1 spec.
fn packet0_by_hand() -> Vec<u8> {
    let mut v = vec![0x32, 0xd1, 0x02, 0x00, 77];
    v.extend_from_slice(TOPIC.as_bytes());
    v.extend_from_slice(&[0x00, 0x01]);
    v.extend_from_slice(&PAYLOAD);
    v
}

#[test]
fn packet0_by_hand_has_the_workload_fingerprint() {
    let p = packet0_by_hand();
    assert_eq!(p.len(), ENCODED_LEN);
    assert_eq!(fnv1a(&p), PACKET0_FNV1A);
}

/// Checks one codec: encoding of packet 0, and every loop's checksum over a span that crosses
/// the packet id wrap-around.
fn check_codec<C: W1Codec>(c: &mut C) {
    let p0 = c.first_packet().unwrap();
    assert_eq!(p0, packet0_by_hand(), "{}", C::NAME);
    assert_eq!(format!("{:08x}", fnv1a(&p0)), "6e7edf1e", "{}", C::NAME);

    let (start, n) = (65_000, 2_000);
    assert_eq!(c.combined(start, n).unwrap(), combined_checksum(start, n));
    assert_eq!(c.encode_only(start, n).unwrap(), encode_only_checksum(n));
    assert_eq!(c.decode_only(n).unwrap(), decode_only_checksum(n));
    // The buffers are reused across calls: a second pass must give the same results.
    assert_eq!(c.combined(0, n).unwrap(), combined_checksum(0, n));
}

#[test]
fn hubwire_loops_are_valid() {
    let mut c = HubwireW1::new().unwrap();
    check_codec(&mut c);
    assert_eq!(
        c.decode_only_copy(1_000).unwrap(),
        decode_only_checksum(1_000)
    );
}

#[cfg(feature = "peers")]
#[test]
fn rumqttc_loops_are_valid() {
    check_codec(&mut RumqttcW1::new().unwrap());
}

#[cfg(feature = "peers")]
#[test]
fn both_codecs_encode_packet0_identically() {
    let ours = HubwireW1::new().unwrap().first_packet().unwrap();
    let peer = RumqttcW1::new().unwrap().first_packet().unwrap();
    assert_eq!(ours, peer);
}
