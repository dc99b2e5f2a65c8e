// Bytes on the wire for one 256-byte D2C message with 3 application properties, per protocol
// (MQTT over WebSocket, AMQP over WebSocket, HTTPS), measured below the browser.
//
// The embeddable package (scripts/build-pkg.sh → target/pkg/full/, rebuilt here only when a
// source is newer) runs in a tiny page (www/wire-bytes/). Its `endpoint` points at a byte-counting
// TCP proxy in this process, in front of devhub's plain listener, so every byte Chromium writes
// or reads for the hub is counted: HTTP headers the browser adds, CORS preflights, the WebSocket
// upgrade and WebSocket frame headers. The proxy also parses WebSocket frame headers (to split
// framing from payload) and HTTP request lines (to list the requests of a window).
//
// Windows: "connect" = proxy start → connect() resolved and the line quiet for QUIET_MS;
// "send" = just before sendEvent() → its acknowledgement resolved in the page.
// Results: artifacts/wire-bytes.json and a table on stdout. Figures are not asserted.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import net from 'node:net';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hubHttp, launch, openPage } from './browser.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PKG = join(ROOT, 'target/pkg/full');
const PAGE_DIR = join(ROOT, 'www/wire-bytes');
const QUIET_MS = 300;

// --- the message -------------------------------------------------------------------------------
/** The 256-byte payload of WORKLOADS.md (xorshift32, seed 0x12345678, low byte of each state). */
function workloadPayload() {
  const out = new Uint8Array(256);
  let s = 0x12345678;
  for (let i = 0; i < out.length; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s & 0xff;
  }
  return out;
}
const PAYLOAD = workloadPayload();
// The W2 message's application properties (as strings: IoT Hub properties are strings).
const PROPERTIES = { level: 'critical', seq: '1', alert: 'true' };

// --- the package -------------------------------------------------------------------------------
function newestMtime(path) {
  let st;
  try {
    st = statSync(path);
  } catch {
    return 0;
  }
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newestMtime(join(path, name))), st.mtimeMs);
}

/** Builds target/pkg/full/ unless it is newer than every source it is made from. */
function ensurePackage() {
  const built = newestMtime(join(PKG, 'hubwire_web_bg.wasm'));
  const sources = Math.max(
    ...['crates/web', 'crates/mqtt', 'crates/iothub', 'crates/amqp', 'Cargo.toml', 'Cargo.lock', 'scripts/build-pkg.sh']
      .map((p) => newestMtime(join(ROOT, p))),
  );
  if (built > sources && newestMtime(join(PKG, 'hubwire_web.js')) > 0) return;
  execFileSync(join(ROOT, 'scripts/build-pkg.sh'), ['--variant', 'full', '--quiet'], {
    cwd: ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    timeout: 20 * 60_000,
  });
}

// --- the page server ---------------------------------------------------------------------------
const MIME = { '.html': 'text/html', '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm' };

