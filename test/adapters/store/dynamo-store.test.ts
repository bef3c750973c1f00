import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countStoreRequests } from '../../../functions/adapters/dynamodb/count-store-requests.ts';
import { createDynamoStore } from '../../../functions/adapters/dynamodb/dynamo-store.ts';
import { ensureTable } from '../../../functions/adapters/dynamodb/ensure-table.ts';
import { createLocalDynamoClient } from '../../../functions/adapters/dynamodb/local-client.ts';
import {
  Entity,
  itemKey,
  LIST_INDEX,
  LIST_SHARDS,
  ListName,
  listKey,
  listShard,
  TERMINAL_JOB_RETENTION_MS,
  TTL_ATTRIBUTE,
  VERSION_RECORD_ID,
} from '../../../functions/adapters/dynamodb/table-schema.ts';
import { type EmbeddedDynamo, startEmbeddedDynamo } from '../../../functions/adapters/local/embedded-dynamodb.ts';
import { describeStoreContract, describeVersionRecordContract, newJob } from './store-contract.ts';

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

describeVersionRecordContract('DynamoStore on dynalite', async () => {
  const tableName = await freshTable();
  const doc = DynamoDBDocumentClient.from(client);
  const writeRaw = async (raw: Record<string, unknown>) => {
    const item = { ...raw, ...itemKey(Entity.version, VERSION_RECORD_ID), entity: Entity.version };
    await doc.send(new PutCommand({ TableName: tableName, Item: item }));
  };
  return { store: createDynamoStore({ client, tableName }), writeRaw };
});

