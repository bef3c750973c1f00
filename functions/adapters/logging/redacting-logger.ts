import type { LogFields, Logger } from '../../ports/runtime.ts';

export const REDACTED = '[REDACTED]';

/** Field names whose values are secrets whatever they contain. */
const SECRET_KEY = /(token|secret|password|private_?key|privatekey|jit_?config|jitconfig|credential|authorization)/i;

/** Known secret formats (GitHub tokens, PEM blocks, JWTs), redacted even when nobody registered them. */
const SECRET_PATTERNS: readonly RegExp[] = [
  /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
  /\b(gh[psuor]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})\b/g,
  /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g,
];

/** Holds the secret values known at run time (webhook secrets, minted tokens, JIT configs). */
export class SecretRegistry {
  private readonly values = new Set<string>();
  add(value: string | undefined): void {
    // Very short values would redact ordinary words; secrets we handle are all long.
    if (value && value.length >= 8) this.values.add(value);
  }
  redact(text: string): string {
    let out = text;
    for (const pattern of SECRET_PATTERNS) out = out.replace(pattern, REDACTED);
    for (const value of this.values) if (out.includes(value)) out = out.split(value).join(REDACTED);
    return out;
  }
  get size(): number {
    return this.values.size;
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
