// The dashboard's main flows in a real browser against devhub: a device connects from the page
// (MQTT over WebSocket, HTTPS with polling, AMQP over WebSocket), its device-to-cloud message
// shows in the cloud pane, and a cloud-to-device message sent from the cloud pane reaches the
// device's inbox, where HTTPS and AMQP messages are abandoned, completed and rejected. Each run uses its own devices, so it
// does not disturb the demo devices or other tests. Screenshots go to artifacts/dashboard-e2e/.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dashboardUrl, hubHttp, launch, openPage } from './browser.mjs';

const deviceId = `dashboard-e2e-${process.pid}-${Date.now()}`;
const httpsDeviceId = `${deviceId}-https`;
const amqpDeviceId = `${deviceId}-amqp`;
const shots = fileURLToPath(new URL('../../artifacts/dashboard-e2e/', import.meta.url));
mkdirSync(shots, { recursive: true });

/** Saves the viewport (what a 1280×800 screen shows) and, with `full`, the whole page. */
async function screenshot(page, name, { full = false } = {}) {
  await page.screenshot({ path: `${shots}${name}.png` });
  if (full) await page.screenshot({ path: `${shots}${name}-full.png`, fullPage: true });
}

/** Seconds shown by the poll countdown ("next poll in 1:59" or "next poll in 42 s"). */
async function countdownSecs(page) {
  const text = await page.locator('#poll-countdown').innerText();
  const m = text.match(/next poll in (?:(\d+):(\d\d)|(\d+) s)/);
  assert.ok(m, `countdown shows the time to the next poll: ${text}`);
  return m[3] !== undefined ? Number(m[3]) : Number(m[1]) * 60 + Number(m[2]);
}

/** Waits until the countdown shows a number of seconds that `ok` accepts; returns it. */
async function waitForCountdown(page, ok, what, timeout = 10_000) {
  const end = Date.now() + timeout;
  let last = '';
  while (Date.now() < end) {
    last = await page.locator('#poll-countdown').innerText();
    if (/next poll in/.test(last)) {
      const secs = await countdownSecs(page).catch(() => null);
      if (secs !== null && ok(secs)) return secs;
    }
    await page.waitForTimeout(100);
  }
  assert.fail(`${what}; the countdown shows “${last}”`);
}

