import test from 'ava';
import { umap } from '../src/plot/umap';

test('UMAP keeps well-separated clusters apart and is deterministic', (t) => {
  let s = 3;
  const r = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const centres = [[5, 0, 0, 0, 0, 0], [0, 0, 0, 5, 0, 0], [0, 0, 0, 0, 0, 5]];
  const x = centres.flatMap((c) => Array.from({ length: 15 }, () => c.map((v) => v + r() * 0.5)));
  const y = umap(x, { seed: 1 });
  t.deepEqual(umap(x, { seed: 1 }), y);
  const mean = (g: number) => [0, 1].map((d) => y.slice(g * 15, g * 15 + 15).reduce((a, p) => a + p[d], 0) / 15);
  const spread = (g: number) => {
    const m = mean(g);
    return Math.max(...y.slice(g * 15, g * 15 + 15).map((p) => Math.hypot(p[0] - m[0], p[1] - m[1])));
  };
  for (let a = 0; a < 3; a++) {
    for (let b = a + 1; b < 3; b++) {
      const d = Math.hypot(mean(a)[0] - mean(b)[0], mean(a)[1] - mean(b)[1]);
      t.true(d > spread(a) + spread(b), `clusters ${a} and ${b}: centre distance ${d.toFixed(2)} vs spreads ${spread(a).toFixed(2)} + ${spread(b).toFixed(2)}`);
    }
  }
});
