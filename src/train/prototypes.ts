// Unknown-class prototypes (paper §3.2, Fig. 3c): u random training segments' CLIP embeddings,
// drawn with the run's seeded generator so a run and its resume start from the same prototypes.
// (Known prototypes are the native kernels.knownPrototypes.)
import { zeros, type Tensor } from '../tensor';
import type { Rng } from '../world/rng';

/**
 * segments [S,E] (row-major) → u L2-normalised rows [u,E] from distinct segments. Drawing with
 * replacement would repeat a segment whenever u is not small against S (18 segments, 8 prototypes:
 * a repeat is more likely than not), and two equal prototypes stay equal under L_u while every
 * segment near them sits on an exact pseudo-label tie. With fewer segments than prototypes some
 * must repeat: `onShort` is told.
 */
export function unknownPrototypes(segments: Float32Array, S: number, E: number, u: number, r: Rng, onShort?: (message: string) => void): Tensor<'float32'> {
  const out = zeros('float32', [u, E]);
  if (u === 0) return out;
  if (S < u) onShort?.(`only ${S} CLIP segments for ${u} unknown prototypes: ${u - S} of them repeat a segment (use more training images or fewer prototypes.unknown)`);
  // A partial Fisher–Yates shuffle, restarted for each further round when S < u.
  let order: number[] = [];
  for (let i = 0; i < u; i++) {
    const k = i % S;
    if (k === 0) order = Array.from({ length: S }, (_, s) => s);
    const j = k + r.int(S - k);
    [order[k], order[j]] = [order[j], order[k]];
    const s = order[k];
    let n = 0;
    for (let e = 0; e < E; e++) n += segments[s * E + e] ** 2;
    n = Math.sqrt(n) || 1;
    for (let e = 0; e < E; e++) out.data[i * E + e] = segments[s * E + e] / n;
  }
  return out;
}
