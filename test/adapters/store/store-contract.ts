import { describe, expect, it } from 'vitest';
import type { Baseline } from '../../../functions/domain/baseline.ts';
import type { NewJob } from '../../../functions/domain/job.ts';
import { JobStatus } from '../../../functions/domain/job-status.ts';
import { type RunnerRecord, RunnerState } from '../../../functions/domain/runner-record.ts';
import type { VersionRecordState } from '../../../functions/domain/version-record.ts';
import {
  ConditionFailedError,
  type JobExpectation,
  type Store,
  StoreError,
  VersionRecordCorruptError,
} from '../../../functions/ports/store.ts';

/** A fresh, empty store per call. */
export type StoreFactory = () => Promise<Store>;

export function newJob(jobId = 101, overrides: Partial<NewJob> = {}): NewJob {
  return {
    jobId,
    runId: 7001,
    owner: 'Octo-Org',
    repo: 'hello-world',
    scopeKey: 'octo-org/hello-world',
    installationId: 42,
    labels: ['self-hosted', 'linux', 'x64'],
    ...overrides,
  };
}

function runner(name: string, overrides: Partial<RunnerRecord> = {}): Omit<RunnerRecord, 'updatedAt'> {
  return {
    name,
    kind: 'jit',
    scopeKey: 'octo-org/hello-world',
    installationId: 42,
    jobId: 101,
    version: '2.330.0',
    state: RunnerState.launched,
    createdAt: 1_000,
    ...overrides,
  };
}

function baseline(overrides: Partial<Baseline> = {}): Omit<Baseline, 'version' | 'updatedAt'> {
  return { scopeKey: 'octo-org/hello-world', state: 'present', method: 'workaround', workarounds: 1, ...overrides };
}

const T0 = 1_700_000_000_000;

/**
 * The behaviour every {@link Store} implementation must have. Registered once per implementation
 * (MemoryStore, DynamoStore on dynalite) so the fake used by use-case tests cannot drift from the real one.
 */
