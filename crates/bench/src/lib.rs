//! Benchmarks for hubwire's codecs, measured side by side with peer implementations in the same
//! run (see `shared/bench/WORKLOADS.md` for the workload definitions and `BENCHMARKS.md` for
//! the figures).
//!
//! The library part holds what every runner shares: the workload inputs (payload, topic,
//! expected checksums, fingerprint) and one loop implementation per codec, so the criterion
//! benchmark, the plain `w1` runner and the wasm build (`crates/bench-wasm`) time exactly the
//! same code.
#![forbid(unsafe_code)]

pub mod w1;
pub mod w2;
