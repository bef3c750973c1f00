import { chmod, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigScriptError } from '../../../functions/adapters/local/config-script-error.ts';
import {
  createLocalLauncher,
  type LocalLauncher,
  type LocalLauncherOptions,
  localLaunchId,
  parseLocalLaunchId,
  type RunnerExitEvent,
  type RunnerLineEvent,
} from '../../../functions/adapters/local/local-launcher.ts';
import { PID_FILE_NAME, type PidRecord } from '../../../functions/adapters/local/process-table.ts';
import {
  LaunchConfigError,
  LauncherError,
  type LaunchRequest,
  type RegularRunnerRequest,
} from '../../../functions/ports/launcher.ts';
import {
  fileExists,
  isProcessGone,
  makeSandbox,
  parseEnvDump,
  readOut,
  type Sandbox,
  waitUntil,
  writeScript,
} from './fake-runner.ts';

const JIT_CONFIG = 'eyJqaXQiOiJzdXBlci1zZWNyZXQtaml0LWNvbmZpZyJ9';
const REGISTRATION_TOKEN = 'AABBCCDDEEREGISTRATIONTOKEN0123';

function jitRequest(runnerName: string, overrides: Partial<LaunchRequest> = {}): LaunchRequest {
  return {
    runnerName,
    jobId: 42,
    attempt: 1,
    scopeKey: 'octo/hello',
    labels: ['self-hosted', 'linux', 'x64'],
    runnerVersion: '2.330.0',
    encodedJitConfig: JIT_CONFIG,
    ...overrides,
  };
}

function regularRequest(runnerName: string): RegularRunnerRequest {
  return {
    runnerName,
    scopeKey: 'octo/hello',
    url: 'https://github.example/octo/hello',
    registrationToken: REGISTRATION_TOKEN,
    labels: ['jit-runners-baseline-abc', 'linux'],
    runnerVersion: '2.330.0',
  };
}

interface Recorder {
  lines: RunnerLineEvent[];
  exits: RunnerExitEvent[];
  onLine: (event: RunnerLineEvent) => void;
  onExit: (event: RunnerExitEvent) => void;
}

function recorder(): Recorder {
  const lines: RunnerLineEvent[] = [];
  const exits: RunnerExitEvent[] = [];
  return { lines, exits, onLine: (e) => lines.push(e), onExit: (e) => exits.push(e) };
}

const linesOf = (rec: Recorder, source?: RunnerLineEvent['source']) =>
  rec.lines.filter((l) => source === undefined || l.source === source).map((l) => l.line);

let sandbox: Sandbox;
const launchers: LocalLauncher[] = [];

function launcher(rec: Recorder, options: Partial<LocalLauncherOptions> = {}): LocalLauncher {
  const created = createLocalLauncher({
    runnerDir: sandbox.runnerDir,
    workRoot: sandbox.workRoot,
    env: { OUT_DIR: sandbox.outDir },
    pollIntervalMs: 20,
    onLine: rec.onLine,
    onExit: rec.onExit,
    ...options,
  });
  launchers.push(created);
  return created;
}

beforeEach(async () => {
  sandbox = await makeSandbox();
});

afterEach(async () => {
  await Promise.all(launchers.splice(0).map((l) => l.close()));
  await sandbox.cleanup();
});

describe('localLaunchId', () => {
  it('is local:<runnerName> and parses back', () => {
    expect(localLaunchId('jr-42-1')).toBe('local:jr-42-1');
    expect(parseLocalLaunchId('local:jr-42-1')).toBe('jr-42-1');
  });

  it('rejects ids of other launchers and names that would escape the work root', () => {
    expect(() => parseLocalLaunchId('build:abc')).toThrow(LaunchConfigError);
    expect(() => parseLocalLaunchId('local:../etc')).toThrow(LaunchConfigError);
    expect(() => parseLocalLaunchId('local:a/b')).toThrow(LaunchConfigError);
  });
});

