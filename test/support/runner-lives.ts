/**
 * Runner lives on one clock, for the capacity specs and the capacity soak: a copy of the sample runner whose
 * run.sh appends `start <runner> <ns>` before the runner starts and `end <runner> <ns>` after it exits, and
 * a sweep that finds the most runners alive at once. The file is written by the runners themselves, so it
 * stays the ground truth when the server that launched them is killed (runners outlive it).
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SAMPLE_RUNNER_DIR } from '../../functions/composition/local-app.ts';

/**
 * Copies the sample runner to `<root>/<name>` and wraps its run.sh so each life is appended to `lives`.
 * The wrapper ignores SIGTERM until the listener has exited (the launcher's stop signals the whole process
 * group): without that, bash would die with the signal and the runner's end would never be written.
 */
export async function recordingRunnerDir(root: string, lives: string, name = 'runner'): Promise<string> {
  const dir = join(root, name);
  await cp(SAMPLE_RUNNER_DIR, dir, { recursive: true });
  const run = await readFile(join(dir, 'run.sh'), 'utf8');
  const file = JSON.stringify(lives);
  const wrapped = run.replace(
    /^exec (.*)$/m,
    [
      'trap : TERM INT HUP',
      `echo "start $(basename "$RUNNER_ROOT") $(date +%s%N)" >> ${file}`,
      'code=0',
      '$1 || code=$?',
      `echo "end $(basename "$RUNNER_ROOT") $(date +%s%N)" >> ${file}`,
      'exit "$code"',
    ].join('\n'),
  );
  if (wrapped === run) throw new Error('the sample run.sh no longer ends with exec');
  await writeFile(join(dir, 'run.sh'), wrapped);
  return dir;
}

/** One runner process's life, in nanoseconds since the epoch; `end` undefined while it runs (or if it was SIGKILLed). */
export interface Life {
  runner: string;
  start: bigint;
  end: bigint | undefined;
}

/**
 * The lives recorded in `path` (none when the file does not exist yet), in start order. A name started
 * twice (a launch repeated under the same name) is two lives: an end closes the latest open life of its name.
 */
export async function readLives(path: string): Promise<Life[]> {
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const lives: Life[] = [];
  const open = new Map<string, Life>();
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const [kind, dir = '', at = '0'] = line.split(' ');
    // The launcher's copy is named after the runner: keep the runner name.
    const runner = /jr-\d+-\d+/.exec(dir)?.[0] ?? dir;
    if (kind === 'start') {
      const life: Life = { runner, start: BigInt(at), end: undefined };
      lives.push(life);
      open.set(runner, life);
    } else {
      const life = open.get(runner);
      if (life) {
        life.end = BigInt(at);
        open.delete(runner);
      }
    }
  }
  return lives;
}

/** The most runners alive at once: a sweep over starts and ends (an end before a start at the same instant). */
export function mostAlive(lives: readonly Life[]): number {
  const events = lives.flatMap((l) => [
    { at: l.start, delta: 1 },
    ...(l.end === undefined ? [] : [{ at: l.end, delta: -1 }]),
  ]);
  events.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.delta - b.delta));
  let alive = 0;
  let most = 0;
  for (const e of events) {
    alive += e.delta;
    most = Math.max(most, alive);
  }
  return most;
}

/** Epoch milliseconds (`Date.now()`) on the lives' clock. */
export const nanos = (ms: number): bigint => BigInt(ms) * 1_000_000n;
