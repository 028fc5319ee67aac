// Training progress: a redrawn bar with ETA in a terminal, plain lines every N iterations otherwise.
import test from 'ava';
import { formatDuration, Progress } from '../src/train/progress';

const metrics = { loss: 1.5, contrastive: 1, embedding: 0.25, semantic: 0.25, avgsim: 0.5, imagesPerSecond: 8 };

test('formatDuration', (t) => {
  t.is(formatDuration(42.4), '42s');
  t.is(formatDuration(185), '3m05s');
  t.is(formatDuration(3720), '1h02m');
  t.is(formatDuration(NaN), '?');
});

test('in a terminal one line is redrawn with percent, bar, losses and an ETA from the measured speed', (t) => {
  let out = '';
  let now = 0;
  const p = new Progress({ total: 100, start: 0, tty: true, every: 10, columns: 200, write: (s) => (out += s), now: () => now });
  p.restart(20); // resumed at 20: speed is measured from here
  now = 10_000;
  p.update(40, metrics); // 20 iterations in 10 s → 60 left ≈ 30 s
  t.true(out.startsWith('\r\x1b[2K'));
  t.false(out.includes('\n'));
  t.regex(out, / 40% \[#{12}\.{18}\] it 40\/100 loss 1\.5000 \(t 1\.000 e 0\.250 s 0\.250\) avgsim 0\.500 8\.0 img\/s ETA 30s/);
  out = '';
  p.message('checkpoint saved');
  t.is(out, '\r\x1b[2Kcheckpoint saved\n');
  out = '';
  p.update(100, metrics);
  t.true(out.endsWith('\n'), 'the last update ends the line');
});

test('without a terminal a plain line every N iterations and at the end', (t) => {
  const lines: string[] = [];
  const p = new Progress({ total: 25, start: 0, tty: false, every: 10, write: (s) => lines.push(s) });
  for (let i = 1; i <= 25; i++) p.update(i, metrics);
  t.deepEqual(lines.map((l) => l.split(' ')[1]), ['10/25', '20/25', '25/25']);
  t.true(lines.every((l) => l.endsWith('\n') && !l.includes('\r')));
});
