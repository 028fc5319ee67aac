// Hugging Face CLIP (openai/clip-vit-base-patch16 layout) → OpenAI key names (REFERENCE §1).
import { clips4Error, ErrorCodes } from '../errors';
import { type Tensor } from '../tensor';

// Weights reach this point upcast to float32 (readClipWeights), so float32 arrays suffice here.
function transpose2d(t: Tensor): Tensor {
  const [r, c] = t.shape;
  const src = t.data as Float32Array;
  const data = new Float32Array(src.length);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) data[j * r + i] = src[i * c + j];
  return { dtype: 'float32', shape: [c, r], data };
}

function concat0(parts: Tensor[]): Tensor {
  const data = new Float32Array(parts.reduce((a, p) => a + p.data.length, 0));
  let o = 0;
  for (const p of parts) {
    data.set(p.data as Float32Array, o);
    o += p.data.length;
  }
  return { dtype: 'float32', shape: [parts.reduce((a, p) => a + p.shape[0], 0), ...parts[0].shape.slice(1)], data };
}

export function isHuggingFaceClip(sd: Record<string, Tensor>): boolean {
  return Object.keys(sd).some((k) => k.startsWith('vision_model.') || k.startsWith('text_model.'));
}

/** Renames (and for q/k/v concatenates, for projections transposes) HF tensors into OpenAI's layout. */
export function fromHuggingFace(sd: Record<string, Tensor>, file = 'weights'): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  const used = new Set<string>();
  const take = (k: string): Tensor => {
    const t = sd[k];
    if (!t) throw clips4Error(ErrorCodes.weights, `${file}: missing Hugging Face CLIP key '${k}'`);
    used.add(k);
    return t;
  };
  const layers = (prefix: string) => new Set(Object.keys(sd).filter((k) => k.startsWith(prefix)).map((k) => Number(k.slice(prefix.length).split('.')[0]))).size;
  const blocks = (hf: string, oa: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const h = `${hf}.${i}`;
      const o = `${oa}.${i}`;
      out[`${o}.attn.in_proj_weight`] = concat0(['q', 'k', 'v'].map((p) => take(`${h}.self_attn.${p}_proj.weight`)));
      out[`${o}.attn.in_proj_bias`] = concat0(['q', 'k', 'v'].map((p) => take(`${h}.self_attn.${p}_proj.bias`)));
      for (const s of ['weight', 'bias']) {
        out[`${o}.attn.out_proj.${s}`] = take(`${h}.self_attn.out_proj.${s}`);
        out[`${o}.ln_1.${s}`] = take(`${h}.layer_norm1.${s}`);
        out[`${o}.ln_2.${s}`] = take(`${h}.layer_norm2.${s}`);
        out[`${o}.mlp.c_fc.${s}`] = take(`${h}.mlp.fc1.${s}`);
        out[`${o}.mlp.c_proj.${s}`] = take(`${h}.mlp.fc2.${s}`);
      }
    }
  };
  const v = 'vision_model';
  out['visual.conv1.weight'] = take(`${v}.embeddings.patch_embedding.weight`);
  out['visual.class_embedding'] = take(`${v}.embeddings.class_embedding`);
  out['visual.positional_embedding'] = take(`${v}.embeddings.position_embedding.weight`);
  for (const s of ['weight', 'bias']) {
    out[`visual.ln_pre.${s}`] = take(`${v}.pre_layrnorm.${s}`);
    out[`visual.ln_post.${s}`] = take(`${v}.post_layernorm.${s}`);
    out[`ln_final.${s}`] = take(`text_model.final_layer_norm.${s}`);
  }
  blocks(`${v}.encoder.layers`, 'visual.transformer.resblocks', layers(`${v}.encoder.layers.`));
  out['visual.proj'] = transpose2d(take('visual_projection.weight'));
  out['token_embedding.weight'] = take('text_model.embeddings.token_embedding.weight');
  out['positional_embedding'] = take('text_model.embeddings.position_embedding.weight');
  blocks('text_model.encoder.layers', 'transformer.resblocks', layers('text_model.encoder.layers.'));
  out['text_projection'] = transpose2d(take('text_projection.weight'));
  out['logit_scale'] = take('logit_scale');
  const ignored = Object.keys(sd).filter((k) => !used.has(k) && !k.endsWith('position_ids'));
  if (ignored.length) throw clips4Error(ErrorCodes.weights, `${file}: unexpected Hugging Face keys ${ignored.slice(0, 10).map((k) => `'${k}'`).join(', ')}`);
  return out;
}
