// NativeTrainer.step against a reference written out here: the tiny network's forward and backward
// passes in plain float64 TypeScript (smallNet, native/src/train_debug_net.cc), the losses composed
// from the kernels (clips4/kernels) the way native/src/train_step.cc composes them, and SGD with
// momentum and weight decay as the update rule of torch.optim.SGD. The trainer computes in float64,
// so what separates it from the reference is the kernels' float32 arithmetic only.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import * as kernels from '../src/kernels';
import * as safetensors from '../src/safetensors';
import type { TrainBatch } from '../src/train/native-trainer';
import { float32, toFloat32, zeros, type Tensor } from '../src/tensor';
import type { StepMetrics, TrainerState } from '../src/native';
import { tmpDir } from './helpers/tmp';
import { CONFIG, E, H, KNOWN, KNOWN_PROTOTYPES, LR, makeBatch, newTrainer, OPTIONS, PAIRS, S, UNKNOWN_PROTOTYPES, VIEWS, WIDTH } from './helpers/small-trainer';

// Losses, |Δ| / max(1, |loss|) (avgsim, a mean cosine, may be near 0): the float32 kernels on
// float32-rounded embeddings against the float64 trainer differ by ≤ 2.2e-7 (measured over ten
// seeds of the batches).
const LOSS_TOL = 2e-6;
// Gradients, max |Δ| over a parameter tensor relative to its max |g|: ≤ 6.3e-7 measured over ten
// seeds (the float32 kernels' gradients chained in float64); the unknown prototypes after their
// update ≤ 5e-9.
const GRAD_TOL = 1e-5;
// Relations between float64 quantities of the trainer itself (the update rule): rounding only.
const EXACT_TOL = 1e-12;

// ---- the network, forward and backward in float64 --------------------------------------------

type Params = Record<string, Float64Array>;

function float64s(record: Record<string, Tensor>): Params {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => {
    if (v.dtype !== 'float64') throw new Error(`${k} is ${v.dtype}, expected the float64 trainer's float64`);
    return [k, v.data as Float64Array];
  }));
}

// Every (output, input, weight) index triple of a 3×3 convolution with stride 2 and padding 1
// (both of smallNet's convolutions) over x [B,cin,size,size], skipping taps in the padding.
function convTaps(B: number, cin: number, size: number, cout: number, visit: (out: number, inp: number, wt: number) => void): void {
  const so = size / 2;
  for (let b = 0; b < B; b++)
    for (let o = 0; o < cout; o++)
      for (let yo = 0; yo < so; yo++)
        for (let xo = 0; xo < so; xo++) {
          const out = ((b * cout + o) * so + yo) * so + xo;
          for (let i = 0; i < cin; i++)
            for (let ky = 0; ky < 3; ky++) {
              const yi = 2 * yo - 1 + ky;
              if (yi < 0 || yi >= size) continue;
              for (let kx = 0; kx < 3; kx++) {
                const xi = 2 * xo - 1 + kx;
                if (xi < 0 || xi >= size) continue;
                visit(out, ((b * cin + i) * size + yi) * size + xi, ((o * cin + i) * 3 + ky) * 3 + kx);
              }
            }
        }
}

function conv(x: Float64Array, B: number, cin: number, size: number, weight: Float64Array, bias: Float64Array): Float64Array {
  const cout = bias.length;
  const plane = (size / 2) ** 2;
  const y = new Float64Array(B * cout * plane);
  for (let i = 0; i < y.length; i++) y[i] = bias[Math.floor(i / plane) % cout];
  convTaps(B, cin, size, cout, (out, inp, wt) => (y[out] += x[inp] * weight[wt]));
  return y;
}

/** Adds conv's parameter gradients to `grads` (under `name`) and returns the input's gradient. */
function convBackward(dy: Float64Array, x: Float64Array, B: number, cin: number, size: number, weight: Float64Array, cout: number, grads: Params, name: string): Float64Array {
  const dw = new Float64Array(weight.length), db = new Float64Array(cout), dx = new Float64Array(x.length);
  const plane = (size / 2) ** 2;
  for (let i = 0; i < dy.length; i++) db[Math.floor(i / plane) % cout] += dy[i];
  convTaps(B, cin, size, cout, (out, inp, wt) => {
    dw[wt] += dy[out] * x[inp];
    dx[inp] += dy[out] * weight[wt];
  });
  grads[`${name}.weight`] = dw;
  grads[`${name}.bias`] = db;
  return dx;
}

