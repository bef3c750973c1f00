/**
 * Every metric the functions emit through the {@link Metrics} port (functions/ports/runtime.ts), in one
 * place: the port only takes these names, and the CDK dashboard (cdk/constructs/monitoring.ts) charts or
 * alarms on each of them (a spec in test/cdk/dashboard.test.ts fails when one is left out).
 *
 * Counters go through `count`; values with a unit (latencies, gauges the reconciler publishes every
 * pass) through `measure`. Dimension names are lower camel case, as they were before this catalogue, so a
 * deployed fleet's metric history carries on.
 */

/** Events counted (`count`, unit Count; the dashboard sums them). */
export const CountMetric = {
  // ── jobs ──
  /** A `queued` job was recorded (webhook or discovery). */
  jobQueued: 'JobQueued',
  /** A job reached `failed`; dimension `failureClass` (`gone`: GitHub no longer knows the job). */
  jobFailed: 'JobFailed',
  /** A job went `waiting` for an environment approval. */
  jobWaiting: 'JobWaiting',
  /** A job left an approval wait (`queued` again). */
  jobApproved: 'JobApproved',
  /** A job waits in its pool's backlog (the pool is full); dimension `pool`. */
  jobBacklogged: 'JobBacklogged',
  /** Backlogged jobs handed a slot; dimension `pool`. */
  backlogReleased: 'BacklogReleased',
  /** A failed mint or launch provisioned again after a backoff; dimension `failureClass`. */
  provisionRetry: 'ProvisionRetry',
  /** A runner launch was accepted by the launcher. */
  runnerLaunched: 'RunnerLaunched',
  /** A job of a pool with `warm` was served by a warm runner (claimed and handed its JIT config); dimension `pool`. */
  warmClaimed: 'WarmRunnerClaimed',
  /** A job of a pool with `warm` found no warm runner free (or its hand-off failed) and launched cold; dimension `pool`. */
  warmMissed: 'WarmRunnerMissed',
  /** Warm runners booted by a refill (the reconciler's pass counts them). */
  warmBooted: 'WarmRunnerBooted',
  // ── heals and thefts ──
  /** A runner failure was handled by a relaunch or a breaker wait; dimensions `failureClass`, `action`. */
  runnerHealed: 'RunnerHealed',
  /** The regular-runner workaround started for a scope; dimension `scope`. */
  workaroundStarted: 'WorkaroundStarted',
  /** The workaround's regular runner showed online: the scope's baseline is recorded; dimension `scope`. */
  workaroundHealed: 'WorkaroundHealed',
  /** The workaround failed; dimension `scope`. */
  workaroundFailed: 'WorkaroundFailed',
  /** A scope was marked as missing its baseline (metadata-missing); dimension `scope`. */
  baselineMissing: 'BaselineMissing',
  /** A regular runner of the scope was seen working: baseline recorded as observed; dimension `scope`. */
  baselineObserved: 'BaselineObserved',
  /** A runner minted for one job took another; dimension `swap` (`yes`: the thief's own runner is free). */
  runnerStolen: 'RunnerStolen',
  /** A runner was stopped and its registration deleted by us. */
  runnerRetired: 'RunnerRetired',
  /** A runner whose job ran elsewhere was retired. */
  spareRunnerRetired: 'SpareRunnerRetired',
  // ── GitHub health ──
  /** A scope's breaker opened; dimension `scope`. */
  breakerOpened: 'BreakerOpened',
  /** A webhook delivery was refused; dimension `reason` ({@link WebhookRejectReason}). */
  webhookRejected: 'WebhookRejected',
  /** A delivery for a job already recorded (GitHub delivers at least once). */
  webhookDuplicate: 'WebhookDuplicate',
  /** Failed deliveries redelivered by the reconciler. */
  webhookRedelivered: 'WebhookRedelivered',
  /** Queued jobs found in the Actions API that no delivery announced (`DISCOVER_QUEUED_JOBS`). */
  jobDiscovered: 'JobDiscovered',
  // ── runner version ──
  runnerVersionAdopted: 'RunnerVersionAdopted',
  runnerVersionPromoted: 'RunnerVersionPromoted',
  runnerVersionRollback: 'RunnerVersionRollback',
  /** A release's tarball did not match its published SHA-256: not adopted, marked bad. */
  runnerVersionTarballRefused: 'RunnerVersionTarballRefused',
  // ── plumbing ──
  /** A reconciler pass ran (it held the lease). */
  reconcileRun: 'ReconcileRun',
  /** Stuck jobs the reconciler handed to the provisioner again. */
  reconcileDispatched: 'ReconcileDispatched',
  /** Jobs whose state the reconciler corrected from the Actions API. */
  reconcileCorrected: 'ReconcileCorrected',
  /** Launches with no job of ours the reconciler stopped. */
  orphanLaunchStopped: 'OrphanLaunchStopped',
  /** Registrations with no job of ours the reconciler deleted. */
  orphanRegistrationDeleted: 'OrphanRegistrationDeleted',
  /** Stolen/spare handling of an `in_progress`/`completed` threw (the reconciler looks again). */
  progressHandlingFailed: 'ProgressHandlingFailed',
} as const;
export type CountMetric = (typeof CountMetric)[keyof typeof CountMetric];

