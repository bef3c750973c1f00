import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  countWriteUnits,
  itemSize,
  sustainableJobsPerSecond,
} from '../../functions/adapters/dynamodb/count-write-units.ts';
import { createDynamoStore } from '../../functions/adapters/dynamodb/dynamo-store.ts';
import { ensureTable } from '../../functions/adapters/dynamodb/ensure-table.ts';
import { createLocalDynamoClient } from '../../functions/adapters/dynamodb/local-client.ts';
import { LIST_INDEX, ListName, listKey } from '../../functions/adapters/dynamodb/table-schema.ts';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../functions/adapters/local/embedded-dynamodb.ts';
import { newJob } from '../adapters/store/store-contract.ts';

let server: EmbeddedDynamo;
let client: DynamoDBClient;
let tables = 0;

beforeAll(async () => {
  server = await startEmbeddedDynamo();
  client = createLocalDynamoClient(server.endpoint);
});

afterAll(async () => {
  client?.destroy();
  await server?.close();
});

async function counted(projection: 'ALL' | 'KEYS_ONLY', now?: () => number) {
  const tableName = `write-units-${++tables}`;
  await ensureTable(client, tableName);
  const own = createLocalDynamoClient(server.endpoint);
  const counter = countWriteUnits(own, { ...LIST_INDEX, projection }, now);
  return { store: createDynamoStore({ client: own, tableName }), counter, own };
}

/** A job's life: recorded, leased, launched, one write without a status change, then finished. */
async function lifeOfAJob(store: ReturnType<typeof createDynamoStore>) {
  await store.jobs.create(newJob(), 'd1', 1_000);
  await store.jobs.update(101, { statusIn: ['queued'] }, { set: { status: 'provisioning' } }, 1_001);
  await store.jobs.update(101, {}, { set: { status: 'launched', runnerName: 'r-101' } }, 1_002);
  await store.jobs.update(101, {}, { set: { heals: 0 } }, 1_003);
  await store.jobs.update(101, {}, { set: { status: 'completed', conclusion: 'success' } }, 1_004);
}

describe('write unit counter', () => {
  it('sizes items as DynamoDB does: names plus values, numbers by digit pairs', () => {
    expect(itemSize({ pk: { S: 'JOB#1' } })).toBe(2 + 5);
    expect(itemSize({ n: { N: '1234' } })).toBe(1 + 3);
    expect(itemSize({ l: { L: [{ S: 'ab' }] } })).toBe(1 + 3 + 1 + 2);
  });

  it('counts one index put when a job is recorded and one move when it ends, with keys-only entries', async () => {
    const { store, counter, own } = await counted('KEYS_ONLY');
    try {
      await lifeOfAJob(store);
      const report = counter.report();
      expect(report.indexWrites).toBe(3);
      expect(report.byKey[`${LIST_INDEX.name} ${listKey(ListName.openJobs, 101)}`]).toBe(2);
      expect(report.byKey[`${LIST_INDEX.name} ${listKey(ListName.endedJobs, 101)}`]).toBe(1);
      expect(report.tableWriteUnits).toBeGreaterThanOrEqual(5);
    } finally {
      own.destroy();
    }
  });

  it('counts a rewrite of the entry on every write of an item when the index projects all attributes', async () => {
    const { store, counter, own } = await counted('ALL');
    try {
      await lifeOfAJob(store);
      // put on create; 3 writes keeping the keys rewrite the entry (ALL); the end moves it (delete + put).
      expect(counter.report().indexWrites).toBe(1 + 3 + 2);
    } finally {
      own.destroy();
    }
  });

  it('reports the busiest second of a key, and resets', async () => {
    // A clock that stays in one second for the job's life, then moves on for a second job's record.
    let at = 5_000;
    const { store, counter, own } = await counted('KEYS_ONLY', () => at);
    try {
      await lifeOfAJob(store);
      at = 6_000;
      await store.jobs.create(newJob(102), 'd2', 6_000);
      const { peak, byKey } = counter.report();
      expect(peak?.key).toBe('table JOB#101');
      expect(peak?.writeUnitsPerSecond).toBe(byKey['table JOB#101']);
      expect(peak?.writeUnitsPerSecond).toBeGreaterThanOrEqual(5);
      counter.reset();
      expect(counter.report()).toMatchObject({ indexWrites: 0, tableWriteUnits: 0, peak: undefined, byKey: {} });
    } finally {
      own.destroy();
    }
  });

  it('bounds the job rate by the key with the most write units per job', () => {
    const report = {
      tableWriteUnits: 0,
      indexWrites: 0,
      indexWriteUnits: 0,
      peak: undefined,
      byKey: { 'gsi1 JOB_OPEN': 4_000, 'table JOB#1': 5, 'table LOCK#x': 10 },
    };
    expect(sustainableJobsPerSecond(report, 1_000)).toEqual({ key: 'gsi1 JOB_OPEN', perJob: 4, jobsPerSecond: 250 });
  });
});
