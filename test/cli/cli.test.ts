import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script the way npm does (node --import tsx …), from the repository root. */
function run(script: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, ...args],
      { env: { ...process.env, ...env }, timeout: 90_000, cwd: join(import.meta.dirname, '../..') },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const cli = (args: string[], env?: Record<string, string>) => run('functions/cli/main.ts', args, env);

/** Runs `work` over `items` three at a time: each is a Node process with tsx, and the suite shares two cores. */
async function inBatches<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += 3) results.push(...(await Promise.all(items.slice(i, i + 3).map(work))));
  return results;
}

// Each case starts Node processes; on a loaded machine that takes seconds each.
describe('jit-runners CLI', { timeout: 180_000 }, () => {
  let dir: string;
  let trap: Server;
  let requests = 0;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'jr-cli-'));
    // A server on the configured port: a command that connects (demo, baseline, job) would hit it, a
    // command that starts the server could not bind it.
    trap = createServer((_req, res) => {
      requests++;
      res.end('{}');
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    env = {
      PORT: String((trap.address() as AddressInfo).port),
      STATE_DIR: join(dir, 'state'),
      // An invalid configuration: help must not read it.
      LOG_LEVEL: 'LOUD',
    };
  });

  afterAll(async () => {
    await new Promise((r) => trap.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const helps = [
    ['--help'],
    ['-h'],
    ['help'],
    ['help', 'baseline'],
    ['start', '--help'],
    ['start', '-h'],
    ['demo', '--help'],
    ['demo', '--timeout', '5', '-h'],
    ['baseline', '--help'],
    ['baseline', 'list', '--help'],
    ['baseline', 'ensure', '--help'],
    ['job', '--help'],
    ['job', 'show', '--help'],
    ['start', '--bogus', '--help'],
    ['version', '--help'],
    ['version', 'status', '--json', '--help'],
    ['status', '--help'],
    ['jobs', 'list', '--stack', 'JitRunners', '--help'],
    ['runners', '--help'],
    ['dlq', 'redrive', '--all', '--help'],
  ];

  it('prints usage and exits 0 for --help on every command and subcommand, with no side effect', async () => {
    const runs = await inBatches(helps, (args) => cli(args, env));
    runs.forEach((r, i) => {
      expect({ args: helps[i], code: r.code, stderr: r.stderr }).toEqual({ args: helps[i], code: 0, stderr: '' });
      expect(r.stdout).toMatch(/^usage: jit-runners /);
    });
    expect(runs[4]?.stdout).toContain('usage: jit-runners start');
    expect(runs[6]?.stdout).toContain('--timeout SECONDS');
    expect(runs[6]?.stdout).toContain('--pool NAME');
    expect(runs[6]?.stdout).toContain('--labels A,B,...');
    expect(runs[12]?.stdout).toContain('usage: jit-runners job show');
    expect(runs[15]?.stdout).toContain('usage: jit-runners version status [--json]');
    // No server started (it would have created the state directory), no request sent.
    expect(existsSync(env.STATE_DIR as string)).toBe(false);
    expect(requests).toBe(0);
  });

  it('prints the package version with --version', async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'));
    for (const flag of ['--version', '-v']) {
      const r = await cli([flag], env);
      expect(r).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it('answers the same through the npx entry point (bin/jit-runners.mjs)', async () => {
    const { version } = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'));
    const bin = (args: string[]) =>
      new Promise<Run>((resolve) => {
        execFile(
          process.execPath,
          [join(import.meta.dirname, '../../bin/jit-runners.mjs'), ...args],
          { env: { ...process.env, ...env }, timeout: 90_000 },
          (error, stdout, stderr) =>
            resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr }),
        );
      });
    const [v, help, bad] = await Promise.all([bin(['--version']), bin(['start', '--help']), bin(['nope'])]);
    expect(v).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: jit-runners start/);
    expect(bad).toMatchObject({ code: 2, stdout: '' });
    expect(existsSync(env.STATE_DIR as string)).toBe(false);
  });

  it('rejects unknown commands, options and arguments with one line on stderr and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['--bogus'], /unknown option '--bogus'/],
      [['start', '--bogus'], /^jit-runners: start: unknown option '--bogus' \(see jit-runners start --help\)$/],
      [['start', 'now'], /start: unexpected argument 'now'/],
      [['demo', '--timeout'], /demo: option '--timeout <value>' argument missing/],
      [['demo', '--timeout', 'soon'], /demo: --timeout must be a number of seconds/],
      [['demo', '--pool', 'linux-x64', '--labels', 'gpu'], /demo: give --pool or --labels, not both/],
      [['demo', '--labels', ' , '], /demo: --labels needs at least one label/],
      [['job'], /job: missing subcommand/],
      [['job', 'show'], /job show: expected a numeric workflow_job id/],
      [['job', 'show', 'abc'], /job show: expected a numeric workflow_job id, got 'abc'/],
      [['baseline', 'frob'], /baseline: unknown subcommand 'frob'/],
      [['baseline', 'ensure'], /baseline ensure: missing <owner\/repo\|org>/],
      [['baseline', 'list', 'extra'], /baseline list: unexpected argument 'extra'/],
      [['help', 'frob'], /help: unknown command 'frob'/],
      [['version'], /version: missing subcommand \(status\)/],
      [['version', 'show'], /version: unknown subcommand 'show'/],
      [['version', 'status', '--jsn'], /version: unknown option '--jsn'/],
      [['dlq'], /dlq: missing subcommand \(list or redrive\)/],
      [['jobs', 'list', '--limit', 'x'], /jobs list: --limit: expected a whole number from 1 to 1000, got 'x'/],
      [['status', '--stack', 'bad_name!'], /status: --stack: expected a CloudFormation stack name, got 'bad_name!'/],
      [['runners', 'list', '--region', 'mars'], /runners: --region needs --stack NAME/],
    ];
    const runs = await inBatches(cases, ([args]) => cli(args, env));
    runs.forEach((r, i) => {
      const [args, message] = cases[i] as [string[], RegExp];
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: '' });
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    });
    expect(existsSync(env.STATE_DIR as string)).toBe(false);
    expect(requests).toBe(0);
  });

  it('reports an invalid configuration in one line with exit code 2 once the arguments are valid', async () => {
    const r = await cli(['start'], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^jit-runners: invalid configuration: .*LOG_LEVEL/),
    ]);
    expect(existsSync(env.STATE_DIR as string)).toBe(false);
  });
});

