// What the tracker keeps of one rank of a run as its lines arrive: first and last line (the last
// kept unsliced, or as bytes until the push is done), line intervals for its median, progress and
// the last step, step → time samples for clock alignment across nodes, and its exit. Updated in O(1)
// a line; run-state.ts feeds it, run-analysis.ts reads it.

/** Recent line intervals kept per rank for its median (a ring). */
const INTERVAL_SAMPLES = 63;
/** Step → time samples kept per rank for clock alignment across nodes. */
const STEP_SAMPLES = 256;

/**
 * A log time as a double (to within 256 ns), as Number(timeNs) gives it but without its runtime
 * call (~25 ns a line, as much as the rest of a line's bookkeeping): the int64 is stored into a
 * scratch BigInt64Array and read back as two 32-bit halves, whose sum is rounded once, exactly as
 * Number() rounds.
 */
const SCRATCH_NS = new BigInt64Array(1);
const SCRATCH_HALVES = new Int32Array(SCRATCH_NS.buffer);
const HIGH_HALF = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function timeNumber(timeNs: bigint): number {
  if (timeNs < INT64_MIN || timeNs > INT64_MAX) return Number(timeNs);
  SCRATCH_NS[0] = timeNs;
  return SCRATCH_HALVES[HIGH_HALF]! * 4294967296 + (SCRATCH_HALVES[1 - HIGH_HALF]! >>> 0);
}

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
  lastNs = 0n;
  /**
   * firstNs, lastNs and lastProgressNs as doubles (to within 256 ns): a line is compared with these,
   * and BigInt comparison (a runtime call, most of the per-line bookkeeping) is left for the ties.
   * Rounding to double is monotonic, so a strict double comparison is exact.
   */
  private firstTime = 0;
  private lastTime = 0;
  private lastProgressTime = Number.NEGATIVE_INFINITY;
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
  private previousNs: bigint | undefined;
  lastProgressNs: bigint | undefined;
  maxStep: number | undefined;
  maxStepNs: bigint | undefined;
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

  /** The newest line (by log time) of the rank, without its `[rankN]:` prefix. */
  get lastLine(): string {
    this.settleLastLine();
    return restOf(this.lastBase, this.lastFrom);
  }

  /** A line of the rank: `base` from `from` on, logged at `timeNs` (LINE_X[1] holds Number(timeNs)). */
  noteLine(timeNs: bigint, base: string, from: number, isError: boolean): void {
    const time = LINE_X[1]!;
    if (this.lines === 0) {
      this.firstNs = timeNs;
      this.lastNs = timeNs;
      this.firstTime = time;
      this.lastTime = time;
      this.lastBase = base;
      this.lastFrom = from;
      this.lastSource = undefined;
    } else {
      if (time <= this.firstTime && (time < this.firstTime || timeNs < this.firstNs)) {
        this.firstNs = timeNs;
        this.firstTime = time;
      }
      if (time >= this.lastTime && (time > this.lastTime || timeNs >= this.lastNs)) {
        this.lastNs = timeNs;
        this.lastTime = time;
        this.lastBase = base;
        this.lastFrom = from;
        this.lastSource = undefined;
      }
    }
    this.countLine(timeNs, isError);
  }

  /** noteLine() for a line still in bytes, `source[start, end)`, its text from byte `start + from` on (`from` is its ASCII prefix). */
  noteRawLine(timeNs: bigint, source: Uint8Array, start: number, end: number, from: number, isError: boolean): void {
    const time = LINE_X[1]!;
    const newest = this.lines === 0 || (time >= this.lastTime && (time > this.lastTime || timeNs >= this.lastNs));
    if (this.lines === 0 || (time <= this.firstTime && (time < this.firstTime || timeNs < this.firstNs))) {
      this.firstNs = timeNs;
      this.firstTime = time;
    }
    if (newest) {
      this.lastNs = timeNs;
      this.lastTime = time;
      this.lastSource = source;
      this.lastStart = start;
      this.lastEnd = end;
      this.lastFrom = from;
    }
    this.countLine(timeNs, isError);
  }

  /** Decodes a newest line kept as bytes, so the rank holds no reference to a push body. */
  settleLastLine(): void {
    if (this.lastSource === undefined) return;
    this.lastBase = Buffer.from(this.lastSource.buffer, this.lastSource.byteOffset, this.lastSource.byteLength).toString('utf8', this.lastStart, this.lastEnd);
    this.lastSource = undefined;
  }

  private countLine(timeNs: bigint, isError: boolean): void {
    // Every 4th interval is enough for a median, and spares a BigInt subtraction on the others.
    if ((this.lines & 3) === 0 && this.previousNs !== undefined && timeNs > this.previousNs) {
      this.intervalsMs[this.intervalCount % INTERVAL_SAMPLES] = Number(timeNs - this.previousNs) / 1e6;
      this.intervalCount++;
    }
    this.previousNs = timeNs;
    this.lines++;
    if (isError) this.errorLines++;
  }

  /** Progress at `timeNs` (LINE_X[1] holds Number(timeNs)), at step LINE_X[0] when `hasStep`. */
  noteProgress(timeNs: bigint, hasStep: boolean): void {
    const time = LINE_X[1]!;
    if (time >= this.lastProgressTime && (this.lastProgressNs === undefined || time > this.lastProgressTime || timeNs > this.lastProgressNs)) {
      this.lastProgressNs = timeNs;
      this.lastProgressTime = time;
    }
    if (!hasStep) return;
    const step = LINE_X[0]!;
    if (this.maxStep === undefined || step > this.maxStep || (step === this.maxStep && timeNs > this.maxStepNs!)) {
      this.maxStep = step;
      this.maxStepNs = timeNs;
    }
    // Every 8th step is enough to align node clocks (all ranks keep the same ones), at an eighth of the map work.
    if ((step & 7) === 0 && !this.stepTimes.has(step)) {
      if (this.stepTimes.size >= STEP_SAMPLES) this.stepTimes.delete(this.stepTimes.keys().next().value!);
      this.stepTimes.set(step, timeNs);
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
