import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  isLeaderAlive,
  liveGroupMembers,
  PID_FILE_NAME,
  type PidRecord,
  processIdentity,
  readPidRecord,
  removePidRecord,
  terminateGroup,
  writePidRecord,
} from '../../../functions/adapters/local/process-table.ts';
import { isProcessGone, makeSandbox, type Sandbox, waitUntil } from './fake-runner.ts';

let sandbox: Sandbox;

beforeEach(async () => {
  sandbox = await makeSandbox();
});

afterEach(async () => {
  await sandbox.cleanup();
});

const record = (pid: number, extra: Partial<PidRecord> = {}): PidRecord => ({
  version: 1,
  launchId: 'local:jr-1-1',
  runnerName: 'jr-1-1',
  kind: 'jit',
  pid,
  startedAt: 1000,
  ...extra,
});

describe('pid records', () => {
  it('round-trip through the pid file and disappear when removed', async () => {
    const written = record(1234, { procStart: 99, bootId: 'b' });
    await writePidRecord(sandbox.root, written);
    expect(await readPidRecord(sandbox.root)).toEqual(written);
    await removePidRecord(sandbox.root);
    expect(await readPidRecord(sandbox.root)).toBeUndefined();
  });

  it('reads a corrupt or foreign pid file as no record', async () => {
    await writeFile(join(sandbox.root, PID_FILE_NAME), '{"version":1,"pid":"1"');
    expect(await readPidRecord(sandbox.root)).toBeUndefined();
    await writeFile(join(sandbox.root, PID_FILE_NAME), JSON.stringify({ version: 2, pid: 5 }));
    expect(await readPidRecord(sandbox.root)).toBeUndefined();
  });
});

describe('process liveness', () => {
  it('knows a live group leader by pid and start time, and a reused pid as dead', async () => {
    const child = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
    const pid = child.pid ?? 0;
    try {
      const identity = await processIdentity(pid);
      expect(await isLeaderAlive(record(pid, identity))).toBe(true);
      expect(await liveGroupMembers(record(pid, identity))).toEqual([pid]);
      if (identity.procStart !== undefined) {
        const reused = record(pid, { ...identity, procStart: identity.procStart - 1 });
        expect(await isLeaderAlive(reused)).toBe(false);
        expect(await liveGroupMembers(reused)).toEqual([]);
      }
      if (identity.bootId !== undefined) {
        expect(await isLeaderAlive(record(pid, { ...identity, bootId: 'another-boot' }))).toBe(false);
      }
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('terminates a whole group with SIGTERM and reports a gone group as already stopped', async () => {
    const child = spawn('bash', ['-c', 'sleep 30 & sleep 30 & wait'], { detached: true, stdio: 'ignore' });
    const pid = child.pid ?? 0;
    const ref = record(pid, await processIdentity(pid));
    const members = await waitUntil('three members', async () => {
      const m = await liveGroupMembers(ref);
      return m.length === 3 ? m : undefined;
    });

    expect(await terminateGroup(ref, 2000)).toEqual({ signal: 'SIGTERM', stopped: true });
    for (const member of members) expect(await isProcessGone(member)).toBe(true);
    expect(await terminateGroup(ref, 2000)).toEqual({ signal: null, stopped: true });
  });
});
