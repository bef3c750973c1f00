import { compareWaiting, turnFor, type WaitingJob } from './launch-order.ts';

/** One runner of a capped pool that is alive or about to be: held from before its mint until it ends. */
export interface PoolSlot {
  /** The job the runner was minted for. */
  readonly jobId: number;
  /** When the slot was taken (epoch ms): a slot whose runner the platform never lists is freed after a grace. */
  readonly since: number;
}

/** A repository with jobs waiting in the pool: the turn its newest waiting job got, and that job. */
export interface RepositoryTurn {
  readonly turn: number;
  readonly jobId: number;
}

/**
 * The `POOL#<name>` record of a pool with `maxRunners` (docs/design.md "Capacity"): who holds its runner
 * slots, and where the rotation of its backlog stands. The waiting jobs themselves are job items (status
 * `waiting-capacity`, with their turn), listed oldest turn first by the store; this record only keeps what
 * a decision needs in one read: the count of runners alive, the turn being served, and each waiting
 * repository's last turn. Both maps stay small: at most `maxRunners` slots, one turn per repository with
 * jobs waiting.
 */
export interface PoolCapacity {
  readonly pool: string;
  /** By runner name (one slot per runner: a replacement of a stolen runner is a second runner). */
  readonly slots: Readonly<Record<string, PoolSlot>>;
  /** By repository (`owner/repo`); empty when no job waits. */
  readonly turns: Readonly<Record<string, RepositoryTurn>>;
  /** The turn of the last job handed a slot from the backlog (0 before any). */
  readonly serving: number;
  readonly version: number;
  readonly updatedAt: number;
}

/** The fields a decision changes; the store adds `version` and `updatedAt`. */
export type PoolCapacityState = Omit<PoolCapacity, 'version' | 'updatedAt'>;

/** A pool record before its first write. */
export function emptyCapacity(pool: string): PoolCapacityState {
  return { pool, slots: {}, turns: {}, serving: 0 };
}

/** Runners alive (or about to be) in the pool. */
export function slotsInUse(capacity: Pick<PoolCapacity, 'slots'>): number {
  return Object.keys(capacity.slots).length;
}

/** Whether some job may be waiting in the pool's backlog (a repository has a turn). */
export function hasBacklog(capacity: Pick<PoolCapacity, 'turns'>): boolean {
  return Object.keys(capacity.turns).length > 0;
}

/** Free slots: never negative (a lowered `maxRunners` leaves the pool over its new cap until runners end). */
export function room(capacity: Pick<PoolCapacity, 'slots'>, maxRunners: number): number {
  return Math.max(0, maxRunners - slotsInUse(capacity));
}

export interface AdmissionRequest {
  readonly runnerName: string;
  readonly jobId: number;
  readonly repository: string;
  readonly maxRunners: number;
  readonly now: number;
  /**
   * Whether the job named by the repository's turn still waits (the caller read it). False forgets that
   * turn: its job left the backlog without a slot (cancelled while waiting), so a new job of the repository
   * must not queue behind it. Undefined: not checked (trusted).
   */
  readonly lastStillWaiting?: boolean | undefined;
}

export type Admission =
  /** The runner may be minted: its slot was taken now, or was already held (handed out by the backlog). */
  | { readonly kind: 'admitted'; readonly next: PoolCapacityState; readonly changed: boolean }
  /** The pool is full, or others wait before the job: it waits with this turn. */
  | { readonly kind: 'wait'; readonly turn: number; readonly next: PoolCapacityState; readonly changed: boolean };

/**
 * The capacity decision for one runner about to be minted. A slot already held under its name admits it
 * (idempotent: a retried provisioning, or a slot the backlog handed to the job). A free slot admits it only
 * when nobody waits: a job arriving while others wait queues behind them even if a runner just ended, so
 * the backlog keeps its order (the release that freed the slot hands it to the backlog's head). Otherwise
 * the job waits with the turn {@link turnFor} gives it; asking again for the same job keeps its turn.
 */
