// Project data: CLIP's prompt templates and the datasets' class names (data/*.json).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { invalidParameter } from '../errors';
import { packageRoot } from '../paths';

let templates: string[] | undefined;
let classes: Record<string, string[] | string[][]> | undefined;

/** The 85 templates: 80 CLIP ImageNet templates and 5 scene templates. */
export function promptTemplates(): string[] {
  templates ??= (JSON.parse(fs.readFileSync(path.join(packageRoot, 'data', 'prompt-templates.json'), 'utf8')) as { templates: string[] }).templates;
  return [...templates];
}

export type DatasetClasses = 'voc20' | 'voc21' | 'context59' | 'cocostuff171';

/** Class names in label-index order; 'voc21' is VOC-20 with 'background' at index 0. */
export function classNames(dataset: DatasetClasses): string[] {
  classes ??= JSON.parse(fs.readFileSync(path.join(packageRoot, 'data', 'classes.json'), 'utf8')) as Record<string, string[]>;
  if (dataset === 'voc21') return ['background', ...(classes.voc20 as string[])];
  const list = classes[dataset];
  if (!list || dataset === ('contextFolds' as string)) throw invalidParameter('dataset', "'voc20', 'voc21', 'context59' or 'cocostuff171'", dataset);
  return [...(list as string[])];
}

/** The four Pascal Context-59 class-free folds. */
export function contextFolds(): string[][] {
  classNames('voc20');
  return (classes!.contextFolds as string[][]).map((f) => [...f]);
}
