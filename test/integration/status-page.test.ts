import type { Page } from 'playwright-core';
import { afterEach, describe, expect, it } from 'vitest';
import { axeViolations, type Browser, launchChromium } from '../support/browser.ts';
import { type Harness, startHarness } from '../support/local-harness.ts';

// The sandbox's two pools, the first capped so the page has capacity numbers to show.
const POOLS = JSON.stringify([
  { name: 'linux-x64', labels: ['self-hosted', 'linux', 'x64'], maxRunners: 2 },
  { name: 'linux-arm64', labels: ['self-hosted', 'linux', 'arm64'] },
]);

/** The little of the DOM the test touches in the page (the project's TypeScript has no DOM library). */
interface PageGlobals {
  document: {
    visibilityState: string;
    activeElement: { tagName: string } | null;
    dispatchEvent(event: unknown): boolean;
    createElement(tag: string): unknown;
    querySelector(selector: string): { append(node: unknown): void; remove(): void } | null;
  };
  Event: new (type: string) => unknown;
  performance: { getEntriesByType(type: string): unknown[] };
  sameDocument?: boolean;
}

const text = async (page: Page, selector: string) => ((await page.locator(selector).textContent()) ?? '').trim();

describe('status page (GET /) in headless Chromium', () => {
  let harness: Harness | undefined;
  let browser: Browser | undefined;
  afterEach(async () => {
    await browser?.close();
    await harness?.close({ removeState: true });
    browser = undefined;
    harness = undefined;
  });

  it('follows a delivered job to completed without a reload, with its timeline, the pools and no axe violations, and says when the server stops answering', async () => {
    harness = await startHarness({ env: { RUNNER_POOLS: POOLS } });
    browser = await launchChromium();
    const page = await browser.context.newPage();
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(e.message));
    await page.emulateMedia({ colorScheme: 'light' });

    const response = await page.goto(`${harness.app.url}/`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toBe(
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    await page.locator('#connection[data-state="live"]').waitFor();
    expect(await text(page, '#connection-text')).toMatch(/^Live, updated \d\d:\d\d:\d\d$/);
    expect(await text(page, '#pools-body tr[data-key="linux-x64"] [data-field="capacity"]')).toBe('0 of 2');
    expect(await text(page, '#pools-body tr[data-key="linux-x64"] [data-field="backlog"]')).toBe('none waiting');
    expect(await text(page, '#pools-body tr[data-key="linux-x64"] [data-field="warm"]')).toBe('none kept');
    expect(await text(page, '#pools-body tr[data-key="linux-arm64"] [data-field="capacity"]')).toBe('0 (no cap)');
    expect(await text(page, '#version-line')).toContain('2.330.0');
    await page.evaluate(() => {
      (globalThis as unknown as PageGlobals).sameDocument = true;
    });

    // One job, delivered as `npm run demo` does: queued at the simulator, its signed webhook posted. It runs
    // for 3 s, so the page can be seen listing its runner.
    const simulator = harness.app.simulator;
    if (!simulator) throw new Error('the sandbox has a simulator');
    const payload = simulator.queueJob({
      owner: 'octo-org',
      repo: 'demo-repo',
      labels: ['self-hosted', 'linux', 'x64'],
      durationMs: 3_000,
    }) as { workflow_job: { id: number } };
    const jobId = payload.workflow_job.id;
    expect((await harness.post(payload)).status).toBe(202);
    // The job's own JIT runner is in the runners table, as /api/runners (the fleet view) lists it.
    const runnerRow = page.locator(`#runners-body tr[data-key="jr-${jobId}-1"]`);
    await runnerRow.waitFor({ timeout: 25_000 });
    expect(await runnerRow.locator('[data-field="kind"]').textContent()).toBe('jit');
    expect(await runnerRow.locator('[data-field="pool"]').textContent()).toBe('linux-x64');
    expect(await runnerRow.locator('[data-field="scope"]').textContent()).toBe('octo-org/demo-repo');
    expect(await runnerRow.locator('[data-field="job"]').textContent()).toBe(String(jobId));
    // The version says why the runner got it (an exact pin here; `(canary)` while a release is tried).
    expect(await runnerRow.locator('[data-field="version"]').textContent()).toBe('2.330.0 (pinned)');
    expect(await text(page, '#runners-summary')).toMatch(/^1 alive \(1 (launched|running)\): /);
    const row = page.locator(`#jobs-body tr[data-key="${jobId}"]`);
    await row.locator('[data-field="state"]', { hasText: /^completed$/ }).waitFor({ timeout: 25_000 });
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).sameDocument)).toBe(true);
    expect(await row.locator('[data-field="repo"]').textContent()).toBe('octo-org/demo-repo');
    expect(await row.locator('[data-field="pool"]').textContent()).toBe('linux-x64');
    expect(await row.locator('[data-field="runner"]').textContent()).toBe(`jr-${jobId}-1`);
    expect(await row.locator('[data-field="failure"]').textContent()).toBe('—');
    // Its runner ended with it.
    await runnerRow.waitFor({ state: 'detached' });
    await page.locator('#runners-body tr.empty', { hasText: 'No runners alive.' }).waitFor();
    expect(await text(page, '#runners-summary')).toMatch(/^0 alive: /);
    // The job's state changes were announced politely, the last one its end.
    expect(await page.locator('#announcer').getAttribute('aria-live')).toBe('polite');
    expect(await text(page, '#announcer')).toMatch(new RegExp(`Job ${jobId} in octo-org/demo-repo: .*completed\\.$`));

    // The timeline opens from the keyboard, in the row below the job's, and lists the job's states in order.
    const toggle = row.locator('button[aria-controls]');
    const timelineRow = page.locator(`#timeline-${jobId}`);
    expect(await toggle.getAttribute('aria-expanded')).toBe('false');
    expect(await timelineRow.isHidden()).toBe(true);
    await toggle.focus();
    await page.keyboard.press('Enter');
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    await timelineRow.waitFor({ state: 'visible' });
    expect(await toggle.getAttribute('aria-controls')).toBe(`timeline-${jobId}`);
    const timeline = await timelineRow.locator('.timeline li .state').allTextContents();
    expect(timeline[0]).toBe('queued');
    expect(timeline.at(-1)).toBe('completed');
    expect(timeline).toEqual(expect.arrayContaining(['queued', 'launched', 'running', 'completed']));
    // An open timeline stays open across refreshes (rows are updated in place, not rebuilt).
    const fetched = () => (globalThis as unknown as PageGlobals).performance.getEntriesByType('resource').length;
    const before = await page.evaluate(fetched);
    await page.waitForFunction(
      (n) => (globalThis as unknown as PageGlobals).performance.getEntriesByType('resource').length > n + 1,
      before,
    );
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    expect(await timelineRow.isVisible()).toBe(true);
    expect(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.tagName)).toBe(
      'BUTTON',
    );
    await page.locator('#pools-body tr[data-key="linux-x64"] [data-field="capacity"]', { hasText: '0 of 2' }).waitFor();

    expect(await axeViolations(page)).toEqual([]);
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await axeViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    // axe really looks: an image without a text alternative, put in for a moment, is reported.
    await page.evaluate(() => {
      const { document } = globalThis as unknown as PageGlobals;
      document.querySelector('main')?.append(document.createElement('img'));
    });
    expect((await axeViolations(page)).map((v) => v.id)).toContain('image-alt');
    await page.evaluate(() => (globalThis as unknown as PageGlobals).document.querySelector('main > img')?.remove());

    // A hidden tab stops polling until it is shown again.
    await page.evaluate(() => {
      const { document, Event } = globalThis as unknown as PageGlobals;
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'hidden' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await page.locator('#connection[data-state="paused"]').waitFor();
    expect(await text(page, '#connection-text')).toMatch(/^Paused while this tab is hidden, last updated /);
    await page.evaluate(() => {
      const { document, Event } = globalThis as unknown as PageGlobals;
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => 'visible' });
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await page.locator('#connection[data-state="live"]').waitFor();

    await harness.close({ removeState: true });
    harness = undefined;
    await page.locator('#connection[data-state="down"]').waitFor({ timeout: 10_000 });
    expect(await text(page, '#connection-text')).toMatch(
      /^Server not answering since \d\d:\d\d:\d\d; last updated \d\d:\d\d:\d\d\. Retrying every 2 s\.$/,
    );
    expect(await text(page, '#announcer')).toBe('The server is not answering.');
    // What it showed last stays on the page.
    expect(await row.locator('[data-field="state"]').textContent()).toBe('completed');
  });
});