/** The channel vectors of a [B,C,h,w] map: visit(b, hw offset) for each pixel with its channel stride. */
function eachPixel(B: number, C: number, plane: number, visit: (base: number, stride: number) => void): void {
  for (let b = 0; b < B; b++) for (let p = 0; p < plane; p++) visit(b * C * plane + p, plane);
}

// A pixel i = v·H² + y·H + x of the [V,E,H,H] embeddings: where its channel vector starts, and back.
const channelBase = (i: number) => Math.floor(i / (H * H)) * E * H * H + (i % (H * H));
const pixelAt = (base: number) => Math.floor(base / (E * H * H)) * H * H + (base % (H * H));

function norm(a: Float64Array, base: number, stride: number, n: number): number {
  let s = 0;
  for (let c = 0; c < n; c++) s += a[base + c * stride] ** 2;
  return Math.sqrt(s);
}

// The gradient through u = a/‖a‖ (the unit vector u at base/stride, ‖a‖ = n): (g − u(u·g)) / n.
function throughNormalise(g: Float64Array, u: Float64Array, base: number, stride: number, dim: number, n: number, out: Float64Array, outBase: number, outStride: number): void {
  let ug = 0;
  for (let c = 0; c < dim; c++) ug += u[base + c * stride] * g[base + c * stride];
  for (let c = 0; c < dim; c++) out[outBase + c * outStride] += (g[base + c * stride] - u[base + c * stride] * ug) / n;
}

interface Forward {
  x: Float64Array;
  h1: Float64Array;
  a1: Float64Array;
  norms: Float64Array; // ‖y2‖ per pixel
  emb: Float64Array; // [V,E,H,H], unit length over E
}

// smallNet: conv3×3/2 → ReLU → conv3×3/2 → L2-normalise over channels.
function forward(p: Params, images: Tensor<'float32'>): Forward {
  const x = Float64Array.from(images.data);
  const h1 = conv(x, VIEWS, 3, S, p['c1.weight'], p['c1.bias']);
  const a1 = h1.map((v) => Math.max(0, v));
  const y2 = conv(a1, VIEWS, WIDTH, S / 2, p['c2.weight'], p['c2.bias']);
  const norms = new Float64Array(VIEWS * H * H);
  const emb = new Float64Array(y2.length);
  eachPixel(VIEWS, E, H * H, (base, stride) => {
    const n = norm(y2, base, stride, E);
    norms[pixelAt(base)] = n;
    for (let c = 0; c < E; c++) emb[base + c * stride] = y2[base + c * stride] / n;
  });
  return { x, h1, a1, norms, emb };
}

/** The parameter gradients from the loss's gradient w.r.t. the embeddings [V,E,H,H]. */
function backward(f: Forward, p: Params, dEmb: Float64Array): Params {
  const dy2 = new Float64Array(dEmb.length);
  eachPixel(VIEWS, E, H * H, (base, stride) => {
    throughNormalise(dEmb, f.emb, base, stride, E, f.norms[pixelAt(base)], dy2, base, stride);
  });
  const grads: Params = {};
  const da1 = convBackward(dy2, f.a1, VIEWS, WIDTH, S / 2, p['c2.weight'], E, grads, 'c2');
  const dh1 = da1.map((g, i) => (f.h1[i] > 0 ? g : 0));
  convBackward(dh1, f.x, VIEWS, 3, S, p['c1.weight'], WIDTH, grads, 'c1');
  return grads;
}

// ---- the losses, composed from the kernels ---------------------------------------------------

// native NearestResize: upsample_nearest2d, source index floor(dst · in/out) (no half-pixel shift).
function nearestResize<T extends Int32Array | Uint8Array>(map: T, size: number, out: number, make: (n: number) => T): T {
  const r = make(VIEWS * out * out);
  for (let v = 0; v < VIEWS; v++)
    for (let y = 0; y < out; y++)
      for (let x = 0; x < out; x++) r[(v * out + y) * out + x] = map[(v * size + Math.floor((y * size) / out)) * size + Math.floor((x * size) / out)];
  return r;
}

/** The teacher's features with each pixel L2-normalised over channels (the trainer does this first). */
function unitPixels(clip: Tensor<'float32'>): Tensor<'float32'> {
  const a = Float64Array.from(clip.data);
  const out = zeros('float32', clip.shape);
  eachPixel(VIEWS, E, H * H, (base, stride) => {
    const n = norm(a, base, stride, E);
    for (let c = 0; c < E; c++) out.data[base + c * stride] = a[base + c * stride] / n;
  });
  return out;
}

