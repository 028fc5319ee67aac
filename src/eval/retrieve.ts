// Segment retrieval (paper Fig. 4b): every image of a collection is cut into k-means segments of its
// embeddings; each segment's mean embedding is compared (cosine) with each class's text embedding;
// the best-scoring segments per class across the collection are kept with their boxes and masks.
import type { RawImage } from '../image/load';
import { checkTensor, type Tensor } from '../tensor';
import { integer, onlyKeys, optionsObject, opt } from '../validate';
import { kmeansSegments } from './segments';

export interface RetrievalHit {
  image: string;
  /** Segment bounding box in image pixels, [x0, y0, x1, y1) (x1, y1 exclusive). */
  box: [number, number, number, number];
  /** Cosine similarity of the segment's mean embedding with the class text embedding. */
  score: number;
  /** Segment mask cropped to the box (1 inside), row-major box width × height. */
  mask: Uint8Array;
}

export interface RetrievalSource {
  /** Dense embeddings [1,E,h,w] of an image. */
  embed(image: string): Promise<Tensor<'float32'>>;
  load(image: string): Promise<RawImage>;
}

function normaliseRows(x: Float32Array, D: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < x.length / D; r++) {
    let n = 0;
    for (let d = 0; d < D; d++) n += x[r * D + d] ** 2;
    n = Math.sqrt(n) || 1;
    for (let d = 0; d < D; d++) out[r * D + d] = x[r * D + d] / n;
  }
  return out;
}

/** The top `top` segments per class (rows of `text` [C,E]) over `images`, best first. */
export async function retrieveSegments(src: RetrievalSource, images: string[], text: Tensor<'float32'>, o: { top?: number; grid?: [number, number]; log?: (line: string) => void } = {}): Promise<RetrievalHit[][]> {
  checkTensor('text', text, { dtype: 'float32', shape: ['C', 'E'] });
  const given = optionsObject('options', o);
  onlyKeys('options', given, ['top', 'grid', 'log']);
  const [C, E] = text.shape;
  const top = opt(given, 'top', 8, (n, v) => integer(n, v, 1));
  const t = normaliseRows(text.data, E);
  const best: RetrievalHit[][] = Array.from({ length: C }, () => []);
  for (const [i, file] of images.entries()) {
    const [features, img] = await Promise.all([src.embed(file), src.load(file)]);
    const [seg] = await kmeansSegments(features, [{ width: img.width, height: img.height }], { grid: o.grid });
    const boxes = Array.from({ length: seg.count }, () => [Infinity, Infinity, -1, -1]);
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) {
        const s = seg.segments[y * img.width + x];
        if (s < 0) continue;
        const b = boxes[s];
        b[0] = Math.min(b[0], x);
        b[1] = Math.min(b[1], y);
        b[2] = Math.max(b[2], x + 1);
        b[3] = Math.max(b[3], y + 1);
      }
    }
    for (let s = 0; s < seg.count; s++) {
      for (let c = 0; c < C; c++) {
        let score = 0;
        for (let d = 0; d < E; d++) score += seg.embeddings[s * E + d] * t[c * E + d];
        const list = best[c];
        if (list.length >= top && score <= list[list.length - 1].score) continue;
        const [x0, y0, x1, y1] = boxes[s];
        const mask = new Uint8Array((x1 - x0) * (y1 - y0));
        for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) mask[(y - y0) * (x1 - x0) + x - x0] = seg.segments[y * img.width + x] === s ? 1 : 0;
        list.push({ image: file, box: [x0, y0, x1, y1], score, mask });
        list.sort((a, b) => b.score - a.score);
        if (list.length > top) list.pop();
      }
    }
    if ((i + 1) % 20 === 0 || i === images.length - 1) o.log?.(`${i + 1}/${images.length} images`);
  }
  return best;
}
