import { describe, expect, it } from 'vitest';
import { formatRunners, WIDTH } from '../../functions/cli/fleet-format.ts';
import type { RunnerView } from '../../functions/use-cases/admin/fleet-view.ts';

const at = (minute: number) => `2026-12-03T12:${String(minute).padStart(2, '0')}:00.000Z`;

/** What the fleet view lists: the JIT runners of two jobs (named on the jobs) and a warm runner serving a third. */
const RUNNERS: RunnerView[] = [
  {
    name: 'jr-warm-linux-x64-a1b2',
    kind: 'warm',
    state: 'claimed',
    scope: 'octo-org/demo-repo',
    pool: 'linux-x64',
    version: '2.330.0',
    jobId: 20598467003,
    createdAt: at(1),
    updatedAt: at(4),
  },
  {
    name: 'jr-20598467000-1',
    kind: 'jit',
    state: 'running',
    scope: 'octo-org/demo-repo',
    pool: 'linux-arm64',
    version: '2.330.0',
    jobId: 20598467000,
    createdAt: at(2),
    updatedAt: at(3),
  },
  {
    name: 'jr-20598467004-2',
    kind: 'jit',
    state: 'launched',
    scope: 'octo-org/other-repo',
    pool: 'linux-x64',
    jobId: 20598467004,
    createdAt: at(5),
    updatedAt: at(5),
  },
];

/** A crowded list: a stolen runner's record and a baseline runner with a long name besides. */
const CROWDED: RunnerView[] = [
  ...RUNNERS,
  {
    name: 'jr-20598467001-1',
    kind: 'jit',
    state: 'running',
    scope: 'octo-org/demo-repo',
    version: '2.330.0',
    jobId: 20598467001,
    tookJobId: 20598467002,
    createdAt: at(3),
    updatedAt: at(3),
  },
  {
    name: 'jr-baseline-octo-org-a-repository-with-a-long-name-9f8e',
    kind: 'baseline',
    state: 'running',
    scope: 'octo-org/a-repository-with-a-long-name',
    version: '2.330.0',
    createdAt: at(6),
    updatedAt: at(6),
  },
];

const rows = (text: string) => text.trimEnd().split('\n');

describe('formatRunners (jit-runners runners list)', () => {
  it("prints each runner's kind, pool, state, version, job and since; a job's own runner like a record", () => {
    expect(rows(formatRunners(RUNNERS))).toEqual([
      'NAME                    KIND  POOL         STATE     VERSION  JOB          SINCE',
      'jr-warm-linux-x64-a1b2  warm  linux-x64    claimed   2.330.0  20598467003  2026-12-03 12:01:00Z',
      'jr-20598467000-1        jit   linux-arm64  running   2.330.0  20598467000  2026-12-03 12:02:00Z',
      // No runner version recorded on the job: `-`.
      'jr-20598467004-2        jit   linux-x64    launched  -        20598467004  2026-12-03 12:05:00Z',
    ]);
  });

  it('fits 100 columns when crowded: the other columns give way and every time stays whole', () => {
    const lines = rows(formatRunners(CROWDED));
    expect(lines[0]).toMatch(/^NAME\s+KIND\s+POOL\s+STATE\s+VERSION\s+JOB\s+SINCE$/);
    for (const line of lines) expect(line.length, line).toBeLessThanOrEqual(WIDTH);
    for (const line of lines.slice(1)) expect(line).toMatch(/ 2026-12-03 12:0\d:00Z$/);
    // A JIT name still fits whole; a baseline runner has no pool and no job.
    expect(lines[4]).toMatch(/^jr-20598467001-1\s+jit\s+-\s+running\s+2\.330\.0\s+20598467001 \(/);
    expect(lines[5]).toMatch(/^jr-baseline-\S+…\s+baseline\s+-\s+running\s+2\.330\.0\s+-\s+2026-12-03 12:06:00Z$/);
  });

  it('says when no runner is alive', () => {
    expect(formatRunners([])).toBe('no runners alive\n');
  });
});
