// The dashboard's main flows in a real browser against devhub, once per device protocol
// (MQTT over WebSocket, HTTPS with polling, AMQP over WebSocket): a demo device connects from a
// session tab, its device-to-cloud message with properties shows in the cloud pane and in
// devhub's event store, a cloud-to-device message sent from the cloud pane reaches the
// session's inbox and is settled (completed on arrival for MQTT; abandoned, completed and
// rejected for HTTPS and AMQP), and devhub's queues, settlement history and feedback records
// agree. Each run uses its own devices. Screenshots go to artifacts/screenshots/.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dashboardUrl, launch, openPage } from './browser.mjs';
import {
  api, apiJson, connectDemo, deviceView, feedItem, feedbackFor, inboxOf, panel, screenshot,
  sendC2d, sendD2c, sid, statusOf, storedEvent,
} from './helpers.mjs';

const base = `dashboard-e2e-${process.pid}-${Date.now()}`;
const mqttDevice = `${base}-mqtt`;
const httpsDevice = `${base}-https`;
const amqpDevice = `${base}-amqp`;

/** Seconds shown by session `n`'s poll countdown ("next poll in 1:59" or "next poll in 42 s"). */
async function countdownSecs(page, n) {
  const text = await page.locator(sid(n, 'poll-countdown')).innerText();
  const m = text.match(/next poll in (?:(\d+):(\d\d)|(\d+) s)/);
  assert.ok(m, `countdown shows the time to the next poll: ${text}`);
  return m[3] !== undefined ? Number(m[3]) : Number(m[1]) * 60 + Number(m[2]);
}

/** Waits until the countdown shows a number of seconds that `ok` accepts; returns it. */
async function waitForCountdown(page, n, ok, what, timeout = 10_000) {
  const end = Date.now() + timeout;
  let last = '';
  while (Date.now() < end) {
    last = await page.locator(sid(n, 'poll-countdown')).innerText();
    if (/next poll in/.test(last)) {
      const secs = await countdownSecs(page, n).catch(() => null);
      if (secs !== null && ok(secs)) return secs;
    }
    await page.waitForTimeout(100);
  }
  assert.fail(`${what}; the countdown shows “${last}”`);
}

/** The "Cloud → device delivery" row of `protocol` once it lists a timed delivery: its count. */
async function c2dDelivered(page, protocol) {
  const row = page.locator(`#c2d-table tr[data-protocol="${protocol}"]`);
  await row.waitFor({ timeout: 10_000 });
  const count = Number(await row.locator('td[data-col="count"]').innerText());
  assert.ok(count >= 1, `the delivery table times at least one ${protocol} message (${count})`);
  const p50 = Number(await row.locator('td[data-col="p50"]').getAttribute('data-ms'));
  assert.ok(Number.isFinite(p50) && p50 >= 0, `a median delivery time for ${protocol}: ${p50}`);
  return { count, p50 };
}

