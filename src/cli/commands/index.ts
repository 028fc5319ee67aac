// Every CLI command, one import per line.
import type { Command } from '../command';
import { doctor } from './doctor';

export const commands: Command[] = [doctor];
