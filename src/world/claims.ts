// The paper's claims in miniature, each checked in every seed and fold of a reproduction's report:
// a claim holds only where it holds in every pairing of runs, and a missing run fails it.
import { ABLATION_ROWS, avg, firstFold, named, pct } from './report';
import type { Claim, Report, RunResult } from './reproduce';

/**
 * A claim comparing each run named `a` with the run named `b` of its seed and fold, required to hold
 * in every such pair: a run without its partner fails the claim (nothing shows that it holds there).
 */
function paired(r: Report, claim: string, a: string, b: string, holds: (x: RunResult, y: RunResult) => boolean, show: (x: RunResult, y: RunResult) => string): Claim {
  const ps = named(r, a).map((x) => ({ x, y: named(r, b).find((y) => y.seed === x.seed && y.fold === x.fold) }));
  return {
    claim,
    holds: ps.length > 0 && ps.every(({ x, y }) => y !== undefined && holds(x, y)),
    evidence: ps.map(({ x, y }) => `seed ${x.seed} fold ${x.fold}: ${y ? show(x, y) : `no ${b} run`}`).join('; '),
  };
}

/** A claim's evidence for one pairing: the two runs' value of `k`, as percentages. */
const vs = (k: 'known' | 'unknown' | 'hiou' | 'knn') => (x: RunResult, y: RunResult) => `${pct(x[k])} vs ${pct(y[k])}`;

/** The paper's claims, each required to hold in every seed and fold (a pairing by seed and fold). */
export function claims(r: Report): Claim[] {
  return [
    paired(r, 'CLIP-S4 beats MaskCLIP on known classes', 'clips4', 'maskclip', (x, y) => x.known > y.known, vs('known')),
    paired(r, 'CLIP-S4 is at least MaskCLIP on unknown classes', 'clips4', 'maskclip', (x, y) => x.unknown >= y.unknown, vs('unknown')),
    paired(r, 'CLIP-S4 beats MaskCLIP on hIoU', 'clips4', 'maskclip', (x, y) => x.hiou > y.hiou, vs('hiou')),
    paired(r, 'CLIP-S4 beats MaskCLIP+ on hIoU', 'clips4', 'maskclip-plus', (x, y) => x.hiou > y.hiou, vs('hiou')),
    paired(r, 'MaskCLIP+ collapses on unknown classes (below half of MaskCLIP)', 'maskclip-plus', 'maskclip', (x, y) => x.unknown < 0.5 * y.unknown, vs('unknown')),
    paired(r, 'k-NN: CLIP-S4 embeddings beat MaskCLIP features', 'clips4', 'maskclip', (x, y) => (x.knn ?? 0) > (y.knn ?? 0), vs('knn')),
    ablationClaim(r),
    ...oracleClaims(r),
  ];
}

/**
 * The loss ablation's claim: CLIP-S4 (all three losses) has a higher mIoU than every other row of
 * the ablation in each seed, not only on the mean over seeds (a mean can hide a seed where another
 * row wins). The ablation is trained on the first fold only: CLIP-S4's runs of that fold are its row.
 */
export function ablationClaim(r: Report): Claim {
  const [all, ...others] = ABLATION_ROWS;
  const runs = (name: string) => firstFold(r, named(r, name));
  const seeds = runs(all).map((x) => x.seed);
  const miou = (name: string, seed: number) => runs(name).find((x) => x.seed === seed)?.miou;
  // A row missing in a seed counts as beating all three there: nothing shows the claim holds.
  const wins = (seed: number) => others.every((n) => (miou(n, seed) ?? Infinity) < miou(all, seed)!);
  const perSeed = seeds.map((seed) => `seed ${seed}: ${ABLATION_ROWS.map((n) => `${n} ${pct(miou(n, seed))}`).join(', ')}`);
  const mean = `mean: ${ABLATION_ROWS.map((n) => `${n} ${pct(avg(runs(n).map((x) => x.miou)))}`).join(', ')}`;
  return {
    claim: 'all three losses together have the best mean mIoU of the ablation',
    holds: seeds.length > 0 && seeds.every(wins),
    evidence: [...perSeed, mean].join('; '),
  };
}

/** The controlled-teacher claim: at p = 0.4, CLIP-S4 ≥ its teacher + 10 points on known classes and ≥ it on unknown, in every seed. */
export function oracleClaims(r: Report): Claim[] {
  const name = 'oracle-0.4';
  if (!r.results.some((x) => x.name === name)) return [];
  const teacher = `${name}-teacher`;
  return [
    paired(r, 'controlled teacher (p 0.4): CLIP-S4 known mIoU ≥ the teacher\'s + 10 points', name, teacher, (x, y) => x.known >= y.known + 0.1, vs('known')),
    paired(r, 'controlled teacher (p 0.4): CLIP-S4 unknown mIoU ≥ the teacher\'s', name, teacher, (x, y) => x.unknown >= y.unknown, vs('unknown')),
  ];
}
