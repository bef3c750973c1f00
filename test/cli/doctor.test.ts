import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalApp, startLocalApp } from '../../functions/composition/local-app.ts';
import { parseConfig } from '../../functions/config/config.ts';
import type { DoctorReport } from '../../functions/domain/doctor-check.ts';
import { CaptureLogger } from '../support/capture-logger.ts';

const ROOT = join(import.meta.dirname, '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'functions/cli/main.ts', ...args],
      { env: { ...process.env, GITHUB_APP_ID: '', ...env }, timeout: 60_000, cwd: ROOT },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

describe('jit-runners doctor', { timeout: 120_000 }, () => {
  let stateDir: string;
  let app: LocalApp;
  let logger: CaptureLogger;
  let env: Record<string, string>;
  const secrets = () => [
    app.sandbox?.webhookSecret ?? 'missing',
    app.simulator?.privateKey.split('\n')[1] ?? 'missing',
  ];

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'jr-doctor-cli-'));
    logger = new CaptureLogger();
    app = await startLocalApp({
      config: parseConfig({ env: { PORT: '0', STATE_DIR: join(stateDir, 'server') } }),
      logger,
      reconcile: false,
    });
    env = { PORT: String(app.port), STATE_DIR: join(stateDir, 'cli') };
  });
  afterAll(async () => {
    await app.close();
    await rm(stateDir, { recursive: true, force: true });
  });

  it('prints every check ok and exits 0 against a healthy sandbox server', async () => {
    const run = await cli(['doctor'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`jit-runners doctor  (checked by the server on http://127.0.0.1:${app.port})`);
    const checks = lines.slice(1, 10);
    expect(checks.map((l) => l.slice(0, 22).trimEnd())).toEqual([
      'ok    app',
      'ok    installations',
      'ok    webhook',
      'ok    secrets',
      'ok    clock',
      'ok    runner-version',
      'ok    allowlist',
      'ok    pools',
      'ok    runner-dir',
    ]);
    expect(lines.at(-1)).toBe('0 failed, 0 warnings, 9 ok');
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
    for (const secret of secrets()) expect(run.stdout).not.toContain(secret);
  });

  it('prints the report as JSON with --json', async () => {
    const run = await cli(['doctor', '--json'], env);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as DoctorReport;
    expect(report.schema).toBe(1);
    expect(report.ranIn).toBe('server');
    expect(report.counts).toEqual({ ok: 9, warn: 0, fail: 0 });
  });

  it('prints the failing checks with their fixes and exits 1 on a wrong webhook URL and a skewed clock', async () => {
    app.simulator?.setAppFault({ webhookUrl: 'https://hooks.example.com/old/webhook', clockSkewSeconds: 400 });
    try {
      const run = await cli(['doctor'], env);
      expect(run.code).toBe(1);
      expect(run.stdout).toContain('fail  webhook         the App delivers to another URL than this server\n');
      expect(run.stdout).toContain("App's webhook URL: https://hooks.example.com/old/webhook");
      expect(run.stdout).toContain(`expected (this server): http://127.0.0.1:${app.port}/webhook`);
      expect(run.stdout).toMatch(/fail {2}clock {11}this machine's clock is 40\d s behind GitHub's/);
      expect(run.stdout).toMatch(/fix: synchronise the clock with NTP/);
      expect(run.stdout.trimEnd().split('\n').at(-1)).toBe('2 failed, 0 warnings, 7 ok: fix the failed checks above');
      for (const line of run.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(100);
      const json = await cli(['doctor', '--json'], env);
      expect(json.code).toBe(1);
      expect((JSON.parse(json.stdout) as DoctorReport).counts.fail).toBe(2);
      for (const secret of secrets()) expect(run.stdout + json.stdout + logger.text()).not.toContain(secret);
    } finally {
      app.simulator?.clearAppFault();
    }
  });

  it('compares with --webhook-url when given', async () => {
    const run = await cli(['doctor', '--webhook-url', 'https://runners.example.com/webhook'], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('the App delivers to another URL than --webhook-url');
  });

  it('says to start the server when no server answers in sandbox mode (exit 1)', async () => {
    const run = await cli(['doctor'], { ...env, PORT: String(await freePort()) });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^jit-runners: no server answers on http:\/\/127\.0\.0\.1:\d+; .*start it with npm start/,
    );
  });

  it('refuses a --webhook-url that is not a URL (exit 2)', async () => {
    const run = await cli(['doctor', '--webhook-url', 'not a url'], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--webhook-url must be a URL/);
  });
});

describe('npm start runs the doctor', { timeout: 120_000 }, () => {
  let child: ChildProcess | undefined;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'jr-doctor-start-'));
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('prints a failing check in one line on stderr and keeps serving (RUNNER_DIR not a runner folder)', async () => {
    const runnerDir = join(dir, 'not-a-runner');
    await mkdir(runnerDir);
    const port = await freePort();
    child = spawn(process.execPath, ['--import', 'tsx', 'functions/cli/main.ts', 'start'], {
      cwd: ROOT,
      env: {
        ...process.env,
        GITHUB_APP_ID: '',
        PORT: String(port),
        STATE_DIR: join(dir, 'state'),
        RUNNER_DIR: runnerDir,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no doctor line within 60 s; stderr: ${stderr}`)), 60_000);
      child?.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const found = stderr.split('\n').find((l) => l.startsWith('jit-runners doctor: fail runner-dir:'));
        if (found !== undefined && stderr.includes('jit-runners doctor: run jit-runners doctor')) {
          clearTimeout(timer);
          resolve(found);
        }
      });
    });
    expect(line).toBe(
      `jit-runners doctor: fail runner-dir: RUNNER_DIR: ${runnerDir} has no run.sh: it is not an actions runner folder; fix: extract actions-runner-linux-<arch>-<version>.tar.gz into ${runnerDir}, or point RUNNER_DIR at such a folder`,
    );
    // Only the failing check is printed, each in one line; the server still answers.
    const doctorLines = stderr.split('\n').filter((l) => l.startsWith('jit-runners doctor:'));
    expect(doctorLines).toEqual([line, 'jit-runners doctor: run jit-runners doctor for the details']);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    expect(stdout).toContain('jit-runners listening on');
    expect(stderr + stdout).not.toContain('PRIVATE KEY');
  });
});
