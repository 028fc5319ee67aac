// `clips4/eval`: the paper's evaluations — confusion-matrix scores, language-driven segmentation,
// k-NN over k-means segments, the linear probe, DAVIS label propagation, retrieval and the
// held-out class folds.
export { ConfusionMatrix, type Scores } from '../eval/metrics';
export { languageEvaluate, type LanguageResult, type EvaluatedImage } from '../eval/language';
export { knnEvaluate, type SegmentedImage } from '../eval/knn';
export { kmeansSegments } from '../eval/segments';
export { trainLinearProbe, probePredict, type LinearProbe, type ProbeData, type ProbeTraining } from '../eval/linear';
export { propagateLabels, davisScores, jaccard, boundaryF, type FrameFeatures, type PropagationOptions, type DavisScore } from '../eval/davis';
export { runDavis, colourFeatures, denseFrameEncoder, type FrameEncoder, type DavisRun } from '../eval/davis-run';
export { retrieveSegments, type RetrievalHit, type RetrievalSource } from '../eval/retrieve';
export { unknownFolds, type LanguageDataset } from '../eval/folds';
