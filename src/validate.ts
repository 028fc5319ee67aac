// Option validation in one place (sharp's manner): each checker returns the value, typed, or throws
// `Expected X for name but received Y`.
import { clips4Error, ErrorCodes, invalidParameter, outOfRange } from './errors';

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

export function optionsObject(name: string, v: unknown): Record<string, unknown> {
  if (v === undefined) return {};
  if (!isPlainObject(v)) throw invalidParameter(name, 'an object', v);
  return v;
}

/** Rejects keys not in `allowed`, suggesting the closest valid one. */
export function onlyKeys(name: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      const near = closest(key, allowed);
      throw invalidParameter(`${name}.${key}`, `no such option${near ? ` (did you mean '${near}'?)` : ''}; valid options are ${allowed.join(', ')}`, obj[key]);
    }
  }
}

export function integer(name: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw invalidParameter(name, 'an integer', v);
  if (v < min || v > max) throw outOfRange(name, rangeText('an integer', min, max), v);
  return v;
}

export function number(name: string, v: unknown, min = -Infinity, max = Infinity): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidParameter(name, 'a finite number', v);
  if (v < min || v > max) throw outOfRange(name, rangeText('a number', min, max), v);
  return v;
}

export function boolean(name: string, v: unknown): boolean {
  if (typeof v !== 'boolean') throw invalidParameter(name, 'a boolean', v);
  return v;
}

export function string(name: string, v: unknown): string {
  if (typeof v !== 'string' || v.length === 0) throw invalidParameter(name, 'a non-empty string', v);
  return v;
}

export function oneOf<T extends string>(name: string, v: unknown, values: readonly T[]): T {
  if (typeof v !== 'string' || !values.includes(v as T)) throw invalidParameter(name, `one of ${values.map((x) => `'${x}'`).join(', ')}`, v);
  return v as T;
}

export function stringArray(name: string, v: unknown, minLength = 0): string[] {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string' || x.length === 0)) throw invalidParameter(name, 'an array of non-empty strings', v);
  if (v.length < minLength) throw outOfRange(name, `an array of at least ${minLength} string(s)`, v);
  return v as string[];
}

/**
 * A non-empty array of distinct elements, each through `check`: a list of seeds, folds or settings
 * where a repeat would train one run twice, into one folder, and count it twice.
 */
export function distinctArray<T>(name: string, v: unknown, check: (name: string, v: unknown) => T): T[] {
  if (!Array.isArray(v) || v.length === 0) throw invalidParameter(name, 'a non-empty array', v);
  const xs = v.map((x, i) => check(`${name}[${i}]`, x));
  const repeat = xs.findIndex((x, i) => xs.indexOf(x) !== i);
  if (repeat >= 0) throw clips4Error(ErrorCodes.invalidArg, `Expected distinct values for ${name} but received ${String(xs[repeat])} more than once (${xs.join(', ')})`, 'RangeError');
  return xs;
}

/** Reads `obj[key]` with a default when absent, through `check`. */
export function opt<T>(obj: Record<string, unknown>, key: string, fallback: T, check: (name: string, v: unknown) => T, prefix = 'options'): T {
  const v = obj[key];
  return v === undefined ? fallback : check(`${prefix}.${key}`, v);
}

function rangeText(what: string, min: number, max: number): string {
  if (min > -Infinity && max < Infinity) return `${what} between ${min} and ${max}`;
  if (min > -Infinity) return `${what} >= ${min}`;
  return `${what} <= ${max}`;
}

/** Levenshtein-closest candidate within a small distance, for "did you mean" hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}
