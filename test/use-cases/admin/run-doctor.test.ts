import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type GitHubSimulator, startGitHubSimulator } from '../../../functions/adapters/sandbox/github-simulator.ts';
import { localDoctorDeps } from '../../../functions/composition/doctor.ts';
import { SAMPLE_RUNNER_DIR } from '../../../functions/composition/local-app.ts';
import { parseConfig } from '../../../functions/config/config.ts';
import type { DoctorCheckId, DoctorReport } from '../../../functions/domain/doctor-check.ts';
import { runDoctor } from '../../../functions/use-cases/admin/run-doctor.ts';
import { CaptureLogger } from '../../support/capture-logger.ts';

let sim: GitHubSimulator;
let stateDir: string;
const webhookSecret = 'c0ffee5e7d1a4b8f9e2c3d4a5b6c7d8e9f0a1b2c';
const webhookUrl = 'http://127.0.0.1:18080/webhook';
const minted: string[] = [];

beforeAll(async () => {
  sim = await startGitHubSimulator({});
  sim.configureWebhook({ url: webhookUrl, secret: webhookSecret });
  stateDir = await mkdtemp(join(tmpdir(), 'jr-doctor-'));
});
afterAll(async () => {
  await sim.close();
  await rm(stateDir, { recursive: true, force: true });
});
afterEach(() => {
  sim.clearAppFault();
  sim.setPermissions({
    actions: 'read',
    administration: 'write',
    metadata: 'read',
    organization_self_hosted_runners: 'write',
  });
});

async function doctor(options: { apiUrl?: string; env?: Record<string, string> } = {}) {
  const config = parseConfig({ env: { STATE_DIR: stateDir, PORT: '0', ...options.env } });
  const logger = new CaptureLogger();
  const report = await runDoctor(
    localDoctorDeps({
      config,
      appId: sim.appId,
      privateKey: sim.privateKey,
      webhookSecrets: [webhookSecret],
      apiUrl: options.apiUrl ?? sim.apiUrl,
      releasesUrl: `${options.apiUrl ?? sim.apiUrl}/repos/actions/runner/releases`,
      expectedWebhook: { url: webhookUrl, source: 'this server' },
      logger,
      onSecret: (value) => minted.push(value),
      defaultRunnerDir: SAMPLE_RUNNER_DIR,
      ranIn: 'process',
      callTimeoutMs: 3_000,
    }),
  );
  return { report, logger };
}

const status = (report: DoctorReport) => Object.fromEntries(report.checks.map((c) => [c.id, c.status]));
const check = (report: DoctorReport, id: DoctorCheckId) => {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
};
/** Every check but `failing` is ok. */
function expectOnly(report: DoctorReport, failing: DoctorCheckId[]) {
  const expected = Object.fromEntries(report.checks.map((c) => [c.id, failing.includes(c.id) ? 'fail' : 'ok']));
  expect(status(report)).toEqual(expected);
}

function expectNoSecret(text: string) {
  expect(text).not.toContain(webhookSecret);
  expect(text).not.toContain('PRIVATE KEY');
  expect(text).not.toContain(sim.privateKey.split('\n')[1]);
  for (const value of minted) expect(text).not.toContain(value);
}

