// The PSPNet-R50 (OS 8) forward at 336², batch 1, in a fresh process, so that the conv path can be
// chosen per process (CLIPS4_WINOGRAD, read once) and the peak resident memory read. Run by
// scripts/bench/kernels.ts.
import { PixelEmbedder, PAPER_NET } from '../../src/net/embedder.ts';
import { versions } from '../../src/runtime.ts';
import { random } from './kernels.ts';
import { peakMB } from './peak-memory.ts';

if (process.argv.includes('--help')) {
  process.stdout.write('Usage: tsx scripts/bench/pspnet-worker.ts [repeats] (internal to npm run bench kernels)\n');
  process.exit(0);
}
const repeats = Number(process.argv[2] ?? 3);
const x = random([1, 3, 336, 336]);
const net = PixelEmbedder.create(PAPER_NET);
await net.embed(x); // warm-up: oneDNN compiles its kernels, the CPU cache fills
const t0 = performance.now();
for (let i = 0; i < repeats; i++) await net.embed(x);
const seconds = (performance.now() - t0) / 1000 / repeats;
process.stdout.write(JSON.stringify({ seconds, peakMB: peakMB(), convolutions: versions().convolutions }) + '\n');
