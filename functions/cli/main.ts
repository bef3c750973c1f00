import { ConfigError } from '../domain/errors.ts';
import { UsageError } from './cli-args.ts';
import { runCli } from './run-cli.ts';

// The AWS SDK warns on every start that releases after January 2027 need Node 22. Local mode runs on
// Node 20 by design (README); keep the console for our own messages. Every other warning still prints.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : `${warning.name} ${warning.message}`;
  const type = typeof rest[0] === 'string' ? rest[0] : ((rest[0] as { type?: string } | undefined)?.type ?? '');
  if (`${type} ${text}`.includes('NodeVersionSupportWarning')) return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

runCli(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0 || process.argv[2] !== 'start') process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`jit-runners: ${error.message}\n`);
      process.exit(2);
    }
    if (error instanceof ConfigError) {
      // One line naming the variable, no stack trace (docs/design.md "Configuration").
      process.stderr.write(`jit-runners: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`jit-runners: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
