#!/usr/bin/env node
// Prints LibTorch build flags for binding.gyp, found by the same CMake module the cmake-js build
// uses (cmake/FindLibTorch.cmake via cmake/probe). Usage: torch-config.cjs include|defines|cflags|ldflags|libs|json
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const probeDir = path.join(root, 'build', 'torch-probe');
const jsonFile = path.join(probeDir, 'torch.json');
// The environment that decides discovery; a change re-runs the probe.
const key = JSON.stringify(['LIBTORCH', 'Torch_DIR', 'CMAKE_PREFIX_PATH'].map((k) => process.env[k] || ''));
const keyFile = path.join(probeDir, 'env.json');

function probe() {
  if (fs.existsSync(jsonFile) && fs.existsSync(keyFile) && fs.readFileSync(keyFile, 'utf8') === key) {
    return JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  }
  fs.rmSync(probeDir, { recursive: true, force: true });
  fs.mkdirSync(probeDir, { recursive: true });
  try {
    execFileSync('cmake', ['-S', path.join(root, 'cmake', 'probe'), '-B', probeDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    process.stderr.write('clips4: LibTorch discovery failed (see the message above).\n');
    process.exit(1);
  }
  fs.writeFileSync(keyFile, key);
  return JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
}

const cfg = probe();
const what = process.argv[2] || 'json';
const out = {
  include: [...cfg.include, ...(cfg.dnnl ? [cfg.dnnlInclude] : [])],
  // Strings with spaces cannot pass through gyp's command expansion; the build kind is enough here.
  defines: ['CLIPS4_PREBUILD=1', ...(cfg.defines || []), ...(cfg.distributed ? ['CLIPS4_WITH_C10D=1'] : []), ...(cfg.dnnl ? ['CLIPS4_WITH_DNNL=1'] : [])],
  cflags: cfg.cxxflags,
  // OpenBLAS's OpenMP build first when there is one (cmake/FindLibTorch.cmake says why).
  ldflags: [...(cfg.blasdir ? [`-Wl,-rpath,${cfg.blasdir}`] : []), `-Wl,-rpath,${cfg.libdir}`, '-Wl,--enable-new-dtags', `-L${cfg.libdir}`, '-Wl,--no-as-needed'],
  libs: [...(cfg.blaslibs || []).map((l) => path.join(cfg.blasdir, l)), ...cfg.libs.map((l) => `-l${l}`), ...(cfg.dnnl ? [cfg.dnnl] : [])],
  json: [JSON.stringify(cfg)],
}[what];
if (!out) {
  process.stderr.write(`torch-config.cjs: unknown query '${what}'\n`);
  process.exit(2);
}
process.stdout.write(out.map((s) => (what === 'json' ? s : s.includes(' ') ? JSON.stringify(s) : s)).join(' '));
