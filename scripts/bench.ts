// `npm run bench [name...]`: runs benchmarks and prints one JSON line per measurement:
// {name, metric, value, unit, baseline?, ratio?}. The SGEMM ceiling always runs first.
import * as fs from 'node:fs';
import * as path from 'node:path';

const dir = path.join(import.meta.dirname, 'bench');
const available = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('-worker.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
// Hours long: run only when named.
const OPT_IN = ['voc-dry-run'];

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`Usage: npm run bench [name...]\n\nPrints JSON lines {name, metric, value, unit, baseline?, ratio?}.\nBenchmarks: ${available.join(', ')} (default: all but ${OPT_IN.join(', ')}, which run only when named)\n`);
    return 0;
  }
  const unknown = args.filter((a) => !available.includes(a));
  if (unknown.length) {
    process.stderr.write(`bench: unknown benchmark ${unknown.join(', ')}; available: ${available.join(', ')}\n`);
    return 2;
  }
  const names = ['sgemm', ...(args.length ? args : available.filter((n) => !OPT_IN.includes(n))).filter((n) => n !== 'sgemm')];
  for (const name of names) {
    const mod = (await import(path.join(dir, `${name}.ts`))) as { run(emit: (r: object) => void): Promise<void> };
    await mod.run((r) => process.stdout.write(JSON.stringify(r) + '\n'));
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    process.stderr.write(`bench: ${err.message}\n`);
    process.exitCode = 1;
  },
);
