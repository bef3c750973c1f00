import { describe, expect, it } from 'vitest';
import { canTransition, isTerminal, JobStatus, statusesAllowing } from '../../functions/domain/job-status.ts';

describe('job state machine', () => {
  it.each([
    ['queued', 'provisioning', true],
    ['provisioning', 'launched', true],
    ['launched', 'running', true],
    ['running', 'completed', true],
    ['launched', 'healing', true],
    ['healing', 'queued', true],
    ['queued', 'waiting-breaker', true],
    ['running', 'queued', false],
    ['completed', 'running', false],
    ['failed', 'queued', false],
    ['queued', 'launched', false],
    ['queued', 'waiting', true],
    ['provisioning', 'waiting', true],
    ['launched', 'waiting', true],
    ['waiting', 'queued', true],
    ['waiting', 'completed', true],
    ['waiting', 'provisioning', false],
    ['waiting', 'launched', false],
    ['running', 'waiting', false],
  ] as const)('%s → %s allowed: %s', (from, to, allowed) => {
    expect(canTransition(from, to)).toBe(allowed);
  });

  it('lets no state leave a terminal state', () => {
    for (const to of Object.values(JobStatus)) {
      expect(canTransition('completed', to)).toBe(false);
      expect(canTransition('failed', to)).toBe(false);
    }
  });

  it('knows which states are terminal', () => {
    expect(Object.values(JobStatus).filter(isTerminal)).toEqual(['completed', 'failed']);
  });

  it('lists the states a conditional write may come from', () => {
    expect(statusesAllowing('launched').sort()).toEqual(['provisioning']);
    expect(statusesAllowing('completed')).not.toContain('completed');
  });

  it('lets a job wait for capacity only from provisioning, and leave only to a provisioning, queued, a runner or an end', () => {
    expect(statusesAllowing('waiting-capacity')).toEqual(['provisioning']);
    expect(Object.values(JobStatus).filter((to) => canTransition('waiting-capacity', to))).toEqual([
      'queued',
      'provisioning',
      'waiting',
      'running',
      'completed',
      'failed',
    ]);
  });

  it('lets every state before a runner took the job go waiting, and a waiting job only back to queued or on', () => {
    expect(statusesAllowing('waiting').sort()).toEqual([
      'healing',
      'launched',
      'provisioning',
      'queued',
      'waiting-breaker',
      'waiting-capacity',
    ]);
    expect(Object.values(JobStatus).filter((to) => canTransition('waiting', to))).toEqual([
      'queued',
      'running',
      'completed',
      'failed',
    ]);
  });
});
