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
import { umap } from '../plot/umap';
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

  // Class-mean embeddings of CLIP and CLIP-S4 on the val images, projected together by PCA.
  const means = async (encode: (t: Tensor<'float32'>) => Promise<Tensor<'float32'>>) => {
    const vids = splitIds(world.dir, 'val').slice(0, 100);
    const C = world.names.length;
    let sums: Float64Array | undefined;
    let D = 0;
    for (let i = 0; i < vids.length; i += 25) {
      const part = vids.slice(i, i + 25);
      const im = await loadImages(part.map((id) => imagePath(world.dir, id)));
      const e = await encode(normalizeImages(im));
      const [, d, h, w] = e.shape;
      D = d;
      sums ??= new Float64Array(C * d);
      part.forEach((id, k) => {
        const gt = readClassLabels(world.dir, id, world.labelOffset);
        for (let y = 0; y < h; y++) {
          for (let xx = 0; xx < w; xx++) {
            const c = gt.data[Math.floor(((y + 0.5) * gt.height) / h) * gt.width + Math.floor(((xx + 0.5) * gt.width) / w)];
            if (c === 255) continue;
            let n = 0;
            for (let j = 0; j < d; j++) n += e.data[((k * d + j) * h + y) * w + xx] ** 2;
            n = Math.sqrt(n) || 1;
            for (let j = 0; j < d; j++) sums![c * d + j] += e.data[((k * d + j) * h + y) * w + xx] / n;
          }
        }
      });
    }
    const out: number[][] = [];
    for (let c = 0; c < C; c++) {
      const v = Array.from(sums!.subarray(c * D, (c + 1) * D));
      const n = Math.hypot(...v) || 1;
      out.push(v.map((a) => a / n));
    }
    return out;
  };
  const pts = [...(await means((t) => f.clip.denseFeatures(t))), ...(await means((t) => f.embedder.embed(t)))];
  const xy = umap(pts, { seed: 0 });
  const xs = xy.map((p) => p[0]);
  const ys = xy.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const S = 520;
  const px = (v: number) => 40 + ((v - x0) / (x1 - x0 || 1)) * (S - 160);
  const py = (v: number) => 30 + ((v - y0) / (y1 - y0 || 1)) * (S - 80);
  const C = world.names.length;
  const marks = xy
    .map((p, i) => {
      const c = i % C;
      const ours = i >= C;
      const [r, g, b] = colour(c);
      const shape = ours ? `<rect x="${px(p[0]) - 5}" y="${py(p[1]) - 5}" width="10" height="10" fill="rgb(${r},${g},${b})" stroke="black"/>` : `<circle cx="${px(p[0])}" cy="${py(p[1])}" r="5" fill="rgb(${r},${g},${b})" stroke="black"/>`;
      return `${shape}<text x="${px(p[0]) + 7}" y="${py(p[1]) + 4}" font-family="sans-serif" font-size="9">${esc(world.names[c])}</text>`;
    })
    .join('');
  const projSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="${S}" height="${S}"><rect width="100%" height="100%" fill="white"/>${marks}<text x="10" y="16" font-family="sans-serif" font-size="12">class-mean embeddings, UMAP: circles CLIP (MaskCLIP), squares CLIP-S4</text></svg>`;
  await sharp(Buffer.from(projSvg)).png().toFile(path.join(out, 'projection.png'));
}
