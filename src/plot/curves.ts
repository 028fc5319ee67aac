// Training curves: one small line chart per metric (their scales differ too much to share an axis)
// from a run's metrics JSONL (one JSON object of numbers per training step, as src/train/run.ts
// writes), rendered to PNG without a browser.
import * as fs from 'node:fs';
import { clips4Error, ErrorCodes } from '../errors';
import { invalidParameter } from '../errors';
import { onlyKeys, optionsObject, opt, string, stringArray } from '../validate';
import { svgDocument, text, writeSvgPng } from './svg';

export type MetricRow = Record<string, unknown>;

export interface CurveOptions {
  /** Metrics to draw, one panel each (default: the usual training keys present in the rows). */
  keys?: string[];
  /** The key holding the step number; rows are numbered 1, 2, … when it is absent (default 'iteration'). */
  stepKey?: string;
  title?: string;
}

/** The keys drawn when none are given, in this order, if the rows have them. */
export const DEFAULT_CURVE_KEYS = ['loss', 'contrastive', 'embedding', 'semantic', 'unknown', 'avgsim', 'lr', 'imagesPerSecond'];

/** Reads a metrics JSONL file; a torn last line (a run killed mid-write) is skipped. */
export function readMetricRows(file: string): MetricRow[] {
  if (!fs.existsSync(file)) throw clips4Error(ErrorCodes.file, `metrics file ${file} not found`);
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
  const rows: MetricRow[] = [];
  lines.forEach((l, i) => {
    try {
      rows.push(JSON.parse(l) as MetricRow);
    } catch {
      if (i !== lines.length - 1) throw clips4Error(ErrorCodes.file, `${file}: line ${i + 1} is not JSON`);
    }
  });
  return rows;
}

/** Tick values inside [lo, hi] at a step of 1, 2 or 5 × a power of ten, the one nearest (hi − lo)/n. */
export function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * p).reduce((a, b) => (Math.abs(b - raw) < Math.abs(a - raw) ? b : a));
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

const fmt = (v: number) => (Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(1) : String(Number(v.toPrecision(3))));

function panel(x0: number, y0: number, w: number, h: number, key: string, pts: [number, number][]): string {
  const parts = [text(x0 + w / 2, y0 + 12, key, { size: 12, anchor: 'middle' })];
  const px0 = x0 + 50;
  const py0 = y0 + 20;
  const pw = w - 60;
  const ph = h - 45;
  parts.push(`<rect x="${px0}" y="${py0}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  if (pts.length === 0) return parts.join('') + text(px0 + pw / 2, py0 + ph / 2, 'no values', { anchor: 'middle', fill: '#999' });
  const xs = pts.map((p) => p[0]);
  const ys = pts.map((p) => p[1]);
  let [xl, xh] = [Math.min(...xs), Math.max(...xs)];
  let [yl, yh] = [Math.min(...ys), Math.max(...ys)];
  if (xh === xl) [xl, xh] = [xl - 1, xh + 1];
  if (yh === yl) [yl, yh] = [yl - Math.abs(yl || 1) * 0.1, yh + Math.abs(yh || 1) * 0.1];
  const sx = (v: number) => px0 + ((v - xl) / (xh - xl)) * pw;
  const sy = (v: number) => py0 + ph - ((v - yl) / (yh - yl)) * ph;
  for (const t of niceTicks(yl, yh, 4)) parts.push(`<line x1="${px0}" x2="${px0 + pw}" y1="${sy(t)}" y2="${sy(t)}" stroke="#eee"/>` + text(px0 - 4, sy(t) + 4, fmt(t), { size: 9, anchor: 'end' }));
  for (const t of niceTicks(xl, xh, 4)) parts.push(text(sx(t), py0 + ph + 14, fmt(t), { size: 9, anchor: 'middle' }));
  parts.push(`<polyline fill="none" stroke="#2c7fb8" stroke-width="1.5" points="${pts.map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`).join(' ')}"/>`);
  return parts.join('');
}

/** The SVG of the curves (exposed for tests and for embedding into other figures). */
export function curvesSvg(rows: MetricRow[], o: CurveOptions = {}): string {
  const stepKey = o.stepKey ?? 'iteration';
  const keys = o.keys ?? DEFAULT_CURVE_KEYS.filter((k) => rows.some((r) => typeof r[k] === 'number'));
  if (keys.length === 0) throw clips4Error(ErrorCodes.invalidArg, `no metric to draw: the rows have none of ${DEFAULT_CURVE_KEYS.join(', ')}; pass options.keys`);
  const cols = Math.min(keys.length, 3);
  const W = 320;
  const H = 200;
  const top = o.title ? 24 : 0;
  const body = keys
    .map((k, i) => {
      const pts: [number, number][] = [];
      rows.forEach((r, j) => {
        const v = r[k];
        const step = typeof r[stepKey] === 'number' ? (r[stepKey] as number) : j + 1;
        if (typeof v === 'number' && Number.isFinite(v)) pts.push([step, v]);
      });
      return panel((i % cols) * W, top + Math.floor(i / cols) * H, W, H, k, pts);
    })
    .join('');
  return svgDocument(cols * W, top + Math.ceil(keys.length / cols) * H, (o.title ? text(8, 17, o.title, { size: 13 }) : '') + body);
}

/**
 * Renders training curves to a PNG: `source` is a metrics JSONL path or its rows already parsed.
 * Non-finite values (a diverged step) are left out of the lines.
 */
export async function renderCurves(source: string | MetricRow[], outPng: string, options: CurveOptions = {}): Promise<void> {
  const o = optionsObject('options', options);
  onlyKeys('options', o, ['keys', 'stepKey', 'title']);
  const checked: CurveOptions = { keys: opt(o, 'keys', undefined, (n, v) => stringArray(n, v, 1)), stepKey: opt(o, 'stepKey', undefined, string), title: opt(o, 'title', undefined, string) };
  if (typeof source !== 'string' && !(Array.isArray(source) && source.every((r) => typeof r === 'object' && r !== null))) throw invalidParameter('source', 'a metrics JSONL path or an array of row objects', source);
  string('outPng', outPng);
  const rows = typeof source === 'string' ? readMetricRows(source) : source;
  await writeSvgPng(outPng, curvesSvg(rows, checked));
}
