import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

// One exit listener for every folder a test file makes (a listener each would pass Node's limit of 10).
const made = new Set<string>();
process.on('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed at process exit. */
export function tmpDir(prefix = 'clips4-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.add(dir);
  return dir;
}
