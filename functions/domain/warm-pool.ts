import { hasBacklog, type PoolCapacityState, slotsInUse } from './pool-capacity.ts';

/**
 * Warm runners (docs/design.md "Warm runners"): a pool keeps a few runners booted and ready — registered
 * nowhere, holding no credential — that wait for one job's JIT config. Everything here is pure: time comes in
 * as an argument, the store and the launcher are the use case's (use-cases/warm/warm-pool.ts).
 */

/** Days of the week as `Date#getUTCDay` numbers them (0 = Sunday). */
export const WEEK_DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type WeekDay = (typeof WEEK_DAYS)[number];

/** A time window with its own warm size, in a time zone (`days` are the days a window starts on). */
export interface WarmWindow {
  /** Day numbers (0 = Sunday … 6 = Saturday) the window starts on. */
  readonly days: readonly number[];
  /** Minutes after local midnight: the window is [from, to); `to` ≤ `from` runs past midnight. */
  readonly fromMinute: number;
  readonly toMinute: number;
  readonly size: number;
  /** IANA time zone the window's days and times are read in. */
  readonly timeZone: string;
}

/** A pool's warm settings, as the configuration parsed them. */
export interface WarmSettings {
  /** Warm runners kept outside every window. */
  readonly size: number;
  /** First matching window (listed order) sets the size; none: {@link size}. */
  readonly schedule: readonly WarmWindow[];
  /** An idle warm runner is recycled (stopped, and a fresh one booted) after this long. */
  readonly maxIdleMs: number;
}

export const DEFAULT_WARM_MAX_IDLE_MINUTES = 30;

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The weekday (0 = Sunday) and minute of the day of `at` (epoch ms) in `timeZone`. */
export function localTime(at: number, timeZone: string): { day: number; minute: number } {
  const parts = formatterFor(timeZone).formatToParts(at);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  const day = WEEK_DAYS.indexOf(part('weekday').toLowerCase().slice(0, 3) as WeekDay);
  const hour = Number(part('hour')) % 24;
  return { day: Math.max(0, day), minute: hour * 60 + Number(part('minute')) };
}

/** Whether `at` falls in `window`; a window past midnight belongs to the day it started on. */
export function inWindow(window: WarmWindow, at: number): boolean {
  const { day, minute } = localTime(at, window.timeZone);
  if (window.fromMinute < window.toMinute) {
    return window.days.includes(day) && minute >= window.fromMinute && minute < window.toMinute;
  }
  const previous = (day + 6) % 7;
  return (
    (window.days.includes(day) && minute >= window.fromMinute) ||
    (window.days.includes(previous) && minute < window.toMinute)
  );
}

/** How many warm runners the pool should keep idle at `at`: the first matching window's size, else the base size. */
export function warmTarget(settings: WarmSettings | undefined, at: number): number {
  if (!settings) return 0;
  return settings.schedule.find((w) => inWindow(w, at))?.size ?? settings.size;
}

/** The largest size the pool ever asks for (checked against `maxRunners` at start-up). */
export function largestWarmSize(settings: WarmSettings): number {
  return Math.max(settings.size, ...settings.schedule.map((w) => w.size));
}

// ───────────── names ─────────────

const MAX_NAME_LENGTH = 64;

/** `<prefix>-warm-<pool>-<nonce>`: never a JIT name (`parseRunnerName` refuses it), never a baseline name. */
export function warmRunnerName(prefix: string, pool: string, nonce: string): string {
  return `${prefix}-warm-${pool}-${nonce}`.slice(0, MAX_NAME_LENGTH);
}

/** Whether `name` is one of this fleet's warm runner names. */
export function isWarmRunnerName(prefix: string, name: string): boolean {
  return name.startsWith(`${prefix}-warm-`);
}

// ───────────── decisions ─────────────

/** What a decision needs of a warm runner's record. */
export interface WarmRunnerState {
  readonly name: string;
  readonly pool: string;
  readonly state: 'booting' | 'ready' | 'claimed' | 'stopping';
  readonly version: string;
  readonly createdAt: number;
  readonly readyAt?: number | undefined;
  readonly claimedAt?: number | undefined;
  /** Set by the claim: the job it serves. */
  readonly jobId?: number | undefined;
}

