import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/** A line longer than this is emitted in pieces rather than buffered without bound. */
const MAX_LINE_LENGTH = 64 * 1024;
/** Bytes read per file per poll, so one huge log cannot stall the others. */
const MAX_READ_BYTES = 1024 * 1024;

/**
 * Splits a byte stream into lines: keeps a partial last line until its newline arrives (or `flush`),
 * decodes UTF-8 across chunk borders, and drops the `\r` of CRLF.
 */
export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private partial = '';

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Buffer | string): void {
    this.take(typeof chunk === 'string' ? chunk : this.decoder.write(chunk));
  }

  flush(): void {
    this.take(this.decoder.end());
    if (this.partial.length > 0) {
      const rest = this.partial;
      this.partial = '';
      this.emit(stripCr(rest));
    }
  }

  private take(text: string): void {
    if (text.length === 0) return;
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.emit(stripCr(line));
    while (this.partial.length > MAX_LINE_LENGTH) {
      this.emit(this.partial.slice(0, MAX_LINE_LENGTH));
      this.partial = this.partial.slice(MAX_LINE_LENGTH);
    }
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}

interface TailedFile {
  offset: number;
  splitter: LineSplitter;
}

/**
 * Follows every `*.log` file in one directory (the runner's `_diag`), including files created after
 * the tail started. Polling rather than fs.watch: inotify misses writes on some filesystems (overlay,
 * network mounts) and the runner rotates files by creating new ones, which a poll of the directory sees.
 */
export class DirectoryTail {
  private readonly files = new Map<string, TailedFile>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly dir: string,
    private readonly emit: (line: string, file: string) => void,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  start(intervalMs: number): void {
    if (this.timer || this.stopped) return;
    this.timer = setInterval(() => void this.poll(), intervalMs);
    this.timer.unref();
    void this.poll();
  }

  /** Reads whatever is new; concurrent calls share one pass so lines are never emitted twice. */
  poll(): Promise<void> {
    if (!this.running) {
      this.running = this.pollOnce()
        .catch(this.onError)
        .finally(() => {
          this.running = undefined;
        });
    }
    return this.running;
  }

  /** Stops polling after one last read, then flushes partial lines. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.stopped) return;
    // A pass already under way may have started before the last write: wait for it, then read again.
    await this.running;
    await this.poll();
    this.stopped = true;
    for (const file of this.files.values()) file.splitter.flush();
  }

  private async pollOnce(): Promise<void> {
    if (this.stopped) return;
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => n.endsWith('.log')).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // the runner has not created it yet
      throw error;
    }
    for (const name of names) await this.readNew(name);
  }

  private async readNew(name: string): Promise<void> {
    const path = join(this.dir, name);
    let tailed = this.files.get(name);
    if (!tailed) {
      tailed = { offset: 0, splitter: new LineSplitter((line) => this.emit(line, name)) };
      this.files.set(name, tailed);
    }
    let size: number;
    try {
      const info = await stat(path);
      if (!info.isFile()) return;
      size = info.size;
    } catch {
      return; // deleted between readdir and stat
    }
    if (size < tailed.offset) tailed.offset = 0; // truncated: start over
    if (size === tailed.offset) return;
    const handle = await open(path, 'r');
    try {
      const length = Math.min(size - tailed.offset, MAX_READ_BYTES);
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, tailed.offset);
      tailed.offset += bytesRead;
      tailed.splitter.push(buffer.subarray(0, bytesRead));
    } finally {
      await handle.close();
    }
  }
}
