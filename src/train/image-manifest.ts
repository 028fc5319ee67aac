// What the first pass of preparing learns about each training image (whether it decodes, the size it
// is used at), kept beside the caches so that a restart with the same settings reads it instead of
// decoding every image again: once the caches exist, time to first step no longer grows with the
// dataset by a decode per image. An entry serves only while its file has the size and modification
// time recorded with it; images added to the dataset are simply new entries.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomicSync } from '../io/atomic';

export interface ImageEntry {
  bytes: number;
  mtimeMs: number;
  /** Absent: the file did not decode. */
  original?: { width: number; height: number };
  width?: number;
  height?: number;
}

interface ManifestFile {
  version: 1;
  images: Record<string, ImageEntry>;
}

export class ImageManifest {
  private readonly images = new Map<string, ImageEntry>();
  private changed = false;

  private constructor(readonly file: string) {}

  /** The manifest at `file` (empty when absent, unreadable or of another version: it is only a cache). */
  static open(file: string): ImageManifest {
    const m = new ImageManifest(file);
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as ManifestFile;
      if (parsed.version === 1) for (const [k, v] of Object.entries(parsed.images)) m.images.set(k, v);
    } catch {
      // absent or damaged: the first pass rebuilds it
    }
    return m;
  }

  /** The entry of `imageFile` if the file is unchanged since it was recorded. */
  lookup(imageFile: string): ImageEntry | undefined {
    const e = this.images.get(path.resolve(imageFile));
    if (!e) return undefined;
    const st = statOrUndefined(imageFile);
    return st && st.size === e.bytes && st.mtimeMs === e.mtimeMs ? e : undefined;
  }

  /** Records what the first pass found for `imageFile` (its size and time now). */
  record(imageFile: string, found: Omit<ImageEntry, 'bytes' | 'mtimeMs'>): void {
    const st = statOrUndefined(imageFile);
    if (!st) return;
    this.images.set(path.resolve(imageFile), { bytes: st.size, mtimeMs: st.mtimeMs, ...found });
    this.changed = true;
  }

  /** Writes the manifest if anything was recorded since it was opened or last saved (atomically). */
  save(): void {
    if (!this.changed) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    writeFileAtomicSync(this.file, JSON.stringify({ version: 1, images: Object.fromEntries(this.images) } satisfies ManifestFile));
    this.changed = false;
  }
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}
