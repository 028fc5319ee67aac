#!/usr/bin/env node
// The one list of native sources: every native/src/*.cc file. CMakeLists.txt and binding.gyp both
// ask this script, so the cmake-js build and the node-gyp prebuild compile the same files.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const dir = path.join(root, 'native', 'src');
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cc')).sort();
const relative = process.argv.includes('--relative');
process.stdout.write(files.map((f) => (relative ? `native/src/${f}` : path.join(dir, f))).join(relative ? ' ' : ';'));
