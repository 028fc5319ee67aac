// Training progress for people: in a terminal one line redrawn in place (bar, iteration, ETA, live
// losses); otherwise (logs, CI, pipes) a plain line every `every` iterations and at the end.
export interface ProgressOptions {
  total: number;
  /** Iteration the run starts (or resumes) from. */
  start: number;
  /** Redraw one line in place (a terminal). */
  tty: boolean;
  /** Plain-line interval when not a terminal. */
  every: number;
  /** Terminal width for the bar. */
  columns?: number;
  write: (text: string) => void;
  now?: () => number;
}

export interface ProgressMetrics {
  loss: number;
  contrastive: number;
  embedding: number;
  semantic: number;
  avgsim: number;
  imagesPerSecond: number;
}

/** "1h02m", "3m05s", "42s". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

/**
 * Progress of a set-up stage (the first pass over the images, the teacher's features): a line
 * "what d/t (r/s, ETA x)" at most every `everyMs` (default 10 s) and when the stage completes. The
 * rate counts from the first call, so a resumed stage's ETA is for what is left.
 */
export function stageProgress(what: string, total: number, log: (line: string) => void, o: { everyMs?: number; now?: () => number } = {}): (done: number) => void {
  const now = o.now ?? Date.now;
  const every = o.everyMs ?? 10_000;
  let first: { at: number; done: number } | undefined;
  let last = -Infinity;
  return (done) => {
    const t = now();
    if (!first) {
      first = { at: t, done }; // the stage starts (or resumes) here: nothing to rate yet
      last = t;
      if (done < total) return;
    }
    if (done < total && t - last < every) return;
    last = t;
    const rate = (done - first.done) / ((t - first.at) / 1000);
    const speed = Number.isFinite(rate) && rate > 0 ? ` (${rate >= 10 ? rate.toFixed(0) : rate.toFixed(1)}/s, ETA ${formatDuration((total - done) / rate)})` : '';
    log(`${what} ${done}/${total}${done < total ? speed : ''}`);
  };
}

export class Progress {
  private began: number;
  private start: number;
  private drawn = false;

  constructor(private readonly o: ProgressOptions) {
    this.began = (o.now ?? Date.now)();
    this.start = o.start;
  }

  /** Measures speed from now on, with `start` iterations already done (after set-up or a resume). */
  restart(start: number): void {
    this.start = start;
    this.began = (this.o.now ?? Date.now)();
  }

  /** Seconds left, from the mean time per iteration since this run (not the checkpoint) began. */
  eta(iteration: number): number {
    const done = iteration - this.start;
    if (done <= 0) return NaN;
    return ((((this.o.now ?? Date.now)() - this.began) / 1000) / done) * (this.o.total - iteration);
  }

  update(iteration: number, m: ProgressMetrics): void {
    const text = `it ${iteration}/${this.o.total} loss ${m.loss.toFixed(4)} (t ${m.contrastive.toFixed(3)} e ${m.embedding.toFixed(3)} s ${m.semantic.toFixed(3)}) avgsim ${m.avgsim.toFixed(3)} ${m.imagesPerSecond.toFixed(1)} img/s ETA ${formatDuration(this.eta(iteration))}`;
    if (this.o.tty) {
      const width = Math.max(10, Math.min(30, (this.o.columns ?? 100) - text.length - 10));
      const filled = Math.round((iteration / this.o.total) * width);
      const pct = `${Math.floor((iteration / this.o.total) * 100)}%`.padStart(4);
      const line = `${pct} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
      // \r + erase-line keeps one line that is rewritten in place.
      this.o.write(`\r\x1b[2K${line.slice(0, Math.max(20, (this.o.columns ?? 200) - 1))}`);
      this.drawn = true;
      if (iteration === this.o.total) this.finish();
    } else if (iteration % this.o.every === 0 || iteration === this.o.total) {
      this.o.write(`${text}\n`);
    }
  }

  /** Ends the in-place line so that later output starts on a fresh line. */
  finish(): void {
    if (this.drawn) this.o.write('\n');
    this.drawn = false;
  }

  /** A message printed above the in-place line (a warning, a checkpoint). */
  message(text: string): void {
    if (this.drawn) this.o.write('\r\x1b[2K');
    this.o.write(`${text}\n`);
    this.drawn = false;
  }
}
