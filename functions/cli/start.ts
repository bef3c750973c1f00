import { createConsoleLogger } from '../adapters/logging/console-logger.ts';
import { type LocalApp, startLocalApp } from '../composition/local-app.ts';
import type { Config } from '../config/config.ts';
import { startupDoctorLines } from './doctor.ts';

/** `jit-runners start` / `npm start`: runs until SIGINT/SIGTERM. */
export async function runStart(config: Config): Promise<number> {
  const logger = createConsoleLogger({
    level: config.logLevel,
    format: process.stdout.isTTY ? 'pretty' : 'json',
  });
  const app = await startLocalApp({ config, logger });
  const lines = [
    '',
    `jit-runners listening on ${app.url}  (POST /webhook, GET /healthz, GET /api/…)`,
    `  status page: ${app.url}/`,
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
  void startupDoctor(app);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.stdout.write('jit-runners: shutting down\n');
  await app.close();
  return 0;
}

/** How long the start-up checks may take before start-up stops waiting for them (they never delay serving). */
const STARTUP_DOCTOR_MS = 6_000;

/**
 * The doctor's checks once the server is up: each warn or fail check as one line on stderr, nothing when
 * all pass. Bounded and detached: a slow or failing GitHub never holds or fails the start.
 */
async function startupDoctor(app: LocalApp): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), STARTUP_DOCTOR_MS);
    timer.unref();
  });
  try {
    const report = await Promise.race([app.doctor(), late]);
    if (report === 'late') {
      process.stderr.write(
        `jit-runners doctor: the start-up checks did not finish within ${STARTUP_DOCTOR_MS / 1000} s; run jit-runners doctor\n`,
      );
      return;
    }
    const lines = startupDoctorLines(report);
    if (lines.length === 0) return;
    process.stderr.write(`${[...lines, 'jit-runners doctor: run jit-runners doctor for the details'].join('\n')}\n`);
  } catch (error) {
    process.stderr.write(
      `jit-runners doctor: the start-up checks failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  } finally {
    clearTimeout(timer);
  }
}
