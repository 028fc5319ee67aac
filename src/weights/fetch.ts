// Downloads official weight files: streamed to <file>.part, resumed with an HTTP Range request when
// a partial file exists, verified against the SHA-256 (OpenAI puts it in the URL), fsynced and
// renamed into place. Nothing half-written ever carries the final name.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { clips4Error, ErrorCodes, invalidParameter } from '../errors';

export interface KnownWeights {
  url: string;
  sha256: string;
  file: string;
}

export const KNOWN_WEIGHTS: Record<string, KnownWeights> = {
  'vit-b16': {
    url: 'https://openaipublic.azureedge.net/clip/models/5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f/ViT-B-16.pt',
    sha256: '5806e77cd80f8b59890b7e101eabd078d9fb84e6937f9e85e4ecb61988df416f',
    file: 'ViT-B-16.pt',
  },
  rn50: {
    url: 'https://openaipublic.azureedge.net/clip/models/afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762/RN50.pt',
    sha256: 'afeb0e10f9e5a86da6080e35cf09123aca3b358a0c3e3b6c78a7b63bc04b6762',
    file: 'RN50.pt',
  },
  bpe: {
    url: 'https://github.com/openai/CLIP/raw/main/clip/bpe_simple_vocab_16e6.txt.gz',
    sha256: '924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a',
    file: 'bpe_simple_vocab_16e6.txt.gz',
  },
};

export const DEFAULT_WEIGHTS_DIR = path.join(os.homedir(), '.cache', 'clips4');

export interface FetchOptions {
  url: string;
  sha256: string;
  dest: string;
  onProgress?: (received: number, total: number | undefined) => void;
  /** Redirects to follow. */
  maxRedirects?: number;
}

function hashFile(file: string): Promise<crypto.Hash> {
  return new Promise((resolve, reject) => {
    const h = crypto.createHash('sha256');
    if (!fs.existsSync(file)) return resolve(h);
    fs.createReadStream(file)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h))
      .on('error', reject);
  });
}

function request(url: string, headers: Record<string, string>): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const lib = url.startsWith('https:') ? https : http;
    const req = lib.get(url, { headers }, resolve);
    req.on('error', reject);
    req.setTimeout(60000, () => req.destroy(new Error('no data for 60 s')));
  });
}

/** Downloads (or resumes) `url` to `dest`, checking its SHA-256. Returns the final path. */
export async function fetchFile(o: FetchOptions): Promise<string> {
  if (!/^[0-9a-f]{64}$/.test(o.sha256)) throw invalidParameter('sha256', 'a 64-digit hex SHA-256', o.sha256);
  fs.mkdirSync(path.dirname(o.dest), { recursive: true });
  if (fs.existsSync(o.dest)) {
    if ((await hashFile(o.dest)).digest('hex') === o.sha256) return o.dest;
    fs.rmSync(o.dest);
  }
  const part = `${o.dest}.part`;
  let url = o.url;
  for (let redirects = o.maxRedirects ?? 5; ; redirects--) {
    const have = fs.existsSync(part) ? fs.statSync(part).size : 0;
    let res: http.IncomingMessage;
    try {
      res = await request(url, have > 0 ? { Range: `bytes=${have}-` } : {});
    } catch (err) {
      throw clips4Error(ErrorCodes.file, `Download of ${url} failed: ${(err as Error).message}; run the command again to resume (${have} bytes kept in ${part})`);
    }
    if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && res.headers.location) {
      res.resume();
      if (redirects <= 0) throw clips4Error(ErrorCodes.file, `Download of ${o.url} failed: too many redirects`);
      url = new URL(res.headers.location, url).toString();
      continue;
    }
    if (res.statusCode === 416) {
      // The part file is already complete (or larger than the file): verify it below.
      res.resume();
    } else if (res.statusCode !== 200 && res.statusCode !== 206) {
      res.resume();
      throw clips4Error(ErrorCodes.file, `Download of ${url} failed: HTTP ${res.statusCode}`);
    } else {
      const append = res.statusCode === 206 && have > 0;
      const range = /bytes (\d+)-\d+\/(\d+)/.exec(String(res.headers['content-range'] ?? ''));
      if (append && range && Number(range[1]) !== have) {
        res.resume();
        fs.rmSync(part, { force: true });
        continue;
      }
      const total = range ? Number(range[2]) : res.headers['content-length'] ? Number(res.headers['content-length']) + (append ? have : 0) : undefined;
      let received = append ? have : 0;
      const out = fs.createWriteStream(part, { flags: append ? 'a' : 'w' });
      try {
        await new Promise<void>((resolve, reject) => {
          res.on('data', (d: Buffer) => {
            received += d.length;
            o.onProgress?.(received, total);
          });
          res.on('aborted', () => reject(new Error('the connection was closed')));
          res.on('error', reject);
          out.on('error', reject);
          res.pipe(out);
          out.on('finish', () => (total !== undefined && received < total ? reject(new Error(`the connection was closed after ${received} of ${total} bytes`)) : resolve()));
        });
      } catch (err) {
        // Keep what arrived: flush the bytes still buffered in the stream (destroying it would drop
        // them, and the part file would hold less than was received, or nothing).
        res.unpipe(out);
        if (!out.destroyed) out.end();
        if (!out.closed) await new Promise<void>((resolve) => out.once('close', () => resolve()));
        const kept = fs.existsSync(part) ? fs.statSync(part).size : 0;
        throw clips4Error(ErrorCodes.file, `Download of ${url} was interrupted: ${(err as Error).message}; run the command again to resume (${kept} bytes kept in ${part})`);
      }
    }
    const digest = (await hashFile(part)).digest('hex');
    if (digest !== o.sha256) {
      fs.rmSync(part, { force: true });
      throw clips4Error(ErrorCodes.file, `Downloaded ${url} has SHA-256 ${digest}, expected ${o.sha256}; the partial file was deleted, run the command again`);
    }
    const fd = fs.openSync(part, 'r+');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(part, o.dest);
    return o.dest;
  }
}
