// Tokenizers behind one interface: OpenAI CLIP's byte-level BPE (from bpe_simple_vocab_16e6.txt.gz
// or Hugging Face vocab.json + merges.txt) and a plain word-level tokenizer for small CLIPs trained
// on a closed vocabulary (the synthetic world's captions).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { clips4Error, ErrorCodes, invalidParameter } from '../errors';
import { writeJsonAtomicSync } from '../io/atomic';
import { zeros, type Tensor } from '../tensor';
import { integer, optionsObject, onlyKeys, opt, boolean } from '../validate';

export interface Tokenizer {
  readonly kind: 'bpe' | 'word';
  readonly vocabSize: number;
  readonly sot: number;
  readonly eot: number;
  /** Token ids of a text, without start/end tokens. */
  encode(text: string): number[];
  decode(ids: number[]): string;
}

// ---- CLIP byte-level BPE ----

/** byte → printable character, and the characters in OpenAI's vocabulary order. */
function bytesToUnicode(): { byByte: string[]; ordered: string[] } {
  const bs: number[] = [];
  for (let b = 33; b <= 126; b++) bs.push(b);
  for (let b = 161; b <= 172; b++) bs.push(b);
  for (let b = 174; b <= 255; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const byByte = new Array<string>(256);
  bs.forEach((b, i) => (byByte[b] = String.fromCodePoint(cs[i])));
  return { byByte, ordered: cs.map((c) => String.fromCodePoint(c)) };
}

const BYTES = bytesToUnicode();

const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

function htmlUnescape(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (m, e: string) => {
    if (e[0] === '#') {
      const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return Number.isFinite(code) && code <= 0x10ffff ? String.fromCodePoint(code) : m;
    }
    return entities[e.toLowerCase()] ?? m;
  });
}

const PATTERN = /<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+/giu;

export class BpeTokenizer implements Tokenizer {
  readonly kind = 'bpe' as const;
  readonly sot: number;
  readonly eot: number;
  private readonly encoder = new Map<string, number>();
  private readonly decoder: string[] = [];
  private readonly ranks = new Map<string, number>();
  private readonly byteEncoder = BYTES.byByte;
  private readonly byteDecoder = new Map(this.byteEncoder.map((c, b) => [c, b]));
  private readonly cache = new Map<string, string[]>();

  /** `merges`: pairs in rank order; `vocab`: token → id (built from the merges when absent). */
  constructor(merges: [string, string][], vocab?: Map<string, number>) {
    merges.forEach(([a, b], i) => this.ranks.set(`${a} ${b}`, i));
    if (vocab) {
      for (const [k, v] of vocab) this.encoder.set(k, v);
    } else {
      const list = [...BYTES.ordered, ...BYTES.ordered.map((c) => `${c}</w>`), ...merges.map(([a, b]) => a + b), '<|startoftext|>', '<|endoftext|>'];
      list.forEach((t, i) => this.encoder.set(t, i));
    }
    for (const [k, v] of this.encoder) this.decoder[v] = k;
    const sot = this.encoder.get('<|startoftext|>');
    const eot = this.encoder.get('<|endoftext|>');
    if (sot === undefined || eot === undefined) throw clips4Error(ErrorCodes.format, 'The BPE vocabulary has no <|startoftext|>/<|endoftext|> tokens');
    this.sot = sot;
    this.eot = eot;
    this.cache.set('<|startoftext|>', ['<|startoftext|>']);
    this.cache.set('<|endoftext|>', ['<|endoftext|>']);
  }

  get vocabSize(): number {
    return this.encoder.size;
  }

