// Child process for train-step-reference.test.ts: the small scenario's trainer in float32 takes
// three steps under whatever CLIPS4_FUSED_SGD the parent set; writes its parameters and momentum
// buffers to argv[2] (safetensors, `model.*` and `momentum.*`) with versions().sgd as metadata.
import * as safetensors from '../../src/safetensors';
import { versions } from '../../src/runtime';
import { LR, makeBatch, newTrainer } from './small-trainer';

async function main(): Promise<void> {
  const trainer = newTrainer({ dtype: 'float32' });
  for (let i = 0; i < 3; i++) await trainer.step(makeBatch(1 + i), LR[i % LR.length]);
  const { model, momentum } = await trainer.state();
  const prefixed = (prefix: string, record: typeof model) => Object.fromEntries(Object.entries(record).map(([k, t]) => [`${prefix}.${k}`, t]));
  await safetensors.write(process.argv[2], { ...prefixed('model', model), ...prefixed('momentum', momentum) }, { sgd: versions().sgd });
}
void main();
