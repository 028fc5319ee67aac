// Config files: JSON composed from `_base_` files (resolved relative to the file, merged in order,
// the file's own keys last), `--set a.b=c` overrides, validated against the one schema. Every error
// names the key and the file the value came from; unknown keys get the closest valid key.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clips4Error, ErrorCodes } from '../errors';
import { closest, isPlainObject } from '../validate';
import { SCHEMA_FIELDS as SCHEMA, type Config, type Field } from './schema';

export interface ResolvedConfig {
  config: Config;
  /** Where each set value came from ('section.key' → file or '--set'). */
  sources: Record<string, string>;
}

function fail(key: string, source: string, msg: string): Error {
  return clips4Error(ErrorCodes.config, `${source}: ${key}: ${msg}`);
}

function readLayer(file: string, stack: string[], acc: Record<string, Record<string, unknown>>, sources: Record<string, string>): void {
  const abs = path.resolve(file);
  if (stack.includes(abs)) throw clips4Error(ErrorCodes.config, `config cycle: ${[...stack, abs].join(' → ')}`);
  if (!fs.existsSync(abs)) throw clips4Error(ErrorCodes.config, `${stack.length ? `${stack[stack.length - 1]}: _base_` : 'config'}: ${abs} does not exist`);
  let json: unknown;
  try {
    json = JSON.parse(fs.readFileSync(abs, 'utf8'));
  } catch (err) {
    throw clips4Error(ErrorCodes.config, `${abs}: not valid JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(json)) throw clips4Error(ErrorCodes.config, `${abs}: a config must be a JSON object`);
  const bases = json._base_ === undefined ? [] : Array.isArray(json._base_) ? json._base_ : [json._base_];
  for (const b of bases) {
    if (typeof b !== 'string') throw fail('_base_', abs, 'expected a file name or a list of file names');
    readLayer(path.resolve(path.dirname(abs), b), [...stack, abs], acc, sources);
  }
  for (const [section, values] of Object.entries(json)) {
    if (section === '_base_' || section === '$comment') continue;
    if (!(section in SCHEMA)) {
      const near = closest(section, Object.keys(SCHEMA));
      throw fail(section, abs, `unknown section${near ? ` (did you mean '${near}'?)` : ''}; sections are ${Object.keys(SCHEMA).join(', ')}`);
    }
    if (!isPlainObject(values)) throw fail(section, abs, 'expected an object');
    for (const [k, v] of Object.entries(values)) {
      if (!(k in SCHEMA[section])) {
        const near = closest(k, Object.keys(SCHEMA[section]));
        throw fail(`${section}.${k}`, abs, `unknown key${near ? ` (did you mean '${section}.${near}'?)` : ''}`);
      }
      (acc[section] ??= {})[k] = v;
      sources[`${section}.${k}`] = abs;
    }
  }
}

function check(key: string, source: string, f: Field, v: unknown): unknown {
  const scalar = (t: string, x: unknown, where: string): unknown => {
    if (t === 'int' && !(typeof x === 'number' && Number.isInteger(x))) throw fail(where, source, `expected an integer but received ${JSON.stringify(x)}`);
    if (t === 'number' && !(typeof x === 'number' && Number.isFinite(x))) throw fail(where, source, `expected a number but received ${JSON.stringify(x)}`);
    if (t === 'bool' && typeof x !== 'boolean') throw fail(where, source, `expected true or false but received ${JSON.stringify(x)}`);
    if (t === 'string' && typeof x !== 'string') throw fail(where, source, `expected a string but received ${JSON.stringify(x)}`);
    if (typeof x === 'number' && ((f.min !== undefined && x < f.min) || (f.max !== undefined && x > f.max))) {
      throw fail(where, source, `${x} is out of range (${f.min ?? '-∞'} … ${f.max ?? '∞'})`);
    }
    if (f.values && typeof x === 'string' && !f.values.includes(x)) throw fail(where, source, `expected one of ${f.values.join(', ')} but received '${x}'`);
    return x;
  };
  if (f.type.endsWith('[]')) {
    if (!Array.isArray(v)) throw fail(key, source, `expected an array (${f.type}) but received ${JSON.stringify(v)}`);
    if (f.length !== undefined && v.length !== f.length) throw fail(key, source, `expected ${f.length} values but received ${v.length}`);
    return v.map((x, i) => scalar(f.type.slice(0, -2), x, `${key}[${i}]`));
  }
  return scalar(f.type, v, key);
}

/** Composes `file` (and its bases), applies `sets` ('a.b=value', value parsed as JSON when it can be) and validates. */
export function resolveConfig(file: string | undefined, sets: string[] = []): ResolvedConfig {
  const resolved = composeConfig(file, sets);
  if (!resolved.config.clip.weights) throw clips4Error(ErrorCodes.config, 'clip.weights is required: set it in the config or with --set clip.weights=FILE');
  return resolved;
}

/** The schema's defaults with `sets` applied (no CLIP weights needed): what code that needs a complete config without a file starts from, e.g. tests of the trainer. */
export function defaultConfig(sets: string[] = []): Config {
  return composeConfig(undefined, sets).config;
}

function composeConfig(file: string | undefined, sets: string[]): ResolvedConfig {
  const acc: Record<string, Record<string, unknown>> = {};
  const sources: Record<string, string> = {};
  if (file) readLayer(file, [], acc, sources);
  for (const s of sets) {
    const eq = s.indexOf('=');
    const key = eq < 0 ? s : s.slice(0, eq);
    const [section, k, ...rest] = key.split('.');
    if (eq < 0 || !section || !k || rest.length) throw clips4Error(ErrorCodes.config, `--set ${s}: expected section.key=value`);
    if (!(section in SCHEMA) || !(k in SCHEMA[section])) {
      const all = Object.entries(SCHEMA).flatMap(([sec, f]) => Object.keys(f).map((x) => `${sec}.${x}`));
      const near = closest(key, all);
      throw fail(key, '--set', `unknown key${near ? ` (did you mean '${near}'?)` : ''}`);
    }
    const raw = s.slice(eq + 1);
    let v: unknown = raw;
    try {
      v = JSON.parse(raw);
    } catch {
      if (SCHEMA[section][k].type === 'string[]') v = raw.split(',').map((x) => x.trim()).filter(Boolean);
    }
    (acc[section] ??= {})[k] = v;
    sources[`${section}.${k}`] = '--set';
  }
  const config = {} as Config;
  for (const [section, fields] of Object.entries(SCHEMA)) {
    const out: Record<string, unknown> = {};
    for (const [k, f] of Object.entries(fields)) {
      const given = acc[section]?.[k];
      out[k] = given === undefined ? structuredClone(f.default) : check(`${section}.${k}`, sources[`${section}.${k}`], f, given);
    }
    (config as Record<string, unknown>)[section] = out;
  }
  return { config, sources };
}
