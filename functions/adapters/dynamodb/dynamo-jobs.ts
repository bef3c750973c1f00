import { GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Job, NewJob } from '../../domain/job.ts';
import { isTerminal, JobStatus } from '../../domain/job-status.ts';
import { newJobRecord } from '../../domain/new-job.ts';
import {
  ConditionFailedError,
  type CreateLease,
  type JobChanges,
  type JobExpectation,
  type JobRepository,
} from '../../ports/store.ts';
import { checkJobChanges, definedEntries, expectationParts } from '../../ports/store-rules.ts';
import { type DynamoContext, storeCall } from './dynamo-context.ts';
import { ExpressionBuilder } from './expression-builder.ts';
import { fromItem } from './item-codec.ts';
import { addJobCondition, jobConditionParts } from './job-condition.ts';
import { queryBacklog } from './query-backlog.ts';
import { queryList } from './query-list.ts';
import {
  BACKLOG_INDEX,
  backlogKey,
  backlogSortKey,
  ENTITY_ATTRIBUTE,
  Entity,
  itemKey,
  LIST_INDEX,
  ListName,
  listKey,
  PARTITION_KEY,
  TERMINAL_JOB_RETENTION_MS,
  TTL_ATTRIBUTE,
  ttlSeconds,
} from './table-schema.ts';

const jobKey = (jobId: number) => itemKey(Entity.job, jobId);
const byLaunchOrder = (a: Job, b: Job) =>
  (a.turn ?? 0) - (b.turn ?? 0) || (a.backlogSince ?? 0) - (b.backlogSince ?? 0) || a.jobId - b.jobId;
const TERMINAL_STATUSES = Object.values(JobStatus).filter(isTerminal);

