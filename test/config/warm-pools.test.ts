import { describe, expect, it } from 'vitest';
import { checkWarmLaunchers } from '../../functions/composition/warm-launchers.ts';
import { parseConfig } from '../../functions/config/config.ts';
import { ConfigError } from '../../functions/domain/errors.ts';
import { RecordingLauncher } from '../support/recording-launcher.ts';
import { RecordingWarmLauncher } from '../support/recording-warm-launcher.ts';

const hot = { name: 'hot', labels: ['self-hosted', 'linux', 'x64'] };
const parse = (pool: Record<string, unknown>) =>
  parseConfig({ env: { RUNNER_POOLS: JSON.stringify([{ ...hot, ...pool }]) } }, 'local').pools[0];
function messageOf(pool: Record<string, unknown>): string {
  try {
    parse(pool);
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

describe('pool warm setting', () => {
  it('reads a number as that many warm runners, recycled after 30 idle minutes', () => {
    expect(parse({ warm: 2 })?.warm).toEqual({ size: 2, schedule: [], maxIdleMs: 30 * 60_000 });
  });

  it('reads the object form with its schedule windows and idle bound', () => {
    const warm = parse({
      warm: {
        size: 1,
        maxIdleMinutes: 10,
        schedule: [
          { days: 'mon-fri', from: '08:00', to: '18:00', size: 4, timeZone: 'Europe/Paris' },
          { days: 'fri-mon', from: '22:30', to: '06:00', size: 0 },
        ],
      },
    })?.warm;
    expect(warm).toEqual({
      size: 1,
      maxIdleMs: 10 * 60_000,
      schedule: [
        { days: [1, 2, 3, 4, 5], fromMinute: 480, toMinute: 1080, size: 4, timeZone: 'Europe/Paris' },
        { days: [0, 1, 5, 6], fromMinute: 1350, toMinute: 360, size: 0, timeZone: 'UTC' },
      ],
    });
  });

  it('refuses more warm runners than maxRunners, naming the pool and the field', () => {
    expect(messageOf({ maxRunners: 2, warm: 3 })).toBe(
      'RUNNER_POOLS: pool "hot" (index 0): warm: 3 warm runners is more than maxRunners (2): warm runners count against it',
    );
    expect(messageOf({ maxRunners: 2, warm: { size: 1, schedule: [{ from: '08:00', to: '09:00', size: 5 }] } })).toBe(
      'RUNNER_POOLS: pool "hot" (index 0): warm.schedule[0].size: 5 warm runners is more than maxRunners (2): warm runners count against it',
    );
  });

  it('refuses malformed windows and unknown fields on one line naming the field', () => {
    expect(messageOf({ warm: { size: 1, schedule: [{ from: '8am', to: '18:00', size: 1 }] } })).toMatch(
      /^RUNNER_POOLS: pool "hot" \(index 0\): warm\.schedule\[0\]\.from: must be a time HH:MM/,
    );
    expect(
      messageOf({ warm: { size: 1, schedule: [{ days: 'weekdays', from: '08:00', to: '18:00', size: 1 }] } }),
    ).toMatch(/warm\.schedule\[0\]\.days: must be days such as mon-fri/);
    expect(
      messageOf({ warm: { size: 1, schedule: [{ from: '08:00', to: '18:00', size: 1, timeZone: 'Mars/Olympus' }] } }),
    ).toMatch(/warm\.schedule\[0\]\.timeZone: must be an IANA time zone/);
    expect(messageOf({ warm: { size: 1, idle: 3 } })).toBe(
      'RUNNER_POOLS: pool "hot" (index 0): warm.idle: is not a field of warm (size, schedule, maxIdleMinutes)',
    );
    expect(messageOf({ warm: -1 })).toMatch(/^RUNNER_POOLS: pool "hot" \(index 0\): warm: /);
  });

  it('is refused at start-up for a launcher that cannot keep warm runners, and accepted for one that can', () => {
    const pools = [parse({ warm: 2 })].filter((p) => p !== undefined);
    expect(() => checkWarmLaunchers(pools, new RecordingLauncher())).toThrow(
      'RUNNER_POOLS: pool "hot" (index 0): warm: the local launcher cannot keep warm runners (remove warm, or use a launcher that can)',
    );
    expect(() => checkWarmLaunchers(pools, new RecordingWarmLauncher())).not.toThrow();
  });
});
