import type { Config } from '../../config/config.ts';
import type { Baseline } from '../../domain/baseline.ts';
import { scopeKey as keyOf, parseScope, type Scope } from '../../domain/scope.ts';
import type { GitHubPort } from '../../ports/github.ts';
import type { Store } from '../../ports/store.ts';
import type { RunWorkaround, WorkaroundOutcome } from '../healing/run-workaround.ts';

export interface BaselineAdminDeps {
  config: Pick<Config, 'runner'>;
  store: Pick<Store, 'jobs' | 'baselines' | 'runners'>;
  /** Asks GitHub for the App installation of a scope the store has never seen. */
  github: Pick<GitHubPort, 'findInstallation'>;
  runWorkaround: RunWorkaround;
}

export interface AdminAnswer {
  status: number;
  body: { message: string; [key: string]: unknown };
}

function example(kind: Scope['kind']): string {
  return kind === 'repo' ? 'owner/repo' : 'an organization name';
}

/** HTTP status for a workaround outcome of `baseline ensure`. */
function answer(scope: string, outcome: WorkaroundOutcome): AdminAnswer {
  switch (outcome.outcome) {
    case 'healed':
      return {
        status: 200,
        body: { message: `baseline recorded for ${scope}`, baseline: outcome.baseline },
      };
    case 'present':
      return {
        status: 200,
        body: {
          message: `${scope} already has a baseline (${outcome.baseline.method ?? 'unknown method'})`,
          baseline: outcome.baseline,
        },
      };
    case 'joined':
      return {
        status: 202,
        body: {
          message: `the workaround for ${scope} is already running (${outcome.note}); see \`jit-runners baseline list\``,
        },
      };
    case 'exhausted':
      return { status: 409, body: { message: outcome.reason } };
    case 'breaker-open':
      return {
        status: 503,
        body: {
          message: `the breaker for ${scope} is open until ${new Date(outcome.until).toISOString()}; try again then`,
        },
      };
    case 'failed':
      return { status: 502, body: { message: `the workaround for ${scope} failed: ${outcome.reason}` } };
  }
}

/**
 * `jit-runners baseline list|ensure` behind the local admin routes. `ensure` runs the regular-runner
 * workaround now with method `manual` (not bounded by the per-scope budget) and waits for its outcome.
 */
export function createBaselineAdmin(deps: BaselineAdminDeps) {
  const { config, store, runWorkaround } = deps;

  /** The installation that can act on the scope, from what the store has seen of it. */
  async function installationFor(key: string): Promise<number | undefined> {
    const baseline = await store.baselines.get(key);
    if (baseline?.installationId !== undefined) return baseline.installationId;
    const job = (await store.jobs.listOpen()).find((j) => j.scopeKey === key);
    if (job) return job.installationId;
    const runner = (await store.runners.listActive()).find((r) => r.scopeKey === key);
    if (runner) return runner.installationId;
    // A scope with no job yet (pre-registering a critical repository): ask GitHub.
    const scope = parseScope(key);
    return scope ? deps.github.findInstallation(scope) : undefined;
  }

  return {
    listBaselines(): Promise<Baseline[]> {
      return store.baselines.list();
    },

    async ensureBaseline(scopeText: string): Promise<AdminAnswer> {
      const scope = parseScope(scopeText);
      if (!scope) {
        return {
          status: 400,
          body: { message: `scope must be ${example(config.runner.scope)} (RUNNER_SCOPE=${config.runner.scope})` },
        };
      }
      if (scope.kind !== config.runner.scope) {
        return {
          status: 400,
          body: {
            message: `RUNNER_SCOPE is ${config.runner.scope}: give ${example(config.runner.scope)}, not ${scopeText.trim()}`,
          },
        };
      }
      const key = keyOf(scope);
      const installationId = await installationFor(key);
      if (installationId === undefined) {
        return {
          status: 400,
          body: {
            message: `the GitHub App is not installed on ${key}: install it there first (GitHub answered 404 to the installation lookup)`,
          },
        };
      }
      const outcome = await runWorkaround(
        scope,
        { installationId, scope },
        { reason: 'baseline ensure', method: 'manual' },
      );
      return answer(key, outcome);
    },
  };
}

export type BaselineAdmin = ReturnType<typeof createBaselineAdmin>;
