import { readFileSync } from 'node:fs';
import { parseConfig } from '../config/config.ts';
import { ConfigError } from '../domain/errors.ts';

// The AWS SDK warns on every start that releases after January 2027 need Node 22. Local mode runs on
// Node 20 by design (README); keep the console for our own messages. Every other warning still prints.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : `${warning.name} ${warning.message}`;
  const type = typeof rest[0] === 'string' ? rest[0] : ((rest[0] as { type?: string } | undefined)?.type ?? '');
  if (`${type} ${text}`.includes('NodeVersionSupportWarning')) return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

const USAGE = `usage: jit-runners <command>

  start                          run the provisioner locally (sandbox without GITHUB_APP_ID)
  demo                           drive the running sandbox: one job from queued to completed
  baseline ensure <owner/repo|org>  register a baseline runner for a scope ahead of time
  baseline list                  show baseline records
  job show <id>                  show a job and its history

Configuration comes from environment variables; see README.md.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 1;
  }
  const config = parseConfig({ env: process.env, readFile: (p) => readFileSync(p, 'utf8') }, 'local');
  switch (command) {
    case 'start': {
      const { runStart } = await import('./start.ts');
      return runStart(config);
    }
    case 'demo': {
      const { runDemo } = await import('./demo.ts');
      return runDemo(config, rest);
    }
    case 'baseline': {
      const { runBaseline } = await import('./baseline.ts');
      return runBaseline(config, rest);
    }
    case 'job': {
      const { runJob } = await import('./job.ts');
      return runJob(config, rest);
    }
    default:
      process.stderr.write(`jit-runners: unknown command ${command}\n${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0 || process.argv[2] !== 'start') process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof ConfigError) {
      // One line naming the variable, no stack trace (DESIGN §6).
      process.stderr.write(`jit-runners: invalid configuration: ${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`jit-runners: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
