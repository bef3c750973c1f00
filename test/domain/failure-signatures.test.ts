import { describe, expect, it } from 'vitest';
import { classifyLogLine } from '../../functions/domain/classify-failure.ts';
import { FailureClass } from '../../functions/domain/failure-class.ts';
import {
  API_SIGNATURES,
  cloudWatchFilterPattern,
  FAILURE_SIGNATURES,
  LOG_FILTER_TERMS,
  LOG_SIGNATURES,
  MAX_FILTER_PATTERN_LENGTH,
} from '../../functions/domain/failure-signatures.ts';
import { MATCHING_LINES } from './runner-log-lines.ts';

/** Parses `?"a" ?"b"` back into its terms, the way CloudWatch reads an OR of quoted phrases. */
function parseFilterPattern(pattern: string): string[] {
  return [...pattern.matchAll(/\??"([^"]*)"/g)].map((m) => m[1] ?? '');
}

/** CloudWatch semantics for an OR of quoted terms: case-sensitive substring match of any term. */
function filterSelects(pattern: string, message: string): boolean {
  return parseFilterPattern(pattern).some((term) => message.includes(term));
}

describe('failure signatures', () => {
  it('have unique ids', () => {
    const ids = FAILURE_SIGNATURES.map((s) => s.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('only use known failure classes', () => {
    const classes = new Set<string>(Object.values(FailureClass));
    for (const s of FAILURE_SIGNATURES) expect(classes.has(s.class)).toBe(true);
  });

  it('mark log and api signatures with their source', () => {
    expect(LOG_SIGNATURES.every((s) => s.source === 'log')).toBe(true);
    expect(API_SIGNATURES.every((s) => s.source === 'api')).toBe(true);
  });

  it.each([
    ['Failed to get job message', 'metadata-missing'],
    ['breaker open', 'breaker-open'],
    ['is deprecated and cannot receive messages', 'version-deprecated'],
    ['Your runner version is out of date', 'version-deprecated'],
    ['The runner registration has been deleted', 'registration-gone'],
    ['The runner no longer exists on the server', 'registration-gone'],
    ['A session for this runner already exists', 'transient'],
    ['may be out of sync with the server time', 'config'],
    ['checksum mismatch for runner version', 'checksum-mismatch'],
  ])('cover the docs/design.md "Failure classes" string "%s" (%s)', (phrase, cls) => {
    const signature = LOG_SIGNATURES.find((s) => s.filterTerm === phrase);
    expect(signature?.class).toBe(cls);
  });

  it('end the API table with a catch-all, so every API error gets a class', () => {
    const last = API_SIGNATURES[API_SIGNATURES.length - 1];
    expect(last?.statuses).toBeUndefined();
    expect(last?.body).toBeUndefined();
    expect(last?.endpoint).toBeUndefined();
    expect(last?.when).toBeUndefined();
  });

  it('check breaker open before the broker BadRequest (breaker open alone means back off)', () => {
    const ids = LOG_SIGNATURES.map((s) => s.id);
    expect(ids.indexOf('breaker-open')).toBeLessThan(ids.indexOf('broker-bad-request'));
  });
});

describe('LOG_FILTER_TERMS', () => {
  it('has one entry per distinct phrase', () => {
    expect(new Set(LOG_FILTER_TERMS).size).toBe(LOG_FILTER_TERMS.length);
    expect(LOG_FILTER_TERMS.length).toBeGreaterThanOrEqual(7);
  });

  it.each(MATCHING_LINES)('selects every line the classifier acts on: $name', ({ line }) => {
    // The subscription filter runs before the classifier: a line it drops is a signal lost.
    expect(classifyLogLine(line)).toBeDefined();
    expect(LOG_FILTER_TERMS.some((term) => line.includes(term))).toBe(true);
  });
});

describe('cloudWatchFilterPattern', () => {
  it('builds an OR of quoted phrases from the default terms', () => {
    const pattern = cloudWatchFilterPattern();
    expect(pattern).toMatch(/^\?"[^"]+"( \?"[^"]+")+$/);
    expect(parseFilterPattern(pattern)).toEqual([...LOG_FILTER_TERMS]);
    expect(pattern.length).toBeLessThanOrEqual(MAX_FILTER_PATTERN_LENGTH);
  });

  it('selects a real metadata-missing line and not an unrelated one', () => {
    const pattern = cloudWatchFilterPattern();
    expect(
      filterSelects(
        pattern,
        '2026-11-23 05:40:01Z: Runner connect error: Failed to get job message. Request to https://broker.actions.githubusercontent.com/message failed with status: BadRequest. Error message Error: Bad Request. Retrying until reconnected.',
      ),
    ).toBe(true);
    expect(filterSelects(pattern, '2026-11-23 05:40:00Z: Listening for Jobs')).toBe(false);
  });

  it('builds the exact syntax for given terms', () => {
    expect(cloudWatchFilterPattern(['term one', 'term two'])).toBe('?"term one" ?"term two"');
  });

  it('quotes a single term without the OR marker', () => {
    expect(cloudWatchFilterPattern(['breaker open'])).toBe('"breaker open"');
  });

  it.each([
    ['no terms', []],
    ['a blank term', ['  ']],
    ['a term with a quote', ['say "hi"']],
    ['a term with a newline', ['a\nb']],
    ['a pattern over 1024 characters', ['x'.repeat(600), 'y'.repeat(600)]],
  ])('refuses %s', (_name, terms) => {
    expect(() => cloudWatchFilterPattern(terms)).toThrow(RangeError);
  });
});
