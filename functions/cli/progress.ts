/**
 * Progress of long work (`npm run bench`, `npm run soak`, `npm run demo`): one line per phase with the
 * time since the start (`[  12.3 s] capacity: 50 jobs launched`), or, on a terminal, one line rewritten in
 * place with a bar for counted steps. It writes to stderr, so what a command prints on stdout (its
 * results, `--json`) stays clean; `--quiet` makes it print nothing.
 */

/** Where progress goes: `process.stderr`, or a fake in specs. */
export interface ProgressStream {
  write(text: string): unknown;
  /** A terminal: progress rewrites one line instead of adding lines. */
  isTTY?: boolean;
  /** Terminal width; the rewritten line is cut to fit. */
  columns?: number;
}

export interface ProgressOptions {
  /** Default `process.stderr`. */
  stream?: ProgressStream;
  /** `--quiet`: nothing at all is written. */
  quiet?: boolean;
  /** Milliseconds; default `performance.now`. */
  now?: () => number;
  /** Force line or terminal mode (default: the stream's `isTTY`). */
  tty?: boolean;
}

export interface Progress {
  /** A phase started or ended: a line of its own (terminal: the rewritten line). */
  phase(text: string): void;
  /**
   * `done` of `total` steps of the current phase: on a terminal the bar moves; in line mode a line is
   * written at each quarter (and at the end), so a log stays short.
   */
  step(text: string, done: number, total: number): void;
  /** Ends the progress: a terminal's rewritten line is closed with a newline, so later output starts clean. */
  end(text?: string): void;
}

const BAR_WIDTH = 20;
/** Erase the terminal line and go back to its start. */
const REWRITE = '\r\x1b[2K';

export function elapsedLabel(ms: number): string {
  return `[${(Math.max(0, ms) / 1000).toFixed(1).padStart(6)} s]`;
}

export function bar(done: number, total: number, width = BAR_WIDTH): string {
  const share = total > 0 ? Math.min(1, Math.max(0, done / total)) : 1;
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

export const quietProgress: Progress = { phase() {}, step() {}, end() {} };

export function createProgress(options: ProgressOptions = {}): Progress {
  if (options.quiet) return quietProgress;
  const stream = options.stream ?? process.stderr;
  const now = options.now ?? (() => performance.now());
  const tty = options.tty ?? stream.isTTY === true;
  const started = now();
  /** A terminal line is being rewritten (needs a newline before anything else is printed). */
  let open = false;
  /** The last quarter written per step text, in line mode. */
  let lastQuarter: { text: string; quarter: number } | undefined;

  const stamp = (text: string) => `${elapsedLabel(now() - started)} ${text}`;
  const fitWidth = (line: string) => {
    const columns = stream.columns;
    return columns !== undefined && columns > 1 && line.length > columns - 1 ? line.slice(0, columns - 1) : line;
  };
  const rewrite = (line: string) => {
    stream.write(`${REWRITE}${fitWidth(line)}`);
    open = true;
  };

  return {
    phase(text) {
      lastQuarter = undefined;
      if (tty) rewrite(stamp(text));
      else stream.write(`${stamp(text)}\n`);
    },
    step(text, done, total) {
      if (tty) {
        rewrite(stamp(`${text} ${bar(done, total)}`));
        return;
      }
      const quarter = total > 0 ? Math.floor((Math.min(done, total) / total) * 4) : 4;
      if (lastQuarter?.text === text && lastQuarter.quarter >= quarter) return;
      if (quarter === 0 && done !== total) return;
      lastQuarter = { text, quarter };
      stream.write(`${stamp(`${text} ${done}/${total}`)}\n`);
    },
    end(text) {
      if (text !== undefined) {
        if (tty) rewrite(stamp(text));
        else stream.write(`${stamp(text)}\n`);
      }
      if (open) stream.write('\n');
      open = false;
    },
  };
}
