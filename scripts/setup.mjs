#!/usr/bin/env node
// Makes a fresh checkout ready: system packages (LibTorch, OpenBLAS, cmake, g++), npm packages,
// the native addon and the compiled TypeScript. Run by `npm test` and `npm run demo` before they
// start, so both work from nothing. As root it installs what is missing with apt-get; otherwise
// it prints the exact command. Skip with CLIPS4_SKIP_SETUP=1.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const log = (m) => process.stderr.write(`setup: ${m}\n`);
if (process.env.CLIPS4_SKIP_SETUP === '1') process.exit(0);

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.status !== 0) {
    log(`'${cmd} ${args.join(' ')}' failed (exit ${r.status ?? r.signal})`);
    process.exit(r.status || 1);
  }
}

// 1. System packages.
// libopenblas0-openmp is the OpenBLAS the addon links (fork-safe, cmake/FindLibTorch.cmake);
// libopenblas0-pthread is Debian's default build, kept so that the fallback for it is tested;
// libdnnl-dev: the headers of the oneDNN LibTorch links, for the Winograd convolutions (native/src/winograd_conv.h).
const packages = ['libtorch-dev', 'libopenblas0-openmp', 'libopenblas0-pthread', 'libdnnl-dev', 'libgloo-dev', 'cmake', 'g++', 'ccache'];
const haveDpkg = spawnSync('dpkg-query', ['--version'], { stdio: 'ignore' }).status === 0;
if (haveDpkg && !process.env.LIBTORCH && !process.env.Torch_DIR) {
  const missing = packages.filter((p) => {
    try {
      return !/install ok installed/.test(execFileSync('dpkg-query', ['-W', '-f=${Status}', p], { stdio: ['ignore', 'pipe', 'ignore'] }).toString());
    } catch {
      return true;
    }
  });
  if (missing.length) {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!isRoot) {
      log(`missing system packages: ${missing.join(' ')}`);
      log(`run: sudo apt-get update && sudo apt-get install -y ${missing.join(' ')}`);
      log('(or point LIBTORCH at your own LibTorch and install cmake and g++)');
      process.exit(1);
    }
    log(`installing ${missing.join(' ')} with apt-get`);
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  }
}

// 2. npm packages.
const lock = path.join(root, 'package-lock.json');
const marker = path.join(root, 'node_modules', '.package-lock.json');
if (!existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs) {
  log('installing npm packages (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

// 3. Native addon (incremental) and 4. TypeScript.
const cmakeJs = path.join(root, 'node_modules', 'cmake-js', 'bin', 'cmake-js');
log('building the native addon (cmake-js, incremental)');
run(process.execPath, [cmakeJs, 'compile', '--out', 'build', '--log-level', 'warn']);
log('compiling TypeScript to lib/ (and the ES-module entries beside it)');
run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json']);
run(process.execPath, [path.join(root, 'scripts', 'esm-entries.mjs')]);
