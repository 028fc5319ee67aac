#!/usr/bin/env node
// `clips4 <command> [...]`: picks the longest matching command name and runs it.
import { UsageError } from './command';
import { commands } from './commands';

export async function main(argv: string[]): Promise<number> {
  const match = commands
    .filter((c) => c.name.every((w, i) => argv[i] === w))
    .sort((a, b) => b.name.length - a.name.length)[0];
  if (!match) {
    const help = argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help';
    const lines = ['Usage: clips4 <command> [options]', '', 'Commands:'];
    for (const c of commands) lines.push(`  ${c.name.join(' ').padEnd(22)} ${c.summary}`);
    lines.push('', 'Run clips4 <command> --help for the options of one command.');
    (help ? process.stdout : process.stderr).write(lines.join('\n') + '\n');
    if (!help) process.stderr.write(`\nclips4: unknown command '${argv.join(' ')}'\n`);
    return help ? 0 : 2;
  }
  const rest = argv.slice(match.name.length);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(match.usage.trimEnd() + '\n');
    return 0;
  }
  try {
    return await match.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`clips4 ${match.name.join(' ')}: ${err.message}\n\n${match.usage.trimEnd()}\n`);
      return 2;
    }
    const e = err as Error & { code?: string };
    process.stderr.write(`clips4 ${match.name.join(' ')}: ${e.message}${e.code ? ` [${e.code}]` : ''}\n`);
    if (process.env.CLIPS4_DEBUG) process.stderr.write(`${e.stack}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`clips4: ${(err as Error).message}\n`);
      process.exitCode = 1;
    },
  );
}
