// Contact sheet of retrieved segments (paper Fig. 4b): one row per class, one cell per hit: the image
// cropped around the segment (with a margin), the segment outlined and the rest dimmed, its score below.
import sharp from 'sharp';
import type { RawImage } from '../image/load';
import { svgDocument, text, writeSvgPng } from './svg';

export interface SheetCell {
  image: RawImage;
  box: [number, number, number, number];
  /** 1 inside the segment, over the box (row-major). */
  mask: Uint8Array;
  caption: string;
}

/** RGB crop of the box plus a margin: outside the segment dimmed, its border drawn in `outline`. */
export function highlightCrop(c: SheetCell, margin = 0.15, outline: [number, number, number] = [255, 210, 0]): { data: Buffer; width: number; height: number } {
  const [bx0, by0, bx1, by1] = c.box;
  const bw = bx1 - bx0;
  const bh = by1 - by0;
  const mx = Math.round(bw * margin);
  const my = Math.round(bh * margin);
  const x0 = Math.max(0, bx0 - mx);
  const y0 = Math.max(0, by0 - my);
  const x1 = Math.min(c.image.width, bx1 + mx);
  const y1 = Math.min(c.image.height, by1 + my);
  const W = x1 - x0;
  const H = y1 - y0;
  const inside = (x: number, y: number) => x >= bx0 && x < bx1 && y >= by0 && y < by1 && c.mask[(y - by0) * bw + (x - bx0)] === 1;
  const data = Buffer.alloc(W * H * 3);
  const t = Math.max(1, Math.round(Math.max(W, H) / 100));
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const o = ((y - y0) * W + (x - x0)) * 3;
      const i = (y * c.image.width + x) * 3;
      const on = inside(x, y);
      let edge = false;
      if (on) for (let d = 1; d <= t && !edge; d++) edge = !inside(x - d, y) || !inside(x + d, y) || !inside(x, y - d) || !inside(x, y + d);
      for (let k = 0; k < 3; k++) data[o + k] = edge ? outline[k] : on ? c.image.data[i + k] : Math.round(c.image.data[i + k] * 0.35);
    }
  }
  return { data, width: W, height: H };
}

export async function writeContactSheet(file: string, rows: { label: string; cells: SheetCell[] }[], o: { cell?: number; title?: string } = {}): Promise<void> {
  const S = o.cell ?? 128;
  const left = 120;
  const top = o.title ? 26 : 6;
  const rowH = S + 20;
  const cols = Math.max(1, ...rows.map((r) => r.cells.length));
  const tiles: sharp.OverlayOptions[] = [];
  const labels: string[] = [];
  for (const [ri, row] of rows.entries()) {
    const y = top + ri * rowH;
    labels.push(text(6, y + S / 2, row.label, { size: 13 }));
    for (const [ci, cell] of row.cells.entries()) {
      const crop = highlightCrop(cell);
      const input = await sharp(crop.data, { raw: { width: crop.width, height: crop.height, channels: 3 } }).resize(S, S, { fit: 'contain', background: { r: 255, g: 255, b: 255 } }).png().toBuffer();
      const x = left + ci * (S + 6);
      tiles.push({ input, left: x, top: y });
      labels.push(text(x + S / 2, y + S + 14, cell.caption, { size: 10, anchor: 'middle' }));
    }
    if (row.cells.length === 0) labels.push(text(left, y + S / 2, 'no segments', { fill: '#999' }));
  }
  const svg = svgDocument(left + cols * (S + 6), top + rows.length * rowH + 4, (o.title ? text(6, 18, o.title, { size: 13 }) : '') + labels.join(''));
  await writeSvgPng(file, svg, tiles);
}
