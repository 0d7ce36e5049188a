// What a run's GPUs say next to what its logs say. Pure: the tracker's view of each rank (silent or
// logging, since when) and each rank's DCGM_FI_DEV_GPU_UTIL samples in, a verdict with evidence out.
//
// The signature this exists for: a rank that stopped logging while its GPU reads busy. NCCL's
// collectives spin on the GPU while they wait for a peer, so a job deadlocked in an all-reduce shows
// 100% utilization on every GPU; utilization alone says "healthy", the logs alone say "hung", and
// together they say "deadlocked in a collective". The reverse (a rank that logs while its GPU idles)
// is a rank starved by its input pipeline or stuck on the CPU.

/** A GPU's utilization samples as DCGM_FI_DEV_GPU_UTIL{run_id, rank} gives them. */
export interface RankGpuSeries {
  rank: number;
  gpu: string;
  uuid: string;
  host: string;
  /** [Unix ms, percent], time-ordered. */
  points: Array<[number, number]>;
}

/** The tracker's view of one rank at the time of judging. */
export interface RankActivity {
  rank: number;
  /** The rank is silent: hung, or stopped with the rest of a hung run. */
  silent: boolean;
  /** Log time of its last line (Unix ms). */
  lastLineMs: number;
  lastLine: string;
}

export interface GpuFinding {
  rank: number;
  gpu: string;
  uuid: string;
  host: string;
  /** When the rank's last line was logged (Unix ms). */
  silentSinceMs: number;
  lastLine: string;
  /** Mean utilization over the samples judged (after the last line for silent ranks, the idle window for logging ones). */
  meanPercent: number;
  minPercent: number;
  samples: number;
}

export type GpuVerdictKind = 'nccl_deadlock' | 'busy_silent_rank' | 'idle_gpu';

export interface GpuVerdict {
  kind: GpuVerdictKind;
  summary: string;
  findings: GpuFinding[];
}

export interface GpuJudgeOptions {
  /** 'hung' makes busy GPUs of silent ranks a deadlock rather than one odd rank. */
  runStatus: 'running' | 'finished' | 'failed' | 'hung';
  nowMs: number;
}

/** DCGM reads 100% in a collective that spins; 80% leaves room for sampling over partly idle seconds. */
export const BUSY_PERCENT = 80;
/** A logging rank's GPU below this for the whole idle window is idle (a real step keeps it far above). */
export const IDLE_PERCENT = 10;
/** The idle window: minutes, as the rule pack's GpuIdleWhileRankRunning, so a checkpoint save does not count. */
export const IDLE_WINDOW_MS = 2 * 60_000;
/** Samples needed before a GPU is judged: one busy reading is a coincidence, three at the sampling interval a state. */
export const MIN_SAMPLES = 3;

function stats(points: Array<[number, number]>): { mean: number; min: number } {
  let sum = 0;
  let min = Infinity;
  for (const [, value] of points) {
    sum += value;
    if (value < min) min = value;
  }
  return { mean: sum / points.length, min };
}

function rankList(ranks: number[]): string {
  const sorted = [...new Set(ranks)].sort((a, b) => a - b);
  return sorted.length === 1 ? `rank ${sorted[0]}` : `ranks ${sorted.join(', ')}`;
}

function percentRange(findings: GpuFinding[]): string {
  const low = Math.min(...findings.map((finding) => finding.meanPercent));
  const high = Math.max(...findings.map((finding) => finding.meanPercent));
  return Math.round(low) === Math.round(high) ? `${Math.round(low)}%` : `${Math.round(low)}–${Math.round(high)}%`;
}

/** The verdict on a run's GPUs, or null when they say nothing the logs don't (or there are no GPU samples). */
export function judgeGpus(ranks: readonly RankActivity[], gpus: readonly RankGpuSeries[], options: GpuJudgeOptions): GpuVerdict | null {
  const byRank = new Map(ranks.map((rank) => [rank.rank, rank]));
  const busy: GpuFinding[] = [];
  const silentWithGpu = new Set<number>();
  const idle: GpuFinding[] = [];
  for (const series of gpus) {
    const activity = byRank.get(series.rank);
    if (activity === undefined) continue;
    const finding = (points: Array<[number, number]>): GpuFinding => {
      const { mean, min } = stats(points);
      return { rank: series.rank, gpu: series.gpu, uuid: series.uuid, host: series.host, silentSinceMs: activity.lastLineMs, lastLine: activity.lastLine, meanPercent: mean, minPercent: min, samples: points.length };
    };
    if (activity.silent) {
      // Only what the GPU did after the rank's last line speaks for the silence.
      const after = series.points.filter(([timeMs]) => timeMs > activity.lastLineMs && timeMs <= options.nowMs);
      if (after.length < MIN_SAMPLES) continue;
      silentWithGpu.add(series.rank);
      const judged = finding(after);
      if (judged.meanPercent >= BUSY_PERCENT) busy.push(judged);
      continue;
    }
    if (options.runStatus !== 'running') continue;
    const window = series.points.filter(([timeMs]) => timeMs > options.nowMs - IDLE_WINDOW_MS && timeMs <= options.nowMs);
    if (window.length < MIN_SAMPLES || window[window.length - 1]![0] - window[0]![0] < IDLE_WINDOW_MS / 2) continue;
    const judged = finding(window);
    if (Math.max(...window.map(([, value]) => value)) < IDLE_PERCENT) idle.push(judged);
  }
  if (busy.length > 0) {
    const busyRanks = new Set(busy.map((finding) => finding.rank));
    const everySilentBusy = [...silentWithGpu].every((rank) => busyRanks.has(rank));
    if (options.runStatus === 'hung' && everySilentBusy) {
      return {
        kind: 'nccl_deadlock',
        summary:
          `The run is hung, yet the GPU${busy.length === 1 ? '' : 's'} of ${rankList([...busyRanks])} read ${percentRange(busy)} busy since ${busyRanks.size === 1 ? 'it' : 'they'} went silent: ` +
          'the NCCL-deadlock signature (a collective waiting for a peer keeps the GPU spinning, so utilization alone looks healthy). ' +
          'Dump every rank\'s stacks (py-spy dump --pid) to see which collective each one waits in.',
        findings: busy,
      };
    }
    return {
      kind: 'busy_silent_rank',
      summary:
        `${rankList([...busyRanks])} stopped logging while ${busy.length === 1 ? 'its GPU reads' : 'their GPUs read'} ${percentRange(busy)} busy: ` +
        'stuck in a kernel or a collective, not crashed and not waiting on input.',
      findings: busy,
    };
  }
  if (idle.length > 0) {
    return {
      kind: 'idle_gpu',
      summary:
        `${rankList(idle.map((finding) => finding.rank))} ${idle.length === 1 ? 'keeps' : 'keep'} logging while ${idle.length === 1 ? 'its GPU has' : 'their GPUs have'} been under ${IDLE_PERCENT}% for ${IDLE_WINDOW_MS / 60_000} minutes: ` +
        'starved by the input pipeline, stuck on the CPU, or not running on the GPU it holds.',
      findings: idle,
    };
  }
  return null;
}
