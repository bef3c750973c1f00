import { beforeAll, describe, expect, it } from 'vitest';
import { LogMetric, WHAT_TO_DO } from '../../cdk/constructs/monitoring.ts';
import type { JitRunnersPool } from '../../cdk/pool-props.ts';
import { METRIC_NAMES, MeasureMetric } from '../../functions/ports/metric-names.ts';
import { resourcesOfType, type Synthesized, synthesize } from './synth-helpers.ts';

/** A metric line of a widget: `[namespace, name, dimension, value, …, options?]` or `[{ expression, … }]`. */
type MetricLine = (string | Record<string, unknown>)[];

interface Widget {
  type: string;
  properties: { title?: string; markdown?: string; metrics?: MetricLine[]; alarms?: unknown[] };
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * The synthesized DashboardBody as JSON. It is an `Fn::Join` of text and tokens (the queue's and the
 * functions' names, the region): each token becomes the text TOKEN, which keeps the JSON whole.
 */
function dashboardOf(s: Synthesized): { widgets: Widget[] } {
  const [dashboard] = resourcesOfType(s.json, 'AWS::CloudWatch::Dashboard');
  const body = dashboard?.Properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof body === 'string'
      ? body
      : body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join(body['Fn::Join'][0]);
  return JSON.parse(text) as { widgets: Widget[] };
}

/** Metric name → the lines that chart it (SEARCH expressions count for the name they search). */
function chartedNames(widgets: readonly Widget[]): Map<string, { widget: string; line: MetricLine }[]> {
  const charted = new Map<string, { widget: string; line: MetricLine }[]>();
  const add = (name: string, widget: string, line: MetricLine) =>
    charted.set(name, [...(charted.get(name) ?? []), { widget, line }]);
  for (const w of widgets) {
    for (const line of w.properties.metrics ?? []) {
      const title = w.properties.title ?? '';
      const first = line[0];
      if (typeof first === 'object' && typeof first.expression === 'string') {
        for (const m of first.expression.matchAll(/MetricName="(\w+)"/g)) add(m[1] as string, title, line);
        continue;
      }
      // `[namespace, name, …]`, or `['…', '…', …]` repeating the previous line's namespace and name.
      if (typeof line[1] === 'string') add(line[1], title, line);
    }
  }
  return charted;
}

const optionsOf = (line: MetricLine) => {
  const last = line[line.length - 1];
  return typeof last === 'object' ? last : {};
};
const dimensionsOf = (line: MetricLine) => {
  const parts = line.filter((p): p is string => typeof p === 'string').slice(2);
  return Object.fromEntries(parts.flatMap((p, i) => (i % 2 === 0 ? [[p, parts[i + 1]]] : [])));
};

const TWO_POOLS: JitRunnersPool[] = [
  { name: 'x64', labels: ['self-hosted', 'linux', 'x64'], maxRunners: 20, codebuild: {} },
  { name: 'arm64', labels: ['self-hosted', 'linux', 'arm64'], codebuild: { architecture: 'arm64' } },
];

describe('dashboard', () => {
  let single: Synthesized;
  let pooled: Synthesized;
  beforeAll(() => {
    single = synthesize({ appId: 1 });
    pooled = synthesize({ appId: 1 }, 'Pooled', TWO_POOLS);
  }, 120_000);

  it('charts every metric the functions emit (the catalogue) and every runner log metric', () => {
    const charted = chartedNames(dashboardOf(single).widgets);
    const missing = [...METRIC_NAMES, ...Object.values(LogMetric)].filter((name) => !charted.has(name));
    expect(missing).toEqual([]);
  });

  it("reads every function metric from the stack's own namespace", () => {
    const lines = dashboardOf(pooled).widgets.flatMap((w) => w.properties.metrics ?? []);
    const namespaces = new Set(
      lines.map((l) => l[0]).filter((n): n is string => typeof n === 'string' && n.startsWith('JitRunners')),
    );
    expect([...namespaces]).toEqual(['JitRunners/Pooled']);
    const searches = lines
      .map((l) => l[0])
      .filter((f): f is { expression: string } => typeof f === 'object' && String(f.expression).startsWith('SEARCH'));
    expect(searches.length).toBeGreaterThan(0);
    for (const { expression } of searches) expect(expression).toContain('{"JitRunners/Pooled",');
  });

  it('charts queued → launch and queued → running as p50 and p99 of every pool', () => {
    const charted = chartedNames(dashboardOf(pooled).widgets);
    for (const name of [MeasureMetric.queuedToLaunch, MeasureMetric.queuedToRunning]) {
      const seen = (charted.get(name) ?? []).map(({ line }) => `${dimensionsOf(line).pool} ${optionsOf(line).stat}`);
      expect(seen.sort()).toEqual(['arm64 p50', 'arm64 p99', 'x64 p50', 'x64 p99']);
    }
  });

  it('gives each pool of a two-pool stack its own line for runners alive and backlog, with the cap drawn', () => {
    const { widgets } = dashboardOf(pooled);
    const charted = chartedNames(widgets);
    for (const name of [MeasureMetric.runnersAlive, MeasureMetric.backlogJobs]) {
      const lines = charted.get(name) ?? [];
      expect(lines.map(({ line }) => dimensionsOf(line).pool)).toEqual(['x64', 'arm64']);
      expect(lines.every(({ line }) => optionsOf(line).stat === 'Maximum')).toBe(true);
    }
    const alive = widgets.find((w) => w.properties.title === 'Runners alive, per pool');
    expect(JSON.stringify(alive)).toContain('x64 cap (20)');
  });

  it("charts the single pool of a stack without pools as 'default'", () => {
    const charted = chartedNames(dashboardOf(single).widgets);
    expect((charted.get(MeasureMetric.runnersAlive) ?? []).map(({ line }) => dimensionsOf(line).pool)).toEqual([
      'default',
    ]);
  });

  it('splits failures, heals and webhook rejects by their dimension with SEARCH', () => {
    const expressions = dashboardOf(single)
      .widgets.flatMap((w) => w.properties.metrics ?? [])
      .map((l) => l[0])
      .filter((f): f is { expression: string } => typeof f === 'object')
      .map((f) => f.expression);
    expect(expressions).toEqual(
      expect.arrayContaining([
        expect.stringMatching(
          /SEARCH\('\{"JitRunners\/JitRunners",failureClass\} MetricName="JobFailed"', 'Sum', 900\)/,
        ),
        expect.stringMatching(/\{"JitRunners\/JitRunners",action,failureClass\} MetricName="RunnerHealed"/),
        expect.stringMatching(/\{"JitRunners\/JitRunners",reason\} MetricName="WebhookRejected"/),
      ]),
    );
  });

  it('reads top-down: alarms, latency, capacity, warm runners, heals and failures, GitHub health, version, plumbing', () => {
    const headings = dashboardOf(single)
      .widgets.filter((w) => w.type === 'text')
      .sort((a, b) => a.y - b.y)
      .map((w) => (w.properties.markdown ?? '').replace(/^### /, '').split(':')[0]);
    expect(headings).toEqual([
      'Alarms',
      'Latency',
      'Capacity per pool',
      'Warm runners',
      'Heals, thefts and failures',
      'GitHub health',
      'Runner version',
      'Plumbing',
    ]);
    const alarms = dashboardOf(single).widgets.find((w) => w.type === 'alarm');
    expect(alarms?.y).toBe(1);
    expect(alarms?.properties.alarms).toHaveLength(9);
  });
});

describe('alarms', () => {
  let s: Synthesized;
  beforeAll(() => {
    s = synthesize({ appId: 1 });
  }, 120_000);
  const alarms = () => resourcesOfType(s.json, 'AWS::CloudWatch::Alarm').map((a) => a.Properties);

  it('says in each description what happened and what to do', () => {
    for (const a of alarms()) {
      const description = String(a.AlarmDescription);
      const [what, todo] = description.split(WHAT_TO_DO);
      expect(what?.trim().length, description).toBeGreaterThan(20);
      expect(todo?.trim().length, description).toBeGreaterThan(20);
    }
  });

  it('alarms on failures, dead letters, breaker open, the version cut-off and rollbacks, refused release tarballs and bad webhook signatures', () => {
    const watched = alarms().map((a) => JSON.stringify(a));
    for (const needle of [
      '"MetricName":"JobFailed"',
      'ApproximateNumberOfMessagesVisible',
      'BreakerOpened',
      '"MetricName":"RunnerVersionCutoffAlarm"',
      '"MetricName":"RunnerVersionRollback"',
      '"MetricName":"RunnerMetadataMissingLines"',
      '"MetricName":"RunnerChecksumMismatchLines"',
      '"MetricName":"RunnerVersionTarballRefused"',
    ]) {
      expect(
        watched.some((a) => a.includes(needle)),
        needle,
      ).toBe(true);
    }
  });

  it('alarms on the first webhook delivery whose signature matches no secret', () => {
    s.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'WebhookRejected',
      Namespace: 'JitRunners/JitRunners',
      Dimensions: [{ Name: 'reason', Value: 'bad-signature' }],
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
  });
});
