//! W2 under criterion: `hubwire-amqp` and fe2o3-amqp-types 0.18 (+ serde_amqp) in the same run,
//! for the three loops of the workload (`combined`, `encode_only`, `decode_only`).
//!
//! Criterion picks the iteration counts; each loop is first checked once against its expected
//! checksum, so a codec that computes something else is never timed. The plain runner
//! (`--bin w2`) follows the workload procedure exactly (fixed N, warm-up, fresh process per
//! run); this harness adds criterion's statistics and change detection.
//!
//! ```text
//! cargo bench -p hubwire-bench --bench w2
//! ```
// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::process::exit;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hubwire_bench::w2::{
    combined_checksum, compact_bytes, decode_only_checksum, fnv1a, Fe2o3W2, HubwireW2, Tally,
    W2Codec, W2Error, FRAME0_FNV1A,
};

/// Stops the whole run on an invalid loop: its timings would be meaningless.
fn valid(what: &str, got: Result<Tally, W2Error>, expected: u64) {
    match got {
        Ok(t) if t.checksum == expected => {}
        Ok(t) => {
            eprintln!("{what}: checksum {}, expected {expected}", t.checksum);
            exit(1);
        }
        Err(e) => {
            eprintln!("{what}: {e}");
            exit(1);
        }
    }
}

fn check<C: W2Codec>(c: &mut C) {
    match c.first_frame() {
        Ok(f) if fnv1a(&f) == FRAME0_FNV1A => {}
        other => {
            eprintln!("{}: frame 0 is wrong: {other:02x?}", C::NAME);
            exit(1);
        }
    }
    let n = 20_000;
    valid(C::NAME, c.combined(0, n), combined_checksum(0, n));
    valid(C::NAME, c.encode_only(0, n), compact_bytes(0, n));
    valid(C::NAME, c.decode_only(n), decode_only_checksum(n));
}

/// Times `iters` iterations of one loop, continuing the frame index where the previous batch
/// stopped (wrapping well below 2^31, where the workload's seq would no longer fit an int).
fn timed(
    next: &mut u64,
    iters: u64,
    mut run: impl FnMut(u64, u64) -> Result<Tally, W2Error>,
) -> Duration {
    if *next + iters > 1 << 30 {
        *next = 0;
    }
    let start = *next;
    *next += iters;
    let t0 = Instant::now();
    let result = run(start, iters);
    let elapsed = t0.elapsed();
    if let Err(e) = result {
        eprintln!("{e}");
        exit(1);
    }
    elapsed
}

/// One implementation with its running frame index.
struct Subject<C> {
    codec: C,
    next: u64,
}

impl<C: W2Codec> Subject<C> {
    fn new(new: fn() -> Result<C, W2Error>) -> Self {
        match new() {
            Ok(mut codec) => {
                check(&mut codec);
                Self { codec, next: 0 }
            }
            Err(e) => {
                eprintln!("{e}");
                exit(1);
            }
        }
    }

    fn bench(&mut self, g: &mut criterion::BenchmarkGroup<'_, WallTime>, which: Loop) {
        let Self { codec, next } = self;
        g.bench_function(C::NAME, |b| {
            b.iter_custom(|iters| {
                timed(next, iters, |s, n| match which {
                    Loop::Combined => codec.combined(s, n),
                    Loop::EncodeOnly => codec.encode_only(s, n),
                    Loop::DecodeOnly => codec.decode_only(n),
                })
            });
        });
    }
}

#[derive(Clone, Copy)]
enum Loop {
    Combined,
    EncodeOnly,
    DecodeOnly,
}

fn w2(crit: &mut Criterion) {
    let mut ours = Subject::new(HubwireW2::new);
    let mut peer = Subject::new(Fe2o3W2::new);
    for (name, which) in [
        ("w2/combined", Loop::Combined),
        ("w2/encode_only", Loop::EncodeOnly),
        ("w2/decode_only", Loop::DecodeOnly),
    ] {
        let mut g = crit.benchmark_group(name);
        g.throughput(Throughput::Elements(1));
        ours.bench(&mut g, which);
        peer.bench(&mut g, which);
        g.finish();
    }
}

criterion_group! {
    name = benches;
    // Short, many-sample runs: the machine is shared and noisy.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = w2
}
criterion_main!(benches);
