import { gunzipSync } from 'node:zlib';
import * as z from 'zod/mini';
import { RunnerEnv } from '../adapters/aws/runner-env.ts';
import type { RunnerSignal } from '../use-cases/healing/handle-runner-signal.ts';

// Only the fields we read are checked; AWS adds fields over time and unknown ones pass through.
const nonEmpty = () => z.string().check(z.minLength(1));
const timestamp = () => z.string().check(z.refine((s) => !Number.isNaN(Date.parse(s)), { message: 'not a timestamp' }));

/** A CloudWatch Logs subscription delivery: a gzipped, base64-encoded JSON batch. */
const CloudWatchLogsInput = z.object({ awslogs: z.object({ data: nonEmpty() }) });
const LogsMessageType = z.object({ messageType: z.string() });
const LogsData = z.object({
  messageType: z.literal('DATA_MESSAGE'),
  logGroup: z.string(),
  logStream: z.string(),
  logEvents: z.array(z.object({ id: z.string(), timestamp: z.number(), message: z.string() })),
});

const CodeBuildStateInput = z.object({
  source: z.literal('aws.codebuild'),
  'detail-type': z.string(),
  time: timestamp(),
  detail: z.object({
    'build-status': nonEmpty(),
    // An ARN, `arn:aws:codebuild:<region>:<account>:build/<project>:<uuid>`: the launch id follows `build/`.
    'build-id': z.string().check(z.regex(/build\/./)),
    'additional-information': z.optional(
      z.object({
        // Only hints: entries are read loosely, so an odd phase never drops the build's end.
        phases: z.optional(
          z.array(
            z.object({ 'phase-type': z.optional(z.unknown()), 'phase-context': z.optional(z.array(z.unknown())) }),
          ),
        ),
        environment: z.optional(
          z.object({
            'environment-variables': z.optional(z.array(z.object({ name: z.string(), value: z.optional(z.string()) }))),
          }),
        ),
      }),
    ),
  }),
});

const Ec2StateInput = z.object({
  source: z.literal('aws.ec2'),
  'detail-type': z.string(),
  time: timestamp(),
  detail: z.object({ 'instance-id': nonEmpty(), state: nonEmpty() }),
});

export type CloudWatchLogsInput = z.infer<typeof CloudWatchLogsInput>;
export type CodeBuildStateInput = z.infer<typeof CodeBuildStateInput>;
export type Ec2StateInput = z.infer<typeof Ec2StateInput>;
export type RunnerEventsInput = CloudWatchLogsInput | CodeBuildStateInput | Ec2StateInput;

/**
 * A signal whose runner is known only by its launch id (build id / instance id) until looked up. A
 * CodeBuild log stream names the build but not its project: with several pools' projects, `candidates`
 * holds the build id under each project (build ids are unique, so at most one is a launch of ours), and
 * `toSignal` takes the one found.
 */
export type PendingSignal =
  | { signal: RunnerSignal; launchId?: string }
  | {
      launchId: string;
      candidates?: readonly string[];
      toSignal: (runnerName: string, launchId?: string) => RunnerSignal;
    };

/** The CodeBuild projects whose builds may be runners: one name (a deployment before pools) or every pool's. */
export type RunnerProjects = string | readonly string[] | undefined;

const projectList = (projects: RunnerProjects): readonly string[] =>
  projects === undefined ? [] : typeof projects === 'string' ? [projects] : projects;

export const RunnerEventShape = {
  logs: 'cloudwatch-logs',
  codebuild: 'codebuild-state',
  ec2: 'ec2-state',
  unknown: 'unknown',
} as const;
export type RunnerEventShape = (typeof RunnerEventShape)[keyof typeof RunnerEventShape];

/**
 * What one incoming event gave: its signals, or why it was dropped. `reason` names fields and checks,
 * never values: a log line may quote anything the runner printed, so no part of the payload is logged.
 */
