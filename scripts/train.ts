// `node scripts/train.ts --config configs/x.json [--set a.b=c …] [--out DIR] [--resume]`
// (Node ≥ 22.18; `npx tsx scripts/train.ts …` on Node 20). Trains CLIP-S4; see configs/.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);

function usage(): string {
  const { configHelp } = require('../lib/train/schema.js');
  return `Usage: node scripts/train.ts --config FILE [--set section.key=value …] [--out DIR] [--resume]

Trains the CLIP-S4 pixel embedder. Configs are JSON files composed from _base_ files (configs/).
Checkpoints (atomic, a 'last' pointer), metrics.jsonl, config.json and the final model.safetensors
(+ .json) go to --out (default runs/train). --resume continues from the last checkpoint exactly.

Settings (key, type, default, help):
${configHelp()}
`;
}

async function main(): Promise<number> {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ options: { config: { type: 'string' }, set: { type: 'string', multiple: true }, out: { type: 'string' }, resume: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (err) {
    process.stderr.write(`train: ${(err as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage());
    return 0;
  }
  const { resolveConfig, runTraining } = require('../lib/index.js');
  const { config } = resolveConfig(values.config as string | undefined, (values.set as string[] | undefined) ?? []);
  const out = path.resolve((values.out as string | undefined) ?? 'runs/train');
  const r = await runTraining(config, { out, resume: values.resume === true });
  process.stdout.write(`trained to iteration ${r.iteration}; model in ${path.join(out, 'model.safetensors')}\n`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error & { code?: string }) => {
    process.stderr.write(`train: ${err.message}${err.code ? ` [${err.code}]` : ''}\n`);
    process.exitCode = 1;
  },
);
