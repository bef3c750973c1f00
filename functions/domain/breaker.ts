/** The `BREAKER#<scope>` item: consecutive failures and the open window. */
export interface Breaker {
  scopeKey: string;
  consecutiveFailures: number;
  /** How many times it opened in a row without a success (drives exponential backoff). */
  opens: number;
  openUntil: number;
  reason?: string;
  updatedAt: number;
  version: number;
}
