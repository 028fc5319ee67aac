import { doctor as runDoctor } from '../../runtime';
import { parse } from '../args';
import type { Command } from '../command';

export const doctor: Command = {
  name: ['doctor'],
  summary: 'check the installation: versions, addon, CUDA, threads, BLAS speed',
  usage: `Usage: clips4 doctor [--json]

Prints clips4, LibTorch and Node versions, which addon was loaded (local build or prebuild), CUDA
availability, intra-op threads, which BLAS LibTorch uses (and OpenBLAS's kernel set) and a short SGEMM measurement.
  --json   print one JSON object instead of text`,
  async run(argv) {
    const { values } = parse(argv, { json: { type: 'boolean' } }, false);
    const r = await runDoctor();
    if (values.json) {
      process.stdout.write(JSON.stringify(r, null, 2) + '\n');
      return 0;
    }
    const lines = [
      `clips4      ${r.clips4}`,
      `node        ${r.node} (N-API ${r.napi})`,
      `libtorch    ${r.torch} — ${r.torchSource}`,
      `addon       ${r.addon} (${r.addonKind})`,
      `cuda        ${r.cuda ? `yes, ${r.cudaDevices} device(s)` : 'no'}`,
      `threads     ${r.threads}`,
      `blas        ${r.blas}${r.blasCore ? `, ${r.blasCore} kernels` : ''}${r.blasThreading ? `, ${r.blasThreading.parallel} threading${r.blasThreading.limited ? ' limited to 1 thread' : ''}` : ''}`,
      `sgemm       ${r.sgemmGflops.toFixed(1)} GFLOP/s (float32, 1024², cpu)`,
    ];
    for (const w of r.warnings) lines.push(`WARNING     ${w}`);
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
