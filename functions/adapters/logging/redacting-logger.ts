import type { LogFields, Logger } from '../../ports/runtime.ts';

export const REDACTED = '[REDACTED]';

/** Field names whose values are secrets whatever they contain. */
const SECRET_KEY = /(token|secret|password|private_?key|privatekey|jit_?config|jitconfig|credential|authorization)/i;

/**
 * Runs of base64 (standard or URL-safe) this long are redacted whatever they are. Why: a JIT config is
 * base64 JSON of a kilobyte or more that no other pattern matches, and one that was minted by another
 * process (or evicted from the registry) is still caught. Why 100: hex digests (64 for SHA-256), ids,
 * ARNs and names never come near it without a character outside the alphabet.
 */
export const LONG_BASE64 = /[A-Za-z0-9+/_-]{100,}={0,2}/g;

/** Known secret formats (GitHub tokens, PEM blocks, JWTs, long base64), redacted even when nobody registered them. */
const SECRET_PATTERNS: readonly RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /\b(gh[psuor]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g,
  LONG_BASE64,
];

/**
 * Minted secrets kept for redaction, newest last. Why a bound: a long-lived process (the local server, a
 * warm Lambda) mints a JIT config per job and tokens every hour; every log line is checked against each
 * value kept. The oldest go first: installation and registration tokens live an hour, a JIT config is
 * single-use, and the long-base64 pattern still covers evicted JIT configs.
 */
export const MAX_MINTED_SECRETS = 2_000;

/** Holds the secret values known at run time (App key, webhook secrets, minted tokens, JIT configs). */
export class SecretRegistry {
  /** Configured secrets: kept for the life of the process. */
  private readonly values = new Set<string>();
  /** Minted secrets, oldest first (a Set keeps insertion order). */
  private readonly minted = new Set<string>();
  add(value: string | undefined): void {
    // Very short values would redact ordinary words; secrets we handle are all long.
    if (value && value.length >= 8) this.values.add(value);
  }
  /** A secret minted at run time (JIT config, registration token, installation token): kept, bounded. */
  addMinted(value: string | undefined): void {
    if (!value || value.length < 8 || this.values.has(value)) return;
    this.minted.delete(value);
    this.minted.add(value);
    if (this.minted.size > MAX_MINTED_SECRETS) {
      const oldest = this.minted.values().next().value;
      if (oldest !== undefined) this.minted.delete(oldest);
    }
  }
  redact(text: string): string {
    let out = text;
    // Registered values first: a value the patterns would cut in part is then removed whole.
    for (const set of [this.values, this.minted]) {
      for (const value of set) if (out.includes(value)) out = out.split(value).join(REDACTED);
    }
    for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, REDACTED);
    return out;
  }
  get size(): number {
    return this.values.size + this.minted.size;
  }
}

function scrub(value: unknown, secrets: SecretRegistry, depth: number): unknown {
  if (typeof value === 'string') return secrets.redact(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) {
    return { name: value.name, message: secrets.redact(value.message) };
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null ? REDACTED : scrub(v, secrets, depth + 1);
  }
  return out;
}

/** Wraps any logger so neither messages nor fields can carry a secret. */
export function createRedactingLogger(inner: Logger, secrets: SecretRegistry): Logger {
  const wrap =
    (level: keyof Logger) =>
    (message: string, fields?: LogFields): void => {
      const safeFields = fields ? (scrub(fields, secrets, 0) as LogFields) : undefined;
      inner[level](secrets.redact(message), safeFields);
    };
  return { debug: wrap('debug'), info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}