interface Groups {
  pixels: number[]; // index v·H² + y·H + x of each pixel in a segment (L_t's rows, in order)
  pixelGroup: Tensor<'int64'>;
  pixelSegment: Tensor<'int64'>;
  segmentGroup: Tensor<'int64'>;
}

// L_t's positives: a pixel's group is its region made unique per image (image index · 2³² +
// region id); view v shows image v mod PAIRS, so an image's two views share their groups.
function positiveGroups(seg: Int32Array, regions: Int32Array, P: number): Groups {
  const pixels: number[] = [];
  const groups: bigint[] = [];
  const segmentGroup = zeros('int64', [P]);
  seg.forEach((s, i) => {
    if (s < 0) return;
    const image = Math.floor(i / (H * H)) % PAIRS;
    const group = (BigInt(image) << 32n) + BigInt(regions[i]);
    pixels.push(i);
    groups.push(group);
    segmentGroup.data[s] = group;
  });
  const int64 = (xs: bigint[]): Tensor<'int64'> => ({ dtype: 'int64', shape: [xs.length], data: BigInt64Array.from(xs) });
  return { pixels, pixelGroup: int64(groups), pixelSegment: int64(pixels.map((i) => BigInt(seg[i]))), segmentGroup };
}

/** Rows [N,E] of a [V,E,H,H] map at the given pixels. */
function pixelRows(map: Float64Array, pixels: number[]): Tensor<'float32'> {
  const out = zeros('float32', [pixels.length, E]);
  pixels.forEach((i, row) => {
    for (let c = 0; c < E; c++) out.data[row * E + c] = map[channelBase(i) + c * H * H];
  });
  return out;
}

function concatRows(a: Tensor<'float32'>, b: Tensor<'float32'>): Tensor<'float32'> {
  return float32([a.shape[0] + b.shape[0], E], [...a.data, ...b.data]);
}

const dot = (a: ArrayLike<number>, i: number, b: ArrayLike<number>, j: number) => {
  let s = 0;
  for (let c = 0; c < E; c++) s += a[i * E + c] * b[j * E + c];
  return s;
};

interface Reference {
  losses: Omit<StepMetrics, 'iteration' | 'seconds'>;
  grads: Params;
  segments: Tensor<'float32'>; // v_s [P,E]: what the memory bank keeps
  gradUnknown: Tensor<'float32'>;
  assigned: number; // segments whose pseudo-label is an unknown prototype
}

interface Prototypes {
  known: Tensor<'float32'>;
  unknown: Tensor<'float32'>;
}

