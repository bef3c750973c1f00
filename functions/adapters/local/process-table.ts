import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Pid files: how a launcher instance (or a restarted server) finds the runner processes started under
 * `workRoot`. One file per runner directory, written atomically after spawn, removed after the exit is
 * reaped. The file holds no secret (no command line, no environment).
 */
export const PID_FILE_NAME = '.jit-runners-launch.json';

export const LaunchKind = { jit: 'jit', regular: 'regular', warm: 'warm' } as const;
export type LaunchKind = (typeof LaunchKind)[keyof typeof LaunchKind];

export interface PidRecord {
  version: 1;
  launchId: string;
  runnerName: string;
  kind: LaunchKind;
  /** Process id of `run.sh`; also the process group id (spawned detached, so it leads its own group). */
  pid: number;
  startedAt: number;
  /** `/proc/<pid>/stat` start time (clock ticks since boot): tells a reused pid from ours. */
  procStart?: number;
  /** `/proc/sys/kernel/random/boot_id`: a record from before a reboot names no live process. */
  bootId?: string;
  /**
   * A warm runner (kind `warm`) handed a job: the name of the job's runner it now runs as (listed under that
   * name, as a cold launch of it would be). Not a secret.
   */
  servesRunnerName?: string;
}

export async function writePidRecord(dir: string, record: PidRecord): Promise<void> {
  const target = join(dir, PID_FILE_NAME);
  const temp = `${target}.${process.pid}.tmp`;
  // Write-then-rename so a reader (another launcher instance) never sees half a record.
  await writeFile(temp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  await rename(temp, target);
}

export async function readPidRecord(dir: string): Promise<PidRecord | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, PID_FILE_NAME), 'utf8');
  } catch {
    return undefined;
  }
  try {
    const value: unknown = JSON.parse(text);
    return isPidRecord(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export async function removePidRecord(dir: string): Promise<void> {
  await rm(join(dir, PID_FILE_NAME), { force: true });
}

function isPidRecord(value: unknown): value is PidRecord {
  if (typeof value !== 'object' || value === null) return false;
  const r = value as Record<string, unknown>;
  return (
    r.version === 1 &&
    typeof r.launchId === 'string' &&
    typeof r.runnerName === 'string' &&
    (r.kind === LaunchKind.jit || r.kind === LaunchKind.regular || r.kind === LaunchKind.warm) &&
    (r.servesRunnerName === undefined || typeof r.servesRunnerName === 'string') &&
    typeof r.pid === 'number' &&
    Number.isInteger(r.pid) &&
    r.pid > 1 &&
    typeof r.startedAt === 'number' &&
    (r.procStart === undefined || typeof r.procStart === 'number') &&
    (r.bootId === undefined || typeof r.bootId === 'string')
  );
}

/** What identifies a process group across launcher instances. */
export type GroupRef = Pick<PidRecord, 'pid' | 'procStart' | 'bootId'>;

export interface ProcStat {
  pid: number;
  state: string;
  pgrp: number;
  startTime: number;
}

/** Parses `/proc/<pid>/stat`; undefined where /proc is not available or the process is gone. */
export async function readProcStat(pid: number): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: parse after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const pgrp = Number(fields[2]);
  const startTime = Number(fields[19]);
  if (state === undefined || !Number.isFinite(pgrp) || !Number.isFinite(startTime)) return undefined;
  return { pid, state, pgrp, startTime };
}

let bootIdCache: string | undefined | null = null;

export async function currentBootId(): Promise<string | undefined> {
  if (bootIdCache !== null) return bootIdCache;
  try {
    bootIdCache = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  } catch {
    bootIdCache = undefined;
  }
  return bootIdCache;
}

let procfsCache: boolean | undefined;

async function hasProcfs(): Promise<boolean> {
  if (procfsCache === undefined) procfsCache = (await readProcStat(process.pid)) !== undefined;
  return procfsCache;
}

/** Identity of a freshly spawned process, stored in its pid record. */
export async function processIdentity(pid: number): Promise<{ procStart?: number; bootId?: string }> {
  const [stat, bootId] = await Promise.all([readProcStat(pid), currentBootId()]);
  return {
    ...(stat ? { procStart: stat.startTime } : {}),
    ...(bootId !== undefined ? { bootId } : {}),
  };
}

/**
 * Live (non-zombie) members of the record's process group. Zombies do not count: an orphaned child
 * reparented to an init that never reaps would otherwise look alive forever. With /proc, members must
 * have started no earlier than the leader, so a pid reused after a reboot or wrap-around is not ours.
 * Without /proc (macOS), falls back to `kill(-pgid, 0)`.
 */
export async function liveGroupMembers(record: GroupRef): Promise<number[]> {
  if (!(await hasProcfs())) return signalGroup(record.pid, 0) ? [record.pid] : [];
  const bootId = await currentBootId();
  if (record.bootId !== undefined && bootId !== undefined && record.bootId !== bootId) return [];
  const leader = await readProcStat(record.pid);
  // The leader's pid now belongs to a younger process: Linux does not hand out a pid still in use as a
  // process group id, so our group has no member left.
  if (leader && record.procStart !== undefined && leader.startTime !== record.procStart && leader.state !== 'Z') {
    return [];
  }
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const stats = await Promise.all(entries.filter((e) => /^\d+$/.test(e)).map((e) => readProcStat(Number(e))));
  return stats
    .filter(
      (s): s is ProcStat =>
        s !== undefined &&
        s.pgrp === record.pid &&
        s.state !== 'Z' &&
        s.state !== 'X' &&
        (record.procStart === undefined || s.startTime >= record.procStart),
    )
    .map((s) => s.pid);
}

/**
 * Whether the launch's leader (`run.sh`) still runs: what "a live process owns this runner directory"
 * means for idempotent launches and `listActive`. Leftovers of a dead leader are not a live launch.
 */
export async function isLeaderAlive(record: GroupRef): Promise<boolean> {
  if (!(await hasProcfs())) return signalProcess(record.pid);
  const bootId = await currentBootId();
  if (record.bootId !== undefined && bootId !== undefined && record.bootId !== bootId) return false;
  const leader = await readProcStat(record.pid);
  if (!leader || leader.state === 'Z' || leader.state === 'X') return false;
  return record.procStart === undefined || leader.startTime === record.procStart;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitGroupGone(record: GroupRef, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await liveGroupMembers(record)).length === 0) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(GROUP_POLL_MS, Math.max(1, deadline - Date.now())));
  }
}

