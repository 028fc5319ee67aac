// The unknown-class folds of the class-free evaluation, per dataset (data/unknown-folds.json and the
// Context folds in data/classes.json), checked against the dataset's class names.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { classNames, contextFolds } from '../clip/templates';
import { clips4Error, ErrorCodes, invalidParameter } from '../errors';
import { packageRoot } from '../paths';

export const LANGUAGE_DATASETS = ['voc', 'context', 'cocostuff'] as const;
export type LanguageDataset = (typeof LANGUAGE_DATASETS)[number];

/** Class names in label order: VOC with background (21), Context-59, COCO-Stuff-171. */
export function datasetClasses(dataset: LanguageDataset): string[] {
  return classNames(dataset === 'voc' ? 'voc21' : dataset === 'context' ? 'context59' : 'cocostuff171');
}

/** The folds of unknown class names for a dataset (4 for Context, 1 for VOC and COCO-Stuff). */
export function unknownFolds(dataset: LanguageDataset): string[][] {
  if (!LANGUAGE_DATASETS.includes(dataset)) throw invalidParameter('dataset', LANGUAGE_DATASETS.map((d) => `'${d}'`).join(', '), dataset);
  const folds = dataset === 'context' ? contextFolds() : (JSON.parse(fs.readFileSync(path.join(packageRoot, 'data', 'unknown-folds.json'), 'utf8')) as Record<string, string[][]>)[dataset];
  const names = new Set(datasetClasses(dataset));
  for (const f of folds) {
    const bad = f.filter((n) => !names.has(n));
    if (bad.length) throw clips4Error(ErrorCodes.config, `unknown fold of ${dataset} names classes the dataset does not have: ${bad.join(', ')}`);
  }
  return folds;
}
