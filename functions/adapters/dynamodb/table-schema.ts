/**
 * The one DynamoDB table (docs/design.md "State"): key names, the listing index, the TTL attribute and the item kinds.
 * No SDK imports: the CDK stack imports this file to declare the same table that `ensureTable` creates locally.
 *
 * Layout (every item has `pk`, `sk` = `META` and `entity`):
 *
 * | pk                 | entity   | gsi1pk (listing index)          | gsi1sk      | expiresAt (TTL, seconds)         |
 * |--------------------|----------|---------------------------------|-------------|----------------------------------|
 * | `JOB#<jobId>`      | job      | `JOB_OPEN` / `JOB_ENDED`        | updatedAt   | completed/failed + 30 days       |
 * | `BASELINE#<scope>` | baseline | `BASELINE`                      | updatedAt   | —                                |
 * | `BREAKER#<scope>`  | breaker  | —                               | —           | —                                |
 * | `RUNNER#<name>`    | runner   | `RUNNER_ACTIVE` until stopped   | createdAt   | stopped + 30 days                |
 * | `LOCK#<name>`      | lock     | —                               | —           | lease end + 1 day                |
 * | `VALUE#<name>`     | value    | —                               | —           | —                                |
 * | `MARK#<name>`      | mark     | —                               | —           | mark end + 1 day                 |
 *
 * The listing index is sparse: an item is in it only while it has `gsi1pk`, so "open jobs" and "active
 * runners" are Queries that never touch finished items. A finished job moves to `JOB_ENDED` in the same
 * write that finishes it (no extra request): the reconciler reads "ended since its last run" as a range
 * of that partition's sort key, and TTL removes the items after 30 days. Why one shared index instead of one per list:
 * every GSI multiplies write cost; the three lists never collide because their `gsi1pk` values differ.
 * Each list is one index partition, which is fine at the scale of one fleet (hundreds of open jobs, not millions).
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

/** Sparse global secondary index that lists open jobs, baselines and active runners. */
export const LIST_INDEX = {
  name: 'gsi1',
  partitionKey: 'gsi1pk',
  sortKey: 'gsi1sk',
} as const;

/** The values of `gsi1pk`, one per list. */
export const ListName = {
  openJobs: 'JOB_OPEN',
  endedJobs: 'JOB_ENDED',
  baselines: 'BASELINE',
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
} as const;

export const Entity = {
  job: 'job',
  baseline: 'baseline',
  breaker: 'breaker',
  runner: 'runner',
  lock: 'lock',
  value: 'value',
  mark: 'mark',
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
};

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
  TTL_ATTRIBUTE,
];

/** `expiresAt` for an item that may be deleted `retentionMs` after `atMs`. */
export function ttlSeconds(atMs: number, retentionMs: number): number {
  return Math.ceil((atMs + retentionMs) / 1000);
}
