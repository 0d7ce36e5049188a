// A seeded generator of realistic multi-rank training output: what `torchrun --tee 2` prints for a
// data-parallel job on several nodes. The benchmark, the demo simulator and tests reuse it.
//
// Every random choice comes from this file's own PRNGs, so one seed always yields the same entries in
// the same order. Ranks are kept in step by one shared timeline that each rank recomputes from
// counter-based hashes (step durations, incidents), so ranks agree on time without sharing state.
//
// What a run contains: NCCL init banners, a tqdm bar per step, a Python-logging step line
// (`step 120/500000 | loss 2.3510 | …`), HF-Trainer dicts, JSON metric lines, throughput/MFU lines,
// checkpoints (each shard line carries a unique sha256 prefix: the needle tokens), rare warnings,
// NCCL WARNs, error lines and handled tracebacks, and now and then an incident (CUDA OOM, or an NCCL
// watchdog timeout after a hang) followed by torchrun restarting the group from the last checkpoint.
// `--tee 2` prefixes only stderr with `[rankN]:`: Python logging, tqdm, warnings, tracebacks and the
// c10 watchdog are prefixed; print()ed dicts, JSON lines and NCCL's own lines are not.

import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { once } from 'node:events';
import { childFailedReportLines, torchrunStamp } from '../src/demo/torch-output.ts';
import type { Labels } from '../src/push/types.ts';

export type FailureKind = 'oom' | 'nccl-timeout';

export interface SyntheticLogOptions {
  /** Same seed, same output. Default 42. */
  seed?: number;
  /** Nodes, named node-0, node-1, … Default 2. */
  hosts?: number;
  /** GPUs per node; global rank = host * ranksPerHost + localRank. Default 4. */
  ranksPerHost?: number;
  /** Time of the first line. Default 2026-01-05T08:00:00Z. */
  startTimeNs?: bigint;
  /** Planned length of the run (printed as `step N/total`). The generator ends there. Default 1,000,000. */
  totalSteps?: number;
  /** Mean optimizer step time. Default 350 ms. */
  stepMs?: number;
  /** Mean steps between incidents (OOM or NCCL hang) that restart the group; 0 = none. Default 25,000. */
  incidentEverySteps?: number;
  /** How long a hung collective waits before the watchdog fires. Default 600,000 ms, PyTorch's default. */
  ncclTimeoutMs?: number;
  checkpointEverySteps?: number;
  evalEverySteps?: number;
  /** Multiplies the odds of rare lines (warnings, NCCL WARN, errors, handled tracebacks). Default 1. */
  rareLineScale?: number;
  /** A failure that ends the run for good: the launcher prints ChildFailedError and nothing follows. */
  finalFailure?: { rank: number; atStep: number; kind: FailureKind };
}

export interface SyntheticLogEntry {
  host: string;
  /** Global rank, or null for the torchrun launcher (elastic agent) of that host. */
  rank: number | null;
  timestampNs: bigint;
  /** One log entry; a traceback is one entry whose lines are joined by '\n'. */
  line: string;
}

/** Every shard-checkpoint line carries one of these; each value occurs once in a run. */
export const UNIQUE_TOKEN_PATTERN = /sha256=([0-9a-f]{16})/;

interface ResolvedOptions {
  seed: number;
  hosts: number;
  ranksPerHost: number;
  worldSize: number;
  startUs: number;
  totalSteps: number;
  stepUs: number;
  incidentEverySteps: number;
  ncclTimeoutUs: number;
  checkpointEverySteps: number;
  evalEverySteps: number;
  rareLineScale: number;
  finalFailure: { rank: number; atStep: number; kind: FailureKind } | undefined;
  runId: string;
}

function resolveOptions(options: SyntheticLogOptions): ResolvedOptions {
  const hosts = options.hosts ?? 2;
  const ranksPerHost = options.ranksPerHost ?? 4;
  const seed = (options.seed ?? 42) >>> 0;
  for (const [name, value] of Object.entries({ hosts, ranksPerHost })) {
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`synthetic log: ${name} must be a positive integer, got ${value}`);
  }
  const startTimeNs = options.startTimeNs ?? 1_767_600_000_000_000_000n; // 2026-01-05T08:00:00Z
  const finalFailure = options.finalFailure;
  if (finalFailure !== undefined && (finalFailure.rank < 0 || finalFailure.rank >= hosts * ranksPerHost)) {
    throw new RangeError(`synthetic log: finalFailure.rank ${finalFailure.rank} is outside 0..${hosts * ranksPerHost - 1}`);
  }
  return {
    seed,
    hosts,
    ranksPerHost,
    worldSize: hosts * ranksPerHost,
    startUs: Number(startTimeNs / 1000n),
    totalSteps: options.totalSteps ?? 1_000_000,
    stepUs: (options.stepMs ?? 350) * 1000,
    incidentEverySteps: options.incidentEverySteps ?? 25_000,
    ncclTimeoutUs: (options.ncclTimeoutMs ?? 600_000) * 1000,
    checkpointEverySteps: options.checkpointEverySteps ?? 1000,
    evalEverySteps: options.evalEverySteps ?? 2000,
    rareLineScale: options.rareLineScale ?? 1,
    finalFailure,
    runId: hashHex(seed, 0x52554e, 0, 8),
  };
}

