// Checkpoint files: replacing a checkpoint of the same iteration keeps a loadable one at every
// moment, and a pointer to a missing checkpoint falls back to the newest complete one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { loadLatest, saveCheckpoint } from '../src/train/checkpoint';
import { float32 } from '../src/tensor';
import { tmpDir } from './helpers/tmp';

const state = (it: number, v: number) => ({ model: { w: float32([2], [v, v]) }, momentum: {}, extra: {}, iteration: it });

test('same-iteration saves replace in place; a dangling pointer falls back to the newest complete checkpoint', async (t) => {
  const dir = tmpDir();
  await saveCheckpoint(dir, state(2, 1), { iteration: 2, config: {} }, 3);
  await saveCheckpoint(dir, state(4, 2), { iteration: 4, config: {} }, 3);
  await saveCheckpoint(dir, state(4, 3), { iteration: 4, config: {} }, 3);
  let last = await loadLatest(dir);
  t.is(last!.state.iteration, 4);
  t.deepEqual(Array.from(last!.state.model.w.data as Float32Array), [3, 3]);
  t.deepEqual(fs.readdirSync(dir).filter((f) => f.startsWith('.')), []);
  // Simulate the pointed-to checkpoint vanishing.
  fs.rmSync(path.join(dir, 'ckpt-0000004'), { recursive: true });
  last = await loadLatest(dir);
  t.is(last!.state.iteration, 2);
  fs.rmSync(path.join(dir, 'ckpt-0000002'), { recursive: true });
  await t.throwsAsync(loadLatest(dir), { code: 'ERR_CLIPS4_STATE', message: /names ckpt-0000004, which is missing or incomplete, and no other complete checkpoint exists/ });
});