/** Idle warm runners: booted or booting, not claimed. */
export const isIdleWarm = (r: { readonly state: string }) => r.state === 'booting' || r.state === 'ready';

/**
 * A claim is refused this close to a warm runner's own idle deadline (it stops itself after `maxIdleMs`): a
 * hand-off written as it gives up would be lost, and the job would wait for its start timeout.
 */
export const CLAIM_MARGIN_MS = 10_000;

/**
 * The warm runners a job of `pool` may claim, in the order to try them: ready before booting (a booting one
 * reads its hand-off once it is up, later than a ready one would), then oldest first (closest to recycling),
 * then by name. Only runners of the job's version: a warm runner was booted with one version and cannot change.
 */
export function claimOrder(
  runners: readonly WarmRunnerState[],
  pool: string,
  version: string,
  now: number,
  maxIdleMs: number,
): WarmRunnerState[] {
  return runners
    .filter((r) => r.pool === pool && isIdleWarm(r) && r.version === version)
    .filter((r) => now < r.createdAt + maxIdleMs - CLAIM_MARGIN_MS)
    .sort(
      (a, b) =>
        Number(b.state === 'ready') - Number(a.state === 'ready') ||
        a.createdAt - b.createdAt ||
        a.name.localeCompare(b.name),
    );
}

/** Why the reconciler stops (or forgets) a warm runner. */
export const WarmStopReason = {
  /** Idle past `maxIdleMs`: recycled, a fresh one takes its place. */
  idle: 'idle',
  /** More idle than the pool's target now (a schedule window ended, the size was lowered). */
  surplus: 'surplus',
  /** Still booting after the boot bound. */
  neverReady: 'never-ready',
  /** Claimed, but its job never ran on it within the bound (the claimer died before the hand-off). */
  noHandoff: 'no-handoff',
  /** The platform no longer lists it: its record is closed (nothing to stop). */
  gone: 'gone',
  /** A job claimed it and its launch ended: its one job is done. */
  served: 'served',
} as const;
export type WarmStopReason = (typeof WarmStopReason)[keyof typeof WarmStopReason];

export interface WarmPassInput {
  /** The pool's warm records still open (booting, ready, claimed, stopping). */
  readonly runners: readonly WarmRunnerState[];
  /** Runner names the launcher lists as running (a claimed runner is listed under its job's runner name). */
  readonly live: ReadonlySet<string>;
  /** For a claimed runner: the name its job's runner is registered under, and whether the job ran on it. */
  readonly served: (runner: WarmRunnerState) => { runnerName?: string | undefined; handed: boolean };
  readonly target: number;
  readonly now: number;
  readonly maxIdleMs: number;
  /** A warm runner still booting after this long is stopped. */
  readonly bootTimeoutMs: number;
  /** A claimed runner whose job did not run on it by then is stopped. */
  readonly handoffBoundMs: number;
  /** A record younger than this is never read as gone (a boot the listing does not show yet). */
  readonly graceMs: number;
}

export interface WarmPass {
  /** Stop through the launcher, then close the record. */
  readonly stop: { name: string; reason: WarmStopReason }[];
  /** Close the record only: its launch is gone already. */
  readonly close: { name: string; reason: WarmStopReason }[];
}

/**
 * What one reconciler pass does with a pool's warm runners (before it refills): records whose launch is gone
 * are closed; idle runners past `maxIdleMs`, booting ones past the boot bound and claimed ones that never
 * got their job are stopped; idle runners above the target are stopped, oldest first (they are the next
 * to be recycled anyway).
 */
