import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  type TableDescription,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { StoreError } from '../../ports/store.ts';
import { KEY_ATTRIBUTE_TYPES, LIST_INDEX, PARTITION_KEY, SORT_KEY, TTL_ATTRIBUTE } from './table-schema.ts';
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
  return { created, ttlEnabled: await enableTtl(client, tableName) };
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
        GlobalSecondaryIndexes: [
          {
            IndexName: LIST_INDEX.name,
            KeySchema: [
              { AttributeName: LIST_INDEX.partitionKey, KeyType: 'HASH' },
              { AttributeName: LIST_INDEX.sortKey, KeyType: 'RANGE' },
            ],
            Projection: { ProjectionType: LIST_INDEX.projection },
          },
        ],
      }),
    );
    return true;
  } catch (error) {
    // Another process created it between our describe and create: fine, wait for it like ours.
    if (errorName(error) === 'ResourceInUseException') return false;
    throw translateStoreError(error, `table ${tableName} create`);
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