describe('createLocalLauncher', () => {
  it('refuses extra env variables that look like credentials, naming the variable only', () => {
    for (const name of ['AWS_SECRET_ACCESS_KEY', 'GITHUB_APP_PRIVATE_KEY', 'GITHUB_WEBHOOK_SECRET', 'GH_TOKEN']) {
      expect(() =>
        createLocalLauncher({ runnerDir: sandbox.runnerDir, workRoot: sandbox.workRoot, env: { [name]: 'hunter2' } }),
      ).toThrow(new RegExp(name));
    }
    try {
      createLocalLauncher({ runnerDir: sandbox.runnerDir, workRoot: sandbox.workRoot, env: { MY_TOKEN: 'hunter2' } });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(LaunchConfigError);
      expect(String(error)).not.toContain('hunter2');
    }
  });

  it('refuses a work root inside the runner directory (the copy would copy itself)', () => {
    expect(() =>
      createLocalLauncher({ runnerDir: sandbox.runnerDir, workRoot: join(sandbox.runnerDir, 'runners') }),
    ).toThrow(LaunchConfigError);
  });
});

describe('LocalLauncher pools (poolRunnerDirs)', () => {
  it("copies the pool's own runner folder for a request naming the pool, RUNNER_DIR for any other", async () => {
    const armDir = join(sandbox.root, 'runner-arm64');
    await mkdir(armDir);
    await writeScript(sandbox.runnerDir, 'run.sh', 'echo default > "$OUT_DIR/$(basename "$PWD").from"');
    await writeScript(armDir, 'run.sh', 'echo arm64 > "$OUT_DIR/$(basename "$PWD").from"');
    await writeScript(armDir, 'config.sh', 'exit 0');
    const rec = recorder();
    const local = launcher(rec, { poolRunnerDirs: { arm64: armDir } });

    await local.launch(jitRequest('jr-1-1', { pool: 'arm64' }));
    await local.launch(jitRequest('jr-2-1', { pool: 'x64' }));
    await local.launch(jitRequest('jr-3-1'));
    await local.launchRegular({ ...regularRequest('jr-baseline-a'), pool: 'arm64' });
    await waitUntil('four exits', () => rec.exits.length === 4);

    expect(await readOut(sandbox, 'jr-1-1.from')).toBe('arm64\n');
    expect(await readOut(sandbox, 'jr-2-1.from')).toBe('default\n');
    expect(await readOut(sandbox, 'jr-3-1.from')).toBe('default\n');
    expect(await readOut(sandbox, 'jr-baseline-a.from')).toBe('arm64\n');
  });

  it("refuses a work root inside a pool's runner folder", () => {
    expect(() =>
      createLocalLauncher({
        runnerDir: sandbox.runnerDir,
        poolRunnerDirs: { arm64: sandbox.root },
        workRoot: sandbox.workRoot,
      }),
    ).toThrow(LaunchConfigError);
  });
});

