import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { Job } from '../../domain/job.ts';
import { JobStatus } from '../../domain/job-status.ts';
import { type DynamoContext, storeCall } from './dynamo-context.ts';
import { fromItem } from './item-codec.ts';
import { batchGetItems } from './query-list.ts';
import { BACKLOG_INDEX, backlogKeys, type ItemKey, PARTITION_KEY, SORT_KEY } from './table-schema.ts';

interface BacklogEntry {
  key: ItemKey;
  sort: string;
}

/**
 * The head of a pool's backlog: one Query per shard of the backlog index with `Limit` = `limit` (the head of
 * the whole backlog is among the heads of its shards), merged in launch order, then the jobs themselves read
 * consistently. The index is eventually consistent, so a job that left the backlog a moment ago can still be
 * listed: only jobs read back as waiting in this pool are returned (so there may be fewer than `limit`).
 */
export async function queryBacklog(ctx: DynamoContext, pool: string, limit: number): Promise<Job[]> {
  if (limit <= 0) return [];
  const perShard = await Promise.all(
    backlogKeys(pool).map(async (key): Promise<BacklogEntry[]> => {
      const page = await storeCall(`backlog ${pool} (${key})`, () =>
        ctx.doc.send(
          new QueryCommand({
            TableName: ctx.tableName,
            IndexName: BACKLOG_INDEX.name,
            KeyConditionExpression: '#bpk = :key',
            ExpressionAttributeNames: { '#bpk': BACKLOG_INDEX.partitionKey },
            ExpressionAttributeValues: { ':key': key },
            ScanIndexForward: true,
            Limit: limit,
          }),
        ),
      );
      return (page.Items ?? []).map((item) => ({
        key: { pk: String(item[PARTITION_KEY]), sk: String(item[SORT_KEY]) },
        sort: String(item[BACKLOG_INDEX.sortKey]),
      }));
    }),
  );
  const seen = new Set<string>();
  const head = perShard
    .flat()
    .sort((a, b) => (a.sort < b.sort ? -1 : a.sort > b.sort ? 1 : 0))
    .filter((entry) => !seen.has(entry.key.pk) && seen.add(entry.key.pk))
    .slice(0, limit);
  if (head.length === 0) return [];
  const items = await batchGetItems(
    ctx,
    `backlog ${pool}`,
    head.map((entry) => entry.key),
  );
  const jobs: Job[] = [];
  for (const entry of head) {
    const item = items.get(entry.key.pk);
    if (!item) continue;
    const job = fromItem<Job>(item);
    if (job.status === JobStatus.waitingCapacity && job.pool === pool && job.turn !== undefined) jobs.push(job);
  }
  // Already in launch order: the index's sort key is `backlogSortKey(turn, backlogSince, jobId)`.
  return jobs;
}
