/** Normalises a label list: trimmed, lower-cased, de-duplicated, empty entries dropped. */
export function normaliseLabels(labels: readonly string[]): string[] {
  const out = new Set<string>();
  for (const label of labels) {
    const l = label.trim().toLowerCase();
    if (l) out.add(l);
  }
  return [...out];
}

/**
 * A job is served when it asks for at least one label and every label it asks for is in the
 * fleet's set, compared case-insensitively (GitHub matches runner labels case-insensitively).
 */
export function isServed(jobLabels: readonly string[], servedLabels: readonly string[]): boolean {
  const wanted = normaliseLabels(jobLabels);
  if (wanted.length === 0) return false;
  const served = new Set(normaliseLabels(servedLabels));
  return wanted.every((l) => served.has(l));
}

/** Parses a comma list such as `RUNNER_LABELS`. */
export function parseLabelList(text: string): string[] {
  return normaliseLabels(text.split(','));
}
