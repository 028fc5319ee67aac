// The controlled (oracle) teacher: the ground truth's text embeddings pooled to the teacher's
// stride, a fraction of cells corrupted in coherent blobs of another class, noise, renormalised.
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { Clip } from '../src/clip/clip';
import { resizedLabel, vocDataset } from '../src/data/datasets';
import { makeRng } from '../src/rng';
import * as safetensors from '../src/safetensors';
import { halfToFloat } from '../src/tensor';
import { resolveConfig } from '../src/train/config';
import { runTraining } from '../src/train/run';
import { fixture, repoRoot } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';
import { oracleMap, teacherInput } from '../src/train/teacher';

const E = 6;
const C = 4;
// Orthonormal class codes: a cell's class is its largest coordinate.
const text = { dtype: 'float32' as const, shape: [C, E], data: new Float32Array(C * E).map((_, i) => (i % E === Math.floor(i / E) ? 1 : 0)) };

/** A 64×48 label map: four horizontal bands of classes 0..3, an ignored strip at the bottom. */
function bands(width = 64, height = 48): Uint8Array {
  const l = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) l[y * width + x] = y >= 44 ? 255 : Math.floor(y / 11);
  return l;
}

const at = (f: Float32Array, cells: number, cell: number) => Array.from({ length: E }, (_, e) => f[e * cells + cell]);

test('without corruption or noise each cell is the normalised mean of its pixels\' class embeddings', (t) => {
  const fh = 12;
  const fw = 16;
  const f = oracleMap(bands(), 64, 48, fh, fw, { text, corruption: 0, noise: 0 }, makeRng(1));
  for (let cy = 0; cy < fh; cy++) {
    for (let cx = 0; cx < fw; cx++) {
      // Cell rows 4 px tall: count each class's rows by hand.
      const counts = new Array(C).fill(0);
      for (let y = cy * 4; y < cy * 4 + 4; y++) if (y < 44) counts[Math.floor(y / 11)]++;
      const total = counts.reduce((a, b) => a + b, 0);
      const v = at(f, fh * fw, cy * fw + cx);
      if (total === 0) {
        t.true(v.every((x) => x === 0), 'an all-ignore cell carries nothing');
        continue;
      }
      const want = counts.map((n) => n / total);
      const norm = Math.hypot(...want);
      want.forEach((w, c) => t.true(Math.abs(v[c] - w / norm) < 1e-6, `cell ${cy},${cx} class ${c}: ${v[c]} vs ${w / norm}`));
    }
  }
});

test('corruption replaces the asked fraction of cells, in blobs, never by the cell\'s own class; noise keeps unit norms', (t) => {
  const fh = 24;
  const fw = 32;
  const W = 128;
  const H = 96;
  const label = bands(W, H).map((_, i) => Math.floor(Math.floor(i / W) / 24));
  const clean = oracleMap(label, W, H, fh, fw, { text, corruption: 0, noise: 0 }, makeRng(2));
  for (const p of [0.2, 0.4]) {
    const f = oracleMap(label, W, H, fh, fw, { text, corruption: p, noise: 0 }, makeRng(3));
    const cells = fh * fw;
    const argmax = (m: Float32Array, cell: number) => at(m, cells, cell).reduce((b, v, i, a) => (v > a[b] ? i : b), 0);
    const changed = Array.from({ length: cells }, (_, c) => argmax(f, c) !== argmax(clean, c));
    const fraction = changed.filter(Boolean).length / cells;
    t.true(Math.abs(fraction - p) < 0.01, `p ${p}: ${fraction} of the cells changed class`);
    // Coherent blobs: a changed cell has far more changed 4-neighbours than independent flips (p) would give.
    let pairs = 0;
    let both = 0;
    for (let y = 0; y < fh; y++) for (let x = 0; x + 1 < fw; x++) if (changed[y * fw + x]) {
      pairs++;
      if (changed[y * fw + x + 1]) both++;
    }
    t.true(both / pairs > p + 0.25, `p ${p}: ${(both / pairs).toFixed(2)} of changed cells have a changed right neighbour`);
  }
  const noisy = oracleMap(label, W, H, fh, fw, { text, corruption: 0.4, noise: 0.3 }, makeRng(4));
  for (let c = 0; c < fh * fw; c++) t.true(Math.abs(Math.hypot(...at(noisy, fh * fw, c)) - 1) < 1e-5);
  t.notDeepEqual(noisy, oracleMap(label, W, H, fh, fw, { text, corruption: 0.4, noise: 0.3 }, makeRng(5)), 'another seed, other corruption');
  t.deepEqual(noisy, oracleMap(label, W, H, fh, fw, { text, corruption: 0.4, noise: 0.3 }, makeRng(4)), 'the same seed, the same features');
});

