#!/usr/bin/env node
// npm install hook. A package with a prebuild for this platform (or an existing build) needs
// nothing. A git checkout is built by `npm run build` / scripts/setup.mjs (cmake-js), so nothing
// happens here either. Otherwise (installed from a tarball without a matching prebuild) the addon
// is compiled from source with node-gyp and binding.gyp.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const prebuildDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const hasPrebuild = fs.existsSync(prebuildDir) && fs.readdirSync(prebuildDir).some((f) => f.endsWith('.node'));
const hasBuild = fs.existsSync(path.join(root, 'build', 'Release', 'clips4.node'));
if (hasPrebuild || hasBuild || fs.existsSync(path.join(root, '.git'))) process.exit(0);

const nodeGyp = process.env.npm_config_node_gyp;
const r = nodeGyp
  ? spawnSync(process.execPath, [nodeGyp, 'rebuild'], { cwd: root, stdio: 'inherit' })
  : spawnSync('node-gyp', ['rebuild'], { cwd: root, stdio: 'inherit', shell: true });
if (r.status !== 0) {
  process.stderr.write(
    [
      'clips4: there is no prebuilt addon for this platform and building it from source failed.',
      '  It needs LibTorch, cmake and a C++17 compiler:',
      '    Debian/Ubuntu: sudo apt-get install libtorch-dev libopenblas0-openmp cmake g++',
      '    your own LibTorch: LIBTORCH=/path/to/libtorch npm rebuild clips4',
      '',
    ].join('\n'),
  );
  process.exit(1);
}
