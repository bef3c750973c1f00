import { cp, mkdir, readdir, rm } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { PID_FILE_NAME } from './process-table.ts';

/** The human-readable log the launcher appends to, inside each runner's copy. */
export const RUNNER_LOG_NAME = 'runner.log';
/** Kept after a runner exits (everything else in its copy is deleted): what a human needs to debug it. */
const KEPT_AFTER_EXIT = new Set([RUNNER_LOG_NAME, '_diag']);

/**
 * Top-level entries of RUNNER_DIR that are never copied: the identity and state of a runner that was
 * configured in RUNNER_DIR itself (a JIT runner must start from a blank identity, docs/design.md "Why it exists"), its logs and work tree, and this launcher's own files.
 */
const NOT_COPIED = new Set([
  '.runner',
  '.credentials',
  '.credentials_rsaparams',
  '.service',
  '_diag',
  '_work',
  RUNNER_LOG_NAME,
  PID_FILE_NAME,
]);

/**
 * Replaces `target` with a fresh copy of `source`. The caller has checked that no live process owns
 * `target`. Symlinks are copied as they are (the runner's `externals` may hold relative links).
 */
export async function freshRunnerCopy(source: string, target: string): Promise<void> {
  await rm(target, { recursive: true, force: true });
  await mkdir(join(target, '..'), { recursive: true });
  await cp(source, target, {
    recursive: true,
    verbatimSymlinks: true,
    errorOnExist: true,
    force: false,
    filter: (from) => {
      const rel = relative(source, from);
      return rel === '' || rel.includes('/') || !NOT_COPIED.has(basename(from));
    },
  });
}

/** Deletes a finished runner's copy except its logs: copies of a real runner are hundreds of MB each. */
export async function pruneRunnerCopy(target: string): Promise<void> {
  let entries: string[];
  try {
    entries = await readdir(target);
  } catch {
    return;
  }
  await Promise.all(
    entries.filter((e) => !KEPT_AFTER_EXIT.has(e)).map((e) => rm(join(target, e), { recursive: true, force: true })),
  );
}