const GROUP_POLL_MS = 25;
/** After SIGKILL the kernel needs a moment; longer than this means something is stuck (D state). */
const KILL_WAIT_MS = 5000;

export interface TerminateResult {
  /** The last signal sent; null when the group was already gone. */
  signal: 'SIGTERM' | 'SIGKILL' | null;
  /** False when members survived SIGKILL for KILL_WAIT_MS. */
  stopped: boolean;
}

/**
 * SIGTERM to the whole group (the runner, its worker and the job's processes), then SIGKILL to
 * whatever is left after `graceMs`. The group, not the pid: the runner's children would otherwise
 * outlive it and keep running the job.
 */
export async function terminateGroup(record: GroupRef, graceMs: number): Promise<TerminateResult> {
  if ((await liveGroupMembers(record)).length === 0) return { signal: null, stopped: true };
  if (!signalGroup(record.pid, 'SIGTERM')) return { signal: null, stopped: true };
  if (await waitGroupGone(record, graceMs)) return { signal: 'SIGTERM', stopped: true };
  signalGroup(record.pid, 'SIGKILL');
  return { signal: 'SIGKILL', stopped: await waitGroupGone(record, KILL_WAIT_MS) };
}

function signalProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Sends `signal` to the whole process group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    // EPERM: the group belongs to someone else now, so it is not ours to signal.
    if ((error as NodeJS.ErrnoException).code === 'EPERM') return false;
    throw error;
  }
}
