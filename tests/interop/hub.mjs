// Shared helpers for the interop tests: where devhub is, its service API, and a socket agent
// that lets the official SDKs reach a hub that is not on port 443.
//
// scripts/test.sh starts devhub with --tls and passes:
//   HUBWIRE_DEVHUB_HTTP   plain listener, e.g. http://127.0.0.1:18080 (service API)
//   HUBWIRE_DEVHUB_TLS    TLS listener as host:port, e.g. 127.0.0.1:18443
//   NODE_EXTRA_CA_CERTS   {state-dir}/ca.pem, so Node trusts devhub's certificate
import https from 'node:https';
import tls from 'node:tls';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';

function requireEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run these tests through \`./scripts/test.sh interop\`, which starts devhub with --tls`,
    );
  }
  return value;
}

export const hubHttp = requireEnv('HUBWIRE_DEVHUB_HTTP').replace(/\/+$/, '');
const [tlsHost, tlsPort] = requireEnv('HUBWIRE_DEVHUB_TLS').split(':');
requireEnv('NODE_EXTRA_CA_CERTS');

/**
 * An https.Agent for the SDKs' `webSocketAgent` / `agent` options. The SDKs always dial
 * `<HostName>:443`; this dials devhub's TLS listener instead while keeping the TLS server name
 * (and so the certificate check) of the host the SDK asked for.
 */
export class HubPortAgent extends https.Agent {
  constructor() {
    super({ keepAlive: false });
  }

  // Returning the socket is enough: http.Agent uses a returned socket and ignores the callback.
  createConnection(options) {
    return tls.connect({
      ...options,
      host: tlsHost,
      port: Number(tlsPort),
      servername: options.servername || options.host,
    });
  }
}

/** Calls devhub's service API; returns `{ status, body }` with `body` parsed when JSON. */
export async function api(method, path, body) {
  const res = await fetch(`${hubHttp}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = text;
  if ((res.headers.get('content-type') || '').includes('json') && text.length > 0) {
    parsed = JSON.parse(text);
  }
  return { status: res.status, body: parsed };
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually(what, probe, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await probe();
    if (last) return last;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Registers a fresh device (so no other suite's messages are in its way) and returns it. */
export async function createDevice(prefix) {
  const deviceId = `${prefix}-${randomUUID().slice(0, 8)}`;
  const created = await api('POST', '/api/devices', { deviceId });
  if (created.status !== 201) {
    throw new Error(`POST /api/devices answered ${created.status}: ${JSON.stringify(created.body)}`);
  }
  return created.body;
}
