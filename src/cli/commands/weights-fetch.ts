import * as path from 'node:path';
import { DEFAULT_WEIGHTS_DIR, fetchFile, KNOWN_WEIGHTS } from '../../weights/fetch';
import { parse } from '../args';
import { UsageError, type Command } from '../command';

export const weightsFetch: Command = {
  name: ['weights', 'fetch'],
  summary: 'download official CLIP weights or the BPE vocabulary (verified, resumable)',
  usage: `Usage: clips4 weights fetch <${Object.keys(KNOWN_WEIGHTS).join('|')}> [--dir DIR] [--url URL]

Downloads to DIR (default ${DEFAULT_WEIGHTS_DIR}), resuming a partial download, verifying the SHA-256
and renaming into place only when it matches. --url fetches the same file from a mirror.`,
  async run(argv) {
    const { values, positionals } = parse(argv, { dir: { type: 'string' }, url: { type: 'string' } });
    const name = positionals[0];
    const known = KNOWN_WEIGHTS[name];
    if (!known || positionals.length !== 1) throw new UsageError(`expected one of ${Object.keys(KNOWN_WEIGHTS).join(', ')}`);
    const dest = path.join((values.dir as string | undefined) ?? DEFAULT_WEIGHTS_DIR, known.file);
    const tty = process.stderr.isTTY;
    let last = 0;
    const file = await fetchFile({
      url: (values.url as string | undefined) ?? known.url,
      sha256: known.sha256,
      dest,
      onProgress: (r, t) => {
        const now = Date.now();
        if (now - last < (tty ? 200 : 5000)) return;
        last = now;
        const msg = t ? `${(r / 1e6).toFixed(1)} / ${(t / 1e6).toFixed(1)} MB (${((100 * r) / t).toFixed(0)}%)` : `${(r / 1e6).toFixed(1)} MB`;
        process.stderr.write(tty ? `\r${msg}   ` : `${msg}\n`);
      },
    });
    if (tty) process.stderr.write('\n');
    process.stdout.write(`${file}\n`);
    return 0;
  },
};
