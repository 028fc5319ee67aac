// OpenBLAS's kernel set is chosen from the CPU's instruction sets before LibTorch is loaded (an
// unrecognised CPU model otherwise gets the SSE3 'Prescott' kernels).
import test from 'ava';
import { chooseOpenBlasCore, cpuFlags, openBlasCoreFor } from '../src/blas-core';
import { native } from '../src/native';
import { doctor } from '../src/runtime';

const avx512 = ['sse4_2', 'avx', 'avx2', 'fma', 'avx512f', 'avx512cd', 'avx512bw', 'avx512dq', 'avx512vl'];

test('kernel set by instruction set: AVX-512 (all five parts), AVX2+FMA, older', (t) => {
  t.is(openBlasCoreFor(new Set(avx512)), 'SkylakeX');
  // Xeon Phi has AVX-512F/CD but not BW/DQ/VL: SkylakeX kernels would fault there.
  t.is(openBlasCoreFor(new Set(['avx', 'avx2', 'fma', 'avx512f', 'avx512cd', 'avx512er'])), 'Haswell');
  t.is(openBlasCoreFor(new Set(['avx', 'avx2', 'fma'])), 'Haswell');
  t.is(openBlasCoreFor(new Set(['avx', 'avx2'])), undefined);
  t.is(openBlasCoreFor(new Set(['sse2', 'sse4_2', 'avx'])), undefined);
  t.is(openBlasCoreFor(new Set()), undefined);
});

test('cpuinfo flags are read from the first processor', (t) => {
  const text = 'processor\t: 0\nmodel\t\t: 207\nflags\t\t: fpu sse2 avx2 fma\nbugs\t\t: spectre\n\nprocessor\t: 1\nflags\t\t: fpu\n';
  t.deepEqual([...cpuFlags(text)], ['fpu', 'sse2', 'avx2', 'fma']);
  t.deepEqual([...cpuFlags('no flags here')], []);
});

test('an OPENBLAS_CORETYPE the user set, or CLIPS4_OPENBLAS_DETECT=1, is left alone', (t) => {
  const flags = new Set(avx512);
  const env: NodeJS.ProcessEnv = {};
  t.is(chooseOpenBlasCore(env, flags), process.arch === 'x64' ? 'SkylakeX' : undefined);
  if (process.arch === 'x64') t.is(env.OPENBLAS_CORETYPE, 'SkylakeX');
  const own: NodeJS.ProcessEnv = { OPENBLAS_CORETYPE: 'Haswell' };
  t.is(chooseOpenBlasCore(own, flags), undefined);
  t.is(own.OPENBLAS_CORETYPE, 'Haswell');
  const detect: NodeJS.ProcessEnv = { CLIPS4_OPENBLAS_DETECT: '1' };
  t.is(chooseOpenBlasCore(detect, flags), undefined);
  t.is(detect.OPENBLAS_CORETYPE, undefined);
});

test('the loaded OpenBLAS runs the kernels chosen for this CPU', async (t) => {
  const core = native().runtime.blasCore();
  const fitting = openBlasCoreFor(cpuFlags());
  if (core === null || fitting === undefined || process.env.CLIPS4_OPENBLAS_DETECT === '1') {
    // Not OpenBLAS (MKL, reference BLAS), or no kernel set to choose: nothing was set.
    t.pass(`BLAS core ${core}, CPU class ${fitting}`);
    return;
  }
  t.is(core.toLowerCase(), (process.env.OPENBLAS_CORETYPE ?? fitting).toLowerCase());
  const report = await doctor();
  t.is(report.blasCore, core);
  t.false(report.warnings.some((w) => /OpenBLAS runs its/.test(w)), report.warnings.join('\n'));
});
