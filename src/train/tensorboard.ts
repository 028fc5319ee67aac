// TensorBoard event files written directly: TFRecord framing (length, masked CRC-32C of the length,
// data, masked CRC-32C of the data) around hand-encoded Event protobufs with scalar summaries.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const table = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32C (Castagnoli). */
export function crc32c(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = table[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC. */
export function maskedCrc(buf: Uint8Array): number {
  const c = crc32c(buf);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

function varint(n: number | bigint): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}

const key = (field: number, wire: number) => varint((field << 3) | wire);
const bytesField = (field: number, data: Uint8Array) => [...key(field, 2), ...varint(data.length), ...data];

function event(step: number, wallTime: number, summaryOrVersion: { tag: string; value: number }[] | string): Uint8Array {
  const out: number[] = [];
  const wt = Buffer.alloc(8);
  wt.writeDoubleLE(wallTime);
  out.push(...key(1, 1), ...wt);
  out.push(...key(2, 0), ...varint(step));
  if (typeof summaryOrVersion === 'string') out.push(...bytesField(3, Buffer.from(summaryOrVersion)));
  else {
    const summary: number[] = [];
    for (const { tag, value } of summaryOrVersion) {
      const f = Buffer.alloc(4);
      f.writeFloatLE(value);
      const v = [...bytesField(1, Buffer.from(tag)), ...key(2, 5), ...f];
      summary.push(...bytesField(1, Uint8Array.from(v)));
    }
    out.push(...bytesField(5, Uint8Array.from(summary)));
  }
  return Uint8Array.from(out);
}

function record(data: Uint8Array): Buffer {
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(data.length));
  const c1 = Buffer.alloc(4);
  c1.writeUInt32LE(maskedCrc(len));
  const c2 = Buffer.alloc(4);
  c2.writeUInt32LE(maskedCrc(data));
  return Buffer.concat([len, c1, Buffer.from(data), c2]);
}

export class TensorBoardWriter {
  readonly file: string;
  private fd: number;

  constructor(dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.${os.hostname()}`);
    this.fd = fs.openSync(this.file, 'a');
    fs.writeSync(this.fd, record(event(0, Date.now() / 1000, 'brain.Event:2')));
  }

  scalars(step: number, values: Record<string, number>): void {
    const list = Object.entries(values).filter(([, v]) => Number.isFinite(v)).map(([tag, value]) => ({ tag, value }));
    fs.writeSync(this.fd, record(event(step, Date.now() / 1000, list)));
  }

  close(): void {
    fs.fsyncSync(this.fd);
    fs.closeSync(this.fd);
  }
}
