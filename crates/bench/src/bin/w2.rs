//! W2 runner: exactly the procedure of WORKLOADS.md for one fresh process.
//!
//! ```text
//! cargo run --release -p hubwire-bench --bin w2 -- [--impl hubwire|fe2o3|all] [--n N] [--warmup W]
//!     [--combined-only]
//! ```
//!
//! For each implementation: check the fingerprint of frame 0, then for each loop run the
//! warm-up (untimed), then the timed loop, and validate its checksum (`combined`: the
//! workload's checksum; `encode_only`: the bytes written against the sizes worked out from the
//! type system; `decode_only`: n × 256). Prints one JSON line per loop; exits non-zero if any
//! checksum or fingerprint is wrong.

use std::process::ExitCode;
use std::time::Instant;

use hubwire_bench::w2::{
    self, combined_checksum, compact_bytes, decode_only_checksum, fnv1a, Fe2o3W2, HubwireW2, Tally,
    W2Codec, W2Error,
};

struct Args {
    hubwire: bool,
    fe2o3: bool,
    n: u64,
    warmup: u64,
    /// Only the headline loop (for profiling).
    combined_only: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        hubwire: true,
        fe2o3: true,
        n: w2::N,
        warmup: w2::WARMUP,
        combined_only: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--impl" => match value()?.as_str() {
                "hubwire" => args.fe2o3 = false,
                "fe2o3" => args.hubwire = false,
                "all" => {}
                other => return Err(format!("unknown implementation {other}")),
            },
            "--n" => args.n = value()?.parse().map_err(|e| format!("--n: {e}"))?,
            "--warmup" => args.warmup = value()?.parse().map_err(|e| format!("--warmup: {e}"))?,
            "--combined-only" => args.combined_only = true,
            "-h" | "--help" => {
                return Err(
                    "usage: w2 [--impl hubwire|fe2o3|all] [--n N] [--warmup W] [--combined-only]"
                        .to_owned(),
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.n > 1 << 30 {
        return Err("--n: at most 2^30 (seq is a signed 32-bit int)".to_owned());
    }
    Ok(args)
}

/// 1-minute load average, recorded with every figure (the machine is shared).
fn load1() -> f64 {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(f64::NAN)
}

/// Runs `warmup` untimed iterations, then `n` timed ones, and prints the JSON line.
#[allow(clippy::too_many_arguments)]
fn measure(
    name: &str,
    loop_name: &str,
    fingerprint: u32,
    n: u64,
    warmup: u64,
    expected: u64,
    mut run: impl FnMut(u64) -> Result<Tally, W2Error>,
) -> Result<bool, W2Error> {
    run(warmup)?;
    let t0 = Instant::now();
    let t = run(n)?;
    let secs = t0.elapsed().as_secs_f64();
    let per_s = n as f64 / secs;
    let mb_per_s = t.bytes as f64 / secs / 1e6;
    let valid = t.checksum == expected;
    println!(
        "{{\"workload\":\"W2\",\"impl\":\"{name}\",\"loop\":\"{loop_name}\",\"n\":{n},\
         \"warmup\":{warmup},\"secs\":{secs:.6},\"per_s\":{per_s:.0},\"mb_per_s\":{mb_per_s:.1},\
         \"bytes\":{},\"checksum\":{},\"expected\":{expected},\"valid\":{valid},\
         \"fingerprint\":\"{fingerprint:08x}\",\"load1\":{:.2}}}",
        t.bytes,
        t.checksum,
        load1()
    );
    Ok(valid)
}

fn run_codec<C: W2Codec>(
    c: &mut C,
    n: u64,
    warmup: u64,
    combined_only: bool,
) -> Result<bool, W2Error> {
    let frame0 = c.first_frame()?;
    let fp = fnv1a(&frame0);
    let mut ok = fp == w2::FRAME0_FNV1A && frame0.len() == w2::FRAME0_LEN;
    if !ok {
        eprintln!(
            "{}: frame 0 is {} bytes with fingerprint {fp:08x}, expected 369 and 1614fe12",
            C::NAME,
            frame0.len()
        );
    }
    let n4 = n / 4;
    // The warm-up runs the same frames as the timed loop, so it starts at 0 as well.
    ok &= measure(
        C::NAME,
        "combined",
        fp,
        n,
        warmup,
        combined_checksum(0, n),
        |k| c.combined(0, k),
    )?;
    if combined_only {
        return Ok(ok);
    }
    ok &= measure(
        C::NAME,
        "encode_only",
        fp,
        n4,
        warmup,
        compact_bytes(0, n4),
        |k| c.encode_only(0, k),
    )?;
    ok &= measure(
        C::NAME,
        "decode_only",
        fp,
        n4,
        warmup,
        decode_only_checksum(n4),
        |k| c.decode_only(k),
    )?;
    Ok(ok)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let result = (|| -> Result<bool, W2Error> {
        let mut ok = true;
        if args.hubwire {
            let mut c = HubwireW2::new()?;
            ok &= run_codec(&mut c, args.n, args.warmup, args.combined_only)?;
            if !args.combined_only {
                // Informational: decode_only through the stream decoder (a copy per decode),
                // the same work the peer's `decode_only` does.
                let n4 = args.n / 4;
                let fp = fnv1a(&c.first_frame()?);
                ok &= measure(
                    HubwireW2::NAME,
                    "decode_only_copy",
                    fp,
                    n4,
                    args.warmup,
                    decode_only_checksum(n4),
                    |k| c.decode_only_copy(k),
                )?;
            }
        }
        if args.fe2o3 {
            ok &= run_codec(
                &mut Fe2o3W2::new()?,
                args.n,
                args.warmup,
                args.combined_only,
            )?;
        }
        Ok(ok)
    })();
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("invalid run: a checksum or fingerprint differs");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
