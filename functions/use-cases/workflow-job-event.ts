import { z } from 'zod';

/**
 * Only the fields of a `workflow_job` delivery we use. Unknown fields pass through untouched;
 * GitHub adds fields over time and a stricter schema would turn that into 400s.
 */
export const WorkflowJobEventSchema = z.object({
  action: z.string().min(1),
  workflow_job: z.object({
    id: z.number().int().positive(),
    run_id: z.number().int().nonnegative(),
    labels: z.array(z.string()),
    status: z.string(),
    conclusion: z.string().nullable().optional(),
    runner_id: z.number().int().nullable().optional(),
    runner_name: z.string().nullable().optional(),
    name: z.string().optional(),
  }),
  repository: z.object({
    name: z.string().min(1),
    owner: z.object({ login: z.string().min(1) }),
  }),
  installation: z.object({ id: z.number().int().positive() }),
});
export type WorkflowJobEvent = z.infer<typeof WorkflowJobEventSchema>;

/** The actions we act on; every other action is acknowledged and ignored. */
export const WorkflowJobAction = {
  queued: 'queued',
  inProgress: 'in_progress',
  completed: 'completed',
} as const;
export type WorkflowJobAction = (typeof WorkflowJobAction)[keyof typeof WorkflowJobAction];

/** `body.workflow_job.id: expected number, received string` — short, names the field, echoes no payload. */
export function describeSchemaError(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid payload';
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  return `${path}: ${issue.message.replace(/^Invalid input: /, '')}`;
}
