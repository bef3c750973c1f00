/**
 * Job lifecycle (DESIGN §3). Terminal states are `completed` and `failed`.
 *
 *   queued ─▶ provisioning ─▶ launched ─▶ running ─▶ completed
 *      ▲  ╲        │  ╲           │  ╲                  ▲
 *      │   ╲       ▼   ▼          ▼   ╲                 │
 *      │  waiting-breaker       healing ─▶ (re-provision)│
 *      └──────────── retry ◀──────┘          any ─▶ failed
 */
export const JobStatus = {
  queued: 'queued',
  provisioning: 'provisioning',
  waitingBreaker: 'waiting-breaker',
  launched: 'launched',
  healing: 'healing',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

export const TERMINAL_STATUSES: readonly JobStatus[] = [JobStatus.completed, JobStatus.failed];

export function isTerminal(status: JobStatus): boolean {
  return status === JobStatus.completed || status === JobStatus.failed;
}

const ALLOWED: Record<JobStatus, readonly JobStatus[]> = {
  queued: ['provisioning', 'running', 'completed', 'failed', 'waiting-breaker'],
  provisioning: ['queued', 'launched', 'waiting-breaker', 'running', 'completed', 'failed', 'healing'],
  'waiting-breaker': ['queued', 'provisioning', 'running', 'completed', 'failed'],
  launched: ['running', 'healing', 'queued', 'provisioning', 'completed', 'failed', 'waiting-breaker'],
  healing: ['queued', 'provisioning', 'running', 'completed', 'failed', 'waiting-breaker'],
  running: ['completed', 'failed'],
  completed: [],
  failed: [],
};

/** Whether the state machine allows `from → to`. Staying in the same state is not a transition. */
export function canTransition(from: JobStatus, to: JobStatus): boolean {
  return ALLOWED[from].includes(to);
}

/** The states from which `to` may be entered; used to build conditional writes. */
export function statusesAllowing(to: JobStatus): JobStatus[] {
  return (Object.keys(ALLOWED) as JobStatus[]).filter((from) => ALLOWED[from].includes(to));
}
