import { describe, expect, it } from 'vitest';
import { failureNote, launchNote, parseFailureNote, parseLaunchNote } from '../../functions/domain/job-notes.ts';

describe('job notes', () => {
  it('reads back the runner and version of a launch note', () => {
    const note = launchNote('jr-7-2', 55, '2.331.0', 'rec-jr-7-2');
    expect(note).toBe('runner jr-7-2 (id 55, v2.331.0) launch rec-jr-7-2');
    expect(parseLaunchNote(note)).toEqual({ runnerName: 'jr-7-2', version: '2.331.0' });
    expect(parseLaunchNote(`${note} (reusing runner name jr-7-2 of an interrupted attempt)`)?.version).toBe('2.331.0');
  });

  it('reads back the class and runner of a failure note, with or without a signature', () => {
    const withSignature = failureNote('version-deprecated', 'runner-version', 'jr-7-2', 'refused → next attempt');
    expect(withSignature).toBe('version-deprecated (runner-version) on runner jr-7-2: refused → next attempt');
    expect(parseFailureNote(withSignature)).toEqual({ failureClass: 'version-deprecated', runnerName: 'jr-7-2' });
    const without = failureNote('start-timeout', undefined, 'jr-8-1', 'gave up');
    expect(without).toBe('start-timeout on runner jr-8-1: gave up');
    expect(parseFailureNote(without)).toEqual({ failureClass: 'start-timeout', runnerName: 'jr-8-1' });
  });

  it('reads nothing from other notes', () => {
    expect(parseLaunchNote('recorded from webhook')).toBeUndefined();
    expect(parseFailureNote('recorded from webhook')).toBeUndefined();
  });
});