test('the teacher input keeps the aspect ratio at the asked shorter side, in multiples of the CLIP stride', (t) => {
  t.deepEqual(teacherInput(96, 96, 384, 32), { width: 384, height: 384 });
  t.deepEqual(teacherInput(500, 375, 448, 16), { width: 592, height: 448 });
  t.deepEqual(teacherInput(100, 60, 0, 16), { width: 96, height: 64 });
});

test('clip.teacher oracle on a dataset without labels is refused with the fix', async (t) => {
  const dir = tmpDir('clips4-oracle-folder-');
  const voc = fixture('real', 'VOCdevkit', 'VOC2012', 'JPEGImages');
  for (const f of fs.readdirSync(voc)) fs.copyFileSync(path.join(voc, f), path.join(dir, f));
  const { config } = resolveConfig(path.join(repoRoot, 'configs', 'small.json'), ['data.kind=folder', `data.root=${dir}`, 'clip.teacher=oracle', 'train.iterations=1', `clip.weights=${fixture('parity', 'vit-tiny.safetensors')}`, `clip.vocab=${fixture('parity', 'bpe_simple_vocab_16e6.txt.gz')}`, 'prototypes.known=["cat"]']);
  await t.throwsAsync(runTraining(config, { out: path.join(dir, 'out'), log: () => {} }), { message: /clip\.teacher 'oracle' builds the teacher from label maps, but folder has none: use a labelled dataset/ });
});

test('a run with the oracle teacher learns from the labels: its cache holds the oracle features', async (t) => {
  const dir = tmpDir('clips4-oracle-run-');
  const { config } = resolveConfig(path.join(repoRoot, 'configs', 'small.json'), [`data.root=${fixture('real', 'VOCdevkit')}`, 'clip.teacher=oracle', 'clip.oracleCorruption=0', 'clip.oracleNoise=0', 'train.iterations=1', 'data.resize=0', `clip.weights=${fixture('parity', 'vit-tiny.safetensors')}`, `clip.vocab=${fixture('parity', 'bpe_simple_vocab_16e6.txt.gz')}`]);
  const out = path.join(dir, 'out');
  await runTraining(config, { out, log: () => {} });
  // With no corruption and no noise every oracle feature is a normalised mix of class text
  // embeddings; where one class covers a whole 16-pixel cell it is that class's embedding.
  const protos = await safetensors.read(path.join(out, 'prototypes.safetensors'));
  const clip = await Clip.load(fixture('parity', 'vit-tiny.safetensors'), { vocab: fixture('parity', 'bpe_simple_vocab_16e6.txt.gz') });
  const ds = vocDataset(fixture('real', 'VOCdevkit'), 'val');
  const text = await clip.textClassifier(ds.classes!, { templates: (config.prototypes as { templates: string[] }).templates });
  const cacheFile = fs.readdirSync(path.join(out, 'cache')).find((f) => f.endsWith('.f16'))!;
  const index = JSON.parse(fs.readFileSync(path.join(out, 'cache', `${cacheFile}.json`), 'utf8')) as { runs: [number, number, number, number][] };
  const [E, fh, fw] = index.runs[0];
  const half = new Uint16Array(fs.readFileSync(path.join(out, 'cache', cacheFile)).buffer.slice(0, E * fh * fw * 2));
  const feats = Array.from(half, halfToFloat);
  // The two photos differ in size and each keeps its own: the label is the whole photo's.
  const item = ds.items[0];
  t.true(fw > fh, `the landscape photo's features are ${fw}×${fh}, its aspect`);
  const label = { data: await resizedLabel(ds, item, fw * 16, fh * 16, 'fill'), width: fw * 16, height: fh * 16 };
  const cellW = 16;
  const cellH = 16;
  let pure = 0;
  for (let cy = 0; cy < fh; cy++) {
    for (let cx = 0; cx < fw; cx++) {
      const classes = new Set<number>();
      for (let y = Math.floor(cy * cellH); y < Math.floor((cy + 1) * cellH); y++) for (let x = Math.floor(cx * cellW); x < Math.floor((cx + 1) * cellW); x++) classes.add(label.data[y * label.width + x]);
      if (classes.size !== 1 || classes.has(255)) continue;
      const c = [...classes][0];
      const v = Array.from({ length: E }, (_, e) => feats[e * fh * fw + cy * fw + cx]);
      const want = Array.from({ length: E }, (_, e) => text.data[c * E + e]);
      const cos = v.reduce((s, x, e) => s + x * want[e], 0) / (Math.hypot(...v) * Math.hypot(...want));
      t.true(cos > 0.999, `cell ${cy},${cx} (class ${ds.classes![c]}): cosine ${cos}`);
      pure++;
    }
  }
  t.true(pure > 10, `${pure} single-class cells checked`);
  t.truthy(protos.known);
});
