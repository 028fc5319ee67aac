// LibTorch discovery (cmake/FindLibTorch.cmake) honours LIBTORCH first, then Torch_DIR, and says
// what to do when nothing is found. Runs the same probe project binding.gyp uses.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import test from 'ava';
import { repoRoot } from './helpers/fixtures';
import { tmpDir } from './helpers/tmp';

const hasCmake = spawnSync('cmake', ['--version']).status === 0;
const probeSrc = path.join(repoRoot, 'cmake', 'probe');

function probe(env: Record<string, string | undefined>): { status: number | null; stderr: string; json?: { source: string; libdir: string; include: string[] } } {
  const build = tmpDir('clips4-probe-');
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined && !['LIBTORCH', 'Torch_DIR', 'CMAKE_PREFIX_PATH'].includes(k)) clean[k] = v;
  for (const k of ['LIBTORCH', 'Torch_DIR', 'CMAKE_PREFIX_PATH']) if (env[k] !== undefined) clean[k] = env[k]!;
  const r = spawnSync('cmake', ['-S', probeSrc, '-B', build], { env: clean, encoding: 'utf8' });
  const file = path.join(build, 'torch.json');
  return { status: r.status, stderr: r.stderr, json: fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined };
}

// A fake LibTorch tree whose TorchConfig.cmake forwards to the real one.
function fakePrefix(realTorchDir: string, layout: string): string {
  const prefix = tmpDir('clips4-fake-libtorch-');
  const dir = path.join(prefix, layout);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'TorchConfig.cmake'), `include("${realTorchDir}/TorchConfig.cmake")\n`);
  fs.writeFileSync(path.join(dir, 'TorchConfigVersion.cmake'), `include("${realTorchDir}/TorchConfigVersion.cmake")\n`);
  return prefix;
}

const maybe = hasCmake ? test.serial : test.skip;

maybe('discovery order: LIBTORCH, then Torch_DIR, then the system', (t) => {
  const system = probe({});
  t.is(system.status, 0, system.stderr);
  t.truthy(system.json);
  const m = /\((.*)\)/.exec(system.json!.source);
  const realTorchDir = m ? m[1] : '';
  t.true(fs.existsSync(path.join(realTorchDir, 'TorchConfig.cmake')), `system Torch_DIR from '${system.json!.source}'`);

  const prefix = fakePrefix(realTorchDir, 'share/cmake/Torch');
  const viaLibtorch = probe({ LIBTORCH: prefix });
  t.is(viaLibtorch.status, 0, viaLibtorch.stderr);
  t.is(viaLibtorch.json!.source, `LIBTORCH=${prefix}`);

  const other = fakePrefix(realTorchDir, 'lib/cmake/Torch');
  const viaTorchDir = probe({ Torch_DIR: path.join(other, 'lib/cmake/Torch') });
  t.is(viaTorchDir.json!.source, `Torch_DIR=${path.join(other, 'lib/cmake/Torch')}`);

  // LIBTORCH wins over Torch_DIR.
  const both = probe({ LIBTORCH: prefix, Torch_DIR: path.join(other, 'lib/cmake/Torch') });
  t.is(both.json!.source, `LIBTORCH=${prefix}`);
});

maybe('a LIBTORCH without TorchConfig.cmake fails with what to set', (t) => {
  const empty = tmpDir('clips4-empty-libtorch-');
  const r = probe({ LIBTORCH: empty });
  t.not(r.status, 0);
  t.regex(r.stderr.replace(/\s+/g, ' '), /LIBTORCH is set to '.*' but no TorchConfig\.cmake was found under it/);
  t.regex(r.stderr.replace(/\s+/g, ' '), /Set LIBTORCH to the unpacked libtorch folder/);
});
