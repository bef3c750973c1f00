import type { MachineInfo } from './machine.ts';

export type Figures = Record<string, number | Record<string, number>>;

export interface Target {
  /** Figure key; `bundle_kb.webhook` addresses one entry of a per-function map, `cold_init_ms.*` all of them. */
  key: string;
  op: '<=' | '>=';
  value: number;
}

export const TARGETS: readonly Target[] = [
  { key: 'ack_p99_ms', op: '<=', value: 15 },
  { key: 'webhooks_per_s', op: '>=', value: 1000 },
  { key: 'github_calls_per_job', op: '<=', value: 1.05 },
  { key: 'dynamodb_requests_per_job', op: '<=', value: 3 },
  { key: 'critical_path_ratio', op: '<=', value: 1.15 },
  { key: 'burst_1000_s', op: '<=', value: 10 },
  { key: 'sustainable_jobs_per_s', op: '>=', value: 500 },
  { key: 'bundle_kb.webhook', op: '<=', value: 150 },
  { key: 'cold_init_ms.*', op: '<=', value: 80 },
  { key: 'capacity_overshoot', op: '<=', value: 0 },
  { key: 'backlog_release_p50_ms', op: '<=', value: 250 },
  { key: 'backlog_release_p99_ms', op: '<=', value: 250 },
  { key: 'store_requests_per_waiting_job_per_min', op: '<=', value: 0 },
  { key: 'warm_pickup_ratio', op: '<=', value: 1.2 },
];

/** The order figures are printed in (anything else follows). */
const ORDER = [
  'ack_p50_ms',
  'ack_p99_ms',
  'ack_ingress_p50_ms',
  'ack_ingress_p99_ms',
  'webhooks_per_s',
  'github_calls_per_job',
  'dynamodb_requests_per_job',
  'queued_to_launch_p50_ms',
  'queued_to_launch_p99_ms',
  'critical_path_ratio',
  'burst_1000_s',
  'index_writes_per_job',
  'peak_writes_per_partition_key_per_s',
  'sustainable_jobs_per_s',
  'capacity_overshoot',
  'backlog_release_p50_ms',
  'backlog_release_p99_ms',
  'backlog_release_ratio',
  'store_requests_per_waiting_job_per_min',
  'reconcile_store_requests_per_pass',
  'bundle_kb',
  'cold_init_ms',
];

export interface Verdict {
  key: string;
  value: number;
  target: string;
  met: boolean;
}

/** Flattens `{ bundle_kb: { webhook: 1 } }` to `[['bundle_kb.webhook', 1]]`, in print order. */
export function flatten(figures: Figures): [string, number][] {
  const keys = Object.keys(figures).sort((a, b) => {
    const ia = ORDER.indexOf(a);
    const ib = ORDER.indexOf(b);
    return (ia < 0 ? ORDER.length : ia) - (ib < 0 ? ORDER.length : ib) || a.localeCompare(b);
  });
  const out: [string, number][] = [];
  for (const key of keys) {
    const value = figures[key];
    if (typeof value === 'number') out.push([key, value]);
    else if (value) for (const [sub, v] of Object.entries(value)) out.push([`${key}.${sub}`, v]);
  }
  return out;
}

function targetFor(key: string): Target | undefined {
  return TARGETS.find((t) => t.key === key || (t.key.endsWith('.*') && key.startsWith(t.key.slice(0, -1))));
}

export function verdicts(figures: Figures): Verdict[] {
  const out: Verdict[] = [];
  for (const [key, value] of flatten(figures)) {
    const t = targetFor(key);
    if (!t) continue;
    const met = Number.isFinite(value) && (t.op === '<=' ? value <= t.value : value >= t.value);
    out.push({ key, value, target: `${t.op === '<=' ? '≤' : '≥'} ${t.value}`, met });
  }
  return out;
}

export interface BenchReport {
  machine: MachineInfo;
  settings: Record<string, unknown>;
  samples: Record<string, unknown>;
  figures: Figures;
  details: Record<string, unknown>;
  failures: string[];
  durationS: number;
}

/** The one JSON object of `--json`: every figure at the top level, then context. */
export function toJson(report: BenchReport): Record<string, unknown> {
  return {
    ...report.figures,
    machine: report.machine,
    settings: report.settings,
    samples: report.samples,
    targets: Object.fromEntries(verdicts(report.figures).map((v) => [v.key, { target: v.target, met: v.met }])),
    failures: report.failures,
    ok: report.failures.length === 0,
    duration_s: report.durationS,
    details: report.details,
  };
}

export function toTable(report: BenchReport): string {
  const m = report.machine;
  const lines: string[] = [];
  lines.push(
    `jit-runners bench — ${m.cores} cores (${m.cpu}), Node ${m.node}, ${m.os}; load ${m.load_at_start} at start${
      m.busy_before_start === undefined ? '' : `, ${Math.round(m.busy_before_start * 100)}% busy just before`
    }, ${m.load_at_end ?? '?'} at end; ${report.durationS} s`,
  );
  lines.push(`settings: ${JSON.stringify(report.settings)}`);
  lines.push(`samples:  ${JSON.stringify(report.samples)}`);
  lines.push('');
  const rows = flatten(report.figures).map(([key, value]) => {
    const t = targetFor(key);
    const v = t ? verdicts({ [key]: value })[0] : undefined;
    return [
      key,
      String(value),
      t ? `${t.op === '<=' ? '≤' : '≥'} ${t.value}` : '—',
      v ? (v.met ? 'met' : 'MISSED') : '',
    ];
  });
  const widths = [0, 1, 2].map((i) =>
    Math.max(...rows.map((r) => (r[i] ?? '').length), ['key', 'value', 'target'][i]?.length ?? 0),
  );
  const row = (r: string[]) =>
    `${(r[0] ?? '').padEnd(widths[0] ?? 0)}  ${(r[1] ?? '').padStart(widths[1] ?? 0)}  ${(r[2] ?? '').padEnd(widths[2] ?? 0)}  ${r[3] ?? ''}`.trimEnd();
  lines.push(row(['key', 'value', 'target', '']));
  for (const r of rows) lines.push(row(r));
  lines.push('');
  for (const [phase, detail] of Object.entries(report.details)) lines.push(`${phase}: ${JSON.stringify(detail)}`);
  lines.push('');
  lines.push(
    report.failures.length === 0
      ? 'every job was launched exactly once'
      : `FAILED:\n${report.failures.map((f) => `  - ${f}`).join('\n')}`,
  );
  return lines.join('\n');
}
