// Training progress: a redrawn bar with ETA in a terminal, plain lines every N iterations otherwise.
import test from 'ava';
import { formatDuration, Progress, stageProgress } from '../src/train/progress';

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

test('a set-up stage logs done/total with its rate and ETA at most every 10 s, and when it completes', (t) => {
  const lines: string[] = [];
  let now = 0;
  const p = stageProgress('CLIP teacher features', 1000, (l) => lines.push(l), { now: () => now });
  p(200); // resumed at 200: the rate counts from here, and nothing is rated yet
  now = 5_000;
  p(300); // within 10 s of the start: no line
  now = 10_000;
  p(400); // 200 in 10 s → 20/s, 600 left → 30 s
  now = 15_000;
  p(500);
  now = 40_000;
  p(1000);
  t.deepEqual(lines, ['CLIP teacher features 400/1000 (20/s, ETA 30s)', 'CLIP teacher features 1000/1000']);
  const done: string[] = [];
  stageProgress('images read and regions made', 3, (l) => done.push(l))(3);
  t.deepEqual(done, ['images read and regions made 3/3'], 'a stage found complete says so once');
});
