// `clips4/world`: the synthetic world of the demo and its three steps — generate it, pre-train its
// CLIP on captions, reproduce the paper's tables on it.
export * from '../world';
export { pretrainClip, type PretrainOptions, type PretrainReport } from '../world/pretrain-clip';
export { reproduce, type ReproduceOptions, type Report } from '../world/reproduce';
export { headline } from '../world/report';
