// Figures without a browser: SVG text drawn by the plot functions, rasterised by sharp (libvips),
// written atomically.
import sharp from 'sharp';
import { writeFileAtomic } from '../io/atomic';
import { vocPalette } from '../io/png';

/** Escapes text for SVG content and attributes. */
export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A complete SVG document on a white background. */
export function svgDocument(width: number, height: number, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(width)}" height="${Math.ceil(height)}"><rect width="100%" height="100%" fill="white"/>${body}</svg>`;
}

export function text(x: number, y: number, s: string, o: { size?: number; anchor?: 'start' | 'middle' | 'end'; fill?: string; transform?: string } = {}): string {
  const t = o.transform ? ` transform="${o.transform}"` : '';
  return `<text x="${x}" y="${y}"${t} font-family="sans-serif" font-size="${o.size ?? 11}" text-anchor="${o.anchor ?? 'start'}" fill="${o.fill ?? 'black'}">${esc(s)}</text>`;
}

/** Rasterises an SVG (optionally with image tiles composited on top) into a PNG file, atomically. */
export async function writeSvgPng(file: string, svg: string, tiles: sharp.OverlayOptions[] = []): Promise<void> {
  const img = sharp(Buffer.from(svg));
  await writeFileAtomic(file, await (tiles.length ? img.composite(tiles) : img).png().toBuffer());
}

const palette = vocPalette();

/** The VOC palette colour of class c (index c + 1, so class 0 is not black); black for 255. */
export function classColour(c: number): [number, number, number] {
  if (c === 255) return [0, 0, 0];
  const i = ((c + 1) % 256) * 3;
  return [palette[i], palette[i + 1], palette[i + 2]];
}
