// Every CLI command, one import per line.
import type { Command } from '../command';
import { doctor } from './doctor';
import { worldGenerate } from './world-generate';
import { worldPretrainClip } from './world-pretrain-clip';
import { worldReproduce } from './world-reproduce';
import { segment } from './segment';
import { score } from './score';
import { scoreDavis } from './score-davis';
import { clipInspect } from './clip-inspect';
import { weightsFetch } from './weights-fetch';
import { exportModel } from './export';

export const commands: Command[] = [doctor, clipInspect, weightsFetch, segment, score, scoreDavis, worldGenerate, worldPretrainClip, worldReproduce, exportModel];