describe('LocalLauncher.launch', () => {
  it('runs each runner in a fresh copy of the runner directory, without a configured identity', async () => {
    await writeScript(
      sandbox.runnerDir,
      'run.sh',
      `ls -A "$PWD" > "$OUT_DIR/$(basename "$PWD").ls"; echo changed > marker; echo done`,
    );
    await writeFile(join(sandbox.runnerDir, 'marker'), 'original\n');
    await writeFile(join(sandbox.runnerDir, '.runner'), '{"agentId":1}');
    await writeFile(join(sandbox.runnerDir, '.credentials'), '{"scheme":"OAuth"}');
    await mkdir(join(sandbox.runnerDir, '_diag'));
    await writeFile(join(sandbox.runnerDir, '_diag', 'Runner_old.log'), 'old diag line\n');
    await mkdir(join(sandbox.runnerDir, 'bin'));
    await writeFile(join(sandbox.runnerDir, 'bin', 'Runner.Listener'), 'binary');
    const rec = recorder();
    const local = launcher(rec, { keepCopies: true });

    await local.launch(jitRequest('jr-1-1'));
    await local.launch(jitRequest('jr-2-1'));
    await waitUntil('both exits', () => rec.exits.length === 2);

    for (const name of ['jr-1-1', 'jr-2-1']) {
      const listing = (await readOut(sandbox, `${name}.ls`)).split('\n');
      expect(listing).toEqual(expect.arrayContaining(['marker', 'run.sh', 'bin']));
      expect(listing).not.toContain('.runner');
      expect(listing).not.toContain('.credentials');
      expect(await readFile(join(sandbox.workRoot, name, 'bin', 'Runner.Listener'), 'utf8')).toBe('binary');
    }
    expect(await readFile(join(sandbox.runnerDir, 'marker'), 'utf8')).toBe('original\n');
    expect(linesOf(rec, 'diag')).not.toContain('old diag line');
  });

  it('replaces a stale copy left by an earlier attempt whose process is gone', async () => {
    await writeScript(sandbox.runnerDir, 'run.sh', `ls -A "$PWD" > "$OUT_DIR/listing"`);
    const stale = join(sandbox.workRoot, 'jr-3-1');
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, 'left-over'), 'x');
    const deadRecord: PidRecord = {
      version: 1,
      launchId: 'local:jr-3-1',
      runnerName: 'jr-3-1',
      kind: 'jit',
      pid: 2_000_000_000,
      startedAt: 1,
    };
    await writeFile(join(stale, PID_FILE_NAME), JSON.stringify(deadRecord));
    const rec = recorder();
    const local = launcher(rec);

    await local.launch(jitRequest('jr-3-1'));
    await waitUntil('exit', () => rec.exits.length === 1);

    expect((await readOut(sandbox, 'listing')).split('\n')).not.toContain('left-over');
  });

  it('hands the JIT config in ACTIONS_RUNNER_INPUT_JITCONFIG, not on the command line, by default', async () => {
    await writeScript(sandbox.runnerDir, 'run.sh', `env -0 > "$OUT_DIR/env"; printf '%s\\n' "$@" > "$OUT_DIR/args"`);
    const rec = recorder();
    const local = launcher(rec);

    await local.launch(jitRequest('jr-4-1'));
    await waitUntil('exit', () => rec.exits.length === 1);

    expect(parseEnvDump(await readOut(sandbox, 'env')).get('ACTIONS_RUNNER_INPUT_JITCONFIG')).toBe(JIT_CONFIG);
    expect((await readOut(sandbox, 'args')).trim()).toBe('');
  });

  it('passes run.sh --jitconfig <config> when configured for argv delivery', async () => {
    await writeScript(sandbox.runnerDir, 'run.sh', `env -0 > "$OUT_DIR/env"; printf '%s\\n' "$@" > "$OUT_DIR/args"`);
    const rec = recorder();
    const local = launcher(rec, { jitConfigDelivery: 'argv' });

    await local.launch(jitRequest('jr-5-1'));
    await waitUntil('exit', () => rec.exits.length === 1);

    expect((await readOut(sandbox, 'args')).split('\n').slice(0, 2)).toEqual(['--jitconfig', JIT_CONFIG]);
    expect(parseEnvDump(await readOut(sandbox, 'env')).has('ACTIONS_RUNNER_INPUT_JITCONFIG')).toBe(false);
  });

  describe('runner environment', () => {
    const secrets: Record<string, string> = {
      GITHUB_APP_PRIVATE_KEY: '-----BEGIN RSA PRIVATE KEY-----\nMIIEparentkey\n-----END RSA PRIVATE KEY-----',
      GITHUB_WEBHOOK_SECRET: 'parent-webhook-secret',
      AWS_ACCESS_KEY_ID: 'AKIAPARENTKEY',
      AWS_SECRET_ACCESS_KEY: 'parent-aws-secret',
      AWS_SESSION_TOKEN: 'parent-aws-session',
      GITHUB_TOKEN: 'ghs_parenttoken',
      NPM_CONFIG_SOMETHING: 'parent-npm',
    };
    const saved: Record<string, string | undefined> = {};

    beforeEach(() => {
      for (const [name, value] of Object.entries(secrets)) {
        saved[name] = process.env[name];
        process.env[name] = value;
      }
    });

    afterEach(() => {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    });

    it('is minimal even when the server environment holds secrets', async () => {
      await writeScript(sandbox.runnerDir, 'run.sh', `env -0 > "$OUT_DIR/env"`);
      const rec = recorder();
      const local = launcher(rec, { env: { OUT_DIR: sandbox.outDir, HTTPS_PROXY: 'http://proxy:3128' } });

      await local.launch(jitRequest('jr-6-1', { runnerVersion: '2.331.0' }));
      await waitUntil('exit', () => rec.exits.length === 1);

      const dump = await readOut(sandbox, 'env');
      const env = parseEnvDump(dump);
      const runnerCopy = join(sandbox.workRoot, 'jr-6-1');
      // bash itself adds PWD, SHLVL and _.
      const names = [...env.keys()].filter((n) => !['PWD', 'SHLVL', '_', 'OLDPWD'].includes(n)).sort();
      expect(names).toEqual(
        [
          'ACTIONS_RUNNER_INPUT_JITCONFIG',
          'HOME',
          'HTTPS_PROXY',
          'LANG',
          'OUT_DIR',
          'PATH',
          'RUNNER_ALLOW_RUNASROOT',
          'RUNNER_VERSION',
          'TMPDIR',
        ].sort(),
      );
      expect(env.get('HOME')).toBe(runnerCopy);
      expect(env.get('TMPDIR')?.startsWith(runnerCopy)).toBe(true);
      expect(env.get('RUNNER_ALLOW_RUNASROOT')).toBe('1');
      expect(env.get('RUNNER_VERSION')).toBe('2.331.0');
      expect(env.get('PATH')).toBe(process.env.PATH);
      for (const value of Object.values(secrets)) expect(dump).not.toContain(value);
    });
  });

  it('sends stdout, stderr and _diag lines to onLine, including partial lines and files created later', async () => {
    await writeScript(
      sandbox.runnerDir,
      'run.sh',
      [
        'echo "hello from stdout"',
        'printf "half a "; sleep 0.1; echo "line"',
        'echo "Runner connect error: Failed to get job message." >&2',
        'mkdir -p _diag',
        'echo "[RUNNER] first diag line" >> _diag/Runner_20250101-000000-utc.log',
        // Wait for the test to see the first diag line, so the next ones are appended while tailing.
        'while [ ! -f go ]; do sleep 0.01; done',
        'printf "[RUNNER] appended " >> _diag/Runner_20250101-000000-utc.log',
        'sleep 0.1',
        'echo "BadRequest" >> _diag/Runner_20250101-000000-utc.log',
        'echo "[WORKER] new file line" > _diag/Worker_20250101-000001-utc.log',
        'printf "no newline at the end"',
      ].join('\n'),
    );
    const rec = recorder();
    const local = launcher(rec);

    await local.launch(jitRequest('jr-7-1'));
    await waitUntil('first diag line', () => linesOf(rec, 'diag').includes('[RUNNER] first diag line'));
    await writeFile(join(sandbox.workRoot, 'jr-7-1', 'go'), '');
    await waitUntil('exit', () => rec.exits.length === 1);

    expect(linesOf(rec, 'stdout')).toEqual(['hello from stdout', 'half a line', 'no newline at the end']);
    expect(linesOf(rec, 'stderr')).toEqual(['Runner connect error: Failed to get job message.']);
    expect(linesOf(rec, 'diag')).toEqual([
      '[RUNNER] first diag line',
      '[RUNNER] appended BadRequest',
      '[WORKER] new file line',
    ]);
    const diagEvent = rec.lines.find((l) => l.source === 'diag');
    expect(diagEvent).toMatchObject({ launchId: 'local:jr-7-1', runnerName: 'jr-7-1' });
    expect(diagEvent?.file).toBe('Runner_20250101-000000-utc.log');
  });

  it('calls onExit once with the exit code, after every line, and prunes the copy to its logs', async () => {
    await writeScript(sandbox.runnerDir, 'run.sh', 'echo "line one"; echo "line two" >&2; exit 3');
    const rec = recorder();
    const order: string[] = [];
    const local = launcher(rec);
    local.subscribe({ onLine: (e) => order.push(`line:${e.line}`), onExit: () => order.push('exit') });

    const { launchId } = await local.launch(jitRequest('jr-8-1'));
    await waitUntil('exit', () => rec.exits.length === 1);
    await new Promise((resolve) => setTimeout(resolve, 100)); // would reveal a second onExit

    expect(rec.exits).toHaveLength(1);
    expect(rec.exits[0]).toMatchObject({ launchId, runnerName: 'jr-8-1', code: 3, signal: null });
    expect(order.at(-1)).toBe('exit');
    expect(order.filter((o) => o.startsWith('line:')).sort()).toEqual(['line:line one', 'line:line two']);
    const dir = join(sandbox.workRoot, 'jr-8-1');
    expect((await readdir(dir)).sort()).toEqual(['runner.log']);
    const log = await readFile(join(dir, 'runner.log'), 'utf8');
    expect(log).toMatch(/stdout line one/);
    expect(log).toMatch(/stderr line two/);
    expect(await local.listActive()).toEqual([]);
  });

  it('keeps secrets out of onLine and runner.log even when the runner prints them', async () => {
    await writeScript(
      sandbox.runnerDir,
      'run.sh',
      'echo "config is $ACTIONS_RUNNER_INPUT_JITCONFIG"; mkdir -p _diag; echo "diag $ACTIONS_RUNNER_INPUT_JITCONFIG" > _diag/Runner_1.log',
    );
    const rec = recorder();
    const local = launcher(rec);

    await local.launch(jitRequest('jr-9-1'));
    await waitUntil('exit', () => rec.exits.length === 1);

    expect(linesOf(rec)).toEqual(expect.arrayContaining(['config is ***', 'diag ***']));
    expect(JSON.stringify(rec.lines)).not.toContain(JIT_CONFIG);
    expect(await readFile(join(sandbox.workRoot, 'jr-9-1', 'runner.log'), 'utf8')).not.toContain(JIT_CONFIG);
  });

  it('is idempotent per runner name while the runner is alive', async () => {
    await writeScript(sandbox.runnerDir, 'run.sh', 'echo $$ >> "$OUT_DIR/starts"; echo up; exec sleep 30');
    const rec = recorder();
    const local = launcher(rec);

    const [first, second] = await Promise.all([
      local.launch(jitRequest('jr-10-1')),
      local.launch(jitRequest('jr-10-1')),
    ]);
    await waitUntil('runner up', () => linesOf(rec, 'stdout').includes('up'));
    const third = await local.launch(jitRequest('jr-10-1'));

    expect(first.launchId).toBe('local:jr-10-1');
    expect(second.launchId).toBe(first.launchId);
    expect(third.launchId).toBe(first.launchId);
    expect((await readOut(sandbox, 'starts')).trim().split('\n')).toHaveLength(1);
    expect(await local.listActive()).toEqual([
      { launchId: 'local:jr-10-1', runnerName: 'jr-10-1', startedAt: expect.any(Number) },
    ]);
  });

  it('starts the runner again once the previous process for that name has exited', async () => {
    await writeScript(sandbox.runnerDir, 'run.sh', 'echo $$ >> "$OUT_DIR/starts"');
    const rec = recorder();
    const local = launcher(rec);

    await local.launch(jitRequest('jr-11-1'));
    await waitUntil('first exit', () => rec.exits.length === 1);
    await local.launch(jitRequest('jr-11-1'));
    await waitUntil('second exit', () => rec.exits.length === 2);

    expect((await readOut(sandbox, 'starts')).trim().split('\n')).toHaveLength(2);
  });

  it('ends processes a runner leaves behind when it exits', async () => {
    await writeScript(sandbox.runnerDir, 'run.sh', 'sleep 30 & echo $! > "$OUT_DIR/child"; exit 0');
    const rec = recorder();
    const local = launcher(rec);

    await local.launch(jitRequest('jr-12-1'));
    await waitUntil('exit', () => rec.exits.length === 1);

    const child = Number((await readOut(sandbox, 'child')).trim());
    expect(await waitUntil('left-over child gone', () => isProcessGone(child))).toBe(true);
    expect(rec.exits[0]?.code).toBe(0);
  });

  it('fails with LaunchConfigError when run.sh is missing', async () => {
    const local = launcher(recorder());
    const error = await local.launch(jitRequest('jr-13-1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchConfigError);
    expect(String(error)).toMatch(/run\.sh does not exist/);
    expect(String(error)).toMatch(/RUNNER_DIR/);
  });

  it('fails with LaunchConfigError when run.sh is not executable', async () => {
    await writeScript(sandbox.runnerDir, 'run.sh', 'echo hi', 0o644);
    const local = launcher(recorder());
    const error = await local.launch(jitRequest('jr-14-1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchConfigError);
    expect(String(error)).toMatch(/not executable/);
  });

  it('fails with LaunchConfigError, without the JIT config, when run.sh cannot be executed', async () => {
    await writeFile(join(sandbox.runnerDir, 'run.sh'), '#!/nonexistent/interpreter\n');
    await chmod(join(sandbox.runnerDir, 'run.sh'), 0o755);
    const local = launcher(recorder(), { jitConfigDelivery: 'argv' });
    const error = await local.launch(jitRequest('jr-15-1')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchConfigError);
    expect(String(error)).toMatch(/run\.sh/);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(JIT_CONFIG);
    expect(String((error as Error).cause)).not.toContain(JIT_CONFIG);
    expect(await local.listActive()).toEqual([]);
  });

  it('refuses runner names that are not a safe directory name', async () => {
    const local = launcher(recorder());
    await expect(local.launch(jitRequest('../escape'))).rejects.toBeInstanceOf(LaunchConfigError);
  });
});

describe('LocalLauncher.stop', () => {
  it('stops a sleeping runner and its children, and onExit reports the signal', async () => {
    await writeScript(sandbox.runnerDir, 'run.sh', 'sleep 30 & echo $! > "$OUT_DIR/child"; echo up; wait');
    const rec = recorder();
    const local = launcher(rec);

    const { launchId } = await local.launch(jitRequest('jr-20-1'));
    await waitUntil('runner up', () => linesOf(rec, 'stdout').includes('up'));
    const child = Number((await readOut(sandbox, 'child')).trim());
    await local.stop(launchId);

    expect(rec.exits).toEqual([
      { launchId, runnerName: 'jr-20-1', code: null, signal: 'SIGTERM', at: expect.any(Number) },
    ]);
    expect(await waitUntil('child gone', () => isProcessGone(child))).toBe(true);
    expect(await local.listActive()).toEqual([]);
  });

  it('kills a runner that ignores SIGTERM after the grace period', async () => {
    await writeScript(sandbox.runnerDir, 'run.sh', "trap '' TERM; echo up; while true; do sleep 0.05; done");
    const rec = recorder();
    const local = launcher(rec, { stopGraceMs: 100 });

    const { launchId } = await local.launch(jitRequest('jr-21-1'));
    await waitUntil('runner up', () => linesOf(rec, 'stdout').includes('up'));
    await local.stop(launchId);

    expect(rec.exits).toHaveLength(1);
    expect(rec.exits[0]?.signal).toBe('SIGKILL');
  });

  it('treats a launch that is already gone as stopped', async () => {
    await writeScript(sandbox.runnerDir, 'run.sh', 'exit 0');
    const rec = recorder();
    const local = launcher(rec);

    const { launchId } = await local.launch(jitRequest('jr-22-1'));
    await waitUntil('exit', () => rec.exits.length === 1);

    await expect(local.stop(launchId)).resolves.toBeUndefined();
    await expect(local.stop('local:never-launched')).resolves.toBeUndefined();
    expect(rec.exits).toHaveLength(1);
  });

  it('rejects a launch id from another launcher', async () => {
    const local = launcher(recorder());
    await expect(local.stop('i-0123456789abcdef0')).rejects.toBeInstanceOf(LaunchConfigError);
  });
});

describe('after a server restart (a new launcher over the same work root)', () => {
  it('lists, keeps idempotent, and stops runners started by the previous instance', async () => {
    await writeScript(
      sandbox.runnerDir,
      'run.sh',
      'echo $$ >> "$OUT_DIR/starts"; sleep 30 & echo $! > "$OUT_DIR/child"; echo up; wait',
    );
    const before = recorder();
    const previous = launcher(before);
    const { launchId } = await previous.launch(jitRequest('jr-30-1'));
    await waitUntil('runner up', () => linesOf(before, 'stdout').includes('up'));
    const child = Number((await readOut(sandbox, 'child')).trim());

    const after = recorder();
    const restarted = launcher(after);

    expect(await restarted.listActive()).toEqual([{ launchId, runnerName: 'jr-30-1', startedAt: expect.any(Number) }]);
    expect(await restarted.launch(jitRequest('jr-30-1'))).toEqual({ launchId });
    expect((await readOut(sandbox, 'starts')).trim().split('\n')).toHaveLength(1);

    await restarted.stop(launchId);

    expect(after.exits).toEqual([
      { launchId, runnerName: 'jr-30-1', code: null, signal: 'SIGTERM', at: expect.any(Number) },
    ]);
    expect(await waitUntil('child gone', () => isProcessGone(child))).toBe(true);
    expect(await restarted.listActive()).toEqual([]);
    expect(await fileExists(join(sandbox.workRoot, 'jr-30-1', PID_FILE_NAME))).toBe(false);
  });

  it('does not list a runner whose pid file names a process that is gone', async () => {
    const dir = join(sandbox.workRoot, 'jr-31-1');
    await mkdir(dir, { recursive: true });
    const record: PidRecord = {
      version: 1,
      launchId: 'local:jr-31-1',
      runnerName: 'jr-31-1',
      kind: 'jit',
      pid: process.pid, // alive, but not the process that was recorded
      startedAt: 1,
      procStart: 1,
    };
    await writeFile(join(dir, PID_FILE_NAME), JSON.stringify(record));
    const local = launcher(recorder());

    expect(await local.listActive()).toEqual([]);
  });
});

describe('LocalLauncher.launchRegular', () => {
  it('runs config.sh with the contract arguments in order, then run.sh', async () => {
    await writeScript(
      sandbox.runnerDir,
      'config.sh',
      'printf "%s\\n" "$@" > "$OUT_DIR/config-args"; echo configured > .runner',
    );
    await writeScript(
      sandbox.runnerDir,
      'run.sh',
      'echo "regular runner up, identity $(cat .runner)"; printf "%s\\n" "$@" > "$OUT_DIR/run-args"',
    );
    const rec = recorder();
    const local = launcher(rec);

    const { launchId } = await local.launchRegular(regularRequest('jr-baseline-octo-hello-abc'));
    await waitUntil('exit', () => rec.exits.length === 1);

    expect(launchId).toBe('local:jr-baseline-octo-hello-abc');
    expect((await readOut(sandbox, 'config-args')).trimEnd().split('\n')).toEqual([
      '--unattended',
      '--url',
      'https://github.example/octo/hello',
      '--token',
      REGISTRATION_TOKEN,
      '--name',
      'jr-baseline-octo-hello-abc',
      '--labels',
      'jit-runners-baseline-abc,linux',
      '--no-default-labels',
      '--disableupdate',
    ]);
    expect((await readOut(sandbox, 'run-args')).trim()).toBe('');
    expect(linesOf(rec, 'stdout')).toContain('regular runner up, identity configured');
    expect(rec.exits[0]).toMatchObject({ launchId, code: 0 });
  });

  it('fails with config.sh output, minus the token, when config.sh exits non-zero', async () => {
    await writeScript(
      sandbox.runnerDir,
      'config.sh',
      [
        'echo "--------------------------------------------------------------------------------"',
        'echo "Registering runner with token $5"',
        'echo "Http response code: NotFound from \'POST https://api.github.com/actions/runner-registration\'" >&2',
        'exit 1',
      ].join('\n'),
    );
    await writeScript(sandbox.runnerDir, 'run.sh', 'echo "must not run" > "$OUT_DIR/ran"');
    const rec = recorder();
    const local = launcher(rec);

    const error = await local.launchRegular(regularRequest('jr-baseline-x')).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConfigScriptError);
    expect(error).toBeInstanceOf(LauncherError);
    const message = (error as Error).message;
    expect(message).toMatch(/exited with code 1/);
    expect(message).toMatch(/Http response code: NotFound/);
    expect(message).toContain('Registering runner with token ***');
    expect(message).not.toContain(REGISTRATION_TOKEN);
    expect(JSON.stringify(rec.lines)).not.toContain(REGISTRATION_TOKEN);
    expect(await fileExists(join(sandbox.outDir, 'ran'))).toBe(false);
    expect(await readFile(join(sandbox.workRoot, 'jr-baseline-x', 'runner.log'), 'utf8')).not.toContain(
      REGISTRATION_TOKEN,
    );
    expect(await local.listActive()).toEqual([]);
  });

  it('fails as transient when config.sh hangs past its timeout, and kills it', async () => {
    await writeScript(sandbox.runnerDir, 'config.sh', 'echo $$ > "$OUT_DIR/config-pid"; exec sleep 30');
    await writeScript(sandbox.runnerDir, 'run.sh', 'exit 0');
    const local = launcher(recorder(), { configTimeoutMs: 200, stopGraceMs: 100 });

    const error = await local.launchRegular(regularRequest('jr-baseline-y')).catch((e: unknown) => e);

    expect((error as Error).name).toBe('LaunchTransientError');
    const pid = Number((await readOut(sandbox, 'config-pid')).trim());
    expect(await waitUntil('config.sh gone', () => isProcessGone(pid))).toBe(true);
  });

  it('fails with LaunchConfigError when config.sh is missing', async () => {
    await writeScript(sandbox.runnerDir, 'run.sh', 'exit 0');
    const local = launcher(recorder());
    const error = await local.launchRegular(regularRequest('jr-baseline-z')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchConfigError);
    expect(String(error)).toMatch(/config\.sh does not exist/);
  });
});

describe('LocalLauncher.close', () => {
  it('stops every runner it started and refuses new launches', async () => {
    await writeScript(sandbox.runnerDir, 'run.sh', 'echo up; exec sleep 30');
    const rec = recorder();
    const local = launcher(rec);
    await local.launch(jitRequest('jr-40-1'));
    await local.launch(jitRequest('jr-40-2'));
    await waitUntil('both up', () => linesOf(rec, 'stdout').length === 2);

    await local.close();

    expect(rec.exits.map((e) => e.runnerName).sort()).toEqual(['jr-40-1', 'jr-40-2']);
    await expect(local.launch(jitRequest('jr-40-3'))).rejects.toBeInstanceOf(LauncherError);
  });
});
