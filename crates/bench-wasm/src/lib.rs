//! The W1 loops of `hubwire-mqtt`, exported to JavaScript so a browser page can time them.
//!
//! The loops run entirely inside wasm (one call per timed loop), exactly the code the native
//! runner times (`hubwire_bench::w1::HubwireW1`); the page measures each call with
//! `performance.now()`. Results are returned as `f64` (checksums stay below 2^53, so they are
//! exact); a negative value means the loop failed.
#![forbid(unsafe_code)]

use std::cell::RefCell;

use hubwire_bench::w1::{self, HubwireW1, W1Codec, W1Error};
use wasm_bindgen::prelude::wasm_bindgen;

mod w2;
pub use self::w2::*;

thread_local! {
    /// Prepared once per page, like the native runner prepares its inputs before timing.
    static CODEC: RefCell<Option<HubwireW1>> = const { RefCell::new(None) };
}

/// Runs `f` on the page's codec, creating it on first use. `-1.0` on any failure.
fn with_codec(f: impl FnOnce(&mut HubwireW1) -> Result<u64, W1Error>) -> f64 {
    CODEC.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            *slot = HubwireW1::new().ok();
        }
        match slot.as_mut().map(f) {
            Some(Ok(sum)) => sum as f64,
            _ => -1.0,
        }
    })
}

/// Name of the implementation, for reports.
#[wasm_bindgen]
pub fn w1_impl_name() -> String {
    HubwireW1::NAME.to_owned()
}

/// The encoding of packet 0 (the page computes and reports its FNV-1a).
#[wasm_bindgen]
pub fn w1_first_packet() -> Vec<u8> {
    HubwireW1::new()
        .and_then(|mut c| c.first_packet())
        .unwrap_or_default()
}

/// FNV-1a 32 of `bytes`, the same function the native runner uses.
#[wasm_bindgen]
pub fn w1_fnv1a(bytes: &[u8]) -> u32 {
    w1::fnv1a(bytes)
}

/// The workload payload (so the page can check its JS generator against the Rust one).
#[wasm_bindgen]
pub fn w1_payload() -> Vec<u8> {
    w1::PAYLOAD.to_vec()
}

/// `combined` over packets `start .. start + n`; returns the checksum.
#[wasm_bindgen]
pub fn w1_combined(start: f64, n: f64) -> f64 {
    with_codec(|c| c.combined(start as u64, n as u64))
}

/// `encode_only` over packets `start .. start + n`; returns the bytes written.
#[wasm_bindgen]
pub fn w1_encode_only(start: f64, n: f64) -> f64 {
    with_codec(|c| c.encode_only(start as u64, n as u64))
}

/// `decode_only`: decodes packet 0 `n` times (zero-copy); returns the checksum.
#[wasm_bindgen]
pub fn w1_decode_only(n: f64) -> f64 {
    with_codec(|c| c.decode_only(n as u64))
}

/// `decode_only` through the stream path with a fresh copy per decode (informational).
#[wasm_bindgen]
pub fn w1_decode_only_copy(n: f64) -> f64 {
    with_codec(|c| c.decode_only_copy(n as u64))
}

/// Expected `combined` checksum for packets `start .. start + n`.
#[wasm_bindgen]
pub fn w1_expected_combined(start: f64, n: f64) -> f64 {
    w1::combined_checksum(start as u64, n as u64) as f64
}
