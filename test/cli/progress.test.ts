import { describe, expect, it } from 'vitest';
import { bar, createProgress, elapsedLabel } from '../../functions/cli/progress.ts';

function fakes(options: { isTTY?: boolean; columns?: number } = {}) {
  let t = 1_000;
  const written: string[] = [];
  const stream = { write: (text: string) => written.push(text), ...options };
  return { stream, written, clock: { now: () => t, advance: (ms: number) => (t += ms) } };
}

describe('progress', () => {
  it('prints one line per phase with the time since the start', () => {
    const { stream, written, clock } = fakes();
    const progress = createProgress({ stream, now: clock.now });
    progress.phase('ack: warming up');
    clock.advance(12_345);
    progress.phase('capacity: 50 jobs launched');
    progress.end();
    expect(written).toEqual(['[   0.0 s] ack: warming up\n', '[  12.3 s] capacity: 50 jobs launched\n']);
  });

  it('prints counted steps at each quarter only when stderr is not a terminal', () => {
    const { stream, written, clock } = fakes();
    const progress = createProgress({ stream, now: clock.now });
    for (let done = 1; done <= 8; done++) progress.step('jobs', done, 8);
    expect(written).toEqual([
      '[   0.0 s] jobs 2/8\n',
      '[   0.0 s] jobs 4/8\n',
      '[   0.0 s] jobs 6/8\n',
      '[   0.0 s] jobs 8/8\n',
    ]);
  });

  it('rewrites one line with a bar on a terminal, and closes it at the end', () => {
    const { stream, written, clock } = fakes({ isTTY: true });
    const progress = createProgress({ stream, now: clock.now });
    progress.phase('load');
    clock.advance(1_500);
    progress.step('load: jobs', 5, 10);
    progress.end('load: done');
    expect(written).toEqual([
      '\r\x1b[2K[   0.0 s] load',
      '\r\x1b[2K[   1.5 s] load: jobs [##########..........] 5/10',
      '\r\x1b[2K[   1.5 s] load: done',
      '\n',
    ]);
    expect(written.filter((w) => w.includes('\n'))).toEqual(['\n']);
  });

  it('cuts the rewritten line to the terminal width', () => {
    const { stream, written } = fakes({ isTTY: true, columns: 20 });
    createProgress({ stream, now: () => 0 }).phase('a phase with a long description');
    expect(written[0]).toBe('\r\x1b[2K[   0.0 s] a phase ');
  });

  it('prints nothing at all when quiet', () => {
    for (const isTTY of [false, true]) {
      const { stream, written } = fakes({ isTTY });
      const progress = createProgress({ stream, quiet: true });
      progress.phase('x');
      progress.step('y', 1, 2);
      progress.end('z');
      expect(written).toEqual([]);
    }
  });

  it('formats the elapsed time and the bar', () => {
    expect(elapsedLabel(123_456)).toBe('[ 123.5 s]');
    expect(bar(0, 4, 4)).toBe('[....] 0/4');
    expect(bar(9, 4, 4)).toBe('[####] 9/4');
    expect(bar(0, 0, 4)).toBe('[####] 0/0');
  });
});
