import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import {
  BACKLOG_INDEX,
  Entity,
  itemKey,
  KEY_ATTRIBUTE_TYPES,
  LIST_INDEX,
  PARTITION_KEY,
  SORT_KEY,
  TTL_ATTRIBUTE,
} from '../../functions/adapters/dynamodb/table-schema.ts';

const attributeType = (name: keyof typeof KEY_ATTRIBUTE_TYPES): dynamodb.AttributeType =>
  KEY_ATTRIBUTE_TYPES[name] === 'N' ? dynamodb.AttributeType.NUMBER : dynamodb.AttributeType.STRING;

/**
 * The one state table (docs/design.md "State"), declared from the same schema module the store uses. On-demand,
 * point-in-time recovery, TTL, and RETAINED when the stack is deleted: runtime state (jobs, baselines,
 * breakers) must survive a redeploy or a stack replacement (docs/design.md "Why it exists", the Semaphore lesson).
 */
export interface StateTableProps {
  /**
   * `keys-only` (default): the store reads listed items itself (table-schema.ts). `all`: the projection of
   * tables deployed before the store was sharded; CloudFormation cannot change an index's projection in
   * place, so such a stack keeps it until the index is replaced (docs/decisions.md "Store layout and scale").
   */
  listIndexProjection?: 'keys-only' | 'all';
}

/** The partition-key prefix of an item kind (`JOB#`, `LOCK#`, …), from the store's own key layout. */
export const keyPrefix = (entity: Entity): string => itemKey(entity, '').pk;

/**
 * What one function does with the table, found in the store calls of the use cases its handler runs
 * (docs/deploy.md "What each function may do"). Every item request names its partition key, so each
 * function is held to the item kinds it touches with `dynamodb:LeadingKeys`.
 */
export interface StoreAccess {
  /** Item kinds it reads and writes (GetItem, PutItem, UpdateItem). */
  readonly items: readonly Entity[];
  /** It lists (Query on the two key-only indexes, then BatchGetItem of the listed items). */
  readonly lists: boolean;
  /** Item kinds it deletes (DeleteItem). */
  readonly deletes: readonly Entity[];
  /** Item kinds it only reads (GetItem), beyond `items`. */
  readonly reads?: readonly Entity[];
}

/** Every item kind but the reconciler's own bookkeeping (locks, values, marks). */
const CORE_ITEMS = [Entity.job, Entity.baseline, Entity.breaker, Entity.runner, Entity.pool] as const;

/**
 * The access of each function (composition roots in functions/composition, handlers in functions/handlers):
 * - webhook (createWebhookApp → accept-webhook, approval-wait): creates a job (conditional PutItem), adds a
 *   delivery id or records a status (UpdateItem), reads a job before an approval (GetItem). Job items only;
 *   no listing, no delete.
 * - provisioner and runner-events (createLambdaCore → provision-job, runner capacity, progress listeners,
 *   healing): jobs, baselines, breakers, runners and pool slots; they list (open jobs, active runners, a
 *   pool's backlog). No delete: nothing they do removes an item.
 * - provisioner and runner-events also read the runner version record (`VERSION#`, GetItem only): the
 *   version a tracking pool's job gets (runner-events provisions a replacement in-process).
 * - reconciler (createLambdaCore → reconcile, recover-deliveries, cleanup-orphans, the version step): all of
 *   that, plus its lease (`LOCK#`), cursors (`VALUE#`), exactly-once marks (`MARK#`) and the runner version
 *   record it alone writes (`VERSION#`); the only delete in the store is
 *   the release of its lease (dynamo-locks.ts). Finished items go by TTL, never by a function's delete.
 */
export const STORE_ACCESS = {
  webhook: { items: [Entity.job], lists: false, deletes: [] },
  provisioner: { items: CORE_ITEMS, lists: true, deletes: [], reads: [Entity.version] },
  runnerEvents: { items: CORE_ITEMS, lists: true, deletes: [], reads: [Entity.version] },
  reconciler: {
    items: [...CORE_ITEMS, Entity.lock, Entity.value, Entity.mark, Entity.version],
    lists: true,
    deletes: [Entity.lock],
  },
} as const satisfies Record<string, StoreAccess>;

export class StateTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: StateTableProps = {}) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: PARTITION_KEY, type: attributeType(PARTITION_KEY) },
      sortKey: { name: SORT_KEY, type: attributeType(SORT_KEY) },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TTL_ATTRIBUTE,
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: RemovalPolicy.RETAIN,
      deletionProtection: true,
    });
    this.table.addGlobalSecondaryIndex({
      indexName: LIST_INDEX.name,
      partitionKey: { name: LIST_INDEX.partitionKey, type: attributeType(LIST_INDEX.partitionKey) },
      sortKey: { name: LIST_INDEX.sortKey, type: attributeType(LIST_INDEX.sortKey) },
      projectionType:
        props.listIndexProjection === 'all' ? dynamodb.ProjectionType.ALL : dynamodb.ProjectionType.KEYS_ONLY,
    });
    // The backlog of capped pools, in launch order (table-schema.ts). Added in place to an existing table:
    // CloudFormation creates one new index per update, which this is.
    this.table.addGlobalSecondaryIndex({
      indexName: BACKLOG_INDEX.name,
      partitionKey: { name: BACKLOG_INDEX.partitionKey, type: attributeType(BACKLOG_INDEX.partitionKey) },
      sortKey: { name: BACKLOG_INDEX.sortKey, type: attributeType(BACKLOG_INDEX.sortKey) },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
  }

  /**
   * Grants a function exactly its {@link StoreAccess}: one statement per kind of request, each item
   * statement conditioned on the partition keys it may name. Why `ForAllValues:StringLike`: a BatchGetItem
   * names many keys and every one must match; item requests always carry their key, so the condition
   * never holds vacuously for them.
   */
  grantStore(role: iam.IGrantable, access: StoreAccess): void {
    const table = this.table.tableArn;
    const leadingKeys = (entities: readonly Entity[]) => ({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': entities.map((e) => `${keyPrefix(e)}*`) },
    });
    const add = (statement: iam.PolicyStatement) => role.grantPrincipal.addToPrincipalPolicy(statement);
    add(
      new iam.PolicyStatement({
        sid: 'StateItems',
        // Listed items are read back in batches of 100 keys (the indexes project keys only).
        actions: [
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'dynamodb:UpdateItem',
          ...(access.lists ? ['dynamodb:BatchGetItem'] : []),
        ],
        resources: [table],
        conditions: leadingKeys(access.items),
      }),
    );
    if (access.lists) {
      add(
        new iam.PolicyStatement({
          sid: 'StateLists',
          // The index partition keys are list names (JOB_OPEN#3, BACKLOG#pool#1), not item keys, and the
          // indexes hold keys only: a Query tells which items exist, the BatchGetItem above reads them.
          actions: ['dynamodb:Query'],
          resources: [`${table}/index/${LIST_INDEX.name}`, `${table}/index/${BACKLOG_INDEX.name}`],
        }),
      );
    }
    if (access.reads && access.reads.length > 0) {
      add(
        new iam.PolicyStatement({
          sid: 'StateReads',
          actions: ['dynamodb:GetItem'],
          resources: [table],
          conditions: leadingKeys(access.reads),
        }),
      );
    }
    if (access.deletes.length > 0) {
      add(
        new iam.PolicyStatement({
          sid: 'StateDeletes',
          actions: ['dynamodb:DeleteItem'],
          resources: [table],
          conditions: leadingKeys(access.deletes),
        }),
      );
    }
  }
}
