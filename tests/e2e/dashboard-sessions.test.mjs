// Device sessions side by side: two sessions (MQTT and HTTPS, different devices) working at
// once in tabs; send N times at a rate with progress and Stop; a SAS token identity against
// devhub and one naming another hub (dialled directly, with its expiry shown); settings kept
// across a reload (secrets only when "Remember secrets" is ticked); and the narrow-screen
// layout. Screenshots go to artifacts/screenshots/.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { dashboardUrl, launch, openPage } from './browser.mjs';
import {
  api, apiJson, connectDemo, deviceView, eventually, feedItem, inboxOf, panel, screenshot,
  sendC2d, sendD2c, sid, statusOf,
} from './helpers.mjs';

const base = `dashboard-sessions-${process.pid}-${Date.now()}`;
const deviceA = `${base}-a`;
const deviceB = `${base}-b`;
const deviceC = `${base}-c`;
const devices = [deviceA, deviceB, deviceC];

/** A device SAS token as a portal would hand one out. */
function sasToken(host, deviceId, keyB64, ttlSecs) {
  const sr = encodeURIComponent(`${host}/devices/${deviceId}`);
  const se = Math.floor(Date.now() / 1000) + ttlSecs;
  const sig = createHmac('sha256', Buffer.from(keyB64, 'base64')).update(`${sr}\n${se}`).digest('base64');
  return `SharedAccessSignature sr=${sr}&sig=${encodeURIComponent(sig)}&se=${se}`;
}

async function connectionString(deviceId) {
  const list = await apiJson('/api/devices');
  return list.find((d) => d.deviceId === deviceId).connectionString;
}