export type DecodedRunnerEvent =
  | { ok: true; shape: RunnerEventShape; pending: PendingSignal[] }
  | { ok: false; shape: RunnerEventShape; reason: string };

/** Decompressed subscription batches above this are refused (CloudWatch sends at most 1 MB gzipped). */
const MAX_LOGS_BYTES = 32 * 1024 * 1024;

/**
 * CodeBuild log streams are `<prefix>/<build uuid>` and build ids `<project>:<build uuid>`; the EC2
 * agent writes `ec2/<instance id>`. Returns the launch id the launcher recorded for the runner.
 */
export function launchIdOfLogStream(logStream: string, projectName: string | undefined): string | undefined {
  return launchIdsOfLogStream(logStream, projectName)[0];
}

/** Every launch id a log stream may belong to: one for EC2, one per project for CodeBuild (see {@link PendingSignal}). */
export function launchIdsOfLogStream(logStream: string, projects: RunnerProjects): string[] {
  const [prefix, rest] = [logStream.slice(0, logStream.indexOf('/')), logStream.slice(logStream.indexOf('/') + 1)];
  if (prefix === 'ec2' && /^i-[0-9a-f]+$/.test(rest)) return [rest];
  if (prefix === 'codebuild' && /^[0-9a-f-]{36}$/.test(rest)) {
    return projectList(projects)
      .filter(Boolean)
      .map((project) => `${project}:${rest}`);
  }
  return [];
}

function issues(error: z.core.$ZodError): string {
  return error.issues
    .slice(0, 3)
    .map((i) => `${i.path.length > 0 ? i.path.join('.') : '(event)'}: ${i.code}`)
    .join('; ');
}

function decodeLogs(event: unknown, projects: RunnerProjects): DecodedRunnerEvent {
  const shape = RunnerEventShape.logs;
  const input = CloudWatchLogsInput.safeParse(event);
  if (!input.success) return { ok: false, shape, reason: issues(input.error) };
  const data = input.data.awslogs.data;
  // Buffer.from(…, 'base64') skips characters outside the alphabet instead of failing: check first.
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(data)) return { ok: false, shape, reason: 'awslogs.data is not base64' };
  let json: unknown;
  try {
    const text = gunzipSync(Buffer.from(data, 'base64'), { maxOutputLength: MAX_LOGS_BYTES }).toString('utf8');
    try {
      json = JSON.parse(text);
    } catch {
      return { ok: false, shape, reason: 'awslogs.data is not JSON once unzipped' };
    }
  } catch (error) {
    const tooLarge = (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    return {
      ok: false,
      shape,
      reason: tooLarge ? 'awslogs.data unzips to more than 32 MB' : 'awslogs.data is not gzip',
    };
  }
  const kind = LogsMessageType.safeParse(json);
  if (!kind.success) return { ok: false, shape, reason: issues(kind.error) };
  // CONTROL_MESSAGE is CloudWatch checking the destination is reachable: valid, nothing to do.
  if (kind.data.messageType !== 'DATA_MESSAGE') return { ok: true, shape, pending: [] };
  const parsed = LogsData.safeParse(json);
  if (!parsed.success) return { ok: false, shape, reason: issues(parsed.error) };
  const payload = parsed.data;
  const [launchId, ...others] = launchIdsOfLogStream(payload.logStream, projects);
  if (!launchId) return { ok: true, shape, pending: [] };
  const candidates = others.length > 0 ? { candidates: [launchId, ...others] } : {};
  return {
    ok: true,
    shape,
    pending: payload.logEvents.map((e) => ({
      launchId,
      ...candidates,
      toSignal: (runnerName: string, found = launchId): RunnerSignal => ({
        kind: 'log',
        runnerName,
        line: e.message,
        source: `cloudwatch:${payload.logStream}`,
        at: e.timestamp,
        launchId: found,
      }),
    })),
  };
}

