// Per-class IoU bar chart (paper-style per-class results), with some classes marked (e.g. unknown).
import { svgDocument, text, writeSvgPng } from './svg';

export interface BarOptions {
  title?: string;
  /** Classes drawn in the second colour (e.g. the unknown fold). */
  marked?: Iterable<string>;
  /** Legend words for the two colours. */
  legend?: [string, string];
}

/** SVG of IoU bars (0..1, null = absent class, drawn as a gap) labelled with the class names. */
export function perClassIouSvg(names: string[], iou: (number | null)[], o: BarOptions = {}): string {
  const marked = new Set(o.marked ?? []);
  const bw = names.length > 60 ? 12 : 28;
  const ch = 220;
  const left = 40;
  const bars = names
    .map((n, i) => {
      const v = iou[i] ?? 0;
      const fill = marked.has(n) ? '#e67e22' : '#27ae60';
      const x = left + i * bw;
      return `<rect x="${x}" y="${20 + ch * (1 - v)}" width="${bw - 4}" height="${ch * v}" fill="${fill}"/>` + text(x + bw / 2, ch + 30, iou[i] === null ? `${n} (absent)` : n, { transform: `rotate(60 ${x + bw / 2} ${ch + 30})`, size: bw < 20 ? 8 : 11 });
    })
    .join('');
  const axis = [0, 0.25, 0.5, 0.75, 1].map((v) => text(4, 24 + ch * (1 - v), (v * 100).toFixed(0), { size: 10 }) + `<line x1="36" x2="${left + names.length * bw}" y1="${20 + ch * (1 - v)}" y2="${20 + ch * (1 - v)}" stroke="#ddd"/>`).join('');
  const legend = o.legend ?? ['known', 'unknown'];
  const title = (o.title ?? 'per-class IoU (%)') + (marked.size ? `, green ${legend[0]}, orange ${legend[1]}` : '');
  return svgDocument(Math.max(400, 140 + names.length * bw, left + title.length * 7), ch + 150, axis + bars + text(left, 14, title, { size: 12 }));
}

export async function writePerClassIou(file: string, names: string[], iou: (number | null)[], o: BarOptions = {}): Promise<void> {
  await writeSvgPng(file, perClassIouSvg(names, iou, o));
}
