// `clips4/kernels`: the CLIP-S4 kernels (k-means, segment means, the three losses, the prototypes, the memory bank)
// for research and benchmarks; training and the Segmenter call them for you.
export * from '../kernels';
