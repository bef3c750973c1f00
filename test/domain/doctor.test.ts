import { describe, expect, it } from 'vitest';
import { evaluateClock } from '../../functions/domain/doctor/clock.ts';
import {
  coveredBy,
  evaluateAllowlist,
  evaluatePools,
  evaluateRunnerFolders,
  type RunnerFolderFacts,
} from '../../functions/domain/doctor/fleet.ts';
import {
  evaluateAppIdentity,
  evaluateInstallations,
  evaluateWebhook,
  type HookConfigFacts,
  type InstallationFacts,
} from '../../functions/domain/doctor/github-app.ts';
import { evaluateRunnerVersions } from '../../functions/domain/doctor/runner-version.ts';
import { evaluateSecrets, type SecretFacts } from '../../functions/domain/doctor/secrets.ts';
import { checkFrom, doctorExitCode, doctorReport, finding, notChecked } from '../../functions/domain/doctor-check.ts';
import type { RunnerRelease } from '../../functions/domain/release-checksums.ts';
import type { RunnerPool } from '../../functions/domain/runner-pool.ts';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.parse('2026-06-01T12:00:00Z');

const app = { id: 42, slug: 'jit-runners', name: 'jit-runners', events: ['workflow_job'] };
const installation = (overrides: Partial<InstallationFacts> = {}): InstallationFacts => ({
  id: 7,
  account: 'octo-org',
  accountType: 'Organization',
  permissions: { administration: 'write', actions: 'read', metadata: 'read' },
  repositorySelection: 'all',
  suspended: false,
  ...overrides,
});
const hook = (overrides: Partial<HookConfigFacts> = {}): HookConfigFacts => ({
  url: 'https://runners.example.com/webhook',
  contentType: 'json',
  insecureSsl: '0',
  secretSet: true,
  ...overrides,
});
const release = (version: string, publishedAt: number): RunnerRelease => ({
  version,
  publishedAt,
  prerelease: false,
  draft: false,
  checksums: {},
});
const pool = (name: string, labels: string[]): RunnerPool => ({ name, labels, launcher: 'local' });
const PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n-----END RSA PRIVATE KEY-----\n';
const secrets = (overrides: Partial<SecretFacts> = {}): SecretFacts => ({
  privateKey: PEM,
  privateKeySource: 'GITHUB_APP_PRIVATE_KEY_FILE',
  webhookSecrets: ['9f2c4e6a8b0d1f3e5a7c9e1b3d5f7a9c'],
  webhookSecretSource: 'GITHUB_WEBHOOK_SECRET',
  ...overrides,
});

