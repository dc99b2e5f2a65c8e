// W2 in the browser: hubwire-amqp as wasm (the loops run inside wasm, one call per loop) and
// rhea 3.0.5's codec modules (bundled), timed from JavaScript with performance.now(). The page
// must be served cross-origin isolated (COOP same-origin + COEP require-corp) for 5 µs timer
// resolution; `w2.info()` reports whether it is.
//
// pkg/ is the build the project ships (profile wasm-release, opt-level "z"); pkg-o3/, when
// present, is the same code built with opt-level 3 and is reported as `hubwire-amqp-o3`.
import { makeW2 as makeRhea, NAME as RHEA } from './dist/rhea-w2.js';

const WASM_BUILDS = [
  { suffix: '', dir: './pkg/', required: true },
  { suffix: '-o3', dir: './pkg-o3/', required: false },
];

// Frame 0 of each implementation (WORKLOADS.md: fe2o3/hubwire 369 bytes, rhea 391 bytes, which
// adds an empty header section and uses 32-bit compound forms).
const FRAME0 = {
  compact: { len: 369, fnv1a: '1614fe12' },
  [RHEA]: { len: 391, fnv1a: '0944657f' },
};

/** The workload payload: xorshift32 from 0x12345678, low byte of each new state. */
function payload() {
  const out = new Uint8Array(256);
  let s = 0x12345678;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}

function fnv1a(bytes) {
  let h = 0x811c9dc5;
  for (const b of bytes) {
    h = Math.imul(h ^ b, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Sum of delivery-id + seq + data length over frames start .. start + n. */
function combinedChecksum(start, n) {
  let sum = 0;
  for (let i = start; i < start + n; i++) sum += 2 * i + 256;
  return sum;
}

const status = document.getElementById('status');
const impls = {};

/** Loads one wasm-bindgen build and registers its loops. */
async function addWasm({ suffix, dir, required }, p) {
  let hw;
  try {
    hw = await import(`${dir}hubwire_bench_wasm.js`);
  } catch (e) {
    if (required) throw e;
    return;
  }
  await hw.default();
  if (typeof hw.w2_combined !== 'function') {
    if (required) throw new Error(`${dir}: no W2 exports`);
    return;
  }
  const wasmPayload = hw.w1_payload();
  if (p.length !== wasmPayload.length || p.some((b, i) => b !== wasmPayload[i])) {
    throw new Error('JS and Rust payload generators disagree');
  }
  const tally = (checksum) => ({ checksum, bytes: hw.w2_last_bytes() });
  impls[hw.w2_impl_name() + suffix] = {
    frame0: FRAME0.compact,
    firstFrame: () => hw.w2_first_frame(),
    // The compact encoding's sizes are known independently of the codec.
    expectedEncodeBytes: (s, n) => hw.w2_expected_compact_bytes(s, n),
    combined: (s, n) => tally(hw.w2_combined(s, n)),
    encode_only: (s, n) => tally(hw.w2_encode_only(s, n)),
    decode_only: (_s, n) => tally(hw.w2_decode_only(n)),
    decode_only_copy: (_s, n) => tally(hw.w2_decode_only_copy(n)),
  };
}

const ready = (async () => {
  const p = payload();
  for (const build of WASM_BUILDS) await addWasm(build, p);
  const rhea = makeRhea(p);
  impls[RHEA] = {
    frame0: FRAME0[RHEA],
    firstFrame: () => rhea.firstFrame(),
    // rhea's sizes: the bytes of a validated (decoded and checksummed) combined pass over the
    // same frames, run untimed.
    expectedEncodeBytes: (s, n) => {
      const t = rhea.combined(s, n);
      return t.checksum === combinedChecksum(s, n) ? t.bytes : -1;
    },
    combined: (s, n) => rhea.combined(s, n),
    encode_only: (s, n) => rhea.encodeOnly(s, n),
    decode_only: (_s, n) => rhea.decodeOnly(n),
  };
  for (const [name, impl] of Object.entries(impls)) {
    const f = impl.firstFrame();
    const fp = fnv1a(f);
    if (f.length !== impl.frame0.len || fp !== impl.frame0.fnv1a) {
      throw new Error(`${name}: frame 0 is ${f.length} bytes with fingerprint ${fp}`);
    }
  }
  status.textContent = 'ready';
})();

window.w2 = {
  ready: () => ready.then(() => true),
  impls: () => Object.keys(impls),
  info: () => ({
    crossOriginIsolated: globalThis.crossOriginIsolated === true,
    userAgent: navigator.userAgent,
  }),
  /** Warm-up (untimed), then the timed loop; the checksum decides validity. */
  async run(implName, loop, n, warmup) {
    await ready;
    const impl = impls[implName];
    if (!impl || !impl[loop]) throw new Error(`no loop ${loop} for ${implName}`);
    const want =
      loop === 'combined'
        ? combinedChecksum(0, n)
        : loop === 'encode_only'
          ? impl.expectedEncodeBytes(0, n)
          : n * 256;
    impl[loop](0, warmup);
    const t0 = performance.now();
    const t = impl[loop](0, n);
    const ms = performance.now() - t0;
    const secs = ms / 1000;
    const result = {
      impl: implName,
      loop,
      n,
      warmup,
      secs,
      per_s: Math.round(n / secs),
      mb_per_s: Math.round(t.bytes / secs / 1e5) / 10,
      bytes: t.bytes,
      checksum: t.checksum,
      expected: want,
      valid: t.checksum === want,
      fingerprint: fnv1a(impl.firstFrame()),
    };
    status.textContent += `\n${JSON.stringify(result)}`;
    return result;
  },
};
