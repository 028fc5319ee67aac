// `npm run demo`'s options: an unknown option or a wrong --set fails at once with a message naming it,
// before the world is generated, a teacher is evaluated or anything is written.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { repoRoot } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

const dir = tmpDir('clips4-demo-args-');

function demo(args: string[]) {
  const r = spawnSync(process.execPath, ['--import=tsx', path.join(repoRoot, 'scripts/demo.ts'), ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CLIPS4_NUM_THREADS: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('an unknown option is refused with a pointer to --help', (t) => {
  const r = demo(['--seed', '3']);
  t.is(r.code, 2);
  // Node's parseArgs words the rest of the message (it varies between Node versions).
  t.regex(r.stderr, /^demo: Unknown option '--seed'[^\n]* \(see npm run demo -- --help\)\n$/);
  t.is(r.stdout, '');
});

test('a wrong --set names the key and nothing is written', (t) => {
  const out = path.join(dir, 'demo');
  const r = demo(['--out', out, '--set', 'train.iterations=3000', '--set', 'loss.kapa=5']);
  t.is(r.code, 1);
  t.is(r.stderr, "demo: --set: loss.kapa: unknown key (did you mean 'loss.kappa'?) [ERR_CLIPS4_CONFIG]\n");
  t.false(fs.existsSync(out));
  const range = demo(['--out', out, '--set', 'train.iterations=0']);
  t.is(range.stderr, 'demo: --set: train.iterations: 0 is out of range (1 … ∞) [ERR_CLIPS4_CONFIG]\n');
  t.false(fs.existsSync(out));
});

test('--help lists --set', (t) => {
  const r = demo(['--help']);
  t.is(r.code, 0);
  t.regex(r.stdout, /--set k=v {3}a setting for every run/);
});
