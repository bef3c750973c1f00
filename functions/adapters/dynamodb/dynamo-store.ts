import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { JobRepository, Store } from '../../ports/store.ts';
import { createDynamoBaselines } from './dynamo-baselines.ts';
import { createDynamoBreakers } from './dynamo-breakers.ts';
import type { DynamoContext } from './dynamo-context.ts';
import { createDynamoJobs } from './dynamo-jobs.ts';
import { createDynamoLocks } from './dynamo-locks.ts';
import { createDynamoPools } from './dynamo-pools.ts';
import { createDynamoRunners } from './dynamo-runners.ts';
import { createDynamoVersions } from './dynamo-versions.ts';

export interface DynamoStoreOptions {
  /** A plain client: `new DynamoDBClient({})` in AWS, `createLocalDynamoClient(endpoint)` locally. */
  client: DynamoDBClient;
  tableName: string;
  /**
   * Whether the table has the backlog index (default true: every table the stack or `ensureTable` creates).
   * False: backlogs are listed from the open jobs (an embedded table from before the index; see ensure-table.ts).
   */
  backlogIndex?: boolean;
}

function dynamoContext(options: DynamoStoreOptions): DynamoContext {
  const doc = DynamoDBDocumentClient.from(options.client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  return { doc, tableName: options.tableName };
}

/**
 * The {@link Store} port on one DynamoDB table (layout in table-schema.ts). Every state change is a single
 * conditional request; SDK errors become `ConditionFailedError` / `StoreUnavailableError`.
 */
export function createDynamoStore(options: DynamoStoreOptions): Store {
  const ctx = dynamoContext(options);
  const backlogIndex = options.backlogIndex ?? true;
  return {
    jobs: createDynamoJobs(ctx, { backlogIndex }),
    baselines: createDynamoBaselines(ctx),
    breakers: createDynamoBreakers(ctx),
    runners: createDynamoRunners(ctx),
    locks: createDynamoLocks(ctx),
    pools: createDynamoPools(ctx),
    versions: createDynamoVersions(ctx),
  };
}

/**
 * The jobs repository alone, exactly as {@link createDynamoStore} builds it: for the webhook function,
 * which touches job items only. Why not `createDynamoStore(...).jobs`: that call keeps the other six
 * repositories (locks, runners, versions, …) in the webhook's bundle, ~6 KB it never runs.
 */
export function createDynamoJobStore(options: DynamoStoreOptions): JobRepository {
  return createDynamoJobs(dynamoContext(options), { backlogIndex: options.backlogIndex ?? true });
}