export function planWarmPass(input: WarmPassInput): WarmPass {
  const { now } = input;
  const stop: WarmPass['stop'] = [];
  const close: WarmPass['close'] = [];
  const young = (r: WarmRunnerState) => now - r.createdAt < input.graceMs;
  const idleLeft: WarmRunnerState[] = [];
  for (const r of input.runners) {
    if (r.state === 'claimed') {
      const served = input.served(r);
      const listed = input.live.has(r.name) || (served.runnerName !== undefined && input.live.has(served.runnerName));
      const claimedFor = now - (r.claimedAt ?? r.createdAt);
      if (!listed && claimedFor >= input.graceMs) close.push({ name: r.name, reason: WarmStopReason.served });
      else if (!served.handed && claimedFor >= input.handoffBoundMs)
        stop.push({ name: r.name, reason: WarmStopReason.noHandoff });
      continue;
    }
    if (r.state === 'stopping') {
      // A stop that did not finish (a crash, a failed stop): done again; closed once the launch is gone.
      if (input.live.has(r.name)) stop.push({ name: r.name, reason: WarmStopReason.gone });
      else close.push({ name: r.name, reason: WarmStopReason.gone });
      continue;
    }
    if (!input.live.has(r.name) && !young(r)) {
      close.push({ name: r.name, reason: WarmStopReason.gone });
      continue;
    }
    if (now - r.createdAt >= input.maxIdleMs) stop.push({ name: r.name, reason: WarmStopReason.idle });
    else if (r.state === 'booting' && now - r.createdAt >= input.bootTimeoutMs)
      stop.push({ name: r.name, reason: WarmStopReason.neverReady });
    else idleLeft.push(r);
  }
  const surplus = idleLeft.length - Math.max(0, input.target);
  if (surplus > 0) {
    const oldest = [...idleLeft].sort((a, b) => a.createdAt - b.createdAt || a.name.localeCompare(b.name));
    for (const r of oldest.slice(0, surplus)) stop.push({ name: r.name, reason: WarmStopReason.surplus });
  }
  return { stop, close };
}

/**
 * How many warm runners to boot now: up to the target, within the room under `maxRunners` (undefined: no
 * cap), and none while jobs wait in the pool's backlog (a free slot goes to a waiting job first).
 */
export function warmBoots(input: {
  target: number;
  idle: number;
  room?: number | undefined;
  backlog: boolean;
}): number {
  if (input.backlog) return 0;
  const wanted = Math.max(0, input.target - input.idle);
  return input.room === undefined ? wanted : Math.max(0, Math.min(wanted, input.room));
}

/**
 * Takes slots for warm runners about to boot, in one decision on the pool record: as many of `names` as the
 * room allows, none while a job waits (a repository has a turn). Returns the names that got one.
 */
export function reserveWarmSlots(
  capacity: PoolCapacityState,
  names: readonly string[],
  maxRunners: number,
  now: number,
): { next: PoolCapacityState; reserved: string[]; changed: boolean } {
  if (hasBacklog(capacity)) return { next: capacity, reserved: [], changed: false };
  const slots = { ...capacity.slots };
  const reserved: string[] = [];
  for (const name of names) {
    if (slotsInUse({ slots }) >= maxRunners) break;
    if (slots[name] === undefined) slots[name] = { jobId: 0, since: now };
    reserved.push(name);
  }
  return { next: { ...capacity, slots }, reserved, changed: reserved.length > 0 };
}

/**
 * The claim's admission: the warm runner's slot becomes the job's runner's slot (same count, so a claimed
 * warm runner never waits for capacity). `moved` false: the warm slot was not held (freed by the lost-slot
 * pass), and the caller admits the job as a cold launch instead.
 */
export function moveWarmSlot(
  capacity: PoolCapacityState,
  warmName: string,
  runnerName: string,
  jobId: number,
  now: number,
): { next: PoolCapacityState; moved: boolean; changed: boolean } {
  if (capacity.slots[warmName] === undefined) {
    const held = capacity.slots[runnerName] !== undefined;
    return { next: capacity, moved: held, changed: false };
  }
  const slots = { ...capacity.slots };
  delete slots[warmName];
  slots[runnerName] = { jobId, since: now };
  return { next: { ...capacity, slots }, moved: true, changed: true };
}
