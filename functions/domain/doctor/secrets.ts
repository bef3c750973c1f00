import { CheckStatus, checkFrom, type DoctorCheck, DoctorCheckId, type Finding, finding } from '../doctor-check.ts';

/**
 * The value the stack's secrets hold until someone stores the real one: Secrets Manager's generated
 * password of cdk/constructs/app-secrets.ts (32 characters, letters and digits, no punctuation).
 */
const GENERATED_PLACEHOLDER = /^[A-Za-z0-9]{32}$/;
/** Values people leave in templates and examples. */
const OBVIOUS_PLACEHOLDER =
  /^(changeme|change-me|change_me|replace-?me|placeholder|secret|password|test|todo|xxx+|example|dummy|none|null|undefined|<.*>|\$\{.*\}|your[-_ ]?.*)$/i;
/** GitHub's advice is a random string of high entropy; shorter than this is guessable. */
const MIN_SECRET_LENGTH = 16;

export interface SecretFacts {
  /** The App private key as configured (never printed). Undefined: none configured. */
  readonly privateKey: string | undefined;
  /** Where it comes from, for the fix: a variable or the stack's secret. */
  readonly privateKeySource: string;
  /** The webhook secrets as configured (never printed). */
  readonly webhookSecrets: readonly string[];
  readonly webhookSecretSource: string;
  /**
   * The App's newest webhook delivery (`GET /app/hook/deliveries`): a 401 there means GitHub signs with
   * another secret than ours. Undefined: not read, or none yet.
   */
  readonly newestDelivery?: { readonly guid: string; readonly deliveredAt: string; readonly statusCode: number };
}

const isPem = (key: string) => /-----BEGIN (RSA )?PRIVATE KEY-----/.test(key);
const looksGenerated = (value: string) =>
  GENERATED_PLACEHOLDER.test(value) && /[a-z]/.test(value) && /[A-Z]/.test(value) && /\d/.test(value);

/**
 * Check 4: neither the private key nor the webhook secret is a placeholder. The stack creates both
 * secrets with a generated value (never a real one in a template), so a fresh deploy has a private key
 * that is no PEM at all and a webhook secret of the same 32-character shape.
 */
export function evaluateSecrets(facts: SecretFacts): DoctorCheck {
  const findings: Finding[] = [];
  const key = facts.privateKey?.trim();
  let keyPlaceholder = false;
  if (key === undefined || key === '') {
    findings.push(
      finding(
        CheckStatus.fail,
        'no App private key is configured',
        `store the App's PEM key in ${facts.privateKeySource}`,
      ),
    );
  } else if (!isPem(key)) {
    keyPlaceholder = looksGenerated(key);
    findings.push(
      finding(
        CheckStatus.fail,
        keyPlaceholder
          ? `the App private key is still the stack's generated placeholder (${facts.privateKeySource})`
          : `the App private key is not a PEM key (${facts.privateKeySource})`,
        `store the App's .pem in ${facts.privateKeySource} (docs/deploy.md, step 4)`,
      ),
    );
  }
  const secrets = facts.webhookSecrets.map((s) => s.trim());
  if (secrets.length === 0 || secrets.every((s) => s === '')) {
    findings.push(
      finding(
        CheckStatus.fail,
        'no webhook secret is configured: every delivery is refused',
        `set the App's webhook secret in ${facts.webhookSecretSource}`,
      ),
    );
  }
  secrets.forEach((secret, index) => {
    const which = secrets.length > 1 ? `webhook secret ${index + 1} of ${secrets.length}` : 'the webhook secret';
    const fix = `store the App's webhook secret in ${facts.webhookSecretSource} (a random value, e.g. openssl rand -hex 32)`;
    if (OBVIOUS_PLACEHOLDER.test(secret))
      findings.push(finding(CheckStatus.fail, `${which} is a placeholder value`, fix));
    else if (looksGenerated(secret))
      findings.push(
        finding(
          keyPlaceholder ? CheckStatus.fail : CheckStatus.warn,
          `${which} has the shape of the stack's generated placeholder`,
          fix,
        ),
      );
    else if (secret.length > 0 && secret.length < MIN_SECRET_LENGTH)
      findings.push(finding(CheckStatus.warn, `${which} is short (${secret.length} characters)`, fix));
  });
  const newest = facts.newestDelivery;
  if (newest?.statusCode === 401) {
    findings.push(
      finding(
        CheckStatus.fail,
        `the App's newest delivery (${newest.guid}, ${newest.deliveredAt}) was refused with 401: GitHub signs with another secret`,
        `make the App's webhook secret and ${facts.webhookSecretSource} the same value`,
      ),
    );
  }
  return checkFrom(
    DoctorCheckId.secrets,
    findings,
    `private key and ${secrets.length > 1 ? `${secrets.length} webhook secrets` : 'webhook secret'} are set and no placeholder`,
  );
}
