import { readFile } from 'node:fs/promises';
import { cpus, loadavg, platform, release, totalmem } from 'node:os';

export interface MachineInfo {
  cores: number;
  cpu: string;
  node: string;
  os: string;
  memory_gb: number;
  /** 1-minute load average when the run started and ended: other work on the machine skews the figures. */
  load_at_start: number;
  load_at_end?: number;
  /** Share of CPU time busy during one second before the run (Linux only). */
  busy_before_start?: number;
}

async function cpuTimes(): Promise<{ idle: number; total: number } | undefined> {
  try {
    const line = (await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '';
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return { idle, total: fields.reduce((a, b) => a + b, 0) };
  } catch {
    return undefined;
  }
}

/** How busy the machine is right now, over `ms` (undefined where /proc/stat does not exist). */
export async function busyShare(ms = 1000): Promise<number | undefined> {
  const a = await cpuTimes();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const b = await cpuTimes();
  if (!a || !b || b.total === a.total) return undefined;
  return Math.round((1 - (b.idle - a.idle) / (b.total - a.total)) * 100) / 100;
}

export async function describeMachine(): Promise<MachineInfo> {
  const busy = await busyShare();
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    os: `${platform()} ${release()}`,
    memory_gb: Math.round(totalmem() / 1024 ** 3),
    load_at_start: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    ...(busy === undefined ? {} : { busy_before_start: busy }),
  };
}

export function endLoad(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}
