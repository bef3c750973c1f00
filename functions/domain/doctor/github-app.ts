import { CheckStatus, checkFrom, type DoctorCheck, DoctorCheckId, type Finding, finding } from '../doctor-check.ts';
import type { ScopeKind } from '../scope.ts';

/** `GET /app` as the checks read it. */
export interface AppFacts {
  readonly id: number;
  readonly slug: string;
  readonly name: string;
  /** Webhook events the App is subscribed to. */
  readonly events: readonly string[];
}

/** What `GET /app` answered: the App, or an error status with GitHub's message. */
export type AppAnswer =
  | { readonly kind: 'app'; readonly app: AppFacts }
  | { readonly kind: 'refused'; readonly status: number; readonly message: string };

/** One entry of `GET /app/installations`. */
export interface InstallationFacts {
  readonly id: number;
  /** The account's login (organization or user). */
  readonly account: string;
  readonly accountType: string;
  /** Permission name → `read` | `write` | `admin`, as GitHub lists them. */
  readonly permissions: Readonly<Record<string, string>>;
  readonly repositorySelection: 'all' | 'selected';
  readonly suspended: boolean;
}

/** `GET /app/hook/config`; GitHub masks the secret, so only whether one is set is known. */
export interface HookConfigFacts {
  readonly url: string | undefined;
  readonly contentType: string | undefined;
  readonly insecureSsl: string | undefined;
  readonly secretSet: boolean;
}

/** Where people change an App: github.com → Settings → Developer settings → GitHub Apps → the App. */
const APP_SETTINGS = 'the App settings';

/** Check 1: the App id and key. A JWT signed with the key was accepted and the App is the configured one. */
export function evaluateAppIdentity(answer: AppAnswer, expectedAppId: number): DoctorCheck {
  if (answer.kind === 'refused') {
    if (answer.status === 401) {
      return checkFrom(
        DoctorCheckId.app,
        [
          finding(
            CheckStatus.fail,
            `the private key does not belong to App ${expectedAppId}: GitHub refused its JWT (401: ${answer.message})`,
            `generate a private key for App ${expectedAppId} (App settings → General → Private keys) and configure it (GITHUB_APP_PRIVATE_KEY_FILE, or the stack's AppPrivateKey secret)`,
          ),
        ],
        '',
      );
    }
    return checkFrom(
      DoctorCheckId.app,
      [
        finding(
          CheckStatus.fail,
          `GET /app answered ${answer.status}: ${answer.message}`,
          answer.status === 404
            ? 'check GITHUB_APP_ID and GITHUB_API_URL (GHES: https://HOST/api/v3)'
            : 'try again; if it persists, check githubstatus.com',
        ),
      ],
      '',
    );
  }
  const { app } = answer;
  if (app.id !== expectedAppId) {
    return checkFrom(
      DoctorCheckId.app,
      [
        finding(
          CheckStatus.fail,
          `the private key belongs to App ${app.id} (${app.slug}), not to GITHUB_APP_ID ${expectedAppId}`,
          `set GITHUB_APP_ID=${app.id}, or use App ${expectedAppId}'s own private key`,
        ),
      ],
      '',
    );
  }
  return checkFrom(DoctorCheckId.app, [], `App ${app.id} (${app.slug}) accepts a JWT signed with the configured key`);
}

type Level = 'read' | 'write';
const LEVEL_RANK: Record<string, number> = { read: 1, write: 2, admin: 3 };
const grants = (given: string | undefined, needed: Level) =>
  given !== undefined && (LEVEL_RANK[given] ?? 0) >= (LEVEL_RANK[needed] ?? 0);

/** How the App settings page names a permission. */
const PERMISSION_TITLE: Record<string, string> = {
  administration: 'Repository permissions → Administration',
  organization_self_hosted_runners: 'Organization permissions → Self-hosted runners',
  actions: 'Repository permissions → Actions',
};

/**
 * The installation permissions the fleet needs (docs/deploy.md "Create the GitHub App", app-manifest.json):
 * repository registration needs `administration: write`, organization registration
 * `organization_self_hosted_runners: write`; both read jobs with `actions: read`.
 */
export function requiredPermissions(scope: ScopeKind): readonly { name: string; level: Level }[] {
  return [
    scope === 'repo'
      ? { name: 'administration', level: 'write' }
      : { name: 'organization_self_hosted_runners', level: 'write' },
    { name: 'actions', level: 'read' },
  ];
}

/** Check 2: every installation grants what `RUNNER_SCOPE` needs. */
export function evaluateInstallations(installations: readonly InstallationFacts[], scope: ScopeKind): DoctorCheck {
  if (installations.length === 0) {
    return checkFrom(
      DoctorCheckId.installations,
      [
        finding(
          CheckStatus.fail,
          'the App is installed nowhere: no job can be served',
          'install it on the organization or repositories whose jobs it serves (App settings → Install App)',
        ),
      ],
      '',
    );
  }
  const needed = requiredPermissions(scope);
  const findings: Finding[] = [];
  for (const inst of installations) {
    for (const p of needed) {
      if (grants(inst.permissions[p.name], p.level)) continue;
      const has = inst.permissions[p.name];
      findings.push(
        finding(
          CheckStatus.fail,
          `installation on ${inst.account} lacks ${p.name}: ${p.level}${has ? ` (has ${has})` : ''}`,
          `give the App "${PERMISSION_TITLE[p.name] ?? p.name}: ${p.level === 'write' ? 'Read and write' : 'Read-only'}" in the App settings, then approve the change for ${inst.account} (its installation settings)`,
        ),
      );
    }
    if (inst.suspended) {
      findings.push(
        finding(
          CheckStatus.warn,
          `installation on ${inst.account} is suspended: its jobs get no runner`,
          `unsuspend it in ${inst.account}'s installation settings`,
        ),
      );
    }
  }
  const grant = needed.map((p) => `${p.name}: ${p.level}`).join(', ');
  const accounts = installations.map((i) => i.account);
  return checkFrom(
    DoctorCheckId.installations,
    findings,
    `${installations.length} ${installations.length === 1 ? 'installation' : 'installations'} (${accounts.join(', ')}) grant ${grant}`,
  );
}