// One step's losses and parameter gradients (train_step.cc's ComputeStepLosses, then backward).
async function reference(p: Params, batch: TrainBatch, protos: Prototypes, bank: Tensor<'float32'>): Promise<Reference> {
  const opts = OPTIONS;
  const f = forward(p, batch.images);
  const emb = float32([VIEWS, E, H, H], f.emb);
  const regions = nearestResize(batch.regions.data, S, H, (n) => new Int32Array(n));
  const ignore = nearestResize(batch.ignore.data, S, H, (n) => new Uint8Array(n));
  // k-means runs here in float32 and in the trainer in float64: the same labels unless a pixel is
  // within rounding of a tie, which the segment count and the losses below would show.
  const { labels } = await kernels.sphericalKMeans(emb, {
    grid: opts.grid, iterations: opts.kmeansIterations, locationWeight: opts.locationWeight, ignore: { dtype: 'uint8', shape: [VIEWS, H, H], data: ignore },
  });
  const split = await kernels.splitByRegion(labels, { dtype: 'int32', shape: [VIEWS, H, H], data: regions });
  const seg = split.segments.data, P = split.count;
  const v = (await kernels.segmentMeans(emb, split.segments)).means;
  const is = (await kernels.segmentMeans(unitPixels(batch.clip), split.segments)).means;

  const g = positiveGroups(seg, regions, P);
  const lt = await kernels.pixelSegmentLoss({
    embeddings: pixelRows(f.emb, g.pixels), pixelGroup: g.pixelGroup, pixelSegment: g.pixelSegment, segments: v, segmentGroup: g.segmentGroup,
    bank, kappa: opts.kappa, impl: opts.lossImpl,
  });
  const le = await kernels.embeddingLoss({ segments: v, clipSegments: is });
  const ls = await kernels.semanticLoss({ segments: v, clipSegments: is, prototypes: concatRows(protos.known, protos.unknown), temperature: opts.semanticTemperature });
  const lu = await kernels.unknownPrototypeLoss({ unknown: protos.unknown, clipSegments: is, labels: ls.labels, known: KNOWN });

  let avgsim = 0;
  for (let s = 0; s < P; s++) avgsim += dot(v.data, s, is.data, s);
  const w = { t: opts.weightContrastive, e: opts.weightEmbedding, s: opts.weightSemantic };
  const losses = {
    loss: w.t * lt.loss + w.e * le.loss + w.s * ls.loss,
    contrastive: lt.loss, embedding: le.loss, semantic: ls.loss, unknown: lu.loss, avgsim: avgsim / P, segments: P,
  };

  // ∂L/∂v_s of the three weighted losses, through v_s = Σ_{p∈s} z_p / ‖Σ‖ to the pixels, plus L_t's
  // direct ∂L/∂z_p.
  const gv = new Float64Array(P * E);
  for (let i = 0; i < gv.length; i++) gv[i] = w.t * lt.gradSegments.data[i] + w.e * le.gradSegments.data[i] + w.s * ls.gradSegments.data[i];
  const sums = new Float64Array(P * E);
  for (const i of g.pixels) for (let c = 0; c < E; c++) sums[seg[i] * E + c] += f.emb[channelBase(i) + c * H * H];
  const unit = new Float64Array(P * E);
  const gSums = new Float64Array(P * E);
  for (let s = 0; s < P; s++) {
    const n = norm(sums, s * E, 1, E);
    for (let c = 0; c < E; c++) unit[s * E + c] = sums[s * E + c] / n;
    throughNormalise(gv, unit, s * E, 1, E, n, gSums, s * E, 1);
  }
  const dEmb = new Float64Array(f.emb.length);
  g.pixels.forEach((i, row) => {
    for (let c = 0; c < E; c++) dEmb[channelBase(i) + c * H * H] += w.t * lt.gradEmbeddings.data[row * E + c] + gSums[seg[i] * E + c];
  });
  return { losses, grads: backward(f, p, dEmb), segments: v, gradUnknown: lu.gradUnknown, assigned: lu.count };
}

// ---- the trainer's side: two steps, and a twin whose second step starts from zero momentum -----

const sub = (a: ArrayLike<number>, b: ArrayLike<number>, scale = 1) => Float64Array.from(a, (x, i) => x - scale * b[i]);
const add = (a: ArrayLike<number>, b: ArrayLike<number>, scale = 1) => sub(a, b, -scale);
const mapParams = (keys: Params, f: (k: string) => Float64Array): Params => Object.fromEntries(Object.keys(keys).map((k) => [k, f(k)]));

/** The gradient of a step taken from zero momentum: its buffer is g + wd·p (p before the step). */
function gradientFromBuffer(buffers: Params, before: Params): Params {
  return mapParams(buffers, (k) => sub(buffers[k], before[k], OPTIONS.weightDecay));
}

function zeroed(record: Record<string, Tensor>): Record<string, Tensor> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, zeros(v.dtype, v.shape)]));
}

/** Rows of E values scaled to unit length, in float64. */
function unitRows(rows: ArrayLike<number>): Float64Array {
  const a = Float64Array.from(rows);
  for (let r = 0; r < a.length / E; r++) {
    const n = norm(a, r * E, 1, E);
    for (let c = 0; c < E; c++) a[r * E + c] /= n;
  }
  return a;
}

/** The prototypes the trainer holds before a step (known and unknown, both unit rows). */
function protosOf(state: TrainerState): Prototypes {
  return { known: toFloat32(state.extra.known), unknown: toFloat32(state.extra.unknown) };
}

interface Scenario {
  batches: TrainBatch[];
  states: TrainerState[]; // trainer A before step 1, after step 1, after step 2
  metrics: StepMetrics[]; // A's two steps
  twin: { state: TrainerState; metrics: StepMetrics }; // step 2 from A's state 1 with zeroed momentum
  refs: Reference[]; // the reference of each of A's steps, from A's parameters and prototypes before it
  banks: Tensor<'float32'>[]; // the memory bank each reference step saw
}

