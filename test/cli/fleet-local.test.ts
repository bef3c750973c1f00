import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BaselineView, FleetStatus, JobView, RunnerView } from '../../functions/use-cases/admin/fleet-view.ts';
import type { VersionStatus } from '../../functions/use-cases/admin/version-status.ts';
import { type Harness, startHarness } from '../support/local-harness.ts';

/**
 * Every operator command against a running sandbox server, the way a person runs it: `jit-runners …` as a
 * process (node --import tsx functions/cli/main.ts) on the server's PORT, in text and with --json.
 */

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

let h: Harness;
let jobId: number;

function cli(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'functions/cli/main.ts', ...args],
      {
        env: { ...process.env, PORT: String(h.app.port), STATE_DIR: h.stateDir },
        timeout: 90_000,
        cwd: join(import.meta.dirname, '../..'),
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
    );
  });
}

/** Three processes at a time: each is Node with tsx, and the suite shares two cores. */
async function all(commands: string[][]): Promise<Run[]> {
  const runs: Run[] = [];
  for (let i = 0; i < commands.length; i += 3) runs.push(...(await Promise.all(commands.slice(i, i + 3).map(cli))));
  return runs;
}

const longLines = (text: string) => text.split('\n').filter((line) => line.length > 100);

describe('jit-runners operator commands against the local server', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    h = await startHarness();
    ({ jobId } = await h.queue({ owner: 'octo-org', repo: 'octo-repo' }));
    await h.waitForStatus(jobId, 'completed', 30_000);
  }, 60_000);

  afterAll(async () => {
    await h?.close({ removeState: true });
  });

  it('status, jobs list, job show, runners list: text within 100 columns, and the same views as --json', async () => {
    const [status, statusJson, jobs, jobsJson, show, showJson, runners, runnersJson, filtered, pinned, canary] =
      await all([
        ['status'],
        ['status', '--json'],
        ['jobs', 'list'],
        ['jobs', 'list', '--json', '--status', 'completed', '--repo', 'octo-org'],
        ['job', 'show', String(jobId)],
        ['job', 'show', String(jobId), '--json'],
        ['runners', 'list'],
        ['runners', 'list', '--json'],
        ['jobs', 'list', '--status', 'failed', '--since', '1h'],
        ['jobs', 'list', '--json', '--version-role', 'pinned'],
        ['jobs', 'list', '--version-role', 'canary'],
      ]);
    for (const r of [
      status,
      statusJson,
      jobs,
      jobsJson,
      show,
      showJson,
      runners,
      runnersJson,
      filtered,
      pinned,
      canary,
    ])
      expect({ code: r?.code, stderr: r?.stderr }).toEqual({ code: 0, stderr: '' });
    // Text fits 100 columns (a job's history notes wrap under themselves).
    for (const r of [status, jobs, show, runners, filtered]) expect(longLines(r?.stdout ?? '')).toEqual([]);
    expect(status?.stdout).toMatch(new RegExp(`^fleet of the server on http://127\\.0\\.0\\.1:${h.app.port} at `));
    expect(status?.stdout).toMatch(/^default\s+local\s+0\s+0\s+0\s+self-hosted,linux,x64$/m);
    expect(status?.stdout).toContain('jobs:      0 open; last 24 h: 1 completed, 0 failed');
    const s = JSON.parse(statusJson?.stdout ?? '') as FleetStatus;
    expect(s.jobs.endedRecently).toEqual({ completed: 1, failed: 0 });
    expect(s.pools.map((p) => p.name)).toEqual(['default']);

    expect(jobs?.stdout).toMatch(new RegExp(`^${jobId}\\s+octo-org/octo-repo\\s+default\\s+completed\\s+1\\s+`, 'm'));
    expect((JSON.parse(jobsJson?.stdout ?? '') as JobView[]).map((j) => [j.jobId, j.status])).toEqual([
      [jobId, 'completed'],
    ]);
    expect(filtered?.stdout).toBe('no jobs match\n');
    // An exact pin: the job's runner got the pinned version, and no job ran a canary.
    expect((JSON.parse(pinned?.stdout ?? '') as JobView[]).map((j) => j.jobId)).toEqual([jobId]);
    expect(canary?.stdout).toBe('no jobs match\n');

    expect(show?.stdout).toMatch(
      new RegExp(`^job ${jobId} {2}octo-org/octo-repo {2}status completed\\n {2}pool: default\\n`),
    );
    expect(show?.stdout).toContain('  history:\n');
    expect(show?.stdout).toMatch(/^ {2}runner version: \d+\.\d+\.\d+ \(pinned\)$/m);
    const job = JSON.parse(showJson?.stdout ?? '') as JobView;
    expect(job).toMatchObject({
      jobId,
      repo: 'octo-org/octo-repo',
      status: 'completed',
      pool: 'default',
      runnerVersionRole: 'pinned',
    });
    expect(job.history.at(-1)?.status).toBe('completed');

    expect(runners?.stdout).toBe('no runners alive\n');
    expect(JSON.parse(runnersJson?.stdout ?? '') as RunnerView[]).toEqual([]);
  });

  it('baseline ensure and list, version status, dlq list and redrive (no queue locally: one line, exit 0)', async () => {
    const [ensure] = await all([['baseline', 'ensure', 'octo-org/octo-repo']]);
    expect({ code: ensure?.code, stderr: ensure?.stderr }).toEqual({ code: 0, stderr: '' });
    expect(ensure?.stdout).toMatch(/^ensuring a baseline for octo-org\/octo-repo \(up to \d+ s\)\.\.\.\n/);
    expect(ensure?.stdout).toMatch(/(baseline recorded for|already has a baseline)/);
    const [list, listJson, version, versionJson, dlq, dlqJson, redrive, missing] = await all([
      ['baseline', 'list'],
      ['baseline', 'list', '--json'],
      ['version', 'status'],
      ['version', 'status', '--json'],
      ['dlq', 'list'],
      ['dlq', 'list', '--json'],
      ['dlq', 'redrive', '--all'],
      ['job', 'show', '999999999'],
    ]);
    expect(list?.stdout).toMatch(/^octo-org\/octo-repo\s+present\s+/m);
    expect((JSON.parse(listJson?.stdout ?? '') as BaselineView[]).map((b) => [b.scope, b.state])).toContainEqual([
      'octo-org/octo-repo',
      'present',
    ]);
    expect(version?.stdout).toMatch(/^runner version: pinned /);
    expect((JSON.parse(versionJson?.stdout ?? '') as VersionStatus).schema).toBe(1);
    const note =
      'local mode has no dead-letter queue: a failed provisioning stays open and the reconciler retries it; jobs whose attempts ran out are failed: jit-runners jobs list --status failed';
    // One note, wrapped within 100 columns in text; whole in JSON.
    expect(dlq).toMatchObject({ code: 0, stderr: '' });
    expect(dlq?.stdout.replaceAll('\n', ' ').trim()).toBe(note);
    expect(longLines(dlq?.stdout ?? '')).toEqual([]);
    expect(JSON.parse(dlqJson?.stdout ?? '')).toEqual({ messages: [], note });
    expect(redrive).toEqual(dlq);
    expect(missing).toEqual({
      code: 1,
      stdout: '',
      stderr: `jit-runners: job 999999999 is not recorded in the server on http://127.0.0.1:${h.app.port} (jit-runners jobs list shows the recent ones)\n`,
    });
  });

  it('refuses bad options before connecting (exit 2), and says how to start a server when none answers (exit 1)', async () => {
    const runs = await all([
      ['jobs', 'list', '--status', 'done'],
      ['jobs', 'list', '--since', 'yesterday'],
      ['jobs', 'list', '--limit', '0'],
      ['jobs', 'list', '--version-role', 'beta'],
      ['dlq', 'redrive'],
      ['dlq', 'redrive', '7', '--all'],
      ['status', '--region', 'eu-west-1'],
      ['runners'],
    ]);
    const messages = [
      /^jit-runners: jobs list: --status: unknown job status 'done' \(one of /,
      /^jit-runners: jobs list: --since: expected a duration \(30m, 6h, 2d\) or an ISO 8601 time, got 'yesterday'/,
      /^jit-runners: jobs list: --limit: expected a whole number from 1 to 1000, got '0'/,
      /^jit-runners: jobs list: --version-role: expected one of current, canary, previous, fallback, pinned, got 'beta'/,
      /^jit-runners: dlq redrive: give the job ids to redrive, or --all/,
      /^jit-runners: dlq redrive: give job ids or --all, not both/,
      /^jit-runners: status: --region needs --stack NAME|^jit-runners: --region needs --stack NAME/,
      /^jit-runners: runners: missing subcommand \(list\)/,
    ];
    runs.forEach((r, i) => {
      expect({ i, code: r.code, stdout: r.stdout }).toEqual({ i, code: 2, stdout: '' });
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(messages[i] as RegExp);
    });
    const none = await new Promise<Run>((resolve) =>
      execFile(
        process.execPath,
        ['--import', 'tsx', 'functions/cli/main.ts', 'status'],
        { env: { ...process.env, PORT: '1' }, timeout: 60_000, cwd: join(import.meta.dirname, '../..') },
        (error, stdout, stderr) =>
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
      ),
    );
    expect(none).toEqual({
      code: 1,
      stdout: '',
      stderr:
        'jit-runners: no server answers on http://127.0.0.1:1; start it with npm start (or set PORT), or pass --stack NAME for a deployed stack\n',
    });
  });
});
