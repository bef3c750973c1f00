import { type ParseArgsConfig, parseArgs } from 'node:util';

/** A command line the CLI cannot run: one line on stderr, exit code 2, no stack trace. */
export class UsageError extends Error {}

type Options = NonNullable<ParseArgsConfig['options']>;

/** One command's grammar: its options (besides `--help`) and how many positional arguments it takes. */
export interface CommandGrammar {
  /** Shown in error messages: `jit-runners <name>: …`. */
  name: string;
  options?: Options;
  maxPositionals: number;
}

export interface ParsedCommand {
  /** `--help` or `-h` anywhere before a `--`: print usage, do nothing else. */
  help: boolean;
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** `--help` wins over every other argument, so `start --bogus --help` still only prints usage. */
export function asksForHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/**
 * node:util parseArgs in strict mode, with its errors turned into one short line (its own messages
 * carry a second sentence of advice about `--`).
 */
export function parseCommand(grammar: CommandGrammar, args: readonly string[]): ParsedCommand {
  if (asksForHelp(args)) return { help: true, values: {}, positionals: [] };
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...grammar.options },
      strict: true,
      allowPositionals: true,
    }) as typeof parsed;
  } catch (error) {
    const first = (error as Error).message.split(/\.\s/)[0]?.replace(/\.$/, '') ?? 'bad arguments';
    throw new UsageError(`${grammar.name}: ${first.charAt(0).toLowerCase()}${first.slice(1)}`);
  }
  const extra = parsed.positionals[grammar.maxPositionals];
  if (extra !== undefined) throw new UsageError(`${grammar.name}: unexpected argument '${extra}'`);
  return { help: false, values: parsed.values, positionals: parsed.positionals };
}