describe('dashboard device sessions and cloud pane, per protocol', { timeout: 120_000 }, () => {
  let browser;

  before(async () => {
    for (const id of [mqttDevice, httpsDevice, amqpDevice]) {
      const res = await api('POST', '/api/devices', { deviceId: id });
      assert.equal(res.status, 201, `devhub creates the test device ${id}`);
    }
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close();
    for (const id of [mqttDevice, httpsDevice, amqpDevice]) {
      await api('DELETE', `/api/devices/${encodeURIComponent(id)}`);
    }
  });

  test('MQTT: connect, send D2C, see it in the cloud pane, receive C2D completed on arrival', async () => {
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(dashboardUrl);
    await connectDemo(page, 1, mqttDevice, 'mqtt-ws');
    assert.match(await panel(page, 1).locator('.session-facts').innerText(), /ws:\/\/127\.0\.0\.1:\d+\/\$iothub\/websocket.*devhub/);
    assert.equal((await deviceView(mqttDevice)).connected, true, 'devhub sees the device connected');

    const d2cId = `mqtt-d2c-${Date.now()}`;
    const receipt = await sendD2c(page, 1, { body: '{"temperature": 22.5}', messageId: d2cId, properties: [['alert', 'true']] });
    assert.match(await receipt.innerText(), /on the wire/, 'the receipt shows the wire size');
    const feedText = await (await feedItem(page, d2cId)).innerText();
    assert.match(feedText, new RegExp(mqttDevice));
    assert.match(feedText, /"temperature": 22\.5/);
    assert.match(feedText, /alert\s*true/);
    const stored = await storedEvent(d2cId);
    assert.ok(stored, 'devhub stored the D2C message');
    assert.equal(stored.deviceId, mqttDevice);
    assert.equal(stored.protocol, 'mqtt');
    assert.equal(stored.properties.alert, 'true');

    const c2dId = `mqtt-c2d-${Date.now()}`;
    await sendC2d(page, { deviceId: mqttDevice, body: 'turn the fan on', messageId: c2dId, properties: [['speed', '3']], ack: 'full' });
    const inboxItem = inboxOf(page, 1).locator('li', { hasText: 'turn the fan on' });
    await inboxItem.waitFor({ timeout: 20_000 });
    const inboxText = await inboxItem.innerText();
    assert.match(inboxText, /speed\s*3/);
    assert.match(inboxText, new RegExp(c2dId));
    // MQTT completes on PUBACK: the message says so and offers nothing to settle.
    assert.match(inboxText, /completed on arrival/);
    assert.equal(await inboxItem.getByRole('button', { name: 'Abandon' }).count(), 0);
    assert.match(await panel(page, 1).getByRole('note').filter({ hasText: 'PUBACK' }).innerText(), /abandon and reject need AMQP or HTTPS/);
    await inboxItem.scrollIntoViewIfNeeded();
    await screenshot(page, 'flow-mqtt-inbox');
    await c2dDelivered(page, 'mqtt-ws');

    // The hub's view: nothing queued, positive feedback for the completion.
    assert.equal((await deviceView(mqttDevice)).c2dQueued, 0);
    assert.deepEqual(await feedbackFor(c2dId), ['Success']);

    await panel(page, 1).getByRole('button', { name: 'Disconnect' }).click();
    await statusOf(page, 1).filter({ hasText: 'Disconnected' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(problems, []);
  });

  test('a wrong key ends in a visible failure, not a retry loop', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(dashboardUrl);
    await page.locator(`${sid(1, 'demo-device')} option[value="${mqttDevice}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    await panel(page, 1).getByRole('radio', { name: 'Connection string' }).check();
    const wrongKey = Buffer.from('not the key of this device!!').toString('base64');
    await page.fill(sid(1, 'connection-string'), `HostName=localhost;DeviceId=${mqttDevice};SharedAccessKey=${wrongKey}`);
    await page.keyboard.press('Enter');
    const status = statusOf(page, 1);
    await status.filter({ hasText: 'Failed' }).waitFor({ timeout: 20_000 });
    assert.match(await status.innerText(), /NotAuthorized/);
    assert.equal(await panel(page, 1).getByRole('button', { name: 'Connect', exact: true }).isEnabled(), true);
    // The tab shows the failure too.
    assert.match(await page.locator('#s1-tab').innerText(), /failed/);
    assert.deepEqual(problems, []);
  });

  test('HTTPS polling: countdown, poll now, abandon, complete and reject', async () => {
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(dashboardUrl);
    await page.locator(`${sid(1, 'demo-device')} option[value="${httpsDevice}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    await page.selectOption(sid(1, 'demo-device'), httpsDevice);
    await page.selectOption(sid(1, 'protocol'), 'https');
    // The dashboard starts with a short development interval; the production one is a choice.
    assert.equal(await page.inputValue(sid(1, 'poll-secs')), '5');
    await panel(page, 1).getByLabel('Production interval (25 min)').check();
    assert.equal(await page.locator(sid(1, 'poll-secs')).isDisabled(), true);
    await panel(page, 1).getByLabel('Production interval (25 min)').uncheck();
    // Long enough that only Poll now delivers during the test.
    await page.fill(sid(1, 'poll-secs'), '120');
    await screenshot(page, 'flow-https-01-settings');

    await panel(page, 1).getByRole('button', { name: 'Connect', exact: true }).click();
    const status = statusOf(page, 1);
    await status.filter({ hasText: `Connected as ${httpsDevice}` }).waitFor({ timeout: 20_000 });
    assert.match(await status.innerText(), /HTTPS/);
    assert.match(await panel(page, 1).locator('.session-facts').innerText(), /http:\/\/127\.0\.0\.1:\d+ \(devhub/);

    const countdown = page.locator(sid(1, 'poll-countdown'));
    await countdown.filter({ hasText: 'next poll in' }).waitFor({ timeout: 10_000 });
    const first = await countdownSecs(page, 1);
    assert.ok(first <= 120 && first > 100, `countdown starts near the interval: ${first}`);
    await page.waitForTimeout(2_200);
    const later = await countdownSecs(page, 1);
    assert.ok(later < first, `the countdown runs: ${first} then ${later}`);
    assert.match(await panel(page, 1).locator('.poll-schedule').innerText(), /every 2 min \(dev\)/);
    await screenshot(page, 'flow-https-02-connected');

    // Pause stops the schedule; resume polls at once and schedules again.
    await page.locator(sid(1, 'poll-toggle')).click();
    await countdown.filter({ hasText: 'polling paused' }).waitFor({ timeout: 5_000 });
    await panel(page, 1).getByRole('button', { name: 'Resume polling' }).click();
    await waitForCountdown(page, 1, (secs) => secs > later, 'resuming polls and starts a fresh interval');

    const d2cId = `https-d2c-${Date.now()}`;
    await sendD2c(page, 1, { body: '{"pressure": 1013}', messageId: d2cId, properties: [['site', 'lab'], ['level', '2']] });
    const feedText = await (await feedItem(page, d2cId)).innerText();
    assert.match(feedText, new RegExp(httpsDevice));
    assert.match(feedText, /https/);
    assert.match(feedText, /"pressure": 1013/);
    assert.match(feedText, /site\s*lab/);
    assert.match(feedText, /level\s*2/);
    const stored = await storedEvent(d2cId);
    assert.ok(stored, 'devhub stored the HTTPS D2C message');
    assert.equal(stored.protocol, 'https');
    assert.deepEqual(stored.properties, { site: 'lab', level: '2' });

    // Cloud to device: queued by the hub, delivered only when the device polls.
    const c2dId = `https-c2d-${Date.now()}`;
    await sendC2d(page, { deviceId: httpsDevice, body: 'open the valve', messageId: c2dId, ack: 'full' });
    assert.equal((await deviceView(httpsDevice)).c2dQueued, 1, 'devhub queues it until the device polls');
    const inbox = inboxOf(page, 1);
    const copies = inbox.locator('li', { hasText: 'open the valve' });
    assert.equal(await copies.count(), 0, 'nothing arrives before the device polls');

    await page.locator(sid(1, 'poll-now')).click();
    await page.locator(sid(1, 'poll-result')).filter({ hasText: 'received 1 message' }).waitFor({ timeout: 10_000 });
    const delivered = inbox.locator('li.settle-locked', { hasText: 'open the valve' });
    await delivered.waitFor({ timeout: 10_000 });
    let text = await delivered.innerText();
    assert.match(text, new RegExp(c2dId));
    assert.match(text, /deliveryCount\s*0/);
    assert.match(text, /sequenceNumber\s*\d+/);
    assert.match(text, /lockToken\s*\S+/);
    await delivered.scrollIntoViewIfNeeded();
    await screenshot(page, 'flow-https-03-received', { full: true });
    // Timed from the cloud pane's send to the poll that fetched it.
    await c2dDelivered(page, 'https');
    await page.locator('#c2d-delivery').scrollIntoViewIfNeeded();
    await screenshot(page, 'c2d-push-vs-poll');

    // Abandon: the hub delivers it again with the delivery count raised.
    await delivered.getByRole('button', { name: 'Abandon' }).click();
    await inbox.locator('li.settle-abandoned', { hasText: 'open the valve' }).waitFor({ timeout: 10_000 });
    await page.locator(sid(1, 'poll-now')).click();
    const again = inbox.locator('li.settle-locked', { hasText: 'open the valve' });
    await again.waitFor({ timeout: 10_000 });
    text = await again.innerText();
    assert.match(text, /deliveryCount\s*1/);
    assert.equal(await copies.count(), 2, 'the abandoned copy stays listed');

    await again.getByRole('button', { name: 'Complete' }).click();
    const completed = inbox.locator('li.settle-completed', { hasText: 'open the valve' });
    await completed.waitFor({ timeout: 10_000 });
    assert.equal(await completed.getByRole('button').count(), 0, 'a settled message offers no actions');

    // Reject a second message: dead-lettered, negative feedback.
    const rejectId = `https-reject-${Date.now()}`;
    await sendC2d(page, { deviceId: httpsDevice, body: 'self destruct', messageId: rejectId, ack: 'full' });
    await page.locator(sid(1, 'poll-now')).click();
    const toReject = inbox.locator('li.settle-locked', { hasText: 'self destruct' });
    await toReject.waitFor({ timeout: 10_000 });
    await toReject.getByRole('button', { name: 'Reject' }).click();
    await inbox.locator('li.settle-rejected', { hasText: 'self destruct' }).waitFor({ timeout: 10_000 });
    await inbox.scrollIntoViewIfNeeded();
    await screenshot(page, 'flow-https-05-settled', { full: true });

    // The hub's view: abandoned at delivery count 0 → 1, then completed; the other rejected.
    const history = await apiJson('/api/c2d/history');
    const ours = history
      .filter((h) => h.messageId === c2dId)
      .map((h) => ({ deviceId: h.deviceId, outcome: h.outcome, deliveryCount: h.deliveryCount }));
    assert.deepEqual(ours, [
      { deviceId: httpsDevice, outcome: 'abandoned', deliveryCount: 1 },
      { deviceId: httpsDevice, outcome: 'completed', deliveryCount: 1 },
    ]);
    assert.deepEqual(history.filter((h) => h.messageId === rejectId).map((h) => h.outcome), ['rejected']);
    assert.equal((await deviceView(httpsDevice)).c2dQueued, 0, 'nothing is left in the queue');
    assert.deepEqual(await feedbackFor(c2dId), ['Success']);
    assert.deepEqual(await feedbackFor(rejectId), ['Rejected']);

    await panel(page, 1).getByRole('button', { name: 'Disconnect' }).click();
    await status.filter({ hasText: 'Disconnected' }).waitFor({ timeout: 10_000 });
    assert.equal(await page.locator(sid(1, 'poll-countdown')).count(), 0, 'the countdown ends with the session');
    assert.deepEqual(problems, []);
  });

  test('AMQP over WebSocket: pushed C2D, abandon redelivers, complete, reject', async () => {
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(dashboardUrl);
    await page.locator(`${sid(1, 'demo-device')} option[value="${amqpDevice}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    await page.selectOption(sid(1, 'protocol'), 'amqp-ws');
    assert.equal(await page.locator(sid(1, 'poll-secs')).count(), 0, 'AMQP does not poll');
    await connectDemo(page, 1, amqpDevice, 'amqp-ws');
    assert.match(await statusOf(page, 1).innerText(), /AMQP\/WS/);

    const d2cId = `amqp-d2c-${Date.now()}`;
    await page.fill(sid(1, 'd2c-content-type'), 'text/plain');
    await page.fill(sid(1, 'd2c-content-encoding'), 'utf-8');
    await sendD2c(page, 1, { body: 'flow 3', messageId: d2cId, properties: [['route', 'amqp']] });
    await (await feedItem(page, d2cId)).filter({ hasText: /route\s*amqp/ }).waitFor({ timeout: 20_000 });
    const stored = await storedEvent(d2cId);
    assert.equal(stored?.protocol, 'amqp');
    assert.equal(stored?.properties.route, 'amqp');
    assert.equal(stored?.systemProperties.contentType, 'text/plain');
    assert.equal(stored?.systemProperties.contentEncoding, 'utf-8');

    const c2dId = `amqp-c2d-${Date.now()}`;
    await sendC2d(page, { deviceId: amqpDevice, body: 'close the valve', messageId: c2dId, properties: [['zone', 'b']], ack: 'full' });
    const inbox = inboxOf(page, 1);
    const delivered = inbox.locator('li.settle-locked', { hasText: 'close the valve' });
    await delivered.waitFor({ timeout: 20_000 });
    let text = await delivered.innerText();
    assert.match(text, /deliveryCount\s*0/);
    assert.match(text, /lockToken\s*\S+/);
    assert.match(text, /zone\s*b/);

    // AMQP pushes the abandoned message again at once, counted.
    await delivered.getByRole('button', { name: 'Abandon' }).click();
    await inbox.locator('li.settle-abandoned', { hasText: 'close the valve' }).waitFor({ timeout: 10_000 });
    const again = inbox.locator('li.settle-locked', { hasText: 'close the valve' });
    await again.waitFor({ timeout: 10_000 });
    text = await again.innerText();
    assert.match(text, /deliveryCount\s*1/);
    await again.getByRole('button', { name: 'Complete' }).click();
    await inbox.locator('li.settle-completed', { hasText: 'close the valve' }).waitFor({ timeout: 10_000 });

    const rejectId = `amqp-reject-${Date.now()}`;
    await sendC2d(page, { deviceId: amqpDevice, body: 'melt down', messageId: rejectId, ack: 'full' });
    const toReject = inbox.locator('li.settle-locked', { hasText: 'melt down' });
    await toReject.waitFor({ timeout: 20_000 });
    await toReject.getByRole('button', { name: 'Reject' }).click();
    await inbox.locator('li.settle-rejected', { hasText: 'melt down' }).waitFor({ timeout: 10_000 });
    await inbox.scrollIntoViewIfNeeded();
    await screenshot(page, 'flow-amqp-settled');

    const history = await apiJson('/api/c2d/history');
    assert.deepEqual(history.filter((h) => h.messageId === c2dId).map((h) => [h.outcome, h.deliveryCount]), [['abandoned', 1], ['completed', 1]]);
    assert.deepEqual(history.filter((h) => h.messageId === rejectId).map((h) => h.outcome), ['rejected']);
    assert.equal((await deviceView(amqpDevice)).c2dQueued, 0);
    assert.deepEqual(await feedbackFor(c2dId), ['Success']);
    assert.deepEqual(await feedbackFor(rejectId), ['Rejected']);

    await panel(page, 1).getByRole('button', { name: 'Disconnect' }).click();
    await statusOf(page, 1).filter({ hasText: 'Disconnected' }).waitFor({ timeout: 10_000 });
    assert.deepEqual(problems, []);
  });
});
