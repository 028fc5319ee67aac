// Training-curve PNGs: one panel per metric laid out 3 per row, lines that follow the values, torn
// last JSONL lines skipped, clear errors when nothing can be drawn.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import sharp from 'sharp';
import { curvesSvg, niceTicks, readMetricRows, renderCurves } from '../src/plot/curves';
import { tmpDir } from './helpers/tmp';

test('niceTicks picks 1/2/5 steps inside the range', (t) => {
  t.deepEqual(niceTicks(0, 1, 5), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  t.deepEqual(niceTicks(3, 97, 4), [20, 40, 60, 80]);
  t.deepEqual(niceTicks(5, 5), [5]);
});

test('renderCurves draws a panel per key from a JSONL file (3 per row) and skips a torn last line', async (t) => {
  const dir = tmpDir('clips4-curves-');
  const file = path.join(dir, 'metrics.jsonl');
  const rows = Array.from({ length: 30 }, (_, i) => ({ loss: 3 / (i + 1), contrastive: 1, embedding: 0.5 - i / 100, semantic: 2, avgsim: i / 30, lr: 0.1 * (1 - i / 30) ** 0.9, seconds: 0.2 }));
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join('\n') + '\n{"loss": 0.1, "contr');
  t.is(readMetricRows(file).length, 30);
  const png = path.join(dir, 'curves.png');
  await renderCurves(file, png);
  const meta = await sharp(png).metadata();
  // Six default keys present (loss, contrastive, embedding, semantic, avgsim, lr): 3 columns × 2 rows of 320×200.
  t.deepEqual([meta.format, meta.width, meta.height], ['png', 960, 400]);
  await renderCurves(rows, png, { keys: ['loss'], title: 'run' });
  const one = await sharp(png).metadata();
  t.deepEqual([one.width, one.height], [320, 224]);
});

test('a line goes up on screen when its values grow, and steps come from the step key', (t) => {
  const svg = curvesSvg([{ iteration: 10, acc: 0.1 }, { iteration: 20, acc: 0.5 }, { iteration: 40, acc: 0.9 }], { keys: ['acc'] });
  const pts = /points="([^"]+)"/.exec(svg)![1].split(' ').map((p) => p.split(',').map(Number));
  t.is(pts.length, 3);
  t.true(pts[0][1] > pts[1][1] && pts[1][1] > pts[2][1], 'SVG y decreases as the value increases');
  // x is proportional to the iteration: 10 → 20 is half of 20 → 40.
  t.true(Math.abs((pts[1][0] - pts[0][0]) * 2 - (pts[2][0] - pts[1][0])) < 0.2);
  t.regex(svg, />acc</);
});

test('non-finite values are left out; rows without any known key give a clear error', (t) => {
  const svg = curvesSvg([{ loss: 1 }, { loss: null }, { loss: 0.5 }], { keys: ['loss'] });
  t.is(/points="([^"]+)"/.exec(svg)![1].split(' ').length, 2);
  t.throws(() => curvesSvg([{ foo: 1 }]), { message: /no metric to draw.*options\.keys/ });
  t.throws(() => readMetricRows('/nonexistent/metrics.jsonl'), { message: /metrics file .* not found/ });
});

test('renderCurves checks its arguments', async (t) => {
  await t.throwsAsync(renderCurves([{ loss: 1 }], '/tmp/x.png', { key: ['loss'] } as never), { message: /did you mean 'keys'.*for options\.key / });
  await t.throwsAsync(renderCurves([{ loss: 1 }], '/tmp/x.png', { keys: [] }), { message: /options\.keys/ });
  await t.throwsAsync(renderCurves(42 as never, '/tmp/x.png'), { message: /Expected a metrics JSONL path or an array of row objects for source/ });
});
