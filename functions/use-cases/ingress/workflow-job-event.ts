import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

// zod/mini (not full zod) keeps the webhook bundle small; its messages come from the English locale.
z.config(en());

/**
 * Only the fields of a `workflow_job` delivery we use. Unknown fields pass through untouched;
 * GitHub adds fields over time and a stricter schema would turn that into 400s.
 */
export const WorkflowJobEventSchema = z.object({
  action: z.string().check(z.minLength(1)),
  workflow_job: z.object({
    id: z.number().check(z.int(), z.positive()),
    run_id: z.number().check(z.int(), z.nonnegative()),
    labels: z.array(z.string()),
    status: z.string(),
    conclusion: z.optional(z.nullable(z.string())),
    runner_id: z.optional(z.nullable(z.number().check(z.int()))),
    runner_name: z.optional(z.nullable(z.string())),
    name: z.optional(z.string()),
    /** The commit; kept on the job for its failure check run (docs/design.md "Failures on GitHub"). */
    head_sha: z.optional(z.nullable(z.string())),
    workflow_name: z.optional(z.nullable(z.string())),
  }),
  repository: z.object({
    name: z.string().check(z.minLength(1)),
    owner: z.object({ login: z.string().check(z.minLength(1)) }),
  }),
  installation: z.object({ id: z.number().check(z.int(), z.positive()) }),
});
export type WorkflowJobEvent = z.infer<typeof WorkflowJobEventSchema>;

/** The actions we act on; every other action is acknowledged and ignored. */
export const WorkflowJobAction = {
  queued: 'queued',
  /** Held by an environment's required reviewers until approved (then `queued` again). */
  waiting: 'waiting',
  inProgress: 'in_progress',
  completed: 'completed',
} as const;
export type WorkflowJobAction = (typeof WorkflowJobAction)[keyof typeof WorkflowJobAction];

/** `body.workflow_job.id: expected number, received string` — short, names the field, echoes no payload. */
export function describeSchemaError(error: z.core.$ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid payload';
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  return `${path}: ${issue.message.replace(/^Invalid input: /, '')}`;
}
