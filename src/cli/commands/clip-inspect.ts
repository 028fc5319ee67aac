import { Clip } from '../../clip/clip';
import { parse } from '../args';
import { UsageError, type Command } from '../command';

export const clipInspect: Command = {
  name: ['clip', 'inspect'],
  summary: "print the architecture inferred from CLIP weights",
  usage: `Usage: clips4 clip inspect <weights> [--json]

Reads OpenAI-layout or Hugging Face safetensors, or an OpenAI TorchScript archive, infers the
architecture as OpenAI's build_model does, and prints it.`,
  async run(argv) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('expected one weights file');
    const clip = await Clip.load(positionals[0], { vocab: { kind: 'word', vocabSize: 0, sot: 1, eot: 2, encode: () => [], decode: () => '' } });
    if (values.json) process.stdout.write(JSON.stringify(clip.info, null, 2) + '\n');
    else process.stdout.write(Object.entries(clip.info).map(([k, v]) => `${k.padEnd(16)} ${Array.isArray(v) ? v.join(', ') : v}`).join('\n') + '\n');
    return 0;
  },
};
