import type { LogFields, Logger } from '../../ports/runtime.ts';

const LEVELS = { DEBUG: 10, INFO: 20, WARN: 30, ERROR: 40 } as const;
export type LogLevel = keyof typeof LEVELS;

export interface ConsoleLoggerOptions {
  level: LogLevel;
  /** One JSON object per line (machines) or `time level message key=value` (people). */
  format: 'json' | 'pretty';
  write?: (line: string) => void;
  now?: () => Date;
}

/** The local-mode logger. Wrap it with `createRedactingLogger`; it does no redaction itself. */
export function createConsoleLogger(options: ConsoleLoggerOptions): Logger {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const now = options.now ?? (() => new Date());
  const min = LEVELS[options.level];
  const emit = (level: LogLevel, message: string, fields?: LogFields) => {
    if (LEVELS[level] < min) return;
    if (options.format === 'json') {
      write(JSON.stringify({ time: now().toISOString(), level, message, ...fields }));
      return;
    }
    const extra = fields
      ? Object.entries(fields)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
          .join(' ')
      : '';
    write(`${now().toISOString().slice(11, 23)} ${level.padEnd(5)} ${message}${extra ? ` ${extra}` : ''}`);
  };
  return {
    debug: (m, f) => emit('DEBUG', m, f),
    info: (m, f) => emit('INFO', m, f),
    warn: (m, f) => emit('WARN', m, f),
    error: (m, f) => emit('ERROR', m, f),
  };
}