// Both steps of trainer A, the twin and the references, computed once for all tests.
let scenario: Promise<Scenario> | undefined;
function twoSteps(): Promise<Scenario> {
  scenario ??= (async () => {
    const batches = [makeBatch(1), makeBatch(2)];
    const a = newTrainer();
    const states = [await a.state()];
    const metrics: StepMetrics[] = [];
    for (let i = 0; i < 2; i++) {
      metrics.push(await a.step(batches[i], LR[i]));
      states.push(await a.state());
    }
    const b = newTrainer();
    await b.restore({ ...states[1], momentum: zeroed(states[1].momentum) });
    const twinMetrics = await b.step(batches[1], LR[1]);
    const twin = { state: await b.state(), metrics: twinMetrics };
    // The bank holds earlier steps' segment embeddings: nothing at step 1, step 1's at step 2.
    const bank = new kernels.MemoryBank(CONFIG.loss.bankBatches);
    const refs: Reference[] = [], banks: Tensor<'float32'>[] = [];
    for (let i = 0; i < 2; i++) {
      banks.push(bank.all(E));
      refs.push(await reference(float64s(states[i].model), batches[i], protosOf(states[i]), banks[i]));
      bank.push(refs[i].segments);
    }
    return { batches, states, metrics, twin, refs, banks };
  })();
  return scenario;
}

// ---- comparisons -----------------------------------------------------------------------------

