// W1 in the browser: hubwire-mqtt as wasm (the loops run inside wasm, one call per loop) and
// mqtt-packet (bundled), timed from JavaScript with performance.now(). The page must be
// served cross-origin isolated (COOP same-origin + COEP require-corp) for 5 µs timer
// resolution; `w1.info()` reports whether it is.
//
// pkg/ is the build the project ships (profile wasm-release, opt-level "z"); pkg-o3/, when
// present, is the same code built with opt-level 3 and is reported as `hubwire-mqtt-o3`.
import { makeW1 as makeMqttPacket, NAME as MQTT_PACKET } from './dist/mqtt-packet-w1.js';

const WASM_BUILDS = [
  { suffix: '', dir: './pkg/', required: true },
  { suffix: '-o3', dir: './pkg-o3/', required: false },
];

const TOPIC = 'devices/dev1/messages/events/%24.ct=application%2Fjson&%24.ce=utf-8&temp=high';
const ENCODED_LEN = 340;
const FINGERPRINT = '6e7edf1e';

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

function combinedChecksum(start, n) {
  let sum = 0;
  for (let i = start; i < start + n; i++) sum += (i % 65535) + 1 + 256;
  return sum;
}

const expected = {
  combined: (n) => combinedChecksum(0, n),
  encode_only: (n) => n * ENCODED_LEN,
  decode_only: (n) => n * 257,
  decode_only_copy: (n) => n * 257,
};

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
  const wasmPayload = hw.w1_payload();
  if (p.length !== wasmPayload.length || p.some((b, i) => b !== wasmPayload[i])) {
    throw new Error('JS and Rust payload generators disagree');
  }
  impls[hw.w1_impl_name() + suffix] = {
    firstPacket: () => hw.w1_first_packet(),
    combined: (s, n) => hw.w1_combined(s, n),
    encode_only: (s, n) => hw.w1_encode_only(s, n),
    decode_only: (_s, n) => hw.w1_decode_only(n),
    decode_only_copy: (_s, n) => hw.w1_decode_only_copy(n),
  };
}

const ready = (async () => {
  const p = payload();
  for (const build of WASM_BUILDS) await addWasm(build, p);
  const mp = makeMqttPacket(p, TOPIC);
  impls[MQTT_PACKET] = {
    firstPacket: () => mp.firstPacket(),
    combined: (s, n) => mp.combined(s, n),
    encode_only: (s, n) => mp.encodeOnly(s, n),
    decode_only: (_s, n) => mp.decodeOnly(n),
  };
  for (const [name, impl] of Object.entries(impls)) {
    const fp = fnv1a(impl.firstPacket());
    if (fp !== FINGERPRINT) throw new Error(`${name}: packet 0 fingerprint ${fp}`);
  }
  status.textContent = 'ready';
})();

window.w1 = {
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
    impl[loop](0, warmup);
    const t0 = performance.now();
    const checksum = impl[loop](0, n);
    const ms = performance.now() - t0;
    const want = expected[loop](n);
    const perS = n / (ms / 1000);
    const result = {
      impl: implName,
      loop,
      n,
      warmup,
      secs: ms / 1000,
      per_s: Math.round(perS),
      mb_per_s: Math.round((perS * ENCODED_LEN) / 1e5) / 10,
      checksum,
      expected: want,
      valid: checksum === want,
      fingerprint: fnv1a(impl.firstPacket()),
    };
    status.textContent += `\n${JSON.stringify(result)}`;
    return result;
  },
};
