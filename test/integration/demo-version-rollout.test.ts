import { afterEach, describe, expect, it, vi } from 'vitest';
import { type DemoOptions, runDemo } from '../../functions/cli/demo.ts';
import { parseConfig } from '../../functions/config/config.ts';
import { type Harness, startHarness } from '../support/local-harness.ts';

const ENV = {
  RUNNER_VERSION: 'auto',
  RUNNER_VERSION_SOAK_DAYS: String(2_000 / (24 * 60 * 60 * 1000)),
  RUNNER_VERSION_CANARY_PERCENT: '100',
};

/** Runs the demo against the harness's server and returns its exit code and printed lines. */
async function demo(harness: Harness, env: Record<string, string>, options: DemoOptions) {
  const port = new URL(harness.app.url).port;
  const config = parseConfig({ env: { PORT: port, STATE_DIR: harness.stateDir, ...env } });
  const lines: string[] = [];
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  });
  try {
    return { code: await runDemo(config, options), lines };
  } finally {
    write.mockRestore();
  }
}

describe('npm run demo -- --version-rollout (sandbox)', () => {
  let harness: Harness | undefined;
  afterEach(async () => {
    await harness?.close({ removeState: true });
    harness = undefined;
  });

  it('shows a release GitHub refuses adopted after its soak, canaried and rolled back by itself', async () => {
    harness = await startHarness({ env: ENV, reconcile: true });
    const { code, lines } = await demo(harness, ENV, { versionRollout: true, timeoutSeconds: 60 });

    expect(code, lines.join('\n')).toBe(0);
    const text = lines.join('\n');
    expect(text).toMatch(/actions\/runner 2\.331\.0 published/);
    expect(text).toMatch(/2\.331\.0 adopted as a canary for 100 % of jobs/);
    expect(text).toMatch(/completed on 2\.330\.0 after its canary runner was refused/);
    expect(text).toMatch(/rolled back to 2\.330\.0; 2\.331\.0 marked bad/);
    const record = await harness.app.store.versions.get();
    expect(record?.bad.map((b) => b.version)).toEqual(['2.331.0']);
  }, 90_000);

  it('says how to start the server when it pins the version', async () => {
    harness = await startHarness({});
    const { code, lines } = await demo(harness, {}, { versionRollout: true });

    expect(code).toBe(1);
    expect(lines.join('\n')).toMatch(/RUNNER_VERSION=auto RUNNER_VERSION_SOAK_DAYS=/);
  });
});