describe('npm run bench and npm run soak', { timeout: 180_000 }, () => {
  it('print usage and exit 0 on --help without running anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'jr-bench-'));
    try {
      const outDir = join(dir, 'bundles');
      const [benchHelp, benchShort, soakHelp, soakShort] = await Promise.all([
        run('bench/main.ts', ['--help', '--out-dir', outDir]),
        run('bench/main.ts', ['-h']),
        run('test/soak/main.ts', ['--help']),
        run('test/soak/main.ts', ['kills', '-h']),
      ]);
      for (const r of [benchHelp, benchShort]) {
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^npm run bench/);
        expect(r.stderr).toBe('');
      }
      for (const r of [soakHelp, soakShort]) {
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(/^npm run soak/);
        expect(r.stdout).not.toContain('jit-runners soak:');
        expect(r.stderr).toBe('');
      }
      expect(existsSync(outDir)).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reject unknown options and parts with one line on stderr and exit code 2', async () => {
    const [bench, benchArg, soak, soakPart] = await Promise.all([
      run('bench/main.ts', ['--bogus']),
      run('bench/main.ts', ['extra']),
      run('test/soak/main.ts', ['--bogus']),
      run('test/soak/main.ts', ['load', 'nope']),
    ]);
    for (const r of [bench, benchArg, soak, soakPart]) {
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    }
    expect(bench.stderr).toMatch(/^bench: Unknown option '--bogus'/);
    expect(benchArg.stderr).toMatch(/^bench: Unexpected argument 'extra'/);
    expect(soak.stderr).toMatch(/^soak: Unknown option '--bogus'/);
    expect(soakPart.stderr).toMatch(/^soak: unknown part 'nope'/);
  });
});
