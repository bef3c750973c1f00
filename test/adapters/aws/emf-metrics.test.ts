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

  it('writes a measure with its unit and the caller dimensions next to the undimensioned set', () => {
    const lines: string[] = [];
    const metrics = createEmfMetrics({ namespace: 'JitRunners/Test', write: (l) => lines.push(l), now: () => 2000 });
    metrics.measure('QueuedToLaunchLatency', 1234, 'Milliseconds', { pool: 'arm64' });
    metrics.measure('BreakerOpenScopes', 0, 'Count');
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {
        _aws: {
          Timestamp: 2000,
          CloudWatchMetrics: [
            {
              Namespace: 'JitRunners/Test',
              Dimensions: [[], ['pool']],
              Metrics: [{ Name: 'QueuedToLaunchLatency', Unit: 'Milliseconds' }],
            },
          ],
        },
        pool: 'arm64',
        QueuedToLaunchLatency: 1234,
      },
      {
        _aws: {
          Timestamp: 2000,
          CloudWatchMetrics: [
            { Namespace: 'JitRunners/Test', Dimensions: [[]], Metrics: [{ Name: 'BreakerOpenScopes', Unit: 'Count' }] },
          ],
        },
        BreakerOpenScopes: 0,
      },
    ]);
  });
});