/** Values with a unit (`measure`): latencies per job, gauges published by every reconciler pass. */
export const MeasureMetric = {
  /** Job recorded (or assignable again after an approval) → its first runner's launch accepted; ms, dimension `pool`. */
  queuedToLaunch: 'QueuedToLaunchLatency',
  /** Job recorded (or assignable again) → its `in_progress` delivery; ms, dimension `pool`. */
  queuedToRunning: 'QueuedToRunningLatency',
  /** Job recorded → its JIT config handed to a warm runner (the warm pickup); ms, dimension `pool`. */
  warmPickup: 'WarmPickupLatency',
  /** Gauge per pool: warm runners booted or booting that no job claimed yet; dimension `pool`. */
  warmIdle: 'WarmRunnersIdle',
  /** Gauge per pool: warm runners claimed by a job (serving it); dimension `pool`. */
  warmInUse: 'WarmRunnersInUse',
  /** Gauge per pool: open jobs holding a runner (launched, healing, running); dimension `pool`. */
  runnersAlive: 'RunnersAlive',
  /** Gauge per pool: jobs waiting for room in the pool (`waiting-capacity`); dimension `pool`. */
  backlogJobs: 'BacklogJobs',
  /** Gauge: scopes whose open breaker holds at least one job back (`waiting-breaker`). */
  breakerOpenScopes: 'BreakerOpenScopes',
  /** Gauge: days from the pass to GitHub's cut-off of the running version. */
  runnerVersionDaysToCutoff: 'RunnerVersionDaysToCutoff',
  /** Gauge, 0 or 1: 1 within 7 days of the running version's cut-off (or past it). */
  runnerVersionCutoffAlarm: 'RunnerVersionCutoffAlarm',
} as const;
export type MeasureMetric = (typeof MeasureMetric)[keyof typeof MeasureMetric];

export type MetricName = CountMetric | MeasureMetric;

/** Every name the functions emit. */
export const METRIC_NAMES: readonly MetricName[] = [...Object.values(CountMetric), ...Object.values(MeasureMetric)];

/** CloudWatch units a measure may carry (EMF `Unit`). */
export const MetricUnit = {
  milliseconds: 'Milliseconds',
  count: 'Count',
} as const;
export type MetricUnit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** Dimension names the emit sites use. */
export const MetricDimension = {
  pool: 'pool',
  failureClass: 'failureClass',
  action: 'action',
  scope: 'scope',
  swap: 'swap',
  version: 'version',
  reason: 'reason',
} as const;
export type MetricDimension = (typeof MetricDimension)[keyof typeof MetricDimension];
export type MetricDimensions = Partial<Record<MetricDimension, string>>;

/** The `reason` of a {@link CountMetric.webhookRejected} (the answer's status in brackets). */
export const WebhookRejectReason = {
  /** 401: no `X-Hub-Signature-256`. */
  missingSignature: 'missing-signature',
  /** 401: the signature matches none of the webhook secrets. */
  badSignature: 'bad-signature',
  /** 413: the body is larger than the limit. */
  tooLarge: 'too-large',
  /** 400: no `X-GitHub-Event`. */
  missingEvent: 'missing-event',
  /** 400: the body is not JSON. */
  malformedJson: 'malformed-json',
  /** 400: a `workflow_job` payload that fails the schema. */
  invalidPayload: 'invalid-payload',
} as const;
export type WebhookRejectReason = (typeof WebhookRejectReason)[keyof typeof WebhookRejectReason];
