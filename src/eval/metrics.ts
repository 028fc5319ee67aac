// Segmentation metrics from a confusion matrix accumulated over a whole split (REFERENCE §5):
// IoU_c = TP/(TP+FP+FN); mIoU over classes present in the ground truth or the prediction; pAcc;
// mAcc; known/unknown mIoU and their harmonic mean (class-free setting).
import { clips4Error, ErrorCodes } from '../errors';
import { integer } from '../validate';

export interface Scores {
  miou: number;
  pacc: number;
  macc: number;
  /** null for classes absent from both prediction and ground truth (excluded from the means). */
  per_class_iou: (number | null)[];
  note: string;
}

export class ConfusionMatrix {
  /** counts[gt * n + pred] */
  readonly counts: Float64Array;

  constructor(
    readonly numClasses: number,
    readonly ignore = 255,
  ) {
    integer('numClasses', numClasses, 1, 65535);
    this.counts = new Float64Array(numClasses * numClasses);
  }

  /** Adds one image (or any set of pixels); pixels whose ground truth is `ignore` are skipped. */
  add(pred: ArrayLike<number>, gt: ArrayLike<number>): this {
    if (pred.length !== gt.length) {
      throw clips4Error(ErrorCodes.shape, `Expected prediction and ground truth of the same size but received ${pred.length} and ${gt.length} pixels`, 'RangeError');
    }
    const n = this.numClasses;
    for (let i = 0; i < gt.length; i++) {
      const g = gt[i];
      if (g === this.ignore) continue;
      const p = pred[i];
      if (g < 0 || g >= n || !Number.isInteger(g)) throw clips4Error(ErrorCodes.invalidArg, `ground-truth label ${g} at pixel ${i} is outside 0..${n - 1} (and not the ignore value ${this.ignore})`, 'RangeError');
      if (p < 0 || p >= n || !Number.isInteger(p)) throw clips4Error(ErrorCodes.invalidArg, `predicted label ${p} at pixel ${i} is outside 0..${n - 1}`, 'RangeError');
      this.counts[g * n + p]++;
    }
    return this;
  }

  merge(other: ConfusionMatrix): this {
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    return this;
  }

  /** Per-class IoU (null when the class is in neither prediction nor ground truth). */
  iou(): (number | null)[] {
    const n = this.numClasses;
    const out: (number | null)[] = [];
    for (let c = 0; c < n; c++) {
      let tp = this.counts[c * n + c];
      let gt = 0;
      let pr = 0;
      for (let k = 0; k < n; k++) {
        gt += this.counts[c * n + k];
        pr += this.counts[k * n + c];
      }
      const union = gt + pr - tp;
      out.push(union === 0 ? null : tp / union);
      tp = 0;
    }
    return out;
  }

  /** mIoU over a subset of classes (default all), skipping absent ones. */
  miou(classes?: number[]): number {
    const iou = this.iou();
    const vals = (classes ?? iou.map((_, i) => i)).map((c) => iou[c]).filter((v): v is number => v !== null);
    return vals.length ? vals.reduce((a, b) => a + b, 0) / vals.length : 0;
  }

  scores(): Scores {
    const n = this.numClasses;
    let tp = 0;
    let total = 0;
    const accs: number[] = [];
    for (let c = 0; c < n; c++) {
      tp += this.counts[c * n + c];
      let gt = 0;
      for (let k = 0; k < n; k++) gt += this.counts[c * n + k];
      total += gt;
      if (gt > 0) accs.push(this.counts[c * n + c] / gt);
    }
    const iou = this.iou();
    const absent = iou.filter((v) => v === null).length;
    return {
      miou: this.miou(),
      pacc: total ? tp / total : 0,
      macc: accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : 0,
      per_class_iou: iou,
      note: `mIoU averages the ${n - absent} classes present in the ground truth or the prediction; ${absent} absent class(es) are excluded; pixels labelled ${this.ignore} are ignored.`,
    };
  }

  /** Known / unknown mIoU and their harmonic mean. */
  classFree(unknown: number[]): { known: number; unknown: number; hiou: number } {
    const u = new Set(unknown);
    const knownIds = Array.from({ length: this.numClasses }, (_, i) => i).filter((i) => !u.has(i));
    const k = this.miou(knownIds);
    const un = this.miou(unknown);
    return { known: k, unknown: un, hiou: k + un > 0 ? (2 * k * un) / (k + un) : 0 };
  }

  /** The matrix as rows (ground truth) of columns (prediction). */
  rows(): number[][] {
    const n = this.numClasses;
    return Array.from({ length: n }, (_, g) => Array.from(this.counts.subarray(g * n, (g + 1) * n)));
  }
}
