import { describe, expect, it } from 'vitest';
import { isServed } from '../../functions/domain/labels.ts';
import { matchPool, type RunnerPool, shadowedBy } from '../../functions/domain/runner-pool.ts';

const pool = (name: string, labels: string[], extra: Partial<RunnerPool> = {}): RunnerPool => ({
  name,
  labels,
  launcher: 'local',
  ...extra,
});

// A valid list: no pool covers a later one.
const pools = [
  pool('x64', ['self-hosted', 'linux', 'x64']),
  pool('gpu', ['self-hosted', 'linux', 'x64', 'gpu']),
  pool('arm64', ['linux', 'arm64']),
  pool('arm64-large', ['self-hosted', 'linux', 'arm64', 'large']),
];

describe('matchPool', () => {
  it.each([
    { job: ['self-hosted', 'linux', 'x64'], pool: 'x64', why: 'the job asks for exactly its labels' },
    { job: ['self-hosted', 'linux', 'x64', 'gpu'], pool: 'gpu', why: 'only that pool has every label' },
    { job: ['self-hosted'], pool: 'x64', why: 'a subset lands in the first pool that has it, in listed order' },
    { job: ['linux'], pool: 'x64', why: 'listed order wins over the closest fit (arm64 has fewer labels)' },
    { job: ['arm64'], pool: 'arm64', why: 'no earlier pool has arm64' },
    { job: ['self-hosted', 'arm64'], pool: 'arm64-large', why: 'the first pool with both, though it has more' },
    { job: ['arm64', 'large'], pool: 'arm64-large', why: 'the only pool with both' },
    { job: ['LINUX', 'ARM64'], pool: 'arm64', why: 'job labels are compared case-insensitively' },
    { job: [' arm64 ', 'arm64'], pool: 'arm64', why: 'surrounding space and repeats are ignored' },
    { job: ['self-hosted', 'windows'], pool: undefined, why: 'no pool has every label' },
    { job: ['x64', 'arm64'], pool: undefined, why: 'labels spread over two pools match neither' },
    { job: ['ubuntu-latest'], pool: undefined, why: 'a GitHub-hosted label matches nothing' },
    { job: [], pool: undefined, why: 'a job asking for no label matches nothing' },
    { job: ['', ' '], pool: undefined, why: 'blank labels count as none' },
  ])('chooses $pool when $why', ({ job, pool: expected }) => {
    expect(matchPool(pools, job)?.name).toBe(expected);
  });

  it('compares pool labels case-insensitively too', () => {
    expect(matchPool([pool('mac', ['Self-Hosted', 'macOS'])], ['self-hosted', 'macos'])?.name).toBe('mac');
  });

  it('matches nothing without pools', () => {
    expect(matchPool([], ['self-hosted'])).toBeUndefined();
  });

  it('agrees with the one-fleet rule for a single pool, so the default pool serves what RUNNER_LABELS serves', () => {
    const fleet = ['self-hosted', 'linux', 'x64'];
    for (const job of [['self-hosted'], ['linux', 'X64'], ['gpu'], [], ['self-hosted', 'arm64']]) {
      expect(matchPool([pool('default', fleet)], job) !== undefined, job.join(',')).toBe(isServed(job, fleet));
    }
  });
});

describe('shadowedBy', () => {
  it.each([
    {
      list: [pool('any', ['self-hosted', 'linux', 'x64', 'large']), pool('big', ['self-hosted', 'large'])],
      shadow: 'any',
      why: 'an earlier pool has all its labels and more',
    },
    {
      list: [pool('a', ['linux', 'x64']), pool('b', ['X64', 'Linux'])],
      shadow: 'a',
      why: 'an earlier pool has the same labels, in another case and order',
    },
    {
      list: [pool('small', ['linux']), pool('big', ['linux', 'large'])],
      shadow: undefined,
      why: 'the earlier pool lacks one of its labels (a job asking for large lands in it)',
    },
    {
      list: [pool('x64', ['linux', 'x64']), pool('large', ['linux', 'large']), pool('x64-large', ['x64', 'large'])],
      shadow: undefined,
      why: 'two earlier pools cover its labels between them but neither alone does',
    },
  ])('answers $shadow when $why', ({ list, shadow }) => {
    const last = list.length - 1;
    expect(shadowedBy(list, last)?.name).toBe(shadow);
    // What it claims: the later pool is never chosen, even for a job asking for exactly its labels.
    const chosen = matchPool(list, list[last]?.labels ?? []);
    expect(chosen?.name === list[last]?.name).toBe(shadow === undefined);
  });

  it('names the first earlier pool that covers it', () => {
    const list = [pool('first', ['a', 'b', 'c']), pool('second', ['a', 'b']), pool('third', ['a'])];
    expect(shadowedBy(list, 2)?.name).toBe('first');
  });

  it('never shadows the first pool, nor a position outside the list', () => {
    expect(shadowedBy(pools, 0)).toBeUndefined();
    expect(shadowedBy(pools, 9)).toBeUndefined();
  });

  it('finds no shadowed pool in a list where each pool serves a label set of its own', () => {
    expect(pools.map((_, i) => shadowedBy(pools, i))).toEqual([undefined, undefined, undefined, undefined]);
  });
});
