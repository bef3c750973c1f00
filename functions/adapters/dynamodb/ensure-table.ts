import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type TableDescription,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { StoreError } from '../../ports/store.ts';
import {
  BACKLOG_INDEX,
  KEY_ATTRIBUTE_TYPES,
  LIST_INDEX,
  PARTITION_KEY,
  SORT_KEY,
  TTL_ATTRIBUTE,
} from './table-schema.ts';
import { translateStoreError } from './translate-store-error.ts';

export interface EnsureTableOptions {
  /** Give up waiting for ACTIVE after this long (real DynamoDB takes seconds; dynalite milliseconds). */
  timeoutMs?: number;
  pollMs?: number;
}

export interface EnsureTableResult {
  created: boolean;
  /** Whether TTL is enabled (false on servers without the TTL API, such as dynalite). */
  ttlEnabled: boolean;
  /** Whether the table has the backlog index (false: an older embedded table that could not get it). */
  backlogIndex: boolean;
}

const errorName = (error: unknown) => (error as { name?: unknown } | undefined)?.name;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Creates the table (on-demand, `pk`/`sk`, the listing index) when it does not exist, waits until it and its
 * index are ACTIVE, and enables TTL where the server supports it. Idempotent: safe on every start, and two
 * processes racing to create the table both succeed. In AWS the CDK stack owns the table; this is for local
 * mode and `DYNAMODB_ENDPOINT`.
 */
export async function ensureTable(
  client: DynamoDBClient,
  tableName: string,
  options: EnsureTableOptions = {},
): Promise<EnsureTableResult> {
  const timeoutMs = options.timeoutMs ?? 300_000;
  const pollMs = options.pollMs ?? 50;
  let created = false;
  let table = await describe(client, tableName);
  if (!table) {
    created = await create(client, tableName);
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    table = await describe(client, tableName);
    if (table && isActive(table)) break;
    if (Date.now() > deadline) throw new StoreError(`table ${tableName} did not become ACTIVE in ${timeoutMs} ms`);
    await sleep(pollMs);
  }
  if (!table.GlobalSecondaryIndexes?.some((index) => index.IndexName === LIST_INDEX.name)) {
    throw new StoreError(
      `table ${tableName} exists without the index ${LIST_INDEX.name}; delete it or point TABLE_NAME at a new table`,
    );
  }
  let backlogIndex = true;
  if (!table.GlobalSecondaryIndexes.some((index) => index.IndexName === BACKLOG_INDEX.name)) {
    // A table created before pools had capacity: the backlog index is added in place and waited for. The
    // embedded store (dynalite) accepts the request but never adds an index to an existing table: then the
    // store lists backlogs from the open jobs instead (`DynamoStoreOptions.backlogIndex`).
    await addIndex(client, tableName, indexOf(BACKLOG_INDEX));
    for (;;) {
      table = await describe(client, tableName);
      const added = table?.GlobalSecondaryIndexes?.some((i) => i.IndexName === BACKLOG_INDEX.name) ?? false;
      if (!added) {
        backlogIndex = false;
        break;
      }
      if (table && isActive(table)) break;
      if (Date.now() > deadline) throw new StoreError(`table ${tableName}: index ${BACKLOG_INDEX.name} not ACTIVE`);
      await sleep(pollMs);
    }
  }
  return { created, ttlEnabled: await enableTtl(client, tableName), backlogIndex };
}

async function describe(client: DynamoDBClient, tableName: string): Promise<TableDescription | undefined> {
  try {
    return (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') return undefined;
    throw translateStoreError(error, `table ${tableName} describe`);
  }
}

function isActive(table: TableDescription): boolean {
  return (
    table.TableStatus === 'ACTIVE' && (table.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE')
  );
}

async function create(client: DynamoDBClient, tableName: string): Promise<boolean> {
  const attributeDefinitions: AttributeDefinition[] = Object.entries(KEY_ATTRIBUTE_TYPES).map(([name, type]) => ({
    AttributeName: name,
    AttributeType: type,
  }));
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: attributeDefinitions,
        KeySchema: [
          { AttributeName: PARTITION_KEY, KeyType: 'HASH' },
          { AttributeName: SORT_KEY, KeyType: 'RANGE' },
        ],
        GlobalSecondaryIndexes: [indexOf(LIST_INDEX), indexOf(BACKLOG_INDEX)],
      }),
    );
    return true;
  } catch (error) {
    // Another process created it between our describe and create: fine, wait for it like ours.
    if (errorName(error) === 'ResourceInUseException') return false;
    throw translateStoreError(error, `table ${tableName} create`);
  }
}

function indexOf(index: typeof LIST_INDEX | typeof BACKLOG_INDEX): GlobalSecondaryIndex {
  return {
    IndexName: index.name,
    KeySchema: [
      { AttributeName: index.partitionKey, KeyType: 'HASH' },
      { AttributeName: index.sortKey, KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: index.projection },
  };
}

async function addIndex(client: DynamoDBClient, tableName: string, index: GlobalSecondaryIndex): Promise<void> {
  const keys = index.KeySchema?.map((k) => k.AttributeName ?? '') ?? [];
  const update = (create: GlobalSecondaryIndex) =>
    client.send(
      new UpdateTableCommand({
        TableName: tableName,
        AttributeDefinitions: keys.map((name) => ({
          AttributeName: name,
          AttributeType: KEY_ATTRIBUTE_TYPES[name as keyof typeof KEY_ATTRIBUTE_TYPES],
        })),
        GlobalSecondaryIndexUpdates: [{ Create: create }],
      }),
    );
  try {
    try {
      await update(index);
    } catch (error) {
      // The embedded store (dynalite) predates on-demand index creation and insists on a throughput, which
      // DynamoDB itself refuses for an on-demand table: asked again with one only when refused for lacking it.
      if (errorName(error) !== 'ValidationException' || !/provisionedThroughput/i.test(String(error))) throw error;
      await update({ ...index, ProvisionedThroughput: { ReadCapacityUnits: 1, WriteCapacityUnits: 1 } });
    }
  } catch (error) {
    // Another process is adding it right now: wait for it like ours.
    if (errorName(error) === 'ResourceInUseException') return;
    throw translateStoreError(error, `table ${tableName} add index ${index.IndexName}`);
  }
}

async function enableTtl(client: DynamoDBClient, tableName: string): Promise<boolean> {
  try {
    const current = await client.send(new DescribeTimeToLiveCommand({ TableName: tableName }));
    const status = current.TimeToLiveDescription?.TimeToLiveStatus;
    if (status === 'ENABLED' || status === 'ENABLING') return true;
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: TTL_ATTRIBUTE, Enabled: true },
      }),
    );
    return true;
  } catch (error) {
    // dynalite answers UnknownOperationException: items then simply stay until deleted (fine locally).
    if (errorName(error) === 'UnknownOperationException') return false;
    // Two processes enabling TTL at once: the loser is told it is already enabled.
    if (errorName(error) === 'ValidationException' && /already enabled/i.test(String((error as Error).message))) {
      return true;
    }
    throw translateStoreError(error, `table ${tableName} enable TTL`);
  }
}

// Callers that set up a local table usually need the local client too.
export { createLocalDynamoClient } from './local-client.ts';
