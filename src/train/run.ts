// The training job: configured by src/train/schema.ts, resumable, with checkpoints, JSONL metrics
// and progress lines. Batches at iteration i depend only on (seed, i), so a resumed run sees the
// same batches as an uninterrupted one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Clip } from '../clip/clip';
import { cocoStuffDataset, contextDataset, folderDataset, vocDataset, worldDataset, type Dataset } from '../data/datasets';
import { regionSourceFromConfig } from '../data/region-source';
import { trainingBatch } from '../data/sample-source';
import { DecodedCache } from '../data/decoded-cache';
import { clips4Error, ErrorCodes } from '../errors';
import { writeJsonAtomicSync } from '../io/atomic';
import * as safetensors from '../safetensors';
import { PixelEmbedder } from '../net/embedder';
import { classNames } from '../clip/templates';
import { deriveSeed } from '../rng';
import { saveCheckpoint, loadLatest } from './checkpoint';
import type { Config } from './schema';
import { NativeTrainer, polyLr } from './native-trainer';
import { netConfig, trainerOptions, viewOptions } from './options';
import { prepareTraining } from './prepare';
import { clipTeacher, datasetOracle } from './teacher';
import { TensorBoardWriter } from './tensorboard';
import { ProcessGroup, rankSlice, type DistInfo } from './distributed';
import { Progress } from './progress';
import { renderCurves } from '../plot/curves';

export interface RunOptions {
  out: string;
  resume?: boolean;
  /** Where progress lines go (default: stderr, with a redrawn progress bar when it is a terminal). */
  log?: (line: string) => void;
  /** This process's rank in a data-parallel run (see distributed.ts); only rank 0 writes files. */
  dist?: DistInfo;
  /**
   * Decoded images and regions shared with other runs of this process (world reproduce trains two
   * side by side on the same images: each image is decoded once, not once per run). Default: a
   * cache of data.memoryCache for this run alone.
   */
  decoded?: DecodedCache;
}

/**
 * A run that does not resume starts in a folder without another run's files: its metrics would be
 * appended to the other's and its checkpoints and model written over them. (A feature cache left
 * there is reused, not refused.)
 */
function refuseEarlierRun(out: string): void {
  if (!fs.existsSync(out)) return;
  const found = fs.readdirSync(out).filter((f) => ['config.json', 'metrics.jsonl', 'model.safetensors', 'last'].includes(f) || /^ckpt-\d+$/.test(f));
  if (!found.length) return;
  throw clips4Error(ErrorCodes.state, `${out} already holds a training run (${found.sort().join(', ')}): resume it (--resume), or train into another --out; nothing in it was changed`);
}

/** The training split of data.kind at data.root (its first data.images items), and the class names prompts may use. */
function trainingDataset(c: Config): { ds: Dataset; classes: string[] } {
  const d = c.data;
  const ds = d.kind === 'world' ? worldDataset(d.root, d.split) : d.kind === 'voc' ? vocDataset(d.root, d.split) : d.kind === 'context' ? contextDataset(d.root, d.split) : d.kind === 'cocostuff' ? cocoStuffDataset(d.root, d.split) : folderDataset(d.root);
  // VOC's background is no class a prompt can name.
  const classes = d.kind === 'voc' ? classNames('voc20') : (ds.classes ?? []);
  return { ds: d.images > 0 ? { ...ds, items: ds.items.slice(0, d.images) } : ds, classes };
}

