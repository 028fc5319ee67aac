// Random RGB test images from a seeded stream (the same draw order wherever a test uses them).
import type { RawImage } from '../../src/image/load';
import { makeRng } from '../../src/rng';

/** A W×H image of `levels` grey levels per channel (256: any byte); few levels make flat patches. */
export function randomImage(seed: number, W: number, H: number, levels = 256): RawImage {
  const r = makeRng(seed);
  return { width: W, height: H, data: Uint8Array.from({ length: W * H * 3 }, () => Math.round((r.int(levels) * 255) / (levels - 1))) };
}