/** max |a − b| / max |b|. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

function assertClose(t: ExecutionContext, what: string, actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): number {
  const e = relativeError(actual, expected);
  t.true(e <= tol, `${what}: relative error ${e.toExponential(2)} > ${tol}`);
  return e;
}

function assertParamsClose(t: ExecutionContext, what: string, actual: Params, expected: Params, tol: number): void {
  const keys = Object.keys(expected).sort();
  t.true(keys.length === 4 && keys.join() === Object.keys(actual).sort().join(), `${what}: parameters ${Object.keys(actual)} vs ${keys}`);
  const errors = keys.map((k) => `${k} ${assertClose(t, `${what} ${k}`, actual[k], expected[k], tol).toExponential(1)}`);
  t.log(`${what}: ${errors.join(', ')}`);
}

const LOSS_KEYS = ['loss', 'contrastive', 'embedding', 'semantic', 'unknown', 'avgsim'] as const;

function assertLosses(t: ExecutionContext, what: string, m: StepMetrics, r: Reference): void {
  t.is(m.segments, r.losses.segments, `${what}: segment count (k-means and the split by region)`);
  const errors = LOSS_KEYS.map((k) => {
    const e = Math.abs(m[k] - r.losses[k]) / Math.max(1, Math.abs(r.losses[k]));
    t.true(e <= LOSS_TOL, `${what} ${k}: ${m[k]} vs ${r.losses[k]} (error ${e.toExponential(2)} > ${LOSS_TOL})`);
    return `${k} ${e.toExponential(1)}`;
  });
  t.log(`${what}: ${errors.join(', ')}`);
}

test('step 1: losses and parameter gradients equal the kernels composed on a float64 forward pass', async (t) => {
  const { states, metrics, refs } = await twoSteps();
  const r = refs[0];
  t.true(r.assigned > 0 && r.assigned < r.losses.segments, `L_s and L_u see known and unknown labels (${r.assigned} of ${r.losses.segments} unknown)`);
  assertLosses(t, 'step 1', metrics[0], r);
  assertParamsClose(t, 'step 1 gradient', gradientFromBuffer(float64s(states[1].momentum), float64s(states[0].model)), r.grads, GRAD_TOL);
});

test('SGD with momentum and weight decay: buf ← μ·buf + g + wd·p, p ← p − lr·buf', async (t) => {
  const { states, twin, refs } = await twoSteps();
  const [p0, p1, p2] = states.map((s) => float64s(s.model));
  const [, buf1, buf2] = states.map((s) => float64s(s.momentum));
  const twinBuf = float64s(twin.state.momentum);
  const { momentum: mu, weightDecay: wd } = OPTIONS;
  t.true(mu > 0 && wd > 0, 'the rule is tested with both terms present');
  // Step 2's buffers by the rule from the reference gradient: the twin's (from zero momentum), A's.
  const fresh = mapParams(p1, (k) => add(refs[1].grads[k], p1[k], wd));
  assertParamsClose(t, 'twin buf₂ = g₂ + wd·p₁', twinBuf, fresh, GRAD_TOL);
  assertParamsClose(t, 'buf₂ = μ·buf₁ + g₂ + wd·p₁', buf2, mapParams(p1, (k) => add(fresh[k], buf1[k], mu)), GRAD_TOL);
  // The same rule between the trainer's own float64 numbers (same state, same batch): A's buffer
  // minus μ·buf₁ is the twin's.
  assertParamsClose(t, 'buf₂ − μ·buf₁ = twin buf₂', mapParams(p1, (k) => sub(buf2[k], buf1[k], mu)), twinBuf, EXACT_TOL);
  assertParamsClose(t, 'p₁ = p₀ − lr₁·buf₁', p1, mapParams(p0, (k) => sub(p0[k], buf1[k], LR[0])), EXACT_TOL);
  assertParamsClose(t, 'p₂ = p₁ − lr₂·buf₂', p2, mapParams(p1, (k) => sub(p1[k], buf2[k], LR[1])), EXACT_TOL);
});

test('unknown prototypes: u ← normalise(u − unknownLr·∂L_u/∂u), from unit rows at creation', async (t) => {
  const { states, refs } = await twoSteps();
  assertClose(t, 'u₀ = normalise(options.unknown)', states[0].extra.unknown.data as Float64Array, unitRows(UNKNOWN_PROTOTYPES.data), EXACT_TOL);
  assertClose(t, 'known = normalise(options.known)', states[0].extra.known.data as Float64Array, unitRows(KNOWN_PROTOTYPES.data), EXACT_TOL);
  for (let i = 0; i < 2; i++) {
    t.true(refs[i].assigned > 0, `step ${i + 1} assigns segments to unknown prototypes`);
    const before = states[i].extra.unknown.data as Float64Array;
    const expected = unitRows(sub(before, refs[i].gradUnknown.data, OPTIONS.unknownLr));
    t.log(`u${i + 1}: relative error ${assertClose(t, `u${i + 1}`, states[i + 1].extra.unknown.data as Float64Array, expected, GRAD_TOL).toExponential(1)}`);
  }
});

test('memory bank: step 2\'s L_t has step 1\'s segments as negatives', async (t) => {
  const { batches, states, metrics, twin, refs, banks } = await twoSteps();
  t.is(banks[1].shape[0], refs[0].losses.segments);
  assertLosses(t, 'step 2', metrics[1], refs[1]);
  assertParamsClose(t, 'step 2 gradient (twin)', gradientFromBuffer(float64s(twin.state.momentum), float64s(states[1].model)), refs[1].grads, GRAD_TOL);
  // The trainer keeps each step's segment embeddings, oldest first.
  t.deepEqual(Object.keys(states[2].extra).filter((k) => k.startsWith('bank.')).sort(), ['bank.0', 'bank.1']);
  for (let i = 0; i < 2; i++) {
    const e = assertClose(t, `bank.${i} = step ${i + 1}'s segments`, states[2].extra[`bank.${i}`].data as Float64Array, refs[i].segments.data, GRAD_TOL);
    t.log(`bank.${i}: relative error ${e.toExponential(1)}`);
  }
  // Without the bank L_t would differ by far more than the tolerance: the check above has teeth.
  const noBank = await reference(float64s(states[1].model), batches[1], protosOf(states[1]), zeros('float32', [0, E]));
  const gap = Math.abs(noBank.losses.contrastive - metrics[1].contrastive) / metrics[1].contrastive;
  t.true(gap > 100 * LOSS_TOL, `L_t without the bank differs by ${gap.toExponential(2)}`);
  // The twin (restored from A's state 1) saw the same bank and prototypes.
  const { seconds: _a, ...twinLosses } = twin.metrics;
  const { seconds: _b, ...aLosses } = metrics[1];
  t.deepEqual(twinLosses, aLosses);
});

// ---- SGD in float32: bit for bit torch.optim.SGD's ATen ops ------------------------------------

/**
 * fl(a·b + c) in float32 rounded once, as a fused multiply-add (ATen's vectorised add with a factor):
 * a·b of two float32 values is exact in float64; the float64 sum's own rounding error (two-sum)
 * decides the one case where rounding that sum to float32 could go the wrong way, a tie.
 */
function fma32(a: number, b: number, c: number): number {
  const p = a * b;
  const s = p + c;
  const bb = s - p;
  const err = p - (s - bb) + (c - bb);
  const r = Math.fround(s);
  if (err === 0 || r === s) return r;
  const other = 2 * s - r; // the float32 on s's other side when s is a midpoint
  if (Math.fround(other) !== other || Math.abs(s - r) !== Math.abs(other - s)) return r;
  return err > 0 ? Math.max(r, other) : Math.min(r, other);
}

