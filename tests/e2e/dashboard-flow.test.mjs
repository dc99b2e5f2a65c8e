// The dashboard's main flow in a real browser against devhub: a device connects from the page,
// its device-to-cloud message shows in the cloud pane, and a cloud-to-device message sent from
// the cloud pane reaches the device's inbox. Each run uses its own device, so it does not
// disturb the demo devices or other tests.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dashboardUrl, hubHttp, launch, openPage } from './browser.mjs';

const deviceId = `dashboard-e2e-${process.pid}-${Date.now()}`;

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
    const res = await api('POST', '/api/devices', { deviceId });
    assert.equal(res.status, 201, 'devhub creates the test device');
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close();
    await api('DELETE', `/api/devices/${encodeURIComponent(deviceId)}`);
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
});
