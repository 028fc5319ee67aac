export { generateWorld, type WorldOptions, type WorldSummary } from './generate';
export { WORLD_CLASSES, STUFF, THINGS, UNKNOWN_FOLD, LABEL_OFFSET } from './classes';
