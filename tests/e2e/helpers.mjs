// Helpers shared by the dashboard end-to-end tests: the device session panels (one per tab,
// element ids prefixed `s{n}-`), the cloud pane's forms, the service API and screenshots.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { hubHttp } from './browser.mjs';

const shots = fileURLToPath(new URL('../../artifacts/screenshots/', import.meta.url));
mkdirSync(shots, { recursive: true });

/** Saves the viewport and, with `full`, the whole page, as artifacts/screenshots/{name}.png. */
export async function screenshot(page, name, { full = false } = {}) {
  await page.screenshot({ path: `${shots}${name}.png` });
  if (full) await page.screenshot({ path: `${shots}${name}-full.png`, fullPage: true });
}

/** A service API call against devhub. */
export async function api(method, path, body) {
  return fetch(`${hubHttp}${path}`, {
    method,
    headers: body ? { 'content-type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
}

export async function apiJson(path) {
  return (await api('GET', path)).json();
}

/** `#s{n}-{name}`: an element of session `n`'s panel. */
export const sid = (n, name) => `#s${n}-${name}`;

/** Session `n`'s panel. */
export const panel = (page, n) => page.locator(`#s${n}-panel`);

/** Waits until the demo picker of session `n` lists `deviceId`, then connects it over `protocol`. */
export async function connectDemo(page, n, deviceId, protocol = 'mqtt-ws', { pollSecs } = {}) {
  await page.locator(`${sid(n, 'demo-device')} option[value="${deviceId}"]`).waitFor({ state: 'attached', timeout: 30_000 });
  await page.selectOption(sid(n, 'demo-device'), deviceId);
  await page.selectOption(sid(n, 'protocol'), protocol);
  if (pollSecs !== undefined) await page.fill(sid(n, 'poll-secs'), String(pollSecs));
  await panel(page, n).getByRole('button', { name: 'Connect', exact: true }).click();
  await statusOf(page, n).filter({ hasText: `Connected as ${deviceId}` }).waitFor({ timeout: 20_000 });
}

export const statusOf = (page, n) => page.locator(sid(n, 'connection-status'));

/** Fills session `n`'s composer: body, message id, application properties. */
export async function fillD2c(page, n, { body, messageId, properties = [] }) {
  if (body !== undefined) await page.fill(sid(n, 'd2c-body'), body);
  if (messageId !== undefined) await page.fill(sid(n, 'd2c-message-id'), messageId);
  const card = page.locator(sid(n, 'd2c-title')).locator('..');
  for (const [i, [k, v]] of properties.entries()) {
    await card.getByRole('button', { name: '+ Add property' }).click();
    await card.getByLabel(`Property ${i + 1} name`).fill(k);
    await card.getByLabel(`Property ${i + 1} value`).fill(v);
  }
}

/** Sends session `n`'s composer once and waits for the hub's acknowledgement. */
export async function sendD2c(page, n, fields) {
  await fillD2c(page, n, fields);
  const p = panel(page, n);
  await p.getByRole('button', { name: 'Send', exact: true }).click();
  const receipt = p.getByRole('list', { name: 'Send results' }).locator('li').first();
  await receipt.filter({ hasText: 'acknowledged in' }).waitFor({ timeout: 20_000 });
  return receipt;
}

/** The cloud pane's feed entry containing `text`, once it shows. */
export async function feedItem(page, text) {
  const item = page.getByRole('list', { name: /Device-to-cloud messages/ }).locator('li', { hasText: text });
  await item.waitFor({ timeout: 20_000 });
  return item;
}

/** The stored D2C event with this message id (devhub's view). */
export async function storedEvent(messageId) {
  const events = await apiJson('/api/events?since=0');
  return events.find((e) => e.systemProperties?.messageId === messageId);
}

/** Sends a C2D message from the cloud pane and waits until devhub queued it. */
export async function sendC2d(page, { deviceId, body, messageId, contentType = 'text/plain', properties = [], ack = 'none' }) {
  await page.selectOption('#c2d-device', deviceId);
  await page.selectOption('#c2d-ack', ack);
  await page.fill('#c2d-body', body);
  await page.fill('#c2d-content-type', contentType);
  await page.fill('#c2d-message-id', messageId);
  const card = page.locator('#c2d-title').locator('..');
  // Start from an empty property list.
  while (await card.getByRole('button', { name: /^Remove property/ }).count()) {
    await card.getByRole('button', { name: /^Remove property/ }).first().click();
  }
  for (const [i, [k, v]] of properties.entries()) {
    await card.getByRole('button', { name: '+ Add property' }).click();
    await page.locator(`[id^="c2d-prop-"][id$="-key"]`).nth(i).fill(k);
    await page.locator(`[id^="c2d-prop-"][id$="-value"]`).nth(i).fill(v);
  }
  await page.getByRole('button', { name: 'Send to device' }).click();
  await page
    .getByRole('list', { name: 'Cloud-to-device send results' })
    .locator('li', { hasText: `queued as “${messageId}”` })
    .waitFor({ timeout: 20_000 });
}

/** Session `n`'s inbox. */
export const inboxOf = (page, n) => panel(page, n).getByRole('list', { name: 'Received cloud-to-device messages' });

/** Feedback records devhub holds for a C2D message id, as status codes. */
export async function feedbackFor(messageId, { count, timeout = 10_000 } = {}) {
  const end = Date.now() + timeout;
  let codes = [];
  while (Date.now() < end) {
    const records = await apiJson('/api/feedback');
    codes = records.filter((r) => r.originalMessageId === messageId).map((r) => r.statusCode);
    if (codes.length >= (count ?? 1)) return codes;
    await new Promise((r) => setTimeout(r, 200));
  }
  return codes;
}

/** devhub's view of one device (connected flag, protocol, queued C2D count). */
export async function deviceView(deviceId) {
  return apiJson(`/api/devices/${encodeURIComponent(deviceId)}`);
}

/** Polls `f` until it returns a truthy value or the time runs out; returns the last value. */
export async function eventually(f, { timeout = 10_000, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  while (Date.now() < end) {
    last = await f();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.fail(`${what}: still ${JSON.stringify(last)}`);
}
