import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type DynamoContext, storeCall } from './dynamo-context.ts';
import { fromItem } from './item-codec.ts';
import { LIST_INDEX, type ListName } from './table-schema.ts';

/**
 * Reads one list of the listing index in index order (oldest first), following pages up to `limit` items;
 * with `since`, only items whose sort key (last write, epoch ms) is at or after it.
 */
export async function queryList<T>(ctx: DynamoContext, list: ListName, limit?: number, since?: number): Promise<T[]> {
  const records: T[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const remaining = limit === undefined ? undefined : limit - records.length;
    if (remaining !== undefined && remaining <= 0) break;
    const page = await storeCall(`list ${list}`, () =>
      ctx.doc.send(
        new QueryCommand({
          TableName: ctx.tableName,
          IndexName: LIST_INDEX.name,
          ...(since === undefined
            ? {
                KeyConditionExpression: '#gpk = :list',
                ExpressionAttributeNames: { '#gpk': LIST_INDEX.partitionKey },
                ExpressionAttributeValues: { ':list': list },
              }
            : {
                KeyConditionExpression: '#gpk = :list AND #gsk >= :since',
                ExpressionAttributeNames: { '#gpk': LIST_INDEX.partitionKey, '#gsk': LIST_INDEX.sortKey },
                ExpressionAttributeValues: { ':list': list, ':since': since },
              }),
          ScanIndexForward: true,
          ...(remaining === undefined ? {} : { Limit: remaining }),
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      ),
    );
    for (const item of page.Items ?? []) records.push(fromItem<T>(item));
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return records;
}
