// Decoded training images and their region maps kept between batches, least recently used first out,
// within a byte budget (data.memoryCache). Decoding is most of what the main thread does per batch on
// small images (the world's 96² JPEGs and region PNGs); with a budget, memory still does not grow with
// the dataset: a dataset larger than the budget is read from disk for the samples that do not fit.
import type { RawImage } from '../image/load';

export interface DecodedSample {
  /** The image at the size training uses. */
  image: RawImage;
  regions: Int32Array;
}

export class DecodedCache {
  private readonly entries = new Map<string, { value: Promise<DecodedSample>; bytes: number }>();
  private used = 0;

  /** `budget`: bytes of pixels and region ids held at most (0 keeps nothing). */
  constructor(readonly budget: number) {}

  /** Bytes held now (the pixels and region ids of the entries). */
  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The decoded sample under `key`, loaded by `load` when it is not held. Concurrent gets of one key
   * share one load; a failed load is not kept (the next get reads again).
   */
  get(key: string, load: () => Promise<DecodedSample>): Promise<DecodedSample> {
    const hit = this.entries.get(key);
    if (hit) {
      // Most recently used last: Map keeps insertion order, so the first entry is the one to evict.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit.value;
    }
    if (this.budget <= 0) return load();
    const entry = { value: load(), bytes: 0 };
    this.entries.set(key, entry);
    entry.value.then(
      (s) => {
        if (this.entries.get(key) !== entry) return; // evicted while loading
        entry.bytes = s.image.data.byteLength + s.regions.byteLength;
        this.used += entry.bytes;
        this.evict();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  }

  private evict(): void {
    for (const [key, e] of this.entries) {
      if (this.used <= this.budget) return;
      // Still loading: it holds no bytes yet, so dropping it would free nothing (and decode it again).
      if (e.bytes === 0) continue;
      this.entries.delete(key);
      this.used -= e.bytes;
    }
  }
}
