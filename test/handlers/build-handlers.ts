import { resolve } from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { HANDLER_ESBUILD, launcherDefine } from '../../cdk/constructs/handler-function.ts';
import type { BundledLauncher } from '../../functions/composition/lambda-launcher.ts';

/** The esbuild options of the stack's NodejsFunction for one launcher (copies: esbuild wants mutable arrays). */
export function stackBuildOptions(launcher: BundledLauncher): BuildOptions {
  return {
    ...HANDLER_ESBUILD,
    banner: { ...HANDLER_ESBUILD.banner },
    mainFields: [...HANDLER_ESBUILD.mainFields],
    external: [...HANDLER_ESBUILD.external],
    alias: { ...HANDLER_ESBUILD.alias },
    define: launcherDefine(launcher),
    logLevel: 'error',
  };
}

/** Bundles handlers of functions/handlers/ into `outdir` as `<name>.mjs`, exactly as the stack does. */
export async function buildHandlers(
  names: readonly string[],
  outdir: string,
  launcher: BundledLauncher,
): Promise<void> {
  await build({
    ...stackBuildOptions(launcher),
    entryPoints: Object.fromEntries(names.map((h) => [h, resolve(`functions/handlers/${h}.ts`)])),
    outdir,
    outExtension: { '.js': '.mjs' },
  });
}