/** The host app-manifest.json's webhook URL is left at: the App was created and the URL never set. */
const MANIFEST_PLACEHOLDER_HOST = /\.invalid$/i;
const LOOPBACK_HOST = /^(localhost|127(\.\d+){3}|\[::1\]|::1|0\.0\.0\.0)$/i;

/** A URL for comparison: lower-case scheme and host, no trailing slash, default port dropped. */
export function normaliseWebhookUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/+$/, '')}${u.search}`.toLowerCase();
  } catch {
    return url.trim().replace(/\/+$/, '').toLowerCase();
  }
}

export interface WebhookExpectation {
  /** The URL GitHub must deliver to, when it is known (the local server's /webhook, --webhook-url, the stack's). */
  readonly url: string | undefined;
  /** Where `url` came from, for the message: e.g. `this server`, `--webhook-url`. */
  readonly source: string;
}

/** Check 3: the App's webhook reaches this deployment, as JSON, with `workflow_job` subscribed. */
export function evaluateWebhook(
  hook: HookConfigFacts,
  events: readonly string[] | undefined,
  expected: WebhookExpectation,
): DoctorCheck {
  const findings: Finding[] = [];
  const details: string[] = [];
  const fixUrl = (url: string) => `set the App's webhook URL (App settings → General → Webhook URL) to ${url}`;
  const url = hook.url?.trim() ?? '';
  if (url === '') {
    findings.push(
      finding(
        CheckStatus.fail,
        'the App has no webhook URL: GitHub sends no workflow_job',
        fixUrl(expected.url ?? "this deployment's URL"),
      ),
    );
  } else {
    let host = '';
    try {
      host = new URL(url).hostname;
    } catch {
      findings.push(
        finding(
          CheckStatus.fail,
          `the App's webhook URL is not a URL: ${url}`,
          fixUrl(expected.url ?? "this deployment's URL"),
        ),
      );
    }
    if (MANIFEST_PLACEHOLDER_HOST.test(host)) {
      findings.push(
        finding(
          CheckStatus.fail,
          `the App's webhook URL is still the manifest's placeholder (${url})`,
          fixUrl(expected.url ?? "the stack's WebhookUrl output"),
        ),
      );
    } else if (expected.url !== undefined && normaliseWebhookUrl(url) !== normaliseWebhookUrl(expected.url)) {
      findings.push(
        finding(CheckStatus.fail, `the App delivers to another URL than ${expected.source}`, fixUrl(expected.url)),
      );
      details.push(`App's webhook URL: ${url}`, `expected (${expected.source}): ${expected.url}`);
    } else if (expected.url === undefined && LOOPBACK_HOST.test(host)) {
      findings.push(
        finding(
          CheckStatus.warn,
          `the App delivers to ${url}, which GitHub cannot reach`,
          'expose the local server (a tunnel) and set that public URL as the webhook URL',
        ),
      );
    }
  }
  if (hook.contentType !== undefined && hook.contentType !== 'json') {
    findings.push(
      finding(
        CheckStatus.fail,
        `the webhook's content type is ${hook.contentType}: deliveries are refused (400)`,
        "set the webhook's content type to application/json (App settings → General → Webhook)",
      ),
    );
  }
  if (!hook.secretSet) {
    findings.push(
      finding(
        CheckStatus.fail,
        "the App's webhook has no secret: every delivery is refused (401, unsigned)",
        `set the webhook secret in ${APP_SETTINGS} to the value of GITHUB_WEBHOOK_SECRET`,
      ),
    );
  }
  if (hook.insecureSsl === '1') {
    findings.push(
      finding(
        CheckStatus.warn,
        'SSL verification of deliveries is disabled',
        'enable SSL verification in the App settings',
      ),
    );
  }
  if (events === undefined) {
    findings.push(finding(CheckStatus.fail, "the App's events are unknown (GET /app did not answer)"));
  } else if (!events.includes('workflow_job')) {
    findings.push(
      finding(
        CheckStatus.fail,
        'the App is not subscribed to workflow_job: no job reaches the fleet',
        'subscribe the App to "Workflow job" (App settings → Permissions & events → Subscribe to events)',
      ),
    );
  }
  const check = checkFrom(
    DoctorCheckId.webhook,
    findings,
    expected.url === undefined
      ? `${url}, JSON, workflow_job subscribed`
      : `delivers workflow_job as JSON to ${expected.source}: ${url}`,
    expected.url === undefined
      ? ['not compared with an expected URL (jit-runners doctor --webhook-url URL compares)']
      : [],
  );
  return details.length === 0 ? check : { ...check, details: [...details, ...check.details] };
}
