#!/usr/bin/env node
// Builds the N-API prebuild with prebuildify (node-gyp, binding.gyp) into prebuilds/linux-x64/,
// where node-gyp-build finds it when there is no local build/. Node's own headers are used
// (nodedir), so nothing is downloaded.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const nodedir = process.env.npm_config_nodedir || (existsSync('/usr/include/node/node_api.h') ? '/usr' : undefined);
const env = { ...process.env, JOBS: process.env.JOBS ?? 'max' };
if (nodedir) env.npm_config_nodedir = nodedir;
const bin = require.resolve('prebuildify/bin.js');
const args = [bin, '--napi', '--strip', '--target', `node@${process.versions.node}`];
console.log(`prebuild: node ${args.join(' ')}${nodedir ? ` (nodedir ${nodedir})` : ''}`);
const r = spawnSync(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
process.exit(r.status ?? 1);
