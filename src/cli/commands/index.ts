// Every CLI command, one import per line.
import type { Command } from '../command';
import { doctor } from './doctor';
import { worldGenerate } from './world-generate';
import { worldPretrainClip } from './world-pretrain-clip';
import { worldReproduce } from './world-reproduce';

export const commands: Command[] = [doctor, worldGenerate, worldPretrainClip, worldReproduce];
