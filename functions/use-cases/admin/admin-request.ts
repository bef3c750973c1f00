import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';
import type { Config } from '../../config/config.ts';

// zod/mini (not full zod) keeps the reconciler's bundle small; its messages come from the English locale.
z.config(en());

// The operator's admin entry on a deployed function (the reconciler): `jit-runners … --stack NAME` invokes it
// RequestResponse with the operator's own credentials, so the actions run with the function's configuration
// and rules instead of a second copy of them in the CLI. A direct Invoke only: the reconciler's schedule sends
// an EventBridge event, which never has the `jitRunnersAdmin` key.

/** The admin actions a deployed function answers. */
export const AdminAction = {
  /** The deployment as the function parsed it: pools, scope, start version (what the CLI's fleet view needs). */
  describe: 'describe',
  /** Register a baseline runner for a scope now (the local `POST /admin/baselines/ensure`). */
  baselineEnsure: 'baseline-ensure',
  /** The runner version status (the local `GET /admin/version`): it lists releases through the App. */
  versionStatus: 'version-status',
  /** The setup checks, run in the function's own configuration (the local `GET /admin/doctor`). */
  doctor: 'doctor',
} as const;
export type AdminAction = (typeof AdminAction)[keyof typeof AdminAction];

/** The key of a direct admin invoke's payload: `{ "jitRunnersAdmin": { "action": "…", … } }`. */
export const ADMIN_KEY = 'jitRunnersAdmin';

const AdminRequestSchema = z.discriminatedUnion('action', [
  z.strictObject({ action: z.literal(AdminAction.describe) }),
  z.strictObject({
    action: z.literal(AdminAction.baselineEnsure),
    scope: z.string().check(z.minLength(1), z.maxLength(200)),
  }),
  z.strictObject({ action: z.literal(AdminAction.versionStatus) }),
  z.strictObject({
    action: z.literal(AdminAction.doctor),
    /** The URL GitHub must deliver to: the stack's `WebhookUrl` output, which the CLI reads. */
    webhookUrl: z.optional(z.string().check(z.minLength(1), z.maxLength(2048))),
  }),
]);
export type AdminRequest = z.infer<typeof AdminRequestSchema>;

/** Every admin answer: an HTTP-like status (what the local route would answer) and a JSON body. */
export interface AdminReply {
  readonly [ADMIN_KEY]: { readonly action: string; readonly status: number; readonly body: unknown };
}

/** Whether an invoke's event is an admin request (valid or not): an object with the admin key. */
export function isAdminEvent(event: unknown): event is { [ADMIN_KEY]: unknown } {
  return typeof event === 'object' && event !== null && !Array.isArray(event) && ADMIN_KEY in event;
}

/** The request, or the one-line reason it is not one (an unknown action names the known ones). */
export function parseAdminRequest(value: unknown): { ok: true; request: AdminRequest } | { ok: false; error: string } {
  const parsed = AdminRequestSchema.safeParse(value);
  if (parsed.success) return { ok: true, request: parsed.data };
  const action = (value as { action?: unknown } | null)?.action;
  const known = Object.values(AdminAction).join(', ');
  if (typeof action !== 'string' || !(Object.values(AdminAction) as string[]).includes(action)) {
    return {
      ok: false,
      error: `unknown admin action ${typeof action === 'string' ? `'${action.slice(0, 40)}'` : '(none given)'} (one of ${known})`,
    };
  }
  const issue = parsed.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : action;
  return { ok: false, error: `admin action ${action}: ${where}: ${issue?.message ?? 'invalid'}` };
}

export const adminReply = (action: string, status: number, body: unknown): AdminReply => ({
  [ADMIN_KEY]: { action, status, body },
});

/** What `describe` answers: the parts of the parsed configuration an operator's tools read. */
export interface DeploymentDescription {
  readonly schema: 1;
  readonly scope: Config['runner']['scope'];
  /** The start version (the pin, or with `auto` the version runners start from until one is adopted). */
  readonly runnerVersion: string;
  readonly versionMode: Config['versionTracking']['mode'];
  readonly baselinePolicy: Config['baselinePolicy'];
  readonly reconcileIntervalSeconds: number;
  readonly baselineOnlineTimeoutSeconds: number;
  readonly pools: readonly { name: string; labels: string[]; launcher: string; maxRunners?: number }[];
}

export function describeDeployment(config: Config): DeploymentDescription {
  return {
    schema: 1,
    scope: config.runner.scope,
    runnerVersion: config.runner.version,
    versionMode: config.versionTracking.mode,
    baselinePolicy: config.baselinePolicy,
    reconcileIntervalSeconds: config.timeouts.reconcileIntervalSeconds,
    baselineOnlineTimeoutSeconds: config.timeouts.baselineOnlineSeconds,
    pools: config.pools.map((p) => ({
      name: p.name,
      labels: [...p.labels],
      launcher: p.launcher,
      ...(p.maxRunners === undefined ? {} : { maxRunners: p.maxRunners }),
    })),
  };
}

export interface AdminDeps {
  config: Config;
  ensureBaseline: (scope: string) => Promise<{ status: number; body: unknown }>;
  versionStatus: () => Promise<{ status: number; body: unknown }>;
  /** The setup checks in the function's own configuration (the report is the body); absent: not wired. */
  doctor?: (webhookUrl: string | undefined) => Promise<{ status: number; body: unknown }>;
}

/** Answers one validated admin request; a use case's own refusal (400, 409, 502 …) is an answer, not a throw. */
export async function answerAdminRequest(request: AdminRequest, deps: AdminDeps): Promise<AdminReply> {
  switch (request.action) {
    case AdminAction.describe:
      return adminReply(request.action, 200, describeDeployment(deps.config));
    case AdminAction.baselineEnsure: {
      const answer = await deps.ensureBaseline(request.scope);
      return adminReply(request.action, answer.status, answer.body);
    }
    case AdminAction.versionStatus: {
      const answer = await deps.versionStatus();
      return adminReply(request.action, answer.status, answer.body);
    }
    case AdminAction.doctor: {
      if (!deps.doctor)
        return adminReply(request.action, 501, {
          message: 'this deployment does not run doctor yet: deploy a newer release',
        });
      const answer = await deps.doctor(request.webhookUrl);
      return adminReply(request.action, answer.status, answer.body);
    }
    default: {
      const unreachable: never = request;
      return adminReply(String(unreachable), 400, { message: 'unknown admin action' });
    }
  }
}
