import { verify } from '@octokit/webhooks-methods';
import { describe, expect, it } from 'vitest';
import { parseBenchOptions, UsageError } from '../../bench/bench-options.ts';
import { DeliveryFactory, DeliveryMix, parseMix } from '../../bench/deliveries.ts';
import { checkExactlyOnce, isExactlyOnce } from '../../bench/exactly-once.ts';
import { flatten, verdicts } from '../../bench/report.ts';
import { median, percentile, summarize } from '../../bench/stats.ts';
import { workflowJobPayload } from '../support/webhook-fixtures.ts';

const factoryOptions = {
  secret: 'bench-unit-secret',
  installationId: 42,
  owner: 'bench-org',
  repos: ['repo-01', 'repo-02', 'repo-03'],
  servedLabels: ['self-hosted', 'linux', 'x64'],
};

describe('stats', () => {
  it('takes nearest-rank percentiles of sorted samples', () => {
    const sorted = Float64Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile(Float64Array.from([7]), 99)).toBe(7);
  });

  it('summarizes unsorted samples and takes the middle of an odd count as median', () => {
    const s = summarize([5, 1, 4, 2, 3]);
    expect(s).toMatchObject({ samples: 5, p50: 3, max: 5, mean: 3 });
    expect(median([900, 10, 30, 20, 40])).toBe(30);
  });
});

describe('DeliveryFactory', () => {
  it('builds exactly the JSON of the real example payload for any job id', () => {
    const factory = new DeliveryFactory(factoryOptions);
    const jobId = 123_456;
    const expected = workflowJobPayload({
      action: 'queued',
      jobId,
      owner: 'bench-org',
      repo: factory.repoOf(jobId),
      labels: ['self-hosted', 'linux', 'x64'],
      installationId: 42,
    });
    expect(factory.body(jobId)).toBe(JSON.stringify(expected));
    const parsed = JSON.parse(factory.body(jobId)) as { workflow_job: { id: number; run_id: number } };
    expect(parsed.workflow_job).toMatchObject({ id: jobId, run_id: jobId * 10 });
  });

  it('signs each delivery with a real HMAC-SHA256 and a fresh delivery id', async () => {
    const factory = new DeliveryFactory(factoryOptions);
    const a = factory.delivery('served', 7);
    const b = factory.delivery('served', 7);
    expect(await verify(factoryOptions.secret, a.body, a.headers['x-hub-signature-256'] as string)).toBe(true);
    expect(await verify('another-secret', a.body, a.headers['x-hub-signature-256'] as string)).toBe(false);
    expect(a.headers['x-github-delivery']).not.toBe(b.headers['x-github-delivery']);
  });

  it('gives unserved deliveries labels outside the fleet', () => {
    const factory = new DeliveryFactory(factoryOptions);
    const body = JSON.parse(factory.delivery('unserved', 9).body) as { workflow_job: { labels: string[] } };
    expect(body.workflow_job.labels).toEqual(['ubuntu-latest']);
  });
});

describe('DeliveryMix', () => {
  it('follows the pattern, gives new jobs fresh ids and re-sends the latest served job as duplicate', () => {
    const mix = new DeliveryMix(new DeliveryFactory(factoryOptions), parseMix('served:2,unserved:1,duplicate:1'), 100);
    const kinds = Array.from({ length: 8 }, () => mix.next());
    expect(kinds.map((d) => d.kind)).toEqual([
      'served',
      'served',
      'unserved',
      'duplicate',
      'served',
      'served',
      'unserved',
      'duplicate',
    ]);
    expect(kinds.map((d) => d.jobId)).toEqual([100, 101, 102, 101, 103, 104, 105, 104]);
    expect(kinds[3]?.body).toBe(kinds[1]?.body);
  });

  it('rejects unknown kinds', () => {
    expect(() => parseMix('served:1,spam:2')).toThrow(/unknown delivery kind/);
  });
});

describe('checkExactlyOnce', () => {
  it('accepts one launch per expected job', () => {
    expect(isExactlyOnce(checkExactlyOnce([1, 2, 3], [3, 1, 2]))).toBe(true);
  });

  it('reports lost, doubled and unexpected jobs', () => {
    const report = checkExactlyOnce([1, 2, 3], [1, 1, 3, 9]);
    expect(report).toMatchObject({ lost: [2], doubled: [1], unexpected: [9], launched: 4 });
    expect(isExactlyOnce(report)).toBe(false);
  });
});

describe('report', () => {
  it('flattens per-function maps and judges each figure against its target', () => {
    const figures = { ack_p99_ms: 12, bundle_kb: { webhook: 200, provisioner: 900 }, cold_init_ms: { webhook: 60 } };
    expect(flatten(figures).map(([k]) => k)).toEqual([
      'ack_p99_ms',
      'bundle_kb.webhook',
      'bundle_kb.provisioner',
      'cold_init_ms.webhook',
    ]);
    expect(verdicts(figures)).toEqual([
      { key: 'ack_p99_ms', value: 12, target: '≤ 15', met: true },
      { key: 'bundle_kb.webhook', value: 200, target: '≤ 150', met: false },
      { key: 'cold_init_ms.webhook', value: 60, target: '≤ 80', met: true },
    ]);
  });
});

describe('parseBenchOptions', () => {
  it('defaults to the issue sizes and latencies', () => {
    const o = parseBenchOptions([]);
    expect(o.latencies).toEqual({ githubMs: 80, storeMs: 5, launchMs: 150 });
    expect(o).toMatchObject({ repos: 20, ack: { rate: 200 }, burst: { jobs: 1000 }, cold: { runs: 5 } });
    expect(o.ack.samples).toBeGreaterThanOrEqual(2000);
    expect(o.critical.jobs).toBeGreaterThanOrEqual(2000);
    expect(o.throughput.minSamples).toBeGreaterThanOrEqual(2000);
  });

  it('takes latencies and phases from flags and refuses unknown ones', () => {
    const o = parseBenchOptions(['--github-latency-ms', '10', '--only', 'ack,burst', '--json']);
    expect(o.latencies.githubMs).toBe(10);
    expect(o.phases).toEqual(['ack', 'burst']);
    expect(o.json).toBe(true);
    expect(() => parseBenchOptions(['--only', 'nope'])).toThrow(UsageError);
    expect(() => parseBenchOptions(['--ack-rate', '-3'])).toThrow(UsageError);
    expect(() => parseBenchOptions(['--bogus'])).toThrow(UsageError);
  });
});
