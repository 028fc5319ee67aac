// Counting event-loop turns instead of timing them: a callback chained through setImmediate runs
// once per turn, so a count taken while a promise is pending shows that the main thread was free,
// with no clock and no threshold that a busy machine could break.

export interface TurnCounter {
  /** Turns counted so far. */
  readonly count: number;
  /** Stops counting (pass it to `promise.finally` to count until the promise settles). */
  stop(): void;
}

export function countTurns(): TurnCounter {
  let count = 0;
  let stopped = false;
  const turn = () => {
    if (stopped) return;
    count++;
    setImmediate(turn);
  };
  setImmediate(turn);
  return {
    get count() {
      return count;
    },
    stop: () => {
      stopped = true;
    },
  };
}
