// Bundles the mqtt-packet side of the W1 page with esbuild and the npm `buffer` polyfill
// (WORKLOADS.md: "the same module bundled by esbuild with the npm buffer polyfill").
import { build } from 'esbuild';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const WWW = resolve(HERE, '../../www/bench');

await build({
  entryPoints: [resolve(WWW, 'mqtt-packet-w1.mjs')],
  outfile: resolve(WWW, 'dist/mqtt-packet-w1.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  inject: [resolve(WWW, 'shims.mjs')],
  define: { global: 'globalThis' },
  // The page's sources live outside this package; resolve their imports from here.
  nodePaths: [resolve(HERE, 'node_modules')],
  logLevel: 'warning',
});
