// A grid of images next to label maps (ground truth, predictions) in class colours, with a legend of
// the classes shown; marked classes (e.g. unknown) are flagged in the legend.
import sharp from 'sharp';
import type { RawImage } from '../image/load';
import { classColour, svgDocument, text, writeSvgPng } from './svg';

export interface GridRow {
  image: RawImage;
  /** Label maps at the image's size (255 = ignore, drawn black). */
  maps: ArrayLike<number>[];
}

function colourise(labels: ArrayLike<number>, n: number): Buffer {
  const px = Buffer.alloc(n * 3);
  for (let i = 0; i < n; i++) px.set(classColour(labels[i]), i * 3);
  return px;
}

export async function writeLabelGrid(file: string, rows: GridRow[], o: { columns: string[]; names: string[]; marked?: Iterable<string>; tileHeight?: number }): Promise<void> {
  const th = o.tileHeight ?? 120;
  const marked = new Set(o.marked ?? []);
  const top = 22;
  const widths = rows.map((r) => Math.max(1, Math.round((r.image.width * th) / r.image.height)));
  const tw = Math.max(...widths, 60);
  const tiles: sharp.OverlayOptions[] = [];
  const present = new Set<number>();
  for (let ri = 0; ri < rows.length; ri++) {
    const { image, maps } = rows[ri];
    const n = image.width * image.height;
    const panels = [{ data: Buffer.from(image.data), kernel: 'lanczos3' as const }, ...maps.map((m) => ({ data: colourise(m, n), kernel: 'nearest' as const }))];
    for (const m of maps) for (let i = 0; i < n; i++) if (m[i] !== 255) present.add(m[i]);
    for (let c = 0; c < panels.length; c++) {
      const input = await sharp(panels[c].data, { raw: { width: image.width, height: image.height, channels: 3 } }).resize(widths[ri], th, { kernel: panels[c].kernel }).png().toBuffer();
      tiles.push({ input, left: c * (tw + 4), top: top + ri * (th + 4) });
    }
  }
  const width = Math.max(o.columns.length * (tw + 4), 400);
  const classes = [...present].sort((a, b) => a - b).filter((c) => c < o.names.length);
  const perRow = Math.max(1, Math.floor(width / 160));
  const legendTop = top + rows.length * (th + 4) + 6;
  const legend = classes
    .map((c, i) => {
      const [r, g, b] = classColour(c);
      const x = (i % perRow) * 160 + 6;
      const y = legendTop + Math.floor(i / perRow) * 16;
      return `<rect x="${x}" y="${y}" width="12" height="12" fill="rgb(${r},${g},${b})"/>` + text(x + 16, y + 11, o.names[c] + (marked.has(o.names[c]) ? ' (unknown)' : ''));
    })
    .join('');
  const header = o.columns.map((c, i) => text(i * (tw + 4) + 4, 16, c, { size: 13 })).join('');
  const height = legendTop + Math.ceil(classes.length / perRow) * 16 + 8;
  await writeSvgPng(file, svgDocument(width, height, header + legend), tiles);
}
