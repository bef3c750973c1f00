import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DirectoryTail, LineSplitter } from '../../../functions/adapters/local/log-tail.ts';
import { makeSandbox, type Sandbox } from './fake-runner.ts';

describe('LineSplitter', () => {
  const split = (chunks: (string | Buffer)[], flush = true) => {
    const lines: string[] = [];
    const splitter = new LineSplitter((line) => lines.push(line));
    for (const chunk of chunks) splitter.push(chunk);
    if (flush) splitter.flush();
    return lines;
  };

  it('emits complete lines and holds a partial line until its newline arrives', () => {
    expect(split(['one\ntw', 'o\nthr'], false)).toEqual(['one', 'two']);
    expect(split(['one\ntw', 'o\nthr'])).toEqual(['one', 'two', 'thr']);
  });

  it('drops the carriage return of CRLF line ends', () => {
    expect(split(['a\r\nb\r\n'])).toEqual(['a', 'b']);
  });

  it('decodes a UTF-8 character split across chunks', () => {
    const bytes = Buffer.from('café ✓\n', 'utf8');
    expect(split([bytes.subarray(0, 4), bytes.subarray(4, 7), bytes.subarray(7)])).toEqual(['café ✓']);
  });

  it('keeps empty lines and emits nothing for an empty stream', () => {
    expect(split(['a\n\nb\n'])).toEqual(['a', '', 'b']);
    expect(split([])).toEqual([]);
  });

  it('cuts a line that never ends into bounded pieces', () => {
    const lines = split(['x'.repeat(200 * 1024)], false);
    expect(lines.length).toBe(3);
    expect(lines.every((l) => l.length === 64 * 1024)).toBe(true);
  });
});

describe('DirectoryTail', () => {
  let sandbox: Sandbox;
  let dir: string;
  let seen: string[];
  let tail: DirectoryTail;

  beforeEach(async () => {
    sandbox = await makeSandbox();
    dir = join(sandbox.root, '_diag');
    seen = [];
    tail = new DirectoryTail(dir, (line, file) => seen.push(`${file}: ${line}`));
  });

  afterEach(async () => {
    await tail.stop();
    await sandbox.cleanup();
  });

  it('waits for the directory to appear, then follows every .log file and ignores others', async () => {
    await tail.poll();
    expect(seen).toEqual([]);
    await mkdir(dir);
    await writeFile(join(dir, 'Runner_1.log'), 'r1\n');
    await writeFile(join(dir, 'notes.txt'), 'ignored\n');
    await tail.poll();
    await appendFile(join(dir, 'Runner_1.log'), 'r2\npart');
    await writeFile(join(dir, 'Worker_1.log'), 'w1\n');
    await tail.poll();
    expect(seen).toEqual(['Runner_1.log: r1', 'Runner_1.log: r2', 'Worker_1.log: w1']);
    await tail.stop();
    expect(seen.at(-1)).toBe('Runner_1.log: part');
  });

  it('never emits a line twice when polls overlap', async () => {
    await mkdir(dir);
    await writeFile(join(dir, 'Runner_1.log'), 'once\n');
    await Promise.all([tail.poll(), tail.poll(), tail.poll()]);
    await tail.poll();
    expect(seen).toEqual(['Runner_1.log: once']);
  });

  it('starts over when a file is truncated', async () => {
    await mkdir(dir);
    await writeFile(join(dir, 'Runner_1.log'), 'first long line\n');
    await tail.poll();
    await writeFile(join(dir, 'Runner_1.log'), 'new\n');
    await tail.poll();
    expect(seen).toEqual(['Runner_1.log: first long line', 'Runner_1.log: new']);
  });
});