describe('doctor checks (domain)', () => {
  describe('checkFrom', () => {
    it('is ok with the ok summary when no finding is warn or fail', () => {
      const check = checkFrom('pools', [finding('ok', 'fine')], 'all good', ['looked at 2']);
      expect(check).toEqual({ id: 'pools', status: 'ok', summary: 'all good', details: ['looked at 2'] });
    });

    it('takes the worst finding as summary and fix, and lists the others as details', () => {
      const check = checkFrom(
        'webhook',
        [finding('warn', 'minor', 'do a'), finding('fail', 'major', 'do b'), finding('warn', 'other')],
        'unused',
      );
      expect(check.status).toBe('fail');
      expect(check.summary).toBe('major');
      expect(check.fix).toBe('do b');
      expect(check.details).toEqual(['warn: minor (fix: do a)', 'warn: other']);
    });
  });

  describe('doctorReport', () => {
    it('orders the checks, counts them, and exits 1 only when one failed', () => {
      const report = doctorReport(
        [
          checkFrom('pools', [], 'ok'),
          notChecked('app', 'GitHub did not answer'),
          checkFrom('clock', [finding('warn', 'w')], ''),
        ],
        'server',
        NOW,
      );
      expect(report.checks.map((c) => c.id)).toEqual(['app', 'clock', 'pools']);
      expect(report.counts).toEqual({ ok: 1, warn: 1, fail: 1 });
      expect(report.at).toBe('2026-06-01T12:00:00.000Z');
      expect(doctorExitCode(report)).toBe(1);
      expect(doctorExitCode({ counts: { ok: 3, warn: 2, fail: 0 } })).toBe(0);
    });
  });

  describe('evaluateAppIdentity', () => {
    it('is ok when GET /app answered the configured App', () => {
      expect(evaluateAppIdentity({ kind: 'app', app }, 42).status).toBe('ok');
    });

    it('fails naming the App when the JWT is refused with 401', () => {
      const check = evaluateAppIdentity(
        { kind: 'refused', status: 401, message: 'A JSON web token could not be decoded' },
        42,
      );
      expect(check.status).toBe('fail');
      expect(check.summary).toMatch(/^the private key does not belong to App 42/);
      expect(check.fix).toMatch(/generate a private key for App 42/);
    });

    it('fails when the key belongs to another App than GITHUB_APP_ID', () => {
      const check = evaluateAppIdentity({ kind: 'app', app }, 43);
      expect(check.status).toBe('fail');
      expect(check.fix).toContain('GITHUB_APP_ID=42');
    });
  });

  describe('evaluateInstallations', () => {
    it('is ok when every installation grants administration: write and actions: read (repo scope)', () => {
      expect(evaluateInstallations([installation()], 'repo').status).toBe('ok');
    });

    it('fails naming the account and the permission when one is missing', () => {
      const check = evaluateInstallations(
        [installation(), installation({ account: 'other', permissions: { actions: 'read' } })],
        'repo',
      );
      expect(check.status).toBe('fail');
      expect(check.summary).toBe('installation on other lacks administration: write');
      expect(check.fix).toMatch(/Administration: Read and write.*approve the change for other/);
    });

    it('needs organization_self_hosted_runners: write for org scope', () => {
      const check = evaluateInstallations([installation()], 'org');
      expect(check.summary).toBe('installation on octo-org lacks organization_self_hosted_runners: write');
      const ok = evaluateInstallations(
        [installation({ permissions: { organization_self_hosted_runners: 'write', actions: 'write' } })],
        'org',
      );
      expect(ok.status).toBe('ok');
    });

    it('fails when a permission is granted read only where write is needed', () => {
      const check = evaluateInstallations(
        [installation({ permissions: { administration: 'read', actions: 'read' } })],
        'repo',
      );
      expect(check.summary).toBe('installation on octo-org lacks administration: write (has read)');
    });

    it('fails when the App is installed nowhere', () => {
      const check = evaluateInstallations([], 'repo');
      expect(check.status).toBe('fail');
      expect(check.summary).toMatch(/installed nowhere/);
    });

    it('warns on a suspended installation', () => {
      expect(evaluateInstallations([installation({ suspended: true })], 'repo').status).toBe('warn');
    });
  });

  describe('evaluateWebhook', () => {
    const expected = { url: 'https://runners.example.com/webhook', source: 'this server' };

    it('is ok for the expected URL (trailing slash and case aside), JSON, workflow_job', () => {
      expect(
        evaluateWebhook(hook({ url: 'https://Runners.example.com/webhook/' }), ['workflow_job'], expected).status,
      ).toBe('ok');
    });

    it('fails on another URL and shows both', () => {
      const check = evaluateWebhook(hook({ url: 'https://old.example.com/webhook' }), ['workflow_job'], expected);
      expect(check.status).toBe('fail');
      expect(check.details).toEqual([
        "App's webhook URL: https://old.example.com/webhook",
        'expected (this server): https://runners.example.com/webhook',
      ]);
      expect(check.fix).toContain('to https://runners.example.com/webhook');
    });

    it("fails on the manifest's placeholder URL, a form content type, no secret and no workflow_job", () => {
      const placeholder = hook({ url: 'https://replace-with-the-WebhookUrl-stack-output.invalid/' });
      expect(evaluateWebhook(placeholder, ['workflow_job'], { url: undefined, source: '' }).summary).toMatch(
        /placeholder/,
      );
      expect(evaluateWebhook(hook({ contentType: 'form' }), ['workflow_job'], expected).summary).toMatch(
        /content type is form/,
      );
      expect(evaluateWebhook(hook({ secretSet: false }), ['workflow_job'], expected).summary).toMatch(/no secret/);
      expect(evaluateWebhook(hook(), ['push'], expected).summary).toMatch(/not subscribed to workflow_job/);
    });

    it('warns on a loopback URL and notes that nothing was compared when no URL is expected', () => {
      const none = { url: undefined, source: 'this server' };
      expect(evaluateWebhook(hook({ url: 'http://127.0.0.1:8080/webhook' }), ['workflow_job'], none).status).toBe(
        'warn',
      );
      const ok = evaluateWebhook(hook(), ['workflow_job'], none);
      expect(ok.status).toBe('ok');
      expect(ok.details[0]).toMatch(/--webhook-url/);
    });
  });

  describe('evaluateSecrets', () => {
    it('is ok for a PEM key and a random webhook secret', () => {
      expect(evaluateSecrets(secrets()).status).toBe('ok');
    });

    it("fails on the stack's generated placeholders, and never prints a value", () => {
      const generated = 'aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY';
      const check = evaluateSecrets(
        secrets({ privateKey: generated, webhookSecrets: ['Zy8Xw6Vu4Ts2Rq0Po8Nm6Lk4Ji2Hg0Fe'] }),
      );
      expect(check.status).toBe('fail');
      expect(check.summary).toMatch(/private key is still the stack's generated placeholder/);
      expect(check.details.join('\n')).toMatch(
        /fail: the webhook secret has the shape of the stack's generated placeholder/,
      );
      expect(JSON.stringify(check)).not.toContain(generated);
    });

    it('fails on an obvious placeholder webhook secret and warns on a short one', () => {
      expect(evaluateSecrets(secrets({ webhookSecrets: ['changeme'] })).status).toBe('fail');
      expect(evaluateSecrets(secrets({ webhookSecrets: ['s3cr3t-value'] })).status).toBe('warn');
    });

    it('fails without a key or a webhook secret', () => {
      expect(evaluateSecrets(secrets({ privateKey: undefined })).summary).toMatch(/no App private key/);
      expect(evaluateSecrets(secrets({ webhookSecrets: [] })).summary).toMatch(/no webhook secret/);
    });

    it("fails when GitHub's newest delivery was refused with 401", () => {
      const check = evaluateSecrets(
        secrets({ newestDelivery: { guid: 'g-1', deliveredAt: '2026-06-01T11:00:00Z', statusCode: 401 } }),
      );
      expect(check.status).toBe('fail');
      expect(check.summary).toMatch(/refused with 401: GitHub signs with another secret/);
    });
  });

  describe('evaluateClock', () => {
    it('is ok within 30 s, warns beyond, fails beyond 5 min', () => {
      expect(evaluateClock({ skewMs: 400, uncertaintyMs: 600 }).status).toBe('ok');
      expect(evaluateClock({ skewMs: 29_000, uncertaintyMs: 600 }).status).toBe('ok');
      expect(evaluateClock({ skewMs: -45_000, uncertaintyMs: 600 }).status).toBe('warn');
      const fail = evaluateClock({ skewMs: 420_000, uncertaintyMs: 600 });
      expect(fail.status).toBe('fail');
      expect(fail.summary).toBe("this machine's clock is 420 s behind GitHub's (±1 s): more than 5 min");
      expect(fail.fix).toMatch(/NTP/);
    });
  });

  describe('evaluateRunnerVersions', () => {
    const pinned = [{ version: '2.330.0', usedBy: ['pool default'], tracked: false }];

    it('is ok when the running version is the latest release', () => {
      const check = evaluateRunnerVersions({
        versions: pinned,
        releases: [release('2.330.0', NOW - 10 * DAY)],
        now: NOW,
      });
      expect(check.status).toBe('ok');
      expect(check.summary).toBe('runs 2.330.0; latest release 2.330.0 (2026-05-22)');
    });

    it("warns within 7 days of GitHub's cut-off and fails past it, with the fix for a pin", () => {
      const warn = evaluateRunnerVersions({
        versions: pinned,
        releases: [release('2.331.0', NOW - 25 * DAY), release('2.330.0', NOW - 60 * DAY)],
        now: NOW,
      });
      expect(warn.status).toBe('warn');
      expect(warn.summary).toMatch(/reaches GitHub's cut-off on 2026-06-06, in 5 days/);
      const fail = evaluateRunnerVersions({
        versions: pinned,
        releases: [release('2.331.0', NOW - 31 * DAY)],
        now: NOW,
      });
      expect(fail.status).toBe('fail');
      expect(fail.fix).toBe('set RUNNER_VERSION=auto, or update the pin (pool default) to 2.331.0');
    });

    it('only warns for a fallback version past its cut-off', () => {
      const check = evaluateRunnerVersions({
        versions: [
          { version: '2.331.0', usedBy: ['pool default'], tracked: false },
          { version: '2.329.0', usedBy: ['RUNNER_FALLBACK_VERSION'], tracked: false, fallback: true },
        ],
        releases: [release('2.331.0', NOW - 5 * DAY), release('2.330.0', NOW - 40 * DAY)],
        now: NOW,
      });
      expect(check.status).toBe('warn');
      expect(check.fix).toMatch(/RUNNER_FALLBACK_VERSION/);
    });
  });

  describe('evaluateAllowlist', () => {
    const installs = [
      { account: 'octo-org', repositorySelection: 'all' as const },
      { account: 'solo', repositorySelection: 'selected' as const, repositories: ['solo/app'] },
    ];

    it('is ok when empty or when every entry is covered', () => {
      expect(evaluateAllowlist([], []).status).toBe('ok');
      const entries = ['octo-org/*', 'octo-org/web', 'solo/app', 'Solo/*'].map((entry) => ({
        variable: 'REPO_ALLOWLIST',
        entry,
      }));
      expect(evaluateAllowlist(entries, installs).status).toBe('ok');
    });

    it('warns for an entry no installation covers', () => {
      const check = evaluateAllowlist(
        [
          { variable: 'REPO_ALLOWLIST', entry: 'solo/other' },
          { variable: 'DISCOVER_QUEUED_JOBS', entry: 'stranger/repo' },
        ],
        installs,
      );
      expect(check.status).toBe('warn');
      expect(check.summary).toBe('REPO_ALLOWLIST entry solo/other: no installation of the App covers it');
      expect(check.details[0]).toMatch(/DISCOVER_QUEUED_JOBS entry stranger\/repo/);
      expect(coveredBy('octo-org/anything', installs)).toBe(true);
    });
  });

  describe('evaluatePools', () => {
    it('is ok for pools that differ by architecture, and for a pool extending an earlier one', () => {
      expect(
        evaluatePools([pool('x64', ['self-hosted', 'linux', 'x64']), pool('arm64', ['self-hosted', 'linux', 'arm64'])])
          .status,
      ).toBe('ok');
      expect(
        evaluatePools([
          pool('x64', ['self-hosted', 'linux', 'x64']),
          pool('gpu', ['self-hosted', 'linux', 'x64', 'gpu']),
        ]).status,
      ).toBe('ok');
    });

    it('warns on a pool an earlier one shadows', () => {
      const check = evaluatePools([
        pool('big', ['self-hosted', 'linux', 'x64', 'gpu']),
        pool('small', ['self-hosted', 'x64']),
      ]);
      expect(check.status).toBe('warn');
      expect(check.summary).toBe('pool small can never be chosen: big (listed earlier) covers all its labels');
    });

    it('warns on two pools sharing labels beyond the common ones', () => {
      const check = evaluatePools([
        pool('gpu', ['self-hosted', 'linux', 'x64', 'gpu']),
        pool('docker', ['self-hosted', 'linux', 'x64', 'docker']),
      ]);
      expect(check.status).toBe('warn');
      expect(check.summary).toBe(
        'pools gpu and docker overlap: a job asking for [self-hosted, linux, x64] lands in gpu',
      );
    });
  });

  describe('evaluateRunnerFolders', () => {
    const folder = (overrides: Partial<RunnerFolderFacts> = {}): RunnerFolderFacts => ({
      path: '/opt/runner',
      usedBy: ['RUNNER_DIR'],
      kind: 'directory',
      scripts: { 'config.sh': 'ok', 'run.sh': 'ok' },
      ...overrides,
    });

    it('is ok for a folder with executable config.sh and run.sh', () => {
      expect(evaluateRunnerFolders([folder()], false).status).toBe('ok');
    });

    it('fails with the path for a missing folder or a missing run.sh', () => {
      const missing = evaluateRunnerFolders([folder({ kind: 'missing' })], false);
      expect(missing.summary).toBe('RUNNER_DIR: /opt/runner does not exist');
      const noRun = evaluateRunnerFolders([folder({ scripts: { 'config.sh': 'ok', 'run.sh': 'missing' } })], false);
      expect(noRun.status).toBe('fail');
      expect(noRun.summary).toBe('RUNNER_DIR: /opt/runner has no run.sh: it is not an actions runner folder');
    });

    it('only warns for a missing config.sh under BASELINE_POLICY=off, and says chmod for a non-executable script', () => {
      const off = evaluateRunnerFolders([folder({ scripts: { 'config.sh': 'missing', 'run.sh': 'ok' } })], true);
      expect(off.status).toBe('warn');
      const chmod = evaluateRunnerFolders(
        [folder({ scripts: { 'config.sh': 'ok', 'run.sh': 'not-executable' } })],
        false,
      );
      expect(chmod.fix).toBe('chmod +x /opt/runner/run.sh');
    });
  });
});
