import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, 'bench/main.ts', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const FLAT_KEYS = [
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
  'capacity_overshoot',
  'backlog_release_p50_ms',
  'store_requests_per_waiting_job_per_min',
  'reconcile_store_requests_per_pass',
  'queued_to_running_cold_p50_ms',
  'queued_to_running_warm_p50_ms',
  'warm_pickup_ratio',
  'warm_hit_rate',
] as const;
const HANDLERS = ['webhook', 'provisioner', 'runner-events', 'reconciler'] as const;

describe('npm run bench (smoke, tiny sizes)', () => {
  it('prints one JSON object with every figure as a number and loses or doubles no job', async () => {
    const outDir = await mkdtemp(join(tmpdir(), 'jit-runners-bench-smoke-'));
    const { code, stdout, stderr } = await runBench(['--quick', '--json', '--out-dir', outDir]).finally(() =>
      rm(outDir, { recursive: true, force: true }),
    );
    expect(code, stderr.slice(-2000)).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0] as string) as Record<string, unknown>;

    for (const key of FLAT_KEYS) expect(typeof report[key], key).toBe('number');
    for (const key of FLAT_KEYS) expect(Number.isNaN(report[key]), key).toBe(false);
    for (const map of ['bundle_kb', 'cold_init_ms']) {
      const values = report[map] as Record<string, unknown>;
      for (const handler of HANDLERS) expect(typeof values[handler], `${map}.${handler}`).toBe('number');
    }
    expect((report.bundle_kb as Record<string, number>).webhook).toBeGreaterThan(0);

    expect(report.failures).toEqual([]);
    expect(report.ok).toBe(true);
    const machine = report.machine as Record<string, unknown>;
    expect(typeof machine.cores).toBe('number');
    expect(machine.node).toBe(process.version);
    const samples = report.samples as Record<string, unknown>;
    expect(samples.ack).toBe(40);
    expect(samples.ack_ingress).toBe(40);
    expect(samples.queued_to_launch).toBe(12);
    expect(samples.burst_jobs).toBe(20);
    const details = report.details as Record<string, Record<string, unknown>>;
    expect(details.burst?.exactly_once).toBe('expected 20, launched 20, lost 0, doubled 0, unexpected 0');
    // The capped pool: never over its cap, nothing polling while it is full, every job launched once.
    expect(report.capacity_overshoot).toBe(0);
    expect(report.store_requests_per_waiting_job_per_min).toBe(0);
    expect(details.capacity?.exactly_once).toBe('expected 12, launched 12, lost 0, doubled 0, unexpected 0');
    // Warm runners: a full warm pool of 2 serves its jobs warm, a burst of 4 half warm, half cold.
    expect(report.warm_hit_rate).toBe(0.5);
    expect(report.queued_to_running_warm_p50_ms as number).toBeLessThan(report.queued_to_running_cold_p50_ms as number);
  }, 240_000);

  it('exits 2 with a message on an unknown option', async () => {
    const { code, stderr } = await runBench(['--no-such-option']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/no-such-option/);
  });
});
