// Shared set-up for the dashboard end-to-end tests: Debian's Chromium driven by playwright-core
// (never a downloaded browser), against the dashboard devhub serves.
//
// scripts/test.sh builds the dashboard, starts devhub with --dist and passes:
//   HUBWIRE_DASHBOARD_URL  e.g. http://127.0.0.1:18080/
//   HUBWIRE_DEVHUB_HTTP    the same devhub's service API
//   CHROMIUM               /usr/bin/chromium
import { chromium } from 'playwright-core';

export const dashboardUrl = process.env.HUBWIRE_DASHBOARD_URL;
export const hubHttp = (process.env.HUBWIRE_DEVHUB_HTTP || '').replace(/\/+$/, '');
if (!dashboardUrl || !hubHttp) {
  throw new Error('run these tests through `./scripts/test.sh e2e`, which builds and serves the dashboard');
}

// Without these, Chromium keeps trying to reach Google's services on a closed network.
const QUIET_FLAGS = [
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts headless Chromium; the caller closes it. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: QUIET_FLAGS,
  });
}

/**
 * Opens a page that records uncaught errors and console errors, so a test can assert that the
 * app did not panic (a Rust panic in the page surfaces as one of these).
 */
export async function openPage(browser) {
  const page = await browser.newPage();
  const problems = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error') problems.push(`console.error: ${msg.text()}`);
  });
  return { page, problems };
}
