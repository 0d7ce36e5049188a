// What the tracker keeps of one rank of a run as its lines arrive: first and last line (the last
// kept unsliced, or as bytes until the push is done), line intervals for its median, progress and
// the last step, step → time samples for clock alignment across nodes, and its exit. Updated in O(1)
// a line; run-state.ts feeds it, run-analysis.ts reads it.

import { LINE_TIME, LogTime } from './log-time.ts';

/** Recent line intervals kept per rank for its median (a ring). */
const INTERVAL_SAMPLES = 63;
/** Step → time samples kept per rank for clock alignment across nodes. */
const STEP_SAMPLES = 256;

/**
 * The step (NaN for none) and time (Number(timeNs)) of the line being added. Doubles handed between
 * the tracker's methods through this array rather than as arguments: an argument to a call that is
 * not inlined is boxed, and those boxes were most of the tracker's garbage (bench/training-tracker-cpu.ts,
 * heap sampling; in the server every MB of it is young-generation GC next to the pushes in flight).
 */
export const LINE_X = new Float64Array(2);

export class RankState {
  readonly rank: number;
  host: string | undefined;
  nodeRank: number | undefined;
  firstNs = 0n;
  /**
   * firstNs as a double (to within 256 ns): a line is compared with it, and BigInt comparison (a
   * runtime call) is left for the ties. Rounding to double is monotonic, so a strict double
   * comparison is exact. The times set on most lines are LogTimes (no bigint a line).
   */
  private firstTime = 0;
  private readonly last = new LogTime();
  private readonly lastProgress = new LogTime();
  private hasProgress = false;
  private readonly maxStepTime = new LogTime();
  /**
   * The newest line is `lastBase` from `lastFrom` on (kept unsliced: most lines are never asked for),
   * or, when it came as bytes, `lastSource[lastStart, lastEnd)` until settleLastLine() decodes it.
   */
  private lastBase = '';
  private lastFrom = 0;
  private lastSource: Uint8Array | undefined;
  private lastStart = 0;
  private lastEnd = 0;
  lines = 0;
  errorLines = 0;
  readonly intervalsMs = new Float64Array(INTERVAL_SAMPLES);
  intervalCount = 0;
  private readonly previous = new LogTime();
  maxStep: number | undefined;
  readonly stepTimes = new Map<number, bigint>();
  exitCode: number | null | undefined;
  exitSignal: string | null = null;
  exitNs: bigint | undefined;
  /** When `rankscope run`'s final entry for this rank was logged: a later line means a relaunch. */
  wrapperExitNs: bigint | undefined;
  pid: number | undefined;
  address: string | undefined;

  constructor(rank: number) {
    this.rank = rank;
  }

  /** The newest line's log time. */
  get lastNs(): bigint {
    return this.last.ns;
  }

  /** When the rank last made progress (a metric other than loss_scale/overflow), if it did. */
  get lastProgressNs(): bigint | undefined {
    return this.hasProgress ? this.lastProgress.ns : undefined;
  }

  /** When the rank logged maxStep. */
  get maxStepNs(): bigint | undefined {
    return this.maxStep === undefined ? undefined : this.maxStepTime.ns;
  }

  /** The newest line (by log time) of the rank, without its `[rankN]:` prefix. */
  get lastLine(): string {
    this.settleLastLine();
    return restOf(this.lastBase, this.lastFrom);
  }

  /** Takes the line's time (LINE_TIME) as first and last where it is; answers whether it is the newest. */
  private noteTimes(): boolean {
    const line = LINE_TIME;
    if (this.lines === 0 || (line.time <= this.firstTime && (line.time < this.firstTime || line.ns < this.firstNs))) {
      this.firstNs = line.ns;
      this.firstTime = line.time;
    }
    if (this.lines !== 0 && line.compareTo(this.last) < 0) return false;
    this.last.copy(line);
    return true;
  }

  /** A line of the rank at LINE_TIME: `base` from `from` on. */
  noteLine(base: string, from: number, isError: boolean): void {
    if (this.noteTimes()) {
      this.lastBase = base;
      this.lastFrom = from;
      this.lastSource = undefined;
    }
    this.countLine(isError);
  }

  /** noteLine() for a line still in bytes, `source[start, end)`, its text from byte `start + from` on (`from` is its ASCII prefix). */
  noteRawLine(source: Uint8Array, start: number, end: number, from: number, isError: boolean): void {
    if (this.noteTimes()) {
      this.lastSource = source;
      this.lastStart = start;
      this.lastEnd = end;
      this.lastFrom = from;
    }
    this.countLine(isError);
  }

  /** Decodes a newest line kept as bytes, so the rank holds no reference to a push body. */
  settleLastLine(): void {
    if (this.lastSource === undefined) return;
    this.lastBase = Buffer.from(this.lastSource.buffer, this.lastSource.byteOffset, this.lastSource.byteLength).toString('utf8', this.lastStart, this.lastEnd);
    this.lastSource = undefined;
  }

  private countLine(isError: boolean): void {
    // Every 4th interval is enough for a median.
    if ((this.lines & 3) === 0 && this.lines > 0 && LINE_TIME.compareTo(this.previous) > 0) {
      this.intervalsMs[this.intervalCount % INTERVAL_SAMPLES] = LINE_TIME.msSince(this.previous);
      this.intervalCount++;
    }
    // Only the line before an interval's is asked for.
    if ((this.lines & 3) === 3) this.previous.copy(LINE_TIME);
    this.lines++;
    if (isError) this.errorLines++;
  }

  /** Progress at LINE_TIME, at step LINE_X[0] when `hasStep`. */
  noteProgress(hasStep: boolean): void {
    const line = LINE_TIME;
    if (!this.hasProgress || line.compareTo(this.lastProgress) > 0) {
      this.lastProgress.copy(line);
      this.hasProgress = true;
    }
    if (!hasStep) return;
    const step = LINE_X[0]!;
    if (this.maxStep === undefined || step > this.maxStep || (step === this.maxStep && line.compareTo(this.maxStepTime) > 0)) {
      this.maxStep = step;
      this.maxStepTime.copy(line);
    }
    // Every 8th step is enough to align node clocks (all ranks keep the same ones), at an eighth of the map work.
    if ((step & 7) === 0 && !this.stepTimes.has(step)) {
      if (this.stepTimes.size >= STEP_SAMPLES) this.stepTimes.delete(this.stepTimes.keys().next().value!);
      this.stepTimes.set(step, line.ns);
    }
  }

  medianIntervalMs(): number | undefined {
    const count = Math.min(this.intervalCount, INTERVAL_SAMPLES);
    if (count === 0) return undefined;
    const sorted = Array.from(this.intervalsMs.subarray(0, count)).sort((a, b) => a - b);
    return sorted[Math.floor(count / 2)];
  }
}

/** The text of a line read in place: `base` from `from` on. */
export function restOf(base: string, from: number): string {
  return from === 0 ? base : base.slice(from);
}
