// Error codes and constructors shared by every part of clips4. Messages follow one pattern:
// `Expected <what> for <name> but received <value>`, so a user can see what to change.

export const ErrorCodes = {
  native: 'ERR_CLIPS4_NATIVE',
  shape: 'ERR_CLIPS4_SHAPE',
  dtype: 'ERR_CLIPS4_DTYPE',
  oom: 'ERR_CLIPS4_OOM',
  noCuda: 'ERR_CLIPS4_NO_CUDA',
  invalidArg: 'ERR_CLIPS4_INVALID_ARG',
  weights: 'ERR_CLIPS4_WEIGHTS',
  file: 'ERR_CLIPS4_FILE',
  format: 'ERR_CLIPS4_FORMAT',
  config: 'ERR_CLIPS4_CONFIG',
  dataset: 'ERR_CLIPS4_DATASET',
  state: 'ERR_CLIPS4_STATE',
  load: 'ERR_CLIPS4_LOAD',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface Clips4Error extends Error {
  code: ErrorCode;
}

/** An Error (or TypeError/RangeError) carrying a clips4 `code`. */
export function clips4Error(code: ErrorCode, message: string, kind: 'Error' | 'TypeError' | 'RangeError' = 'Error'): Clips4Error {
  const Ctor = kind === 'TypeError' ? TypeError : kind === 'RangeError' ? RangeError : Error;
  const err = new Ctor(message) as Clips4Error;
  err.code = code;
  return err;
}

/** A short, readable rendering of any value for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'string') return value.length > 60 ? `'${value.slice(0, 57)}...'` : `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return `array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `${value.constructor.name} of length ${(value as unknown as { length: number }).length}`;
  if (typeof value === 'function') return 'function';
  return `object${value.constructor && value.constructor !== Object ? ` ${value.constructor.name}` : ''}`;
}

/** `Expected <expected> for <name> but received <actual>` as a TypeError with code ERR_CLIPS4_INVALID_ARG. */
export function invalidParameter(name: string, expected: string, actual: unknown, code: ErrorCode = ErrorCodes.invalidArg): Clips4Error {
  return clips4Error(code, `Expected ${expected} for ${name} but received ${describe(actual)}`, 'TypeError');
}

/** Same pattern, as a RangeError (value of the right type, outside the allowed range). */
export function outOfRange(name: string, expected: string, actual: unknown, code: ErrorCode = ErrorCodes.invalidArg): Clips4Error {
  return clips4Error(code, `Expected ${expected} for ${name} but received ${describe(actual)}`, 'RangeError');
}
