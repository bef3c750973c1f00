import { BatchGetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { StoreUnavailableError } from '../../ports/store.ts';
import { type DynamoContext, storeCall } from './dynamo-context.ts';
import { fromItem } from './item-codec.ts';
import { type ItemKey, LIST_INDEX, type ListName, listKeys, PARTITION_KEY, SORT_KEY } from './table-schema.ts';

/** One index entry: the item's key and its list sort key. */
interface ListEntry {
  key: ItemKey;
  sort: number;
}

export interface ListQuery<T> {
  limit?: number | undefined;
  /** Only entries whose sort key is at or after this (epoch ms). */
  since?: number | undefined;
  /**
   * Whether a freshly read record still belongs to the list. The index is eventually consistent (an entry can
   * outlive its item's move by a moment) and an item may be read between its write and its index update.
   */
  keep: (record: T) => boolean;
}

/** BatchGetItem takes at most 100 keys per request. */
const BATCH_GET_MAX = 100;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Reads one list of the listing index in sort-key order (oldest first), up to `limit` items: one Query per
 * shard (and the older layout's bare key), in parallel, merged; then the items themselves with consistent
 * BatchGetItems, because the index projects keys only (table-schema.ts). Records `keep` rejects are dropped,
 * so a listing may return fewer than `limit` items.
 */
export async function queryList<T>(ctx: DynamoContext, list: ListName, query: ListQuery<T>): Promise<T[]> {
  const { limit, since } = query;
  if (limit !== undefined && limit <= 0) return [];
  const perKey = await Promise.all(listKeys(list).map((key) => queryEntries(ctx, list, key, limit, since)));
  // Ties on the sort key are broken by item key, so the order is total and the same on every read.
  const merged = perKey
    .flat()
    .sort((a, b) => a.sort - b.sort || (a.key.pk < b.key.pk ? -1 : a.key.pk > b.key.pk ? 1 : 0));
  // One entry per item: an index can list an item twice (the embedded store keeps a stale entry when a
  // process dies between an item's write and its index update; the ended list's sort key moves on every
  // write), and BatchGetItem refuses a request whose keys repeat, which failed every later listing.
  const seen = new Set<string>();
  const unique = merged.filter((entry) => {
    if (seen.has(entry.key.pk)) return false;
    seen.add(entry.key.pk);
    return true;
  });
  const entries = limit === undefined ? unique : unique.slice(0, limit);
  const items = await batchGetItems(
    ctx,
    `list ${list}`,
    entries.map((entry) => entry.key),
  );
  const records: T[] = [];
  for (const entry of entries) {
    const item = items.get(entry.key.pk);
    if (!item) continue; // deleted (TTL) since the index listed it
    const record = fromItem<T>(item);
    if (query.keep(record)) records.push(record);
  }
  return records;
}

async function queryEntries(
  ctx: DynamoContext,
  list: ListName,
  key: string,
  limit: number | undefined,
  since: number | undefined,
): Promise<ListEntry[]> {
  const entries: ListEntry[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const remaining = limit === undefined ? undefined : limit - entries.length;
    if (remaining !== undefined && remaining <= 0) break;
    const page = await storeCall(`list ${list} (${key})`, () =>
      ctx.doc.send(
        new QueryCommand({
          TableName: ctx.tableName,
          IndexName: LIST_INDEX.name,
          ...(since === undefined
            ? {
                KeyConditionExpression: '#gpk = :list',
                ExpressionAttributeNames: { '#gpk': LIST_INDEX.partitionKey },
                ExpressionAttributeValues: { ':list': key },
              }
            : {
                KeyConditionExpression: '#gpk = :list AND #gsk >= :since',
                ExpressionAttributeNames: { '#gpk': LIST_INDEX.partitionKey, '#gsk': LIST_INDEX.sortKey },
                ExpressionAttributeValues: { ':list': key, ':since': since },
              }),
          ScanIndexForward: true,
          ...(remaining === undefined ? {} : { Limit: remaining }),
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      ),
    );
    for (const item of page.Items ?? []) {
      entries.push({
        key: { pk: String(item[PARTITION_KEY]), sk: String(item[SORT_KEY]) },
        sort: Number(item[LIST_INDEX.sortKey]),
      });
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey !== undefined);
  return entries;
}

/**
 * The items of `keys` (no repeats) by partition key, read consistently; unprocessed keys are asked for again.
 * `what` names the listing in errors.
 */
export async function batchGetItems(
  ctx: DynamoContext,
  what: string,
  keys: readonly ItemKey[],
): Promise<Map<string, Record<string, unknown>>> {
  const items = new Map<string, Record<string, unknown>>();
  const batches: ItemKey[][] = [];
  for (let i = 0; i < keys.length; i += BATCH_GET_MAX) batches.push(keys.slice(i, i + BATCH_GET_MAX));
  await Promise.all(
    batches.map(async (batch) => {
      let keys: Record<string, unknown>[] = batch.map((key) => ({ ...key }));
      for (let attempt = 0; keys.length > 0; attempt++) {
        // Unprocessed keys mean the read was throttled: back off a little, like the SDK's own retries.
        if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
        const result = await storeCall(`${what} get ${keys.length} items`, () =>
          ctx.doc.send(
            new BatchGetCommand({ RequestItems: { [ctx.tableName]: { Keys: keys, ConsistentRead: true } } }),
          ),
        );
        for (const item of result.Responses?.[ctx.tableName] ?? []) items.set(String(item[PARTITION_KEY]), item);
        keys = result.UnprocessedKeys?.[ctx.tableName]?.Keys ?? [];
        if (attempt >= 8 && keys.length > 0) {
          throw new StoreUnavailableError(`${what}: ${keys.length} items still unprocessed after ${attempt + 1} reads`);
        }
      }
    }),
  );
  return items;
}
