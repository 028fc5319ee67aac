export { generateWorld, type WorldOptions, type WorldSummary } from './generate';
export { WORLD_CLASSES, STUFF, THINGS, UNKNOWN_FOLDS, LABEL_OFFSET } from './classes';
