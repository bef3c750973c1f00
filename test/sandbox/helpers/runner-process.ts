import { type ChildProcess, spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SAMPLE_RUNNER_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../runner/sample');

/** The minimal environment runners get: no secrets, no AWS, just a PATH that has node. */
export function minimalEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: `${dirname(process.execPath)}:/usr/bin:/bin`, HOME: tmpdir(), ...extra };
}

/** A fresh copy of the sample runner, like the local launcher makes per runner. */
export function copyRunner(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jr-sample-'));
  cpSync(SAMPLE_RUNNER_DIR, dir, { recursive: true });
  return dir;
}

export interface RunnerProcess {
  dir: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the combined output matches `pattern` `count` times; rejects if the process exits first. */
  waitFor(pattern: RegExp, count?: number, timeoutMs?: number): Promise<void>;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
  diag(): string;
  diagFiles(): string[];
}

export function startScript(
  dir: string,
  script: 'run.sh' | 'config.sh',
  args: string[],
  env: Record<string, string> = minimalEnv(),
): RunnerProcess {
  const child = spawn(join(dir, script), args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    notify();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    notify();
  });
  const exited = new Promise<number | null>((resolvePromise) => {
    child.on('exit', (code) => {
      resolvePromise(code);
      notify();
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
  });
  return {
    dir,
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
    waitFor(pattern, count = 1, timeoutMs = 20_000) {
      const global = new RegExp(pattern.source, pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`);
      return new Promise<void>((resolvePromise, reject) => {
        const check = () => {
          const matches = `${out}\n${err}`.match(global)?.length ?? 0;
          if (matches >= count) {
            cleanup();
            resolvePromise();
          } else if (done) {
            cleanup();
            reject(new Error(`process exited before ${pattern} (x${count}).\nstdout:\n${out}\nstderr:\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern} (x${count}).\nstdout:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    diagFiles: () => {
      try {
        return readdirSync(join(dir, '_diag'));
      } catch {
        return [];
      }
    },
    diag: () =>
      (() => {
        try {
          return readdirSync(join(dir, '_diag'))
            .map((f) => readFileSync(join(dir, '_diag', f), 'utf8'))
            .join('');
        } catch {
          return '';
        }
      })(),
  };
}

/** Runs a script to completion. */
export async function runScript(
  dir: string,
  script: 'run.sh' | 'config.sh',
  args: string[],
  env?: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = startScript(dir, script, args, env);
  const code = await p.exited;
  return { code, stdout: p.stdout(), stderr: p.stderr() };
}

/** Tracks processes and directories so a failing test leaves nothing running. */
export class Cleanup {
  private readonly processes: RunnerProcess[] = [];
  private readonly dirs: string[] = [];

  track<T extends RunnerProcess>(p: T): T {
    this.processes.push(p);
    return p;
  }

  dir(d: string): string {
    this.dirs.push(d);
    return d;
  }

  async run(): Promise<void> {
    for (const p of this.processes.splice(0)) {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        p.kill('SIGKILL');
        await p.exited;
      }
    }
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}
