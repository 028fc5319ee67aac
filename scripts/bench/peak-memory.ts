// The high-water mark of this process's resident memory, in MB: VmHWM (Linux). Not
// resourceUsage().maxRSS, which a child started by fork + exec inherits from its parent (the
// bench's own peak), so a worker would read the bench's memory instead of its own.
import * as fs from 'node:fs';

export function peakMB(): number {
  const line = fs.readFileSync('/proc/self/status', 'utf8').split('\n').find((l) => l.startsWith('VmHWM'));
  return line ? Number(/(\d+) kB/.exec(line)![1]) / 1024 : process.resourceUsage().maxRSS / 1024;
}
