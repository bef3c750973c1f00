/**
 * The one DynamoDB table (docs/design.md "State"): key names, the listing index, the TTL attribute and the item kinds.
 * No SDK imports: the CDK stack imports this file to declare the same table that `ensureTable` creates locally.
 *
 * Layout (every item has `pk`, `sk` = `META` and `entity`):
 *
 * | pk                 | entity   | gsi1pk (listing index)                  | gsi1sk           | expiresAt (TTL, seconds)   |
 * |--------------------|----------|-----------------------------------------|------------------|----------------------------|
 * | `JOB#<jobId>`      | job      | `JOB_OPEN#<s>` / `JOB_ENDED#<s>`        | createdAt / end  | completed/failed + 30 days |
 * | `BASELINE#<scope>` | baseline | `BASELINE`                              | updatedAt        | —                          |
 * | `BREAKER#<scope>`  | breaker  | —                                       | —                | —                          |
 * | `RUNNER#<name>`    | runner   | `RUNNER_ACTIVE#<s>` until stopped       | createdAt        | stopped + 30 days          |
 * | `LOCK#<name>`      | lock     | —                                       | —                | lease end + 1 day          |
 * | `VALUE#<name>`     | value    | —                                       | —                | —                          |
 * | `MARK#<name>`      | mark     | —                                       | —                | mark end + 1 day           |
 * | `POOL#<name>`      | pool     | —                                       | —                | —                          |
 * | `VERSION#actions-runner` | version | —                                   | —                | —                          |
 *
 * The backlog index (`gsi2`) lists the jobs waiting for room in a capped pool (`waiting-capacity`) under
 * `BACKLOG#<pool>#<s>`, sorted by launch order (`gsi2sk` = turn, then since when, then job id, as one
 * fixed-width string): the head of a pool's backlog is one Query per shard with a small `Limit`. Sparse like
 * the listing index: a job is in it only while it waits for capacity, so it costs one index put when the job
 * starts waiting and one delete when it leaves; jobs of uncapped pools never touch it. Why a second index and
 * not another list of the first: a waiting job is still an open job (the reconciler lists it), and the first
 * index's numeric sort key cannot hold the three-part launch order.
 *
 * The listing index is sparse: an item is in it only while it has `gsi1pk`, so "open jobs" and "active
 * runners" are Queries that never touch finished items. A finished job moves to `JOB_ENDED#<s>` in the same
 * write that finishes it (no extra request): the reconciler reads "ended since its last run" as a range
 * of that list's sort key (the job's last write once ended), and TTL removes the items after 30 days. Why one
 * shared index instead of one per list: every GSI multiplies write cost; the lists never collide because their
 * `gsi1pk` values differ.
 *
 * Why the job and runner lists are sharded (`<s>` = {@link listShard} of the job id or runner name, one of
 * {@link LIST_SHARDS}): DynamoDB serves at most 1,000 write units per second per partition key value, index
 * included, and a throttled index throttles the table. One `JOB_OPEN` key capped a deployment at about a
 * hundred job transitions per second; a list is now read by one Query per shard, merged in sort-key order.
 * Why the index entries do not churn: the index projects KEYS_ONLY (the listing reads the items with one
 * consistent BatchGetItem per 100 keys, so callers see fresh records), and an open job's sort key is its
 * creation time, so a job write that leaves its list alone leaves its index entry alone: per job, one entry
 * put when it is recorded and one move (delete + put) when it ends. Baselines are one per scope and written
 * rarely, so their list stays one key.
 *
 * Older layout (before the sharding): lists under the bare names (`JOB_OPEN`, `JOB_ENDED`, `RUNNER_ACTIVE`),
 * open jobs sorted by last write, index projecting ALL. Readers still query those legacy keys (one more Query
 * per list, a few bytes while empty), so a table written by the old layout needs no migration; an item leaves
 * its legacy key on its next list change (a status change of a job, a runner stopping), and ended entries
 * expire with their items. See docs/decisions.md.
 *
 * Times inside items are epoch milliseconds, like the domain; only `expiresAt` is epoch seconds, as DynamoDB TTL
 * requires. TTL deletion is lazy (up to days late), so no condition ever relies on it: leases and marks carry
 * their own millisecond expiry and conditions compare that.
 */

export const PARTITION_KEY = 'pk';
export const SORT_KEY = 'sk';
/** The only sort-key value: every kind has one item per partition key. */
export const META_SORT_KEY = 'META';
/** Names the kind of every item, for people reading the table (the domain has its own `kind` on runners). */
export const ENTITY_ATTRIBUTE = 'entity';

/**
 * Sparse global secondary index that lists open jobs, baselines and active runners. KEYS_ONLY: readers fetch
 * the items themselves (a table created with the older ALL projection works the same, only costlier to write).
 */
export const LIST_INDEX = {
  name: 'gsi1',
  partitionKey: 'gsi1pk',
  sortKey: 'gsi1sk',
  projection: 'KEYS_ONLY',
} as const;

/** Sparse index of the jobs waiting for room in their pool, in launch order (see the layout above). */
export const BACKLOG_INDEX = {
  name: 'gsi2',
  partitionKey: 'gsi2pk',
  sortKey: 'gsi2sk',
  projection: 'KEYS_ONLY',
} as const;

/** The `gsi2pk` value of a waiting job of `pool`. */
export function backlogKey(pool: string, jobId: number): string {
  return `BACKLOG#${pool}#${listShard(jobId)}`;
}

