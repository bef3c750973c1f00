/** What a phase adds to the report: figures (JSON keys), context, and anything that must fail the run. */
export interface PhaseResult {
  /** Flat figures, e.g. `ack_p99_ms`; nested maps for per-function figures (`bundle_kb.webhook`). */
  figures: Record<string, number | Record<string, number>>;
  /** Sample sizes, settings and breakdowns, printed and kept in the JSON under `details.<phase>`. */
  details: Record<string, unknown>;
  /** Lost or doubled jobs and other correctness failures: any entry makes the bench exit non-zero. */
  failures: string[];
}
