// What one simulated rank prints, step by step: Python-logging start-up lines, NCCL banners, a tqdm
// bar redrawn with `\r`, `step N loss X` lines, HF-Trainer dicts on rank 0, throughput lines, one
// NCCL warning, and for the failing rank a CUDA OOM traceback. Pure: the rank process (rank-process.ts)
// decides when to write. Loss follows a seeded noisy power-law decay so every rank's curve differs a
// little, as data-parallel ranks' local losses do.

import { childFailedReportLines, seededRandom, torchrunStamp } from './torch-output.ts';

export interface RankIdentity {
  rank: number;
  localRank: number;
  worldSize: number;
  nodeRank: number;
  host: string;
  pid: number;
}

export interface RankPlan {
  seed: number;
  steps: number;
  /** The step at which this rank dies with a traceback; undefined = it does not fail. */
  failAtStep: number | undefined;
  /** Whether this rank prints the NCCL warning. */
  ncclWarning: boolean;
}

export interface OutputLine {
  stream: 'stdout' | 'stderr';
  /** Written as is; a line without a trailing newline is a tqdm redraw in progress. */
  text: string;
}

function pythonTime(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)},${iso.slice(20, 23)}`;
}

function logLine(level: string, logger: string, message: string, now: Date): OutputLine {
  return { stream: 'stderr', text: `${pythonTime(now)} - ${level} - ${logger} - ${message}\n` };
}

const PROGRESS_WIDTH = 20;

function progressBar(step: number, steps: number, itPerSecond: number): string {
  const fraction = step / steps;
  const filled = Math.floor(fraction * PROGRESS_WIDTH);
  const bar = '█'.repeat(filled) + (filled < PROGRESS_WIDTH ? ' '.repeat(PROGRESS_WIDTH - filled) : '');
  const remainingSeconds = Math.round((steps - step) / itPerSecond);
  const elapsedSeconds = Math.round(step / itPerSecond);
  const clock = (seconds: number): string => `${String(Math.floor(seconds / 60)).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
  return `${String(Math.round(fraction * 100)).padStart(3)}%|${bar}| ${step}/${steps} [${clock(elapsedSeconds)}<${clock(remainingSeconds)}, ${itPerSecond.toFixed(2)}it/s]`;
}

export class RankOutput {
  private readonly identity: RankIdentity;
  private readonly plan: RankPlan;
  private readonly random: () => number;
  private readonly lossOffset: number;
  /** The loss printed by the latest step() (NaN before the first), for the rank's metrics. */
  lastLoss = Number.NaN;

  constructor(identity: RankIdentity, plan: RankPlan) {
    this.identity = identity;
    this.plan = plan;
    this.random = seededRandom(plan.seed * 1009 + identity.rank);
    this.lossOffset = (this.random() - 0.5) * 0.05;
  }

  startup(now: Date): OutputLine[] {
    const { rank, localRank, worldSize, host, pid } = this.identity;
    const lines: OutputLine[] = [
      logLine('INFO', '__main__', `initialized process group: rank ${rank}/${worldSize} local_rank ${localRank} on ${host}, device cuda:${localRank}`, now),
      { stream: 'stdout', text: `${host}:${pid}:${pid} [${localRank}] NCCL INFO Bootstrap : Using eth0:10.0.0.${10 + this.identity.nodeRank}<0>\n` },
      { stream: 'stdout', text: `${host}:${pid}:${pid} [${localRank}] NCCL INFO NCCL version 2.21.5+cuda12.4\n` },
    ];
    if (this.plan.ncclWarning) {
      lines.push({
        stream: 'stdout',
        text: `${host}:${pid}:${pid + 41} [${localRank}] NCCL WARN NET/Socket : peer 10.0.0.${11 - this.identity.nodeRank}<43117> connection closed by peer, retrying (1/5)\n`,
      });
    }
    if (rank === 0) lines.push(logLine('INFO', 'transformers.trainer', `***** Running training *****  Num steps = ${this.plan.steps}, world size = ${worldSize}`, now));
    return lines;
  }

