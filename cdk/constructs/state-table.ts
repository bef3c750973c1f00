import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import {
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
  }
}
