// report.md of `clips4 world reproduce`: the paper's tables in miniature as mean ± std over seeds
// and held-out folds, the controlled-teacher table, the claims (checked in claims.ts) with their
// evidence from every run, and the figures and loss curves beside it; and the headline table the
// CLI and the demo print.
import type { Report, RunResult } from './reproduce';

/** A fraction as a percentage with one decimal ('—' when there is none). */
export const pct = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '—' : (x * 100).toFixed(1));

/** The loss ablation's runs (paper Table 6), all three losses (CLIP-S4's run) first. */
export const ABLATION_ROWS: readonly string[] = ['clips4', 'lt', 'lt-le', 'lt-ls', 'le-ls'];

/** Results of one name over every seed and fold. */
export function named(r: Report, name: string): RunResult[] {
  return r.results.filter((x) => x.name === name);
}

/** The runs of the first held-out fold (where the ablation and the controlled teacher are trained). */
export function firstFold(r: Report, xs: RunResult[]): RunResult[] {
  return xs.filter((x) => x.fold === (r.foldIds?.[0] ?? 0));
}

export function avg(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

export function std(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = avg(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** mean ± std of a score over a run's seeds and folds (just the value when there is one run). */
function cell(xs: RunResult[], key: 'known' | 'unknown' | 'hiou' | 'miou' | 'knn'): string {
  const v = xs.map((x) => x[key]).filter((x): x is number => typeof x === 'number');
  if (!v.length) return '—';
  return v.length === 1 ? pct(v[0]) : `${pct(avg(v))} ± ${pct(std(v))}`;
}

function avgsimCell(xs: RunResult[]): string {
  const v = xs.map((x) => x.avgsim).filter((x): x is number => typeof x === 'number');
  return v.length ? avg(v).toFixed(2) : '—';
}

/** The teacher's best training-free variant the report holds rows of (setting.bestVariant), if any. */
function variantOf(r: Report): { name: string; label: string } | undefined {
  const v = r.setting.bestVariant as { name: string; label: string } | null | undefined;
  return v && named(r, v.name).length ? v : undefined;
}

/** Table 3's rows as [label, result name]: MaskCLIP, MaskCLIP+, CLIP-S4, and the best variant and CLIP-S4 on it. */
function table3Rows(r: Report, teacherSuffix: string): [string, string][] {
  const v = variantOf(r);
  const rows: [string, string][] = [
    [`MaskCLIP${teacherSuffix}`, 'maskclip'],
    ['MaskCLIP+', 'maskclip-plus'],
    ['CLIP-S4', 'clips4'],
    ...(v ? ([[`${v.label}${teacherSuffix}`, v.name], [`CLIP-S4 on ${v.label}`, `clips4-${v.name}`]] as [string, string][]) : []),
  ];
  return rows.filter(([, n]) => named(r, n).length);
}

export function renderReport(r: Report, runs: { name: string; label: string }[]): string {
  const label = (name: string) => runs.find((s) => s.name === name)?.label ?? name;
  const table3 = table3Rows(r, ' (teacher)');
  const variant = variantOf(r);
  const ablation = ABLATION_ROWS.filter((n) => named(r, n).length);
  const corruptions = (r.setting.corruptions as number[]) ?? [];
  const runsCount = r.seeds.length * r.folds.length;
  const s = r.setting as { valImages: number; knnTrainImages: number; noise: number; minutes: number; config: { train: { iterations: number; batch: number }; data: { images: number; crop: number }; clip: { side: number } } };
  const lines = [
    '# CLIP-S4 on a synthetic world: the paper\'s tables in miniature',
    '',
    `Every number comes from models trained by \`runTraining\` (configs/world-small.json and the ablation configs) and`,
    `evaluated by the Segmenter on ${s.valImages} val images, over ${r.seeds.length} seed(s) (${r.seeds.join(', ')}) × ${r.folds.length} held-out fold(s);`,
    `cells are mean ± std over those ${runsCount} run(s)${r.folds.length > 1 ? ` for Table 3 and k-NN; the loss ablation and the controlled teacher are trained on fold 0 only (${r.seeds.length} run(s))` : ''}. Training: ${s.config.data.images} unlabelled images, ${s.config.train.iterations} iterations`,
    `of batch ${s.config.train.batch}, views ${s.config.data.crop}²; the teacher sees the images at shorter side ${s.config.clip.side || 'as they are'}. ${s.minutes.toFixed(1)} min in all.`,
    '',
    ...r.folds.map((f, i) => `- fold ${i}: held out as unknown (never named in training): ${f.join(', ')}`),
    '',
    '## CLIP (teacher)',
    `- weights: ${r.clip.file}`,
    `- zero-shot top-1 on single-class crops: ${pct(r.clip.zeroShotTop1)}%`,
    `- MaskCLIP language-driven val mIoU (all classes): ${pct(named(r, 'maskclip')[0]?.miou ?? r.clip.maskclipMiou)}%`,
    '',
  ];
  if (table3.length) {
    lines.push('## Class-free language-driven segmentation (paper Table 3)', '| method | known | unknown | hIoU |', '|---|---:|---:|---:|');
    for (const [l, n] of table3) lines.push(`| ${l} | ${cell(named(r, n), 'known')} | ${cell(named(r, n), 'unknown')} | ${cell(named(r, n), 'hiou')} |`);
    if (!variant && r.setting.bestVariantLeftOut) lines.push('', 'No rows of the teacher\'s best training-free variant: left out (options.bestVariant false; the single-seed demo leaves them out to keep to its time budget, `--seeds N` has them).');
    else if (!variant) lines.push('', 'No rows of the teacher\'s best training-free variant: this ResNet teacher\'s images (clip.side) are too small for MaskCLIP\'s overlapping windows, two strides wide at least.');
    else if (r.setting.teacherKind === 'resnet') lines.push('', `The best training-free variant of this ResNet teacher is ${variant.label}: ClearCLIP, SCLIP and NACLIP change a ViT's last attention block, which a ResNet CLIP does not have (its MaskCLIP features come from the attention pool's value and output projections), and of the rest measured on the world's teacher only MaskCLIP's own overlapping windows beat whole images (README Results).`);
    lines.push('');
  }
  if (ablation.length) {
    lines.push('## Loss ablation (paper Table 6; mIoU over all classes; avgsim = mean cosine of our and the teacher\'s segment embeddings, last 20 steps)', '| losses | mIoU | avgsim |', '|---|---:|---:|');
    for (const n of ablation) lines.push(`| ${label(n)} | ${cell(firstFold(r, named(r, n)), 'miou')} | ${avgsimCell(firstFold(r, named(r, n)))} |`);
    lines.push('');
    lines.push('## Unsupervised k-NN (paper Table 4; 36 k-means segments per image, 20 neighbours)', '| features | mIoU |', '|---|---:|');
    for (const [l, n] of [['MaskCLIP', 'maskclip'], ...(variant ? [[variant.label, variant.name]] : []), ['CLIP-S4', 'clips4']]) if (named(r, n).length) lines.push(`| ${l} | ${cell(named(r, n), 'knn')} |`);
    lines.push('');
  }
  if (corruptions.length) {
    lines.push(`## Controlled teacher (degraded oracle: a fraction p of cells in blobs of another class, noise σ ${s.noise})`, '| p | teacher known | teacher unknown | teacher hIoU | teacher k-NN | CLIP-S4 known | CLIP-S4 unknown | CLIP-S4 hIoU | CLIP-S4 k-NN |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const p of corruptions) {
      const t = named(r, `oracle-${p}-teacher`);
      const c = named(r, `oracle-${p}`);
      lines.push(`| ${p} | ${cell(t, 'known')} | ${cell(t, 'unknown')} | ${cell(t, 'hiou')} | ${cell(t, 'knn')} | ${cell(c, 'known')} | ${cell(c, 'unknown')} | ${cell(c, 'hiou')} | ${cell(c, 'knn')} |`);
    }
    lines.push('');
  }
  const curves = runs.filter((s) => named(r, s.name).some((x) => x.loss));
  if (curves.length) {
    const tenth = (xs: RunResult[], k: 'start' | 'middle' | 'end') => avg(xs.map((x) => x.loss![k])).toFixed(3);
    lines.push(
      '## Convergence (training loss: mean over the first, fifth and last tenth of each run; change from the ninth to the last tenth)',
      '| run | start | middle | end | last-tenth change |',
      '|---|---:|---:|---:|---:|',
      ...curves.map((s) => {
        const xs = named(r, s.name).filter((x) => x.loss);
        const change = xs.map((x) => x.loss!.tailChange * 100);
        return `| ${s.label} | ${tenth(xs, 'start')} | ${tenth(xs, 'middle')} | ${tenth(xs, 'end')} | ${avg(change).toFixed(1)}%${xs.length > 1 ? ` (${Math.min(...change).toFixed(1)} … ${Math.max(...change).toFixed(1)})` : ''} |`;
      }),
      '',
      '![CLIP-S4 training curves, first seed and fold](curves-clips4.png)',
      '',
    );
  }
  lines.push('## The paper\'s claims, checked in every seed and fold', ...r.claims.map((c) => `- **${c.holds ? 'holds' : 'does not hold'}**: ${c.claim} (${c.evidence})`), '');
  lines.push(
    '## Figures',
    '- `overlays.png`: val images with ground truth, MaskCLIP, MaskCLIP+ and CLIP-S4 predictions (first seed and fold).',
    '- `projection.png`: UMAP of the class-mean embeddings of CLIP (MaskCLIP) and CLIP-S4, projected together (supplement Fig. 2).',
    '- `per-class-iou.png`: CLIP-S4 per-class IoU, unknown classes marked.',
    `- \`${r.setting.runs}/seed<S>-fold<F>/<run>/curves.png\`: each run's loss curves (metrics.jsonl and the resolved config.json beside them).`,
  );
  return lines.join('\n') + '\n';
}

/** The headline table (Table 3, mean over seeds and folds). */
export function headline(r: Report): string {
  const rows: [string, string][] = [...table3Rows(r, ''), ['oracle teacher p 0.4', 'oracle-0.4-teacher'], ['CLIP-S4 on it', 'oracle-0.4']];
  const present = rows.filter(([, name]) => named(r, name).length);
  const width = Math.max(20, ...present.map(([label]) => label.length));
  // Each number as wide as its column's header, so that the columns line up in a terminal too.
  const columns: ['known' | 'unknown' | 'hiou', string][] = [['known', 'known'], ['unknown', 'unknown'], ['hiou', ' hIoU']];
  const row = (first: string, cells: string[]) => `| ${first.padEnd(width)} | ${cells.join(' | ')} |`;
  return [
    row('method', columns.map(([, h]) => h)),
    `|${'-'.repeat(width + 2)}|${columns.map(([, h]) => `${'-'.repeat(h.length + 1)}:`).join('|')}|`,
    ...present.map(([label, name]) => row(label, columns.map(([k, h]) => pct(avg(named(r, name).map((x) => x[k]))).padStart(h.length)))),
  ].join('\n');
}
