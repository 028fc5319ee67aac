// Micro-batching: concurrent requests with the same key (same input size) are gathered into one
// native call when either `batchSize` items are waiting or the oldest has waited `maxWaitMs`
// (0: only the requests made before the event loop turns, with no timer's 1 ms minimum).
// At most `concurrency` batches run at once; the rest wait in the queue.

export interface BatcherOptions {
  batchSize: number;
  maxWaitMs: number;
  concurrency: number;
}

interface Pending<I, O> {
  item: I;
  resolve(o: O): void;
  reject(e: unknown): void;
}

export class MicroBatcher<I, O> {
  /** Waiting requests per key, and how to cancel the pending close of their batch. */
  private readonly groups = new Map<string, { items: Pending<I, O>[]; cancel?: () => void }>();
  private readonly ready: Pending<I, O>[][] = [];
  private running = 0;

  constructor(
    private readonly process: (items: I[]) => Promise<O[]>,
    private readonly options: BatcherOptions,
  ) {}

  /** Items waiting (not yet in a running batch). */
  get queueLength(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.items.length;
    for (const b of this.ready) n += b.length;
    return n;
  }

  /** Batches currently running. */
  get inFlight(): number {
    return this.running;
  }

  submit(key: string, item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      let g = this.groups.get(key);
      if (!g) {
        g = { items: [] };
        this.groups.set(key, g);
      }
      g.items.push({ item, resolve, reject });
      if (g.items.length >= this.options.batchSize) this.close(key);
      else if (!g.cancel) g.cancel = this.schedule(() => this.close(key));
    });
  }

  private schedule(fn: () => void): () => void {
    if (this.options.maxWaitMs > 0) {
      const timer = setTimeout(fn, this.options.maxWaitMs);
      return () => clearTimeout(timer);
    }
    const immediate = setImmediate(fn);
    return () => clearImmediate(immediate);
  }

  private close(key: string): void {
    const g = this.groups.get(key);
    if (!g) return;
    g.cancel?.();
    this.groups.delete(key);
    for (let i = 0; i < g.items.length; i += this.options.batchSize) this.ready.push(g.items.slice(i, i + this.options.batchSize));
    this.pump();
  }

  private pump(): void {
    while (this.running < this.options.concurrency && this.ready.length) {
      const batch = this.ready.shift()!;
      this.running++;
      this.process(batch.map((p) => p.item)).then(
        (outs) => {
          if (outs.length !== batch.length) throw new Error(`batch produced ${outs.length} results for ${batch.length} items`);
          batch.forEach((p, i) => p.resolve(outs[i]));
        },
        (err) => batch.forEach((p) => p.reject(err)),
      ).catch((err) => batch.forEach((p) => p.reject(err))).finally(() => {
        this.running--;
        this.pump();
      });
    }
  }
}
