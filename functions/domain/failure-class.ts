/** Failure classes of docs/design.md "Failure classes". Classification itself lives in `classify-failure.ts`. */
export const FailureClass = {
  metadataMissing: 'metadata-missing',
  breakerOpen: 'breaker-open',
  versionDeprecated: 'version-deprecated',
  registrationGone: 'registration-gone',
  transient: 'transient',
  config: 'config',
  stolen: 'stolen',
  /** A launched runner was never seen working within `RUNNER_START_TIMEOUT_SECONDS`. */
  startTimeout: 'start-timeout',
  /**
   * The bootstrap refused the runner tarball it downloaded: its SHA-256 is not the one pinned in
   * `runner/checksums.json` (bootstrap exit 4). Every attempt downloads the same bytes, so the job fails at once.
   */
  checksumMismatch: 'checksum-mismatch',
} as const;
export type FailureClass = (typeof FailureClass)[keyof typeof FailureClass];
