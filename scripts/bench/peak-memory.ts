// The high-water mark of a process's resident memory, in MB: VmHWM (Linux). Not
// resourceUsage().maxRSS, which a child started by fork + exec inherits from its parent (the
// bench's own peak), so a worker would read the bench's memory instead of its own.
import * as fs from 'node:fs';

/** Process `pid`'s VmHWM in MB; undefined once it has ended (or where /proc has no VmHWM). */
export function peakMBOf(pid: number | 'self'): number | undefined {
  try {
    const line = fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM'));
    return line ? Number(/(\d+) kB/.exec(line)![1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function peakMB(): number {
  return peakMBOf('self') ?? process.resourceUsage().maxRSS / 1024;
}