describe('runDoctor against the GitHub simulator', () => {
  it('reports every check ok on a healthy sandbox', async () => {
    const { report, logger } = await doctor();
    expect(report.checks).toHaveLength(9);
    expectOnly(report, []);
    expect(report.counts).toEqual({ ok: 9, warn: 0, fail: 0 });
    expect(check(report, 'app').summary).toContain(`App ${sim.appId} (jit-runners-sandbox)`);
    expect(check(report, 'webhook').summary).toBe(`delivers workflow_job as JSON to this server: ${webhookUrl}`);
    expect(minted.length).toBeGreaterThan(0);
    expectNoSecret(JSON.stringify(report));
    expectNoSecret(logger.text());
  });

  it('fails the app check with the fix when the App key no longer matches (JWTs refused)', async () => {
    sim.setAppFault({ wrongKey: true });
    const { report, logger } = await doctor();
    const app = check(report, 'app');
    expect(app.status).toBe('fail');
    expect(app.summary).toMatch(
      new RegExp(`^the private key does not belong to App ${sim.appId}: GitHub refused its JWT \\(401`),
    );
    expect(app.fix).toMatch(/generate a private key for App \d+/);
    // What needs the App JWT cannot be checked, and says why; everything else still runs and is ok.
    for (const id of ['installations', 'webhook', 'runner-version'] as const) {
      expect(check(report, id).summary).toBe('not checked: GitHub refused the App JWT (see app)');
    }
    expectOnly(report, ['app', 'installations', 'webhook', 'runner-version']);
    expectNoSecret(JSON.stringify(report) + logger.text());
  });

  it('fails the installations check naming the account and permission when one is missing', async () => {
    sim.setPermissions({ actions: 'read', metadata: 'read' });
    const { report } = await doctor();
    const installations = check(report, 'installations');
    expect(installations.summary).toBe('installation on octo-org lacks administration: write');
    expect(installations.fix).toMatch(/Administration: Read and write.*approve the change for octo-org/);
    expectOnly(report, ['installations']);
  });

  it('fails the webhook check showing both URLs when the App delivers elsewhere', async () => {
    sim.setAppFault({ webhookUrl: 'https://hooks.example.com/old/webhook' });
    const { report } = await doctor();
    const webhook = check(report, 'webhook');
    expect(webhook.summary).toBe('the App delivers to another URL than this server');
    expect(webhook.details).toEqual([
      "App's webhook URL: https://hooks.example.com/old/webhook",
      `expected (this server): ${webhookUrl}`,
    ]);
    expect(webhook.fix).toBe(`set the App's webhook URL (App settings → General → Webhook URL) to ${webhookUrl}`);
    expectOnly(report, ['webhook']);
  });

  it("fails the clock check when GitHub's Date is 7 minutes ahead (auth-app corrects the JWTs)", async () => {
    sim.setAppFault({ clockSkewSeconds: 420 });
    const { report } = await doctor();
    const clock = check(report, 'clock');
    expect(clock.summary).toMatch(/^this machine's clock is 4(19|20|21) s behind GitHub's \(±1 s\): more than 5 min$/);
    expect(clock.fix).toMatch(/NTP/);
    expectOnly(report, ['clock']);
  });

  it('warns on the clock check when the skew is beyond 30 s but within 5 min', async () => {
    sim.setAppFault({ clockSkewSeconds: -90 });
    const { report } = await doctor();
    expect(check(report, 'clock').status).toBe('warn');
    expect(check(report, 'clock').summary).toMatch(/ahead of GitHub's/);
  });

  it("fails the runner-version check when a newer release is past GitHub's 30-day cut-off", async () => {
    const stale = await startGitHubSimulator({});
    try {
      stale.configureWebhook({ url: webhookUrl, secret: webhookSecret });
      stale.publishRunnerRelease({ version: '2.331.0', publishedAt: Date.now() - 31 * 86_400_000 });
      const config = parseConfig({ env: { STATE_DIR: stateDir, PORT: '0' } });
      const report = await runDoctor(
        localDoctorDeps({
          config,
          appId: stale.appId,
          privateKey: stale.privateKey,
          webhookSecrets: [webhookSecret],
          apiUrl: stale.apiUrl,
          releasesUrl: `${stale.apiUrl}/repos/actions/runner/releases`,
          expectedWebhook: { url: webhookUrl, source: 'this server' },
          logger: new CaptureLogger(),
          defaultRunnerDir: SAMPLE_RUNNER_DIR,
          ranIn: 'process',
        }),
      );
      const version = check(report, 'runner-version');
      expect(version.summary).toMatch(
        /^runner 2\.330\.0 \(pool default\) passed GitHub's cut-off on \d{4}-\d\d-\d\d, 1 day ago$/,
      );
      expect(version.fix).toBe('set RUNNER_VERSION=auto, or update the pin (pool default) to 2.331.0');
      expectOnly(report, ['runner-version']);
    } finally {
      await stale.close();
    }
  });

  it('fails the runner-dir check with the path when RUNNER_DIR is not a runner folder', async () => {
    const { report } = await doctor({ env: { RUNNER_DIR: stateDir } });
    expect(check(report, 'runner-dir').summary).toBe(
      `RUNNER_DIR: ${stateDir} has no run.sh: it is not an actions runner folder`,
    );
    expectOnly(report, ['runner-dir']);
  });

  it('names the checks GitHub could not answer, without a crash, and still runs the local ones', async () => {
    const closed = await freePort();
    const { report } = await doctor({ apiUrl: `http://127.0.0.1:${closed}` });
    expect(check(report, 'app').summary).toMatch(/^not checked: GET \/app failed: GET \/app failed before an answer/);
    expect(check(report, 'app').fix).toMatch(/GITHUB_API_URL/);
    expect(check(report, 'clock').summary).toMatch(/^not checked: GitHub did not answer/);
    expect(check(report, 'installations').summary).toBe('not checked: GitHub did not answer (see app)');
    expectOnly(report, ['app', 'clock', 'installations', 'webhook', 'runner-version']);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
