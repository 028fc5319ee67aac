// TensorBoard event files: CRC-32C known vector, and the file parsed back by an independent
// minimal reader (framing, masked CRCs, Event/Summary fields).
import * as fs from 'node:fs';
import test from 'ava';
import { crc32c, maskedCrc, TensorBoardWriter } from '../src/train/tensorboard';
import { tmpDir } from './helpers/tmp';

test('CRC-32C of "123456789" is 0xE3069283', (t) => {
  t.is(crc32c(Buffer.from('123456789')), 0xe3069283);
});

function readVarint(b: Buffer, pos: number): [number, number] {
  let v = 0;
  let shift = 0;
  for (;;) {
    const x = b[pos++];
    v += (x & 0x7f) * 2 ** shift;
    shift += 7;
    if (!(x & 0x80)) return [v, pos];
  }
}

function fields(b: Buffer): { field: number; wire: number; value: number | Buffer }[] {
  const out = [];
  let pos = 0;
  while (pos < b.length) {
    let k;
    [k, pos] = readVarint(b, pos);
    const field = Math.floor(k / 8);
    const wire = k & 7;
    if (wire === 0) {
      let v;
      [v, pos] = readVarint(b, pos);
      out.push({ field, wire, value: v });
    } else if (wire === 1) {
      out.push({ field, wire, value: b.readDoubleLE(pos) });
      pos += 8;
    } else if (wire === 5) {
      out.push({ field, wire, value: b.readFloatLE(pos) });
      pos += 4;
    } else {
      let len;
      [len, pos] = readVarint(b, pos);
      out.push({ field, wire, value: b.subarray(pos, pos + len) });
      pos += len;
    }
  }
  return out;
}

test('events round-trip through an independent reader', (t) => {
  const w = new TensorBoardWriter(tmpDir());
  w.scalars(1, { loss: 2.5, avgsim: 0.25 });
  w.scalars(2, { loss: 1.5, bad: NaN });
  w.close();
  const buf = fs.readFileSync(w.file);
  const records: Buffer[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const lenBuf = buf.subarray(pos, pos + 8);
    const len = Number(lenBuf.readBigUInt64LE(0));
    t.is(buf.readUInt32LE(pos + 8), maskedCrc(lenBuf));
    const data = buf.subarray(pos + 12, pos + 12 + len);
    t.is(buf.readUInt32LE(pos + 12 + len), maskedCrc(data));
    records.push(data);
    pos += 16 + len;
  }
  t.is(records.length, 3);
  t.is((fields(records[0]).find((f) => f.field === 3)!.value as Buffer).toString(), 'brain.Event:2');
  const e1 = fields(records[1]);
  t.is(e1.find((f) => f.field === 2)!.value, 1);
  const values = fields(e1.find((f) => f.field === 5)!.value as Buffer).map((v) => fields(v.value as Buffer));
  t.deepEqual(values.map((v) => [(v.find((f) => f.field === 1)!.value as Buffer).toString(), v.find((f) => f.field === 2)!.value]), [['loss', 2.5], ['avgsim', 0.25]]);
  const v2 = fields(fields(records[2]).find((f) => f.field === 5)!.value as Buffer);
  t.is(v2.length, 1, 'non-finite values are skipped');
});
