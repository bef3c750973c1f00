/**
 * Exit codes of `runner/bootstrap.sh` (the table at the top of the script says the same). A code the
 * bootstrap does not own is the runner's own exit code, passed through.
 */
export const BootstrapExit = {
  /** A JR_* input is missing or malformed, or config.sh failed (regular mode). */
  badInput: 2,
  /**
   * No usable SHA-256 for the tarball (none in `runner/checksums.json`, or a handed `JR_RUNNER_SHA256_*` that is
   * not 64 hex digits): the bootstrap will not run it unverified.
   */
  noChecksum: 3,
  /** The downloaded tarball's SHA-256 is not the pinned one. */
  checksumMismatch: 4,
  /** The hand-off was not readable within `JR_HANDOFF_WAIT_SECONDS`, was empty, or is not a JIT config. */
  handoffUnreadable: 5,
  /** The tarball download failed. */
  downloadFailed: 6,
} as const;
export type BootstrapExit = (typeof BootstrapExit)[keyof typeof BootstrapExit];