describe('dashboard device sessions', { timeout: 120_000 }, () => {
  let browser;

  before(async () => {
    for (const id of devices) {
      const res = await api('POST', '/api/devices', { deviceId: id });
      assert.equal(res.status, 201, `devhub creates the test device ${id}`);
    }
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close();
    for (const id of devices) await api('DELETE', `/api/devices/${encodeURIComponent(id)}`);
  });

  test('two sessions at once: MQTT and HTTPS, different devices, both working', async () => {
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(dashboardUrl);
    await connectDemo(page, 1, deviceA, 'mqtt-ws');

    await page.getByRole('button', { name: '+ Add device' }).click();
    const tab2 = page.getByRole('tab', { name: /Device 2/ });
    assert.equal(await tab2.getAttribute('aria-selected'), 'true', 'the new session is shown');
    assert.equal(await panel(page, 1).isHidden(), true, 'the other session is hidden, not closed');
    await connectDemo(page, 2, deviceB, 'https', { pollSecs: 120 });
    assert.match(await page.locator('#s1-tab').innerText(), /connected/, 'session 1 stays connected');

    const idB = `two-b-${Date.now()}`;
    await sendD2c(page, 2, { body: '{"b": 1}', messageId: idB, properties: [['who', 'b']] });
    await feedItem(page, idB);

    // Keyboard: arrows move between tabs and take the focus along.
    await page.locator('#s2-tab').focus();
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.locator('#s1-tab').getAttribute('aria-selected'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 's1-tab');
    assert.equal(await panel(page, 1).isVisible(), true);
    await page.keyboard.press('End');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 's2-tab');
    await page.keyboard.press('Home');
    assert.equal(await page.locator('#s1-tab').getAttribute('aria-selected'), 'true');
    const idA = `two-a-${Date.now()}`;
    await sendD2c(page, 1, { body: '{"a": 1}', messageId: idA, properties: [['who', 'a']] });
    const feedA = await (await feedItem(page, idA)).innerText();
    assert.match(feedA, new RegExp(deviceA));

    // C2D to each device lands in its own session only.
    await sendC2d(page, { deviceId: deviceA, body: 'for a', messageId: `c2d-a-${Date.now()}` });
    await inboxOf(page, 1).locator('li', { hasText: 'for a' }).waitFor({ timeout: 20_000 });
    await sendC2d(page, { deviceId: deviceB, body: 'for b', messageId: `c2d-b-${Date.now()}` });
    await page.locator('#s2-tab').click();
    await page.locator(sid(2, 'poll-now')).click();
    const forB = inboxOf(page, 2).locator('li.settle-locked', { hasText: 'for b' });
    await forB.waitFor({ timeout: 10_000 });
    await forB.getByRole('button', { name: 'Complete' }).click();
    await inboxOf(page, 2).locator('li.settle-completed', { hasText: 'for b' }).waitFor({ timeout: 10_000 });
    assert.equal(await inboxOf(page, 1).locator('li', { hasText: 'for b' }).count(), 0);
    assert.equal(await inboxOf(page, 2).locator('li', { hasText: 'for a' }).count(), 0);
    await screenshot(page, 'sessions-two-at-once-1280x800');

    // The hub's view of both.
    const events = await apiJson('/api/events?since=0');
    assert.equal(events.find((e) => e.systemProperties?.messageId === idA)?.protocol, 'mqtt');
    assert.equal(events.find((e) => e.systemProperties?.messageId === idB)?.protocol, 'https');
    assert.equal((await deviceView(deviceA)).connected, true);
    assert.equal((await deviceView(deviceA)).c2dQueued, 0);
    assert.equal((await deviceView(deviceB)).c2dQueued, 0);

    // Removing a session closes its connection.
    await page.locator('#s1-tab').click();
    await panel(page, 1).getByRole('button', { name: 'Remove Device 1' }).click();
    assert.equal(await page.locator('#s1-panel').count(), 0);
    assert.equal(await page.locator('#s2-tab').getAttribute('aria-selected'), 'true');
    await eventually(async () => !(await deviceView(deviceA)).connected, { what: 'devhub sees device A disconnect' });
    assert.deepEqual(problems, []);
  });

  test('send 20 times at a rate: progress reaches 20/20 and the hub has all 20', async () => {
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(dashboardUrl);
    await connectDemo(page, 1, deviceC, 'amqp-ws');
    const runId = `burst-${Date.now()}`;
    await page.fill(sid(1, 'd2c-message-id'), runId);
    await page.fill(sid(1, 'burst-count'), '20');
    await page.fill(sid(1, 'burst-rate'), '20');
    const started = Date.now();
    await panel(page, 1).getByRole('button', { name: 'Send N times' }).click();
    const status = page.locator(sid(1, 'burst-status'));
    await status.filter({ hasText: 'finished' }).waitFor({ timeout: 20_000 });
    const elapsed = Date.now() - started;
    assert.match(await status.innerText(), /sent 20\/20 · acknowledged 20 · failed 0/);
    assert.ok(elapsed >= 900, `20 messages at 20/s take about a second, not ${elapsed} ms`);
    const progress = page.locator(sid(1, 'burst-progress'));
    assert.equal(await progress.getAttribute('max'), '20');
    assert.equal(await progress.evaluate((p) => p.value), 20);
    await panel(page, 1).locator('.burst').scrollIntoViewIfNeeded();
    await screenshot(page, 'sessions-burst-20-of-20');

    const ids = await eventually(async () => {
      const events = await apiJson(`/api/events?since=0&deviceId=${encodeURIComponent(deviceC)}`);
      const got = events.map((e) => e.systemProperties?.messageId).filter((id) => id?.startsWith(`${runId}-`));
      return got.length >= 20 ? got : null;
    }, { what: 'devhub stores all 20' });
    assert.deepEqual([...new Set(ids)].sort(), Array.from({ length: 20 }, (_, i) => `${runId}-${i + 1}`).sort());

    // A long run stops on request; what was handed out is still accounted for.
    await page.fill(sid(1, 'burst-count'), '500');
    await page.fill(sid(1, 'burst-rate'), '10');
    await panel(page, 1).getByRole('button', { name: 'Send N times' }).click();
    await status.filter({ hasText: 'running' }).waitFor({ timeout: 5_000 });
    await page.waitForTimeout(800);
    await panel(page, 1).getByRole('button', { name: 'Stop' }).click();
    await status.filter({ hasText: 'stopped' }).waitFor({ timeout: 10_000 });
    const text = await status.innerText();
    const m = text.match(/sent (\d+)\/500 · acknowledged (\d+) · failed (\d+)/);
    assert.ok(m, text);
    const [sent, acked, failed] = m.slice(1).map(Number);
    assert.ok(sent > 0 && sent < 500, `stopped part way: ${text}`);
    assert.equal(acked + failed, sent, 'every message handed out has its result');
    assert.deepEqual(problems, []);
  });

  test('SAS token: against devhub it connects; for another hub it dials that hub and shows the expiry', async () => {
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(dashboardUrl);
    await page.locator(`${sid(1, 'demo-device')} option[value="${deviceC}"]`).waitFor({ state: 'attached', timeout: 30_000 });
    const key = (await connectionString(deviceC)).match(/SharedAccessKey=([^;]+)/)[1];
    const p = panel(page, 1);
    await p.getByRole('radio', { name: 'SAS token' }).check();
    await page.fill(sid(1, 'sas-host'), 'localhost');
    await page.fill(sid(1, 'sas-device'), deviceC);
    await page.fill(sid(1, 'sas-token'), sasToken('localhost', deviceC, key, 3600));
    await page.selectOption(sid(1, 'protocol'), 'mqtt-ws');
    await p.getByRole('button', { name: 'Connect', exact: true }).click();
    await statusOf(page, 1).filter({ hasText: `Connected as ${deviceC}` }).waitFor({ timeout: 20_000 });
    const facts = await p.locator('.session-facts').innerText();
    assert.match(facts, /devhub/);
    assert.match(facts, /The SAS token expires at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in (?:1:00:00|59:\d\d)\); a fixed token cannot be renewed/);
    const id = `sas-${Date.now()}`;
    await sendD2c(page, 1, { body: '{"sas": true}', messageId: id });
    await feedItem(page, id);
    await p.getByRole('button', { name: 'Disconnect' }).click();

    // Another hub: no devhub endpoint; the client dials the host itself (unreachable here).
    await page.fill(sid(1, 'sas-host'), 'hubwire-test.invalid');
    await page.fill(sid(1, 'sas-token'), sasToken('hubwire-test.invalid', deviceC, key, 600));
    await p.getByRole('button', { name: 'Connect', exact: true }).click();
    const other = await p.locator('.session-facts').innerText();
    assert.match(other, /wss:\/\/hubwire-test\.invalid\/\$iothub\/websocket \(the identity's own hub\)/);
    const status = statusOf(page, 1);
    await status.filter({ hasText: /Reconnecting|Failed/ }).waitFor({ timeout: 20_000 });
    const shown = await status.innerText();
    if (/Reconnecting/.test(shown)) assert.match(shown, /next try (in|at)/);
    await screenshot(page, 'sessions-sas-other-hub');
    const disconnect = p.getByRole('button', { name: 'Disconnect' });
    if (await disconnect.isEnabled()) {
      await disconnect.click();
      await status.filter({ hasText: 'Disconnected' }).waitFor({ timeout: 10_000 });
    } else {
      // Gave up: the reason and the endpoint that failed stay on show.
      assert.match(shown, /Failed: \S/);
      assert.match(await p.locator('.session-facts').innerText(), /hubwire-test\.invalid/);
    }
    // Chromium logs the failed WebSocket itself; anything else would be the page's fault.
    assert.deepEqual(problems.filter((m) => !m.includes('wss://hubwire-test.invalid/')), []);
  });

  test('a hub that is not devhub: demo devices say so; identities dial their own hub', async () => {
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(dashboardUrl);
    await page.locator(sid(1, 'demo-device')).waitFor();
    // Nothing listens on port 9 here: the hub does not answer, so it cannot be devhub.
    await page.fill('#hub-url', 'http://127.0.0.1:9');
    await page.getByRole('button', { name: 'Apply' }).click();
    const p = panel(page, 1);
    const note = p.getByRole('note').filter({ hasText: 'Demo devices need devhub' });
    await note.waitFor({ timeout: 20_000 });
    await p.getByRole('button', { name: 'Connect', exact: true }).click();
    await statusOf(page, 1).filter({ hasText: /Failed: Demo devices need devhub/ }).waitFor({ timeout: 5_000 });

    // A devhub identity pasted here is dialled at its own host, not through the hub URL.
    await p.getByRole('radio', { name: 'Connection string' }).check();
    await page.fill(sid(1, 'connection-string'), await connectionString(deviceC));
    await page.selectOption(sid(1, 'protocol'), 'https');
    await p.getByRole('button', { name: 'Connect', exact: true }).click();
    await p.locator('.session-facts').filter({ hasText: "https://localhost (the identity's own hub)" }).waitFor({ timeout: 5_000 });
    await screenshot(page, 'sessions-not-devhub');
    await statusOf(page, 1).filter({ hasText: /Reconnecting|Failed|Connecting/ }).waitFor({ timeout: 5_000 });
    const disconnect = p.getByRole('button', { name: 'Disconnect' });
    if (await disconnect.isEnabled()) await disconnect.click();
    // The browser reports the refused requests itself; nothing else may go wrong.
    assert.deepEqual(problems.filter((m) => !/127\.0\.0\.1:9|https:\/\/localhost|Failed to load resource/.test(m)), []);
  });

  test('settings survive a reload; secrets only while "Remember secrets" is ticked', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
    await page.goto(dashboardUrl);
    await page.locator(sid(1, 'demo-device')).waitFor();
    await page.fill(sid(1, 'name'), 'boiler room');
    await page.keyboard.press('Tab');
    await page.selectOption(sid(1, 'protocol'), 'https');
    await page.fill(sid(1, 'poll-secs'), '30');
    await page.getByRole('button', { name: '+ Add device' }).click();
    await panel(page, 2).getByRole('radio', { name: 'Connection string' }).check();
    const secret = await connectionString(deviceC);
    await page.fill(sid(2, 'connection-string'), secret);
    const stored = () => page.evaluate(() => localStorage.getItem('hubwire.dashboard.settings') || '');
    await eventually(async () => (await stored()).includes('boiler room'), { what: 'settings stored' });
    assert.ok(!(await stored()).includes('SharedAccessKey'), 'no secret stored by default');
    assert.equal(JSON.parse(await stored()).hubUrl, new URL(dashboardUrl).origin);

    await page.reload();
    await page.locator('#s2-tab').waitFor();
    assert.match(await page.locator('#s1-tab').innerText(), /boiler room/);
    assert.match(await page.locator('#s2-tab').innerText(), /Device 2/);
    assert.equal(await page.inputValue(sid(1, 'protocol')), 'https');
    assert.equal(await page.inputValue(sid(1, 'poll-secs')), '30');
    await page.locator('#s2-tab').click();
    assert.equal(await panel(page, 2).getByRole('radio', { name: 'Connection string' }).isChecked(), true);
    assert.equal(await page.inputValue(sid(2, 'connection-string')), '', 'the secret was not kept');

    await page.fill(sid(2, 'connection-string'), secret);
    await page.getByLabel('Remember secrets').check();
    await eventually(async () => (await stored()).includes(secret), { what: 'secret stored once ticked' });
    await page.reload();
    await page.locator('#s2-tab').click();
    assert.equal(await page.inputValue(sid(2, 'connection-string')), secret);
    assert.equal(await page.getByLabel('Remember secrets').isChecked(), true);

    // Unticking erases the stored secrets at once.
    await page.getByLabel('Remember secrets').uncheck();
    await eventually(async () => !(await stored()).includes('SharedAccessKey'), { what: 'secret erased' });
    await page.reload();
    await page.locator('#s2-tab').click();
    assert.equal(await page.inputValue(sid(2, 'connection-string')), '');

    // Garbage in storage falls back to the defaults.
    await page.evaluate(() => localStorage.setItem('hubwire.dashboard.settings', '{"sessions": [1, {"protocol": 7}'));
    await page.reload();
    await page.locator('#s1-tab').waitFor();
    assert.equal(await page.getByRole('tab').count(), 1);
    assert.deepEqual(problems, []);
    await context.close();
  });

  test('narrow screen (390×844): one column, no horizontal scroll', async () => {
    const { page, problems } = await openPage(browser);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(dashboardUrl);
    await connectDemo(page, 1, deviceB, 'https', { pollSecs: 60 });
    await page.getByRole('button', { name: '+ Add device' }).click();
    await page.locator('#s1-tab').click();
    await sendD2c(page, 1, { body: '{"narrow": true}', messageId: `narrow-${Date.now()}`, properties: [['screen', 'phone']] });
    await page.fill(sid(1, 'burst-count'), '3');
    await panel(page, 1).getByRole('button', { name: 'Send N times' }).click();
    await page.locator(sid(1, 'burst-status')).filter({ hasText: 'finished' }).waitFor({ timeout: 10_000 });
    const [scrollWidth, innerWidth] = await page.evaluate(() => [document.scrollingElement.scrollWidth, window.innerWidth]);
    assert.ok(scrollWidth <= innerWidth, `no horizontal scroll: ${scrollWidth} > ${innerWidth}`);
    const columns = await page.evaluate(() => getComputedStyle(document.querySelector('.panes')).gridTemplateColumns.split(' ').length);
    assert.equal(columns, 1, 'one column');
    await screenshot(page, 'sessions-narrow-390x844');
    await screenshot(page, 'sessions-narrow-390x844', { full: true });
    assert.deepEqual(problems, []);
  });
});
