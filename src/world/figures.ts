// Report figures rendered without a browser: SVG drawn here, rasterised by sharp.
import * as path from 'node:path';
import sharp from 'sharp';
import type { Clip } from '../clip/clip';
import type { ConfusionMatrix } from '../eval/metrics';
import { normalizeImages } from '../image/normalize';
import { call, native } from '../native';
import type { PixelEmbedder } from '../net/embedder';
import type { Tensor } from '../tensor';
import { imagePath, loadImages, readClassLabels, splitIds, type WorldInfo } from './data';
import { ClassMeans } from '../eval/class-means';
import { writeProjection } from '../plot/projection';
import { writePerClassIou } from '../plot/bars';
import { classColour, esc } from '../plot/svg';

const colour = classColour;

function labelImage(labels: ArrayLike<number>, w: number, h: number): Buffer {
  const px = Buffer.alloc(w * h * 3);
  for (let i = 0; i < w * h; i++) px.set(colour(labels[i]), i * 3);
  return px;
}

async function raw(px: Uint8Array, w: number, h: number, scale: number): Promise<Buffer> {
  return sharp(Buffer.from(px), { raw: { width: w, height: h, channels: 3 } }).resize(w * scale, h * scale, { kernel: 'nearest' }).png().toBuffer();
}

export async function writeFigures(
  out: string,
  f: { world: WorldInfo; clip: Clip; embedder: PixelEmbedder; plus: PixelEmbedder; allText: Tensor<'float32'>; results: Map<string, { cm: ConfusionMatrix }>; maskclipCm: ConfusionMatrix },
): Promise<void> {
  const { world } = f;
  // Overlays: image | ground truth | MaskCLIP | MaskCLIP+ | CLIP-S4 for six val images.
  const ids = splitIds(world.dir, 'val').slice(0, 6);
  const imgs = await loadImages(ids.map((id) => imagePath(world.dir, id)));
  const x = normalizeImages(imgs);
  const { width: W, height: H } = imgs[0];
  const predict = async (feats: Tensor<'float32'>) => (await call(() => native().segment.classify(feats, f.allText, { height: H, width: W }))).labels.data as Int32Array;
  const preds = [await predict(await f.clip.denseFeatures(x)), await predict(await f.plus.embed(x)), await predict(await f.embedder.embed(x))];
  const scale = 2;
  const tiles: sharp.OverlayOptions[] = [];
  const cols = ['image', 'ground truth', 'MaskCLIP', 'MaskCLIP+', 'CLIP-S4'];
  const top = 24;
  for (let r = 0; r < ids.length; r++) {
    const gt = readClassLabels(world.dir, ids[r], world.labelOffset).data;
    const panels = [imgs[r].data, labelImage(gt, W, H), ...preds.map((p) => labelImage(p.subarray(r * W * H, (r + 1) * W * H), W, H))];
    for (let c = 0; c < panels.length; c++) tiles.push({ input: await raw(panels[c], W, H, scale), left: c * W * scale, top: top + r * H * scale });
  }
  const width = cols.length * W * scale;
  const legendH = 16 * Math.ceil(world.names.length / 4) + 8;
  const height = top + ids.length * H * scale + legendH;
  const header = cols.map((c, i) => `<text x="${i * W * scale + 6}" y="17" font-family="sans-serif" font-size="14">${esc(c)}</text>`).join('');
  const legend = world.names
    .map((n, i) => {
      const [r, g, b] = colour(i);
      const lx = (i % 4) * (width / 4) + 6;
      const ly = top + ids.length * H * scale + 6 + Math.floor(i / 4) * 16;
      const u = world.unknownFold.includes(n) ? ' (unknown)' : '';
      return `<rect x="${lx}" y="${ly}" width="12" height="12" fill="rgb(${r},${g},${b})"/><text x="${lx + 16}" y="${ly + 11}" font-family="sans-serif" font-size="11">${esc(n + u)}</text>`;
    })
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="white"/>${header}${legend}</svg>`;
  await sharp(Buffer.from(svg)).composite(tiles).png().toFile(path.join(out, 'overlays.png'));

  // Per-class IoU bars of CLIP-S4.
  await writePerClassIou(path.join(out, 'per-class-iou.png'), world.names, f.results.get('clips4')!.cm.iou(), { title: 'CLIP-S4 per-class IoU (%)', marked: world.unknownFold });

  // Class-mean embeddings of CLIP and CLIP-S4 on the val images, projected together by UMAP.
  const means = async (encode: (t: Tensor<'float32'>) => Promise<Tensor<'float32'>>) => {
    const vids = splitIds(world.dir, 'val').slice(0, 100);
    const acc = new ClassMeans(world.names.length);
    for (let i = 0; i < vids.length; i += 25) {
      const part = vids.slice(i, i + 25);
      const e = await encode(normalizeImages(await loadImages(part.map((id) => imagePath(world.dir, id)))));
      part.forEach((id, k) => acc.add(e, k, readClassLabels(world.dir, id, world.labelOffset)));
    }
    return acc.means();
  };
  await writeProjection(path.join(out, 'projection.png'), world.names.map((n, i) => [i, n]), [
    { label: 'CLIP (MaskCLIP)', points: await means((t) => f.clip.denseFeatures(t)) },
    { label: 'CLIP-S4', points: await means((t) => f.embedder.embed(t)) },
  ]);
}
