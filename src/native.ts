// The one loader of the native addon (its exports are described in binding.ts).
import * as os from 'node:os';
import * as path from 'node:path';
import { chooseOpenBlasCore } from './blas-core';
import { clips4Error, ErrorCodes } from './errors';
import type { Binding } from './binding';
import { packageRoot } from './paths';

export type { Binding, DistBinding, Handle, RuntimeBinding, SegmentBinding, StepMetrics, TrainerBinding, TrainerState } from './binding';
export { packageRoot };










let cached: { binding: Binding; path: string } | undefined;

/** Loads the addon once (local build first, then the prebuild) and applies the thread setting. */
export function native(): Binding {
  return load().binding;
}

/** Where the loaded addon came from. */
export function addonPath(): string {
  return load().path;
}

function load(): { binding: Binding; path: string } {
  if (cached) return cached;
  chooseOpenBlasCore();
  // CLIPS4_ADDON: another build of the addon (e.g. the AddressSanitizer build; DEVELOPERS.md).
  cached = process.env.CLIPS4_ADDON ? loadFile(process.env.CLIPS4_ADDON) : loadFrom(packageRoot);
  const fromEnv = process.env.CLIPS4_NUM_THREADS;
  const threads = fromEnv !== undefined && /^\d+$/.test(fromEnv) && Number(fromEnv) > 0 ? Number(fromEnv) : defaultThreads();
  cached.binding.runtime.setNumThreads(threads);
  return cached;
}

/**
 * Finds and loads the addon of the package in `root`: build/Release first, then
 * prebuilds/<platform>-<arch> (node-gyp-build's order). Throws a load error with the likely fixes.
 */
export function loadFrom(root: string): { binding: Binding; path: string } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nodeGypBuild = require('node-gyp-build') as { (dir: string): unknown; resolve(dir: string): string };
  let file: string;
  try {
    file = nodeGypBuild.resolve(root);
  } catch (cause) {
    throw loadError(`${root}: no build/Release/clips4.node and no prebuilds/${process.platform}-${process.arch}/*.node`, cause);
  }
  return requireAddon(file, file);
}

/** Loads the addon at `file` (CLIPS4_ADDON). Throws a load error with the likely fixes. */
export function loadFile(file: string): { binding: Binding; path: string } {
  return requireAddon(path.resolve(file), `${file} (from CLIPS4_ADDON)`);
}

// The one place an addon file is required; `tried` is how the load error names it.
function requireAddon(file: string, tried: string): { binding: Binding; path: string } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return { binding: require(file) as Binding, path: file };
  } catch (cause) {
    throw loadError(tried, cause);
  }
}

/** Intra-op threads by default: the cores this process may use. */
export function defaultThreads(): number {
  return typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
}

function loadError(file: string, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const lines = [
    `Could not load the clips4 native addon for ${process.platform}-${process.arch} (Node ${process.versions.node}, N-API ${process.versions.napi}).`,
    `Tried: ${file}`,
    `Reason: ${reason.split('\n')[0]}`,
    'Possible solutions:',
  ];
  if (/libtorch|libc10|cannot open shared object/i.test(reason)) {
    lines.push('- LibTorch is missing at run time. On Debian/Ubuntu: sudo apt-get install libtorch1.13 libopenblas0-openmp (or libtorch-dev to build).');
    lines.push('- If you built against your own LibTorch, keep it where it was when you built (its path is embedded), or rebuild.');
  }
  lines.push('- Build the addon from source: npm run build:native');
  lines.push('    needs LibTorch: sudo apt-get install libtorch-dev libopenblas0-openmp cmake g++');
  lines.push('    or your own LibTorch: LIBTORCH=/path/to/libtorch npm run rebuild:native');
  lines.push('- Or install a package that carries prebuilds/linux-x64/ (see README: Prebuilt binaries).');
  const err = clips4Error(ErrorCodes.load, lines.join('\n'));
  (err as Error & { cause?: unknown }).cause = cause;
  return err;
}

/**
 * Runs a native call and gives any error the caller's JS stack (a native rejection otherwise has
 * none). Use for every native entry point: `call(() => native().ns.fn(args))`.
 */
export async function call<T>(fn: () => T | Promise<T>): Promise<T> {
  const site: { stack?: string } = {};
  Error.captureStackTrace(site, call);
  try {
    return await fn();
  } catch (err) {
    if (err instanceof Error && site.stack) {
      err.stack = `${err.name}: ${err.message}\n${site.stack.split('\n').slice(1).join('\n')}`;
    }
    throw err;
  }
}