  private bpe(token: string): string[] {
    const hit = this.cache.get(token);
    if (hit) return hit;
    const chars = Array.from(token);
    let word = [...chars.slice(0, -1), `${chars[chars.length - 1]}</w>`];
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const a = word[best];
      const b = word[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < word.length; ) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          merged.push(a + b);
          i += 2;
        } else merged.push(word[i++]);
      }
      word = merged;
    }
    this.cache.set(token, word);
    return word;
  }

  encode(text: string): number[] {
    const clean = htmlUnescape(htmlUnescape(text)).trim().replace(/\s+/g, ' ').trim().toLowerCase();
    const ids: number[] = [];
    for (const m of clean.matchAll(PATTERN)) {
      const token = Array.from(Buffer.from(m[0], 'utf8'), (b) => this.byteEncoder[b]).join('');
      for (const piece of this.bpe(token)) {
        const id = this.encoder.get(piece);
        if (id !== undefined) ids.push(id);
      }
    }
    return ids;
  }

  decode(ids: number[]): string {
    const text = ids.map((i) => this.decoder[i] ?? '').join('');
    const bytes = Array.from(text.replace(/<\/w>/g, ' ')).map((c) => this.byteDecoder.get(c) ?? 32);
    return Buffer.from(bytes).toString('utf8').replace(/\s+/g, ' ').trim();
  }

  /** OpenAI's gzipped merges file: a header line, then 49152 − 256 − 2 merges. */
  static fromBpeFile(file: string): BpeTokenizer {
    const lines = zlib.gunzipSync(fs.readFileSync(file)).toString('utf8').split('\n');
    const merges = lines.slice(1, 49152 - 256 - 2 + 1).map((l) => l.split(' ') as [string, string]);
    if (merges.length < 1000 || merges.some((m) => m.length !== 2)) throw clips4Error(ErrorCodes.format, `${file} is not a CLIP BPE merges file`);
    return new BpeTokenizer(merges);
  }

  /** Hugging Face CLIPTokenizer files: vocab.json and merges.txt in one folder. */
  static fromHuggingFace(dir: string): BpeTokenizer {
    const vocab = JSON.parse(fs.readFileSync(path.join(dir, 'vocab.json'), 'utf8')) as Record<string, number>;
    const lines = fs.readFileSync(path.join(dir, 'merges.txt'), 'utf8').split('\n');
    const merges = lines.filter((l) => l && !l.startsWith('#version')).map((l) => l.split(' ') as [string, string]);
    return new BpeTokenizer(merges, new Map(Object.entries(vocab)));
  }
}

// ---- word-level tokenizer ----

/** Ids: 0 pad, 1 <start>, 2 <end>, 3 <unknown>, then the words. */
export class WordTokenizer implements Tokenizer {
  readonly kind = 'word' as const;
  readonly sot = 1;
  readonly eot = 2;
  readonly unknown = 3;
  private readonly ids: Map<string, number>;

  constructor(readonly words: string[]) {
    this.ids = new Map(words.map((w, i) => [w, i + 4]));
  }

  get vocabSize(): number {
    return this.words.length + 4;
  }

  static split(text: string): string[] {
    return text.toLowerCase().split(/[^\p{L}]+/u).filter(Boolean);
  }

  /** A vocabulary of every word in `texts` (sorted, so it does not depend on text order). */
  static fromTexts(texts: string[]): WordTokenizer {
    const set = new Set<string>();
    for (const t of texts) for (const w of WordTokenizer.split(t)) set.add(w);
    return new WordTokenizer([...set].sort());
  }

  encode(text: string): number[] {
    return WordTokenizer.split(text).map((w) => this.ids.get(w) ?? this.unknown);
  }

  decode(ids: number[]): string {
    return ids.filter((i) => i >= 4).map((i) => this.words[i - 4]).join(' ');
  }

  save(file: string): void {
    writeJsonAtomicSync(file, { kind: 'word', words: this.words });
  }
}