async function api(method, path, body) {
  const res = await fetch(`${hubHttp}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  return res;
}

describe('dashboard device and cloud panes', { timeout: 90_000 }, () => {
  let browser;

  before(async () => {
    for (const id of [deviceId, httpsDeviceId, amqpDeviceId]) {
      const res = await api('POST', '/api/devices', { deviceId: id });
      assert.equal(res.status, 201, `devhub creates the test device ${id}`);
    }
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close();
    for (const id of [deviceId, httpsDeviceId, amqpDeviceId]) {
      await api('DELETE', `/api/devices/${encodeURIComponent(id)}`);
    }
  });

  test('connect, send D2C, see it in the cloud pane, receive C2D', async () => {
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(dashboardUrl);

    await page.locator(`#demo-device option[value="${deviceId}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    await page.selectOption('#demo-device', deviceId);
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const status = page.locator('#connection-status');
    await status.filter({ hasText: `Connected as ${deviceId}` }).waitFor({ timeout: 20_000 });

    // Device to cloud, with a message id and an application property.
    const d2cId = `d2c-${Date.now()}`;
    await page.fill('#d2c-body', '{"temperature": 22.5}');
    await page.fill('#d2c-message-id', d2cId);
    await page.locator('#d2c-title').locator('..').getByRole('button', { name: '+ Add property' }).click();
    await page.getByLabel('Property 1 name').first().fill('alert');
    await page.getByLabel('Property 1 value').first().fill('true');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const receipt = page.getByRole('list', { name: 'Send results' }).locator('li').first();
    await receipt.filter({ hasText: 'acknowledged in' }).waitFor({ timeout: 20_000 });
    assert.match(await receipt.innerText(), /on the wire/, 'the receipt shows the wire size');

    const feedItem = page
      .getByRole('list', { name: /Device-to-cloud messages/ })
      .locator('li', { hasText: d2cId });
    await feedItem.waitFor({ timeout: 20_000 });
    const feedText = await feedItem.innerText();
    assert.match(feedText, new RegExp(deviceId));
    assert.match(feedText, /"temperature": 22\.5/);
    assert.match(feedText, /alert\s*true/);

    // The hub stored exactly what the page shows.
    const events = await (await api('GET', '/api/events?since=0')).json();
    const stored = events.find((e) => e.systemProperties?.messageId === d2cId);
    assert.ok(stored, 'devhub stored the D2C message');
    assert.equal(stored.deviceId, deviceId);
    assert.equal(stored.properties.alert, 'true');

    // Cloud to device, from the cloud pane to this page's device.
    const c2dId = `c2d-${Date.now()}`;
    await page.selectOption('#c2d-device', deviceId);
    await page.fill('#c2d-body', 'turn the fan on');
    await page.fill('#c2d-content-type', 'text/plain');
    await page.fill('#c2d-message-id', c2dId);
    await page.locator('#c2d-title').locator('..').getByRole('button', { name: '+ Add property' }).click();
    await page.locator('[id^="c2d-prop-"][id$="-key"]').first().fill('speed');
    await page.locator('[id^="c2d-prop-"][id$="-value"]').first().fill('3');
    await page.getByRole('button', { name: 'Send to device' }).click();
    await page
      .getByRole('list', { name: 'Cloud-to-device send results' })
      .locator('li', { hasText: `queued as “${c2dId}”` })
      .waitFor({ timeout: 20_000 });

    const inboxItem = page
      .getByRole('list', { name: 'Received cloud-to-device messages' })
      .locator('li', { hasText: 'turn the fan on' });
    await inboxItem.waitFor({ timeout: 20_000 });
    const inboxText = await inboxItem.innerText();
    assert.match(inboxText, /speed\s*3/);
    assert.match(inboxText, new RegExp(c2dId));
    // MQTT completes on PUBACK: the message says so and offers nothing to settle.
    assert.match(inboxText, /completed on arrival/);
    assert.equal(await inboxItem.getByRole('button', { name: 'Abandon' }).count(), 0);
    assert.match(await page.getByRole('note').filter({ hasText: 'PUBACK' }).innerText(), /abandon and reject need AMQP or HTTPS/);
    await inboxItem.scrollIntoViewIfNeeded();
    await screenshot(page, 'mqtt-inbox');

    // Disconnect returns the pane to its idle state.
    await page.getByRole('button', { name: 'Disconnect' }).click();
    await status.filter({ hasText: 'Disconnected' }).waitFor({ timeout: 10_000 });

    assert.deepEqual(problems, []);
  });

  test('a wrong key ends in a visible failure, not a retry loop', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(dashboardUrl);
    await page.locator(`#demo-device option[value="${deviceId}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    await page.getByLabel('Connection string').check();
    const wrongKey = Buffer.from('not the key of this device!!').toString('base64');
    await page.fill('#connection-string', `HostName=localhost;DeviceId=${deviceId};SharedAccessKey=${wrongKey}`);
    await page.keyboard.press('Enter');
    const status = page.locator('#connection-status');
    await status.filter({ hasText: 'Failed' }).waitFor({ timeout: 20_000 });
    assert.match(await status.innerText(), /NotAuthorized/);
    assert.equal(await page.getByRole('button', { name: 'Connect', exact: true }).isEnabled(), true);
    assert.deepEqual(problems, []);
  });

  test('HTTPS polling: countdown, poll now, abandon, complete and reject', async () => {
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(dashboardUrl);
    await page.locator(`#demo-device option[value="${httpsDeviceId}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    await page.selectOption('#demo-device', httpsDeviceId);
    await page.selectOption('#protocol', 'https');
    // The dashboard starts with a short development interval; the production one is a choice.
    assert.equal(await page.inputValue('#poll-secs'), '5');
    await page.getByLabel('Production interval (25 min)').check();
    assert.equal(await page.locator('#poll-secs').isDisabled(), true);
    await page.getByLabel('Production interval (25 min)').uncheck();
    // Long enough that only Poll now delivers during the test.
    await page.fill('#poll-secs', '120');
    await screenshot(page, 'https-01-settings');

    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const status = page.locator('#connection-status');
    await status.filter({ hasText: `Connected as ${httpsDeviceId}` }).waitFor({ timeout: 20_000 });
    assert.match(await status.innerText(), /HTTPS/);

    // A live countdown to the next poll.
    const countdown = page.locator('#poll-countdown');
    await countdown.filter({ hasText: 'next poll in' }).waitFor({ timeout: 10_000 });
    const first = await countdownSecs(page);
    assert.ok(first <= 120 && first > 100, `countdown starts near the interval: ${first}`);
    await page.waitForTimeout(2_200);
    const later = await countdownSecs(page);
    assert.ok(later < first, `the countdown runs: ${first} then ${later}`);
    assert.match(await page.locator('.poll-schedule').innerText(), /every 2 min \(dev\)/);
    await screenshot(page, 'https-02-connected');

    // Pause stops the schedule; resume polls at once and schedules again.
    await page.locator('#poll-toggle').click();
    await countdown.filter({ hasText: 'polling paused' }).waitFor({ timeout: 5_000 });
    await page.getByRole('button', { name: 'Resume polling' }).click();
    await waitForCountdown(page, (secs) => secs > later, 'resuming polls and starts a fresh interval');

    // Device to cloud over HTTPS, with properties.
    const d2cId = `https-d2c-${Date.now()}`;
    await page.fill('#d2c-body', '{"pressure": 1013}');
    await page.fill('#d2c-message-id', d2cId);
    const d2cCard = page.locator('#d2c-title').locator('..');
    await d2cCard.getByRole('button', { name: '+ Add property' }).click();
    await page.getByLabel('Property 1 name').first().fill('site');
    await page.getByLabel('Property 1 value').first().fill('lab');
    await d2cCard.getByRole('button', { name: '+ Add property' }).click();
    await page.getByLabel('Property 2 name').first().fill('level');
    await page.getByLabel('Property 2 value').first().fill('2');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    const receipt = page.getByRole('list', { name: 'Send results' }).locator('li').first();
    await receipt.filter({ hasText: 'acknowledged in' }).waitFor({ timeout: 20_000 });
    const feedItem = page
      .getByRole('list', { name: /Device-to-cloud messages/ })
      .locator('li', { hasText: d2cId });
    await feedItem.waitFor({ timeout: 20_000 });
    const feedText = await feedItem.innerText();
    assert.match(feedText, new RegExp(`${httpsDeviceId}`));
    assert.match(feedText, /https/);
    assert.match(feedText, /"pressure": 1013/);
    assert.match(feedText, /site\s*lab/);
    assert.match(feedText, /level\s*2/);
    const events = await (await api('GET', '/api/events?since=0')).json();
    const stored = events.find((e) => e.systemProperties?.messageId === d2cId);
    assert.ok(stored, 'devhub stored the HTTPS D2C message');
    assert.equal(stored.protocol, 'https');
    assert.deepEqual(stored.properties, { site: 'lab', level: '2' });

    // Cloud to device: queued by the hub, delivered only when the device polls.
    const c2dId = `https-c2d-${Date.now()}`;
    await page.selectOption('#c2d-device', httpsDeviceId);
    await page.fill('#c2d-body', 'open the valve');
    await page.fill('#c2d-content-type', 'text/plain');
    await page.fill('#c2d-message-id', c2dId);
    await page.getByRole('button', { name: 'Send to device' }).click();
    await page
      .getByRole('list', { name: 'Cloud-to-device send results' })
      .locator('li', { hasText: `queued as “${c2dId}”` })
      .waitFor({ timeout: 20_000 });
    const inbox = page.getByRole('list', { name: 'Received cloud-to-device messages' });
    const copies = inbox.locator('li', { hasText: 'open the valve' });
    assert.equal(await copies.count(), 0, 'nothing arrives before the device polls');

    await page.locator('#poll-now').click();
    await page.locator('#poll-result').filter({ hasText: 'received 1 message' }).waitFor({ timeout: 10_000 });
    const delivered = inbox.locator('li.settle-locked', { hasText: 'open the valve' });
    await delivered.waitFor({ timeout: 10_000 });
    let text = await delivered.innerText();
    assert.match(text, new RegExp(c2dId));
    assert.match(text, /deliveryCount\s*0/);
    assert.match(text, /sequenceNumber\s*\d+/);
    assert.match(text, /lockToken\s*\S+/);
    await delivered.scrollIntoViewIfNeeded();
    await screenshot(page, 'https-03-received', { full: true });

    // Abandon: the hub delivers it again with the delivery count raised.
    await delivered.getByRole('button', { name: 'Abandon' }).click();
    await inbox.locator('li.settle-abandoned', { hasText: 'open the valve' }).waitFor({ timeout: 10_000 });
    await page.locator('#poll-now').click();
    const again = inbox.locator('li.settle-locked', { hasText: 'open the valve' });
    await again.waitFor({ timeout: 10_000 });
    text = await again.innerText();
    assert.match(text, /deliveryCount\s*1/);
    assert.equal(await copies.count(), 2, 'the abandoned copy stays listed');
    await again.scrollIntoViewIfNeeded();
    await screenshot(page, 'https-04-redelivered');

    // Complete the redelivery.
    await again.getByRole('button', { name: 'Complete' }).click();
    const completed = inbox.locator('li.settle-completed', { hasText: 'open the valve' });
    await completed.waitFor({ timeout: 10_000 });
    assert.equal(await completed.getByRole('button').count(), 0, 'a settled message offers no actions');

    // Reject a second message: dead-lettered.
    const rejectId = `https-reject-${Date.now()}`;
    await page.fill('#c2d-body', 'self destruct');
    await page.fill('#c2d-message-id', rejectId);
    await page.getByRole('button', { name: 'Send to device' }).click();
    await page
      .getByRole('list', { name: 'Cloud-to-device send results' })
      .locator('li', { hasText: `queued as “${rejectId}”` })
      .waitFor({ timeout: 20_000 });
    await page.locator('#poll-now').click();
    const toReject = inbox.locator('li.settle-locked', { hasText: 'self destruct' });
    await toReject.waitFor({ timeout: 10_000 });
    await toReject.getByRole('button', { name: 'Reject' }).click();
    await inbox.locator('li.settle-rejected', { hasText: 'self destruct' }).waitFor({ timeout: 10_000 });
    await inbox.scrollIntoViewIfNeeded();
    await screenshot(page, 'https-05-settled', { full: true });

    // The hub's view: abandoned at delivery count 0 → 1, then completed; the other rejected.
    const history = await (await api('GET', '/api/c2d/history')).json();
    const ours = history
      .filter((h) => h.messageId === c2dId)
      .map((h) => ({ deviceId: h.deviceId, outcome: h.outcome, deliveryCount: h.deliveryCount }));
    assert.deepEqual(ours, [
      { deviceId: httpsDeviceId, outcome: 'abandoned', deliveryCount: 1 },
      { deviceId: httpsDeviceId, outcome: 'completed', deliveryCount: 1 },
    ]);
    const rejected = history.filter((h) => h.messageId === rejectId).map((h) => h.outcome);
    assert.deepEqual(rejected, ['rejected']);
    const device = await (await api('GET', `/api/devices/${encodeURIComponent(httpsDeviceId)}`)).json();
    assert.equal(device.c2dQueued, 0, 'nothing is left in the queue');

    await page.getByRole('button', { name: 'Disconnect' }).click();
    await status.filter({ hasText: 'Disconnected' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('#poll-countdown').count(), 0, 'the countdown ends with the session');
    assert.deepEqual(problems, []);
  });

  test('AMQP over WebSocket: pushed C2D, abandon redelivers, complete', async () => {
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(dashboardUrl);
    await page.locator(`#demo-device option[value="${amqpDeviceId}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    await page.selectOption('#demo-device', amqpDeviceId);
    await page.selectOption('#protocol', 'amqp-ws');
    assert.equal(await page.locator('#poll-secs').count(), 0, 'AMQP does not poll');
    await page.getByRole('button', { name: 'Connect', exact: true }).click();
    const status = page.locator('#connection-status');
    await status.filter({ hasText: `Connected as ${amqpDeviceId}` }).waitFor({ timeout: 20_000 });
    assert.match(await status.innerText(), /AMQP\/WS/);

    const d2cId = `amqp-d2c-${Date.now()}`;
    await page.fill('#d2c-message-id', d2cId);
    await page.locator('#d2c-title').locator('..').getByRole('button', { name: '+ Add property' }).click();
    await page.getByLabel('Property 1 name').first().fill('route');
    await page.getByLabel('Property 1 value').first().fill('amqp');
    await page.getByRole('button', { name: 'Send', exact: true }).click();
    await page
      .getByRole('list', { name: /Device-to-cloud messages/ })
      .locator('li', { hasText: d2cId })
      .filter({ hasText: /route\s*amqp/ })
      .waitFor({ timeout: 20_000 });
    const events = await (await api('GET', '/api/events?since=0')).json();
    const stored = events.find((e) => e.systemProperties?.messageId === d2cId);
    assert.equal(stored?.protocol, 'amqp');

    const c2dId = `amqp-c2d-${Date.now()}`;
    await page.selectOption('#c2d-device', amqpDeviceId);
    await page.fill('#c2d-body', 'close the valve');
    await page.fill('#c2d-content-type', 'text/plain');
    await page.fill('#c2d-message-id', c2dId);
    await page.getByRole('button', { name: 'Send to device' }).click();
    const inbox = page.getByRole('list', { name: 'Received cloud-to-device messages' });
    const delivered = inbox.locator('li.settle-locked', { hasText: 'close the valve' });
    await delivered.waitFor({ timeout: 20_000 });
    let text = await delivered.innerText();
    assert.match(text, /deliveryCount\s*0/);
    assert.match(text, /lockToken\s*\S+/);

    // AMQP pushes the abandoned message again at once, counted.
    await delivered.getByRole('button', { name: 'Abandon' }).click();
    await inbox.locator('li.settle-abandoned', { hasText: 'close the valve' }).waitFor({ timeout: 10_000 });
    const again = inbox.locator('li.settle-locked', { hasText: 'close the valve' });
    await again.waitFor({ timeout: 10_000 });
    text = await again.innerText();
    assert.match(text, /deliveryCount\s*1/);
    await again.getByRole('button', { name: 'Complete' }).click();
    await inbox.locator('li.settle-completed', { hasText: 'close the valve' }).waitFor({ timeout: 10_000 });
    await inbox.scrollIntoViewIfNeeded();
    await screenshot(page, 'amqp-settled');

    const history = await (await api('GET', '/api/c2d/history')).json();
    const ours = history.filter((h) => h.messageId === c2dId).map((h) => [h.outcome, h.deliveryCount]);
    assert.deepEqual(ours, [['abandoned', 1], ['completed', 1]]);

    await page.getByRole('button', { name: 'Disconnect' }).click();
    await status.filter({ hasText: 'Disconnected' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(problems, []);
  });
});
