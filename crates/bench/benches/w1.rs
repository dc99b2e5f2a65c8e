//! W1 under criterion: `hubwire-mqtt` and rumqttc 0.25's `mqttbytes::v4` in the same run, for
//! the three loops of the workload (`combined`, `encode_only`, `decode_only`).
//!
//! Criterion picks the iteration counts; each loop is first checked once against its expected
//! checksum, so a codec that computes something else is never timed. The plain runner
//! (`--bin w1`) is the one that follows the workload procedure exactly (fixed N, warm-up, fresh
//! process per run); this harness adds criterion's statistics and change detection.
//!
//! ```text
//! cargo bench -p hubwire-bench --bench w1
//! ```
// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::process::exit;
use std::time::{Duration, Instant};

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use hubwire_bench::w1::{
    combined_checksum, decode_only_checksum, encode_only_checksum, fnv1a, HubwireW1, RumqttcW1,
    W1Codec, W1Error, PACKET0_FNV1A,
};

/// Stops the whole run on an invalid loop: its timings would be meaningless.
fn valid(what: &str, got: Result<u64, W1Error>, expected: u64) {
    match got {
        Ok(sum) if sum == expected => {}
        Ok(sum) => {
            eprintln!("{what}: checksum {sum}, expected {expected}");
            exit(1);
        }
        Err(e) => {
            eprintln!("{what}: {e}");
            exit(1);
        }
    }
}

fn check<C: W1Codec>(c: &mut C) {
    match c.first_packet() {
        Ok(p) if fnv1a(&p) == PACKET0_FNV1A => {}
        other => {
            eprintln!("{}: packet 0 is wrong: {other:02x?}", C::NAME);
            exit(1);
        }
    }
    let n = 70_000; // crosses the packet id wrap-around
    valid(C::NAME, c.combined(0, n), combined_checksum(0, n));
    valid(C::NAME, c.encode_only(0, n), encode_only_checksum(n));
    valid(C::NAME, c.decode_only(n), decode_only_checksum(n));
}

/// Times `iters` iterations of one loop, continuing the packet index where the previous batch
/// stopped so packet ids keep cycling as in the workload.
fn timed(
    next: &mut u64,
    iters: u64,
    mut run: impl FnMut(u64, u64) -> Result<u64, W1Error>,
) -> Duration {
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

fn make<C: W1Codec>(new: fn() -> Result<C, W1Error>) -> C {
    match new() {
        Ok(mut c) => {
            check(&mut c);
            c
        }
        Err(e) => {
            eprintln!("{e}");
            exit(1);
        }
    }
}

/// One implementation with its running packet index.
struct Subject<C> {
    codec: C,
    next: u64,
}

impl<C: W1Codec> Subject<C> {
    fn new(new: fn() -> Result<C, W1Error>) -> Self {
        Self {
            codec: make(new),
            next: 0,
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

fn w1(crit: &mut Criterion) {
    let mut ours = Subject::new(HubwireW1::new);
    let mut peer = Subject::new(RumqttcW1::new);
    for (name, which) in [
        ("w1/combined", Loop::Combined),
        ("w1/encode_only", Loop::EncodeOnly),
        ("w1/decode_only", Loop::DecodeOnly),
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
    // Short, many-sample runs: the machine is shared and noisy, and criterion's outlier
    // handling copes better with more, shorter samples.
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = w1
}
criterion_main!(benches);
