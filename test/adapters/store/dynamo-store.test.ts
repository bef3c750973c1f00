import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStoreRequests } from '../../../functions/adapters/dynamodb/count-store-requests.ts';
import { createDynamoStore } from '../../../functions/adapters/dynamodb/dynamo-store.ts';
import { ensureTable } from '../../../functions/adapters/dynamodb/ensure-table.ts';
import { createLocalDynamoClient } from '../../../functions/adapters/dynamodb/local-client.ts';
import {
  LIST_INDEX,
  ListName,
  TERMINAL_JOB_RETENTION_MS,
  TTL_ATTRIBUTE,
} from '../../../functions/adapters/dynamodb/table-schema.ts';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../../functions/adapters/local/embedded-dynamodb.ts';
import { describeStoreContract, newJob } from './store-contract.ts';

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

/** A fresh table per test keeps tests independent on one dynalite server. */
async function freshTable(): Promise<string> {
  const tableName = `store-test-${++tables}`;
  await ensureTable(client, tableName);
  return tableName;
}

describeStoreContract('DynamoStore on dynalite', async () =>
  createDynamoStore({ client, tableName: await freshTable() }),
);

describe('DynamoStore request budget', () => {
  it('records a new job with one request and updates it with one request each', async () => {
    const tableName = await freshTable();
    const counted = createLocalDynamoClient(server.endpoint);
    const counter = countStoreRequests(counted);
    try {
      const store = createDynamoStore({ client: counted, tableName });
      await store.jobs.create(newJob(), 'd1', 1_000);
      expect(counter.byCommand()).toEqual({ PutItemCommand: 1 });
      counter.reset();
      await store.jobs.update(
        101,
        { statusIn: ['queued'], leaseFreeAt: 1_001 },
        { set: { status: 'provisioning' } },
        1_001,
      );
      await store.jobs.update(
        101,
        { version: 2 },
        { set: { status: 'launched' }, event: { status: 'launched', note: 'x' } },
        1_002,
      );
      expect(counter.byCommand()).toEqual({ UpdateItemCommand: 2 });
      counter.reset();
      await store.jobs.create(newJob(), 'd2', 1_003);
      expect(counter.total()).toBe(2); // failed PutItem + UpdateItem ADD of the delivery id
      counter.detach();
      await store.jobs.get(101);
      expect(counter.total()).toBe(2);
    } finally {
      counted.destroy();
    }
  });

  it('records a new job already leased with one request and returns it as stored; a duplicate gets no lease', async () => {
    const tableName = await freshTable();
    const counted = createLocalDynamoClient(server.endpoint);
    const counter = countStoreRequests(counted);
    try {
      const store = createDynamoStore({ client: counted, tableName });
      const lease = { owner: 'handoff-1', expiresAt: 21_000 };
      const result = await store.jobs.create(newJob(), 'd1', 1_000, lease);
      expect(counter.byCommand()).toEqual({ PutItemCommand: 1 });
      expect(result.created).toBe(true);
      const stored = await store.jobs.get(101);
      expect(stored).toMatchObject({ status: 'provisioning', leaseOwner: 'handoff-1', leaseExpiresAt: 21_000 });
      expect(result.leased).toEqual(stored);
      // The lease holds: an ordinary lease write by another owner fails until it expires.
      await expect(
        store.jobs.update(101, { statusIn: ['provisioning'], leaseFreeAt: 2_000, leaseHolder: 'p2' }, {}, 2_000),
      ).rejects.toThrow();
      await store.jobs.update(101, { statusIn: ['provisioning'], leaseFreeAt: 21_001, leaseHolder: 'p2' }, {}, 21_001);
      expect(await store.jobs.create(newJob(), 'd2', 3_000, { owner: 'handoff-2', expiresAt: 23_000 })).toEqual({
        created: false,
      });
    } finally {
      counted.destroy();
    }
  });

  it('counts each failed conditional update as one request', async () => {
    const tableName = await freshTable();
    const counted = createLocalDynamoClient(server.endpoint);
    const counter = countStoreRequests(counted);
    try {
      const store = createDynamoStore({ client: counted, tableName });
      await expect(store.jobs.update(1, { version: 1 }, { set: { heals: 1 } }, 1)).rejects.toThrow();
      expect(counter.total()).toBe(1);
    } finally {
      counted.destroy();
    }
  });
});

describe('DynamoStore item layout', () => {
  async function rawJob(tableName: string, jobId: number) {
    const doc = DynamoDBDocumentClient.from(client);
    const result = await doc.send(new GetCommand({ TableName: tableName, Key: { pk: `JOB#${jobId}`, sk: 'META' } }));
    return result.Item ?? {};
  }

  it('keeps open jobs in the open list without TTL, and moves terminal jobs to the ended list with a 30-day TTL in seconds', async () => {
    const tableName = await freshTable();
    const store = createDynamoStore({ client, tableName });
    await store.jobs.create(newJob(), 'd', 1_000_000);
    const open = await rawJob(tableName, 101);
    expect(open[LIST_INDEX.partitionKey]).toBe(ListName.openJobs);
    expect(open[TTL_ATTRIBUTE]).toBeUndefined();
    expect(open.deliveryIds).toBeInstanceOf(Set);
    const now = 1_700_000_000_000;
    await store.jobs.update(101, {}, { set: { status: 'completed' } }, now);
    const done = await rawJob(tableName, 101);
    expect(done[LIST_INDEX.partitionKey]).toBe(ListName.endedJobs);
    expect(done[LIST_INDEX.sortKey]).toBe(now);
    expect(done[TTL_ATTRIBUTE]).toBe(Math.ceil((now + TERMINAL_JOB_RETENTION_MS) / 1000));
  });

  it('never returns the table attributes to the domain', async () => {
    const tableName = await freshTable();
    const store = createDynamoStore({ client, tableName });
    await store.jobs.create(newJob(), 'd', 1);
    const job = await store.jobs.update(101, {}, { set: { status: 'failed' } }, 2);
    for (const attribute of ['pk', 'sk', 'entity', LIST_INDEX.partitionKey, LIST_INDEX.sortKey, TTL_ATTRIBUTE]) {
      expect(job).not.toHaveProperty(attribute);
      expect(await store.jobs.get(101)).not.toHaveProperty(attribute);
    }
  });
});
