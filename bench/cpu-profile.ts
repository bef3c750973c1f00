import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileEntry {
  name: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Not idle (program, GC and JavaScript). */
  busyMs: number;
  byFunction: ProfileEntry[];
  /** Self time grouped by package (`@aws-sdk/…`, `dynalite`) or by first-party directory. */
  byArea: ProfileEntry[];
}

/** `…/node_modules/@smithy/core/dist-cjs/…` → `@smithy/core`; `…/functions/adapters/x.ts` → `functions/adapters`. */
export function areaOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url.split('/')[0] ?? url;
  const m = /\/(functions\/[^/]+(?:\/[^/]+)?|bench|test)\//.exec(url);
  return m?.[1] ?? url;
}

/** Self time per function and per package of a `.cpuprofile` written by `node --cpu-prof`. */
export async function summarizeProfile(path: string, top = 15): Promise<ProfileSummary> {
  const profile = JSON.parse(await readFile(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const fn = new Map<string, number>();
  const area = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const short = url.replace(/^.*\/node_modules\//, '').replace(/^file:\/\/.*?\/(functions|bench|test)\//, '$1/');
    const key = `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`.trim();
    fn.set(key, (fn.get(key) ?? 0) + us);
    const a = areaOf(url, functionName);
    area.set(a, (area.get(a) ?? 0) + us);
  }
  const busy = total - idle;
  const entries = (m: Map<string, number>) =>
    [...m]
      .sort((x, y) => y[1] - x[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), share: busy > 0 ? us / busy : 0 }));
  return {
    totalMs: Math.round(total / 1000),
    busyMs: Math.round(busy / 1000),
    byFunction: entries(fn),
    byArea: entries(area),
  };
}

export function formatProfile(title: string, summary: ProfileSummary): string {
  const pct = (s: number) => `${(s * 100).toFixed(1).padStart(5)}%`;
  const lines = [`${title}: busy ${summary.busyMs} ms of ${summary.totalMs} ms`, '  by area:'];
  for (const e of summary.byArea) lines.push(`    ${pct(e.share)} ${String(e.selfMs).padStart(6)} ms  ${e.name}`);
  lines.push('  by function:');
  for (const e of summary.byFunction) lines.push(`    ${pct(e.share)} ${String(e.selfMs).padStart(6)} ms  ${e.name}`);
  return lines.join('\n');
}
