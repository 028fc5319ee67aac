// `clips4 segment` end to end on the real VOC fixture with the vit-tiny CLIP (random weights: the
// numbers mean nothing, the pipeline and the files must be right), then `clips4 score` on its output.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import test from 'ava';
import { decodeIndexedPng } from '../src/io/png';
import { fixture, repoRoot } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

const cli = (args: string[]) => spawnSync(process.execPath, ['--import=tsx', path.join(repoRoot, 'src/cli/main.ts'), ...args], { encoding: 'utf8', cwd: repoRoot });

test('clips4 segment and clips4 score on the real VOC images', (t) => {
  const out = tmpDir('clips4-segment-');
  const images = fs.readdirSync(fixture('real', 'VOCdevkit/VOC2012/JPEGImages')).map((f) => fixture('real', 'VOCdevkit/VOC2012/JPEGImages', f));
  const r = cli(['segment', '--clip', fixture('parity', 'vit-tiny.safetensors'), '--vocab', fixture('parity', 'bpe_simple_vocab_16e6.txt.gz'), '--classes', 'cat,dog,chair', '--background', 'background', '--size', '64', '--out', out, ...images]);
  t.is(r.status, 0, r.stderr);
  for (const img of images) {
    const base = path.basename(img, '.jpg');
    const label = decodeIndexedPng(fs.readFileSync(path.join(out, `${base}.png`)));
    const gt = decodeIndexedPng(fs.readFileSync(fixture('real', 'VOCdevkit/VOC2012/SegmentationClass', `${base}.png`)));
    t.deepEqual([label.width, label.height], [gt.width, gt.height]);
    t.true(Array.from(label.data).every((v) => v <= 3));
    const json = JSON.parse(fs.readFileSync(path.join(out, `${base}.json`), 'utf8'));
    t.deepEqual(json.classes, ['background', 'cat', 'dog', 'chair']);
    t.true(Math.abs((Object.values(json.areas) as number[]).reduce((a, b) => a + b, 0) - 1) < 1e-9);
    t.true(fs.existsSync(path.join(out, `${base}.overlay.png`)));
  }
  const s = cli(['score', '--pred', out, '--gt', fixture('real', 'VOCdevkit/VOC2012/SegmentationClass'), '--num-classes', '21', '--json']);
  t.is(s.status, 0, s.stderr);
  const scores = JSON.parse(s.stdout);
  t.true(scores.miou >= 0 && scores.miou <= 1);
  t.is(scores.confusion.length, 21);
  const bad = cli(['segment', '--clip', fixture('parity', 'vit-tiny.safetensors'), '--classes', 'cat', '--out', out]);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /no input images/);
});
