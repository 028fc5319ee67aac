// Unknown-class prototypes (paper §3.2, Fig. 3c): u random training segments' CLIP embeddings,
// drawn with the run's seeded generator so a run and its resume start from the same prototypes.
// (Known prototypes are the native kernels.knownPrototypes, streamed over the dataset in prepare.ts.)
import { zeros, type Tensor } from '../tensor';
import type { Rng } from '../rng';

/**
 * segments [S,E] (row-major) → u L2-normalised rows [u,E] from distinct segments (`unknownPicks`).
 */
export function unknownPrototypes(segments: Float32Array, S: number, E: number, u: number, r: Rng, onShort?: (message: string) => void): Tensor<'float32'> {
  return unitRows(unknownPicks(S, u, r, onShort).map((s) => segments.subarray(s * E, (s + 1) * E)), E);
}

/**
 * Which of S segments become the u unknown prototypes, in draw order. Distinct segments: drawing
 * with replacement would repeat a segment whenever u is not small against S (18 segments, 8
 * prototypes: a repeat is more likely than not), and two equal prototypes stay equal under L_u while
 * every segment near them sits on an exact pseudo-label tie. With fewer segments than prototypes
 * some must repeat: `onShort` is told. Needs only S, so a stream of segments can be drawn from.
 */
export function unknownPicks(S: number, u: number, r: Rng, onShort?: (message: string) => void): number[] {
  if (u === 0) return [];
  if (S < u) onShort?.(`only ${S} CLIP segments for ${u} unknown prototypes: ${u - S} of them repeat a segment (use more training images or fewer prototypes.unknown)`);
  // A partial Fisher–Yates shuffle, restarted for each further round when S < u.
  const picks: number[] = [];
  let order: number[] = [];
  for (let i = 0; i < u; i++) {
    const k = i % S;
    if (k === 0) order = Array.from({ length: S }, (_, s) => s);
    const j = k + r.int(S - k);
    [order[k], order[j]] = [order[j], order[k]];
    picks.push(order[k]);
  }
  return picks;
}

/** Rows of E floats → [rows,E], each L2-normalised (a zero row stays zero). */
export function unitRows(rows: Float32Array[], E: number): Tensor<'float32'> {
  const out = zeros('float32', [rows.length, E]);
  rows.forEach((row, i) => {
    let n = 0;
    for (let e = 0; e < E; e++) n += row[e] ** 2;
    n = Math.sqrt(n) || 1;
    for (let e = 0; e < E; e++) out.data[i * E + e] = row[e] / n;
  });
  return out;
}

/**
 * Groups of known classes whose prototypes [K,E] coincide (cosine ≥ 1 − 1e-6, i.e. the same
 * top-m CLIP segments up to summation order): their pseudo-labels tie on every segment, so L_s
 * cannot tell them apart. Happens with few training images and many classes. → lists of names.
 */
export function coincidingPrototypes(known: Tensor<'float32'>, names: readonly string[]): string[][] {
  const [K, E] = known.shape;
  const unit = Array.from({ length: K }, (_, k) => {
    const row = known.data.subarray(k * E, (k + 1) * E);
    const n = Math.hypot(...row) || 1;
    return Array.from(row, (v) => v / n);
  });
  const group = new Array<number>(K).fill(-1);
  const groups: string[][] = [];
  for (let i = 0; i < K; i++) {
    if (group[i] >= 0) continue;
    const members = [i];
    for (let j = i + 1; j < K; j++) {
      if (group[j] < 0 && unit[i].reduce((a, v, e) => a + v * unit[j][e], 0) >= 1 - 1e-6) members.push(j);
    }
    if (members.length < 2) continue;
    for (const m of members) group[m] = groups.length;
    groups.push(members.map((m) => names[m] ?? `#${m}`));
  }
  return groups;
}
