import type { DoctorReport } from '../domain/doctor-check.ts';
import type { JobFilter } from '../domain/job-filter.ts';
import type { BaselineView, FleetStatus, JobView, RunnerView } from '../use-cases/admin/fleet-view.ts';
import type { VersionStatus } from '../use-cases/admin/version-status.ts';

// The one port of the operator CLI: where `jit-runners status|jobs|job|runners|baseline|dlq|version` talk to.
// Two implementations: the local server on 127.0.0.1 (local-fleet-client.ts) and a deployed stack with the
// operator's AWS credentials (aws-fleet-client.ts). Every command is written once, over this interface
// (fleet-commands.ts), so both worlds print the same.

/** One dead-lettered provisioner invoke (a Lambda on-failure record), as `dlq list` shows it. */
export interface DeadLetter {
  /** The SQS message id: what `dlq redrive` reports on. */
  messageId: string;
  /** The job the invoke was for (`{"jobId":n}`, or a `{"progress":…}` hand-off's job); absent when not readable. */
  jobId?: number;
  /** `provision` for `{"jobId":n}`, `progress` for a webhook's `{"progress":…}` hand-off, `unknown` otherwise. */
  kind: 'provision' | 'progress' | 'unknown';
  /** When Lambda gave up (the record's timestamp), ISO 8601. */
  failedAt?: string;
  /** Lambda's condition: `RetriesExhausted`, `EventAgeExceeded`, … */
  condition?: string;
  /** Invokes Lambda made (the record's approximateInvokeCount). */
  attempts?: number;
  /** The function error as the handler's boundary reported it (type and message). */
  error?: string;
  /** Times this message was received (peeks included). */
  receiveCount?: number;
}

export interface DeadLetterListing {
  messages: DeadLetter[];
  /** Said instead of a listing where there is no queue (local mode). */
  note?: string;
}

/** What to redrive: every message, or the messages of these jobs. */
export type RedriveSelection = { all: true } | { jobIds: readonly number[] };

export interface RedriveResult {
  /** Re-invoked (InvocationType Event with the original payload) and then deleted. */
  redriven: { messageId: string; jobId?: number }[];
  /** Left in the queue, with why (a record without a payload, a failed invoke). */
  skipped: { messageId: string; jobId?: number; reason: string }[];
  /** Asked for by id and not found in the queue. */
  notFound: number[];
  note?: string;
}

/** A `baseline ensure` answer: the use case's own status (200 done, 202 joined, 4xx/5xx refused) and message. */
export interface EnsureAnswer {
  status: number;
  message: string;
  baseline?: BaselineView;
}

export interface FleetClient {
  /** Where it talks to, for messages: `the server on http://127.0.0.1:8080`, `stack JitRunners (eu-west-1)`. */
  readonly target: string;
  /** How long `baseline ensure` may wait, for its first line. */
  baselineOnlineSeconds(): Promise<number>;
  status(): Promise<FleetStatus>;
  jobs(filter: JobFilter, limit: number): Promise<JobView[]>;
  job(jobId: number): Promise<JobView | undefined>;
  runners(): Promise<RunnerView[]>;
  baselines(): Promise<BaselineView[]>;
  ensureBaseline(scope: string): Promise<EnsureAnswer>;
  versionStatus(): Promise<VersionStatus>;
  deadLetters(): Promise<DeadLetterListing>;
  redrive(selection: RedriveSelection): Promise<RedriveResult>;
}

/** A deployed stack's client also runs `doctor` in its reconciler (the local one is functions/cli/doctor.ts). */
export interface StackFleetClient extends FleetClient {
  /** The setup checks in the deployed reconciler; `webhookUrl` defaults to the stack's `WebhookUrl` output. */
  doctor(webhookUrl?: string): Promise<DoctorReport>;
}

/**
 * The CLI area's base error: one line that says what happened and what to do (exit code 1, no stack
 * trace). `cause` keeps the original error for a debugger, never for the terminal.
 */
export class FleetClientError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
/** Nothing answers where the CLI looked (no local server, no such stack). */
export class TargetUnavailableError extends FleetClientError {}
/** The operator's credentials are missing, expired, or not allowed to make a call. */
export class AccessError extends FleetClientError {}
/** The target answered, but not with what the CLI needs (an older server or stack, a failed function). */
export class TargetAnswerError extends FleetClientError {}
/** The target refused the request itself (a bad scope): exit code 2, like a usage error. */
export class RequestRefusedError extends FleetClientError {}
