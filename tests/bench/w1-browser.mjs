// W1 in headless Chromium: serves www/bench/ cross-origin isolated, then for each run starts a
// fresh browser (fresh profile), loads w1.html and runs every loop of both implementations
// (hubwire-mqtt as wasm, mqtt-packet bundled) with page.evaluate. Prints one JSON line per
// loop and run, in the format of the native runner (`impl`, `loop`, `per_s`, `mb_per_s`, …).
//
// Usage: node tests/bench/w1-browser.mjs [--runs 3] [--n 1000000] [--warmup 100000]
//          [--first 1]          (number of the first run; the order of implementations alternates)
//          [--only name,name]   (restrict to some implementations, for quick checks)
// Expects www/bench/pkg (wasm-bindgen output) and www/bench/dist (esbuild bundle); see
// scripts/bench-w1.sh, which builds both.
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve, dirname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../www/bench');

// The flags of WORKLOADS.md ("Browser").
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

function parseArgs(argv) {
  const args = { runs: 3, first: 1, n: 1_000_000, warmup: 100_000, only: null };
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

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Static files from ROOT with the cross-origin isolation headers on every response. */
function startServer() {
  const server = createServer(async (req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    };
    try {
      const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
      const file = normalize(join(ROOT, path === '/' ? 'w1.html' : path));
      if (!file.startsWith(ROOT + sep)) throw new Error('outside root');
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'Content-Type': MIME[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404, headers);
      res.end('not found');
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server)));
}

async function oneRun(url, run, args) {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_FLAGS,
  });
  try {
    const page = await browser.newPage();
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => typeof window.w1 === 'object');
    await page.evaluate(() => window.w1.ready());
    const info = await page.evaluate(() => window.w1.info());
    if (!info.crossOriginIsolated) throw new Error('page is not cross-origin isolated');
    const impls = (await page.evaluate(() => window.w1.impls())).filter(
      (name) => !args.only || args.only.includes(name),
    );
    // Alternate which implementation goes first, so neither always runs in a fresher page.
    const order = run % 2 === 1 ? impls : [...impls].reverse();
    const results = [];
    for (const impl of order) {
      const loops = ['combined', 'encode_only', 'decode_only'];
      if (impl.startsWith('hubwire-mqtt')) loops.push('decode_only_copy');
      for (const loop of loops) {
        const n = loop === 'combined' ? args.n : Math.floor(args.n / 4);
        const r = await page.evaluate(
          ([i, l, n, w]) => window.w1.run(i, l, n, w),
          [impl, loop, n, args.warmup],
        );
        const line = {
          workload: 'W1',
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
const url = `http://127.0.0.1:${server.address().port}/w1.html`;
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