test('SGD in float32: one pass per parameter, bit for bit torch.optim.SGD (g + wd·p, μ·buf + that, p − lr·buf)', async (t) => {
  // Trainer A takes two float32 steps; its twin restores A's state 1 with zero momentum and no
  // weight decay, so its step-2 buffer is exactly the gradient g₂ A's second step saw (the loss does
  // not hold the decay). A's step 2 updates through existing buffers: the trainer's one-pass path.
  const f32 = { dtype: 'float32' as const };
  const batches = [makeBatch(1), makeBatch(2)];
  const a = newTrainer(f32);
  await a.step(batches[0], LR[0]);
  const s1 = await a.state();
  await a.step(batches[1], LR[1]);
  const s2 = await a.state();
  const twin = newTrainer({ ...f32, weightDecay: 0 });
  await twin.restore({ ...s1, momentum: zeroed(s1.momentum) });
  await twin.step(batches[1], LR[1]);
  const g2 = (await twin.state()).momentum;
  const wd = Math.fround(OPTIONS.weightDecay), mu = Math.fround(OPTIONS.momentum), step = Math.fround(-LR[1]);
  t.true(wd > 0 && mu > 0, 'the rule is tested with both terms present');
  const keys = Object.keys(s1.model).sort();
  t.deepEqual(Object.keys(s2.momentum).sort(), keys);
  let values = 0, wrongBuf = 0, wrongParam = 0, moved = 0;
  for (const k of keys) {
    const [p1, b1, g, p2, b2] = [s1.model[k], s1.momentum[k], g2[k], s2.model[k], s2.momentum[k]].map((x) => {
      t.is(x.dtype, 'float32', `${k} in float32`);
      return x.data as Float32Array;
    });
    for (let i = 0; i < p1.length; i++) {
      const buf = Math.fround(Math.fround(b1[i] * mu) + fma32(p1[i], wd, g[i]));
      const p = fma32(buf, step, p1[i]);
      values++;
      if (b2[i] !== buf) wrongBuf++;
      if (p2[i] !== p) wrongParam++;
      if (p2[i] !== p1[i]) moved++;
    }
  }
  t.log(`${values} values in ${keys.length} parameters; ${moved} moved`);
  t.true(moved > values / 2, 'step 2 moves the parameters');
  t.is(wrongBuf, 0, 'momentum buffers equal μ·buf₁ + (g₂ + wd·p₁) rounded as ATen does');
  t.is(wrongParam, 0, 'parameters equal p₁ − lr₂·buf₂ rounded as ATen does');
});

test('SGD in float32: the one-pass update trains to the same bytes as ATen\'s ops (CLIPS4_FUSED_SGD=0)', async (t) => {
  const dir = tmpDir('clips4-sgd-');
  const run = async (env: Record<string, string>) => {
    const file = path.join(dir, `${Object.keys(env).length ? 'aten' : 'fused'}.safetensors`);
    execFileSync(process.execPath, ['--import=tsx', path.join(__dirname, 'helpers', 'sgd-child.ts'), file], { env: { ...process.env, ...env } });
    const tensors = await safetensors.read(file);
    // Each tensor's bytes, by name within its record.
    const bytes = (prefix: string) => Object.fromEntries(Object.entries(tensors).filter(([k]) => k.startsWith(`${prefix}.`)).map(([k, v]) => [k.slice(prefix.length + 1), Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength)]));
    return { sgd: (await safetensors.readMetadata(file)).sgd, model: bytes('model'), momentum: bytes('momentum') };
  };
  const fused = await run({});
  const aten = await run({ CLIPS4_FUSED_SGD: '0' });
  t.log(`default: ${fused.sgd}; with CLIPS4_FUSED_SGD=0: ${aten.sgd}`);
  t.is(aten.sgd, 'ATen ops (CLIPS4_FUSED_SGD=0)');
  t.regex(fused.sgd, /^(one pass per float32 parameter|ATen ops \(this CPU has no fused multiply-add\))$/);
  t.true(Object.keys(fused.model).length > 0);
  t.deepEqual(fused.model, aten.model, 'parameters after three steps');
  t.deepEqual(fused.momentum, aten.momentum, 'momentum buffers after three steps');
});
