import type { Context } from 'aws-lambda';
import { createLambdaCore, once } from '../composition/lambda-core.ts';
import { codebuildProjects } from '../composition/pool-launcher.ts';
import type { SignalOutcome } from '../use-cases/healing/handle-runner-signal.ts';
import { errorBoundary } from './error-boundary.ts';
import { useInvocationContext } from './lambda-logger.ts';
import { decodeRunnerEvent } from './runner-events-input.ts';

const lambdaCore = once(() => createLambdaCore({ role: 'runner-events', readsWebhookSecret: false }));
const boundary = errorBoundary('runner-events');

export interface RunnerEventsResult {
  signals: number;
  acted: number;
  /** Events about launches this fleet does not know (another project's build, a non-runner instance). */
  unknown: number;
  /** 1 when the event was malformed and dropped (logged by shape and reason, without its payload). */
  dropped?: number;
}

/**
 * Runner watcher in AWS: CloudWatch Logs subscription batches (lines matching the failure signatures),
 * CodeBuild build state changes and EC2 instance state changes → handle-runner-signal. Only a watcher
 * outside the runner can notice the metadata-missing loop (docs/design.md "Why it exists"): this is that watcher.
 */
export async function handler(event: unknown, context?: Context): Promise<RunnerEventsResult> {
  useInvocationContext(context);
  return boundary.run(context?.awsRequestId, () => handleEvent(event));
}

/** An error here is thrown reduced to safe fields (error-boundary.ts): Lambda retries the event. */
async function handleEvent(event: unknown): Promise<RunnerEventsResult> {
  const app = boundary.use(await lambdaCore());
  const decoded = decodeRunnerEvent(event, codebuildProjects(app.config));
  if (!decoded.ok) {
    // Returned, not thrown: Lambda would retry an async event that no retry can make well-formed.
    app.logger.warn('runner event dropped: malformed', { shape: decoded.shape, reason: decoded.reason });
    return { signals: 0, acted: 0, unknown: 0, dropped: 1 };
  }
  const { pending } = decoded;
  let runnersByLaunch: Map<string, string> | undefined;
  const runnerOf = async (launchId: string): Promise<string | undefined> => {
    // One listing per batch: log batches carry many lines of the same runner. JIT runners are known by
    // their open job (job.launchId), baseline runners by their RUNNER# record.
    if (!runnersByLaunch) {
      const [jobs, runners] = await Promise.all([app.core.store.jobs.listOpen(), app.core.store.runners.listActive()]);
      runnersByLaunch = new Map();
      for (const r of runners) if (r.launchId) runnersByLaunch.set(r.launchId, r.name);
      for (const j of jobs) if (j.launchId && j.runnerName) runnersByLaunch.set(j.launchId, j.runnerName);
    }
    return runnersByLaunch.get(launchId);
  };

  const result: RunnerEventsResult = { signals: 0, acted: 0, unknown: 0 };
  for (const p of pending) {
    let outcome: SignalOutcome;
    if ('signal' in p) {
      outcome = await app.core.handleRunnerSignal(p.signal);
    } else {
      let found: { launchId: string; runnerName: string } | undefined;
      for (const launchId of p.candidates ?? [p.launchId]) {
        const runnerName = await runnerOf(launchId);
        if (runnerName) {
          found = { launchId, runnerName };
          break;
        }
      }
      if (!found) {
        result.unknown++;
        continue;
      }
      outcome = await app.core.handleRunnerSignal(p.toSignal(found.runnerName, found.launchId));
    }
    result.signals++;
    if (outcome.acted) {
      result.acted++;
      app.logger.info('runner signal acted on', { action: outcome.action, note: outcome.note });
    }
  }
  return result;
}
