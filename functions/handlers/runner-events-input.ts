import { gunzipSync } from 'node:zlib';
import { RunnerEnv } from '../adapters/aws/runner-env.ts';
import type { RunnerSignal } from '../use-cases/healing/handle-runner-signal.ts';

/** The three event shapes the runner-events function receives. */
export interface CloudWatchLogsInput {
  awslogs: { data: string };
}
export interface CodeBuildStateInput {
  source: 'aws.codebuild';
  'detail-type': string;
  time: string;
  detail: {
    'build-status': string;
    'project-name': string;
    'build-id': string;
    'additional-information'?: { environment?: { 'environment-variables'?: { name: string; value: string }[] } };
  };
}
export interface Ec2StateInput {
  source: 'aws.ec2';
  'detail-type': string;
  time: string;
  detail: { 'instance-id': string; state: string };
}
export type RunnerEventsInput = CloudWatchLogsInput | CodeBuildStateInput | Ec2StateInput;

interface LogsPayload {
  messageType: string;
  logGroup: string;
  logStream: string;
  logEvents: { id: string; timestamp: number; message: string }[];
}

/** A signal whose runner is known only by its launch id (build id / instance id) until looked up. */
export type PendingSignal =
  | { signal: RunnerSignal; launchId?: string }
  | { launchId: string; toSignal: (runnerName: string) => RunnerSignal };

/**
 * CodeBuild log streams are `<prefix>/<build uuid>` and build ids `<project>:<build uuid>`; the EC2
 * agent writes `ec2/<instance id>`. Returns the launch id the launcher recorded for the runner.
 */
export function launchIdOfLogStream(logStream: string, projectName: string | undefined): string | undefined {
  const [prefix, rest] = [logStream.slice(0, logStream.indexOf('/')), logStream.slice(logStream.indexOf('/') + 1)];
  if (prefix === 'ec2' && /^i-[0-9a-f]+$/.test(rest)) return rest;
  if (prefix === 'codebuild' && projectName && /^[0-9a-f-]{36}$/.test(rest)) return `${projectName}:${rest}`;
  return undefined;
}

/** Turns one incoming event into runner signals (log lines, platform states). Unknown shapes give none. */
export function parseRunnerEvents(event: unknown, projectName: string | undefined): PendingSignal[] {
  if (typeof event !== 'object' || event === null) return [];
  if ('awslogs' in event) {
    const payload = JSON.parse(
      gunzipSync(Buffer.from((event as CloudWatchLogsInput).awslogs.data, 'base64')).toString('utf8'),
    ) as LogsPayload;
    if (payload.messageType !== 'DATA_MESSAGE') return [];
    const launchId = launchIdOfLogStream(payload.logStream, projectName);
    if (!launchId) return [];
    return payload.logEvents.map((e) => ({
      launchId,
      toSignal: (runnerName: string): RunnerSignal => ({
        kind: 'log',
        runnerName,
        line: e.message,
        source: `cloudwatch:${payload.logStream}`,
        at: e.timestamp,
        launchId,
      }),
    }));
  }
  const source = (event as { source?: unknown }).source;
  if (source === 'aws.codebuild') {
    const { detail, time } = event as CodeBuildStateInput;
    const launchId = detail['build-id'].slice(detail['build-id'].indexOf('build/') + 'build/'.length);
    const state = detail['build-status'].toLowerCase();
    const at = Date.parse(time);
    const named = detail['additional-information']?.environment?.['environment-variables']?.find(
      (v) => v.name === RunnerEnv.runnerName,
    )?.value;
    if (named) return [{ signal: { kind: 'state', runnerName: named, state, at }, launchId }];
    return [{ launchId, toSignal: (runnerName) => ({ kind: 'state', runnerName, state, at }) }];
  }
  if (source === 'aws.ec2') {
    const { detail, time } = event as Ec2StateInput;
    const at = Date.parse(time);
    return [
      {
        launchId: detail['instance-id'],
        toSignal: (runnerName) => ({ kind: 'state', runnerName, state: detail.state.toLowerCase(), at }),
      },
    ];
  }
  return [];
}
