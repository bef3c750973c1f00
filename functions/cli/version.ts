import type { VersionStatus } from '../use-cases/admin/version-status.ts';
import { wrapUnder } from './fleet-format.ts';

// Wrapped like every other command: fleet-format's `wrapUnder`, within the CLI's 100 columns (long URLs are
// never broken).
const LABEL = 16;

/** One `  label:  value` row, the value wrapped under itself. */
function row(label: string, value: string): string {
  return wrapUnder(`  ${`${label}:`.padEnd(LABEL)}`, value);
}

/** A list entry under a row: `    2.331.0  reason`, the reason wrapped under itself. */
function entry(version: string, text: string): string {
  return wrapUnder(`    ${version.padEnd(10)} `, text);
}

const day = (days: number) => (Math.abs(days) === 1 ? 'day' : 'days');

function cutoffText(s: VersionStatus): string {
  if (s.cutoffAt === undefined || s.daysToCutoff === undefined) {
    return s.releases.read ? 'none yet (no newer release is published)' : 'unknown (the releases were not read)';
  }
  const when =
    s.daysToCutoff >= 0
      ? `in ${s.daysToCutoff} ${day(s.daysToCutoff)}`
      : `${-s.daysToCutoff} ${day(s.daysToCutoff)} ago: GitHub no longer serves it`;
  return `${s.cutoffAt} (${when})${s.cutoffAlarm ? " ALARM: within 7 days of GitHub's cut-off" : ''}`;
}

/** `jit-runners version status` as people read it, within the CLI's 100 columns ({@link wrapUnder}). */
export function formatVersionStatus(s: VersionStatus): string {
  const lines: string[] = [];
  if (s.mode === 'pinned') {
    lines.push(`runner version: pinned ${s.pin ?? s.current.version}`);
    lines.push(row('tracking', 'none: RUNNER_VERSION is an exact pin, so nothing is tracked, adopted or rolled back'));
    lines.push(row('cut-off', cutoffText(s)));
  } else {
    lines.push(
      `runner version: auto (soak ${s.soakDays} ${day(s.soakDays)}, canary ${s.canaryPercent}% of jobs, floor ${s.floor})`,
    );
    lines.push(
      row(
        'current',
        `${s.current.version} ${s.current.adoptedAt ? `(adopted ${s.current.adoptedAt})` : '(the configured start version; nothing adopted yet)'}`,
      ),
    );
    lines.push(row('previous', s.previous ? `${s.previous.version} (adopted ${s.previous.adoptedAt})` : 'none'));
    lines.push(
      row(
        'canary',
        s.canary
          ? `${s.canary.version} on ${s.canary.share}% of jobs since ${s.canary.since}, promoted by ${s.canary.promotedBy} at the latest unless rolled back`
          : 'none',
      ),
    );
    lines.push(
      row(
        'candidate',
        s.candidate
          ? `${s.candidate.version}, adoptable from ${s.candidate.adoptableAt}`
          : s.canary
            ? 'none while the canary runs'
            : s.releases.read
              ? 'none (no eligible newer release)'
              : 'unknown (the releases were not read)',
      ),
    );
    const next =
      s.nextAdoptionAt === undefined
        ? s.canary
          ? 'after the canary ends'
          : 'none scheduled'
        : s.nextAdoptionAt <= s.at
          ? `due now (adoptable since ${s.nextAdoptionAt}): the next reconcile pass adopts ${s.candidate?.version ?? 'it'}`
          : s.nextAdoptionAt;
    lines.push(row('next adoption', next));
    lines.push(row('cut-off', cutoffText(s)));
    if (s.decision) lines.push(row('next pass', `${s.decision.kind}: ${s.decision.reason}`));
  }
  if (s.bad.length === 0) lines.push(row('bad releases', 'none'));
  else {
    lines.push(row('bad releases', `${s.bad.length} (never adopted again)`));
    for (const b of s.bad) lines.push(entry(b.version, `marked ${b.at}: ${b.reason}`));
  }
  if (s.skipped.length > 0) {
    lines.push(row('skipped', `${s.skipped.length} newer ${s.skipped.length === 1 ? 'release' : 'releases'}`));
    const bad = new Set(s.bad.map((b) => b.version));
    for (const k of s.skipped) lines.push(entry(k.version, bad.has(k.version) ? 'marked bad (above)' : k.reason));
  }
  lines.push(
    row(
      'releases',
      s.releases.read
        ? `${s.releases.count} read from ${s.releasesUrl}`
        : `not read (${s.releases.reason}); showing the stored record only`,
    ),
  );
  if (s.pools.length > 1 || s.pools.some((p) => !p.tracked && s.mode === 'auto')) {
    lines.push(
      row('pools', s.pools.map((p) => `${p.name} ${p.version}${p.tracked ? ' (tracked)' : ' (pinned)'}`).join(', ')),
    );
  }
  return `${lines.join('\n')}\n`;
}