/**
 * The bootstrap's exit status: the buildspec runs it as the BUILD phase's one command, and CodeBuild puts
 * `COMMAND_EXECUTION_ERROR: Error while executing command: bash ./bootstrap.sh. Reason: exit status 4`
 * in that phase's context when it fails.
 */
function bootstrapExitCode(input: CodeBuildStateInput): { exitCode?: number } {
  const build = input.detail['additional-information']?.phases?.find((p) => p['phase-type'] === 'BUILD');
  for (const context of build?.['phase-context'] ?? []) {
    const status = typeof context === 'string' ? /\bexit status (\d{1,3})\b/.exec(context)?.[1] : undefined;
    if (status !== undefined) return { exitCode: Number(status) };
  }
  return {};
}

function decodeCodeBuild(event: unknown): DecodedRunnerEvent {
  const shape = RunnerEventShape.codebuild;
  const parsed = CodeBuildStateInput.safeParse(event);
  if (!parsed.success) return { ok: false, shape, reason: issues(parsed.error) };
  const { detail, time } = parsed.data;
  const launchId = detail['build-id'].slice(detail['build-id'].indexOf('build/') + 'build/'.length);
  const state = detail['build-status'].toLowerCase();
  const at = Date.parse(time);
  const exit = bootstrapExitCode(parsed.data);
  const named = detail['additional-information']?.environment?.['environment-variables']?.find(
    (v) => v.name === RunnerEnv.runnerName,
  )?.value;
  if (named)
    return {
      ok: true,
      shape,
      pending: [{ signal: { kind: 'state', runnerName: named, state, at, launchId, ...exit }, launchId }],
    };
  return {
    ok: true,
    shape,
    pending: [{ launchId, toSignal: (runnerName) => ({ kind: 'state', runnerName, state, at, launchId, ...exit }) }],
  };
}

function decodeEc2(event: unknown): DecodedRunnerEvent {
  const shape = RunnerEventShape.ec2;
  const parsed = Ec2StateInput.safeParse(event);
  if (!parsed.success) return { ok: false, shape, reason: issues(parsed.error) };
  const { detail, time } = parsed.data;
  const at = Date.parse(time);
  const state = detail.state.toLowerCase();
  return {
    ok: true,
    shape,
    pending: [
      {
        launchId: detail['instance-id'],
        toSignal: (runnerName) => ({ kind: 'state', runnerName, state, at, launchId: detail['instance-id'] }),
      },
    ],
  };
}

/**
 * Turns one incoming event into runner signals (log lines, platform states), or says why it cannot.
 * `projects`: the CodeBuild projects of the deployment's pools (log streams name the build only). A
 * CodeBuild state change carries its build id (project included) and an EC2 one its instance id, so any
 * pool's build or instance is recognised by the launch ids on record. Never throws: a malformed event is
 * dropped by the caller (retrying it cannot make it well-formed).
 */
export function decodeRunnerEvent(event: unknown, projects: RunnerProjects): DecodedRunnerEvent {
  if (typeof event !== 'object' || event === null) {
    return {
      ok: false,
      shape: RunnerEventShape.unknown,
      reason: `the event is ${event === null ? 'null' : typeof event}`,
    };
  }
  if ('awslogs' in event) return decodeLogs(event, projects);
  const source = (event as { source?: unknown }).source;
  if (source === 'aws.codebuild') return decodeCodeBuild(event);
  if (source === 'aws.ec2') return decodeEc2(event);
  return {
    ok: false,
    shape: RunnerEventShape.unknown,
    reason: 'neither a logs subscription nor a CodeBuild/EC2 state change',
  };
}

/** The signals of one event; a malformed or unknown one gives none. */
export function parseRunnerEvents(event: unknown, projects: RunnerProjects): PendingSignal[] {
  const decoded = decodeRunnerEvent(event, projects);
  return decoded.ok ? decoded.pending : [];
}
