/** `REPO_ALLOWLIST`: entries `owner/repo` or `owner/*`, case-insensitive; an empty list serves every repository. */
export type Allowlist = readonly string[];

const ENTRY = /^[A-Za-z0-9_.-]+\/(\*|[A-Za-z0-9_.-]+)$/;

export function isValidAllowlistEntry(entry: string): boolean {
  return ENTRY.test(entry);
}

const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/** One named repository, `owner/repo` (no wildcard), e.g. an entry of `DISCOVER_QUEUED_JOBS`. */
export function isRepositoryEntry(entry: string): boolean {
  return REPOSITORY.test(entry);
}

export function isAllowed(allowlist: Allowlist, owner: string, repo: string): boolean {
  if (allowlist.length === 0) return true;
  const o = owner.toLowerCase();
  const full = `${o}/${repo.toLowerCase()}`;
  return allowlist.some((entry) => {
    const e = entry.toLowerCase();
    return e === full || e === `${o}/*`;
  });
}
