import { describe, expect, it } from 'vitest';
import { formatStatus, WIDTH } from '../../functions/cli/fleet-format.ts';
import type { FleetStatus } from '../../functions/use-cases/admin/fleet-view.ts';

const byStatus = {
  queued: 0,
  provisioning: 0,
  'waiting-breaker': 0,
  waiting: 0,
  'waiting-capacity': 1,
  launched: 0,
  healing: 0,
  running: 2,
  completed: 0,
  failed: 0,
};

function status(pools: FleetStatus['pools']): FleetStatus {
  return {
    generatedAt: '2026-12-03T12:00:00.000Z',
    pools,
    jobs: { open: 3, byStatus: { ...byStatus }, endedRecently: { completed: 4, failed: 1 } },
    recentWindowMs: 86_400_000,
    runners: { alive: 2, byState: { running: 2 } },
    breakers: { open: 0, scopes: [] },
    baselines: { total: 1, notPresent: 0 },
    version: { current: '2.330.0', source: 'configured', bad: [] },
    changeToken: 'c1',
  };
}

const pool = {
  name: 'linux-x64',
  labels: ['self-hosted', 'linux', 'x64'],
  launcher: 'local',
  maxRunners: 5,
  inUse: 3,
  backlog: 1,
  openJobs: 3,
};

describe('formatStatus (jit-runners status)', () => {
  it('shows no WARM column when no pool keeps warm runners', () => {
    const text = formatStatus(status([pool]), 'the local server');
    expect(text).not.toContain('WARM');
    expect(text).toMatch(/linux-x64\s+local\s+3\/5\s+1\s+3\s+self-hosted,linux,x64/);
  });

  it('shows idle of target and busy warm runners for a warm pool, and - for a cold one beside it', () => {
    const text = formatStatus(
      status([
        { ...pool, warmIdle: 1, warmInUse: 1, warmTarget: 2 },
        { ...pool, name: 'linux-arm64', labels: ['self-hosted', 'linux', 'arm64'] },
      ]),
      'the local server',
    );
    const lines = text.split('\n');
    expect(lines.find((l) => l.startsWith('POOL'))).toMatch(/BACKLOG\s+WARM\s+OPEN JOBS/);
    expect(lines.find((l) => l.startsWith('linux-x64'))).toContain('1/2 idle, 1 busy');
    expect(lines.find((l) => l.startsWith('linux-arm64'))).toMatch(/1\s+-\s+3/);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(WIDTH);
  });
});
