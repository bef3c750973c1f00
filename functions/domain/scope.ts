/** Where runners are registered: one repository, or one organization (docs/design.md "Configuration" `RUNNER_SCOPE`). */
export const ScopeKind = { repo: 'repo', org: 'org' } as const;
export type ScopeKind = (typeof ScopeKind)[keyof typeof ScopeKind];

export type Scope = { kind: 'repo'; owner: string; repo: string } | { kind: 'org'; org: string };

/** Stable key used in store items and caches: `owner/repo` or `org`, lower-cased (GitHub names are case-insensitive). */
export function scopeKey(scope: Scope): string {
  switch (scope.kind) {
    case 'repo':
      return `${scope.owner}/${scope.repo}`.toLowerCase();
    case 'org':
      return scope.org.toLowerCase();
  }
}

export function scopeForRepository(kind: ScopeKind, owner: string, repo: string): Scope {
  switch (kind) {
    case 'repo':
      return { kind: 'repo', owner, repo };
    case 'org':
      return { kind: 'org', org: owner };
  }
}

/** Parses `owner/repo` (repo scope) or `org` (org scope) as typed by a person on the command line. */
export function parseScope(text: string): Scope | undefined {
  const parts = text.trim().split('/');
  const valid = (s: string | undefined): s is string => !!s && /^[A-Za-z0-9_.-]+$/.test(s);
  if (parts.length === 2 && valid(parts[0]) && valid(parts[1])) {
    return { kind: 'repo', owner: parts[0], repo: parts[1] };
  }
  if (parts.length === 1 && valid(parts[0])) return { kind: 'org', org: parts[0] };
  return undefined;
}

/** URL given to `config.sh --url` for a regular runner of this scope. */
export function scopeUrl(serverUrl: string, scope: Scope): string {
  const base = serverUrl.replace(/\/+$/, '');
  switch (scope.kind) {
    case 'repo':
      return `${base}/${scope.owner}/${scope.repo}`;
    case 'org':
      return `${base}/${scope.org}`;
  }
}