/** Every `gsi2pk` value of `pool`'s backlog. */
export function backlogKeys(pool: string): string[] {
  return Array.from({ length: LIST_SHARDS }, (_, shard) => `BACKLOG#${pool}#${shard}`);
}

/**
 * The `gsi2sk` value: turn, since when (epoch ms) and job id, zero-padded so the string order is the launch
 * order (`launchOrder` in the domain).
 */
export function backlogSortKey(turn: number, since: number, jobId: number): string {
  const pad = (n: number, width: number) => String(Math.max(0, Math.trunc(n))).padStart(width, '0');
  return `${pad(turn, 12)}#${pad(since, 15)}#${pad(jobId, 20)}`;
}

/** Shards of each sharded list: 8 × 1,000 write units/s, and 8 Queries (in parallel) per listing. */
export const LIST_SHARDS = 8;

/** The shard of a job id or runner name: a stable hash, so an item always lands in the same shard. */
export function listShard(id: string | number): number {
  // FNV-1a over the decimal/string form: cheap, stable across processes and versions, evenly spread.
  let hash = 0x811c9dc5;
  const text = String(id);
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % LIST_SHARDS;
}

/** The `gsi1pk` value of `list` for the item with this id (baselines, breakers: the bare list name, unsharded). */
export function listKey(list: ListName, id: string | number): string {
  return isUnsharded(list) ? list : `${list}#${listShard(id)}`;
}

/** Baselines and breakers are few (one per served scope) and change rarely: one unsharded key each. */
function isUnsharded(list: ListName): boolean {
  return list === ListName.baselines || list === ListName.breakers;
}

/** Every `gsi1pk` value a reader of `list` queries: its shards, then the older layout's bare key. */
export function listKeys(list: ListName): string[] {
  if (isUnsharded(list)) return [list];
  return [...Array.from({ length: LIST_SHARDS }, (_, shard) => `${list}#${shard}`), list];
}

/** The values of `gsi1pk`, one per list (sharded lists add `#<shard>`, see {@link listKey}). */
export const ListName = {
  openJobs: 'JOB_OPEN',
  endedJobs: 'JOB_ENDED',
  baselines: 'BASELINE',
  breakers: 'BREAKER',
  activeRunners: 'RUNNER_ACTIVE',
} as const;
export type ListName = (typeof ListName)[keyof typeof ListName];

/** DynamoDB TTL attribute, epoch SECONDS. */
export const TTL_ATTRIBUTE = 'expiresAt';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Completed/failed jobs stay readable for `jit-runners job show` and audits for 30 days, then TTL deletes them. */
export const TERMINAL_JOB_RETENTION_MS = 30 * DAY_MS;
/** Stopped runner records are kept as long as terminal jobs (they explain what ran where). */
export const STOPPED_RUNNER_RETENTION_MS = 30 * DAY_MS;
/** Locks and marks are deleted this long after their own expiry (conditions never wait for TTL). */
export const EXPIRED_LEASE_RETENTION_MS = DAY_MS;

/** Attribute types of the key attributes (`S` string, `N` number), for CreateTable and CDK. */
export const KEY_ATTRIBUTE_TYPES = {
  [PARTITION_KEY]: 'S',
  [SORT_KEY]: 'S',
  [LIST_INDEX.partitionKey]: 'S',
  [LIST_INDEX.sortKey]: 'N',
  [BACKLOG_INDEX.partitionKey]: 'S',
  [BACKLOG_INDEX.sortKey]: 'S',
} as const;

export const Entity = {
  job: 'job',
  baseline: 'baseline',
  breaker: 'breaker',
  runner: 'runner',
  lock: 'lock',
  value: 'value',
  mark: 'mark',
  pool: 'pool',
  version: 'version',
} as const;
export type Entity = (typeof Entity)[keyof typeof Entity];

const PREFIX: Record<Entity, string> = {
  job: 'JOB#',
  baseline: 'BASELINE#',
  breaker: 'BREAKER#',
  runner: 'RUNNER#',
  lock: 'LOCK#',
  value: 'VALUE#',
  mark: 'MARK#',
  pool: 'POOL#',
  version: 'VERSION#',
};

/**
 * The id of the one runner version record (`VERSION#actions-runner`): a deployment tracks one line of
 * actions/runner releases. Its optimistic-concurrency counter is `revision`, not `version`, so it cannot be
 * mistaken for a runner version.
 */
export const VERSION_RECORD_ID = 'actions-runner';

/** Primary key of one item. */
export interface ItemKey {
  pk: string;
  sk: string;
}

export function itemKey(entity: Entity, id: string | number): ItemKey {
  return { pk: `${PREFIX[entity]}${id}`, sk: META_SORT_KEY };
}

/** Attributes the store adds to items; stripped before items reach the domain. */
export const INTERNAL_ATTRIBUTES: readonly string[] = [
  PARTITION_KEY,
  SORT_KEY,
  ENTITY_ATTRIBUTE,
  LIST_INDEX.partitionKey,
  LIST_INDEX.sortKey,
  BACKLOG_INDEX.partitionKey,
  BACKLOG_INDEX.sortKey,
  TTL_ATTRIBUTE,
];

/** `expiresAt` for an item that may be deleted `retentionMs` after `atMs`. */
export function ttlSeconds(atMs: number, retentionMs: number): number {
  return Math.ceil((atMs + retentionMs) / 1000);
}
