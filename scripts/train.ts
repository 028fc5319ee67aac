// `node scripts/train.ts --config configs/x.json [--set a.b=c …] [--out DIR] [--resume] [--device D] [--nproc N]`
// (Node ≥ 22.18; `npx tsx scripts/train.ts …` on Node 20). Trains CLIP-S4; see configs/.
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);

function usage(): string {
  const { configHelp } = require('../lib/entry/train.js');
  return `Usage: node scripts/train.ts --config FILE [--set section.key=value …] [--out DIR] [--resume]
                              [--device cpu|cuda|cuda:N|auto] [--nproc N]

Trains the CLIP-S4 pixel embedder. Configs are JSON files composed from _base_ files (configs/).
Checkpoints (atomic, a 'last' pointer), metrics.jsonl, TensorBoard events, loss curves, config.json
and the final model.safetensors (+ .json) go to --out (default runs/train). --resume continues
from the last checkpoint exactly; without it, an --out that already holds a run is refused (nothing
in it is overwritten). --device sets train.device.

Data parallel: --nproc N starts N local processes (c10d, Gloo) that split every batch (train.batch
must be a multiple of N); the result equals one process with the same batch. For several machines
start one process per rank yourself with torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR, MASTER_PORT) or under SLURM (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID plus
MASTER_ADDR/MASTER_PORT); --out must be on a shared file system. Only rank 0 writes.

Settings (key, type, default, help):
${configHelp()}
`;
}

async function main(): Promise<number> {
  let values: Record<string, unknown>;
  try {
    values = parseArgs({ options: { config: { type: 'string' }, set: { type: 'string', multiple: true }, out: { type: 'string' }, resume: { type: 'boolean' }, device: { type: 'string' }, nproc: { type: 'string' }, help: { type: 'boolean', short: 'h' } } }).values;
  } catch (err) {
    process.stderr.write(`train: ${(err as Error).message}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(usage());
    return 0;
  }
  const { resolveConfig, runTraining, distFromEnv, launchLocal } = require('../lib/entry/train.js');
  const sets = [...((values.set as string[] | undefined) ?? []), ...(values.device ? [`train.device=${values.device as string}`] : [])];
  const { config } = resolveConfig(values.config as string | undefined, sets);
  const nproc = values.nproc === undefined ? 1 : Number(values.nproc);
  if (!Number.isInteger(nproc) || nproc < 1) throw new Error(`Expected a positive integer for --nproc but received '${values.nproc as string}'`);
  if (nproc > 1 && process.env.WORLD_SIZE === undefined) {
    // The launcher: the same command without --nproc, once per rank.
    const args = process.argv.slice(2).filter((a, i, all) => a !== '--nproc' && all[i - 1] !== '--nproc' && !a.startsWith('--nproc='));
    return launchLocal(nproc, [process.argv[1], ...args]);
  }
  const dist = distFromEnv();
  const out = path.resolve((values.out as string | undefined) ?? 'runs/train');
  const r = await runTraining(config, { out, resume: values.resume === true, dist });
  if (!dist || dist.rank === 0) process.stdout.write(`trained to iteration ${r.iteration}; model in ${path.join(out, 'model.safetensors')}\n`);
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
