import { describe, expect, it } from 'vitest';
import {
  admit,
  type BacklogHead,
  emptyCapacity,
  handOut,
  hasBacklog,
  lostSlots,
  type PoolCapacityState,
  releaseSlot,
  room,
  slotsInUse,
} from '../../functions/domain/pool-capacity.ts';

const request = (runnerName: string, jobId: number, repository = 'o/a', now = 10) => ({
  runnerName,
  jobId,
  repository,
  maxRunners: 2,
  now,
});

function full(): PoolCapacityState {
  let c = emptyCapacity('p');
  c = admit(c, request('r1', 1)).next;
  c = admit(c, request('r2', 2)).next;
  return c;
}

const head = (jobId: number, repository: string, turn: number, queuedAt = jobId): BacklogHead => ({
  jobId,
  repository,
  turn,
  queuedAt,
  runnerName: `r${jobId}`,
});

describe('admit', () => {
  it('takes a free slot when nobody waits', () => {
    const a = admit(emptyCapacity('p'), request('r1', 1));
    expect(a).toMatchObject({ kind: 'admitted', changed: true });
    expect(a.next.slots).toEqual({ r1: { jobId: 1, since: 10 } });
  });

  it('admits again without a change a runner whose slot is already held (a retry, or a slot handed out)', () => {
    const c = full();
    expect(admit(c, request('r1', 1))).toEqual({ kind: 'admitted', next: c, changed: false });
  });

  it('makes a job wait at the turn being served when the pool is full', () => {
    const a = admit({ ...full(), serving: 4 }, request('r3', 3, 'o/b'));
    expect(a).toMatchObject({ kind: 'wait', turn: 4, changed: true });
    expect(a.next.turns).toEqual({ 'o/b': { turn: 4, jobId: 3 } });
    expect(slotsInUse(a.next)).toBe(2);
  });

  it('gives a repository’s next waiting job the turn after its newest one', () => {
    let c = full();
    const first = admit(c, request('r3', 3, 'o/b'));
    c = first.next;
    const second = admit(c, request('r4', 4, 'o/b'));
    expect([first.kind === 'wait' && first.turn, second.kind === 'wait' && second.turn]).toEqual([0, 1]);
  });

  it('keeps the turn of a job that asks again while it waits', () => {
    const c = admit(full(), request('r3', 3, 'o/b')).next;
    expect(admit(c, request('r3', 3, 'o/b'))).toEqual({ kind: 'wait', turn: 0, next: c, changed: false });
  });

  it('queues a newcomer behind the waiting jobs even when a slot is free, so the backlog keeps its order', () => {
    let c = admit(full(), request('r3', 3, 'o/b')).next;
    c = releaseSlot(c, 'r1').next;
    expect(room(c, 2)).toBe(1);
    expect(admit(c, request('r4', 4, 'o/c'))).toMatchObject({ kind: 'wait', turn: 0 });
  });

  it('forgets a repository’s turn whose job no longer waits, so the new job does not queue behind it', () => {
    let c = { ...full(), serving: 2 };
    c = admit(c, request('r3', 3, 'o/b')).next; // turn 2
    c = admit(c, request('r4', 4, 'o/b')).next; // turn 3 (then cancelled while waiting)
    const a = admit(c, request('r5', 5, 'o/b', 20));
    const b = admit(c, { ...request('r5', 5, 'o/b', 20), lastStillWaiting: false });
    expect([a.kind === 'wait' && a.turn, b.kind === 'wait' && b.turn]).toEqual([4, 2]);
  });

  it('admits a job once the only turn left is its repository’s stale one and there is room', () => {
    let c = admit(full(), request('r3', 3, 'o/b')).next;
    c = releaseSlot(c, 'r1').next;
    const a = admit(c, { ...request('r4', 4, 'o/b'), lastStillWaiting: false });
    expect(a.kind).toBe('admitted');
    expect(hasBacklog(a.next)).toBe(false);
  });
});

describe('releaseSlot', () => {
  it('frees the slot of a runner that ended', () => {
    const r = releaseSlot(full(), 'r1');
    expect(r.changed).toBe(true);
    expect(Object.keys(r.next.slots)).toEqual(['r2']);
  });

  it('changes nothing for a name without a slot (a repeated end event)', () => {
    const c = full();
    expect(releaseSlot(c, 'nope')).toEqual({ next: c, changed: false });
  });
});

describe('handOut', () => {
  it('hands free slots to the heads in launch order, as many as there is room for', () => {
    const c = releaseSlot(full(), 'r1').next;
    const out = handOut(c, [head(5, 'o/b', 1), head(4, 'o/a', 0)], 2, 50);
    expect(out.given.map((h) => h.jobId)).toEqual([4]);
    expect(out.next.slots.r4).toEqual({ jobId: 4, since: 50 });
    expect(out.next.serving).toBe(0);
  });

  it('moves the turn being served and drops the turn of a repository whose newest waiting job got a slot', () => {
    let c = full();
    c = admit(c, request('r3', 3, 'o/b')).next;
    c = admit(c, request('r4', 4, 'o/c')).next;
    c = admit(c, request('r5', 5, 'o/c')).next;
    c = releaseSlot(releaseSlot(c, 'r1').next, 'r2').next;
    const out = handOut(c, [head(3, 'o/b', 0), head(4, 'o/c', 0)], 2, 50);
    expect(out.given.map((h) => h.jobId)).toEqual([3, 4]);
    expect(out.next.turns).toEqual({ 'o/c': { turn: 1, jobId: 5 } });
  });

  it('counts a head whose slot it already holds without taking a second one (two releases handing out at once)', () => {
    let c = releaseSlot(full(), 'r1').next;
    c = handOut(c, [head(4, 'o/a', 0)], 2, 50).next;
    const again = handOut(c, [head(4, 'o/a', 0)], 2, 60);
    expect(again.given.map((h) => h.jobId)).toEqual([4]);
    expect(slotsInUse(again.next)).toBe(2);
  });

  it('hands nothing out when the pool is full', () => {
    const out = handOut(full(), [head(4, 'o/a', 0)], 2, 50);
    expect(out).toMatchObject({ given: [], changed: false });
  });

  it('forgets every turn when the store lists no waiting job', () => {
    const c = admit(full(), request('r3', 3, 'o/b')).next;
    const out = handOut(c, [], 2, 50, true);
    expect(out.changed).toBe(true);
    expect(hasBacklog(out.next)).toBe(false);
  });
});

describe('lostSlots', () => {
  const c = { slots: { a: { jobId: 1, since: 0 }, b: { jobId: 2, since: 0 }, c: { jobId: 3, since: 90 } } };

  it('names the slots whose runner the platform does not list, once the grace is over', () => {
    expect(lostSlots(c, new Set(['a']), 100, 30)).toEqual(['b']);
  });

  it('keeps every slot inside the grace (a launch the platform does not list yet)', () => {
    expect(lostSlots(c, new Set(), 20, 30)).toEqual([]);
  });
});
