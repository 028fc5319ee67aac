// UMAP projection of class-mean embeddings of several feature sources together (supplement Fig. 2):
// one colour per class, one marker shape per source, class names beside the marks.
import { umap } from './umap';
import { classColour, esc, svgDocument, text, writeSvgPng } from './svg';

export interface ProjectionSet {
  /** Legend name of the source, e.g. 'CLIP (MaskCLIP)'. */
  label: string;
  /** One point per entry of `classes` (class-mean embeddings). */
  points: number[][];
}

const SHAPES = ['circle', 'square', 'diamond'] as const;

function mark(shape: (typeof SHAPES)[number], x: number, y: number, fill: string): string {
  if (shape === 'circle') return `<circle cx="${x}" cy="${y}" r="5" fill="${fill}" stroke="black"/>`;
  if (shape === 'square') return `<rect x="${x - 5}" y="${y - 5}" width="10" height="10" fill="${fill}" stroke="black"/>`;
  return `<polygon points="${x},${y - 6} ${x + 6},${y} ${x},${y + 6} ${x - 6},${y}" fill="${fill}" stroke="black"/>`;
}

/** Projects all sets' points together and draws them; `classes` are [label index, name] pairs. */
export async function writeProjection(file: string, classes: [number, string][], sets: ProjectionSet[], o: { seed?: number } = {}): Promise<void> {
  const pts = sets.flatMap((s) => s.points);
  const xy = umap(pts, { seed: o.seed ?? 0 });
  const xs = xy.map((p) => p[0]);
  const ys = xy.map((p) => p[1]);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const S = 520;
  const px = (v: number) => 40 + ((v - x0) / (x1 - x0 || 1)) * (S - 160);
  const py = (v: number) => 30 + ((v - y0) / (y1 - y0 || 1)) * (S - 80);
  const C = classes.length;
  const marks = xy
    .map((p, i) => {
      const [label, name] = classes[i % C];
      const [r, g, b] = classColour(label);
      return mark(SHAPES[Math.floor(i / C) % SHAPES.length], px(p[0]), py(p[1]), `rgb(${r},${g},${b})`) + `<text x="${px(p[0]) + 7}" y="${py(p[1]) + 4}" font-family="sans-serif" font-size="9">${esc(name)}</text>`;
    })
    .join('');
  const legend = sets.map((s, i) => `${['circles', 'squares', 'diamonds'][i % SHAPES.length]} ${s.label}`).join(', ');
  await writeSvgPng(file, svgDocument(S, S, marks + text(10, 16, `class-mean embeddings, UMAP: ${legend}`, { size: 12 })));
}
