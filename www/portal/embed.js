// The embedding: everything a page needs to put an Azure IoT Hub device on it. Copy this file
// and the `hubwire` package (target/pkg/full/, built by scripts/build-pkg.sh) next to your
// page; here the package is served at ./pkg/. No bundler and no server code are needed.
import init, { HubwireDevice } from './pkg/hubwire_web.js';

/**
 * Connects one device and wires its callbacks; resolves with the `HubwireDevice`.
 * `protocol` is "mqtt", "amqp" or "http"; without `endpoint` the device connects to the hub
 * named in the connection string (wss://{HostName}, or https://{HostName} for "http").
 * Rejects with an Error whose `code` says why (e.g. "Unauthorized", "InvalidConnectionString").
 */
export async function embedDevice({ connectionString, protocol, endpoint, pollIntervalSecs, onStatus, onMessage }) {
  await init(); // loads hubwire_web_bg.wasm once
  const device = await HubwireDevice.connect({
    connectionString,
    protocol,
    ...(endpoint ? { endpoint } : {}),
    ...(protocol === 'http' && pollIntervalSecs ? { pollIntervalSecs } : {}),
  });
  device.onStatus(onStatus);
  device.onMessage(onMessage);
  return device;
}