function startPageServer() {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const [base, rel] = path.startsWith('/pkg/') ? [PKG, path.slice(5)] : [PAGE_DIR, path.slice(1) || 'index.html'];
    const file = normalize(join(base, rel));
    if (!file.startsWith(base)) {
      res.writeHead(403).end();
      return;
    }
    let body;
    try {
      body = readFileSync(file);
    } catch {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': MIME[extname(file)] || 'application/octet-stream' });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// --- the byte-counting proxy -------------------------------------------------------------------
/**
 * Parses one direction of a connection: HTTP/1.1 messages until a WebSocket upgrade, then
 * WebSocket frames. Counts WebSocket header bytes vs payload bytes; records request lines.
 */
class StreamParser {
  constructor(dir, conn) {
    this.dir = dir; // 'up' (client→hub) or 'down'
    this.conn = conn;
    this.ws = false;
    this.head = ''; // HTTP head text seen so far on the current message (up to \r\n\r\n)
    this.frameLeft = 0; // payload bytes of the current WebSocket frame still to come
    this.hdr = []; // partial WebSocket frame header
  }

  push(buf) {
    let i = 0;
    while (i < buf.length) {
      if (!this.ws) {
        // Only the head of an upgrade matters here; HTTP bodies are not parsed.
        if (this.dir === 'up' && this.conn.upgradeAsked && this.conn.upgraded) {
          this.ws = true;
          continue;
        }
        if (this.dir === 'down' && this.conn.upgraded) {
          this.ws = true;
          continue;
        }
        const text = buf.subarray(i).toString('latin1');
        this.head += text;
        const end = this.head.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = this.head.slice(0, end);
        const consumed = text.length - (this.head.length - (end + 4));
        this.head = '';
        if (this.dir === 'up' && /^GET /.test(head) && /\r\nupgrade:\s*websocket/i.test(head)) this.conn.upgradeAsked = true;
        if (this.dir === 'down' && /^HTTP\/1\.1 101/.test(head)) {
          this.conn.upgraded = true;
          this.ws = true;
        }
        i += consumed;
        // A plain HTTP body follows; the rest of the chunk is not parsed.
        if (!this.ws) return;
        continue;
      }
      if (this.frameLeft > 0) {
        const n = Math.min(this.frameLeft, buf.length - i);
        this.frameLeft -= n;
        this.conn.counts[this.dir].wsPayload += n;
        i += n;
        continue;
      }
      this.hdr.push(buf[i]);
      i += 1;
      const need = this.headerLength();
      if (need !== null && this.hdr.length === need) {
        this.conn.counts[this.dir].wsHeader += need;
        this.conn.counts[this.dir].wsFrames += 1;
        this.frameLeft = this.payloadLength();
        this.hdr = [];
      }
    }
  }

  headerLength() {
    if (this.hdr.length < 2) return null;
    const masked = (this.hdr[1] & 0x80) !== 0;
    const len7 = this.hdr[1] & 0x7f;
    const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    return 2 + ext + (masked ? 4 : 0);
  }

  payloadLength() {
    const len7 = this.hdr[1] & 0x7f;
    if (len7 < 126) return len7;
    if (len7 === 126) return (this.hdr[2] << 8) | this.hdr[3];
    let n = 0;
    for (let k = 2; k < 10; k++) n = n * 256 + this.hdr[k];
    return n;
  }
}

function zeroCounts() {
  return { bytes: 0, wsHeader: 0, wsPayload: 0, wsFrames: 0 };
}

/** A TCP proxy to `target` ("host:port") that counts bytes both ways, over all its connections. */
async function startProxy(target) {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const proxy = {
    up: zeroCounts(),
    down: zeroCounts(),
    connections: 0,
    requests: [], // HTTP requests (method, path, up and down bytes), in order
    lastActivity: Date.now(),
    sockets: new Set(),
  };
  const server = net.createServer((client) => {
    proxy.connections += 1;
    const upstream = net.connect(port, host);
    const conn = { counts: { up: proxy.up, down: proxy.down }, upgradeAsked: false, upgraded: false, current: null };
    const parsers = { up: new StreamParser('up', conn), down: new StreamParser('down', conn) };
    proxy.sockets.add(client);
    proxy.sockets.add(upstream);
    const pass = (dir, from, to) => {
      from.on('data', (buf) => {
        proxy[dir].bytes += buf.length;
        proxy.lastActivity = Date.now();
        if (!conn.upgraded) {
          // HTTP/1.1 is sequential per connection: a chunk starting with a method begins the
          // next request; answers belong to the latest request on this connection.
          const m = dir === 'up' ? /^(GET|POST|PUT|DELETE|OPTIONS|HEAD|PATCH) (\S+) HTTP\/1\.1\r\n/.exec(buf.toString('latin1', 0, 400)) : null;
          if (m) {
            conn.current = { method: m[1], path: m[2], up: 0, down: 0 };
            proxy.requests.push(conn.current);
          }
        }
        if (conn.current && !conn.upgraded) conn.current[dir] += buf.length;
        parsers[dir].push(buf);
        to.write(buf);
      });
      from.on('end', () => to.end());
      from.on('error', () => to.destroy());
      from.on('close', () => {
        proxy.sockets.delete(from);
        to.destroy();
      });
    };
    pass('up', client, upstream);
    pass('down', upstream, client);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = server.address().port;
  proxy.snapshot = () => ({
    up: { ...proxy.up },
    down: { ...proxy.down },
    requests: proxy.requests.length,
  });
  proxy.close = () =>
    new Promise((resolve) => {
      for (const s of proxy.sockets) s.destroy();
      server.close(resolve);
    });
  /** Waits until nothing has crossed the proxy for QUIET_MS. */
  proxy.quiet = async () => {
    while (Date.now() - proxy.lastActivity < QUIET_MS) await new Promise((r) => setTimeout(r, 50));
  };
  return proxy;
}

function diff(a, b) {
  const d = (x, y) => Object.fromEntries(Object.keys(y).map((k) => [k, y[k] - x[k]]));
  return { up: d(a.up, b.up), down: d(a.down, b.down) };
}

// --- hub helpers -------------------------------------------------------------------------------
async function hubJson(path) {
  const res = await fetch(`${hubHttp}${path}`);
  assert.equal(res.status, 200, `GET ${path}`);
  return res.json();
}

async function lastEventSeq() {
  const events = await hubJson('/api/events?since=0');
  return events.reduce((m, e) => Math.max(m, e.seq), 0);
}

/** Waits for the device's first D2C event after `since`. */
async function waitForEvent(deviceId, since) {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    const events = await hubJson(`/api/events?since=${since}&deviceId=${encodeURIComponent(deviceId)}`);
    const e = events.find((x) => x.seq > since && x.deviceId === deviceId);
    if (e) return e;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`devhub stored no D2C message from ${deviceId}`);
}

// --- the test ----------------------------------------------------------------------------------
const PROTOCOLS = [
  { protocol: 'mqtt', name: 'MQTT over WebSocket', scheme: 'ws', deviceIndex: 0 },
  { protocol: 'amqp', name: 'AMQP over WebSocket', scheme: 'ws', deviceIndex: 1 },
  { protocol: 'http', name: 'HTTPS', scheme: 'http', deviceIndex: 2 },
];

describe('bytes on the wire for one 256-byte D2C message with 3 properties', { timeout: 25 * 60_000 }, () => {
  let browser;
  let pageServer;
  let devices;
  const results = [];

  before(async () => {
    assert.deepEqual(
      [...PAYLOAD.subarray(0, 4)].map((b) => b.toString(16)),
      ['a5', 'a3', 'c4', '98'],
      'the workload payload starts as WORKLOADS.md says',
    );
    ensurePackage();
    pageServer = await startPageServer();
    // The demo devices have the same id length (13), so the figures compare like for like.
    devices = (await hubJson('/api/devices'))
      .filter((d) => /^demo-device-\d+$/.test(d.deviceId))
      .sort((a, b) => a.deviceId.localeCompare(b.deviceId));
    assert.ok(devices.length >= 3, 'devhub has three demo devices');
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close();
    if (pageServer) await new Promise((r) => pageServer.close(r));
    if (results.length === PROTOCOLS.length) {
      const out = join(ROOT, 'artifacts/wire-bytes.json');
      mkdirSync(join(ROOT, 'artifacts'), { recursive: true });
      writeFileSync(
        out,
        JSON.stringify(
          {
            measuredAt: new Date().toISOString(),
            command: './scripts/test.sh e2e',
            package: 'target/pkg/full (scripts/build-pkg.sh, default features)',
            message: { bodyBytes: PAYLOAD.length, properties: PROPERTIES, systemProperties: 'none set by the page' },
            results,
          },
          null,
          2,
        ) + '\n',
      );
      printTable(results);
    }
  });

  for (const p of PROTOCOLS) {
    test(`${p.name}: connect, then one message and its acknowledgement`, async () => {
      const device = devices[p.deviceIndex];
      const hubAddr = new URL(hubHttp).host;
      const proxy = await startProxy(hubAddr);
      const { page, problems } = await openPage(browser);
      try {
        await page.goto(`http://127.0.0.1:${pageServer.address().port}/`);
        await page.waitForFunction(() => document.title === 'ready', null, { timeout: 30_000 });
        assert.equal(proxy.up.bytes, 0, 'nothing reached the hub before connect');

        const options = {
          connectionString: device.connectionString,
          endpoint: `${p.scheme}://127.0.0.1:${proxy.port}`,
          protocol: p.protocol,
          reconnect: { enabled: false },
        };
        const s0 = proxy.snapshot();
        const statsConnected = await page.evaluate((o) => window.wire.connect(o), options);
        await proxy.quiet();
        const s1 = proxy.snapshot();
        const statsBefore = await page.evaluate(() => window.wire.stats());
        const requestsBefore = proxy.requests.length;

        const since = await lastEventSeq();
        const s2 = proxy.snapshot();
        const { receipt, stats: statsAfter } = await page.evaluate(
          (m) => window.wire.send(m),
          { body: [...PAYLOAD], properties: PROPERTIES },
        );
        const s3 = proxy.snapshot();
        // Anything after the acknowledgement (none expected) is reported, not counted.
        await proxy.quiet();
        const s4 = proxy.snapshot();
        const sendRequests = proxy.requests.slice(requestsBefore).map((r) => ({ ...r }));

        const event = await waitForEvent(device.deviceId, since);
        await page.evaluate(() => window.wire.close());

        // The message arrived whole, with exactly its three properties.
        assert.equal(event.protocol, p.protocol === 'http' ? 'https' : p.protocol);
        assert.deepEqual(Buffer.from(event.bodyBase64, 'base64'), Buffer.from(PAYLOAD));
        assert.deepEqual(event.properties, PROPERTIES);

        const connect = diff(s0, s1);
        const send = diff(s2, s3);
        const after = diff(s3, s4);
        const statsDelta = Object.fromEntries(
          ['bytesSent', 'bytesReceived', 'framesSent', 'framesReceived', 'packetsSent', 'packetsReceived'].map((k) => [
            k,
            statsAfter[k] - statsBefore[k],
          ]),
        );
        assert.ok(send.up.bytes > PAYLOAD.length, 'more than the body went to the hub');
        assert.ok(send.down.bytes > 0, 'the acknowledgement came back through the proxy');
        assert.ok(connect.up.bytes > 0 && connect.down.bytes > 0, 'the connect went through the proxy');
        if (p.scheme === 'ws') {
          // The client's own WebSocket payload counts must equal what the proxy parsed.
          assert.equal(statsDelta.bytesSent, send.up.wsPayload);
          assert.equal(statsDelta.bytesReceived, send.down.wsPayload);
        } else {
          assert.ok(sendRequests.some((r) => r.method === 'POST' && r.path.includes('/messages/events')));
        }
        assert.deepEqual(problems, []);

        results.push({
          protocol: p.protocol,
          name: p.name,
          deviceId: device.deviceId,
          bodyBytes: PAYLOAD.length,
          send: {
            clientToHub: send.up.bytes,
            hubToClient: send.down.bytes,
            total: send.up.bytes + send.down.bytes,
            overheadRatio: Number(((send.up.bytes + send.down.bytes) / PAYLOAD.length).toFixed(2)),
            websocket: p.scheme === 'ws'
              ? {
                  clientToHub: { frames: send.up.wsFrames, headerBytes: send.up.wsHeader, payloadBytes: send.up.wsPayload },
                  hubToClient: { frames: send.down.wsFrames, headerBytes: send.down.wsHeader, payloadBytes: send.down.wsPayload },
                }
              : null,
            httpRequests: p.scheme === 'http' ? sendRequests : null,
            bytesAfterAck: after.up.bytes + after.down.bytes,
          },
          connect: {
            clientToHub: connect.up.bytes,
            hubToClient: connect.down.bytes,
            total: connect.up.bytes + connect.down.bytes,
            tcpConnections: proxy.connections,
            // WebSocket: what is left after frame headers and payload is the HTTP upgrade.
            websocket: p.scheme === 'ws'
              ? {
                  upgradeBytes: { clientToHub: connect.up.bytes - connect.up.wsHeader - connect.up.wsPayload, hubToClient: connect.down.bytes - connect.down.wsHeader - connect.down.wsPayload },
                  frameHeaderBytes: { clientToHub: connect.up.wsHeader, hubToClient: connect.down.wsHeader },
                  payloadBytes: { clientToHub: connect.up.wsPayload, hubToClient: connect.down.wsPayload },
                }
              : null,
            httpRequests: p.scheme === 'http' ? proxy.requests.slice(0, requestsBefore).map((r) => ({ ...r })) : null,
          },
          clientStats: { connected: statsConnected, send: statsDelta, receipt },
          hubRecorded: { wireBytes: event.wireBytes, systemProperties: event.systemProperties },
        });
      } finally {
        await page.close();
        await proxy.close();
      }
    });
  }
});

function printTable(rows) {
  const lines = [
    'Bytes on the wire, one 256-byte D2C message with 3 application properties (send = just before sendEvent → ack)',
    'protocol              body  client→hub  hub→client  total  ratio  connect (c→h / h→c)  client stats sent/recv',
  ];
  for (const r of rows) {
    lines.push(
      [
        r.name.padEnd(20),
        String(r.bodyBytes).padStart(5),
        String(r.send.clientToHub).padStart(11),
        String(r.send.hubToClient).padStart(11),
        String(r.send.total).padStart(6),
        r.send.overheadRatio.toFixed(2).padStart(6),
        `${r.connect.total} (${r.connect.clientToHub} / ${r.connect.hubToClient})`.padStart(20),
        `${r.clientStats.send.bytesSent} / ${r.clientStats.send.bytesReceived}`.padStart(23),
      ].join(' '),
    );
  }
  console.log(lines.join('\n'));
}
