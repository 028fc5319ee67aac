// What the `clips4 eval …` commands share: dataset and model options, their checks (errors name the
// option), and the report files (report.md and report.json written atomically into --out).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cocoStuffDataset, contextDataset, vocDataset, type Dataset } from '../../data/datasets';
import { LANGUAGE_DATASETS, type LanguageDataset } from '../../eval/folds';
import type { DenseVariant } from '../../clip/clip';
import { Segmenter, type SegmentOptions } from '../../infer/segmenter';
import { writeFileAtomicSync, writeJsonAtomicSync } from '../../io/atomic';
import { intOption, numberOption, required } from '../args';
import { UsageError } from '../command';

type Values = Record<string, unknown>;

/** How CLIP's own dense features are computed in MaskCLIP mode (parseArgs descriptors). */
export const featureOptions = { variant: { type: 'string' }, window: { type: 'string' }, stride: { type: 'string' } } as const;

export const featureUsage = `  --variant V       without --model: CLIP's dense features as MaskCLIP (default) or a training-free
                    variant of a ViT's last block: clearclip, sclip, naclip
  --window W --stride S   without --model: CLIP's features over a sliding window of W pixels`;

/** MaskCLIP's inference refinements of the class scores (parseArgs descriptors). */
export const refineOptions = { denoise: { type: 'string' }, 'key-smoothing': { type: 'string' } } as const;

export const refineUsage = `  --denoise P       MaskCLIP's prompt denoising: classes whose best probability in an image is below P are dropped
  --key-smoothing P without --model or --window: MaskCLIP's key smoothing where a position's best probability is below P`;

/** The segment() options of --denoise and --key-smoothing (0 = off; the Segmenter checks their values). */
export function refinements(values: Values): Pick<SegmentOptions, 'denoise' | 'keySmoothing'> {
  return { denoise: numberOption(values, 'denoise', 0), keySmoothing: numberOption(values, 'key-smoothing', 0) };
}

/** Options of every dataset evaluation (parseArgs descriptors). */
export const datasetOptions = {
  ...featureOptions,
  dataset: { type: 'string' },
  root: { type: 'string' },
  split: { type: 'string' },
  limit: { type: 'string' },
  clip: { type: 'string' },
  model: { type: 'string' },
  vocab: { type: 'string' },
  size: { type: 'string' },
  out: { type: 'string' },
} as const;

export const datasetUsage = `  --dataset voc|context|cocostuff   which dataset layout --root holds
  --root DIR        the dataset folder (VOCdevkit, the Context conversion, COCO-Stuff)
  --split NAME      evaluation split (default val; val2017 for COCO-Stuff)
  --limit N         evaluate only the first N images
  --clip FILE       CLIP weights (names the classes; MaskCLIP features without --model)
  --model FILE      a trained CLIP-S4 embedder (safetensors with its .json config)
  --vocab FILE      CLIP BPE vocabulary when the weights do not carry a tokenizer
  --size N          shorter image side for the encoder (default 448)
${featureUsage}
  --out DIR         where report.md, report.json and the figures go`;

export function datasetName(values: Values): LanguageDataset {
  const name = required(values, 'dataset');
  if (!(LANGUAGE_DATASETS as readonly string[]).includes(name)) throw new UsageError(`--dataset expects one of ${LANGUAGE_DATASETS.join(', ')}, got '${name}'`);
  return name as LanguageDataset;
}

const DEFAULT_SPLITS: Record<LanguageDataset, { val: string; train: string }> = {
  voc: { val: 'val', train: 'train' },
  context: { val: 'val', train: 'train' },
  cocostuff: { val: 'val2017', train: 'train2017' },
};

/** Opens --dataset at --root for a split ('val' from --split, or the training split from `trainOption`). */
export function openDataset(values: Values, which: 'val' | 'train' = 'val', trainOption = 'train-split'): Dataset {
  const name = datasetName(values);
  const root = required(values, 'root');
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new UsageError(`--root ${root} is not a folder`);
  const option = which === 'val' ? 'split' : trainOption;
  const split = typeof values[option] === 'string' ? (values[option] as string) : DEFAULT_SPLITS[name][which];
  return name === 'voc' ? vocDataset(root, split) : name === 'context' ? contextDataset(root, split) : cocoStuffDataset(root, split);
}

