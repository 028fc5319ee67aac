// Data-parallel training: which rank this process is (torchrun's or SLURM's variables), the c10d
// process group it joins, and the local launcher behind `--nproc N`. Each rank trains on its slice
// of every global batch; the native trainer sums gradients, synchronises batch-norm statistics and
// shares segments across ranks, so N ranks compute what one process computes with the same batch.
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import { clips4Error, ErrorCodes, invalidParameter } from '../errors';
import { call, native, type Handle } from '../native';
import { numel, zeros, type Tensor } from '../tensor';
import type { TrainBatch } from './native-trainer';

export interface DistInfo {
  rank: number;
  worldSize: number;
  /** Rank within this machine: local rank 0 builds shared caches on each node. */
  localRank: number;
  addr: string;
  port: number;
}

function envInt(env: NodeJS.ProcessEnv, name: string, min: number, max = Infinity): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw invalidParameter(`the environment variable ${name}`, `an integer between ${min} and ${max}`, raw, ErrorCodes.config);
  }
  return n;
}

/**
 * The rank of this process from torchrun's variables (RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR,
 * MASTER_PORT) or SLURM's (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, with MASTER_ADDR/MASTER_PORT);
 * undefined when neither describes more than one process.
 */
export function distFromEnv(env: NodeJS.ProcessEnv = process.env): DistInfo | undefined {
  const torchrun = env.WORLD_SIZE !== undefined;
  const worldSize = torchrun ? envInt(env, 'WORLD_SIZE', 1) : envInt(env, 'SLURM_NTASKS', 1);
  if (worldSize === undefined || worldSize === 1) return undefined;
  const rankVar = torchrun ? 'RANK' : 'SLURM_PROCID';
  const rank = envInt(env, rankVar, 0, worldSize - 1);
  if (rank === undefined) throw clips4Error(ErrorCodes.config, `${torchrun ? 'WORLD_SIZE' : 'SLURM_NTASKS'} is ${worldSize} but ${rankVar} is not set: set the rank of each process`);
  const localRank = envInt(env, torchrun ? 'LOCAL_RANK' : 'SLURM_LOCALID', 0) ?? rank;
  const addr = env.MASTER_ADDR;
  if (!addr) throw clips4Error(ErrorCodes.config, `MASTER_ADDR is not set: set it to the host name of rank 0 (and MASTER_PORT to a free port) for ${worldSize} processes`);
  const port = envInt(env, 'MASTER_PORT', 1, 65535) ?? 29500;
  return { rank, worldSize, localRank, addr, port };
}

export class ProcessGroup {
  private constructor(
    readonly info: DistInfo,
    readonly handle: Handle,
  ) {}

  /** Joins the group (blocks until every rank has joined or `timeoutMs` passes). */
  static async join(info: DistInfo, timeoutMs = 30 * 60_000): Promise<ProcessGroup> {
    const dist = native().dist;
    if (!dist) {
      throw clips4Error(ErrorCodes.config, 'this LibTorch has no c10d/Gloo support, so data-parallel training is unavailable: use a LibTorch with distributed support (check `clips4 doctor`) or train with one process');
    }
    const handle = await call(() => dist.init({ rank: info.rank, worldSize: info.worldSize, addr: info.addr, port: info.port, timeoutMs }));
    return new ProcessGroup(info, handle);
  }

  /** Element-wise sum of small counts and flags over the ranks (float32: exact below 2^24). */
  async sum(values: number[]): Promise<number[]> {
    const t = zeros('float32', [values.length]);
    t.data.set(values);
    const r = await call(() => native().dist!.allReduce(this.handle, t));
    return Array.from(r.data as Float32Array);
  }

  /** Waits until every rank reaches this point. */
  async barrier(): Promise<void> {
    await this.sum([0]);
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs `argv` (this script and its arguments) as `nproc` local worker processes with torchrun's
 * variables set, splitting the cores between them. Signals are forwarded; when one worker fails
 * the others are stopped. Resolves to the first non-zero exit code, or 0.
 */
export async function launchLocal(nproc: number, argv: string[], options: { execArgv?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<number> {
  const port = await freePort();
  const env = options.env ?? process.env;
  const threads = env.CLIPS4_NUM_THREADS ?? String(Math.max(1, Math.floor(os.availableParallelism() / nproc)));
  const children: ChildProcess[] = [];
  const exits: Promise<number>[] = [];
  let failed = 0;
  const stopAll = (signal: NodeJS.Signals) => children.forEach((c) => c.exitCode === null && c.signalCode === null && c.kill(signal));
  const forward = (signal: NodeJS.Signals) => () => stopAll(signal);
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    for (let rank = 0; rank < nproc; rank++) {
      const child = spawn(process.execPath, [...(options.execArgv ?? process.execArgv), ...argv], {
        stdio: 'inherit',
        env: { ...env, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(nproc), LOCAL_WORLD_SIZE: String(nproc), MASTER_ADDR: '127.0.0.1', MASTER_PORT: String(port), CLIPS4_NUM_THREADS: threads },
      });
      children.push(child);
      exits.push(
        new Promise((resolve) => {
          child.once('error', () => resolve(1));
          child.once('exit', (code, signal) => {
            const status = code ?? (signal ? 128 + (os.constants.signals[signal] ?? 1) : 1);
            if (status !== 0 && !failed) {
              failed = status;
              // A rank that died leaves the others waiting in a collective: stop them.
              stopAll('SIGTERM');
            }
            resolve(status);
          });
        }),
      );
    }
    await Promise.all(exits);
    return failed;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

/**
 * This rank's part of a global batch: the images [first, first + count) in both views (views are
 * stored view-major: view v of image b is row v·B + b).
 */
export function rankSlice(batch: TrainBatch, first: number, count: number): TrainBatch {
  const pairs = batch.images.shape[0] / 2;
  const rows = <T extends Tensor>(t: T): T => {
    const row = numel(t.shape.slice(1));
    const data = new (t.data.constructor as new (n: number) => typeof t.data)(2 * count * row);
    for (let v = 0; v < 2; v++) data.set(t.data.subarray((v * pairs + first) * row, (v * pairs + first + count) * row) as never, v * count * row);
    return { dtype: t.dtype, shape: [2 * count, ...t.shape.slice(1)], data } as T;
  };
  return { images: rows(batch.images), regions: rows(batch.regions), ignore: rows(batch.ignore), clip: rows(batch.clip) };
}