  lossAt(step: number): number {
    const noise = (this.random() - 0.5) * 0.08;
    return 1.6 + 9.2 * Math.pow(step + 1, -0.45) + this.lossOffset + noise;
  }

  /** Lines for one finished step (1-based). */
  step(step: number, now: Date, stepMs: number): OutputLine[] {
    const { rank, localRank, worldSize } = this.identity;
    const lines: OutputLine[] = [];
    const loss = this.lossAt(step);
    this.lastLoss = loss;
    const itPerSecond = 1000 / stepMs;
    if (localRank === 0) {
      // tqdm redraws its bar in place; a line ends only every 10 steps (and at the end).
      const ends = step % 10 === 0 || step === this.plan.steps;
      lines.push({ stream: 'stderr', text: `${step % 10 === 1 ? '' : '\r'}${progressBar(step, this.plan.steps, itPerSecond)}${ends ? '\n' : ''}` });
    }
    lines.push({ stream: 'stdout', text: `step ${step} loss ${loss.toFixed(4)} lr ${(3e-4 * Math.min(1, step / 20)).toExponential(2)} grad_norm ${(0.8 + this.random() * 0.6).toFixed(3)}\n` });
    if (rank === 0 && step % 5 === 0) {
      const epoch = (step / this.plan.steps).toFixed(2);
      lines.push({ stream: 'stdout', text: `{'loss': ${loss.toFixed(4)}, 'grad_norm': ${(0.8 + this.random() * 0.6).toFixed(4)}, 'learning_rate': ${(3e-4 * Math.min(1, step / 20)).toExponential(1)}, 'epoch': ${epoch}}\n` });
    }
    if (step % 10 === 0) {
      const samplesPerSecond = (itPerSecond * 8 * (0.95 + this.random() * 0.1)).toFixed(1);
      lines.push(logLine('INFO', 'train', `throughput: ${samplesPerSecond} samples/s, ${Math.round(Number(samplesPerSecond) * 2048)} tokens/s, mfu ${(38 + this.random() * 6).toFixed(1)}%, world_size ${worldSize}`, now));
    }
    if (this.plan.failAtStep === step) lines.push(...this.failure(step, now));
    return lines;
  }

  private failure(step: number, now: Date): OutputLine[] {
    const { localRank } = this.identity;
    const text = [
      `${pythonTime(now)} - ERROR - train - step ${step} failed on rank ${this.identity.rank}`,
      'Traceback (most recent call last):',
      '  File "/workspace/train.py", line 214, in <module>',
      '    main()',
      '  File "/workspace/train.py", line 187, in main',
      '    loss = model(**batch).loss',
      '  File "/usr/local/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1736, in _wrapped_call_impl',
      '    return self._call_impl(*args, **kwargs)',
      '  File "/usr/local/lib/python3.11/site-packages/torch/nn/functional.py", line 2262, in softmax',
      '    ret = input.softmax(dim)',
      `torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU ${localRank} has a total capacity of 79.15 GiB of which 1.12 GiB is free.`,
    ];
    return [{ stream: 'stderr', text: text.join('\n') + '\n' }];
  }
}

/** torchrun's report after a worker failed: its error line, then the launcher's traceback and the failure table. */
export function childFailedReport(failed: RankIdentity, exitCode: number, now: Date): string {
  return [
    `${pythonTime(now)} - ERROR - torch.distributed.elastic.multiprocessing.api - failed (exitcode: ${exitCode}) local_rank: ${failed.localRank} (pid: ${failed.pid}) of binary: /usr/bin/python3`,
    ...childFailedReportLines({ script: '/workspace/train.py', time: torchrunStamp(now), host: failed.host, rank: failed.rank, localRank: failed.localRank, exitCode, pid: failed.pid }),
    '',
  ].join('\n');
}
