import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type DynamoContext, storeCall } from './dynamo-context.ts';
import { ExpressionBuilder } from './expression-builder.ts';
import { fromItem } from './item-codec.ts';
import {
  ENTITY_ATTRIBUTE,
  type Entity,
  type ItemKey,
  LIST_INDEX,
  type ListName,
  PARTITION_KEY,
} from './table-schema.ts';

/** Reads one item with a strongly consistent read (conditional writers read their own writes). */
export async function getItem<T>(ctx: DynamoContext, key: ItemKey, what: string): Promise<T | undefined> {
  const result = await storeCall(what, () =>
    ctx.doc.send(new GetCommand({ TableName: ctx.tableName, Key: key, ConsistentRead: true })),
  );
  return result.Item ? fromItem<T>(result.Item) : undefined;
}

/**
 * Replaces a whole item if its stored `version` is `expectVersion` (0 = the item must not exist), writing
 * `version = expectVersion + 1`. Returns the record as stored. Used by baselines and breakers: both are
 * read-modify-write records where the last writer must have seen the previous state.
 */
export async function putVersioned<T extends object>(
  ctx: DynamoContext,
  options: { entity: Entity; key: ItemKey; list?: ListName; what: string },
  record: object,
  expectVersion: number,
  now: number,
): Promise<T> {
  const stored = { ...record, version: expectVersion + 1, updatedAt: now };
  const b = new ExpressionBuilder();
  b.condition(
    expectVersion === 0
      ? `attribute_not_exists(${b.name(PARTITION_KEY)})`
      : `${b.name('version')} = ${b.value(expectVersion)}`,
  );
  const { ConditionExpression, ExpressionAttributeNames, ExpressionAttributeValues } = b.params();
  const item = {
    ...stored,
    ...options.key,
    [ENTITY_ATTRIBUTE]: options.entity,
    ...(options.list === undefined ? {} : { [LIST_INDEX.partitionKey]: options.list, [LIST_INDEX.sortKey]: now }),
  };
  await storeCall(`${options.what} put (expect version ${expectVersion})`, () =>
    ctx.doc.send(
      new PutCommand({
        TableName: ctx.tableName,
        Item: item,
        ConditionExpression,
        ExpressionAttributeNames,
        ...(ExpressionAttributeValues === undefined ? {} : { ExpressionAttributeValues }),
      }),
    ),
  );
  return fromItem<T>(item);
}
