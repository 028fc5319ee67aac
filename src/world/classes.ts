// The world's classes. Label value in SegmentationClass PNGs = 1 + index (0 is never used, 255 is
// "ignore" by convention and never written either).
export const STUFF = ['sky', 'grass', 'water', 'sand', 'snow', 'road', 'brick wall', 'wood floor', 'mountain'] as const;
export const THINGS = ['ball', 'box', 'tree', 'house', 'car', 'boat', 'bird', 'cat', 'flower', 'moon', 'sun', 'cloud', 'kite', 'fence', 'umbrella'] as const;
export const WORLD_CLASSES: readonly string[] = [...STUFF, ...THINGS];
export const LABEL_OFFSET = 1;

export function labelOf(name: string): number {
  const i = WORLD_CLASSES.indexOf(name);
  if (i < 0) throw new Error(`unknown world class '${name}'`);
  return i + LABEL_OFFSET;
}

/**
 * The class-free folds: each holds out a third of the classes as "unknown" in `world reproduce`
 * (stuff and things in both, so that each fold has classes of either kind on both sides).
 */
export const UNKNOWN_FOLDS: readonly (readonly string[])[] = [
  ['snow', 'mountain', 'boat', 'cat', 'moon', 'kite', 'umbrella', 'wood floor'],
  ['sand', 'road', 'ball', 'car', 'bird', 'flower', 'cloud', 'brick wall'],
];