export function admit(capacity: PoolCapacityState, request: AdmissionRequest): Admission {
  const { runnerName, jobId, repository, maxRunners, now } = request;
  if (capacity.slots[runnerName] !== undefined) return { kind: 'admitted', next: capacity, changed: false };
  const own = capacity.turns[repository];
  if (own?.jobId === jobId) return { kind: 'wait', turn: own.turn, next: capacity, changed: false };
  const turns = { ...capacity.turns };
  if (own !== undefined && request.lastStillWaiting === false) delete turns[repository];
  if (room(capacity, maxRunners) > 0 && Object.keys(turns).length === 0) {
    return {
      kind: 'admitted',
      next: { ...capacity, turns, slots: { ...capacity.slots, [runnerName]: { jobId, since: now } } },
      changed: true,
    };
  }
  const turn = turnFor(capacity.serving, turns[repository]?.turn);
  return {
    kind: 'wait',
    turn,
    next: { ...capacity, turns: { ...turns, [repository]: { turn, jobId } } },
    changed: true,
  };
}

/** The slot of a runner that ended (or never started); a name without a slot changes nothing. */
export function releaseSlot(
  capacity: PoolCapacityState,
  runnerName: string,
): { next: PoolCapacityState; changed: boolean } {
  if (capacity.slots[runnerName] === undefined) return { next: capacity, changed: false };
  const slots = { ...capacity.slots };
  delete slots[runnerName];
  return { next: { ...capacity, slots }, changed: true };
}

/** A waiting job at the head of the backlog, with the name its next runner will be minted under. */
export interface BacklogHead extends WaitingJob {
  readonly runnerName: string;
}

/**
 * Hands free slots to the head of the backlog (`heads`: the oldest turns the store listed, re-read and
 * still waiting), in launch order, as many as there is room for. A head's slot is taken under its next
 * runner's name, so its provisioning is admitted by {@link admit} and no job arriving meanwhile takes the
 * slot. The turn being served moves to the last head's turn, and a repository whose newest waiting job is
 * handed a slot has no turn left. `backlogEmpty`: the store listed no waiting job at all, so every turn
 * left over belongs to jobs that ended while waiting and is forgotten.
 */
export function handOut(
  capacity: PoolCapacityState,
  heads: readonly BacklogHead[],
  maxRunners: number,
  now: number,
  backlogEmpty = false,
): { next: PoolCapacityState; given: BacklogHead[]; changed: boolean } {
  const slots = { ...capacity.slots };
  const turns = backlogEmpty ? {} : { ...capacity.turns };
  let serving = capacity.serving;
  const given: BacklogHead[] = [];
  for (const head of [...heads].sort(compareWaiting)) {
    if (slots[head.runnerName] === undefined) {
      if (Object.keys(slots).length >= maxRunners) break;
      slots[head.runnerName] = { jobId: head.jobId, since: now };
    }
    given.push(head);
    serving = Math.max(serving, head.turn);
    // Only the very turn handed out: a stale head (listed before it launched, was robbed and waits again
    // with a later turn) must not erase its repository's newer turn.
    const own = turns[head.repository];
    if (own?.jobId === head.jobId && own.turn === head.turn) delete turns[head.repository];
  }
  const changed = given.length > 0 || (backlogEmpty && hasBacklog(capacity)) || serving !== capacity.serving;
  return { next: { ...capacity, slots, turns, serving }, given, changed };
}

/**
 * Slots whose runner the platform no longer lists (`alive`: runner names of the launches still running),
 * held longer than `graceMs`: their end was never seen (a lost exit event, a crash between a failed launch
 * and its release, a head that was cancelled after it was handed a slot). The grace covers a runner between
 * its slot and its launch showing up in the platform's listing.
 */
export function lostSlots(
  capacity: Pick<PoolCapacity, 'slots'>,
  alive: ReadonlySet<string>,
  now: number,
  graceMs: number,
): string[] {
  return Object.entries(capacity.slots)
    .filter(([name, slot]) => !alive.has(name) && now - slot.since >= graceMs)
    .map(([name]) => name);
}
