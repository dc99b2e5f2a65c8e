// The example portal page (www/portal/), served by devhub at /portal/ with the `hubwire`
// package at /portal/pkg/: it embeds a device with plain JavaScript and no Rust. For MQTT,
// AMQP and HTTPS: connect, send a message with properties and find it in devhub's events,
// send a cloud-to-device message with the service API, see it on the page, settle it, and
// check devhub's C2D history. Screenshots go to artifacts/screenshots/portal-*.png.
//
// scripts/test.sh builds the package (scripts/build-pkg.sh, scripts/package-pkg.sh), starts
// devhub with --static /portal=www/portal --static /portal/pkg=target/pkg/full and passes
// HUBWIRE_PORTAL_URL (e.g. http://127.0.0.1:18080/portal/).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hubHttp, launch, openPage } from './browser.mjs';

const portalUrl = process.env.HUBWIRE_PORTAL_URL;
const base = `portal-e2e-${process.pid}-${Date.now()}`;
const ids = { mqtt: `${base}-mqtt`, amqp: `${base}-amqp`, http: `${base}-https` };
const shots = fileURLToPath(new URL('../../artifacts/screenshots/', import.meta.url));
mkdirSync(shots, { recursive: true });

/** A service API call; resolves with the status and the body (JSON when there is one). */
async function api(method, path, body) {
  const res = await fetch(`${hubHttp}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  // Reading the body frees the connection; an unread one keeps node alive for a minute or more.
  const text = await res.text();
  return { ok: res.ok, status: res.status, body: text ? JSON.parse(text) : null };
}

async function json(method, path, body) {
  const res = await api(method, path, body);
  assert.ok(res.ok, `${method} ${path}: HTTP ${res.status}`);
  return res.body;
}

/** Polls `fn` until it returns a truthy value. */
async function eventually(fn, what, timeout = 15_000) {
  const end = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Sends telemetry from the page; checks that devhub stored it with the page's properties. */
async function sendTelemetry(page, deviceId, protocol) {
  await page.getByLabel('Temperature (°C)').fill('9.5');
  await page.getByLabel('Humidity (%)').fill('70');
  await page.getByLabel('Property name').fill('inspector');
  await page.getByLabel('Property value').fill(`e2e ${protocol}`);
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  const receipt = page.locator('#receipt').filter({ hasText: 'acknowledged' });
  await receipt.waitFor({ timeout: 20_000 });
  const messageId = (await receipt.innerText()).match(/Message (\S+) acknowledged/)?.[1];
  assert.ok(messageId, 'the receipt names the message id');

  const stored = await eventually(async () => {
    const events = await json('GET', `/api/events?since=0&deviceId=${encodeURIComponent(deviceId)}`);
    return events.find((e) => e.systemProperties?.messageId === messageId);
  }, `devhub stores ${messageId}`);
  assert.equal(stored.deviceId, deviceId);
  assert.equal(stored.protocol, protocol === 'http' ? 'https' : protocol);
  assert.deepEqual(JSON.parse(stored.body), { temperature: 9.5, humidity: 70 });
  assert.equal(stored.systemProperties.contentType, 'application/json');
  assert.deepEqual(stored.properties, { site: 'rotterdam-depot', alert: 'true', inspector: `e2e ${protocol}` });
}

/** Queues a C2D message for the device with devhub's service API; returns its id. */
async function sendC2d(deviceId, body) {
  const messageId = `c2d-${body.replace(/\W+/g, '-')}-${Date.now()}`;
  const res = await api('POST', `/api/devices/${encodeURIComponent(deviceId)}/messages`, {
    body,
    messageId,
    contentType: 'text/plain',
    properties: { priority: 'high' },
  });
  assert.ok(res.ok, `devhub queues the C2D message: HTTP ${res.status}`);
  return messageId;
}

async function outcomes(messageId) {
  const history = await json('GET', '/api/c2d/history');
  return history.filter((h) => h.messageId === messageId).map((h) => h.outcome);
}

async function connected(page, deviceId, name) {
  await page
    .locator('#device-status')
    .filter({ hasText: `Connected as ${deviceId} over ${name}` })
    .waitFor({ timeout: 20_000 });
}

async function disconnect(page) {
  await page.getByRole('button', { name: 'Disconnect' }).click();
  await page.locator('#device-status').filter({ hasText: 'Disconnected' }).waitFor({ timeout: 10_000 });
  assert.equal(await page.getByRole('button', { name: 'Connect', exact: true }).isEnabled(), true);
}

describe('example portal page embeds a device', { timeout: 120_000 }, () => {
  let browser;

  before(async () => {
    assert.ok(portalUrl, 'HUBWIRE_PORTAL_URL is set: run through `./scripts/test.sh e2e`');
    for (const id of Object.values(ids)) {
      const res = await api('POST', '/api/devices', { deviceId: id });
      assert.equal(res.status, 201, `devhub creates the test device ${id}`);
    }
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close();
    for (const id of Object.values(ids)) await api('DELETE', `/api/devices/${encodeURIComponent(id)}`);
  });

  test('the package is served as a user gets it', async () => {
    const pkg = await (await fetch(new URL('pkg/package.json', portalUrl))).json();
    assert.ok(Array.isArray(pkg.files) && pkg.files.length > 0, 'package.json lists its files');
    assert.equal(pkg.name, 'hubwire');
    assert.equal(pkg.type, 'module');
    assert.equal(pkg.types, 'hubwire_web.d.ts');
    for (const file of pkg.files) {
      const res = await fetch(new URL(`pkg/${file}`, portalUrl));
      assert.equal(res.status, 200, `${file} is served`);
      assert.ok((await res.arrayBuffer()).byteLength > 0, `${file} is not empty`);
    }
    const wasm = await fetch(new URL('pkg/hubwire_web_bg.wasm', portalUrl));
    assert.equal(wasm.headers.get('content-type'), 'application/wasm', 'streaming compilation needs application/wasm');
    const bytes = new Uint8Array(await wasm.arrayBuffer());
    assert.deepEqual([...bytes.subarray(0, 4)], [0, 0x61, 0x73, 0x6d], 'a WebAssembly module');
  });

  test('MQTT: prefilled from devhub, send, receive (completed on arrival)', async () => {
    const deviceId = ids.mqtt;
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${portalUrl}?device=${encodeURIComponent(deviceId)}`);
    await page.locator('#devhub-note').filter({ hasText: deviceId }).waitFor({ timeout: 10_000 });
    assert.equal(await page.getByLabel('Endpoint').inputValue(), hubHttp.replace(/^http/, 'ws'));
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await connected(page, deviceId, 'MQTT');

    await sendTelemetry(page, deviceId, 'mqtt');

    const c2dId = await sendC2d(deviceId, 'defrost cycle now');
    const item = page.locator('#inbox li', { hasText: 'defrost cycle now' });
    await item.waitFor({ timeout: 20_000 });
    const text = await item.innerText();
    assert.match(text, /priority=high/);
    assert.match(text, new RegExp(c2dId));
    assert.match(text, /completed on arrival/);
    assert.equal(await item.getByRole('button').count(), 0, 'nothing to settle on MQTT');
    assert.match(await page.locator('#settle-note').innerText(), /PUBACK/);
    await eventually(async () => (await outcomes(c2dId)).includes('completed'), 'the hub completes the MQTT message');
    await page.screenshot({ path: `${shots}portal-mqtt.png`, fullPage: true });

    await disconnect(page);
    assert.deepEqual(problems, []);
  });

  test('AMQP: abandon delivers again, complete settles', async () => {
    const deviceId = ids.amqp;
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(`${portalUrl}?device=${encodeURIComponent(deviceId)}`);
    await page.locator('#devhub-note').filter({ hasText: deviceId }).waitFor({ timeout: 10_000 });
    await page.getByLabel('Protocol').selectOption('amqp');
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await connected(page, deviceId, 'AMQP');
    assert.equal(await page.getByRole('button', { name: 'Poll now' }).isVisible(), false, 'polling is HTTPS only');

    await sendTelemetry(page, deviceId, 'amqp');

    const c2dId = await sendC2d(deviceId, 'raise set point');
    // New messages go on top, so each delivery is found by its delivery count.
    const first = page.locator('#inbox li', { hasText: 'raise set point' }).filter({ hasText: 'delivery count 0' });
    await first.waitFor({ timeout: 20_000 });
    assert.match(await first.innerText(), /priority=high/);
    await first.getByRole('button', { name: `Abandon ${c2dId}` }).click();
    await first.locator('.outcome').filter({ hasText: 'abandoned' }).waitFor({ timeout: 10_000 });
    // The hub delivers it again, with a delivery count.
    const again = page.locator('#inbox li', { hasText: 'raise set point' }).filter({ hasText: 'delivery count 1' });
    await again.waitFor({ timeout: 20_000 });
    await again.getByRole('button', { name: `Complete ${c2dId}` }).click();
    await again.locator('.outcome').filter({ hasText: 'completed' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(await eventually(async () => {
      const o = await outcomes(c2dId);
      return o.length >= 2 && o;
    }, 'the hub records both settlements'), ['abandoned', 'completed']);
    await page.screenshot({ path: `${shots}portal-amqp.png`, fullPage: true });

    await disconnect(page);
    assert.deepEqual(problems, []);
  });

  test('HTTPS: typed-in connection string and endpoint, poll now, reject and complete', async () => {
    const deviceId = ids.http;
    const { connectionString } = await json('GET', `/api/devices/${encodeURIComponent(deviceId)}`);
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 1280, height: 800 });
    // No ?device=: the form is filled as a user would for any hub.
    await page.goto(portalUrl);
    await page.getByLabel('Device connection string').fill(connectionString);
    await page.getByLabel('Protocol').selectOption('http');
    await page.getByLabel('Endpoint').fill(hubHttp);
    await page.getByLabel('Poll every (s)').fill('300');
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await connected(page, deviceId, 'HTTPS');
    await page.locator('#poll-countdown').filter({ hasText: /next poll in \d+ s/ }).waitFor({ timeout: 10_000 });

    await sendTelemetry(page, deviceId, 'http');

    const keepId = await sendC2d(deviceId, 'close door');
    const dropId = await sendC2d(deviceId, 'firmware 0.0.1');
    await page.getByRole('button', { name: 'Poll now' }).click();
    const keep = page.locator('#inbox li', { hasText: 'close door' });
    const drop = page.locator('#inbox li', { hasText: 'firmware 0.0.1' });
    await keep.waitFor({ timeout: 20_000 });
    await drop.waitFor({ timeout: 20_000 });
    await drop.getByRole('button', { name: `Reject ${dropId}` }).click();
    await drop.locator('.outcome').filter({ hasText: 'rejected' }).waitFor({ timeout: 10_000 });
    await keep.getByRole('button', { name: `Complete ${keepId}` }).click();
    await keep.locator('.outcome').filter({ hasText: 'completed' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(await outcomes(keepId), ['completed']);
    assert.deepEqual(await outcomes(dropId), ['rejected']);
    const device = await json('GET', `/api/devices/${encodeURIComponent(deviceId)}`);
    assert.equal(device.c2dQueued, 0, 'nothing is left in the queue');
    await page.screenshot({ path: `${shots}portal-https.png`, fullPage: true });

    await disconnect(page);
    assert.deepEqual(problems, []);
  });

  test('errors show their code', async () => {
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(portalUrl);
    await page.getByLabel('Device connection string').fill('HostName=example.azure-devices.net;DeviceId=x');
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const alert = page.getByRole('alert');
    await alert.filter({ hasText: 'InvalidConnectionString' }).waitFor({ timeout: 10_000 });
    assert.match(await page.locator('#device-status').innerText(), /Not connected: InvalidConnectionString/);

    // A wrong key against devhub: the hub refuses the device.
    const wrongKey = Buffer.from('not the key of this device!!').toString('base64');
    await page.getByLabel('Device connection string').fill(`HostName=localhost;DeviceId=${ids.mqtt};SharedAccessKey=${wrongKey}`);
    await page.getByLabel('Endpoint').fill(hubHttp.replace(/^http/, 'ws'));
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    await alert.filter({ hasText: /Unauthorized|NotAuthorized/ }).waitFor({ timeout: 20_000 });
    assert.equal(await page.getByRole('button', { name: 'Connect', exact: true }).isEnabled(), true);
    await page.screenshot({ path: `${shots}portal-error-narrow.png`, fullPage: true });
    assert.deepEqual(problems, []);
  });
});
