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
import { evalLanguage } from './eval-language';
import { evalKnn } from './eval-knn';
import { evalLinear } from './eval-linear';
import { evalDavis } from './eval-davis';
import { retrieve } from './retrieve';

export const commands: Command[] = [doctor, clipInspect, weightsFetch, segment, retrieve, score, scoreDavis, evalLanguage, evalKnn, evalLinear, evalDavis, exportModel, worldGenerate, worldPretrainClip, worldReproduce];
