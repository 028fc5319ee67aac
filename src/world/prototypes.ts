// Target-class prototypes (paper §3.2, Fig. 3): known prototypes are the mean CLIP embedding of
// the top-m training segments per known class (softmax over known classes of CLIP's scaled
// cosine); unknown prototypes start as random training segments' CLIP embeddings.
import { zeros, type Tensor } from '../tensor';
import type { Rng } from './rng';

function normalizeRows(data: Float32Array, n: number, d: number): void {
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let e = 0; e < d; e++) s += data[i * d + e] ** 2;
    s = Math.sqrt(s) || 1;
    for (let e = 0; e < d; e++) data[i * d + e] /= s;
  }
}

/** segments [S,E] normalised; text [K,E] normalised → prototypes [K,E]. */
export function knownPrototypes(segments: Float32Array, S: number, text: Tensor<'float32'>, m: number, logitScale = 100): Tensor<'float32'> {
  const [K, E] = text.shape;
  const prob = new Float64Array(S * K);
  for (let s = 0; s < S; s++) {
    let max = -Infinity;
    for (let k = 0; k < K; k++) {
      let v = 0;
      for (let e = 0; e < E; e++) v += segments[s * E + e] * text.data[k * E + e];
      prob[s * K + k] = v * logitScale;
      max = Math.max(max, prob[s * K + k]);
    }
    let z = 0;
    for (let k = 0; k < K; k++) z += prob[s * K + k] = Math.exp(prob[s * K + k] - max);
    for (let k = 0; k < K; k++) prob[s * K + k] /= z;
  }
  const out = zeros('float32', [K, E]);
  for (let k = 0; k < K; k++) {
    const top = Array.from({ length: S }, (_, s) => s).sort((a, b) => prob[b * K + k] - prob[a * K + k]).slice(0, m);
    for (const s of top) for (let e = 0; e < E; e++) out.data[k * E + e] += segments[s * E + e];
  }
  normalizeRows(out.data, K, E);
  return out;
}

export function unknownPrototypes(segments: Float32Array, S: number, E: number, u: number, r: Rng): Tensor<'float32'> {
  const out = zeros('float32', [u, E]);
  for (let i = 0; i < u; i++) {
    const s = r.int(S);
    out.data.set(segments.subarray(s * E, s * E + E), i * E);
  }
  normalizeRows(out.data, u, E);
  return out;
}
