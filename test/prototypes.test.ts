// Unknown-prototype initialisation: distinct training segments, normalised, seeded.
import test from 'ava';
import { coincidingPrototypes, unknownPrototypes } from '../src/train/prototypes';
import type { Tensor } from '../src/tensor';
import { makeRng } from '../src/rng';

// Segment s is the vector with 2·(s+1) at position s (E = S): its normalised row tells s back.
function segments(S: number): Float32Array {
  const a = new Float32Array(S * S);
  for (let s = 0; s < S; s++) a[s * S + s] = 2 * (s + 1);
  return a;
}
const drawn = (p: { data: Float32Array; shape: number[] }) =>
  Array.from({ length: p.shape[0] }, (_, i) => p.data.subarray(i * p.shape[1], (i + 1) * p.shape[1]).findIndex((x) => x === 1));

test('unknown prototypes are distinct unit segments, the same for the same seed', (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const p = unknownPrototypes(segments(18), 18, 18, 8, makeRng(seed));
    const ids = drawn(p);
    t.is(new Set(ids).size, 8, `seed ${seed}: ${ids}`);
    t.true(ids.every((s) => s >= 0));
    t.deepEqual(drawn(unknownPrototypes(segments(18), 18, 18, 8, makeRng(seed))), ids);
  }
  // All segments when u = S.
  t.deepEqual(drawn(unknownPrototypes(segments(6), 6, 6, 6, makeRng(9))).sort(), [0, 1, 2, 3, 4, 5]);
});

test('fewer segments than prototypes: every segment is used before any repeats, and the caller is told', (t) => {
  const messages: string[] = [];
  const ids = drawn(unknownPrototypes(segments(3), 3, 3, 7, makeRng(1), (m) => messages.push(m)));
  t.deepEqual(ids.slice(0, 3).sort(), [0, 1, 2]);
  t.deepEqual(ids.slice(3, 6).sort(), [0, 1, 2]);
  t.is(messages.length, 1);
  t.regex(messages[0], /only 3 CLIP segments for 7 unknown prototypes: 4 of them repeat/);
  t.deepEqual(unknownPrototypes(segments(3), 3, 3, 0, makeRng(1)).shape, [0, 3]);
});

test('coinciding known prototypes are grouped by name, near-but-distinct ones are not', (t) => {
  const E = 4;
  // a, c equal up to scale; b equal to d up to a 1e-8 wobble; e close to a but clearly distinct.
  const rows = [
    [1, 2, 3, 4],
    [0, 1, 0, 0],
    [2, 4, 6, 8],
    [0, 1, 1e-8, 0],
    [1, 2, 3, 4.2],
  ];
  const known: Tensor<'float32'> = { dtype: 'float32', shape: [rows.length, E], data: Float32Array.from(rows.flat()) };
  t.deepEqual(coincidingPrototypes(known, ['a', 'b', 'c', 'd', 'e']), [['a', 'c'], ['b', 'd']]);
  t.deepEqual(coincidingPrototypes({ ...known, shape: [2, E], data: known.data.slice(0, 2 * E) }, ['a', 'b']), []);
});
