// A stand-in CLIP teacher for cache tests: deterministic features [n,E,h,w] per image index,
// recording which indices it was asked for.
import type { Tensor } from '../../src/tensor';

export const FAKE = { E: 3, h: 2, w: 4 };
export const fakePer = FAKE.E * FAKE.h * FAKE.w;
export const fakeValue = (i: number, k: number): number => Math.sin(i * 7.1 + k * 0.37) * (1 + i);

export function fakeTeacher(calls: number[], failFrom = Infinity) {
  return async (ids: number[]): Promise<Tensor<'float32'>> => {
    if (ids.some((i) => i >= failFrom)) throw new Error('interrupted');
    calls.push(...ids);
    const data = new Float32Array(ids.length * fakePer);
    ids.forEach((i, n) => {
      for (let k = 0; k < fakePer; k++) data[n * fakePer + k] = fakeValue(i, k);
    });
    return { dtype: 'float32', shape: [ids.length, FAKE.E, FAKE.h, FAKE.w], data };
  };
}
