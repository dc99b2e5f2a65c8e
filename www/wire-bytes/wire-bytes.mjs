// Drives one HubwireDevice for tests/e2e/wire-bytes.test.mjs. The package is the one a web page
// embeds (scripts/build-pkg.sh, wasm-bindgen --target web), served by the test at ./pkg/.
import init, { HubwireDevice } from './pkg/hubwire_web.js';

let device = null;

/** Connects with `options` (HubwireDeviceOptions); resolves with the client's stats. */
async function connect(options) {
  device = await HubwireDevice.connect(options);
  return device.stats();
}

/** Sends one D2C message (body as an array of byte values); resolves when the hub acknowledged it. */
async function send({ body, properties }) {
  const receipt = await device.sendEvent({ body: new Uint8Array(body), properties });
  return { receipt, stats: device.stats() };
}

function stats() {
  return device ? device.stats() : null;
}

async function close() {
  if (device) await device.close();
  device = null;
}

await init();
window.wire = { connect, send, stats, close };
document.title = 'ready';
