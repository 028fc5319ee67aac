// A CLI command: one file in src/cli/commands/, listed in src/cli/commands/index.ts.
export interface Command {
  /** Words that select the command, e.g. ['world', 'generate'] for `clips4 world generate`. */
  name: string[];
  /** One line for `clips4 --help`. */
  summary: string;
  /** Full help text (usage and options), printed by `clips4 <name> --help`. */
  usage: string;
  /** Runs with the arguments after the command words; returns the exit code. */
  run(argv: string[]): Promise<number>;
}

/** Thrown for bad command-line use: printed without a stack, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
