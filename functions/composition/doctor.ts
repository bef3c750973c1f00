import { resolve } from 'node:path';
import { createGitHubClient } from '../adapters/github/github-client.ts';
import { createRunnerFolderProbe } from '../adapters/local/runner-folder-probe.ts';
import type { Config } from '../config/config.ts';
import type { WebhookExpectation } from '../domain/doctor/github-app.ts';
import type { DoctorReport } from '../domain/doctor-check.ts';
import { LauncherKind } from '../domain/launcher-kind.ts';
import type { VersionRecord } from '../domain/version-record.ts';
import { DEFAULT_RUNNER_RELEASES_URL } from '../ports/github.ts';
import { type Clock, type Logger, systemClock } from '../ports/runtime.ts';
import { type DoctorDeps, type DoctorGitHub, runDoctor } from '../use-cases/admin/run-doctor.ts';

/** One GitHub call of the doctor waits at most this long (the start-up run is bounded further). */
export const DOCTOR_CALL_TIMEOUT_MS = 8_000;

export interface LocalDoctorOptions {
  readonly config: Config;
  /** The App the fleet signs as (sandbox: the simulator's id, key and API). */
  readonly appId: number;
  readonly privateKey: string | undefined;
  readonly webhookSecrets: readonly string[];
  readonly apiUrl: string;
  readonly releasesUrl?: string;
  readonly expectedWebhook: WebhookExpectation;
  readonly logger: Logger;
  /** Every token GitHub mints for the doctor's client is handed here for redaction. */
  readonly onSecret?: (value: string) => void;
  readonly versionRecord?: () => Promise<VersionRecord | undefined>;
  /** The folder a local pool without `runnerDir` and without `RUNNER_DIR` is copied from (sandbox: the sample runner). */
  readonly defaultRunnerDir?: string;
  readonly ranIn: DoctorReport['ranIn'];
  readonly clock?: Clock;
  readonly callTimeoutMs?: number;
}

/**
 * The local runner folders and who uses each: pools with the local launcher, by resolved path.
 */
export function localRunnerFolders(
  config: Pick<Config, 'pools' | 'local'>,
  defaultRunnerDir: string | undefined,
): { path: string; usedBy: string[] }[] {
  const byPath = new Map<string, string[]>();
  for (const pool of config.pools) {
    if (pool.launcher !== LauncherKind.local) continue;
    const own = pool.runnerDir !== undefined && pool.runnerDir !== config.local.runnerDir;
    const dir = pool.runnerDir ?? config.local.runnerDir ?? defaultRunnerDir;
    if (dir === undefined) continue;
    const path = resolve(dir);
    const who = own
      ? `pool ${pool.name} runnerDir`
      : config.local.runnerDir
        ? 'RUNNER_DIR'
        : `pool ${pool.name} (the sample runner)`;
    const list = byPath.get(path) ?? [];
    if (!list.includes(who)) list.push(who);
    byPath.set(path, list);
  }
  return [...byPath].map(([path, usedBy]) => ({ path, usedBy }));
}

/** The doctor's dependencies in local mode: a client of its own with short deadlines and no retries. */
export function localDoctorDeps(options: LocalDoctorOptions): DoctorDeps {
  const { config } = options;
  let github: DoctorGitHub | undefined;
  let githubProblem: string | undefined;
  try {
    github = createGitHubClient({
      appId: options.appId,
      privateKey: options.privateKey ?? '',
      apiUrl: options.apiUrl,
      logger: options.logger,
      // The doctor reports a failure at once: a retry would only delay the verdict.
      retries: 0,
      rateLimitRetries: 0,
      timeoutMs: options.callTimeoutMs ?? DOCTOR_CALL_TIMEOUT_MS,
      ...(options.onSecret && { onSecret: options.onSecret }),
    });
  } catch (error) {
    githubProblem = `the App client cannot be built: ${error instanceof Error ? error.message : String(error)}`;
  }
  const sandbox = config.mode === 'sandbox';
  const folders = localRunnerFolders(config, options.defaultRunnerDir);
  return {
    config,
    appId: options.appId,
    secrets: {
      privateKey: options.privateKey,
      privateKeySource: sandbox ? 'the sandbox (generated)' : 'GITHUB_APP_PRIVATE_KEY or GITHUB_APP_PRIVATE_KEY_FILE',
      webhookSecrets: options.webhookSecrets,
      webhookSecretSource: sandbox ? 'the sandbox (generated)' : 'GITHUB_WEBHOOK_SECRET',
    },
    github: github ?? unavailable(githubProblem ?? 'no GitHub App client'),
    releasesUrl: options.releasesUrl ?? config.versionTracking.releasesUrl,
    ...(options.versionRecord && { versionRecord: options.versionRecord }),
    expectedWebhook: options.expectedWebhook,
    ...(folders.length > 0 && { runnerFolders: { probe: createRunnerFolderProbe(), folders } }),
    clock: options.clock ?? systemClock,
    ranIn: options.ranIn,
    callTimeoutMs: options.callTimeoutMs ?? DOCTOR_CALL_TIMEOUT_MS,
  };
}

/** A client that cannot be built answers every call with the reason, so each check names it. */
function unavailable(reason: string): DoctorGitHub {
  const fail = () => Promise.reject(new Error(reason));
  return {
    getApp: fail,
    listAppInstallations: fail,
    getAppHookConfig: fail,
    listInstallationRepositories: fail,
    listRunnerReleases: fail,
    listHookDeliveries: fail,
  };
}

/**
 * `jit-runners doctor` without a server, in the CLI's own process, from the environment's configuration
 * (a real App only: the sandbox's simulator lives in the server). No store is opened, so a tracked
 * version is judged by the configured start version.
 */
export async function runDoctorInProcess(
  config: Config,
  options: { webhookUrl?: string; logger: Logger },
): Promise<DoctorReport> {
  if (config.github.appId === undefined) throw new Error('doctor in this process needs GITHUB_APP_ID');
  return runDoctor(
    localDoctorDeps({
      config,
      appId: config.github.appId,
      privateKey: config.github.privateKey,
      webhookSecrets: config.github.webhookSecrets,
      apiUrl: config.github.apiUrl,
      releasesUrl: config.versionTracking.releasesUrl ?? DEFAULT_RUNNER_RELEASES_URL,
      expectedWebhook: { url: options.webhookUrl, source: '--webhook-url' },
      logger: options.logger,
      ranIn: 'process',
    }),
  );
}