// ---------------------------------------------------------------------------------------------
// Randomness. Counter-based hashing for the shared timeline (any rank can ask "how long was step s
// of attempt a" and get the same answer) and a sequential xorshift generator for each rank's text.

/** 32-bit avalanche mix (the murmur3 finalizer constants). */
function mix32(value: number): number {
  let h = value >>> 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hash3(seed: number, a: number, b: number): number {
  return mix32(mix32(mix32(seed ^ 0x9e3779b9) ^ a) ^ Math.imul(b, 0x27d4eb2f));
}

/** Uniform in [0, 1) from (seed, a, b). */
function hashUnit(seed: number, a: number, b: number): number {
  return hash3(seed, a, b) / 4294967296;
}

function hashHex(seed: number, a: number, b: number, digits: number): string {
  let text = '';
  for (let i = 0; text.length < digits; i++) text += hash3(seed, a, b * 31 + i).toString(16).padStart(8, '0');
  return text.slice(0, digits);
}

/** Marsaglia xorshift32, seeded through mix32 so nearby seeds diverge at once. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = mix32(seed ^ 0x2545f491) || 1;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 4294967296;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  }
  chance(probability: number): boolean {
    return this.next() < probability;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** Standard normal (Box–Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
  hex(digits: number): string {
    let text = '';
    while (text.length < digits) text += Math.floor(this.next() * 4294967296).toString(16).padStart(8, '0');
    return text.slice(0, digits);
  }
}

// ---------------------------------------------------------------------------------------------
// The shared timeline: attempts (one per group start), steps with their durations, incidents.

type TimelineEvent =
  | { kind: 'attempt'; attempt: number; timeUs: number; resumeStep: number }
  | { kind: 'step'; attempt: number; step: number; startUs: number; durationUs: number }
  | { kind: 'incident'; attempt: number; step: number; startUs: number; failure: FailureKind; rank: number; failUs: number; final: boolean }
  | { kind: 'end'; timeUs: number; completed: boolean };

const SALT_STEP = 1;
const SALT_INCIDENT = 2;
const SALT_VICTIM = 3;
const SALT_KIND = 4;
/** Group start-up (rendezvous, NCCL init, checkpoint load) before the first step. */
const STARTUP_US = 45_000_000;
/** torchrun notices a dead worker, tears the group down and re-rendezvouses. */
const RESTART_DELAY_US = 30_000_000;
const CHECKPOINT_SAVE_US = 25_000_000;
const EVAL_US = 40_000_000;

function stepDurationUs(o: ResolvedOptions, attempt: number, step: number): number {
  const u1 = hashUnit(o.seed, SALT_STEP + attempt * 8, step);
  const u2 = hashUnit(o.seed, SALT_STEP + attempt * 8 + 4, step);
  // Approximately normal jitter (sum of two uniforms) plus rare stragglers (slow node, GC, I/O).
  let duration = o.stepUs * (1 + 0.08 * (u1 + u2 - 1));
  if (u1 < 0.002) duration *= 2 + u2 * 3;
  if (step % o.checkpointEverySteps === 0) duration += CHECKPOINT_SAVE_US;
  if (step % o.evalEverySteps === 0) duration += EVAL_US;
  return Math.round(duration);
}

function* timeline(o: ResolvedOptions): Generator<TimelineEvent> {
  let timeUs = o.startUs;
  let resumeStep = 0;
  for (let attempt = 0; ; attempt++) {
    yield { kind: 'attempt', attempt, timeUs, resumeStep };
    timeUs += STARTUP_US;
    let incidentStep = Infinity;
    let failure: FailureKind = 'oom';
    let victim = 0;
    let final = false;
    if (o.incidentEverySteps > 0) {
      // At least two checkpoints of progress per attempt, so a run always moves forward.
      const gap = Math.max(2 * o.checkpointEverySteps + 1, Math.round(o.incidentEverySteps * (0.5 + hashUnit(o.seed, SALT_INCIDENT, attempt))));
      incidentStep = resumeStep + gap;
      victim = Math.floor(hashUnit(o.seed, SALT_VICTIM, attempt) * o.worldSize);
      failure = hashUnit(o.seed, SALT_KIND, attempt) < 0.6 ? 'oom' : 'nccl-timeout';
    }
    if (o.finalFailure !== undefined && o.finalFailure.atStep <= incidentStep && o.finalFailure.atStep > resumeStep) {
      incidentStep = o.finalFailure.atStep;
      failure = o.finalFailure.kind;
      victim = o.finalFailure.rank;
      final = true;
    }
    for (let step = resumeStep + 1; step <= o.totalSteps; step++) {
      const durationUs = stepDurationUs(o, attempt, step);
      if (step === incidentStep) {
        // An OOM kills the rank mid-step; a hang leaves the others waiting in the collective until
        // the watchdog fires.
        const failUs = failure === 'oom' ? timeUs + Math.round(durationUs * 0.4) : timeUs + o.ncclTimeoutUs;
        yield { kind: 'incident', attempt, step, startUs: timeUs, failure, rank: victim, failUs, final };
        if (final) {
          yield { kind: 'end', timeUs: failUs + 2_000_000, completed: false };
          return;
        }
        timeUs = failUs + RESTART_DELAY_US;
        resumeStep = Math.floor((step - 1) / o.checkpointEverySteps) * o.checkpointEverySteps;
        break;
      }
      yield { kind: 'step', attempt, step, startUs: timeUs, durationUs };
      timeUs += durationUs;
      if (step === o.totalSteps) {
        yield { kind: 'end', timeUs, completed: true };
        return;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Text formatting.

const pad2 = (value: number): string => (value < 10 ? '0' : '') + value;
const pad3 = (value: number): string => (value < 10 ? '00' : value < 100 ? '0' : '') + value;

/** Caches the per-second part of timestamps: most lines share a second with the previous one. */
class Clock {
  private cachedSecond = -1;
  private asctimeSecond = '';
  private glogSecond = '';
  private isoSecond = '';
  private load(us: number): void {
    const second = Math.floor(us / 1_000_000);
    if (second === this.cachedSecond) return;
    this.cachedSecond = second;
    const d = new Date(second * 1000);
    const date = `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())}`;
    const time = `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
    this.asctimeSecond = `${date} ${time}`;
    this.glogSecond = `${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())} ${time}`;
    this.isoSecond = `${date}T${time}`;
  }
  /** Python logging's default asctime: `2026-01-05 08:00:00,123`. */
  asctime(us: number): string {
    this.load(us);
    return `${this.asctimeSecond},${pad3(Math.floor(us / 1000) % 1000)}`;
  }
  /** glog / c10 style `0105 08:00:00.123456`, as in `[E0105 08:00:00.123456 …]`. */
  glog(us: number): string {
    this.load(us);
    return `${this.glogSecond}.${String(Math.floor(us) % 1_000_000).padStart(6, '0')}`;
  }
  iso(us: number): string {
    this.load(us);
    return `${this.isoSecond}.${pad3(Math.floor(us / 1000) % 1000)}Z`;
  }
}

/** Python's repr of a float, close enough: scientific below 1e-4 (`4.9e-05`), else shortest decimal. */
function pyFloat(value: number, significant: number): string {
  if (value !== 0 && Math.abs(value) < 1e-4) {
    const [mantissa, exponent] = value.toExponential(significant - 1).split('e') as [string, string];
    const trimmed = mantissa.includes('.') ? mantissa.replace(/0+$/, '').replace(/\.$/, '') : mantissa;
    const sign = exponent.startsWith('-') ? '-' : '+';
    return `${trimmed}e${sign}${exponent.replace(/^[-+]/, '').padStart(2, '0')}`;
  }
  const text = String(Number(value.toPrecision(significant)));
  return text.includes('.') || text.includes('e') ? text : `${text}.0`;
}

/** Python's `f"{value:.2e}"`: a two-digit exponent, `3.00e-04`. */
function pyExponent(value: number, fractionDigits: number): string {
  const [mantissa, exponent] = value.toExponential(fractionDigits).split('e') as [string, string];
  const sign = exponent.startsWith('-') ? '-' : '+';
  return `${mantissa}e${sign}${exponent.replace(/^[-+]/, '').padStart(2, '0')}`;
}

function tqdmDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(s / 3600);
  const rest = `${pad2(Math.floor((s % 3600) / 60))}:${pad2(s % 60)}`;
  return hours > 0 ? `${hours}:${rest}` : rest;
}

const BAR_EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

/** `Training:  12%|█▏        | 120/1000 [01:23<10:12,  1.43it/s, loss=2.35]` (postfix from set_postfix). */
function tqdmLine(done: number, total: number, elapsedS: number, rate: number, postfix: string): string {
  const fraction = Math.min(1, done / total);
  const eighths = Math.floor(fraction * 80);
  const bar = ('█'.repeat(Math.floor(eighths / 8)) + BAR_EIGHTHS[eighths % 8]).padEnd(10, ' ');
  const remaining = rate > 0 ? (total - done) / rate : 0;
  const percent = String(Math.floor(fraction * 100)).padStart(3, ' ');
  return `Training: ${percent}%|${bar}| ${done}/${total} [${tqdmDuration(elapsedS)}<${tqdmDuration(remaining)}, ${rate.toFixed(2).padStart(5, ' ')}it/s, ${postfix}]`;
}

const LOGGING_SITES = ['train.py:214', 'train.py:231', 'trainer.py:1987', 'utils/metrics.py:88'];

// ---------------------------------------------------------------------------------------------
// One rank: turns the timeline into its own lines, with time offsets inside each step.

interface TimedLine {
  timeUs: number;
  line: string;
}

const MODEL_PARAMS = 1.3e9;
const PEAK_FLOPS = 989e12; // H100 SXM dense BF16
const TOKENS_PER_STEP_PER_RANK = 16_384;

function lossAt(step: number): number {
  return 1.85 + 6.2 * Math.exp(-step / 1500) + 0.7 * Math.exp(-step / 60_000);
}

function learningRateAt(step: number, totalSteps: number): number {
  const warmup = 2000;
  if (step < warmup) return (3e-4 * step) / warmup;
  const progress = Math.min(1, (step - warmup) / Math.max(1, totalSteps - warmup));
  return 3e-5 + 0.5 * (3e-4 - 3e-5) * (1 + Math.cos(Math.PI * progress));
}

/** A worker's process id: new for every group start, the same wherever the rank is mentioned. */
function rankPid(o: ResolvedOptions, attempt: number, rank: number): number {
  return 4000 + (hash3(o.seed, attempt, rank) % 60000);
}

function* rankLines(o: ResolvedOptions, rank: number): Generator<TimedLine> {
  const random = new SeededRandom(hash3(o.seed, 0x52414e4b, rank));
  const clock = new Clock();
  const host = `node-${Math.floor(rank / o.ranksPerHost)}`;
  const localRank = rank % o.ranksPerHost;
  const prefix = `[rank${rank}]:`;
  const log = (us: number, level: string, message: string, site = LOGGING_SITES[0]!): string =>
    `${prefix}${clock.asctime(us)} - ${level} - ${site} - ${message}`;
  let pid = 0;
  let nccl = '';
  let attemptStartUs = 0;
  let lastUs = 0;
  // Keeps one rank's timestamps strictly increasing even where offsets inside a step coincide.
  const at = (us: number): number => (lastUs = Math.max(Math.round(us), lastUs + 1));

  for (const event of timeline(o)) {
    if (event.kind === 'attempt') {
      pid = rankPid(o, event.attempt, rank);
      nccl = `${host}:${pid}:${pid + 59} [${localRank}]`;
      attemptStartUs = event.timeUs;
      let t = event.timeUs + 2_000_000 + random.int(3_000_000);
      yield { timeUs: at(t), line: log(t, 'INFO', `Initializing process group: backend=nccl world_size=${o.worldSize} rank=${rank} local_rank=${localRank}`) };
      t += 4_000_000 + random.int(1_000_000);
      if (rank === 0) yield { timeUs: at(t), line: `${nccl} NCCL INFO Bootstrap : Using eth0:10.0.0.${10 + Math.floor(rank / o.ranksPerHost)}<0>` };
      yield { timeUs: at(t + 1000), line: `${nccl} NCCL INFO NET/IB : Using [0]mlx5_${localRank}:1/IB [1]mlx5_${(localRank + 1) % o.ranksPerHost}:1/IB ; OOB eth0:10.0.0.${10 + Math.floor(rank / o.ranksPerHost)}<0>` };
      yield { timeUs: at(t + 2000), line: `${nccl} NCCL INFO Using network IB` };
      yield { timeUs: at(t + 9000), line: `${nccl} NCCL INFO comm 0x${random.hex(12)} rank ${rank} nranks ${o.worldSize} cudaDev ${localRank} nvmlDev ${localRank} busId ${(0x18 + localRank * 0x10).toString(16)}000 commId 0x${hashHex(o.seed, event.attempt, 7, 16)} - Init START` };
      for (let channel = 0; channel < 4; channel++) {
        const ring = Array.from({ length: o.worldSize }, (_, i) => String((i + channel) % o.worldSize).padStart(3, ' ')).join(' ');
        yield { timeUs: at(t + 20_000 + channel * 150), line: `${nccl} NCCL INFO Channel ${pad2(channel)}/32 : ${ring}` };
      }
      yield { timeUs: at(t + 410_000), line: `${nccl} NCCL INFO Connected all rings` };
      yield { timeUs: at(t + 420_000), line: `${nccl} NCCL INFO comm 0x${random.hex(12)} rank ${rank} nranks ${o.worldSize} cudaDev ${localRank} busId ${(0x18 + localRank * 0x10).toString(16)}000 - Init COMPLETE` };
      t += 6_000_000 + random.int(2_000_000);
      if (event.resumeStep > 0) {
        yield { timeUs: at(t), line: log(t, 'INFO', `Resuming from checkpoint /checkpoints/run-${o.runId}/checkpoint-${event.resumeStep} (global step ${event.resumeStep})`, 'trainer.py:2213') };
      } else {
        yield { timeUs: at(t), line: log(t, 'INFO', `***** Running training ***** num_steps=${o.totalSteps} world_size=${o.worldSize} per_device_batch_tokens=${TOKENS_PER_STEP_PER_RANK} model_params=${MODEL_PARAMS / 1e9}B`, 'trainer.py:1812') };
      }
      continue;
    }
    if (event.kind === 'end') {
      if (rank === 0 && event.completed) yield { timeUs: at(event.timeUs), line: log(event.timeUs, 'INFO', `Training completed. Final checkpoint at /checkpoints/run-${o.runId}`, 'trainer.py:2471') };
      return;
    }
    if (event.kind === 'incident') {
      yield* incidentLines(o, event, rank, random, clock, prefix, nccl, at);
      continue;
    }
    // A regular step.
    const { step, startUs, durationUs } = event;
    const evalUs = step % o.evalEverySteps === 0 ? EVAL_US : 0;
    const checkpointUs = step % o.checkpointEverySteps === 0 ? CHECKPOINT_SAVE_US : 0;
    // Forward/backward/optimizer first; evaluation and checkpoint saving (if due) follow them.
    const computeUs = durationUs - evalUs - checkpointUs;
    const offset = (fraction: number): number => startUs + computeUs * fraction + localRank * 137 + random.int(900);
    const loss = lossAt(step) * (1 + 0.02 * random.normal()) * (random.chance(0.0005) ? 1.35 : 1);
    const learningRate = learningRateAt(step, o.totalSteps);
    const gradNorm = 0.25 + 1.8 * Math.exp(-step / 3000) + Math.abs(0.08 * random.normal());
    const tokensPerSecond = (TOKENS_PER_STEP_PER_RANK * 1e6) / computeUs;
    const elapsedS = (startUs + durationUs - attemptStartUs) / 1e6;
    let t = offset(0.05);
    yield { timeUs: at(t), line: prefix + tqdmLine(step, o.totalSteps, elapsedS, 1e6 / computeUs, `loss=${loss.toFixed(3)}, grad_norm=${gradNorm.toFixed(2)}`) };
    t = offset(0.92);
    const site = step % 10 === 0 ? LOGGING_SITES[1]! : LOGGING_SITES[0]!;
    yield {
      timeUs: at(t),
      line: log(t, 'INFO', `step ${step}/${o.totalSteps} | loss ${loss.toFixed(4)} | lr ${pyExponent(learningRate, 2)} | grad_norm ${gradNorm.toFixed(3)} | tokens/s ${Math.round(tokensPerSecond)} | step_time ${Math.round(durationUs / 1000)}ms | data_time ${(2 + 6 * random.next() ** 3).toFixed(1)}ms | mem ${(61 + 3 * random.next()).toFixed(2)}GiB`, site),
    };
    if (step % 10 === 0) {
      const epoch = step / 25_000;
      yield { timeUs: at(t + 50), line: `{'loss': ${pyFloat(loss, 5)}, 'grad_norm': ${pyFloat(gradNorm, 12)}, 'learning_rate': ${pyFloat(learningRate, 6)}, 'epoch': ${pyFloat(epoch, 4)}}` };
      yield {
        timeUs: at(t + 90),
        line: `{"ts": "${clock.iso(t)}", "level": "info", "event": "train_metrics", "rank": ${rank}, "step": ${step}, "loss": ${loss.toFixed(4)}, "lr": ${pyFloat(learningRate, 6)}, "grad_norm": ${gradNorm.toFixed(4)}, "tokens_per_s": ${Math.round(tokensPerSecond)}}`,
      };
    }
    if (step % 50 === 0) {
      const mfu = (tokensPerSecond * 6 * MODEL_PARAMS) / PEAK_FLOPS;
      const memoryGiB = 61 + 4 * random.next();
      yield { timeUs: at(t + 200), line: log(t + 200, 'INFO', `throughput ${tokensPerSecond.toFixed(1)} tokens/s/gpu | MFU ${(mfu * 100).toFixed(1)}% | TFLOPs/gpu ${((mfu * PEAK_FLOPS) / 1e12).toFixed(1)} | mem_alloc ${memoryGiB.toFixed(2)}GiB mem_reserved ${(memoryGiB + 6).toFixed(2)}GiB`, LOGGING_SITES[3]) };
    }
    if (evalUs > 0) {
      const evalLoss = lossAt(step) * 1.03;
      yield { timeUs: at(startUs + computeUs + evalUs * 0.95), line: `{'eval_loss': ${pyFloat(evalLoss, 16)}, 'eval_runtime': ${pyFloat(36 + random.next() * 4, 6)}, 'eval_samples_per_second': ${pyFloat(110 + random.next() * 8, 6)}, 'eval_steps_per_second': ${pyFloat(3.4 + random.next() * 0.3, 4)}, 'epoch': ${pyFloat(step / 25_000, 4)}}` };
    }
    if (checkpointUs > 0) {
      const saveUs = startUs + computeUs + evalUs + 1000;
      if (rank === 0) yield { timeUs: at(saveUs), line: log(saveUs, 'INFO', `Saving model checkpoint to /checkpoints/run-${o.runId}/checkpoint-${step}`, 'trainer.py:3719') };
      const doneUs = saveUs + checkpointUs * (0.6 + 0.3 * random.next());
      const digest = hashHex(o.seed, 0x5348 + event.attempt, step * 4096 + rank, 16);
      yield { timeUs: at(doneUs), line: log(doneUs, 'INFO', `saved shard ${rank}/${o.worldSize} of checkpoint-${step} (${(2.6 + random.next() * 0.1).toFixed(2)} GiB) sha256=${digest}`, 'checkpoint.py:141') };
    }
    yield* rareLines(o, rank, random, clock, prefix, nccl, log, at, startUs + durationUs - 500, step);
  }
}

function* rareLines(
  o: ResolvedOptions,
  rank: number,
  random: SeededRandom,
  clock: Clock,
  prefix: string,
  nccl: string,
  log: (us: number, level: string, message: string, site?: string) => string,
  at: (us: number) => number,
  t: number,
  step: number,
): Generator<TimedLine> {
  // Odds per rank per step; the thresholds stack so one roll picks at most one rare line.
  const roll = random.next() / o.rareLineScale;
  if (roll < 1 / 2500) {
    yield { timeUs: at(t), line: `${prefix}/usr/local/lib/python3.11/site-packages/torch/utils/checkpoint.py:91: UserWarning: None of the inputs have requires_grad=True. Gradients will be None` };
  } else if (roll < 1 / 2500 + 1 / 4000) {
    yield { timeUs: at(t), line: log(t, 'WARNING', `slow batch fetch from shard ${String(random.int(4096)).padStart(5, '0')}: ${(1 + random.next() * 4).toFixed(2)}s (threshold 1.00s)`, 'data/loader.py:311') };
  } else if (roll < 1 / 2500 + 1 / 4000 + 1 / 8000) {
    const warnings = [
      `NCCL WARN NET/IB : mlx5_${rank % o.ranksPerHost}:1 Got async event : port error`,
      `NCCL WARN NET/IB : Got completion from peer 10.0.0.${10 + random.int(o.hosts)}<${40000 + random.int(20000)}> with status=12 opcode=0 len=0 vendor err 129 (Recv)`,
      `NCCL WARN Cuda failure 'an illegal memory access was encountered' retrying`,
    ];
    yield { timeUs: at(t), line: `${nccl} ${random.pick(warnings)}` };
  } else if (roll < 1 / 2500 + 1 / 4000 + 1 / 8000 + 1 / 20000) {
    yield { timeUs: at(t), line: log(t, 'ERROR', `failed to upload metrics to s3://ml-metrics/run-${o.runId}/step-${step}.json: ReadTimeoutError('Read timed out. (read timeout=60)') (attempt 1/5), retrying in 2s`, 'storage/uploader.py:87') };
  } else if (roll < 1 / 2500 + 1 / 4000 + 1 / 8000 + 1 / 20000 + 1 / 30000) {
    const worker = random.int(8);
    const body = [
      `${clock.asctime(t)} - WARNING - data/loader.py:402 - DataLoader worker ${worker} raised an exception; respawning it`,
      'Traceback (most recent call last):',
      '  File "/workspace/data/loader.py", line 396, in _fetch',
      '    return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()',
      '  File "/usr/local/lib/python3.11/site-packages/urllib3/response.py", line 879, in read',
      '    data = self._raw_read(amt)',
      '  File "/usr/local/lib/python3.11/socket.py", line 706, in readinto',
      '    return self._sock.recv_into(b)',
      'ConnectionResetError: [Errno 104] Connection reset by peer',
    ];
    yield { timeUs: at(t), line: body.map((line) => prefix + line).join('\n') };
  }
}

function* incidentLines(
  o: ResolvedOptions,
  event: Extract<TimelineEvent, { kind: 'incident' }>,
  rank: number,
  random: SeededRandom,
  clock: Clock,
  prefix: string,
  nccl: string,
  at: (us: number) => number,
): Generator<TimedLine> {
  const localRank = rank % o.ranksPerHost;
  if (rank === event.rank && event.failure === 'oom') {
    const triedGiB = (1 + random.next() * 3).toFixed(2);
    const body = [
      'Traceback (most recent call last):',
      '  File "/workspace/train.py", line 412, in <module>',
      '    main()',
      '  File "/workspace/train.py", line 388, in main',
      '    loss = train_step(model, batch, optimizer)',
      '  File "/workspace/train.py", line 231, in train_step',
      '    outputs = model(**batch)',
      '  File "/usr/local/lib/python3.11/site-packages/torch/nn/modules/module.py", line 1751, in _wrapped_call_impl',
      '    return self._call_impl(*args, **kwargs)',
      '  File "/workspace/model/attention.py", line 144, in forward',
      '    scores = torch.matmul(q, k.transpose(-2, -1)) * self.scale',
      `torch.OutOfMemoryError: CUDA out of memory. Tried to allocate ${triedGiB} GiB. GPU ${localRank} has a total capacity of 79.15 GiB of which ${(0.5 + random.next()).toFixed(2)} GiB is free. Including non-PyTorch memory, this process has 78.02 GiB memory in use. Of the allocated memory 74.31 GiB is allocated by PyTorch, and 2.18 GiB is reserved by PyTorch but unallocated. If reserved but unallocated memory is large try setting PYTORCH_CUDA_ALLOC_CONF=expandable_segments:True to avoid fragmentation.  See documentation for Memory Management  (https://pytorch.org/docs/stable/notes/cuda.html#environment-variables)`,
    ];
    yield { timeUs: at(event.failUs), line: body.map((line) => prefix + line).join('\n') };
    return;
  }
  if (event.failure === 'nccl-timeout' && rank !== event.rank) {
    const seq = event.step * 3 + 1;
    const time = clock.glog(event.failUs);
    const tid = rankPid(o, event.attempt, rank) + 2;
    yield {
      timeUs: at(event.failUs + localRank * 211),
      line: `${prefix}[E${time} ${tid} ProcessGroupNCCL.cpp:616] [Rank ${rank}] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=${seq}, OpType=ALLREDUCE, NumelIn=25165824, NumelOut=25165824, Timeout(ms)=${o.ncclTimeoutUs / 1000}) ran for ${o.ncclTimeoutUs / 1000 + 20 + random.int(40)} milliseconds before timing out.`,
    };
    yield {
      timeUs: at(event.failUs + 3000),
      line: `${prefix}[E${clock.glog(event.failUs + 3000)} ${tid} ProcessGroupNCCL.cpp:1583] [PG 0 Rank ${rank}] Some NCCL operations have failed or timed out. Due to the asynchronous nature of CUDA kernels, subsequent GPU operations might run on corrupted/incomplete data. To avoid data inconsistency, we are taking the entire process down.`,
    };
    yield { timeUs: at(event.failUs + 5000), line: `${nccl} NCCL INFO [Service thread] Connection closed by localRank ${(localRank + 1) % o.ranksPerHost}` };
  }
}

// ---------------------------------------------------------------------------------------------
// The launcher (torchrun's elastic agent), one per host.

function* launcherLines(o: ResolvedOptions, hostIndex: number): Generator<TimedLine> {
  const clock = new Clock();
  const pid = 1200 + hostIndex;
  const glog = (level: string, us: number, site: string, message: string): string => `${level}${clock.glog(us)} ${pid} ${site}] ${message}`;
  const maxRestarts = 100;
  let lastUs = 0;
  const at = (us: number): number => (lastUs = Math.max(Math.round(us), lastUs + 1));
  for (const event of timeline(o)) {
    if (event.kind === 'attempt') {
      const t = event.timeUs;
      if (event.attempt === 0) {
        yield { timeUs: at(t), line: glog('W', t, 'torch/distributed/run.py:792', '\n*****************************************\nSetting OMP_NUM_THREADS environment variable for each process to be 1 in default, to avoid your system being overloaded, please further tune the variable for optimal performance in your application as needed. \n*****************************************') };
      }
      yield { timeUs: at(t + 900_000), line: glog('I', t + 900_000, 'torch/distributed/elastic/agent/server/api.py:525', `[default] Starting worker group (attempt ${event.attempt}, node_rank ${hostIndex}, local_world_size ${o.ranksPerHost}, world_size ${o.worldSize})`) };
      continue;
    }
    if (event.kind !== 'incident') continue;
    const victimHost = Math.floor(event.rank / o.ranksPerHost);
    const detectUs = event.failUs + 1_500_000;
    const exitcode = event.failure === 'oom' ? 1 : -6;
    if (hostIndex === victimHost) {
      const victimLocal = event.rank % o.ranksPerHost;
      for (let local = 0; local < o.ranksPerHost; local++) {
        if (local === victimLocal) continue;
        yield { timeUs: at(detectUs + local * 1000), line: glog('W', detectUs + local * 1000, 'torch/distributed/elastic/multiprocessing/api.py:897', `Sending process ${rankPid(o, event.attempt, victimHost * o.ranksPerHost + local)} closing signal SIGTERM`) };
      }
      yield { timeUs: at(detectUs + 40_000), line: glog('E', detectUs + 40_000, 'torch/distributed/elastic/multiprocessing/api.py:869', `failed (exitcode: ${exitcode}) local_rank: ${victimLocal} (pid: ${rankPid(o, event.attempt, event.rank)}) of binary: /usr/bin/python3`) };
    }
    const reportUs = detectUs + 60_000 + hostIndex * 1000;
    if (event.final) {
      const body = childFailedReportLines({
        script: 'train.py',
        time: torchrunStamp(new Date(event.failUs / 1000)),
        host: `node-${victimHost}`,
        rank: event.rank,
        localRank: event.rank % o.ranksPerHost,
        exitCode: exitcode,
        pid: rankPid(o, event.attempt, event.rank),
      });
      if (hostIndex === victimHost) yield { timeUs: at(reportUs), line: body.join('\n') };
      return;
    }
    yield { timeUs: at(reportUs), line: glog('I', reportUs, 'torch/distributed/elastic/agent/server/api.py:712', `[default] Worker group FAILED. ${maxRestarts - event.attempt - 1}/${maxRestarts} attempts left; will restart worker group`) };
    yield { timeUs: at(reportUs + 2_000_000), line: glog('I', reportUs + 2_000_000, 'torch/distributed/elastic/agent/server/api.py:875', '[default] Stopping worker group') };
  }
}

// ---------------------------------------------------------------------------------------------
// Public API.

interface Source {
  host: string;
  rank: number | null;
  lines: Generator<TimedLine>;
  head: TimedLine | undefined;
}

/** All entries of all ranks and launchers, merged into one timeline (ascending time). */
export function* generateTrainingLog(options: SyntheticLogOptions = {}): Generator<SyntheticLogEntry> {
  const o = resolveOptions(options);
  const sources: Source[] = [];
  for (let rank = 0; rank < o.worldSize; rank++) {
    sources.push({ host: `node-${Math.floor(rank / o.ranksPerHost)}`, rank, lines: rankLines(o, rank), head: undefined });
  }
  for (let host = 0; host < o.hosts; host++) sources.push({ host: `node-${host}`, rank: null, lines: launcherLines(o, host), head: undefined });
  for (const source of sources) source.head = source.lines.next().value ?? undefined;
  while (true) {
    // A linear scan beats a heap for the dozens of sources a job has.
    let best: Source | undefined;
    for (const source of sources) {
      if (source.head !== undefined && (best === undefined || source.head.timeUs < best.head!.timeUs)) best = source;
    }
    if (best === undefined) return;
    const { timeUs, line } = best.head!;
    best.head = best.lines.next().value ?? undefined;
    yield { host: best.host, rank: best.rank, timestampNs: BigInt(timeUs) * 1000n, line };
  }
}

/** The stream labels an agent would attach: job, host, and rank (or component="launcher"). */
export function syntheticLabels(entry: Pick<SyntheticLogEntry, 'host' | 'rank'>, job = 'train'): Labels {
  return entry.rank === null ? { job, host: entry.host, component: 'launcher' } : { job, host: entry.host, rank: String(entry.rank) };
}

/** The file an entry goes to in the per-rank layout. */
export function syntheticFileName(entry: Pick<SyntheticLogEntry, 'host' | 'rank'>): string {
  return entry.rank === null ? `${entry.host}-launcher.log` : `${entry.host}-rank-${entry.rank}.log`;
}

export interface WriteSyntheticLogsOptions extends SyntheticLogOptions {
  dir: string;
  /** Stop after the entry that reaches this many bytes of text (newlines included). */
  targetBytes: number;
  /** One `combined.log`, or one file per rank and launcher. */
  layout: 'combined' | 'per-rank';
  /** Sees every written entry, in order (the benchmark batches pushes from it in the same pass). */
  onEntry?: (entry: SyntheticLogEntry) => void;
}

export interface WriteSyntheticLogsResult {
  files: string[];
  bytes: number;
  entries: number;
  firstTimestampNs: bigint;
  lastTimestampNs: bigint;
  /** Tokens that occur exactly once in the output (see UNIQUE_TOKEN_PATTERN), in time order. */
  uniqueTokens: string[];
}

interface FileWriter {
  stream: ReturnType<typeof createWriteStream>;
  pending: string[];
  pendingChars: number;
}

/** Writes generated entries as text files, each entry followed by '\n', until targetBytes. */
export async function writeSyntheticLogs(options: WriteSyntheticLogsOptions): Promise<WriteSyntheticLogsResult> {
  await mkdir(options.dir, { recursive: true });
  const writers = new Map<string, FileWriter>();
  const result: WriteSyntheticLogsResult = { files: [], bytes: 0, entries: 0, firstTimestampNs: 0n, lastTimestampNs: 0n, uniqueTokens: [] };
  // Lines are buffered (~1 MB per file) and counted in UTF-8 bytes only when flushed: one write or
  // one byteLength per line would cost more than generating the line.
  let pendingChars = 0;
  const flush = async (writer: FileWriter): Promise<void> => {
    if (writer.pending.length === 0) return;
    const chunk = Buffer.from(writer.pending.join(''));
    result.bytes += chunk.length;
    pendingChars -= writer.pendingChars;
    writer.pending = [];
    writer.pendingChars = 0;
    if (!writer.stream.write(chunk)) await once(writer.stream, 'drain');
  };
  const flushAll = async (): Promise<void> => {
    for (const writer of writers.values()) await flush(writer);
  };
  for (const entry of generateTrainingLog(options)) {
    const name = options.layout === 'combined' ? 'combined.log' : syntheticFileName(entry);
    let writer = writers.get(name);
    if (writer === undefined) {
      const path = join(options.dir, name);
      writer = { stream: createWriteStream(path), pending: [], pendingChars: 0 };
      writers.set(name, writer);
      result.files.push(path);
    }
    const text = entry.line + '\n';
    writer.pending.push(text);
    writer.pendingChars += text.length;
    pendingChars += text.length;
    options.onEntry?.(entry);
    if (result.entries === 0) result.firstTimestampNs = entry.timestampNs;
    result.lastTimestampNs = entry.timestampNs;
    result.entries++;
    if (entry.line.includes('sha256=')) {
      const match = UNIQUE_TOKEN_PATTERN.exec(entry.line);
      if (match !== null) result.uniqueTokens.push(match[1]!);
    }
    // UTF-16 length never exceeds UTF-8 length, so this flushes no later than the target is reached.
    if (result.bytes + pendingChars >= options.targetBytes) {
      await flushAll();
      if (result.bytes >= options.targetBytes) break;
    } else if (writer.pendingChars >= 1 << 20) {
      await flush(writer);
    }
  }
  await flushAll();
  for (const writer of writers.values()) {
    writer.stream.end();
    await once(writer.stream, 'finish');
  }
  return result;
}
