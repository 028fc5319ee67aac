// Child process for clip.test.ts: dense features of a seeded random ViT CLIP, written to argv[2]
// (float32 bytes), under whatever CLIPS4_ONEDNN the parent set.
import * as fs from 'node:fs';
import { Clip } from '../../src/clip/clip';
import { WordTokenizer } from '../../src/clip/tokenizer';
import { denseTestInput, DENSE_TEST_CONFIG } from './clip-features';

async function main(): Promise<void> {
  const clip = await Clip.create(DENSE_TEST_CONFIG, new WordTokenizer(['a']), { seed: 7 });
  const f = await clip.denseFeatures(denseTestInput());
  fs.writeFileSync(process.argv[2], Buffer.from(f.data.buffer, f.data.byteOffset, f.data.byteLength));
}
void main();