export function createDynamoJobs(ctx: DynamoContext, options: { backlogIndex: boolean }): JobRepository {
  const { doc, tableName } = ctx;

  /**
   * One conditional PutItem that only succeeds when the job is new; returns the item written, undefined
   * for a duplicate. With a lease the job is recorded already `provisioning` under that lease, so the
   * provisioner it is handed to needs no lease write of its own (one request less per job).
   *
   * Why put first and not one `if_not_exists` UpdateItem for new and duplicate alike (tried, commit
   * 36ac39a): a duplicate would cost one request instead of two, but every new job pays for an update
   * expression with one `if_not_exists` per field, and new jobs are the common case. In local mode the
   * embedded store's parser made each new job cost about twice the CPU, and a fresh server's p99 at
   * 200 new jobs/s went from under 15 ms to 180–290 ms (`npm run bench -- --only throughput`). In
   * DynamoDB both shapes are one write per new job; duplicates are rare (GitHub's at-least-once, our
   * own redeliveries).
   */
  async function putNew(
    job: NewJob,
    deliveryId: string,
    now: number,
    lease?: CreateLease,
    note?: string,
  ): Promise<Record<string, unknown> | undefined> {
    const record = newJobRecord(job, deliveryId, now, lease, note);
    const item = {
      ...jobKey(job.jobId),
      [ENTITY_ATTRIBUTE]: Entity.job,
      [LIST_INDEX.partitionKey]: listKey(ListName.openJobs, job.jobId),
      // The creation time (= record.createdAt): the entry never moves while the job stays open.
      [LIST_INDEX.sortKey]: now,
      ...record,
      // A string set, so a duplicate's ADD of its delivery id needs no read.
      deliveryIds: new Set(record.deliveryIds),
    };
    try {
      await storeCall(`job ${job.jobId} create`, () =>
        doc.send(
          new PutCommand({
            TableName: tableName,
            Item: item,
            ConditionExpression: 'attribute_not_exists(#pk)',
            ExpressionAttributeNames: { '#pk': PARTITION_KEY },
          }),
        ),
      );
      return item;
    } catch (error) {
      if (error instanceof ConditionFailedError) return undefined;
      throw error;
    }
  }

  /**
   * Adds a duplicate's delivery id, and nothing else, to the stored job. Why no version
   * bump: a redelivery changes no state, and bumping would make an in-flight provisioner's
   * version-conditional write fail for nothing.
   */
  async function addDelivery(jobId: number, deliveryId: string): Promise<{ status: JobStatus } | undefined> {
    const b = new ExpressionBuilder().add('deliveryIds', new Set([deliveryId]));
    b.condition(`attribute_exists(${b.name(PARTITION_KEY)})`);
    try {
      // ALL_OLD: the recorded status comes back with the same request (see `CreateResult.status`).
      const result = await storeCall(`job ${jobId} add delivery`, () =>
        doc.send(
          new UpdateCommand({ TableName: tableName, Key: jobKey(jobId), ReturnValues: 'ALL_OLD', ...b.params() }),
        ),
      );
      return { status: result.Attributes?.status as JobStatus };
    } catch (error) {
      if (error instanceof ConditionFailedError) return undefined;
      throw error;
    }
  }

  /**
   * Moves a finished job's ended-list sort key to `now` after a write that did not know the job was finished
   * (no status change, no terminal-only expectation): a second, small request, only on that rare path, so
   * the common writes carry no list keys. Conditional on the job still being finished; losing that race
   * means another write moved it already.
   */
  async function touchEnded(jobId: number, now: number): Promise<void> {
    const b = new ExpressionBuilder();
    b.condition(jobConditionParts.statusIn(b, TERMINAL_STATUSES));
    b.set(LIST_INDEX.sortKey, now);
    try {
      await storeCall(`job ${jobId} ended-list touch`, () =>
        doc.send(new UpdateCommand({ TableName: tableName, Key: jobKey(jobId), ...b.params() })),
      );
    } catch (error) {
      if (!(error instanceof ConditionFailedError)) throw error;
    }
  }

  return {
    async create(job, deliveryId, now, lease, note) {
      const created = (item: Record<string, unknown>) =>
        lease ? { created: true, leased: fromItem<Job>(item) } : { created: true };
      const item = await putNew(job, deliveryId, now, lease, note);
      if (item) return created(item);
      const duplicate = await addDelivery(job.jobId, deliveryId);
      if (duplicate)
        return duplicate.status === JobStatus.waiting ? { created: false, waiting: true } : { created: false };
      // The job vanished between the two requests (TTL deleted a finished job): record it afresh, once.
      const again = await putNew(job, deliveryId, now, lease, note);
      return again ? created(again) : { created: false };
    },

    async get(jobId) {
      const result = await storeCall(`job ${jobId} get`, () =>
        doc.send(new GetCommand({ TableName: tableName, Key: jobKey(jobId), ConsistentRead: true })),
      );
      return result.Item ? fromItem<Job>(result.Item) : undefined;
    },

    async update(jobId: number, expect: JobExpectation, changes: JobChanges, now: number) {
      checkJobChanges(changes);
      const b = new ExpressionBuilder();
      addJobCondition(b, expect);
      for (const [field, value] of definedEntries(changes.set)) b.set(field, value);
      for (const field of changes.remove ?? []) b.remove(field);
      b.setExpression('version', `${b.name('version')} + ${b.value(1)}`);
      b.set('updatedAt', now);
      if (changes.event) {
        const history = b.name('history');
        const event = { at: now, status: changes.event.status, note: changes.event.note };
        b.setExpression('history', `list_append(if_not_exists(${history}, ${b.value([])}), ${b.value([event])})`);
      }
      // The listing index follows the status without reading the item first, and only when the job changes
      // list: a terminal status moves it to the ended list (sorted by its last write) with a TTL; a
      // non-terminal one (re)enters the open list sorted by its creation, which for a job already open writes
      // the same keys again, so its index entry does not change (KEYS_ONLY: nothing else is in it). Why not
      // move the sort key on every write, as the older layout did: each job write was then an index delete
      // + put in one hot partition (table-schema.ts).
      const status = changes.set?.status;
      // The backlog index follows the status the same way: in it only while waiting for capacity.
      if (status === JobStatus.waitingCapacity) {
        const { pool, turn, backlogSince } = changes.set ?? {};
        b.set(BACKLOG_INDEX.partitionKey, backlogKey(pool ?? '', jobId));
        b.set(BACKLOG_INDEX.sortKey, backlogSortKey(turn ?? 0, backlogSince ?? now, jobId));
      } else if (status !== undefined) {
        b.remove(BACKLOG_INDEX.partitionKey);
        b.remove(BACKLOG_INDEX.sortKey);
      }
      const endedKnown =
        expect.statusIn !== undefined && expect.statusIn.length > 0 && expect.statusIn.every(isTerminal);
      if (status !== undefined && isTerminal(status)) {
        b.set(LIST_INDEX.partitionKey, listKey(ListName.endedJobs, jobId));
        b.set(LIST_INDEX.sortKey, now);
        b.set(TTL_ATTRIBUTE, ttlSeconds(now, TERMINAL_JOB_RETENTION_MS));
      } else if (status !== undefined) {
        b.set(LIST_INDEX.partitionKey, listKey(ListName.openJobs, jobId));
        b.setExpression(LIST_INDEX.sortKey, b.name('createdAt'));
        b.remove(TTL_ATTRIBUTE);
      } else if (endedKnown) {
        // A later write to a finished job lists it as "ended since" again (see `listEndedSince`).
        b.set(LIST_INDEX.sortKey, now);
      }
      const what = `job ${jobId} update [${expectationParts(expect).join(', ')}]`;
      const result = await storeCall(what, () =>
        doc.send(
          new UpdateCommand({ TableName: tableName, Key: jobKey(jobId), ReturnValues: 'ALL_NEW', ...b.params() }),
        ),
      );
      if (!result.Attributes) throw new Error(`${what}: no attributes returned`);
      const updated = fromItem<Job>(result.Attributes);
      if (status === undefined && !endedKnown && isTerminal(updated.status)) await touchEnded(jobId, now);
      return updated;
    },

    async listOpen(limit) {
      return queryList<Job>(ctx, ListName.openJobs, { limit, keep: (job) => !isTerminal(job.status) });
    },

    async listBacklog(pool, limit) {
      if (options.backlogIndex) return queryBacklog(ctx, pool, limit);
      // No backlog index (an older embedded table): the open jobs, filtered and put in launch order.
      const open = await queryList<Job>(ctx, ListName.openJobs, {
        keep: (job) => job.status === JobStatus.waitingCapacity && job.pool === pool && job.turn !== undefined,
      });
      return open.sort(byLaunchOrder).slice(0, Math.max(0, limit));
    },

    async listEndedSince(since, limit) {
      return queryList<Job>(ctx, ListName.endedJobs, {
        limit,
        since,
        keep: (job) => isTerminal(job.status) && job.updatedAt >= since,
      });
    },
  };
}
