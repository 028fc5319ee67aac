// Checkpoints: a folder per checkpoint written under a temporary name, every file fsynced, then
// renamed into place; the `last` pointer is replaced last (atomically). A crash at any moment leaves
// the previous checkpoint and pointer intact.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync, writeJsonAtomicSync } from '../io/atomic';
import type { TrainerState } from '../native';
import * as safetensors from '../safetensors';
import { clips4Error, ErrorCodes } from '../errors';

export interface CheckpointMeta {
  iteration: number;
  config: unknown;
  metrics?: Record<string, number>;
}

export async function saveCheckpoint(runDir: string, state: TrainerState, meta: CheckpointMeta, keep: number): Promise<string> {
  const name = `ckpt-${String(meta.iteration).padStart(7, '0')}`;
  const final = path.join(runDir, name);
  const tmp = path.join(runDir, `.${name}.tmp-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  await safetensors.write(path.join(tmp, 'model.safetensors'), state.model);
  await safetensors.write(path.join(tmp, 'momentum.safetensors'), state.momentum);
  await safetensors.write(path.join(tmp, 'extra.safetensors'), state.extra);
  writeJsonAtomicSync(path.join(tmp, 'state.json'), { ...meta, iteration: state.iteration });
  if (process.env.CLIPS4_TEST_CRASH_IN_CHECKPOINT === String(meta.iteration)) process.kill(process.pid, 'SIGKILL');
  // A checkpoint of the same iteration is moved aside (not deleted) until the new one is in place.
  const aside = path.join(runDir, `.${name}.old-${process.pid}`);
  const replacing = fs.existsSync(final);
  if (replacing) fs.renameSync(final, aside);
  fs.renameSync(tmp, final);
  writeFileAtomicSync(path.join(runDir, 'last'), `${name}\n`);
  if (replacing) fs.rmSync(aside, { recursive: true, force: true });
  const all = fs.readdirSync(runDir).filter((f) => /^ckpt-\d+$/.test(f)).sort();
  for (const old of all.slice(0, Math.max(0, all.length - keep))) if (old !== name) fs.rmSync(path.join(runDir, old), { recursive: true, force: true });
  return final;
}

/** The checkpoint the `last` pointer names (undefined when there is none). */
export async function loadLatest(runDir: string): Promise<{ dir: string; state: TrainerState; meta: CheckpointMeta } | undefined> {
  const pointer = path.join(runDir, 'last');
  if (!fs.existsSync(pointer)) return undefined;
  const complete = (d: string) => ['model.safetensors', 'momentum.safetensors', 'extra.safetensors', 'state.json'].every((f) => fs.existsSync(path.join(runDir, d, f)));
  let name = fs.readFileSync(pointer, 'utf8').trim();
  if (!complete(name)) {
    // The pointer names a checkpoint that is gone or incomplete: use the newest complete one.
    const fallback = fs.readdirSync(runDir).filter((f) => /^ckpt-\d+$/.test(f) && complete(f)).sort().pop();
    if (!fallback) throw clips4Error(ErrorCodes.state, `${runDir}: the 'last' pointer names ${name}, which is missing or incomplete, and no other complete checkpoint exists`);
    name = fallback;
  }
  return loadCheckpoint(path.join(runDir, name));
}

/** One checkpoint folder (ckpt-NNNNNNN). */
export async function loadCheckpoint(dir: string): Promise<{ dir: string; state: TrainerState; meta: CheckpointMeta }> {
  for (const f of ['model.safetensors', 'momentum.safetensors', 'extra.safetensors', 'state.json']) {
    if (!fs.existsSync(path.join(dir, f))) throw clips4Error(ErrorCodes.state, `${dir} is not a complete checkpoint: ${f} is missing`);
  }
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) as CheckpointMeta;
  const state: TrainerState = {
    model: await safetensors.read(path.join(dir, 'model.safetensors')),
    momentum: await safetensors.read(path.join(dir, 'momentum.safetensors')),
    extra: await safetensors.read(path.join(dir, 'extra.safetensors')),
    iteration: meta.iteration,
  };
  return { dir, state, meta };
}
