// The one loader of the native addon, and the typed description of everything it exports.
// Each namespace below mirrors one native/src/*.cc file's CLIPS4_MODULE registration.
import * as os from 'node:os';
import * as path from 'node:path';
import { chooseOpenBlasCore } from './blas-core';
import { clips4Error, ErrorCodes } from './errors';
import type { Tensor } from './tensor';
import type { ClipBinding } from './clip/clip';
import type { NetBinding } from './net/embedder';
import type { KernelsBinding } from './kernels';
import type { RegionsBinding } from './data/regions';

/** Opaque handle to a native object (model, trainer state…); only native code reads it. */
export type Handle = { readonly __clips4Handle: unique symbol };

export interface RuntimeBinding {
  versions(): {
    torch: string;
    torchSource: string;
    cxx11Abi: boolean;
    napi: number;
    cuda: boolean;
    cudaDevices: number;
    distributed: boolean;
  };
  showConfig(): string;
  /** OpenBLAS's kernel set (openblas_get_corename), or null when LibTorch's BLAS is not OpenBLAS. */
  blasCore(): string | null;
  /**
   * OpenBLAS's threading ('pthreads', 'openmp', 'sequential'), its thread count when loaded, and
   * whether clips4 limited a pthreads build to one thread (fork safety, native/src/runtime.cc);
   * null when LibTorch's BLAS is not OpenBLAS.
   */
  blasThreading(): { parallel: string; threadsBefore: number; limited: boolean } | null;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  /** Validates a device string; returns LibTorch's name for it. Throws ERR_CLIPS4_NO_CUDA. */
  checkDevice(device: string): string;
  matmul(a: Tensor, b: Tensor, options?: { device?: string }): Promise<Tensor<'float32'>>;
  sgemm(options: { n: number; iterations: number; device?: string }): Promise<{ seconds: number; gflops: number }>;
  /** The caching CPU allocator (native/src/cpu_cache.cc): free large blocks kept for reuse. */
  cpuCache(): { enabled: boolean; cachedBytes: number; hits: number; misses: number };
  emptyCpuCache(): void;
}

export interface SegmentBinding {
  /** features [N,E,h,w] · classifier [C,E] (both normalised inside) → labels int32 [N,H,W] (+ softmax scores [N,C,H,W]). */
  classify(
    features: Tensor,
    classifier: Tensor,
    options: { height: number; width: number; logitScale?: number; denoiseThreshold?: number; scores?: boolean; device?: string; keys?: Tensor; smoothThreshold?: number },
  ): Promise<{ labels: Tensor<'int32'>; scores?: Tensor<'float32'> }>;
}

/** Present when LibTorch has c10d + Gloo (versions().distributed). */
export interface DistBinding {
  /** Rendezvous at addr:port (rank 0 hosts the store) and create a Gloo process group. */
  init(options: { rank: number; worldSize: number; addr: string; port: number; timeoutMs?: number }): Promise<Handle>;
  /** Element-wise sum over all ranks. */
  allReduce(group: Handle, tensor: Tensor): Promise<Tensor>;
}

export interface TrainerBinding {
  create(model: Handle, options: Record<string, unknown>): Handle;
  /** A two-convolution embedding network for tests and smoke configs. */
  smallNet(options: { width?: number; dim?: number; seed?: number }): Handle;
  step(trainer: Handle, batch: { images: Tensor; regions: Tensor; ignore: Tensor; clip: Tensor; pairs: number; imageOffset: number }, options: { lr: number }): Promise<StepMetrics>;
  state(trainer: Handle): Promise<TrainerState>;
  restore(trainer: Handle, state: TrainerState): Promise<void>;
}

export interface StepMetrics {
  iteration: number;
  loss: number;
  contrastive: number;
  embedding: number;
  semantic: number;
  unknown: number;
  avgsim: number;
  segments: number;
  seconds: number;
}

export interface TrainerState {
  model: Record<string, Tensor>;
  momentum: Record<string, Tensor>;
  extra: Record<string, Tensor>;
  iteration: number;
}

export interface Binding {
  runtime: RuntimeBinding;
  segment: SegmentBinding;
  trainer: TrainerBinding;
  clip: ClipBinding;
  net: NetBinding;
  kernels: KernelsBinding;
  regions: RegionsBinding;
  dist?: DistBinding;
}

/** Root of the installed package (holds package.json, build/ or prebuilds/). */
export const packageRoot = path.resolve(__dirname, '..');

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
