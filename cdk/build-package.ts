import { spawn } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import {
  HANDLER_ENTRIES,
  HANDLER_ESBUILD,
  LAUNCHER_SETS,
  launcherDefine,
  prebuiltBundleDir,
  sharedBundleDir,
} from './constructs/handler-function.ts';

/**
 * `npm run build` (also run by `npm pack`): the package a CDK app installs.
 *
 * - `dist/cdk/*.js` and `.d.ts`: the construct compiled by tsc (tsconfig.build.json; the `.ts` import
 *   specifiers are rewritten to `.js`, in the declarations too), with the functions/ modules it reads.
 * - `dist/lambda/<launchers>/<function>/index.mjs`: every function bundled once per launcher set with
 *   the stack's own esbuild settings, so a user's synth needs neither esbuild nor the sources. A
 *   function whose bundle is the same for every set (the webhook) is kept once, in `dist/lambda/shared/`.
 *   No source maps: Lambda does not read them (the functions run without `--enable-source-maps`), and
 *   they would double the package (docs/decisions.md "Packaging and CLI").
 * - `dist/runner/`: the bootstrap and its checksum table, which the runner platforms ship.
 */
const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
const LAMBDA = join(DIST, 'lambda/');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

const started = Date.now();
rmSync(DIST, { recursive: true, force: true });

// tsc and esbuild side by side (tsc is another process).
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const compiled = new Promise<void>((done, fail) =>
  spawn(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' }).on('exit', (code) =>
    code === 0 ? done() : fail(new Error(`tsc -p tsconfig.build.json exited with ${code}`)),
  ),
);

// One esbuild run per launcher set, all four functions in it.
const bundled = Promise.all(
  LAUNCHER_SETS.map((launcher) =>
    build({
      ...HANDLER_ESBUILD,
      banner: { ...HANDLER_ESBUILD.banner },
      mainFields: [...HANDLER_ESBUILD.mainFields],
      external: [...HANDLER_ESBUILD.external],
      alias: { ...HANDLER_ESBUILD.alias },
      define: launcherDefine(launcher),
      sourcemap: false,
      logLevel: 'error',
      entryPoints: Object.fromEntries(
        HANDLER_ENTRIES.map((entry) => [
          `${relative(LAMBDA, prebuiltBundleDir(LAMBDA, launcher, entry))}/index`,
          join(ROOT, 'functions/handlers', entry),
        ]),
      ),
      outdir: LAMBDA,
      outExtension: { '.js': '.mjs' },
    }),
  ),
);

await compiled;
// tsc rewrites `.ts` specifiers in the JavaScript only; a user's tsc resolves `.js` ones in declarations.
for (const file of files(DIST).filter((f) => f.endsWith('.d.ts'))) {
  const text = readFileSync(file, 'utf8');
  writeFileSync(
    file,
    text
      .replace(/(from\s+['"]\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1.js$2')
      .replace(/(import\(['"]\.{1,2}\/[^'"]*?)\.ts(['"]\))/g, '$1.js$2'),
  );
}

mkdirSync(join(DIST, 'runner'), { recursive: true });
for (const name of ['bootstrap.sh', 'checksums.json'])
  copyFileSync(join(ROOT, 'runner', name), join(DIST, 'runner', name));

await bundled;
for (const entry of HANDLER_ENTRIES) {
  const dirs = LAUNCHER_SETS.map((launcher) => prebuiltBundleDir(LAMBDA, launcher, entry));
  const [first, ...others] = dirs.map((dir) => readFileSync(join(dir, 'index.mjs')));
  if (first === undefined || !others.every((other) => other.equals(first))) continue;
  const shared = sharedBundleDir(LAMBDA, entry);
  mkdirSync(dirname(shared), { recursive: true });
  renameSync(dirs[0] as string, shared);
  for (const dir of dirs.slice(1)) rmSync(dir, { recursive: true });
}

const bundles = files(LAMBDA);
const bytes = bundles.reduce((n, f) => n + statSync(f).size, 0);
// stderr: `npm pack --json` prints its report on stdout.
console.error(
  `jit-runners build: dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s, ${bundles.length} bundles ${(bytes / 1024).toFixed(0)} KB`,
);
