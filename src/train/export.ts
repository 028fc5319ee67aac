// `clips4 export`: the embedding network of a training run (its newest or a named checkpoint) as
// the safetensors + JSON pair that PixelEmbedder.load and the Segmenter read.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { clips4Error, ErrorCodes } from '../errors';
import { call, native } from '../native';
import { PixelEmbedder, type NetConfig } from '../net/embedder';
import { loadCheckpoint, loadLatest } from './checkpoint';

export interface ExportResult {
  file: string;
  iteration: number;
  checkpoint: string;
}

export async function exportRun(runDir: string, outFile: string, options: { checkpoint?: string } = {}): Promise<ExportResult> {
  if (!fs.existsSync(runDir)) throw clips4Error(ErrorCodes.file, `no training run at ${runDir}`);
  const ck = options.checkpoint ? await loadCheckpoint(path.resolve(runDir, options.checkpoint)) : await loadLatest(runDir);
  if (!ck) throw clips4Error(ErrorCodes.state, `${runDir} has no checkpoint yet (a run saves one every checkpoint.every iterations and when it ends)`);
  const model = (ck.meta.config as { model?: Record<string, unknown> } | undefined)?.model;
  if (!model) throw clips4Error(ErrorCodes.state, `${path.join(ck.dir, 'state.json')} holds no model config`);
  const classifier = ck.state.model['head.classifier.weight'];
  if (!classifier) throw clips4Error(ErrorCodes.state, `${ck.dir} holds no PixelEmbedder weights (head.classifier.weight is missing)`);
  const { backbone: _ignored, ...net } = model;
  // The embedding width is CLIP's; the checkpoint's classifier says what it was.
  const embedder = PixelEmbedder.create({ ...(net as Partial<NetConfig>), embedDim: classifier.shape[0] });
  await call(() => native().net.load(embedder.handle, ck.state.model));
  const file = outFile.endsWith('.safetensors') ? outFile : `${outFile}.safetensors`;
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const heldOut = (ck.meta.config as { prototypes?: { heldOut?: string[] } }).prototypes?.heldOut ?? [];
  await embedder.save(file, { heldOut });
  return { file, iteration: ck.state.iteration, checkpoint: ck.dir };
}
