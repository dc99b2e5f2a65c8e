// Bundles the rhea side of the W2 page with esbuild: rhea 3.0.5's codec modules with the npm
// `buffer`, `events`, `process` and `util` polyfills and stubs for `os`/`path`
// (WORKLOADS.md, W2 "chromium-rhea" and W3).
import { build } from 'esbuild';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const WWW = resolve(HERE, '../../www/bench');
const STUB = resolve(WWW, 'node-stub.mjs');

await build({
  entryPoints: [resolve(WWW, 'rhea-w2.mjs')],
  outfile: resolve(WWW, 'dist/rhea-w2.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  inject: [resolve(WWW, 'shims.mjs')],
  define: { global: 'globalThis' },
  // `buffer`, `events`, `process` and `util` resolve to the npm polyfills of the same names
  // (platform browser: no Node built-ins).
  alias: { os: STUB, path: STUB },
  // The page's sources live outside this package; resolve their imports from here.
  nodePaths: [resolve(HERE, 'node_modules')],
  logLevel: 'warning',
});
