import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  scripts: Record<string, string>;
};
const dependencies = new Set(Object.keys(pkg.dependencies));
const devDependencies = new Set(Object.keys(pkg.devDependencies));
const peerDependencies = new Set(Object.keys(pkg.peerDependencies));

interface Import {
  file: string;
  pkg: string;
  /** `import type … from` / `export type … from`: erased by tsc, tsx and esbuild, never loaded. */
  typeOnly: boolean;
}

function sources(dir: string, deep = true): string[] {
  return readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) return deep ? sources(path) : [];
    return /\.(ts|mts|mjs|js)$/.test(name) ? [path] : [];
  });
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require(?:\.resolve)?\(\s*['"]([^'"]+)['"]\s*\)/g;

/** Package imports of the files under `dirs` (relative paths and node builtins left out). */
function importsOf(...dirs: string[]): Import[] {
  return importsIn(dirs.flatMap((d) => sources(d)));
}

function importsIn(files: string[]): Import[] {
  const found: Import[] = [];
  for (const file of files) {
    for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(IMPORT)) {
      const spec = m[2] ?? m[3] ?? m[4] ?? '';
      if (spec.startsWith('.') || spec.startsWith('/') || spec.startsWith('node:')) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : (spec.split('/')[0] ?? spec);
      if (builtinModules.includes(name)) continue;
      found.push({ file: relative(ROOT, join(ROOT, file)), pkg: name, typeOnly: m[1] !== undefined });
    }
  }
  return found;
}

/**
 * The repository files `entry` loads at run time, itself included: its relative imports followed
 * transitively, type-only ones left out (they are erased).
 */
function moduleGraph(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(IMPORT)) {
      const spec = m[2] ?? m[3] ?? m[4] ?? '';
      if (spec.startsWith('.') && m[1] === undefined) visit(relative(ROOT, join(ROOT, dirname(file), spec)));
    }
  };
  visit(entry);
  return [...seen];
}

const declaredAnywhere = (name: string) =>
  dependencies.has(name) || devDependencies.has(name) || devDependencies.has(`@types/${name}`);

/** Dependencies that no file imports: the npm scripts and bin/ run TypeScript through tsx. */
const RUN_BY_SCRIPTS = new Set(['tsx']);
/** Dev tools called by name from the npm scripts or config files rather than imported. */
const DEV_TOOLS = new Set(['@biomejs/biome', 'typescript', 'aws-cdk', 'vitest', '@types/node']);

describe('package.json dependencies', () => {
  it('declare every package the runtime code loads (functions/, bin/) under dependencies, so npm ci --omit=dev runs it', () => {
    const missing = importsOf('functions', 'bin')
      .filter((i) => !i.typeOnly && !dependencies.has(i.pkg))
      .map((i) => `${i.pkg} (${i.file})`);
    expect(missing).toEqual([]);
  });

  it('declare every type-only and deploy-time (cdk/) import under dependencies or devDependencies', () => {
    const missing = [...importsOf('functions', 'bin').filter((i) => i.typeOnly), ...importsOf('cdk')]
      .filter((i) => !declaredAnywhere(i.pkg))
      .map((i) => `${i.pkg} (${i.file})`);
    expect(missing).toEqual([]);
  });

  it('declare every package the construct entry (cdk/index.ts) loads under dependencies or peerDependencies, so the installed package synthesizes', () => {
    const graph = moduleGraph('cdk/index.ts');
    expect(graph).toContain('cdk/jit-runners.ts');
    const missing = importsIn(graph)
      .filter((i) => !i.typeOnly && !dependencies.has(i.pkg) && !peerDependencies.has(i.pkg))
      .map((i) => `${i.pkg} (${i.file})`);
    expect(missing).toEqual([]);
  });

  it('keep aws-cdk-lib and constructs as peer and dev dependencies: the app brings them, npm ci --omit=dev leaves them out', () => {
    expect(pkg.peerDependencies).toEqual({
      'aws-cdk-lib': pkg.devDependencies['aws-cdk-lib'],
      constructs: pkg.devDependencies.constructs,
    });
    expect([...peerDependencies].filter((p) => dependencies.has(p))).toEqual([]);
    // The local server (`npm start`, functions/cli/main.ts) never loads them.
    const server = importsIn(moduleGraph('functions/cli/main.ts')).filter((i) => !i.typeOnly);
    expect(server.length).toBeGreaterThan(0);
    expect(server.filter((i) => peerDependencies.has(i.pkg))).toEqual([]);
  });

  it('list nothing under dependencies that no runtime or deploy code imports', () => {
    const used = new Set(importsOf('functions', 'bin', 'cdk').map((i) => i.pkg));
    expect([...dependencies].filter((d) => !used.has(d) && !RUN_BY_SCRIPTS.has(d))).toEqual([]);
  });

  it('list nothing under devDependencies that no test, bench, deploy code or script uses', () => {
    const used = new Set(
      importsOf('test', 'bench', 'cdk', 'functions')
        .concat(importsIn(sources('.', false))) // vitest.config.ts and the like
        .flatMap((i) => [i.pkg, `@types/${i.pkg}`]),
    );
    expect([...devDependencies].filter((d) => !used.has(d) && !DEV_TOOLS.has(d))).toEqual([]);
  });

  it('keep the sandbox free of devDependencies: the local server and the CLI only load runtime packages', () => {
    // The check above covers this too; this names the regression that motivated it.
    const sandbox = importsOf('functions/adapters/sandbox', 'functions/cli').filter((i) => !i.typeOnly);
    expect(sandbox.filter((i) => devDependencies.has(i.pkg))).toEqual([]);
  });
});
