// The release build of the dashboard, served by devhub, starts in a real browser and shows the
// hub's devices.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { dashboardUrl, hubHttp, launch, openPage } from './browser.mjs';

describe('dashboard served by devhub', { timeout: 60_000 }, () => {
  let browser;

  before(async () => {
    browser = await launch();
  });

  after(async () => {
    if (browser) await browser.close();
  });

  test('devhub serves the built page and its assets', async () => {
    const res = await fetch(dashboardUrl);
    assert.equal(res.status, 200);
    const html = await res.text();
    const wasm = html.match(/[\w./-]+_bg\.wasm/);
    assert.ok(wasm, 'index.html references the wasm module');
    const module = await fetch(new URL(wasm[0], dashboardUrl));
    assert.equal(module.status, 200);
    assert.equal(module.headers.get('content-type'), 'application/wasm');
  });

  test('unknown paths fall back to the app (SPA routing)', async () => {
    const res = await fetch(new URL('some/client/route', dashboardUrl));
    assert.equal(res.status, 200);
    assert.match(await res.text(), /_bg\.wasm/);
  });

  test('the app starts without errors and lists the demo devices', async () => {
    const devices = await (await fetch(`${hubHttp}/api/devices`)).json();
    const demoIds = devices.map((d) => d.deviceId).filter((id) => id.startsWith('demo-device-'));
    assert.ok(demoIds.length >= 1, 'devhub has demo devices');

    const { page, problems } = await openPage(browser);
    await page.goto(dashboardUrl);
    // Rendered by the wasm app, not present in the static index.html.
    await page.waitForFunction(
      (ids) => ids.every((id) => document.body.textContent.includes(id)),
      demoIds,
      { timeout: 30_000 },
    );
    // One device session to start with, in a tab, with room for more.
    const tab = page.getByRole('tab', { name: /Device 1/ });
    assert.equal(await tab.getAttribute('aria-selected'), 'true');
    assert.equal(await page.locator(`#${await tab.getAttribute('aria-controls')}`).isVisible(), true);
    assert.equal(await page.getByRole('button', { name: '+ Add device' }).count(), 1);
    assert.equal(await page.getByLabel('Remember secrets').isChecked(), false, 'secrets are not kept by default');
    assert.deepEqual(problems, []);
  });

  test('every form control of the device pane has a label', async () => {
    const { page, problems } = await openPage(browser);
    await page.goto(dashboardUrl);
    await page.locator('#s1-demo-device option').first().waitFor({ state: 'attached', timeout: 30_000 });
    const unlabelled = await page.evaluate(() =>
      [...document.querySelectorAll('#s1-panel input, #s1-panel select, #s1-panel textarea, #s1-panel progress')]
        .filter((el) => !(el.labels?.length || el.getAttribute('aria-label') || el.closest('label')))
        .map((el) => el.id || el.outerHTML.slice(0, 80)),
    );
    assert.deepEqual(unlabelled, []);
    assert.deepEqual(problems, []);
  });
});