export function describeStoreContract(implementation: string, makeStore: StoreFactory): void {
  describe(`${implementation}: jobs.create`, () => {
    it('starts the history with the given note, or "recorded from webhook" without one', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(101), 'd1', T0);
      await store.jobs.create(newJob(102), 'discovered:run-1', T0, undefined, 'discovered in the Actions API');
      expect((await store.jobs.get(101))?.history).toEqual([
        { at: T0, status: 'queued', note: 'recorded from webhook' },
      ]);
      expect((await store.jobs.get(102))?.history).toEqual([
        { at: T0, status: 'queued', note: 'discovered in the Actions API' },
      ]);
    });

    it('records a new job as queued, attempt 1, version 1, with its delivery id and one history line', async () => {
      const store = await makeStore();
      expect(await store.jobs.create(newJob(), 'delivery-a', T0)).toEqual({ created: true });
      const job = await store.jobs.get(101);
      expect(job).toMatchObject({
        ...newJob(),
        status: JobStatus.queued,
        attempt: 1,
        heals: 0,
        version: 1,
        deliveryIds: ['delivery-a'],
        createdAt: T0,
        updatedAt: T0,
      });
      expect(job?.history).toHaveLength(1);
      expect(job?.history[0]).toMatchObject({ at: T0, status: JobStatus.queued });
    });

    it('keeps the pool a job was recorded in through reads, updates and listings; a job recorded without one has none', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(101, { pool: 'linux-arm64' }), 'd1', T0);
      await store.jobs.create(newJob(102), 'd2', T0);
      await store.jobs.update(101, {}, { set: { status: JobStatus.launched } }, T0 + 1);
      expect((await store.jobs.get(101))?.pool).toBe('linux-arm64');
      expect((await store.jobs.listOpen()).map((j) => [j.jobId, j.pool])).toEqual([
        [101, 'linux-arm64'],
        [102, undefined],
      ]);
    });

    it('keeps the first job on a duplicate, adding the new delivery id once, without a version bump', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'delivery-a', T0);
      expect(await store.jobs.create(newJob(101, { repo: 'other' }), 'delivery-b', T0 + 5)).toEqual({ created: false });
      expect(await store.jobs.create(newJob(), 'delivery-b', T0 + 6)).toEqual({ created: false });
      expect(await store.jobs.create(newJob(), 'delivery-a', T0 + 7)).toEqual({ created: false });
      const job = await store.jobs.get(101);
      expect(job?.deliveryIds.slice().sort()).toEqual(['delivery-a', 'delivery-b']);
      expect(job?.repo).toBe('hello-world');
      expect(job?.version).toBe(1);
      expect(job?.createdAt).toBe(T0);
    });

    it('tells a duplicate that the job is waiting for an approval, with no other change', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'delivery-a', T0);
      const waiting = await store.jobs.update(
        101,
        {},
        {
          set: { status: JobStatus.waiting, waitingSince: T0 + 1 },
          event: { status: JobStatus.waiting, note: 'wait' },
        },
        T0 + 1,
      );
      expect(await store.jobs.create(newJob(), 'delivery-b', T0 + 2)).toEqual({ created: false, waiting: true });
      const job = await store.jobs.get(101);
      expect(job).toMatchObject({ status: JobStatus.waiting, waitingSince: T0 + 1, version: waiting.version });
      expect(job?.deliveryIds.slice().sort()).toEqual(['delivery-a', 'delivery-b']);
    });

    it('creates exactly one job when the same event arrives ten times at once', async () => {
      const store = await makeStore();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.jobs.create(newJob(), `delivery-${i}`, T0 + i)),
      );
      expect(results.filter((r) => r.created)).toHaveLength(1);
      const job = await store.jobs.get(101);
      expect(job?.deliveryIds).toHaveLength(10);
      expect(job?.version).toBe(1);
    });

    it('answers undefined for a job it never recorded', async () => {
      const store = await makeStore();
      expect(await store.jobs.get(999)).toBeUndefined();
    });

    it('keeps a delivery id that arrives twice once', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'delivery-a', T0);
      expect(await store.jobs.create(newJob(), 'delivery-a', T0 + 1)).toEqual({ created: false });
      expect(await store.jobs.create(newJob(), 'delivery-a', T0 + 2)).toEqual({ created: false });
      const job = await store.jobs.get(101);
      expect(job?.deliveryIds).toEqual(['delivery-a']);
      expect(job?.version).toBe(1);
    });

    it('changes nothing but the delivery ids of a job the provisioner has moved on, with or without a lease', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'delivery-a', T0);
      await store.jobs.update(
        101,
        { statusIn: ['queued'], leaseFreeAt: T0 + 1 },
        { set: { status: 'provisioning', leaseOwner: 'p1', leaseExpiresAt: T0 + 60_000 } },
        T0 + 1,
      );
      await store.jobs.update(
        101,
        { leaseHolder: 'p1' },
        {
          set: { status: 'launched', runnerName: 'jr-101-1', runnerId: 9, launchId: 'b-1', launchedAt: T0 + 2 },
          remove: ['leaseOwner', 'leaseExpiresAt'],
          event: { status: 'launched', note: 'build b-1' },
        },
        T0 + 2,
      );
      const before = await store.jobs.get(101);

      expect(await store.jobs.create(newJob(101, { runId: 1 }), 'delivery-b', T0 + 3)).toEqual({ created: false });
      const lease = { owner: 'handoff-late', expiresAt: T0 + 90_000 };
      expect(await store.jobs.create(newJob(), 'delivery-c', T0 + 4, lease)).toEqual({ created: false });

      const after = await store.jobs.get(101);
      expect(after).toEqual({ ...before, deliveryIds: ['delivery-a', 'delivery-b', 'delivery-c'] });
      expect(after && 'leaseOwner' in after).toBe(false);
      // The job's first lease taker still gets its version-conditional write through.
      expect((await store.jobs.update(101, { version: 3 }, { set: { heals: 1 } }, T0 + 5)).version).toBe(4);
    });

    it('keeps a finished job in the ended list, at the time it ended, on a duplicate', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'delivery-a', T0);
      await store.jobs.update(101, {}, { set: { status: 'completed', conclusion: 'success' } }, T0 + 10);
      const before = await store.jobs.get(101);

      expect(await store.jobs.create(newJob(), 'delivery-b', T0 + 20)).toEqual({ created: false });
      expect(await store.jobs.create(newJob(), 'delivery-c', T0 + 21, { owner: 'h', expiresAt: T0 + 60_000 })).toEqual({
        created: false,
      });

      expect(await store.jobs.get(101)).toEqual({ ...before, deliveryIds: ['delivery-a', 'delivery-b', 'delivery-c'] });
      expect(await store.jobs.listOpen()).toEqual([]);
      expect((await store.jobs.listEndedSince(T0 + 10)).map((j) => j.jobId)).toEqual([101]);
      expect(await store.jobs.listEndedSince(T0 + 11)).toEqual([]);
    });

    it('records a new job leased when asked, returns it as stored, and leases a duplicate to nobody', async () => {
      const store = await makeStore();
      const result = await store.jobs.create(newJob(), 'delivery-a', T0, {
        owner: 'handoff-1',
        expiresAt: T0 + 20_000,
      });
      const stored = await store.jobs.get(101);
      expect(stored).toMatchObject({
        status: JobStatus.provisioning,
        leaseOwner: 'handoff-1',
        leaseExpiresAt: T0 + 20_000,
        attempt: 1,
        version: 1,
        deliveryIds: ['delivery-a'],
      });
      expect(result).toEqual({ created: true, leased: stored });

      const again = await store.jobs.create(newJob(), 'delivery-b', T0 + 1, {
        owner: 'handoff-2',
        expiresAt: T0 + 30_000,
      });
      expect(again).toEqual({ created: false });
      expect(await store.jobs.get(101)).toEqual({ ...stored, deliveryIds: ['delivery-a', 'delivery-b'] });
      await expect(
        store.jobs.update(101, { leaseFreeAt: T0 + 2, leaseHolder: 'handoff-2' }, { set: { heals: 1 } }, T0 + 2),
      ).rejects.toBeInstanceOf(ConditionFailedError);
    });

    it('gives the lease to exactly one of five concurrent leased deliveries of a new job: the creator', async () => {
      const store = await makeStore();
      const results = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          store.jobs.create(newJob(), `delivery-${i}`, T0, { owner: `handoff-${i}`, expiresAt: T0 + 20_000 }),
        ),
      );
      const created = results.filter((r) => r.created);
      expect(created).toHaveLength(1);
      expect(results.filter((r) => r.leased !== undefined)).toHaveLength(1);
      const job = await store.jobs.get(101);
      expect(job?.leaseOwner).toBe(created[0]?.leased?.leaseOwner);
      expect(job?.deliveryIds).toHaveLength(5);
      expect(job?.version).toBe(1);
    });
  });

  describe(`${implementation}: jobs.update`, () => {
    it('sets fields, bumps the version, stamps updatedAt and returns what get returns', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'd', T0);
      const updated = await store.jobs.update(
        101,
        {},
        { set: { status: JobStatus.provisioning, runnerName: 'jr-101-1', runnerId: 5 } },
        T0 + 10,
      );
      expect(updated).toMatchObject({ status: 'provisioning', runnerName: 'jr-101-1', runnerId: 5, version: 2 });
      expect(updated.updatedAt).toBe(T0 + 10);
      expect(updated.createdAt).toBe(T0);
      expect(await store.jobs.get(101)).toEqual(updated);
      const again = await store.jobs.update(101, {}, { set: { heals: 1 } }, T0 + 20);
      expect(again.version).toBe(3);
    });

    it('records no theft count on a new job and round-trips one set together with the attempt', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'd', T0);
      expect('thefts' in ((await store.jobs.get(101)) ?? {})).toBe(false);
      await store.jobs.update(101, { attempt: 1 }, { set: { attempt: 2, thefts: 1 } }, T0 + 1);
      const updated = await store.jobs.update(101, { attempt: 2 }, { set: { attempt: 3, thefts: 2 } }, T0 + 2);
      expect(updated).toMatchObject({ attempt: 3, thefts: 2 });
      expect(await store.jobs.get(101)).toMatchObject({ attempt: 3, thefts: 2 });
    });

    it("keeps the runner version's role written with the version, and removes both together", async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'd', T0);
      const set = { status: JobStatus.launched, runnerVersion: '2.332.0', runnerVersionRole: 'canary' } as const;
      expect(await store.jobs.update(101, {}, { set }, T0 + 1)).toMatchObject(set);
      expect(await store.jobs.get(101)).toMatchObject(set);
      const gone = await store.jobs.update(101, {}, { remove: ['runnerVersion', 'runnerVersionRole'] }, T0 + 2);
      expect('runnerVersionRole' in gone).toBe(false);
      expect('runnerVersionRole' in ((await store.jobs.get(101)) ?? {})).toBe(false);
    });

    it('leaves a field alone when set to undefined and deletes the fields listed in remove', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'd', T0);
      await store.jobs.update(101, {}, { set: { leaseOwner: 'p1', leaseExpiresAt: T0 + 1000, reason: 'x' } }, T0 + 1);
      const set = { reason: undefined, conclusion: 'success' } as unknown as { conclusion: string };
      const updated = await store.jobs.update(101, {}, { set, remove: ['leaseOwner', 'leaseExpiresAt'] }, T0 + 2);
      expect(updated.reason).toBe('x');
      expect(updated.conclusion).toBe('success');
      expect('leaseOwner' in updated).toBe(false);
      expect('leaseExpiresAt' in updated).toBe(false);
    });

    it('appends the event to history stamped with now, and leaves history alone without one', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'd', T0);
      await store.jobs.update(101, {}, { set: { status: 'provisioning' } }, T0 + 1);
      await store.jobs.update(
        101,
        {},
        { set: { status: 'launched' }, event: { status: 'launched', note: 'build b-1' } },
        T0 + 2,
      );
      const job = await store.jobs.update(
        101,
        {},
        { set: { status: 'running' }, event: { status: 'running', note: 'picked up' } },
        T0 + 3,
      );
      expect(job.history.map((e) => [e.at, e.status, e.note])).toEqual([
        [T0, 'queued', job.history[0]?.note],
        [T0 + 2, 'launched', 'build b-1'],
        [T0 + 3, 'running', 'picked up'],
      ]);
    });

    it('throws ConditionFailedError for a job that does not exist, and does not create it', async () => {
      const store = await makeStore();
      await expect(store.jobs.update(5, {}, { set: { status: 'failed' } }, T0)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      expect(await store.jobs.get(5)).toBeUndefined();
    });

    it('rejects changes to fields the store manages and fields both set and removed', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'd', T0);
      const managed = { set: { version: 9 } } as unknown as Parameters<Store['jobs']['update']>[2];
      await expect(store.jobs.update(101, {}, managed, T0)).rejects.toBeInstanceOf(TypeError);
      await expect(store.jobs.update(101, {}, { remove: ['status'] }, T0)).rejects.toBeInstanceOf(TypeError);
      await expect(store.jobs.update(101, {}, { set: { reason: 'a' }, remove: ['reason'] }, T0)).rejects.toBeInstanceOf(
        TypeError,
      );
      expect((await store.jobs.get(101))?.version).toBe(1);
    });

    /** Job 101 at version 3, attempt 2, status launched, lease held by p1 until T0 + 1000. */
    async function preparedStore(): Promise<Store> {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'd', T0);
      await store.jobs.update(101, {}, { set: { status: 'provisioning', attempt: 2 } }, T0);
      await store.jobs.update(
        101,
        {},
        { set: { status: 'launched', leaseOwner: 'p1', leaseExpiresAt: T0 + 1000 } },
        T0,
      );
      return store;
    }

    const cases: { part: string; holds: JobExpectation[]; fails: JobExpectation[] }[] = [
      {
        part: 'statusIn',
        holds: [{ statusIn: ['launched', 'running'] }],
        fails: [{ statusIn: ['queued'] }, { statusIn: [] }],
      },
      { part: 'version', holds: [{ version: 3 }], fails: [{ version: 2 }, { version: 4 }] },
      { part: 'attempt', holds: [{ attempt: 2 }], fails: [{ attempt: 1 }] },
      {
        part: 'leaseFreeAt (lease expired strictly before, or own lease)',
        holds: [{ leaseFreeAt: T0 + 1001 }, { leaseFreeAt: T0 + 10, leaseHolder: 'p1' }],
        fails: [{ leaseFreeAt: T0 + 10 }, { leaseFreeAt: T0 + 1000 }, { leaseFreeAt: T0 + 10, leaseHolder: 'p2' }],
      },
      { part: 'leaseHolder alone', holds: [{ leaseHolder: 'p1' }], fails: [{ leaseHolder: 'p2' }] },
      {
        part: 'all parts together (AND)',
        holds: [{ statusIn: ['launched'], version: 3, attempt: 2, leaseFreeAt: T0 + 5, leaseHolder: 'p1' }],
        fails: [
          { statusIn: ['launched'], version: 3, attempt: 2, leaseFreeAt: T0 + 5, leaseHolder: 'p2' },
          { statusIn: ['launched'], version: 3, attempt: 1, leaseFreeAt: T0 + 5, leaseHolder: 'p1' },
          { statusIn: ['queued'], version: 3, attempt: 2 },
        ],
      },
    ];
    for (const { part, holds, fails } of cases) {
      it(`writes when ${part} holds`, async () => {
        for (const expectation of holds) {
          const store = await preparedStore();
          const job = await store.jobs.update(101, expectation, { set: { reason: 'ok' } }, T0 + 50);
          expect(job.reason).toBe('ok');
          expect(job.version).toBe(4);
        }
      });
      it(`throws ConditionFailedError and changes nothing when ${part} fails`, async () => {
        for (const expectation of fails) {
          const store = await preparedStore();
          const before = await store.jobs.get(101);
          await expect(
            store.jobs.update(
              101,
              expectation,
              { set: { reason: 'no' }, event: { status: 'failed', note: 'x' } },
              T0 + 50,
            ),
          ).rejects.toBeInstanceOf(ConditionFailedError);
          expect(await store.jobs.get(101)).toEqual(before);
        }
      });
    }

    it('treats a job without a lease as free at any time', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'd', T0);
      const job = await store.jobs.update(
        101,
        { statusIn: ['queued'], leaseFreeAt: T0 },
        { set: { status: 'provisioning', leaseOwner: 'p1', leaseExpiresAt: T0 + 60_000 } },
        T0,
      );
      expect(job.leaseOwner).toBe('p1');
      await expect(
        store.jobs.update(101, { leaseFreeAt: T0 + 1 }, { set: { leaseOwner: 'p2' } }, T0 + 1),
      ).rejects.toBeInstanceOf(ConditionFailedError);
    });

    it('lets exactly one of ten concurrent writers on the same version win', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'd', T0);
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          store.jobs.update(
            101,
            { version: 1 },
            { set: { leaseOwner: `p${i}` }, event: { status: 'queued', note: `p${i}` } },
            T0 + i,
          ),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(9);
      for (const r of lost) expect(r.reason).toBeInstanceOf(ConditionFailedError);
      const job = await store.jobs.get(101);
      expect(job?.version).toBe(2);
      expect(job?.history).toHaveLength(2);
      expect(job?.history[1]?.note).toBe(job?.leaseOwner);
    });

    it('lets exactly one of ten concurrent lease takers hold the lease', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'd', T0);
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          store.jobs.update(
            101,
            { statusIn: ['queued'], leaseFreeAt: T0 },
            { set: { status: 'provisioning', leaseOwner: `p${i}`, leaseExpiresAt: T0 + 60_000 } },
            T0,
          ),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    });
  });

  describe(`${implementation}: jobs.listOpen`, () => {
    it('lists non-terminal jobs, oldest created first, and drops jobs once completed or failed', async () => {
      const store = await makeStore();
      for (const [i, id] of [201, 202, 203, 204].entries()) await store.jobs.create(newJob(id), `d${id}`, T0 + i);
      await store.jobs.update(201, {}, { set: { status: 'provisioning' } }, T0 + 10);
      await store.jobs.update(202, {}, { set: { status: 'completed', conclusion: 'success' } }, T0 + 11);
      await store.jobs.update(203, {}, { set: { status: 'failed', reason: 'config' } }, T0 + 12);
      expect((await store.jobs.listOpen()).map((j) => j.jobId)).toEqual([201, 204]);
      // Updating a finished job without changing its status must not bring it back.
      await store.jobs.update(202, {}, { set: { reason: 'late webhook' } }, T0 + 13);
      expect((await store.jobs.listOpen()).map((j) => j.jobId)).toEqual([201, 204]);
      const open = await store.jobs.listOpen();
      expect(open[0]).toEqual(await store.jobs.get(201));
    });

    it('honours the limit, keeping the oldest', async () => {
      const store = await makeStore();
      for (let i = 0; i < 7; i++) await store.jobs.create(newJob(300 + i), `d${i}`, T0 + 100 - i);
      expect((await store.jobs.listOpen(3)).map((j) => j.jobId)).toEqual([306, 305, 304]);
      expect(await store.jobs.listOpen(0)).toEqual([]);
      expect(await store.jobs.listOpen()).toHaveLength(7);
    });
  });

  describe(`${implementation}: jobs.listEndedSince`, () => {
    it('lists jobs that ended at or after the given time, oldest first, and no open job', async () => {
      const store = await makeStore();
      for (const id of [401, 402, 403, 404]) await store.jobs.create(newJob(id), `d${id}`, T0);
      await store.jobs.update(401, {}, { set: { status: 'completed', conclusion: 'success' } }, T0 + 10);
      await store.jobs.update(402, {}, { set: { status: 'failed', reason: 'config' } }, T0 + 30);
      await store.jobs.update(403, {}, { set: { status: 'completed', conclusion: 'failure' } }, T0 + 20);
      await store.jobs.update(404, {}, { set: { status: 'provisioning' } }, T0 + 40);

      expect((await store.jobs.listEndedSince(T0)).map((j) => j.jobId)).toEqual([401, 403, 402]);
      expect((await store.jobs.listEndedSince(T0 + 20)).map((j) => j.jobId)).toEqual([403, 402]);
      expect(await store.jobs.listEndedSince(T0 + 31)).toEqual([]);
      expect((await store.jobs.listEndedSince(T0, 1)).map((j) => j.jobId)).toEqual([401]);
      expect((await store.jobs.listEndedSince(T0))[0]).toEqual(await store.jobs.get(401));
    });

    it('drops a job that is opened again, and lists a finished job again after a later write', async () => {
      const store = await makeStore();
      for (const id of [501, 502]) await store.jobs.create(newJob(id), `d${id}`, T0);
      await store.jobs.update(501, {}, { set: { status: 'failed', reason: 'x' } }, T0 + 1);
      await store.jobs.update(502, {}, { set: { status: 'completed', conclusion: 'success' } }, T0 + 1);
      await store.jobs.update(501, {}, { set: { status: 'queued' } }, T0 + 2);
      await store.jobs.update(502, {}, { set: { reason: 'late note' } }, T0 + 5);

      expect((await store.jobs.listEndedSince(T0 + 3)).map((j) => j.jobId)).toEqual([502]);
      expect((await store.jobs.listOpen()).map((j) => j.jobId)).toEqual([501]);
    });
  });

  describe(`${implementation}: jobs.listBacklog`, () => {
    /** Puts job `id` of `repo` into `pool`'s backlog with `turn`, waiting since `since`. */
    async function wait(store: Store, id: number, repo: string, pool: string, turn: number, since: number) {
      await store.jobs.create(newJob(id, { repo, pool }), `d${id}`, T0);
      await store.jobs.update(
        id,
        {},
        { set: { status: JobStatus.waitingCapacity, pool, turn, backlogSince: since } },
        T0 + since,
      );
    }

    it('lists a pool’s waiting jobs in launch order (turn, then oldest, then job id), at most limit', async () => {
      const store = await makeStore();
      await wait(store, 601, 'a', 'small', 1, 5);
      await wait(store, 602, 'b', 'small', 0, 9);
      await wait(store, 603, 'c', 'small', 0, 3);
      await wait(store, 604, 'a', 'small', 0, 3);
      await wait(store, 605, 'a', 'large', 0, 1);

      expect((await store.jobs.listBacklog('small', 10)).map((j) => j.jobId)).toEqual([603, 604, 602, 601]);
      expect((await store.jobs.listBacklog('small', 2)).map((j) => j.jobId)).toEqual([603, 604]);
      expect((await store.jobs.listBacklog('large', 10)).map((j) => j.jobId)).toEqual([605]);
      expect(await store.jobs.listBacklog('none', 10)).toEqual([]);
      expect((await store.jobs.listBacklog('small', 1))[0]).toEqual(await store.jobs.get(603));
    });

    it('drops a job from the backlog once it leaves waiting-capacity, whatever it goes to', async () => {
      const store = await makeStore();
      await wait(store, 611, 'a', 'p', 0, 1);
      await wait(store, 612, 'a', 'p', 1, 2);
      await wait(store, 613, 'a', 'p', 2, 3);
      await store.jobs.update(611, {}, { set: { status: JobStatus.provisioning } }, T0 + 10);
      await store.jobs.update(612, {}, { set: { status: JobStatus.completed, conclusion: 'cancelled' } }, T0 + 10);

      expect((await store.jobs.listBacklog('p', 10)).map((j) => j.jobId)).toEqual([613]);
      expect((await store.jobs.listOpen()).map((j) => j.jobId)).toEqual([611, 613]);
    });

    it('refuses a write to waiting-capacity without the pool, turn and since it is listed by', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(621), 'd621', T0);
      await expect(
        store.jobs.update(621, {}, { set: { status: JobStatus.waitingCapacity, pool: 'p', turn: 0 } }, T0),
      ).rejects.toThrow(TypeError);
    });
  });

  describe(`${implementation}: pools`, () => {
    it('creates a pool record with expectVersion 0, then only accepts the version read, bumping it', async () => {
      const store = await makeStore();
      const first = await store.pools.put(
        { pool: 'p', slots: { r1: { jobId: 1, since: 5 } }, turns: {}, serving: 0 },
        0,
        T0,
      );
      expect(first).toMatchObject({ version: 1, updatedAt: T0, slots: { r1: { jobId: 1, since: 5 } } });
      await expect(store.pools.put({ ...first, slots: {} }, 0, T0 + 1)).rejects.toBeInstanceOf(ConditionFailedError);
      const second = await store.pools.put(
        { pool: 'p', slots: {}, turns: { 'o/a': { turn: 3, jobId: 9 } }, serving: 2 },
        1,
        T0 + 2,
      );
      expect(await store.pools.get('p')).toEqual(second);
      expect(second).toMatchObject({ version: 2, slots: {}, turns: { 'o/a': { turn: 3, jobId: 9 } }, serving: 2 });
      expect(await store.pools.get('other')).toBeUndefined();
    });

    it('lets exactly one of ten concurrent writers of the same version win', async () => {
      const store = await makeStore();
      await store.pools.put({ pool: 'p', slots: {}, turns: {}, serving: 0 }, 0, T0);
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          store.pools.put({ pool: 'p', slots: { [`r${i}`]: { jobId: i, since: 0 } }, turns: {}, serving: 0 }, 1, T0),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(Object.keys((await store.pools.get('p'))?.slots ?? {})).toHaveLength(1);
    });
  });

  describe(`${implementation}: baselines`, () => {
    it('creates with expectVersion 0, then only accepts the current version, bumping it each time', async () => {
      const store = await makeStore();
      const first = await store.baselines.put(baseline({ state: 'missing' }), 0, T0);
      expect(first).toMatchObject({ scopeKey: 'octo-org/hello-world', state: 'missing', version: 1, updatedAt: T0 });
      await expect(store.baselines.put(baseline(), 0, T0 + 1)).rejects.toBeInstanceOf(ConditionFailedError);
      const second = await store.baselines.put(baseline({ state: 'healing', healingOwner: 'p1' }), 1, T0 + 2);
      expect(second.version).toBe(2);
      await expect(store.baselines.put(baseline({ state: 'present' }), 1, T0 + 3)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      await expect(store.baselines.put(baseline({ state: 'present' }), 3, T0 + 3)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      expect(await store.baselines.get('octo-org/hello-world')).toEqual(second);
    });

    it('replaces the whole record, so fields left out are gone', async () => {
      const store = await makeStore();
      await store.baselines.put(baseline({ state: 'healing', healingOwner: 'p1', healingUntil: T0 + 60 }), 0, T0);
      const done = await store.baselines.put(
        baseline({ state: 'present', runnerId: 9, verifiedOnlineAt: T0 + 5 }),
        1,
        T0 + 5,
      );
      expect(done.healingOwner).toBeUndefined();
      expect(await store.baselines.get('octo-org/hello-world')).toEqual(done);
      expect('healingOwner' in ((await store.baselines.get('octo-org/hello-world')) ?? {})).toBe(false);
    });

    it('refuses a version-conditional put for a scope it never recorded', async () => {
      const store = await makeStore();
      await expect(store.baselines.put(baseline(), 1, T0)).rejects.toBeInstanceOf(ConditionFailedError);
      expect(await store.baselines.get('octo-org/hello-world')).toBeUndefined();
    });

    it('lists every baseline', async () => {
      const store = await makeStore();
      await store.baselines.put(baseline({ scopeKey: 'a/one' }), 0, T0 + 2);
      await store.baselines.put(baseline({ scopeKey: 'b/two' }), 0, T0 + 1);
      await store.baselines.put(baseline({ scopeKey: 'org-c' }), 0, T0 + 3);
      expect((await store.baselines.list()).map((b) => b.scopeKey).sort()).toEqual(['a/one', 'b/two', 'org-c']);
    });

    it('lets exactly one of ten concurrent creators win', async () => {
      const store = await makeStore();
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) => store.baselines.put(baseline({ healingOwner: `p${i}` }), 0, T0)),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    });
  });

  describe(`${implementation}: breakers`, () => {
    it('follows the same version rule as baselines', async () => {
      const store = await makeStore();
      const breaker = {
        scopeKey: 'octo-org',
        consecutiveFailures: 3,
        opens: 1,
        openUntil: T0 + 5000,
        reason: 'breaker open',
      };
      expect(await store.breakers.get('octo-org')).toBeUndefined();
      const first = await store.breakers.put(breaker, 0, T0);
      expect(first).toEqual({ ...breaker, version: 1, updatedAt: T0 });
      await expect(store.breakers.put(breaker, 0, T0)).rejects.toBeInstanceOf(ConditionFailedError);
      const closed = await store.breakers.put(
        { scopeKey: 'octo-org', consecutiveFailures: 0, opens: 0, openUntil: 0 },
        1,
        T0 + 9,
      );
      expect(closed).toEqual({
        scopeKey: 'octo-org',
        consecutiveFailures: 0,
        opens: 0,
        openUntil: 0,
        version: 2,
        updatedAt: T0 + 9,
      });
      await expect(store.breakers.put(breaker, 1, T0 + 10)).rejects.toBeInstanceOf(ConditionFailedError);
      expect(await store.breakers.get('octo-org')).toEqual(closed);
    });

    it('lists every breaker written, least recently changed first, closed ones included', async () => {
      const store = await makeStore();
      expect(await store.breakers.list()).toEqual([]);
      const open = { consecutiveFailures: 3, opens: 1, openUntil: T0 + 5000, reason: 'breaker open' };
      await store.breakers.put({ scopeKey: 'b/two', ...open }, 0, T0 + 2);
      await store.breakers.put({ scopeKey: 'a/one', consecutiveFailures: 0, opens: 0, openUntil: 0 }, 0, T0 + 1);
      await store.breakers.put({ scopeKey: 'b/two', ...open, opens: 2 }, 1, T0 + 3);
      const listed = await store.breakers.list();
      expect(listed.map((b) => [b.scopeKey, b.version, b.opens])).toEqual([
        ['a/one', 1, 0],
        ['b/two', 2, 2],
      ]);
    });
  });

  describe(`${implementation}: runners`, () => {
    it('stores and returns a runner with updatedAt = now', async () => {
      const store = await makeStore();
      await store.runners.put(runner('jr-101-1', { launchId: 'build-1' }), T0);
      expect(await store.runners.get('jr-101-1')).toEqual({
        ...runner('jr-101-1', { launchId: 'build-1' }),
        updatedAt: T0,
      });
      expect(await store.runners.get('nope')).toBeUndefined();
    });

    it('updates fields, conditionally on the state when asked', async () => {
      const store = await makeStore();
      await store.runners.put(runner('jr-101-1'), T0);
      const running = await store.runners.update('jr-101-1', { state: 'running', runnerId: 77 }, T0 + 1, ['launched']);
      expect(running).toMatchObject({ state: 'running', runnerId: 77, updatedAt: T0 + 1, createdAt: 1_000 });
      await expect(store.runners.update('jr-101-1', { state: 'running' }, T0 + 2, ['launched'])).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      const took = await store.runners.update('jr-101-1', { tookJobId: 555 }, T0 + 3);
      expect(took.tookJobId).toBe(555);
      expect(await store.runners.get('jr-101-1')).toEqual(took);
    });

    it('throws ConditionFailedError when updating a runner it never recorded', async () => {
      const store = await makeStore();
      await expect(store.runners.update('ghost', { state: 'stopped' }, T0)).rejects.toBeInstanceOf(
        ConditionFailedError,
      );
      expect(await store.runners.get('ghost')).toBeUndefined();
    });

    it('lists only runners that are not stopped', async () => {
      const store = await makeStore();
      await store.runners.put(runner('r1', { createdAt: 3 }), T0);
      await store.runners.put(runner('r2', { createdAt: 1 }), T0);
      await store.runners.put(runner('r3', { createdAt: 2, state: 'stopped' }), T0);
      await store.runners.put(runner('r4', { createdAt: 4, kind: 'baseline' }), T0);
      await store.runners.update('r4', { state: 'stopping' }, T0 + 1);
      await store.runners.update('r1', { state: 'stopped' }, T0 + 1);
      expect((await store.runners.listActive()).map((r) => r.name).sort()).toEqual(['r2', 'r4']);
      await store.runners.update('r3', { state: 'running' }, T0 + 2);
      expect((await store.runners.listActive()).map((r) => r.name).sort()).toEqual(['r2', 'r3', 'r4']);
    });
  });

  describe(`${implementation}: locks, values and marks`, () => {
    it('gives a lease to one owner at a time until it expires or is released', async () => {
      const store = await makeStore();
      expect(await store.locks.acquire('reconciler', 'a', T0, 1000)).toBe(true);
      expect(await store.locks.acquire('reconciler', 'b', T0 + 500, 1000)).toBe(false);
      expect(await store.locks.acquire('reconciler', 'a', T0 + 900, 1000)).toBe(true); // renewal → until T0+1900
      expect(await store.locks.acquire('reconciler', 'b', T0 + 1500, 1000)).toBe(false);
      expect(await store.locks.acquire('reconciler', 'b', T0 + 1901, 1000)).toBe(true);
      expect(await store.locks.acquire('other-lock', 'a', T0, 1000)).toBe(true);
    });

    it('releases only for the owner', async () => {
      const store = await makeStore();
      await store.locks.acquire('l', 'a', T0, 60_000);
      await store.locks.release('l', 'b');
      expect(await store.locks.acquire('l', 'b', T0 + 1, 60_000)).toBe(false);
      await store.locks.release('l', 'a');
      expect(await store.locks.acquire('l', 'b', T0 + 2, 60_000)).toBe(true);
      await store.locks.release('never-taken', 'a');
    });

    it('lets exactly one of ten concurrent owners take a free lease', async () => {
      const store = await makeStore();
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => store.locks.acquire('race', `o${i}`, T0, 1000)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('stores small named values', async () => {
      const store = await makeStore();
      expect(await store.locks.getValue('cursor')).toBeUndefined();
      await store.locks.setValue('cursor', '12345', T0);
      await store.locks.setValue('cursor', '12346', T0 + 1);
      expect(await store.locks.getValue('cursor')).toBe('12346');
    });

    it('marks a name once, even under concurrency, and again only after the mark expired', async () => {
      const store = await makeStore();
      const results = await Promise.all(Array.from({ length: 10 }, () => store.locks.mark('redeliver#77', T0, 1000)));
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.locks.mark('redeliver#77', T0 + 1000, 1000)).toBe(false);
      expect(await store.locks.mark('redeliver#78', T0, 1000)).toBe(true);
      expect(await store.locks.mark('redeliver#77', T0 + 1001, 1000)).toBe(true);
    });
  });

  describe(`${implementation}: isolation`, () => {
    it('returns copies: mutating a returned record does not change the store', async () => {
      const store = await makeStore();
      await store.jobs.create(newJob(), 'd', T0);
      const job = await store.jobs.get(101);
      job?.labels.push('gpu');
      job?.history.push({ at: 0, status: 'failed', note: 'x' });
      job?.deliveryIds.push('forged');
      const updated = await store.jobs.update(101, {}, { set: { heals: 1 } }, T0 + 1);
      updated.labels.push('arm64');
      const again = await store.jobs.get(101);
      expect(again?.labels).toEqual(['self-hosted', 'linux', 'x64']);
      expect(again?.history).toHaveLength(1);
      expect(again?.deliveryIds).toEqual(['d']);
    });

    it('does not keep a reference to the objects it was given', async () => {
      const store = await makeStore();
      const input = newJob();
      await store.jobs.create(input, 'd', T0);
      input.labels.push('gpu');
      const labels = ['a'];
      await store.jobs.update(101, {}, { set: { labels } }, T0 + 1);
      labels.push('b');
      expect((await store.jobs.get(101))?.labels).toEqual(['a']);
    });
  });
}

