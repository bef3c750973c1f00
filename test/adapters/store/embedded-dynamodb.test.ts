import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateTableCommand, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { createDynamoStore } from '../../../functions/adapters/dynamodb/dynamo-store.ts';
import { ensureTable } from '../../../functions/adapters/dynamodb/ensure-table.ts';
import { createLocalDynamoClient } from '../../../functions/adapters/dynamodb/local-client.ts';
import { startEmbeddedDynamo } from '../../../functions/adapters/local/embedded-dynamodb.ts';
import { StoreError } from '../../../functions/ports/store.ts';
import { newJob } from './store-contract.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'jit-runners-store-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function start(options: Parameters<typeof startEmbeddedDynamo>[0] = {}) {
  const server = await startEmbeddedDynamo(options);
  const client = createLocalDynamoClient(server.endpoint);
  cleanups.push(() => server.close());
  cleanups.push(() => client.destroy());
  return { server, client };
}

describe('startEmbeddedDynamo', () => {
  it('listens on 127.0.0.1 on an ephemeral port by default', async () => {
    const { server } = await start();
    expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.endpoint).not.toMatch(/:0$/);
  });

  it('keeps every item across a restart on the same directory, creating the directory if needed', async () => {
    const dir = join(tempDir(), 'nested', 'dynamodb');
    const first = await startEmbeddedDynamo({ dir });
    const firstClient = createLocalDynamoClient(first.endpoint);
    expect((await ensureTable(firstClient, 'jit-runners')).created).toBe(true);
    const store = createDynamoStore({ client: firstClient, tableName: 'jit-runners' });
    await store.jobs.create(newJob(), 'delivery-1', 1_000);
    await store.jobs.update(
      101,
      {},
      { set: { status: 'provisioning', leaseOwner: 'p1' }, event: { status: 'provisioning', note: 'leased' } },
      1_001,
    );
    await store.baselines.put({ scopeKey: 'octo-org/hello-world', state: 'present', workarounds: 1 }, 0, 1_002);
    await store.runners.put(
      {
        name: 'jr-101-1',
        kind: 'jit',
        scopeKey: 'octo-org/hello-world',
        installationId: 42,
        version: '2.330.0',
        state: 'launched',
        createdAt: 1_003,
      },
      1_003,
    );
    await store.locks.setValue('cursor', 'abc', 1_004);
    expect(await store.locks.mark('redeliver#1', 1_005, 60_000)).toBe(true);
    const before = await store.jobs.get(101);
    firstClient.destroy();
    await first.close();

    const { client } = await start({ dir });
    expect((await ensureTable(client, 'jit-runners')).created).toBe(false);
    const reopened = createDynamoStore({ client, tableName: 'jit-runners' });
    expect(await reopened.jobs.get(101)).toEqual(before);
    expect((await reopened.jobs.listOpen()).map((j) => j.jobId)).toEqual([101]);
    expect((await reopened.baselines.list()).map((b) => b.version)).toEqual([1]);
    expect((await reopened.runners.listActive()).map((r) => r.name)).toEqual(['jr-101-1']);
    expect(await reopened.locks.getValue('cursor')).toBe('abc');
    expect(await reopened.locks.mark('redeliver#1', 1_006, 60_000)).toBe(false);
  });

  it('refuses, with a StoreError, a directory another server is using', async () => {
    const dir = tempDir();
    await start({ dir });
    await expect(startEmbeddedDynamo({ dir })).rejects.toBeInstanceOf(StoreError);
  });

  it('keeps nothing across a restart when run in memory', async () => {
    const first = await startEmbeddedDynamo();
    const firstClient = createLocalDynamoClient(first.endpoint);
    await ensureTable(firstClient, 'jit-runners');
    firstClient.destroy();
    await first.close();
    const { client } = await start();
    expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual([]);
  });

  it('closes while a keep-alive client is still connected', async () => {
    const server = await startEmbeddedDynamo();
    const client = createLocalDynamoClient(server.endpoint);
    cleanups.push(() => client.destroy());
    await client.send(new ListTablesCommand({}));
    await server.close();
    await server.close();
    await expect(client.send(new ListTablesCommand({}))).rejects.toThrow();
  });
});

describe('ensureTable', () => {
  it('creates the table once and is a no-op afterwards, also when called concurrently', async () => {
    const { client } = await start();
    const results = await Promise.all([1, 2, 3].map(() => ensureTable(client, 'jit-runners')));
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(await ensureTable(client, 'jit-runners')).toEqual({ created: false, ttlEnabled: false, backlogIndex: true });
    expect((await client.send(new ListTablesCommand({}))).TableNames).toEqual(['jit-runners']);
  });

  it('reports that dynalite has no TTL API instead of failing', async () => {
    const { client } = await start();
    expect((await ensureTable(client, 'jit-runners')).ttlEnabled).toBe(false);
  });

  it('refuses a table that exists without the listing index', async () => {
    const { client } = await start();
    await client.send(
      new CreateTableCommand({
        TableName: 'legacy',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    );
    await expect(ensureTable(client, 'legacy')).rejects.toBeInstanceOf(StoreError);
  });
});
