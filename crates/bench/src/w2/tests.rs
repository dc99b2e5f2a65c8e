use super::*;

#[test]
fn expected_checksums() {
    assert_eq!(combined_checksum(0, N), COMBINED_CHECKSUM_200K);
    assert_eq!(combined_checksum(0, 2), 256 + (2 + 256));
    assert_eq!(decode_only_checksum(3), 768);
}

#[test]
fn compact_sizes() {
    assert_eq!(compact_frame_len(0), FRAME0_LEN);
    // smalluint delivery-id, smallulong correlation-id, smallint seq.
    assert_eq!(compact_frame_len(1), 371);
    // Two digits.
    assert_eq!(compact_frame_len(10), 372);
    // seq becomes an int.
    assert_eq!(compact_frame_len(128), 369 + 2 + 1 + 1 + 3);
    // uint delivery-id and ulong correlation-id, four digits.
    assert_eq!(compact_frame_len(1000), 369 + 3 + 4 + 8 + 3);
}

/// Checks one codec: frame 0, and every loop's checksum and byte count over spans that cross
/// the encoding width changes (127/128, 255/256, digit counts).
fn check_codec<C: W2Codec>(c: &mut C) {
    let f0 = c.first_frame().unwrap();
    assert_eq!(f0.len(), FRAME0_LEN, "{}", C::NAME);
    assert_eq!(format!("{:08x}", fnv1a(&f0)), "1614fe12", "{}", C::NAME);

    for (start, n) in [(0, 300), (99_990, 20)] {
        let t = c.combined(start, n).unwrap();
        assert_eq!(t.checksum, combined_checksum(start, n), "{}", C::NAME);
        assert_eq!(t.bytes, compact_bytes(start, n), "{}", C::NAME);
        let e = c.encode_only(start, n).unwrap();
        assert_eq!(e.checksum, compact_bytes(start, n), "{}", C::NAME);
    }
    let d = c.decode_only(50).unwrap();
    assert_eq!(d.checksum, decode_only_checksum(50));
    assert_eq!(d.bytes, 50 * FRAME0_LEN as u64);
    // The buffers are reused across calls: a second pass gives the same result.
    assert_eq!(
        c.combined(0, 300).unwrap().checksum,
        combined_checksum(0, 300)
    );
}

#[test]
fn hubwire_loops_are_valid() {
    let mut c = HubwireW2::new().unwrap();
    check_codec(&mut c);
    assert_eq!(
        c.decode_only_copy(50).unwrap().checksum,
        decode_only_checksum(50)
    );
}

#[cfg(feature = "peers")]
#[test]
fn fe2o3_loops_are_valid() {
    check_codec(&mut Fe2o3W2::new().unwrap());
}

#[cfg(feature = "peers")]
#[test]
fn both_codecs_encode_the_same_frames() {
    let (mut ours, mut peer) = (HubwireW2::new().unwrap(), Fe2o3W2::new().unwrap());
    assert_eq!(ours.first_frame().unwrap(), peer.first_frame().unwrap());
    // Frame 0 of each decodes with the other: identical bytes, so the same loop validates both.
    assert_eq!(
        ours.encode_only(70_000, 5).unwrap(),
        peer.encode_only(70_000, 5).unwrap()
    );
}