describe('DynamoStore request budget', () => {
  it('records a new job with one request, updates it with one request each, and takes a duplicate in two', async () => {
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
      expect(await store.jobs.create(newJob(), 'd2', 1_003)).toEqual({ created: false });
      // A failed conditional PutItem, then the UpdateItem that adds the delivery id (why not one
      // request: see putNew in dynamo-jobs.ts).
      expect(counter.byCommand()).toEqual({ PutItemCommand: 1, UpdateItemCommand: 1 });
      counter.detach();
      await store.jobs.get(101);
      expect(counter.total()).toBe(2); // detached: the read after it is not counted
      expect((await store.jobs.get(101))?.deliveryIds).toEqual(['d1', 'd2']);
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
      counter.reset();
      expect(await store.jobs.create(newJob(), 'd2', 3_000, { owner: 'handoff-2', expiresAt: 23_000 })).toEqual({
        created: false,
      });
      expect(counter.byCommand()).toEqual({ PutItemCommand: 1, UpdateItemCommand: 1 });
      expect(await store.jobs.get(101)).toMatchObject({ leaseOwner: 'handoff-1', leaseExpiresAt: 21_000, version: 2 });
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
    expect(open[LIST_INDEX.partitionKey]).toBe(listKey(ListName.openJobs, 101));
    expect(open[LIST_INDEX.partitionKey]).toBe(`JOB_OPEN#${listShard(101)}`);
    expect(open[LIST_INDEX.sortKey]).toBe(1_000_000);
    expect(open[TTL_ATTRIBUTE]).toBeUndefined();
    expect(open.deliveryIds).toBeInstanceOf(Set);
    const now = 1_700_000_000_000;
    await store.jobs.update(101, {}, { set: { status: 'completed' } }, now);
    const done = await rawJob(tableName, 101);
    expect(done[LIST_INDEX.partitionKey]).toBe(listKey(ListName.endedJobs, 101));
    expect(done[LIST_INDEX.sortKey]).toBe(now);
    expect(done[TTL_ATTRIBUTE]).toBe(Math.ceil((now + TERMINAL_JOB_RETENTION_MS) / 1000));
  });

  it("leaves an open job's index keys alone on writes that keep it open, and sorts it by creation", async () => {
    const tableName = await freshTable();
    const store = createDynamoStore({ client, tableName });
    await store.jobs.create(newJob(), 'd', 1_000);
    await store.jobs.update(101, { statusIn: ['queued'] }, { set: { status: 'provisioning' } }, 2_000);
    await store.jobs.update(101, {}, { set: { heals: 1 } }, 3_000);
    await store.jobs.update(101, {}, { set: { status: 'launched' }, event: { status: 'launched', note: 'x' } }, 4_000);
    const item = await rawJob(tableName, 101);
    expect(item[LIST_INDEX.partitionKey]).toBe(listKey(ListName.openJobs, 101));
    expect(item[LIST_INDEX.sortKey]).toBe(1_000);
    expect(item.updatedAt).toBe(4_000);
  });

  it('spreads jobs over every shard and lists them merged, oldest first', async () => {
    const tableName = await freshTable();
    const store = createDynamoStore({ client, tableName });
    const ids = Array.from({ length: 40 }, (_, i) => 1_000 + i);
    // Created newest id first, so creation order is the reverse of id order.
    for (const [i, id] of [...ids].reverse().entries()) await store.jobs.create(newJob(id), `d${id}`, 10_000 + i);
    expect(new Set(ids.map((id) => listShard(id))).size).toBe(LIST_SHARDS);
    expect((await store.jobs.listOpen()).map((j) => j.jobId)).toEqual([...ids].reverse());
    expect((await store.jobs.listOpen(5)).map((j) => j.jobId)).toEqual([...ids].reverse().slice(0, 5));
    for (const [i, id] of ids.entries()) {
      await store.jobs.update(id, {}, { set: { status: 'completed', conclusion: 'success' } }, 20_000 + i);
    }
    expect(await store.jobs.listOpen()).toEqual([]);
    expect((await store.jobs.listEndedSince(20_010)).map((j) => j.jobId)).toEqual(ids.slice(10));
    expect((await store.jobs.listEndedSince(20_010, 3)).map((j) => j.jobId)).toEqual(ids.slice(10, 13));
  });

  it('reads, updates and moves items written by the older unsharded layout (no migration)', async () => {
    // The layout before the sharding: bare list names, open jobs sorted by their last write, and a table
    // whose listing index projects ALL (what `ensureTable` created then, and what STATE_DIR keeps).
    const tableName = `store-test-legacy-${++tables}`;
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
          { AttributeName: LIST_INDEX.partitionKey, AttributeType: 'S' },
          { AttributeName: LIST_INDEX.sortKey, AttributeType: 'N' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: LIST_INDEX.name,
            KeySchema: [
              { AttributeName: LIST_INDEX.partitionKey, KeyType: 'HASH' },
              { AttributeName: LIST_INDEX.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: 'ALL' },
          },
        ],
      }),
    );
    const ensured = await ensureTable(client, tableName);
    expect(ensured).toMatchObject({ created: false, backlogIndex: false });
    const store = createDynamoStore({ client, tableName, backlogIndex: ensured.backlogIndex });
    const doc = DynamoDBDocumentClient.from(client);
    for (const id of [701, 702, 703]) await store.jobs.create(newJob(id), `d${id}`, 1_000 + id);
    await store.runners.put(
      {
        name: 'legacy-runner',
        kind: 'jit',
        state: 'running',
        scopeKey: 'org/repo',
        installationId: 1,
        version: '2.330.0',
        createdAt: 5,
      },
      1_000,
    );
    const legacy = async (pk: string, list: string, sort: number) =>
      doc.send(
        new UpdateCommand({
          TableName: tableName,
          Key: { pk, sk: 'META' },
          UpdateExpression: 'SET #gpk = :list, #gsk = :sort',
          ExpressionAttributeNames: { '#gpk': LIST_INDEX.partitionKey, '#gsk': LIST_INDEX.sortKey },
          ExpressionAttributeValues: { ':list': list, ':sort': sort },
        }),
      );
    await legacy('JOB#701', 'JOB_OPEN', 9_000);
    await store.jobs.update(702, {}, { set: { status: 'completed', conclusion: 'success' } }, 8_000);
    await legacy('JOB#702', 'JOB_ENDED', 8_000);
    await legacy('RUNNER#legacy-runner', 'RUNNER_ACTIVE', 5);

    expect((await store.jobs.listOpen()).map((j) => j.jobId)).toEqual([703, 701]);
    expect((await store.jobs.listEndedSince(7_000)).map((j) => j.jobId)).toEqual([702]);
    expect((await store.runners.listActive()).map((r) => r.name)).toEqual(['legacy-runner']);

    // A status change moves a legacy entry to the new layout; it is never listed twice nor lost.
    await store.jobs.update(701, {}, { set: { status: 'provisioning' } }, 9_500);
    expect((await rawJob(tableName, 701))[LIST_INDEX.partitionKey]).toBe(listKey(ListName.openJobs, 701));
    expect((await store.jobs.listOpen()).map((j) => j.jobId)).toEqual([701, 703]);
    await store.jobs.update(701, {}, { set: { status: 'failed', reason: 'x' } }, 9_600);
    expect((await store.jobs.listEndedSince(7_000)).map((j) => j.jobId)).toEqual([702, 701]);
    await store.runners.update('legacy-runner', { state: 'stopped' }, 9_700);
    expect(await store.runners.listActive()).toEqual([]);

    // No backlog index on that table: a pool's backlog is still listed, in launch order, from the open jobs.
    await store.jobs.create(newJob(704), 'd704', 9_800);
    for (const [id, turn] of [
      [703, 1],
      [704, 0],
    ] as const) {
      await store.jobs.update(
        id,
        {},
        { set: { status: 'waiting-capacity', pool: 'p', turn, backlogSince: 9_900 } },
        9_900,
      );
    }
    expect((await store.jobs.listBacklog('p', 5)).map((j) => j.jobId)).toEqual([704, 703]);
  });

  it('leaves every attribute of a stored job, index keys and TTL included, as it was on a duplicate', async () => {
    const tableName = await freshTable();
    const store = createDynamoStore({ client, tableName });
    await store.jobs.create(newJob(), 'd1', 1_000);
    await store.jobs.update(101, {}, { set: { status: 'failed', reason: 'config' } }, 2_000);
    const before = await rawJob(tableName, 101);
    expect(before[LIST_INDEX.partitionKey]).toBe(listKey(ListName.endedJobs, 101));

    await store.jobs.create(newJob(), 'd2', 3_000);
    await store.jobs.create(newJob(), 'd3', 3_001, { owner: 'handoff-late', expiresAt: 60_000 });

    expect(await rawJob(tableName, 101)).toEqual({ ...before, deliveryIds: new Set(['d1', 'd2', 'd3']) });
  });

  it('records a job with exactly these attributes', async () => {
    // The item layout of table-schema.ts: an attribute added to new jobs is a decision, made here on purpose
    // (older items lack it, so every reader must treat its absence as the old meaning).
    const tableName = await freshTable();
    const store = createDynamoStore({ client, tableName });
    await store.jobs.create(newJob(), 'd', 1_000);
    await store.jobs.create(newJob(102), 'd', 1_000, { owner: 'handoff-1', expiresAt: 60_000 });
    const common = [
      'attempt',
      'createdAt',
      'deliveryIds',
      'entity',
      LIST_INDEX.partitionKey,
      LIST_INDEX.sortKey,
      'heals',
      'history',
      'installationId',
      'jobId',
      'labels',
      'owner',
      'pk',
      'repo',
      'runId',
      'scopeKey',
      'sk',
      'status',
      'updatedAt',
      'version',
    ];
    expect(Object.keys(await rawJob(tableName, 101)).sort()).toEqual(common.sort());
    expect(Object.keys(await rawJob(tableName, 102)).sort()).toEqual(
      [...common, 'leaseOwner', 'leaseExpiresAt'].sort(),
    );
  });

  it('adds only the delivery id to a stored job, whatever it lacks (a removed lease, no list on an older finished job)', async () => {
    const tableName = await freshTable();
    const store = createDynamoStore({ client, tableName });
    const doc = DynamoDBDocumentClient.from(client);
    const lease = { owner: 'handoff-1', expiresAt: 60_000 };
    const counted = createLocalDynamoClient(server.endpoint);
    const counter = countStoreRequests(counted);
    try {
      const countedStore = createDynamoStore({ client: counted, tableName });
      const absent = [['leaseOwner', 'leaseExpiresAt'], [LIST_INDEX.partitionKey], ['leaseOwner']];
      for (const [i, attributes] of absent.entries()) {
        const jobId = 1_000 + i;
        await store.jobs.create(newJob(jobId), 'first', 1_000, lease);
        await store.jobs.update(jobId, {}, { set: { status: 'completed' } }, 2_000);
        const names = Object.fromEntries(attributes.map((a, n) => [`#a${n}`, a]));
        await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: `JOB#${jobId}`, sk: 'META' },
            UpdateExpression: `REMOVE ${Object.keys(names).join(', ')}`,
            ExpressionAttributeNames: names,
          }),
        );
        const before = await rawJob(tableName, jobId);
        const what = attributes.join(', ');
        for (const [n, withLease] of [undefined, lease].entries()) {
          counter.reset();
          expect(await countedStore.jobs.create(newJob(jobId), `dup-${n}`, 3_000, withLease), what).toEqual({
            created: false,
          });
          expect(counter.byCommand(), what).toEqual({ PutItemCommand: 1, UpdateItemCommand: 1 });
        }
        expect(await rawJob(tableName, jobId), what).toEqual({
          ...before,
          deliveryIds: new Set(['dup-0', 'dup-1', 'first']),
        });
      }
      expect(await store.jobs.listOpen()).toEqual([]);
    } finally {
      counted.destroy();
    }
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
