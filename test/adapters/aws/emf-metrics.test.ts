import { describe, expect, it } from 'vitest';
import { createEmfMetrics } from '../../../functions/adapters/aws/emf-metrics.ts';

describe('createEmfMetrics', () => {
  it('writes one EMF document per count, with an undimensioned set for alarms and the caller dimensions', () => {
    const lines: string[] = [];
    const metrics = createEmfMetrics({ namespace: 'JitRunners/Test', write: (l) => lines.push(l), now: () => 1000 });
    metrics.count('JobFailed', 1, { failureClass: 'config' });
    metrics.count('JobQueued');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {
        _aws: {
          Timestamp: 1000,
          CloudWatchMetrics: [
            {
              Namespace: 'JitRunners/Test',
              Dimensions: [[], ['failureClass']],
              Metrics: [{ Name: 'JobFailed', Unit: 'Count' }],
            },
          ],
        },
        failureClass: 'config',
        JobFailed: 1,
      },
      {
        _aws: {
          Timestamp: 1000,
          CloudWatchMetrics: [
            { Namespace: 'JitRunners/Test', Dimensions: [[]], Metrics: [{ Name: 'JobQueued', Unit: 'Count' }] },
          ],
        },
        JobQueued: 1,
      },
    ]);
  });
});