// ───────────── the runner version record ─────────────

/** A fresh, empty store, and a way to put a raw item in the place of its version record (as another writer might). */
export type VersionStoreFactory = () => Promise<{
  store: Store;
  writeRaw(raw: Record<string, unknown>): Promise<void>;
}>;

const SHA_A = 'a'.repeat(64);
const SHA_B = 'b'.repeat(64);

function versionState(overrides: Partial<VersionRecordState> = {}): VersionRecordState {
  return {
    current: { version: '2.330.0', checksums: { 'linux-x64': SHA_A, 'linux-arm64': SHA_B }, adoptedAt: T0 },
    bad: [],
    ...overrides,
  };
}

const BAD_RELEASE = { version: '2.330.1', reason: 'start-timeout: 3 of 4 canary jobs', at: T0 + 5 };
const withCanary = versionState({
  previous: { version: '2.329.0', checksums: {}, adoptedAt: T0 - 1_000 },
  canary: { version: '2.331.0', checksums: { 'linux-x64': SHA_B }, since: T0 + 10, share: 10 },
  bad: [BAD_RELEASE],
});

/** The version record's behaviour, registered for both stores like {@link describeStoreContract}. */
export function describeVersionRecordContract(implementation: string, makeStore: VersionStoreFactory): void {
  describe(`${implementation}: versions`, () => {
    it('has no record until one is written', async () => {
      const { store } = await makeStore();
      expect(await store.versions.get()).toBeUndefined();
    });

    it('creates the record with expectRevision 0 at revision 1 and returns what get returns', async () => {
      const { store } = await makeStore();
      const stored = await store.versions.put(withCanary, 0, T0 + 20);
      expect(stored).toEqual({ ...withCanary, revision: 1, updatedAt: T0 + 20 });
      expect(await store.versions.get()).toEqual(stored);
    });

    it('refuses a second create, naming the absent part, and keeps the first record', async () => {
      const { store } = await makeStore();
      await store.versions.put(versionState(), 0, T0);
      const second = store.versions.put(withCanary, 0, T0 + 1);
      await expect(second).rejects.toBeInstanceOf(ConditionFailedError);
      await expect(second).rejects.toThrow('version record put [absent]: condition failed');
      expect(await store.versions.get()).toEqual({ ...versionState(), revision: 1, updatedAt: T0 });
    });

    it('updates only from the revision read, bumping it, and refuses a stale revision naming the revision part', async () => {
      const { store } = await makeStore();
      await store.versions.put(versionState(), 0, T0);
      expect((await store.versions.put(withCanary, 1, T0 + 1)).revision).toBe(2);
      const stale = store.versions.put(versionState(), 1, T0 + 2);
      await expect(stale).rejects.toBeInstanceOf(ConditionFailedError);
      await expect(stale).rejects.toThrow('version record put [revision]: condition failed');
      expect(await store.versions.get()).toEqual({ ...withCanary, revision: 2, updatedAt: T0 + 1 });
    });

    it('refuses a revision-conditional write when no record exists, and creates none', async () => {
      const { store } = await makeStore();
      await expect(store.versions.put(versionState(), 3, T0)).rejects.toBeInstanceOf(ConditionFailedError);
      expect(await store.versions.get()).toBeUndefined();
    });

    it('replaces the whole record: a canary or previous version left out is gone', async () => {
      const { store } = await makeStore();
      await store.versions.put(withCanary, 0, T0);
      await store.versions.put(versionState({ bad: withCanary.bad }), 1, T0 + 1);
      const read = await store.versions.get();
      expect(read).toEqual({ ...versionState({ bad: withCanary.bad }), revision: 2, updatedAt: T0 + 1 });
      expect(read).not.toHaveProperty('canary');
      expect(read).not.toHaveProperty('previous');
    });

    it('lets exactly one of ten concurrent adopters of the same revision win', async () => {
      const { store } = await makeStore();
      await store.versions.put(versionState(), 0, T0);
      const results = await Promise.allSettled(
        Array.from({ length: 10 }, (_, i) =>
          store.versions.put(
            versionState({ canary: { version: `2.33${i}.1`, checksums: {}, since: T0 + i, share: 10 } }),
            1,
            T0 + i,
          ),
        ),
      );
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(ConditionFailedError);
      expect((await store.versions.get())?.revision).toBe(2);
    });

    it.each<[string, VersionRecordState]>([
      ['an inexact version', versionState({ current: { version: 'latest', checksums: {}, adoptedAt: T0 } })],
      [
        'a malformed digest',
        versionState({ current: { version: '2.330.0', checksums: { 'linux-x64': 'xyz' }, adoptedAt: T0 } }),
      ],
      [
        'a canary share above 100',
        versionState({ canary: { version: '2.331.0', checksums: {}, since: T0, share: 101 } }),
      ],
      ['a bad release listed twice', versionState({ bad: [BAD_RELEASE, BAD_RELEASE] })],
      ['a canary that is marked bad', { ...withCanary, bad: [{ version: '2.331.0', reason: 'x', at: T0 }] }],
    ])('refuses to write %s (TypeError) and writes nothing', async (_, state) => {
      const { store } = await makeStore();
      await expect(store.versions.put(state, 0, T0)).rejects.toBeInstanceOf(TypeError);
      expect(await store.versions.get()).toBeUndefined();
    });

    it.each<[string, Record<string, unknown>]>([
      ['without a current version', { bad: [], revision: 1, updatedAt: T0 }],
      [
        'with a malformed digest',
        {
          ...versionState(),
          current: { version: '2.330.0', checksums: { 'linux-x64': 'nope' }, adoptedAt: T0 },
          revision: 1,
          updatedAt: T0,
        },
      ],
      ['with a revision that is not a number', { ...versionState(), revision: 'one', updatedAt: T0 }],
      ['without its bad releases', { current: versionState().current, revision: 4, updatedAt: T0 }],
    ])('raises VersionRecordCorruptError for a stored record %s, and never recreates it', async (_, raw) => {
      const { store, writeRaw } = await makeStore();
      await writeRaw(raw);
      const read = store.versions.get();
      await expect(read).rejects.toBeInstanceOf(VersionRecordCorruptError);
      await expect(read).rejects.toBeInstanceOf(StoreError);
      const error = await store.versions.get().catch((e: unknown) => e);
      expect((error as Error).cause).toBeDefined();
      expect((error as Error).message).toMatch(/^version record is corrupt \(/);
      // A first write does not paper over it either.
      await expect(store.versions.put(versionState(), 0, T0)).rejects.toBeInstanceOf(ConditionFailedError);
      await expect(store.versions.get()).rejects.toBeInstanceOf(VersionRecordCorruptError);
    });

    it('drops attributes it does not know when reading', async () => {
      const { store, writeRaw } = await makeStore();
      await writeRaw({ ...versionState(), revision: 3, updatedAt: T0, writtenBy: 'a later release' });
      expect(await store.versions.get()).toEqual({ ...versionState(), revision: 3, updatedAt: T0 });
    });

    it('returns copies: mutating a returned record does not change the store', async () => {
      const { store } = await makeStore();
      const stored = await store.versions.put(withCanary, 0, T0);
      (stored.bad as unknown as unknown[]).push({ version: '9.9.9' });
      (stored.current.checksums as Record<string, string>)['linux-x64'] = SHA_B;
      expect(await store.versions.get()).toEqual({ ...withCanary, revision: 1, updatedAt: T0 });
    });
  });
}
