import { createConsoleLogger } from '../adapters/logging/console-logger.ts';
import { startLocalApp } from '../composition/local-app.ts';
import type { Config } from '../config/config.ts';

/** `jit-runners start` / `npm start`: runs until SIGINT/SIGTERM. */
export async function runStart(config: Config): Promise<number> {
  const logger = createConsoleLogger({
    level: config.logLevel,
    format: process.stdout.isTTY ? 'pretty' : 'json',
  });
  const app = await startLocalApp({ config, logger });
  const lines = [
    '',
    `jit-runners listening on ${app.url}  (POST /webhook, GET /healthz, GET /jobs/{id})`,
    `  mode: ${config.mode}   launcher: ${config.launcher}   store: ${config.store.endpoint ?? `embedded dynalite in ${config.local.stateDir}/dynamodb`}`,
    `  pools (matched in this order): ${config.pools.map((p) => `${p.name} [${p.labels.join(', ')}]`).join('; ')}`,
    ...config.notices.map((notice) => `  note: ${notice}`),
  ];
  if (app.sandbox) {
    lines.push(
      `  sandbox: built-in GitHub simulator at ${app.sandbox.simulatorUrl}, sample runner`,
      '',
      '  Try it (in another terminal):  npm run demo',
      '',
    );
  } else {
    lines.push(`  GitHub App ${config.github.appId} via ${config.github.apiUrl}`, '');
  }
  process.stdout.write(`${lines.join('\n')}\n`);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stdout.write('jit-runners: shutting down\n');
  await app.close();
  return 0;
}
