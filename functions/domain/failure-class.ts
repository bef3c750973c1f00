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
} as const;
export type FailureClass = (typeof FailureClass)[keyof typeof FailureClass];
