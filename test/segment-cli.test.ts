// `clips4 segment` end to end on the real VOC fixture with the vit-tiny CLIP (random weights: the
// numbers mean nothing, the pipeline and the files must be right), then `clips4 score` on its output.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import test from 'ava';
import { Segmenter } from '../src/infer/segmenter';
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
  t.is(scores.confusion.length, 21);
  // The scores against a confusion matrix built here from the PNGs (REFERENCE: 255 ignored; mIoU
  // over classes present in ground truth or prediction; pAcc = ΣTP / Σ labelled pixels).
  const cm = Array.from({ length: 21 }, () => new Array<number>(21).fill(0));
  for (const img of images) {
    const base = path.basename(img, '.jpg');
    const pred = decodeIndexedPng(fs.readFileSync(path.join(out, `${base}.png`))).data;
    const gt = decodeIndexedPng(fs.readFileSync(fixture('real', 'VOCdevkit/VOC2012/SegmentationClass', `${base}.png`))).data;
    gt.forEach((g, i) => g !== 255 && cm[g][pred[i]]++);
  }
  t.deepEqual(scores.confusion, cm);
  const ious = cm.map((row, c) => {
    const tp = row[c];
    const fn = row.reduce((a, b) => a + b, 0) - tp;
    const fp = cm.reduce((a, r) => a + r[c], 0) - tp;
    return tp + fn + fp > 0 ? tp / (tp + fn + fp) : null;
  });
  const present = ious.filter((v): v is number => v !== null);
  t.true(Math.abs(scores.miou - present.reduce((a, b) => a + b, 0) / present.length) < 1e-12);
  const labelled = cm.flat().reduce((a, b) => a + b, 0);
  t.true(Math.abs(scores.pacc - cm.reduce((a, r, c) => a + r[c], 0) / labelled) < 1e-12);
  const bad = cli(['segment', '--clip', fixture('parity', 'vit-tiny.safetensors'), '--classes', 'cat', '--out', out]);
  t.is(bad.status, 2);
  t.regex(bad.stderr, /no input images/);
});

test("clips4 segment passes MaskCLIP's options to the Segmenter, and refuses bad ones before writing", async (t) => {
  const image = fixture('real', 'VOCdevkit/VOC2012/JPEGImages', '2007_000063.jpg');
  const clip = fixture('parity', 'vit-tiny.safetensors');
  const vocab = fixture('parity', 'bpe_simple_vocab_16e6.txt.gz');
  const base = ['segment', '--clip', clip, '--vocab', vocab, '--classes', 'cat,dog,sky', '--size', '128'];
  const out = path.join(tmpDir('clips4-segment-opts-'), 'out');
  const r = cli([...base, '--background', 'background', '--threshold', '0.3', '--denoise', '0.3', '--key-smoothing', '1.01', '--out', out, image]);
  t.is(r.status, 0, r.stderr);
  const written = Array.from(decodeIndexedPng(fs.readFileSync(path.join(out, '2007_000063.png'))).data);
  const seg = await Segmenter.load({ clip, vocab, size: 128 });
  const options = { classes: ['cat', 'dog', 'sky'], background: 'background', threshold: 0.3, denoise: 0.3 };
  t.deepEqual(written, Array.from((await seg.segment(image, { ...options, keySmoothing: 1.01 })).labels));
  // Key smoothing changes this image's labels, so the equality above shows the CLI passed it on.
  t.notDeepEqual(written, Array.from((await seg.segment(image, options)).labels));
  const refused: Array<[string[], RegExp]> = [
    [['--key-smoothing', '2'], /options\.keySmoothing/],
    [['--denoise', 'x'], /--denoise expects a number, got 'x'/],
    [['--variant', 'fancy'], /options\.variant/],
    [['--key-smoothing', '0.5', '--window', '64', '--stride', '32'], /no sliding window\) for options\.keySmoothing/],
    [['--model', clip, '--variant', 'clearclip'], /no variant with options\.model \(MaskCLIP mode only\) for options\.variant/],
  ];
  for (const [args, message] of refused) {
    const dir = path.join(tmpDir('clips4-segment-bad-'), 'out');
    const b = cli([...base, ...args, '--out', dir, image]);
    t.not(b.status, 0, args.join(' '));
    t.regex(b.stderr, message, args.join(' '));
    t.false(fs.existsSync(dir), `${args.join(' ')} left ${dir} behind`);
  }
});
