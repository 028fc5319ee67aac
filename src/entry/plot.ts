// `clips4/plot`: figures drawn without a browser — UMAP projections and training-curve panels.
export { umap, type UmapOptions } from '../plot/umap';
export { renderCurves, readMetricRows, type CurveOptions, type MetricRow } from '../plot/curves';
