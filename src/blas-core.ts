// OpenBLAS picks its kernels from the CPU's family and model when it is loaded. A CPU newer than the
// OpenBLAS release is not recognised and gets the oldest x86-64 kernels ('Prescott', SSE3): Debian
// 12's OpenBLAS 0.3.21 on an Intel Xeon of family 6 model 207 (Emerald Rapids), measured on this
// project's machine, ran a 2048² float32 matmul at 43–56 GFLOP/s, and at 221–227 with its
// SkylakeX kernels. OPENBLAS_CORETYPE names the kernels to use; it is read once, when LibTorch loads
// OpenBLAS, so it is set here from the CPU's instruction sets before the addon is loaded.
import * as fs from 'node:fs';

// The kernel sets chosen by instruction set, widest first (OpenBLAS's own names).
const CORES: { name: string; needs: string[] }[] = [
  { name: 'SkylakeX', needs: ['avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'] },
  { name: 'Haswell', needs: ['avx2', 'fma'] },
];

/** The OpenBLAS kernel set for a CPU with these /proc/cpuinfo flags, or undefined (leave it to OpenBLAS). */
export function openBlasCoreFor(flags: ReadonlySet<string>): string | undefined {
  return CORES.find((c) => c.needs.every((f) => flags.has(f)))?.name;
}

/** The flags of the first CPU in /proc/cpuinfo (empty off Linux x86-64). */
export function cpuFlags(cpuinfo?: string): Set<string> {
  let text = cpuinfo;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/cpuinfo', 'utf8');
    } catch {
      return new Set();
    }
  }
  const line = /^flags\s*:(.*)$/m.exec(text);
  return new Set(line ? line[1].trim().split(/\s+/) : []);
}

/**
 * Sets OPENBLAS_CORETYPE from the CPU's instruction sets unless it is set already or
 * CLIPS4_OPENBLAS_DETECT=1 asks to keep OpenBLAS's own detection. Returns what it set.
 */
export function chooseOpenBlasCore(env: NodeJS.ProcessEnv = process.env, flags?: ReadonlySet<string>): string | undefined {
  if (env.OPENBLAS_CORETYPE !== undefined || env.CLIPS4_OPENBLAS_DETECT === '1' || process.arch !== 'x64') return undefined;
  const core = openBlasCoreFor(flags ?? cpuFlags());
  if (core) env.OPENBLAS_CORETYPE = core;
  return core;
}
