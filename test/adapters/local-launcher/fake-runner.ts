import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A temp directory per test: `runner/` (the fake RUNNER_DIR), `work/` (workRoot), `out/` (what scripts report). */
export interface Sandbox {
  root: string;
  runnerDir: string;
  workRoot: string;
  outDir: string;
  cleanup(): Promise<void>;
}

export async function makeSandbox(): Promise<Sandbox> {
  const root = await mkdtemp(join(tmpdir(), 'local-launcher-'));
  const sandbox = {
    root,
    runnerDir: join(root, 'runner'),
    workRoot: join(root, 'work'),
    outDir: join(root, 'out'),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
  await mkdir(sandbox.runnerDir, { recursive: true });
  await mkdir(sandbox.outDir, { recursive: true });
  return sandbox;
}

/** Writes an executable bash script into the fake runner dir. Scripts find `$OUT_DIR` in their env. */
export async function writeScript(runnerDir: string, name: string, body: string, mode = 0o755): Promise<void> {
  const path = join(runnerDir, name);
  await writeFile(path, `#!/bin/bash\n${body}\n`);
  await chmod(path, mode);
}

export async function readOut(sandbox: Sandbox, name: string): Promise<string> {
  return readFile(join(sandbox.outDir, name), 'utf8');
}

/** Parses `env -0` output (NUL-separated, so multi-line values survive). */
export function parseEnvDump(text: string): Map<string, string> {
  const env = new Map<string, string>();
  for (const entry of text.split('\0')) {
    if (!entry) continue;
    const eq = entry.indexOf('=');
    env.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  return env;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition` until it holds (returns its value) or the deadline passes (throws `what`). */
export async function waitUntil<T>(
  what: string,
  condition: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Gone or a zombie (a reparented orphan that init has not reaped yet is dead too). */
export async function isProcessGone(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state === 'Z' || state === 'X';
  } catch {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  }
}

export async function fileExists(path: string): Promise<boolean> {
  try {
    await readFile(path);
    return true;
  } catch {
    return false;
  }
}
