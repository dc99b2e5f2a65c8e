// Field gateway mode against devhub: 20 simulated devices over one AMQP/WebSocket connection
// each send a few messages; the per-device counts, the totals and the hub's own records agree;
// a cloud-to-device message reaches its device; the protocol charts plot the messages.
// Screenshots go to artifacts/screenshots/.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dashboardUrl, hubHttp, launch, openPage } from './browser.mjs';
import { api, connectDemo, panel, sendD2c, statusOf } from './helpers.mjs';

const shots = fileURLToPath(new URL('../../artifacts/screenshots/', import.meta.url));
mkdirSync(shots, { recursive: true });

const DEVICES = 20;
const PER_DEVICE = 3;
// A prefix of its own, so reruns against the same devhub start from fresh devices.
const PREFIX = `e2e-gw-${Date.now().toString(36)}-`;
const ids = Array.from({ length: DEVICES }, (_, i) => `${PREFIX}${String(i + 1).padStart(2, '0')}`);

async function text(page, selector) {
  return (await page.locator(selector).textContent())?.trim();
}

async function eventsOf(deviceId) {
  const res = await fetch(`${hubHttp}/api/events?deviceId=${encodeURIComponent(deviceId)}`);
  assert.equal(res.status, 200);
  return res.json();
}

describe('field gateway mode', { timeout: 180_000 }, () => {
  let browser;
  let page;
  let problems;

  before(async () => {
    browser = await launch();
    ({ page, problems } = await openPage(browser));
    await page.setViewportSize({ width: 1280, height: 800 });
    await page.goto(dashboardUrl);
    await page.locator('#gw-count').waitFor({ timeout: 30_000 });
  });

  after(async () => {
    if (browser) await browser.close();
  });

  test('20 devices send over one connection; counts match the hub', async () => {
    const pane = page.locator('.gateway-pane');
    await page.fill('#gw-count', String(DEVICES));
    await page.fill('#gw-prefix', PREFIX);
    await page.fill('#gw-rate', '2');
    await page.fill('#gw-messages', String(PER_DEVICE));
    await pane.getByRole('button', { name: 'Start' }).click();

    const total = DEVICES * PER_DEVICE;
    await page.waitForFunction(
      (n) => document.querySelector('#gw-total-acked')?.textContent.trim() === String(n),
      total,
      { timeout: 90_000 },
    );
    assert.equal(await text(page, '#gw-total-sent'), `${total} of ${total}`);
    assert.equal(await text(page, '#gw-total-failed'), '0');
    assert.equal(await text(page, '#gw-total-inflight'), '0');
    assert.equal(await text(page, '#gw-total-devices'), `${DEVICES} / ${DEVICES}`);
    assert.match(await text(page, '#gw-connection'), /connected/);
    assert.equal(await text(page, '#gw-phase'), 'running');

    // One row per device with its own counts; the totals are their sums.
    const rows = await page.$$eval('table.gw-devices tbody tr', (trs) =>
      trs.map((tr) => ({
        id: tr.dataset.device,
        sent: Number(tr.querySelector('[data-col=sent]').textContent),
        acked: Number(tr.querySelector('[data-col=acked]').textContent),
        failed: Number(tr.querySelector('[data-col=failed]').textContent),
        status: tr.querySelector('td .chip').textContent.trim(),
      })),
    );
    assert.deepEqual(rows.map((r) => r.id), ids);
    for (const r of rows) {
      assert.deepEqual([r.sent, r.acked, r.failed, r.status], [PER_DEVICE, PER_DEVICE, 0, 'connected'], r.id);
    }
    assert.equal(rows.reduce((s, r) => s + r.acked, 0), Number(await text(page, '#gw-total-acked')));

    // The hub filed each device's messages under that device, over AMQP, with the template.
    for (const id of ids) {
      const evs = await eventsOf(id);
      assert.equal(evs.length, PER_DEVICE, id);
      for (const ev of evs) {
        assert.equal(ev.protocol, 'amqp', id);
        assert.equal(JSON.parse(ev.body).device, id);
      }
      assert.deepEqual(
        evs.map((e) => JSON.parse(e.body).seq).sort(),
        [...Array(PER_DEVICE).keys()],
        id,
      );
    }
    // devhub lists them all as connected over AMQP.
    const listed = await (await fetch(`${hubHttp}/api/devices`)).json();
    for (const id of ids) {
      const d = listed.find((x) => x.deviceId === id);
      assert.ok(d, `${id} is registered`);
      assert.equal(d.connected, true, id);
      assert.equal(d.protocol, 'amqp', id);
    }

    // A cloud-to-device message reaches the one device it was sent to.
    const target = ids[4];
    const c2d = await fetch(`${hubHttp}/api/devices/${encodeURIComponent(target)}/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ body: 'calibrate' }),
    });
    assert.equal(c2d.status, 201);
    await page.waitForFunction(
      (id) => document.querySelector(`tr[data-device="${id}"] [data-col=c2d]`)?.textContent.trim() === '1',
      target,
      { timeout: 20_000 },
    );
    assert.equal(await text(page, '#gw-total-c2d'), '1');

    await pane.scrollIntoViewIfNeeded();
    await pane.screenshot({ path: `${shots}gateway-20-devices.png` });
    await page.screenshot({ path: `${shots}gateway-page-1280.png`, fullPage: true });
  });

  test('device sessions over MQTT, AMQP and HTTPS join the comparison', async () => {
    // A device of its own, so no other test's session is disturbed.
    const deviceId = `${PREFIX}session`;
    assert.equal((await api('POST', '/api/devices', { deviceId })).status, 201);
    for (const protocol of ['mqtt-ws', 'amqp-ws', 'https']) {
      await connectDemo(page, 1, deviceId, protocol, protocol === 'https' ? { pollSecs: 5 } : {});
      await sendD2c(page, 1, { body: `{"via":"${protocol}"}`, messageId: `${deviceId}-${protocol}` });
      await panel(page, 1).getByRole('button', { name: 'Disconnect' }).click();
      await statusOf(page, 1).filter({ hasNotText: 'Connected as' }).waitFor({ timeout: 10_000 });
    }
    for (const protocol of ['mqtt-ws', 'https']) {
      await page
        .locator(`#metrics-table tr[data-protocol="${protocol}"] [data-col=count]`)
        .filter({ hasText: /^1$/ })
        .waitFor({ timeout: 10_000 });
    }
  });

  test('the charts plot every protocol, the gateway as AMQP', async () => {
    const row = page.locator('#metrics-table tr[data-protocol="amqp-ws"]');
    await row.waitFor({ timeout: 10_000 });
    // Samples reach the charts in batches; wait for all of them.
    await page.waitForFunction(
      (n) => Number(document.querySelector('#metrics-table tr[data-protocol="amqp-ws"] [data-col=count]')?.textContent) >= n,
      DEVICES * PER_DEVICE + 1,
      { timeout: 10_000 },
    );
    const cells = await row.locator('td').allTextContents();
    // The gateway's messages plus the AMQP session's one.
    assert.equal(Number(cells[0]), DEVICES * PER_DEVICE + 1);
    // Body and wire sizes are measured, the wire is larger than the body.
    const body = parseFloat(cells[1]);
    const wire = parseFloat(cells[2]);
    assert.ok(body > 0 && wire > body, `body ${body} B, wire ${wire} B`);
    assert.match(cells[3], /^\d+ %$/);
    assert.match(cells[4], /ms$/);

    const pane = page.locator('.metrics-pane');
    // Per protocol: bars (body and wire), latency points and a rate line, in one order.
    assert.deepEqual(
      await pane.locator('#metrics-table tbody tr').evaluateAll((trs) => trs.map((tr) => tr.dataset.protocol)),
      ['mqtt-ws', 'amqp-ws', 'https'],
    );
    for (const protocol of ['mqtt-ws', 'amqp-ws', 'https']) {
      assert.equal(await pane.locator(`g.bar-group[data-protocol="${protocol}"] rect`).count(), 2, protocol);
    }
    assert.equal(await pane.locator('g.points[data-protocol="amqp-ws"] circle').count(), DEVICES * PER_DEVICE + 1);
    assert.equal(await pane.locator('g.points[data-protocol="mqtt-ws"] circle').count(), 1);
    assert.equal(await pane.locator('g.points[data-protocol="https"] circle').count(), 1);
    await page.waitForFunction(
      () =>
        ['mqtt-ws', 'amqp-ws', 'https'].every((p) => {
          const line = document.querySelector(`polyline.rate-line[data-protocol="${p}"]`);
          return line && line.getAttribute('points').split(' ').length >= 2;
        }),
      null,
      { timeout: 10_000 },
    );
    // Screen readers get the numbers.
    const desc = await pane.locator('#chart-bytes-desc').textContent();
    assert.match(desc, /MQTT: \d+ body bytes, \d+ bytes on the wire/);
    assert.match(desc, /AMQP: \d+ body bytes, \d+ bytes on the wire/);
    assert.match(desc, /HTTPS: \d+ body bytes/);
    assert.equal(await pane.locator('svg[role="img"]').count(), 3);

    await pane.scrollIntoViewIfNeeded();
    await pane.screenshot({ path: `${shots}charts.png` });
  });

  test('narrow screens scroll vertically only', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the screen`);
    await page.locator('.metrics-pane').scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${shots}gateway-narrow.png` });
    await page.setViewportSize({ width: 1280, height: 800 });
  });

  test('stop closes the connection and keeps the counts', async () => {
    const pane = page.locator('.gateway-pane');
    await pane.getByRole('button', { name: 'Stop' }).click();
    await page.waitForFunction(() => document.querySelector('#gw-phase')?.textContent.trim() === 'stopped', null, {
      timeout: 20_000,
    });
    assert.match(await text(page, '#gw-connection'), /disconnected/);
    assert.equal(await text(page, '#gw-total-acked'), String(DEVICES * PER_DEVICE));
    // The hub saw the devices go.
    const deadline = Date.now() + 10_000;
    for (;;) {
      const listed = await (await fetch(`${hubHttp}/api/devices`)).json();
      const still = listed.filter((d) => ids.includes(d.deviceId) && d.connected);
      if (still.length === 0) break;
      assert.ok(Date.now() < deadline, `still connected: ${still.map((d) => d.deviceId)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    // Start is offered again.
    assert.equal(await pane.getByRole('button', { name: 'Start' }).isEnabled(), true);
    assert.deepEqual(problems, []);
  });

  test('pasted connection strings: errors name the line, a valid list runs', async () => {
    const pane = page.locator('.gateway-pane');
    await pane.getByLabel('Paste connection strings').check();
    const listed = await (await fetch(`${hubHttp}/api/devices`)).json();
    const mine = listed.filter((d) => ids.slice(0, 3).includes(d.deviceId));
    assert.equal(mine.length, 3);
    const lines = mine.map((d) => d.connectionString);

    await page.fill('#gw-pasted', `# three gateway devices\n${lines[0]}\nHostName=x;DeviceId=y`);
    await pane.getByRole('button', { name: 'Start' }).click();
    assert.match(await pane.getByRole('alert').textContent(), /^line 3: /);
    await page.fill('#gw-pasted', `${lines[0]}\n${lines[0]}`);
    await pane.getByRole('button', { name: 'Start' }).click();
    assert.match(await pane.getByRole('alert').textContent(), /line 2: device \S+ is already on line 1/);

    await page.fill('#gw-pasted', lines.join('\n'));
    await page.fill('#gw-messages', '2');
    await pane.getByRole('button', { name: 'Start' }).click();
    await page.waitForFunction(() => document.querySelector('#gw-total-acked')?.textContent.trim() === '6', null, {
      timeout: 30_000,
    });
    assert.equal(await pane.getByRole('alert').count(), 0);
    assert.equal(await page.locator('table.gw-devices tbody tr').count(), 3);
    for (const d of mine) assert.equal((await eventsOf(d.deviceId)).length, PER_DEVICE + 2, d.deviceId);
    await pane.getByRole('button', { name: 'Stop' }).click();
    await page.waitForFunction(() => document.querySelector('#gw-phase')?.textContent.trim() === 'stopped', null, {
      timeout: 20_000,
    });
    assert.deepEqual(problems, []);
  });
});
