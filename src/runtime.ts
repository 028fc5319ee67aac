// Runtime settings and facts: threads, devices, versions, and the doctor's report.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addonPath, call, defaultThreads, native, packageRoot } from './native';
import { cpuFlags, openBlasCoreFor } from './blas-core';
import { integer, oneOf, string } from './validate';
import { invalidParameter } from './errors';

export type Device = 'cpu' | 'cuda' | `cuda:${number}` | 'auto';

/** Validates a device option and checks it exists (ERR_CLIPS4_NO_CUDA otherwise). Returns the resolved name. */
export function resolveDevice(name: string, value: unknown = 'cpu'): string {
  const v = string(name, value);
  if (!/^(cpu|cuda|auto|cuda:\d+)$/.test(v)) throw invalidParameter(name, "'cpu', 'cuda', 'cuda:N' or 'auto'", v);
  return native().runtime.checkDevice(v);
}

export function setThreads(n: number): void {
  native().runtime.setNumThreads(integer('threads', n, 1, 1024));
}

export function getThreads(): number {
  return native().runtime.getNumThreads();
}

/**
 * The caching CPU allocator's state: freed tensor blocks of 256 KiB and more are kept (up to
 * CLIPS4_CPU_CACHE_MB, default 4096; 0 turns the cache off) and handed out again for the same size.
 */
export function cpuCache(): { enabled: boolean; cachedBytes: number; hits: number; misses: number } {
  return native().runtime.cpuCache();
}

/** Returns the cached free blocks to the system (tensors in use are not affected). */
export function emptyCpuCache(): void {
  native().runtime.emptyCpuCache();
}

export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
}

export interface Versions {
  clips4: string;
  node: string;
  napi: string;
  torch: string;
  torchSource: string;
  cuda: boolean;
  cudaDevices: number;
  /** How the pixel embedder's 3×3 convs run on the CPU: "winograd (oneDNN <kernel>)", or why LibTorch's conv2d does. */
  convolutions: string;
  /** How float32 parameters are updated on the CPU: "one pass per float32 parameter", or why ATen's ops are. */
  sgd: string;
  addon: string;
  addonKind: 'local build' | 'prebuild';
}

export function versions(): Versions {
  const v = native().runtime.versions();
  const addon = addonPath();
  return {
    clips4: packageVersion(),
    node: process.versions.node,
    napi: String(process.versions.napi),
    torch: v.torch,
    torchSource: v.torchSource,
    cuda: v.cuda,
    cudaDevices: v.cudaDevices,
    convolutions: v.convolutions,
    sgd: v.sgd,
    addon,
    addonKind: addon.includes(`${path.sep}prebuilds${path.sep}`) ? 'prebuild' : 'local build',
  };
}

/** Which BLAS LibTorch uses, from its build configuration and the loaded libraries. */
export function blasInfo(): { blas: string; reference: boolean } {
  const cfg = native().runtime.showConfig();
  const m = /BLAS_INFO=(\w+)/.exec(cfg);
  let blas = m ? m[1] : 'unknown';
  // Debian's torch links libblas.so.3, which is whichever alternative is installed: look at what is mapped.
  let mapped = '';
  try {
    mapped = fs.readFileSync('/proc/self/maps', 'utf8');
  } catch {
    // not Linux
  }
  const lib = /\/(libopenblas[\w.-]*\.so[\w.]*|libmkl[\w.-]*\.so[\w.]*|libblis[\w.-]*\.so[\w.]*|libblas\.so[\w.]*)/.exec(mapped);
  if (lib) blas = `${blas} (${lib[1]}${/openblas/.test(mapped) ? ', OpenBLAS' : ''})`;
  const reference = !/openblas|mkl|blis|accelerate/i.test(mapped + cfg.replace(/BLAS_INFO=\w+/, '')) && /libblas\.so/.test(mapped);
  return { blas, reference };
}

export interface DoctorReport extends Versions {
  threads: number;
  blas: string;
  /** OpenBLAS's kernel set, or null when LibTorch's BLAS is not OpenBLAS. */
  blasCore: string | null;
  /** OpenBLAS's threading ('openmp', 'pthreads', 'sequential') and whether clips4 limited it to one thread; null when not OpenBLAS. */
  blasThreading: { parallel: string; threadsBefore: number; limited: boolean } | null;
  sgemmGflops: number;
  warnings: string[];
}

/** Everything `clips4 doctor` prints, including a short SGEMM measurement. */
export async function doctor(options: { device?: string } = {}): Promise<DoctorReport> {
  const v = versions();
  const device = options.device === undefined ? 'cpu' : oneOf('device', options.device, ['cpu', 'cuda', 'auto']);
  const s = await call(() => native().runtime.sgemm({ n: 1024, iterations: 8, device }));
  const blas = blasInfo();
  const warnings: string[] = [];
  if (blas.reference || s.gflops < 10) {
    warnings.push(
      `LibTorch is using reference BLAS (matmul at ${s.gflops.toFixed(1)} GFLOP/s; OpenBLAS reaches ~128 here). ` +
        'Fix: sudo apt-get install libopenblas0-openmp, then npm run rebuild:native',
    );
  }
  const core = native().runtime.blasCore();
  const fitting = openBlasCoreFor(cpuFlags());
  if (core && fitting && /^(prescott|core2|nehalem|atom|katmai|coppermine|northwood|banias|penryn|dunnington)$/i.test(core)) {
    warnings.push(
      `OpenBLAS runs its ${core} kernels on a CPU with ${fitting}-class instructions (${s.gflops.toFixed(1)} GFLOP/s). ` +
        `Fix: unset CLIPS4_OPENBLAS_DETECT, or set OPENBLAS_CORETYPE=${fitting}`,
    );
  }
  const threading = native().runtime.blasThreading();
  if (threading?.limited) {
    warnings.push(
      "OpenBLAS's pthreads build is loaded, so clips4 runs it on 1 thread (its fork handler deadlocks when the process forks during BLAS calls). " +
        'Fix: sudo apt-get install libopenblas0-openmp, then npm run rebuild:native (the build links the OpenMP build)',
    );
  }
  if (getThreads() === 1 && defaultThreads() > 1) {
    warnings.push('LibTorch runs on 1 thread although more cores are available: set CLIPS4_NUM_THREADS or the threads option.');
  }
  return { ...v, threads: getThreads(), blas: blas.blas, blasCore: core, blasThreading: threading, sgemmGflops: s.gflops, warnings };
}