/** Loads a tokenizer: a BPE .txt.gz, a Hugging Face folder (vocab.json + merges.txt), or a word-vocab JSON. */
export function loadTokenizer(file: string): Tokenizer {
  if (!fs.existsSync(file)) throw clips4Error(ErrorCodes.file, `Cannot read tokenizer ${file}: no such file or folder`);
  if (fs.statSync(file).isDirectory()) {
    if (!fs.existsSync(path.join(file, 'vocab.json')) || !fs.existsSync(path.join(file, 'merges.txt'))) {
      throw clips4Error(ErrorCodes.file, `${file} holds no vocab.json and merges.txt (a Hugging Face CLIP tokenizer folder)`);
    }
    return BpeTokenizer.fromHuggingFace(file);
  }
  if (file.endsWith('.gz')) return BpeTokenizer.fromBpeFile(file);
  const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { kind?: string; words?: string[] };
  if (json.kind === 'word' && Array.isArray(json.words)) return new WordTokenizer(json.words);
  throw clips4Error(ErrorCodes.format, `${file} is not a tokenizer clips4 knows (BPE .txt.gz, Hugging Face folder, or {"kind":"word"} JSON)`);
}

let defaultBpe: BpeTokenizer | undefined;

/** CLIP's BPE from CLIPS4_BPE or ~/.cache/clips4/bpe_simple_vocab_16e6.txt.gz. */
export function defaultTokenizer(): Tokenizer {
  if (defaultBpe) return defaultBpe;
  const file = process.env.CLIPS4_BPE ?? path.join(os.homedir(), '.cache', 'clips4', 'bpe_simple_vocab_16e6.txt.gz');
  if (!fs.existsSync(file)) {
    throw clips4Error(ErrorCodes.file, `CLIP's BPE vocabulary was not found at ${file}: run 'clips4 weights fetch bpe', set CLIPS4_BPE, or pass a vocab`);
  }
  defaultBpe = BpeTokenizer.fromBpeFile(file);
  return defaultBpe;
}

export interface TokenizeOptions {
  vocab?: Tokenizer | string;
  contextLength?: number;
  /** Cut texts that are too long (keep the first contextLength − 1 ids and end with <|endoftext|>); default true. */
  truncate?: boolean;
}

/** Texts → int64 [N, contextLength] (start, ids, end, zero padding). */
export function tokenize(texts: string[], options: TokenizeOptions = {}): Tensor<'int64'> {
  if (!Array.isArray(texts) || texts.some((t) => typeof t !== 'string')) throw invalidParameter('texts', 'an array of strings', texts);
  const o = optionsObject('options', options);
  onlyKeys('options', o, ['vocab', 'contextLength', 'truncate']);
  const ctx = opt(o, 'contextLength', 77, (n, v) => integer(n, v, 2, 100000));
  const truncate = opt(o, 'truncate', true, boolean);
  const tok = o.vocab === undefined ? defaultTokenizer() : typeof o.vocab === 'string' ? loadTokenizer(o.vocab) : (o.vocab as Tokenizer);
  const out = zeros('int64', [texts.length, ctx]);
  texts.forEach((text, i) => {
    let ids = [tok.sot, ...tok.encode(text), tok.eot];
    if (ids.length > ctx) {
      if (!truncate) throw clips4Error(ErrorCodes.invalidArg, `Text ${i} has ${ids.length} tokens, more than the context length ${ctx}`, 'RangeError');
      ids = ids.slice(0, ctx);
      ids[ctx - 1] = tok.eot;
    }
    ids.forEach((id, j) => (out.data[i * ctx + j] = BigInt(id)));
  });
  return out;
}

/**
 * Token ids [N,L] cut after the last column any text uses (padding is id 0 after each text's end
 * token; id 0 is also a BPE token, but never after the end). CLIP's text encoder is causal: no
 * position attends to a later one, so the columns after every text's end change nothing the end
 * token's embedding sees, and a batch of 10-token prompts need not pay for 77.
 */
export function trimPadding(tokens: Tensor<'int64'>): Tensor<'int64'> {
  const [N, L] = tokens.shape;
  let used = 1;
  for (let i = 0; i < N; i++) {
    for (let j = L - 1; j >= used; j--) {
      if (tokens.data[i * L + j] !== 0n) {
        used = j + 1;
        break;
      }
    }
  }
  if (used === L) return tokens;
  const data = new BigInt64Array(N * used);
  for (let i = 0; i < N; i++) data.set(tokens.data.subarray(i * L, i * L + used), i * used);
  return { dtype: 'int64', shape: [N, used], data };
}
