// Where the shared fixtures are, and a way to skip clearly when they are absent (e.g. a user who
// installed from npm has no ../shared).
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';

export const repoRoot = path.resolve(__dirname, '..', '..');
export const sharedDir = path.resolve(repoRoot, '..', 'shared');
export const fixturesDir = path.join(sharedDir, 'fixtures');
export const hasShared = fs.existsSync(fixturesDir);

export function fixture(...parts: string[]): string {
  return path.join(fixturesDir, ...parts);
}

/** `test` when ../shared/fixtures exists, otherwise a skipped test that says why. */
export const fixtureTest = hasShared
  ? test
  : (((title: string) =>
      test.skip(`${title} (skipped: ${fixturesDir} is absent; it is the shared fixture folder beside the repository)`, (t) => t.pass())) as unknown as typeof test);
