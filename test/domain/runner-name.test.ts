import { describe, expect, it } from 'vitest';
import {
  baselineRunnerLabel,
  baselineRunnerName,
  parseRunnerName,
  runnerName,
} from '../../functions/domain/runner-name.ts';

describe('runnerName', () => {
  it('is the same for the same job and attempt, so a retried mint hits 409 instead of a second runner', () => {
    expect(runnerName('jr', 4242, 1)).toBe(runnerName('jr', 4242, 1));
  });
  it('differs per attempt', () => {
    expect(runnerName('jr', 4242, 1)).not.toBe(runnerName('jr', 4242, 2));
  });
  it('round-trips through parseRunnerName', () => {
    expect(parseRunnerName('jr', runnerName('jr', 987654321012, 3))).toEqual({ jobId: 987654321012, attempt: 3 });
  });
  it.each(['other-1-1', 'jr-abc-1', 'jr-1', 'jr-1-1-1', 'jr-baseline-octo-x'])(
    'does not claim %s as one of ours',
    (name) => {
      expect(parseRunnerName('jr', name)).toBeUndefined();
    },
  );
});

describe('baseline runner naming', () => {
  it('never parses as a JIT runner name, so a baseline runner is never mistaken for a job runner', () => {
    const name = baselineRunnerName('jr', 'octo-org/app', 'a1b2');
    expect(parseRunnerName('jr', name)).toBeUndefined();
    expect(name.length).toBeLessThanOrEqual(64);
  });
  it('uses a label that no job asks for', () => {
    expect(baselineRunnerLabel('a1b2')).toBe('jit-runners-baseline-a1b2');
  });
});
