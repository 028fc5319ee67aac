// `weights fetch` against a server on 127.0.0.1: a good download, a wrong checksum, and a
// connection cut mid-way that the next run resumes with a Range request.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import test from 'ava';
import { fetchFile } from '../src/weights/fetch';
import { tmpDir } from './helpers/tmp';

const body = crypto.randomBytes(300_000);
const sha = crypto.createHash('sha256').update(body).digest('hex');

function serve(cutAfter?: number): Promise<{ url: string; ranges: string[]; close(): void }> {
  const ranges: string[] = [];
  let cuts = 0;
  const server = http.createServer((req, res) => {
    const range = req.headers.range;
    ranges.push(range ?? '');
    const start = range ? Number(/bytes=(\d+)-/.exec(range)![1]) : 0;
    const slice = body.subarray(start);
    res.writeHead(range ? 206 : 200, { 'content-length': slice.length, ...(range ? { 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}) });
    if (cutAfter !== undefined && cuts === 0) {
      cuts++;
      res.write(slice.subarray(0, cutAfter), () => res.destroy());
      return;
    }
    res.end(slice);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/ViT-B-16.pt`, ranges, close: () => (server.closeAllConnections(), server.close()) });
    }),
  );
}

test('good file: downloaded, verified and renamed into place', async (t) => {
  const s = await serve();
  t.teardown(() => s.close());
  const dest = path.join(tmpDir(), 'w.pt');
  t.is(await fetchFile({ url: s.url, sha256: sha, dest }), dest);
  t.true(fs.readFileSync(dest).equals(body));
  t.false(fs.existsSync(`${dest}.part`));
  // Present and valid: no second request.
  await fetchFile({ url: s.url, sha256: sha, dest });
  t.is(s.ranges.length, 1);
});

test('wrong checksum: an error, no file under the final name, the partial file removed', async (t) => {
  const s = await serve();
  t.teardown(() => s.close());
  const dest = path.join(tmpDir(), 'w.pt');
  const wrong = '0'.repeat(64);
  await t.throwsAsync(fetchFile({ url: s.url, sha256: wrong, dest }), { code: 'ERR_CLIPS4_FILE', message: new RegExp(`has SHA-256 ${sha}, expected ${wrong}`) });
  t.false(fs.existsSync(dest));
  t.false(fs.existsSync(`${dest}.part`));
});

test('connection cut: the error says how to resume, the next run continues with a Range request', async (t) => {
  const s = await serve(100_000);
  t.teardown(() => s.close());
  const dest = path.join(tmpDir(), 'w.pt');
  const err = await t.throwsAsync(fetchFile({ url: s.url, sha256: sha, dest }), { message: /interrupted: .*run the command again to resume \((\d+) bytes kept/ });
  t.false(fs.existsSync(dest));
  const kept = fs.statSync(`${dest}.part`).size;
  // What was written before the cut is kept (flushed, not dropped with the stream), it is the
  // file's true beginning, and the message says how much it is.
  t.true(kept > 0 && kept <= 100_000, `kept ${kept}`);
  t.true(fs.readFileSync(`${dest}.part`).equals(body.subarray(0, kept)));
  t.is(Number(/\((\d+) bytes kept/.exec(err!.message)![1]), kept);
  await fetchFile({ url: s.url, sha256: sha, dest });
  t.true(fs.readFileSync(dest).equals(body));
  t.is(s.ranges[1], `bytes=${kept}-`);
});
