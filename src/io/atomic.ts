// Atomic file writes: write a temporary file beside the target, fsync it, rename it over the
// target, fsync the folder. A crash at any point leaves either the old file or the new one.
import * as fs from 'node:fs';
import * as path from 'node:path';

function tempName(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}.tmp`);
}

function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some file systems do not allow fsync on folders; the rename is still atomic.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Writes `chunks` (in order) to `file` atomically. */
export function writeFileAtomicSync(file: string, ...chunks: (string | NodeJS.ArrayBufferView)[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = tempName(file);
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const chunk of chunks) {
      if (typeof chunk === 'string') fs.writeSync(fd, chunk);
      else {
        let off = 0;
        const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        while (off < bytes.length) off += fs.writeSync(fd, bytes, off, bytes.length - off);
      }
    }
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  syncDir(path.dirname(file));
}

/** Async variant (same guarantees). */
export async function writeFileAtomic(file: string, ...chunks: (string | NodeJS.ArrayBufferView)[]): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const tmp = tempName(file);
  const handle = await fs.promises.open(tmp, 'w');
  try {
    for (const chunk of chunks) await handle.write(typeof chunk === 'string' ? Buffer.from(chunk) : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  syncDir(path.dirname(file));
}

export function writeJsonAtomicSync(file: string, value: unknown): void {
  writeFileAtomicSync(file, JSON.stringify(value, null, 2) + '\n');
}
