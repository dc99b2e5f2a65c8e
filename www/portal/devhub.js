// Local convenience, not part of the embedding: when this page is served by devhub (the local
// IoT Hub emulator) and opened as `/portal/?device=ID`, the form is prefilled with that
// device's connection string and devhub's endpoints. Against a real hub nothing here runs.

/** devhub's endpoint for a protocol: WebSocket for MQTT and AMQP, HTTP for the HTTPS API. */
export function devhubEndpoint(protocol) {
  return protocol === 'http' ? location.origin : `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
}

/**
 * `{ connectionString }` of `?device=ID` when this origin is a devhub; null otherwise (also
 * when the service API does not answer, as on any other web server).
 */
export async function devhubDevice() {
  const id = new URLSearchParams(location.search).get('device');
  if (!id) return null;
  try {
    const hub = await fetch('/api/hub');
    if (!hub.ok || (await hub.json()).devhub !== true) return null;
    const res = await fetch(`/api/devices/${encodeURIComponent(id)}`);
    if (!res.ok) throw new Error(`devhub has no device “${id}” (HTTP ${res.status})`);
    const device = await res.json();
    return { deviceId: device.deviceId, connectionString: device.connectionString };
  } catch (e) {
    if (e instanceof SyntaxError || e instanceof TypeError) return null; // not devhub
    throw e;
  }
}
