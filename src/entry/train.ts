// `clips4/train`: the training job — configs, the run, the native trainer, data-parallel launch,
// progress, checkpoints, TensorBoard events and the export of a run's embedder for inference.
export { resolveConfig, defaultConfig, type ResolvedConfig } from '../train/config';
export { trainerOptions, netConfig, viewOptions, type TrainerInputs } from '../train/options';
export { configHelp, SCHEMA, type Config, type Field, type FieldType } from '../train/schema';
export { runTraining, type RunOptions } from '../train/run';
export { NativeTrainer, polyLr, type TrainerOptions, type TrainBatch } from '../train/native-trainer';
export { distFromEnv, launchLocal, ProcessGroup, rankSlice, type DistInfo } from '../train/distributed';
export { Progress, formatDuration, type ProgressOptions, type ProgressMetrics } from '../train/progress';
export { saveCheckpoint, loadLatest, type CheckpointMeta } from '../train/checkpoint';
export { TensorBoardWriter } from '../train/tensorboard';
export { exportRun, type ExportResult } from '../train/export';