export function limitItems(ds: Dataset, values: Values, option = 'limit'): Dataset {
  const n = intOption(values, option, ds.items.length, 1);
  return { ...ds, items: ds.items.slice(0, n) };
}

/**
 * The Segmenter of --clip, --model, --vocab, --size. `oneAtATime`: for commands that embed one image
 * and wait for it before the next (k-NN, linear probe, retrieval), so no request waits for others
 * to batch with (maxWaitMs 0).
 */
export async function loadSegmenter(values: Values, o: { oneAtATime?: boolean } = {}): Promise<Segmenter> {
  return Segmenter.load({
    clip: required(values, 'clip'),
    model: values.model as string | undefined,
    vocab: values.vocab as string | undefined,
    size: intOption(values, 'size', 448, 16),
    variant: values.variant as DenseVariant | undefined,
    ...(values.window !== undefined ? { window: intOption(values, 'window', 0, 1) } : {}),
    ...(values.stride !== undefined ? { stride: intOption(values, 'stride', 0, 1) } : {}),
    ...(o.oneAtATime ? { maxWaitMs: 0 } : {}),
  });
}

/** The output folder (created) from --out. */
export function outDir(values: Values): string {
  const out = required(values, 'out');
  fs.mkdirSync(out, { recursive: true });
  return out;
}

export function writeReport(out: string, json: unknown, markdown: string): void {
  writeJsonAtomicSync(path.join(out, 'report.json'), json);
  writeFileAtomicSync(path.join(out, 'report.md'), markdown.trimEnd() + '\n');
}

export const pct = (x: number | null | undefined) => (x === null || x === undefined ? '—' : (x * 100).toFixed(1));

/** A markdown table. */
export function table(header: string[], rows: (string | number)[][]): string {
  return [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** Per-class IoU as a name → value record (null for absent classes). */
export function namedIou(names: string[], iou: (number | null)[]): Record<string, number | null> {
  return Object.fromEntries(names.map((n, i) => [n, iou[i]]));
}

export function describeFeatures(values: Values): string {
  if (values.model) return `CLIP-S4 embedder ${values.model as string}`;
  const how = [
    values.variant !== undefined && values.variant !== 'maskclip' ? `${values.variant as string} variant` : '',
    values.window !== undefined ? `sliding window ${values.window as string}/${(values.stride as string | undefined) ?? values.window}` : '',
    values.denoise !== undefined ? `prompt denoising ${values.denoise as string}` : '',
    values['key-smoothing'] !== undefined ? `key smoothing ${values['key-smoothing'] as string}` : '',
  ].filter(Boolean);
  return `MaskCLIP (CLIP dense features of ${values.clip as string}${how.length ? `; ${how.join(', ')}` : ''})`;
}

/** The mIoU / pAcc / mAcc row of a paper table, named by the features evaluated. */
export function scoresTable(values: Values, s: { miou: number; pacc: number; macc: number }): string {
  return table(['method', 'mIoU', 'pAcc', 'mAcc'], [[values.model ? 'CLIP-S4' : 'MaskCLIP', pct(s.miou), pct(s.pacc), pct(s.macc)]]);
}

/** The per-class IoU section (marked classes flagged as unknown). */
export function perClassSection(classes: string[], iou: (number | null)[], marked: string[] = []): string {
  return ['## Per-class IoU (%)', table(['class', 'IoU'], classes.map((c, i) => [c + (marked.includes(c) ? ' (unknown)' : ''), pct(iou[i])]))].join('\n');
}

/** report.md of a segmentation evaluation: title, setting, the scores table, extra sections, per-class IoU, figures. */
export function scoreMarkdown(o: { title: string; setting: string; section: string; values: Values; scores: { miou: number; pacc: number; macc: number; per_class_iou: (number | null)[] }; classes: string[]; marked?: string[]; extra?: string[]; figures: string[] }): string {
  return [`# ${o.title}`, '', o.setting, '', `## ${o.section}`, scoresTable(o.values, o.scores), ...(o.extra ?? []).flatMap((e) => ['', e]), '', perClassSection(o.classes, o.scores.per_class_iou, o.marked), '', '## Figures', ...o.figures.map((f) => `- ${f}`)].join('\n');
}
