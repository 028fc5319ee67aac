// Child process for train-step-reference.test.ts: the small scenario's trainer in float32 takes
// three steps under whatever CLIPS4_FUSED_SGD the parent set; writes {sgd, state} to argv[2] as
// JSON, each tensor's bytes in base64.
import * as fs from 'node:fs';
import { versions } from '../../src/runtime';
import { LR, makeBatch, newTrainer } from './small-trainer';

async function main(): Promise<void> {
  const trainer = newTrainer({ dtype: 'float32' });
  for (let i = 0; i < 3; i++) await trainer.step(makeBatch(1 + i), LR[i % LR.length]);
  const { model, momentum } = await trainer.state();
  const bytes = (record: typeof model) => Object.fromEntries(Object.entries(record).map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64')]));
  fs.writeFileSync(process.argv[2], JSON.stringify({ sgd: versions().sgd, model: bytes(model), momentum: bytes(momentum) }));
}
void main();
