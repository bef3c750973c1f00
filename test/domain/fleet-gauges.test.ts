import { describe, expect, it } from 'vitest';
import { fleetGauges } from '../../functions/domain/fleet-gauges.ts';
import { msSinceQueued, queuedSince } from '../../functions/domain/job-latency.ts';
import { JobStatus } from '../../functions/domain/job-status.ts';

const NOW = 1_000_000;
const job = (
  jobId: number,
  status: JobStatus,
  extra: { pool?: string; scopeKey?: string; notBefore?: number } = {},
) => ({
  jobId,
  status,
  scopeKey: extra.scopeKey ?? 'octo/app',
  ...(extra.pool ? { pool: extra.pool } : {}),
  ...(extra.notBefore !== undefined ? { notBefore: extra.notBefore } : {}),
});

describe('fleetGauges', () => {
  it('counts launched, healing and running jobs as runners alive, per configured pool in order', () => {
    const gauges = fleetGauges(
      ['x64', 'arm64'],
      [
        job(1, JobStatus.launched, { pool: 'arm64' }),
        job(2, JobStatus.running, { pool: 'arm64' }),
        job(3, JobStatus.healing, { pool: 'x64' }),
        job(4, JobStatus.queued, { pool: 'x64' }),
        job(5, JobStatus.provisioning, { pool: 'x64' }),
        job(6, JobStatus.waiting, { pool: 'x64' }),
      ],
      NOW,
    );
    expect(gauges.pools).toEqual([
      { pool: 'x64', runnersAlive: 1, backlog: 0 },
      { pool: 'arm64', runnersAlive: 2, backlog: 0 },
    ]);
  });

  it('counts waiting-capacity jobs as backlog, less the ones this pass handed a slot', () => {
    const open = [
      job(1, JobStatus.waitingCapacity, { pool: 'x64' }),
      job(2, JobStatus.waitingCapacity, { pool: 'x64' }),
    ];
    expect(fleetGauges(['x64'], open, NOW).pools[0]?.backlog).toBe(2);
    expect(fleetGauges(['x64'], open, NOW, new Set([2])).pools[0]?.backlog).toBe(1);
  });

  it('reads a job without a pool as the default pool, and leaves out pools no longer configured', () => {
    const gauges = fleetGauges(
      ['default'],
      [job(1, JobStatus.running), job(2, JobStatus.running, { pool: 'gone' })],
      NOW,
    );
    expect(gauges.pools).toEqual([{ pool: 'default', runnersAlive: 1, backlog: 0 }]);
  });

  it('counts each scope a breaker still holds jobs back for once', () => {
    const gauges = fleetGauges(
      [],
      [
        job(1, JobStatus.waitingBreaker, { scopeKey: 'octo/a', notBefore: NOW + 5_000 }),
        job(2, JobStatus.waitingBreaker, { scopeKey: 'octo/a', notBefore: NOW + 9_000 }),
        job(3, JobStatus.waitingBreaker, { scopeKey: 'octo/b', notBefore: NOW + 1 }),
        // Its breaker's window has passed: the next pass resumes it.
        job(4, JobStatus.waitingBreaker, { scopeKey: 'octo/c', notBefore: NOW }),
      ],
      NOW,
    );
    expect(gauges.breakerOpenScopes).toBe(2);
  });
});

describe('queuedSince', () => {
  it('is when the job was recorded, or when an approval made it assignable again', () => {
    expect(queuedSince({ createdAt: 100 })).toBe(100);
    expect(queuedSince({ createdAt: 100, assignableAt: 5_000 })).toBe(5_000);
    expect(msSinceQueued({ createdAt: 100, assignableAt: 5_000 }, 5_750)).toBe(750);
  });

  it('never gives a negative latency when two clocks disagree', () => {
    expect(msSinceQueued({ createdAt: 2_000 }, 1_990)).toBe(0);
  });
});
