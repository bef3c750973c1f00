import type { LogFields, Logger } from '../../functions/ports/runtime.ts';

/** Keeps every log line as the JSON a real sink would receive, so tests can search it for secrets. */
export class CaptureLogger implements Logger {
  readonly lines: string[] = [];
  /** When each line was written (epoch ms), for a dump that follows a run in time. */
  readonly times: number[] = [];
  private push(level: string, message: string, fields?: LogFields) {
    this.lines.push(JSON.stringify({ level, message, ...fields }));
    this.times.push(Date.now());
  }
  debug(message: string, fields?: LogFields) {
    this.push('DEBUG', message, fields);
  }
  info(message: string, fields?: LogFields) {
    this.push('INFO', message, fields);
  }
  warn(message: string, fields?: LogFields) {
    this.push('WARN', message, fields);
  }
  error(message: string, fields?: LogFields) {
    this.push('ERROR', message, fields);
  }
  text(): string {
    return this.lines.join('\n');
  }
  /** Every line prefixed with its time (ISO), for a failure dump. */
  timed(): string {
    return this.lines.map((line, i) => `${new Date(this.times[i] ?? 0).toISOString()} ${line}`).join('\n');
  }
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
