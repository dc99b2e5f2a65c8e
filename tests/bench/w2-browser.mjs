// W2 in headless Chromium: serves www/bench/ cross-origin isolated, then for each run starts a
// fresh browser (fresh profile), loads w2.html and runs every loop of each implementation
// (hubwire-amqp as wasm, rhea 3.0.5 bundled) with page.evaluate. Prints one JSON line per loop
// and run, in the format of the native runner (`impl`, `loop`, `per_s`, `mb_per_s`, …).
//
// Usage: node tests/bench/w2-browser.mjs [--runs 3] [--n 200000] [--warmup 20000]
//          [--first 1]          (number of the first run; the order of implementations alternates)
//          [--only name,name]   (restrict to some implementations, for quick checks)
// Expects www/bench/pkg (wasm-bindgen output) and www/bench/dist/rhea-w2.js (esbuild bundle);
// scripts/bench-w2.sh builds both.
import { loadavg } from 'node:os';
import { launchChromium, startServer } from './harness.mjs';

function parseArgs(argv) {
  const args = { runs: 3, first: 1, n: 200_000, warmup: 20_000, only: null };
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i].replace(/^--/, '');
    if (key === 'only') {
      args.only = (argv[i + 1] ?? '').split(',').filter(Boolean);
      continue;
    }
    if (!(key in args)) throw new Error(`unknown argument ${argv[i]}`);
    args[key] = Number(argv[i + 1]);
    if (!Number.isFinite(args[key]) || args[key] <= 0) throw new Error(`bad value for ${argv[i]}`);
  }
  return args;
}

async function oneRun(url, run, args) {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => typeof window.w2 === 'object');
    await page.evaluate(() => window.w2.ready());
    const info = await page.evaluate(() => window.w2.info());
    if (!info.crossOriginIsolated) throw new Error('page is not cross-origin isolated');
    const impls = (await page.evaluate(() => window.w2.impls())).filter(
      (name) => !args.only || args.only.includes(name),
    );
    // Alternate which implementation goes first, so neither always runs in a fresher page.
    const order = run % 2 === 1 ? impls : [...impls].reverse();
    const results = [];
    for (const impl of order) {
      const loops = ['combined', 'encode_only', 'decode_only'];
      if (impl.startsWith('hubwire-amqp')) loops.push('decode_only_copy');
      for (const loop of loops) {
        const n = loop === 'combined' ? args.n : Math.floor(args.n / 4);
        const r = await page.evaluate(
          ([i, l, n, w]) => window.w2.run(i, l, n, w),
          [impl, loop, n, args.warmup],
        );
        const line = {
          workload: 'W2',
          env: 'chromium',
          browser: browser.version(),
          run,
          ...r,
          load1: Number(loadavg()[0].toFixed(2)),
        };
        console.log(JSON.stringify(line));
        results.push(line);
      }
    }
    if (pageErrors.length) throw new Error(`page errors: ${pageErrors.join('; ')}`);
    return results;
  } finally {
    await browser.close();
  }
}

const args = parseArgs(process.argv.slice(2));
const server = await startServer();
const url = `http://127.0.0.1:${server.address().port}/w2.html`;
let invalid = 0;
try {
  for (let run = args.first; run < args.first + args.runs; run++) {
    const results = await oneRun(url, run, args);
    invalid += results.filter((r) => !r.valid).length;
  }
} finally {
  server.close();
}
if (invalid) {
  console.error(`${invalid} loop(s) had a wrong checksum: those runs are invalid`);
  process.exit(1);
}
