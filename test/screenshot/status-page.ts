/**
 * `npm run screenshot`: docs/status-page.png, the status page during a sandbox run. It starts the sandbox
 * (simulator, embedded store, sample runners) with the README's two pools, the x64 one capped at 2, and
 * delivers jobs the way `npm run demo` does: one that completes, two long ones that fill the x64 pool, one
 * that waits in its backlog, one whose repository's runners hit the metadata failure and are healed (a
 * baseline appears), one refused by a deprecated-version fault (failed, with its reason) and one whose
 * repository's API answers `breaker open` (an open breaker). Then it loads the page in Debian's headless
 * Chromium, opens the healed job's timeline, waits for the breaker to show open and writes the PNG. About 20 s.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Job } from '../../functions/domain/job.ts';
import { launchChromium } from '../support/browser.ts';
import { startHarness } from '../support/local-harness.ts';

const OUT = join(dirname(fileURLToPath(import.meta.url)), '../../docs/status-page.png');
const X64 = ['self-hosted', 'linux', 'x64'];
const ARM64 = ['self-hosted', 'linux', 'arm64'];

const log = (line: string) => process.stdout.write(`screenshot: ${line}\n`);

async function main(): Promise<void> {
  const started = Date.now();
  const harness = await startHarness({
    env: {
      RUNNER_POOLS: JSON.stringify([
        { name: 'linux-x64', labels: X64, maxRunners: 2 },
        { name: 'linux-arm64', labels: ARM64 },
      ]),
      LOG_LEVEL: 'WARN',
    },
    reconcile: true,
  });
  const browser = await launchChromium({ width: 1280, height: 900 });
  try {
    const sim = harness.app.simulator;
    if (!sim) throw new Error('the screenshot needs the sandbox simulator');
    const deliver = async (repo: string, labels: string[], durationMs?: number) => {
      const payload = sim.queueJob({
        owner: 'octo-org',
        repo,
        labels,
        ...(durationMs === undefined ? {} : { durationMs }),
      }) as { workflow_job: { id: number } };
      const answer = await harness.post(payload);
      if (answer.status !== 202) throw new Error(`POST /webhook for ${repo} answered ${answer.status}`);
      return payload.workflow_job.id;
    };
    const until = (jobId: number, what: string, predicate: (job: Job) => boolean) =>
      harness.waitForJob(jobId, predicate, 30_000).then((job) => {
        log(`job ${jobId} ${what} (${job.status})`);
        return job;
      });

    sim.setFault('octo-org/legacy-app', { metadataMissing: true });
    sim.setFault('octo-org/old-runner', { minimumVersion: '2.999.0' });
    sim.setFault('octo-org/flaky-api', { breakerOpen: true });

    const done = await deliver('demo-repo', X64);
    await until(done, 'completed', (j) => j.status === 'completed');
    const healed = await deliver('legacy-app', ARM64);
    await until(healed, 'healed and completed', (j) => j.status === 'completed');
    sim.clearFault('octo-org/legacy-app');
    const refused = await deliver('old-runner', ARM64);
    await until(refused, 'failed', (j) => j.status === 'failed');
    const breaker = await deliver('flaky-api', ARM64);
    await until(breaker, 'waits for its breaker', (j) => j.status === 'waiting-breaker');
    const long = [await deliver('api', X64, 120_000), await deliver('web', X64, 120_000)];
    for (const id of long) await until(id, 'running', (j) => j.status === 'running');
    const backlog = await deliver('docs', X64);
    await until(backlog, 'in the backlog', (j) => j.status === 'waiting-capacity');

    const page = await browser.context.newPage();
    await page.emulateMedia({ colorScheme: 'light' });
    await page.goto(`${harness.app.url}/`);
    await page.locator('#connection[data-state="live"]').waitFor();
    await page.locator(`#jobs-body tr[data-key="${backlog}"] [data-field="state"]`).waitFor();
    await page.locator('#pools-body tr[data-key="linux-x64"] [data-field="capacity"]', { hasText: '2 of 2' }).waitFor();
    await page.locator(`#jobs-body tr[data-key="${healed}"] button[aria-controls]`).click();
    // The scope's breaker opens, closes and opens again while its fault lasts: catch it open.
    await page
      .locator('#breakers-body tr[data-key="octo-org/flaky-api"] [data-field="state"]', { hasText: /^open/ })
      .waitFor({ timeout: 60_000 });
    const widths = await page.evaluate(() => {
      const { document } = globalThis as unknown as {
        document: { documentElement: { scrollWidth: number; clientWidth: number } };
      };
      const { scrollWidth, clientWidth } = document.documentElement;
      return { scrollWidth, clientWidth };
    });
    if (widths.scrollWidth > widths.clientWidth) log(`the page is ${widths.scrollWidth} px wide in a 1280 px window`);
    await mkdir(dirname(OUT), { recursive: true });
    await page.screenshot({ path: OUT, fullPage: true });
    log(`wrote ${OUT} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    await browser.close();
    await harness.close({ removeState: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`screenshot: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
