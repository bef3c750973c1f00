import { createHash } from 'node:crypto';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Metafile } from 'esbuild';
import type { PhaseResult } from '../phase.ts';
import { round } from '../stats.ts';

export const HANDLERS_DIR = fileURLToPath(new URL('../../functions/handlers/', import.meta.url));

/**
 * The launchers a deployment can have, each bundle built once per launcher as the stack builds it for that
 * deployment (`launcherDefine`). The first is the stack's default: its bundles keep the plain function name.
 */
export const BUNDLE_LAUNCHERS = ['codebuild', 'ec2'] as const;
export type BundleLauncher = (typeof BUNDLE_LAUNCHERS)[number];

/**
 * The figure name of a function's bundle for one launcher: `provisioner` for the default launcher
 * (CodeBuild), `provisioner_ec2` for EC2.
 */
export function bundleName(fn: string, launcher: BundleLauncher): string {
  return launcher === BUNDLE_LAUNCHERS[0] ? fn : `${fn}_${launcher}`;
}

export interface Bundle {
  /** Figure name (`bundleName`). */
  name: string;
  /** The handler file's name, e.g. `provisioner`. */
  fn: string;
  /** The launcher the bundle was built for (what `LAUNCHER` must say where it runs). */
  launcher: BundleLauncher;
  file: string;
  bytes: number;
  /** Output bytes per package or first-party area, largest first. */
  inputs: { area: string; bytes: number }[];
}

/** Handler entries: files under functions/handlers/ that export `handler` (what the stack deploys). */
export async function handlerEntries(dir = HANDLERS_DIR): Promise<string[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.ts')).sort();
  const entries: string[] = [];
  for (const f of files) {
    const text = await readFile(join(dir, f), 'utf8');
    if (/export\s+(async\s+)?(function|const)\s+handler\b/.test(text)) entries.push(join(dir, f));
  }
  return entries;
}

function areaOfInput(path: string): string {
  const nm = path.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? path);
  }
  const m = /^(functions\/[^/]+)/.exec(path);
  return m?.[1] ?? path;
}

function byArea(metafile: Metafile): { area: string; bytes: number }[] {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [path, input] of Object.entries(output.inputs)) {
      const area = areaOfInput(path);
      totals.set(area, (totals.get(area) ?? 0) + input.bytesInOutput);
    }
  }
  return [...totals].sort((a, b) => b[1] - a[1]).map(([area, bytes]) => ({ area, bytes }));
}

/**
 * Bundles every handler exactly as the CDK stack does (the stack's own esbuild settings: minified ESM for
 * Node 24, AWS SDK included unless HANDLER_EXTERNAL_MODULES says otherwise, require banner, and the
 * deployment's launcher as `launcherDefine`) into `outDir`, once per launcher, and measures the minified
 * `.mjs` (source maps excluded: Lambda never loads them unless told to). A function whose bundle is the
 * same for every launcher (the webhook) is reported once, under its plain name.
 */
export async function buildBundles(outDir: string, entries?: readonly string[]): Promise<Bundle[]> {
  const [{ build }, { HANDLER_ESBUILD, launcherDefine }] = await Promise.all([
    import('esbuild'),
    import('../../cdk/constructs/handler-function.ts'),
  ]);
  const list = entries ?? (await handlerEntries());
  const bundles: Bundle[] = [];
  for (const entry of list) {
    const fn = basename(entry, '.ts');
    const digests = new Set<string>();
    for (const launcher of BUNDLE_LAUNCHERS) {
      const name = bundleName(fn, launcher);
      const file = join(outDir, `${name}.mjs`);
      const result = await build({
        ...HANDLER_ESBUILD,
        mainFields: [...HANDLER_ESBUILD.mainFields],
        external: [...HANDLER_ESBUILD.external],
        define: launcherDefine(launcher),
        entryPoints: [entry],
        outfile: file,
        metafile: true,
        logLevel: 'silent',
      });
      // The code without its source-map comment, which names the file.
      const code = (await readFile(file, 'utf8')).replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '');
      const digest = createHash('sha256').update(code).digest('hex');
      if (digests.has(digest)) {
        await rm(file, { force: true });
        await rm(`${file}.map`, { force: true });
        continue;
      }
      digests.add(digest);
      bundles.push({ name, fn, launcher, file, bytes: (await stat(file)).size, inputs: byArea(result.metafile) });
    }
  }
  return bundles;
}

export async function runBundles(outDir: string): Promise<PhaseResult & { bundles: Bundle[] }> {
  const failures: string[] = [];
  let bundles: Bundle[] = [];
  try {
    bundles = await buildBundles(outDir);
  } catch (error) {
    failures.push(`bundles: ${(error as Error).message.split('\n')[0]}`);
  }
  if (bundles.length === 0 && failures.length === 0) failures.push('bundles: no handler found in functions/handlers');
  const kb: Record<string, number> = {};
  const top: Record<string, string> = {};
  for (const b of bundles) {
    kb[b.name] = round(b.bytes / 1024);
    top[b.name] = b.inputs
      .slice(0, 6)
      .map((i) => `${i.area} ${round(i.bytes / 1024)}`)
      .join(', ');
  }
  return { figures: { bundle_kb: kb }, details: { out_dir: outDir, largest_inputs_kb: top }, failures, bundles };
}
