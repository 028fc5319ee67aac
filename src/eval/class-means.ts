// Class-mean embeddings (supplement Fig. 2): the normalised mean over every labelled feature cell of
// each class (the label under the cell's centre; ignore skipped) of the L2-normalised embeddings.
import type { Tensor } from '../tensor';
import type { LabelGrid } from './segments';

export class ClassMeans {
  private sums: Float64Array | undefined;
  private dim = 0;
  private readonly counts: Float64Array;

  constructor(
    readonly numClasses: number,
    readonly ignore = 255,
  ) {
    this.counts = new Float64Array(numClasses);
  }

  /** Adds image `index` of a feature batch [n,D,h,w] with its label map. */
  add(e: Tensor<'float32'>, index: number, gt: LabelGrid): this {
    const [, d, h, w] = e.shape;
    this.dim = d;
    this.sums ??= new Float64Array(this.numClasses * d);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const c = gt.data[Math.floor(((y + 0.5) * gt.height) / h) * gt.width + Math.floor(((x + 0.5) * gt.width) / w)];
        if (c === this.ignore || c >= this.numClasses) continue;
        let n = 0;
        for (let j = 0; j < d; j++) n += e.data[((index * d + j) * h + y) * w + x] ** 2;
        n = Math.sqrt(n) || 1;
        for (let j = 0; j < d; j++) this.sums[c * d + j] += e.data[((index * d + j) * h + y) * w + x] / n;
        this.counts[c]++;
      }
    }
    return this;
  }

  /** Classes seen at least once. */
  present(): number[] {
    return Array.from(this.counts.keys()).filter((c) => this.counts[c] > 0);
  }

  /** Normalised mean per class (zeros for classes never seen). */
  means(): number[][] {
    const D = this.dim;
    return Array.from({ length: this.numClasses }, (_, c) => {
      const v = Array.from(this.sums?.subarray(c * D, (c + 1) * D) ?? []);
      const n = Math.hypot(...v) || 1;
      return v.map((a) => a / n);
    });
  }
}
