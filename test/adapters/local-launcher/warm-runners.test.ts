import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  createLocalLauncher,
  type LocalLauncher,
  type RunnerExitEvent,
  type RunnerLineEvent,
  WARM_HANDOFF_NAME,
} from '../../../functions/adapters/local/local-launcher.ts';
import { LaunchTransientError } from '../../../functions/ports/launcher.ts';
import { CaptureLogger } from '../../support/capture-logger.ts';
import { makeSandbox, parseEnvDump, readOut, type Sandbox, waitUntil, writeScript } from './fake-runner.ts';

const JIT_CONFIG = 'eyJqaXQiOiJ3YXJtLXN1cGVyLXNlY3JldC1qaXQtY29uZmlnIn0';

let sandbox: Sandbox;
const launchers: LocalLauncher[] = [];
const lines: RunnerLineEvent[] = [];
const exits: RunnerExitEvent[] = [];

function launcher(logger = new CaptureLogger()): LocalLauncher {
  const created = createLocalLauncher({
    runnerDir: sandbox.runnerDir,
    workRoot: sandbox.workRoot,
    env: { OUT_DIR: sandbox.outDir },
    pollIntervalMs: 20,
    stopGraceMs: 500,
    logger,
    onLine: (e) => lines.push(e),
    onExit: (e) => exits.push(e),
  });
  launchers.push(created);
  return created;
}

const boot = (local: LocalLauncher, warmName = 'jr-warm-hot-0001', maxIdleMs = 60_000) =>
  local.bootWarm({ warmName, pool: 'hot', runnerVersion: '2.330.0', maxIdleMs });

const handoff = (warm: { launchId: string; warmName: string }, runnerName = 'jr-42-1') => ({
  runnerName,
  jobId: 42,
  attempt: 1,
  scopeKey: 'octo/hello',
  labels: ['self-hosted', 'linux', 'x64'],
  runnerVersion: '2.330.0',
  encodedJitConfig: JIT_CONFIG,
  warm,
});

/** run.sh of the fake runner: reports its environment, its command lines and whether the config is on disk. */
const RUN_SH = [
  'env -0 > "$OUT_DIR/env"',
  'printf "%s\\n" "$@" > "$OUT_DIR/args"',
  'tr "\\0" " " < /proc/$$/cmdline > "$OUT_DIR/cmdline"',
  'if grep -rqs -- "$ACTIONS_RUNNER_INPUT_JITCONFIG" . ; then echo yes > "$OUT_DIR/on-disk"; else echo no > "$OUT_DIR/on-disk"; fi',
  'echo "runner started"',
].join('\n');

beforeEach(async () => {
  sandbox = await makeSandbox();
  lines.length = 0;
  exits.length = 0;
  await writeScript(sandbox.runnerDir, 'run.sh', RUN_SH);
});

afterEach(async () => {
  await Promise.all(launchers.splice(0).map((l) => l.close()));
  await sandbox.cleanup();
});

describe('local launcher: warm runners', () => {
  it('boots a warm runner that waits for its hand-off without starting run.sh, listed under its warm name', async () => {
    const local = launcher();
    const warm = await boot(local);
    expect(warm).toEqual({ launchId: 'local:jr-warm-hot-0001', warmName: 'jr-warm-hot-0001', ready: true });
    expect((await local.listActive()).map((l) => l.runnerName)).toEqual(['jr-warm-hot-0001']);
    const folder = await readdir(join(sandbox.workRoot, 'jr-warm-hot-0001'));
    expect(folder).toContain(WARM_HANDOFF_NAME);
    await expect(readOut(sandbox, 'env')).rejects.toThrow();
  });

  it('starts run.sh with the JIT config in ACTIONS_RUNNER_INPUT_JITCONFIG, never in a command line, a file or a log', async () => {
    const capture = new CaptureLogger();
    const local = launcher(capture);
    const warm = await boot(local);
    await local.handOffWarm(handoff(warm));
    await waitUntil('the runner exit', () => exits.length === 1);

    expect(parseEnvDump(await readOut(sandbox, 'env')).get('ACTIONS_RUNNER_INPUT_JITCONFIG')).toBe(JIT_CONFIG);
    expect((await readOut(sandbox, 'args')).trim()).toBe('');
    expect(await readOut(sandbox, 'cmdline')).not.toContain(JIT_CONFIG);
    expect((await readOut(sandbox, 'on-disk')).trim()).toBe('no');
    expect(JSON.stringify(lines)).not.toContain(JIT_CONFIG);
    expect(capture.text()).not.toContain(JIT_CONFIG);
    const log = await readFile(join(sandbox.workRoot, 'jr-warm-hot-0001', 'runner.log'), 'utf8');
    expect(log).not.toContain(JIT_CONFIG);
    expect(log).toContain('runner started');
  });

  it("reports the served runner's lines, exit and listing under the job's runner name after the hand-off", async () => {
    const local = launcher();
    await writeScript(sandbox.runnerDir, 'run.sh', 'echo "runner up"; sleep 30');
    const warm = await boot(local);
    await local.handOffWarm(handoff(warm));
    await waitUntil('the runner line', () => lines.some((l) => l.line === 'runner up'));

    expect(lines.find((l) => l.line === 'runner up')?.runnerName).toBe('jr-42-1');
    expect(await local.listActive()).toEqual([
      expect.objectContaining({ runnerName: 'jr-42-1', launchId: 'local:jr-warm-hot-0001' }),
    ]);
    await local.stop(warm.launchId);
    expect(exits.map((e) => e.runnerName)).toEqual(['jr-42-1']);
  });

  it('refuses a second hand-off, and a hand-off to a warm runner that is gone, as transient', async () => {
    const local = launcher();
    await writeScript(sandbox.runnerDir, 'run.sh', 'sleep 30');
    const warm = await boot(local);
    await local.handOffWarm(handoff(warm));
    await expect(local.handOffWarm(handoff(warm, 'jr-43-1'))).rejects.toBeInstanceOf(LaunchTransientError);

    const other = await boot(local, 'jr-warm-hot-0002');
    await local.stop(other.launchId);
    await expect(local.handOffWarm(handoff(other, 'jr-44-1'))).rejects.toBeInstanceOf(LaunchTransientError);
  });

  it('exits by itself, as the warm name, when no hand-off comes within its idle bound', async () => {
    const local = launcher();
    await boot(local, 'jr-warm-hot-0003', 1000);
    await waitUntil('the idle exit', () => exits.length === 1, 5_000);
    expect(exits[0]).toMatchObject({ runnerName: 'jr-warm-hot-0003', code: 0 });
    expect(lines.map((l) => l.line)).toContain('jit-runners warm: no hand-off within 1 s; exiting');
  });

  it('hands off to a warm runner a previous server process booted (found through its pid file)', async () => {
    const first = launcher();
    const warm = await boot(first, 'jr-warm-hot-0004');
    // A restarted server: a new launcher instance over the same work root.
    const second = launcher();
    expect((await second.listActive()).map((l) => l.runnerName)).toEqual(['jr-warm-hot-0004']);
    await second.handOffWarm(handoff(warm));
    await waitUntil('the runner start', async () => readOut(sandbox, 'on-disk').catch(() => false));
    expect(parseEnvDump(await readOut(sandbox, 'env')).get('ACTIONS_RUNNER_INPUT_JITCONFIG')).toBe(JIT_CONFIG);
  });
});
