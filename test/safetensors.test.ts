import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { safetensors } from '../src/index';
import { bufferSource, encode, readFrom } from '../src/safetensors';
import { float32, halfToFloat, type Tensor } from '../src/tensor';
import { fixture } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function sample(): Record<string, Tensor> {
  return {
    w: float32([2, 3], [1, -2, 3.5, 4, 5, 6]),
    h: { dtype: 'float16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }, // 1, -2
    b: { dtype: 'bfloat16', shape: [1], data: new Uint16Array([0x3fc0]) }, // 1.5
    i: { dtype: 'int64', shape: [3], data: new BigInt64Array([1n, -2n, 3n]) },
    j: { dtype: 'int32', shape: [], data: new Int32Array([7]) },
    u: { dtype: 'uint8', shape: [4], data: new Uint8Array([0, 1, 254, 255]) },
  };
}

test('write → read round trip keeps every dtype, shape, value and the metadata', async (t) => {
  const file = path.join(tmpDir(), 'a.safetensors');
  await safetensors.write(file, sample(), { hello: 'world' });
  const back = await safetensors.read(file);
  t.deepEqual(Object.keys(back).sort(), Object.keys(sample()).sort());
  for (const [k, v] of Object.entries(sample())) {
    t.is(back[k].dtype, v.dtype, k);
    t.deepEqual(back[k].shape, v.shape, k);
    t.deepEqual(Array.from(back[k].data as ArrayLike<unknown>), Array.from(v.data as ArrayLike<unknown>), k);
  }
  t.deepEqual(await safetensors.readMetadata(file), { hello: 'world' });
  const up = await safetensors.read(file, { upcast: true });
  t.deepEqual(Array.from(up.h.data as Float32Array), [1, -2]);
  t.deepEqual(Array.from(up.b.data as Float32Array), [1.5]);
  t.is(up.w.dtype, 'float32');
  // The file is what the format says: header length, JSON, 8-byte aligned data.
  const bytes = fs.readFileSync(file);
  const n = Number(bytes.readBigUInt64LE(0));
  t.is(n % 8, 0);
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  t.deepEqual(header.w, { dtype: 'F32', shape: [2, 3], data_offsets: [0, 24] });
});

test('missing file, directory and truncated file give errors naming the file', async (t) => {
  const dir = tmpDir();
  const missing = path.join(dir, 'nope.safetensors');
  await t.throwsAsync(safetensors.read(missing), { code: 'ERR_CLIPS4_FILE', message: `Cannot read safetensors file ${missing}: no such file` });
  await t.throwsAsync(safetensors.read(dir), { code: 'ERR_CLIPS4_FILE', message: /not a regular file/ });
  const file = path.join(dir, 'a.safetensors');
  await safetensors.write(file, sample());
  const whole = fs.readFileSync(file);
  fs.writeFileSync(file, whole.subarray(0, whole.length - 3));
  const err = await t.throwsAsync(safetensors.read(file), { code: 'ERR_CLIPS4_FORMAT' });
  t.true(err!.message.startsWith(`Invalid safetensors file ${file}:`), err!.message);
  t.regex(err!.message, /past the end|not described/);
});

test('header problems are named precisely', async (t) => {
  const make = (header: object, dataBytes: number) => {
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, json, Buffer.alloc(dataBytes)]);
  };
  const check = async (buf: Uint8Array, re: RegExp) => {
    await t.throwsAsync(readFrom(bufferSource('x.safetensors', buf)), { code: 'ERR_CLIPS4_FORMAT', message: re });
  };
  await check(make({ a: { dtype: 'I16', shape: [4], data_offsets: [0, 8] } }, 8), /tensor 'a' has dtype I16, which clips4 does not support/);
  // F64 is read (float64 training checkpoints), bit for bit.
  const f64 = await readFrom(bufferSource('x.safetensors', make({ a: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, 8)));
  t.is(f64.a.dtype, 'float64');
  t.deepEqual(Array.from(f64.a.data as Float64Array), [0]);
  await check(make({ a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 8), /tensor 'a' has shape \[3\] × 4 bytes = 12 bytes but data_offsets span 8/);
  await check(make({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [2, 6] } }, 8), /overlaps/);
  await check(make({ a: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, 8), /hole of 4 bytes before tensor 'a'/);
  await check(make({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 8), /4 bytes after the last tensor/);
  const huge = Buffer.alloc(16);
  huge.writeBigUInt64LE(1n << 40n);
  await check(huge, /exceeds the \d+-byte limit/);
  await check(Buffer.from([1, 2, 3]), /fewer than the 8-byte header length/);
});

test('reads the parity fixtures exactly (values checked against a raw byte decode)', async (t) => {
  for (const name of ['vit-tiny', 'rn-tiny', 'resnet-tiny', 'vit-tiny.io']) {
    const file = fixture('parity', `${name}.safetensors`);
    const all = await safetensors.read(file);
    const bytes = fs.readFileSync(file);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    t.is(Object.keys(all).length, names.length, name);
    for (const k of names) {
      const e = header[k];
      const raw = bytes.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
      t.deepEqual(all[k].shape, e.shape, `${name}:${k}`);
      const got = all[k].data;
      t.true(Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(raw), `${name}:${k} bytes`);
      if (e.dtype === 'F16') {
        const up = (await safetensors.read(file, { upcast: true, names: [k] }))[k].data as Float32Array;
        let worst = 0;
        for (let i = 0; i < up.length; i++) worst = Math.max(worst, Math.abs(up[i] - halfToFloat(raw.readUInt16LE(i * 2))));
        t.is(worst, 0, `${name}:${k} upcast`);
      }
    }
  }
});

// Deterministic PRNG for the fuzzer.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

test('fuzz: 10,000 mutated files never crash or hang, always parse or fail with a format Error', async (t) => {
  const base = concat(encode(sample(), { k: 'v' }));
  const n = Number(new DataView(base.buffer).getBigUint64(0, true));
  const rand = rng(1234);
  const int = (k: number) => Math.floor(rand() * k);
  let parsed = 0;
  let failed = 0;
  for (let i = 0; i < 10000; i++) {
    let buf: Uint8Array = base.slice();
    const kind = i % 4;
    if (kind === 0) {
      // bit flips, mostly in the length and header
      const flips = 1 + int(8);
      for (let f = 0; f < flips; f++) {
        const pos = rand() < 0.8 ? int(8 + n) : int(buf.length);
        buf[pos] ^= 1 << int(8);
      }
    } else if (kind === 1) {
      buf = buf.slice(0, int(buf.length));
    } else if (kind === 2) {
      // header text edits: replace a digit run, a dtype, or delete/insert characters
      let text = Buffer.from(buf.subarray(8, 8 + n)).toString('latin1');
      const r = rand();
      if (r < 0.4) text = text.replace(/\d+/g, (m) => (rand() < 0.3 ? String(int(1 << 20) - (rand() < 0.1 ? 1 << 19 : 0)) : m));
      else if (r < 0.6) text = text.replace(/"(F32|F16|BF16|I64|I32|U8)"/, `"${['F64', 'X', 'I8', 'BOOL', ''][int(5)]}"`);
      else {
        const p = int(text.length);
        text = rand() < 0.5 ? text.slice(0, p) + text.slice(p + 1 + int(4)) : text.slice(0, p) + '{[":,]}'[int(7)] + text.slice(p);
      }
      const json = Buffer.from(text, 'latin1');
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(rand() < 0.9 ? json.length : int(1 << 16)));
      buf = concat([len, json, base.subarray(8 + n)]);
    } else {
      // random header length values
      const len = Buffer.alloc(8);
      len.writeBigUInt64LE(BigInt(int(2 ** 31)) * (rand() < 0.5 ? 1n : 1n << BigInt(int(33))));
      buf = concat([len, base.subarray(8)]);
    }
    try {
      await readFrom(bufferSource(`fuzz-${i}`, buf));
      parsed++;
    } catch (err) {
      const e = err as Error & { code?: string };
      if (e.code !== 'ERR_CLIPS4_FORMAT' || !e.message.startsWith(`Invalid safetensors file fuzz-${i}:`)) {
        t.fail(`case ${i}: unexpected error ${e.name} ${e.code}: ${e.message}`);
        return;
      }
      failed++;
    }
  }
  t.is(parsed + failed, 10000);
  t.true(failed > 5000, `most mutations must be rejected (rejected ${failed})`);
});