export async function runTraining(c: Config, o: RunOptions): Promise<{ iteration: number; lastMetrics?: Record<string, number> }> {
  const t = c.train;
  // Every rank checks before the group forms, so none has written into the folder yet.
  if (!o.resume) refuseEarlierRun(o.out);
  const group = o.dist ? await ProcessGroup.join(o.dist) : undefined;
  const world = group?.info.worldSize ?? 1;
  const rank = group?.info.rank ?? 0;
  const lead = rank === 0;
  if (t.batch % world !== 0) {
    throw clips4Error(ErrorCodes.config, `train.batch (${t.batch}) must be a multiple of the number of processes (${world}): each process takes an equal slice of every batch`);
  }
  const tty = !o.log && process.stderr.isTTY === true;
  const write = (text: string) => process.stderr.write(text);
  const bar = new Progress({ total: t.iterations, start: 0, tty, every: c.log.every, columns: process.stderr.columns, write: !lead ? () => {} : o.log ? (text) => o.log!(text.replace(/\n$/, '')) : write });
  const log = lead ? (o.log ?? ((l: string) => bar.message(l))) : () => {};
  if (lead) {
    fs.mkdirSync(o.out, { recursive: true });
    writeJsonAtomicSync(path.join(o.out, 'config.json'), c);
  }
  const clipCfg = c.clip;
  const clip = await Clip.load(clipCfg.weights, { device: t.device, ...(clipCfg.vocab ? { vocab: clipCfg.vocab } : {}) });
  const { ds, classes } = trainingDataset(c);
  const files = ds.items.map((i) => i.image);
  const p = c.prototypes;
  const knownNames = (p.known.length ? p.known : classes).filter((n) => !p.heldOut.includes(n));
  if (knownNames.length === 0 && c.loss.semantic) {
    throw clips4Error(ErrorCodes.config, 'prototypes.known is empty and the dataset has no class names: set prototypes.known or turn loss.semantic off');
  }
  const data = c.data;
  log(`training on ${files.length} images; ${knownNames.length} known classes${p.heldOut.length ? `, held out: ${p.heldOut.join(', ')}` : ''}`);
  // One process per machine builds the shared caches; the others read them once it is done.
  const builder = !group || group.info.localRank === 0;
  if (!builder) await group!.barrier();
  const teacher = clipCfg.teacher === 'oracle' ? await datasetOracle([ds], clip, clipCfg, p.templates, t.seed) : clipTeacher(clip, clipCfg.variant, clipCfg.side, { window: clipCfg.window, stride: clipCfg.windowStride });
  const prepared = await prepareTraining({ files, clip, teacher, cacheDir: data.cache || path.join(o.out, 'cache'), resize: data.resize, regions: regionSourceFromConfig(c.data), knownNames: knownNames.length ? knownNames : ['thing'], templates: p.templates, topM: p.topM, unknown: p.unknown, seed: t.seed, strict: data.strict, log });
  if (group && builder) await group.barrier();
  if (lead) {
    // The prototypes training starts from (the checkpoints hold the evolving unknown ones).
    const names = knownNames.length ? knownNames : ['thing'];
    await safetensors.write(path.join(o.out, 'prototypes.safetensors'), { known: prepared.known, unknown: prepared.unknown, knownText: prepared.knownText }, { known: JSON.stringify(names), heldOut: JSON.stringify(p.heldOut) });
  }
  const embedder = PixelEmbedder.create(netConfig(c, clip.info.embedDim), { seed: t.seed, device: t.device });
  if (c.model.backbone) await embedder.loadBackbone(c.model.backbone);
  const trainer = NativeTrainer.create(embedder.handle, trainerOptions(c, { known: prepared.known, unknown: prepared.unknown, knownText: prepared.knownText, ...(group ? { group: group.handle } : {}) }));
  let start = 0;
  if (o.resume) {
    const last = await loadLatest(o.out);
    if (last) {
      await trainer.restore(last.state);
      start = last.state.iteration;
      log(`resumed from ${last.dir} at iteration ${start}`);
    } else log('no checkpoint to resume from: starting at iteration 0');
  }
  const views = viewOptions(c, embedder.stride);
  const ck = c.checkpoint;
  let stop = false;
  let received: NodeJS.Signals | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stop) process.exit(130);
    stop = true;
    received = signal;
    log(`${signal} received: saving a checkpoint after this step (again to quit now)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const metricsFile = path.join(o.out, 'metrics.jsonl');
  const tb = lead ? new TensorBoardWriter(path.join(o.out, 'tensorboard')) : undefined;
  let lastMetrics: Record<string, number> | undefined;
  let lastSaved = -1;
  const save = async (it: number) => {
    if (it === lastSaved || !lead) return;
    await saveCheckpoint(o.out, await trainer.state(), { iteration: it, config: c, metrics: lastMetrics }, ck.keep);
    lastSaved = it;
  };
  bar.restart(start);
  const pairs = t.batch / world;
  let it = start;
  try {
    // The next batch is read and prepared while the native step runs (its teacher features are read
    // from disk per batch; images and regions are decoded once and kept within data.memoryCache).
    const decoded = o.decoded ?? new DecodedCache(c.data.memoryCache * 2 ** 20);
    const batchFor = async (i: number) => {
      const batch = await trainingBatch(prepared.samples, t.batch, deriveSeed(t.seed, i), views, { cache: decoded });
      return group ? rankSlice(batch, rank * pairs, pairs) : batch;
    };
    let next = await batchFor(it);
    for (; it < t.iterations && !stop; ) {
      const step = trainer.step(next, polyLr(t.lr, it, t.iterations, t.power), { imageOffset: rank * pairs });
      const following = it + 1 < t.iterations ? batchFor(it + 1) : undefined;
      // A failed read of the next batch is reported after the step it overlaps (never unhandled).
      following?.catch(() => {});
      const mt = await step.catch((err: Error) => {
        throw clips4Error(ErrorCodes.state, `${err.message}; the last good checkpoint in ${o.out} is kept (resume with --resume)`);
      });
      it++;
      lastMetrics = { ...mt, lr: polyLr(t.lr, it - 1, t.iterations, t.power), imagesPerSecond: t.batch / mt.seconds };
      if (group) stop = (await group.sum([stop ? 1 : 0]))[0] > 0; // every rank stops after the same step
      if (following) next = await following;
      if (!lead) continue; // only rank 0 writes
      fs.appendFileSync(metricsFile, JSON.stringify(lastMetrics) + '\n');
      tb!.scalars(it, { 'loss/total': mt.loss, 'loss/contrastive': mt.contrastive, 'loss/embedding': mt.embedding, 'loss/semantic': mt.semantic, 'loss/unknown': mt.unknown, avgsim: mt.avgsim, lr: lastMetrics.lr, 'images_per_second': lastMetrics.imagesPerSecond });
      bar.update(it, { ...mt, imagesPerSecond: lastMetrics.imagesPerSecond });
      if (it % ck.every === 0) await save(it);
      // Tests: a hard kill at a known point (after this step's metrics line and checkpoint), where
      // a kill from outside would race a fast run to its end.
      if (process.env.CLIPS4_TEST_KILL_AFTER_STEP === String(it)) process.kill(process.pid, 'SIGKILL');
    }
    if (stop || it === t.iterations) await save(it);
  } finally {
    bar.finish();
    tb?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  // The model file marks a finished run (what `world reproduce` reuses); a stopped one leaves its checkpoint.
  if (lead && it === t.iterations) {
    await embedder.save(path.join(o.out, 'model.safetensors'), { heldOut: p.heldOut });
    // Loss curves of the whole run (resumed runs included: metrics.jsonl is appended to).
    if (fs.existsSync(metricsFile)) await renderCurves(metricsFile, path.join(o.out, 'curves.png'), { title: `training ${path.basename(o.out)}` });
  }
  // The signal that stopped the run was the host's (a shell, a supervisor, a test runner) to stop:
  // with the checkpoint safe and no handler of ours left, it is raised again so that the host's own
  // handling (by default, ending the process) happens instead of being swallowed.
  if (received && process.listenerCount(received) === 0) process.kill(process.pid, received);
  return { iteration: it, lastMetrics };
}
