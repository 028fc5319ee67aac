// The micro-batcher on its own: batches close at batchSize or after maxWaitMs; at maxWaitMs 0 they
// hold what was asked before the event loop turned, and a lone request is not held for a timer.
import * as fs from 'node:fs';
import test from 'ava';
import { MicroBatcher } from '../src/infer/batcher';

function doubling(batches: number[][]) {
  return new MicroBatcher<number, number>(async (items) => {
    batches.push(items);
    return items.map((x) => 2 * x);
  }, { batchSize: 4, maxWaitMs: 0, concurrency: 1 });
}

test('maxWaitMs 0: requests made in one turn form batches of at most batchSize, in order', async (t) => {
  const batches: number[][] = [];
  const b = doubling(batches);
  const out = await Promise.all([1, 2, 3, 4, 5, 6].map((x) => b.submit('k', x)));
  t.deepEqual(out, [2, 4, 6, 8, 10, 12]);
  t.deepEqual(batches, [[1, 2, 3, 4], [5, 6]]);
  t.is(b.queueLength, 0);
});

test('maxWaitMs 0: a lone request runs when the event loop turns, before any timer', async (t) => {
  const batches: number[][] = [];
  const b = doubling(batches);
  // From an I/O callback, the loop runs the immediates before the next timers: a timer due at once,
  // set before the request, fires after its batch. (A 0 ms timeout for the batch would fire after it.)
  const order = await new Promise<string[]>((resolve) => {
    fs.stat(__filename, () => {
      const seen: string[] = [];
      setTimeout(() => (seen.push('timer'), resolve(seen)), 0);
      void b.submit('k', 7).then((y) => seen.push(`result ${y}`));
    });
  });
  t.deepEqual(order, ['result 14', 'timer']);
  for (let i = 0; i < 3; i++) t.is(await b.submit('k', i), 2 * i); // one at a time: batches of one
  t.deepEqual(batches, [[7], [0], [1], [2]]);
});

test('maxWaitMs > 0: a batch waits for others up to maxWaitMs, and closes at once when full', async (t) => {
  const batches: number[][] = [];
  const b = new MicroBatcher<number, number>(async (items) => (batches.push(items), items), { batchSize: 3, maxWaitMs: 30, concurrency: 1 });
  const first = b.submit('k', 1);
  await new Promise((r) => setTimeout(r, 5));
  const second = b.submit('k', 2);
  t.deepEqual(await Promise.all([first, second]), [1, 2]);
  t.deepEqual(batches, [[1, 2]], 'the second request joined the first one’s batch');
  t.deepEqual(await Promise.all([3, 4, 5].map((x) => b.submit('k', x))), [3, 4, 5]);
  t.deepEqual(batches[1], [3, 4, 5]);
});
