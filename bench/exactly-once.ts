/** Did every expected job get exactly one launch? */
export interface ExactlyOnceReport {
  expected: number;
  launched: number;
  /** Expected jobs with no launch. */
  lost: number[];
  /** Jobs launched more than once. */
  doubled: number[];
  /** Launches for jobs nobody expected (e.g. a duplicate answered as a new job). */
  unexpected: number[];
}

export function checkExactlyOnce(expected: Iterable<number>, launchedJobIds: Iterable<number>): ExactlyOnceReport {
  const want = new Set(expected);
  const counts = new Map<number, number>();
  let launched = 0;
  for (const id of launchedJobIds) {
    counts.set(id, (counts.get(id) ?? 0) + 1);
    launched++;
  }
  return {
    expected: want.size,
    launched,
    lost: [...want].filter((id) => !counts.has(id)),
    doubled: [...counts].filter(([, n]) => n > 1).map(([id]) => id),
    unexpected: [...counts.keys()].filter((id) => !want.has(id)),
  };
}

export function isExactlyOnce(report: ExactlyOnceReport): boolean {
  return report.lost.length === 0 && report.doubled.length === 0 && report.unexpected.length === 0;
}

/** `lost 2 (ids 5, 9), doubled 0` */
export function describeExactlyOnce(report: ExactlyOnceReport): string {
  const ids = (list: number[]) =>
    list.length ? ` (ids ${list.slice(0, 5).join(', ')}${list.length > 5 ? ', …' : ''})` : '';
  return `expected ${report.expected}, launched ${report.launched}, lost ${report.lost.length}${ids(report.lost)}, doubled ${report.doubled.length}${ids(report.doubled)}, unexpected ${report.unexpected.length}${ids(report.unexpected)}`;
}
