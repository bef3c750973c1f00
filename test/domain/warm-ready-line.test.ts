import { describe, expect, it } from 'vitest';
import { LOG_FILTER_TERMS } from '../../functions/domain/failure-signatures.ts';
import { RUNNER_LOG_FILTER_TERMS, runnerLogFilterPattern } from '../../functions/domain/runner-log-filter.ts';
import { WARM_READY_PHRASE, warmReadyName } from '../../functions/domain/warm-ready-line.ts';

describe('warmReadyName', () => {
  it("returns the runner a bootstrap's ready line names", () => {
    const line = `2026-12-04T03:20:00Z ${WARM_READY_PHRASE}: jr-warm-linux-x64-3b2e7478 (runner 2.330.0, verified); waiting`;
    expect(warmReadyName(line)).toBe('jr-warm-linux-x64-3b2e7478');
  });

  it('returns the name when it ends the line', () => {
    expect(warmReadyName(`${WARM_READY_PHRASE}: jr-warm-x64-1`)).toBe('jr-warm-x64-1');
  });

  it('returns undefined for other lines, a phrase without a name and a name that starts with a sign', () => {
    expect(warmReadyName('Listening for Jobs')).toBeUndefined();
    expect(warmReadyName(`${WARM_READY_PHRASE}:`)).toBeUndefined();
    expect(warmReadyName(`${WARM_READY_PHRASE}: -rf`)).toBeUndefined();
    expect(warmReadyName('jit-runners bootstrap: warm runner readying: jr-warm-x64-1')).toBeUndefined();
  });
});

describe('runnerLogFilterPattern', () => {
  it('selects every failure phrase and the warm ready phrase, within CloudWatch’s 1,024 characters', () => {
    expect(RUNNER_LOG_FILTER_TERMS).toEqual([...LOG_FILTER_TERMS, WARM_READY_PHRASE]);
    const pattern = runnerLogFilterPattern();
    expect(pattern.length).toBeLessThanOrEqual(1024);
    expect(pattern).toContain(`"${WARM_READY_PHRASE}"`);
    for (const term of LOG_FILTER_TERMS) expect(pattern).toContain(term);
  });
});
