// Where the repository's test fixtures are (test/fixtures/, see its README.md) and the repository root.
// The fixtures are part of the repository: a missing file is an error in the test that reads it.
import * as path from 'node:path';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const fixturesDir = path.join(repoRoot, 'test', 'fixtures');

export function fixture(...parts: string[]): string {
  return path.join(fixturesDir, ...parts);
}
