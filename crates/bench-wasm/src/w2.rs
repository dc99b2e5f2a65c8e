//! The W2 loops of `hubwire-amqp`, exported to JavaScript like the W1 ones: each timed loop is
//! one call that runs entirely inside wasm (`hubwire_bench::w2::HubwireW2`, the code the native
//! runner times). A loop returns its checksum as `f64` (exact below 2^53; negative = failed) and
//! leaves its wire byte count for [`w2_last_bytes`], since W2 frame sizes vary with i.

use std::cell::{Cell, RefCell};

use hubwire_bench::w2::{self, HubwireW2, Tally, W2Codec, W2Error};
use wasm_bindgen::prelude::wasm_bindgen;

thread_local! {
    /// Prepared once per page, like the native runner prepares its inputs before timing.
    static CODEC: RefCell<Option<HubwireW2>> = const { RefCell::new(None) };
    /// Wire bytes of the last loop.
    static LAST_BYTES: Cell<f64> = const { Cell::new(0.0) };
}

/// Runs `f` on the page's codec, creating it on first use. `-1.0` on any failure.
fn with_codec(f: impl FnOnce(&mut HubwireW2) -> Result<Tally, W2Error>) -> f64 {
    CODEC.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = HubwireW2::new().ok();
        }
        match slot.as_mut().map(f) {
            Some(Ok(t)) => {
                LAST_BYTES.with(|b| b.set(t.bytes as f64));
                t.checksum as f64
            }
            _ => -1.0,
        }
    })
}

/// Name of the implementation, for reports.
#[wasm_bindgen]
pub fn w2_impl_name() -> String {
    HubwireW2::NAME.to_owned()
}

/// The encoding of frame 0 (the page computes and reports its FNV-1a).
#[wasm_bindgen]
pub fn w2_first_frame() -> Vec<u8> {
    HubwireW2::new()
        .and_then(|mut c| c.first_frame())
        .unwrap_or_default()
}

/// `combined` over frames `start .. start + n`; returns the checksum.
#[wasm_bindgen]
pub fn w2_combined(start: f64, n: f64) -> f64 {
    with_codec(|c| c.combined(start as u64, n as u64))
}

/// `encode_only` over frames `start .. start + n`; returns the bytes written.
#[wasm_bindgen]
pub fn w2_encode_only(start: f64, n: f64) -> f64 {
    with_codec(|c| c.encode_only(start as u64, n as u64))
}

/// `decode_only`: decodes frame 0 `n` times (zero-copy); returns the checksum.
#[wasm_bindgen]
pub fn w2_decode_only(n: f64) -> f64 {
    with_codec(|c| c.decode_only(n as u64))
}

/// `decode_only` through the stream decoder with a copy per decode (informational).
#[wasm_bindgen]
pub fn w2_decode_only_copy(n: f64) -> f64 {
    with_codec(|c| c.decode_only_copy(n as u64))
}

/// Wire bytes handled by the last loop (for MB/s).
#[wasm_bindgen]
pub fn w2_last_bytes() -> f64 {
    LAST_BYTES.with(Cell::get)
}

/// Expected `combined` checksum for frames `start .. start + n`.
#[wasm_bindgen]
pub fn w2_expected_combined(start: f64, n: f64) -> f64 {
    w2::combined_checksum(start as u64, n as u64) as f64
}

/// Expected `encode_only` bytes for frames `start .. start + n` in the compact encoding
/// (hubwire-amqp's; not rhea's, which writes a header section and 32-bit compounds).
#[wasm_bindgen]
pub fn w2_expected_compact_bytes(start: f64, n: f64) -> f64 {
    w2::compact_bytes(start as u64, n as u64) as f64
}
