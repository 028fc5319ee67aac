// Every training setting is declared once (src/train/schema.ts) and reaches the native trainer
// through one mapping (src/train/options.ts): no setting is dead, no default is written a second
// time in TypeScript or C++, and the C++ option readers have no fallbacks.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { native } from '../src/native';
import { defaultConfig } from '../src/train/config';
import { netConfig, trainerOptions, viewOptions } from '../src/train/options';
import { SCHEMA_FIELDS, type Config } from '../src/train/schema';
import { repoRoot } from './helpers/fixtures';

const files = (dir: string, ext: RegExp): string[] =>
  fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => ext.test(f)).map((f) => path.join(dir, f));
const tsSources = files(path.join(repoRoot, 'src'), /\.ts$/).filter((f) => !f.endsWith(path.join('train', 'schema.ts')));
const cxxSources = files(path.join(repoRoot, 'native', 'src'), /\.(cc|h)$/);
const read = (f: string) => fs.readFileSync(f, 'utf8');
const settings = Object.entries(SCHEMA_FIELDS).flatMap(([section, fields]) => Object.entries(fields).map(([key, field]) => ({ section, key, field })));

/** A value of the field's type that differs from its default (for the mapping test). */
function other(field: (typeof settings)[number]['field'], value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => other({ ...field, type: field.type.slice(0, -2) as typeof field.type }, v));
  if (field.values) return field.values.find((v) => v !== value);
  if (typeof value === 'boolean') return !value;
  if (typeof value === 'string') return `${value}x`;
  const n = value as number;
  const next = field.type === 'int' ? n + 1 : n === 0 ? 0.5 : n * 0.75;
  return field.max !== undefined && next > field.max ? (field.type === 'int' ? n - 1 : n * 0.5) : next;
}

/** Which of the mapped options (trainer, network, views) change when `section.key` changes. */
function mappedBy(section: string, key: string): string[] {
  const base = defaultConfig();
  const changed = structuredClone(base) as Config & Record<string, Record<string, unknown>>;
  const field = SCHEMA_FIELDS[section][key];
  changed[section][key] = other(field, (base as unknown as Record<string, Record<string, unknown>>)[section][key]);
  const outputs = (c: Config) => ({ ...prefix('trainer', trainerOptions(c)), ...prefix('net', netConfig(c, 8)), ...prefix('views', viewOptions(c, 8)) });
  const a = outputs(base);
  const b = outputs(changed);
  return Object.keys(a).filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]));
}

function prefix(p: string, o: object): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [`${p}.${k}`, v]));
}

test('every trainer, network and view option comes from exactly one setting', (t) => {
  const sources = new Map<string, string[]>();
  for (const { section, key } of settings) {
    const options = mappedBy(section, key);
    t.true(options.length <= 1, `${section}.${key} → ${options.join(', ')}`);
    for (const option of options) sources.set(option, [...(sources.get(option) ?? []), `${section}.${key}`]);
  }
  const c = defaultConfig();
  const options = Object.keys({ ...prefix('trainer', trainerOptions(c)), ...prefix('net', netConfig(c, 8)), ...prefix('views', viewOptions(c, 8)) });
  // Not settings: the L_t implementation (both give the same loss), PSPNet's bins and CLIP's width
  // (embedDim is the teacher's), and the SimCLR photometric augmentations (DEFAULT_VIEWS).
  const fixed = ['trainer.lossImpl', 'net.bins', 'net.embedDim', 'views.flip', 'views.jitter', 'views.grayscale', 'views.blur', 'views.stride'];
  for (const option of options.filter((o) => !fixed.includes(o))) t.deepEqual(sources.get(option)?.length, 1, `${option} ← ${sources.get(option)?.join(', ') ?? 'no setting'}`);
  // The renamed one: the schema's L_s temperature is the trainer's semanticTemperature.
  t.deepEqual(sources.get('trainer.semanticTemperature'), ['loss.temperature']);
  t.deepEqual(sources.get('trainer.dtype'), ['train.precision']);
});

test('every setting is read somewhere outside the schema (no dead settings)', (t) => {
  const code = tsSources.map(read).join('\n');
  // A setting is read as a property (`c.loss.kappa`, `l.kappa`, `{ kappa }` destructured from a section).
  const dead = settings.filter(({ key }) => !new RegExp(`\\.${key}\\b|\\{[^}]*\\b${key}\\b[^}]*\\}\\s*=`).test(code)).map(({ section, key }) => `${section}.${key}`);
  t.deepEqual(dead, []);
});

test('no default is written a second time in TypeScript or C++', (t) => {
  // A default of 0 or 1 (or a boolean) says too little to be told apart from other uses, and the
  // defaults taken from a named constant (PAPER_NET, DEFAULT_VIEWS, …) are declared there once.
  const schemaText = read(path.join(repoRoot, 'src', 'train', 'schema.ts'));
  const literal = settings.filter(({ key, field }) => typeof field.default === 'number' && field.default !== 0 && field.default !== 1 && new RegExp(`\\b${key}: \\{[^}]*default: [-\\d.e]+,`).test(schemaText));
  t.true(literal.length >= 10, `${literal.length} numeric defaults checked`);
  // The evaluation procedures declare their own settings (the linear probe's SGD in PROBE_DEFAULTS,
  // k-NN's k-means in KNN_KMEANS): equal numbers there are other settings, not copies.
  const trainingPath = tsSources.filter((f) => !/[/\\](eval[/\\]|cli[/\\]commands[/\\]eval-)/.test(f));
  const repeated: string[] = [];
  for (const { section, key, field } of literal) {
    // The names the value goes by: the key itself and what the mapping renames it to.
    const names = [...new Set([key, ...mappedBy(section, key).map((o) => o.split('.')[1])])];
    for (const file of [...trainingPath, ...cxxSources]) {
      for (const [i, line] of read(file).split('\n').entries()) {
        for (const name of names) {
          const at = line.search(new RegExp(`\\b${name}\\b`));
          if (at < 0) continue;
          const numbers = (line.slice(at).match(/(?<![\w.])-?\d*\.?\d+(?:e-?\d+)?(?![\w.])/g) ?? []).map(Number);
          if (numbers.includes(field.default as number)) repeated.push(`${path.relative(repoRoot, file)}:${i + 1} ${section}.${key} = ${field.default}: ${line.trim()}`);
        }
      }
    }
  }
  t.deepEqual(repeated, []);
});

test('the C++ option readers take no fallback value', (t) => {
  const withFallback = cxxSources.flatMap((f) =>
    read(f)
      .split('\n')
      .map((line, i) => ({ line, where: `${path.relative(repoRoot, f)}:${i + 1}` }))
      .filter(({ line }) => /\bGet(Number|Bool|String|IntArray)\([^;]*?"\w+"\s*,/.test(line)),
  );
  t.deepEqual(withFallback.map((x) => `${x.where}: ${x.line.trim()}`), []);
});

test('a native call missing an option is a TypeError naming it', async (t) => {
  const err = t.throws(() => native().runtime.sgemm({ n: 8, iterations: 1 } as never));
  t.true(err instanceof TypeError);
  t.regex(err!.message, /received no option 'device' \(a string\); its TypeScript wrapper must pass every option/);
});
