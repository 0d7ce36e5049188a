// A log time the tracker updates on every line, kept without a BigInt per line. On the server the
// push columns hold each timestamp as an int64 (RawStreamColumns.timestampWords: two 32-bit
// halves); reading one as a bigint allocated it, and that read was a fifth of the tracker's CPU in
// the server (the 244 MB bench log, bench/server-rss-ab.ts with --cpu-prof): the line's time is
// read as its two halves and a double instead, and a LogTime builds the bigint only when asked.
//
// A time is compared by its double first (rounding to double is monotonic, so a strict double
// comparison is exact) and by its halves, or bigints, only on a tie.

import { LITTLE_ENDIAN } from '../push/raw-push-stream.ts';

const SCRATCH_NS = new BigInt64Array(1);
const SCRATCH_HALVES = new Int32Array(SCRATCH_NS.buffer);
/** Index of the high half of an int64 in SCRATCH_HALVES (and in the columns' timestampWords pairs). */
export const HIGH_HALF = LITTLE_ENDIAN ? 1 : 0;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A log time as a double (to within 256 ns), as Number(timeNs) gives it but without its runtime
 * call (~25 ns a line, as much as the rest of a line's bookkeeping): the int64 is stored into a
 * scratch BigInt64Array and read back as two 32-bit halves, whose sum is rounded once, exactly as
 * Number() rounds.
 */
export function timeNumber(timeNs: bigint): number {
  if (timeNs < INT64_MIN || timeNs > INT64_MAX) return Number(timeNs);
  SCRATCH_NS[0] = timeNs;
  return wordsTime(SCRATCH_HALVES[HIGH_HALF]!, SCRATCH_HALVES[1 - HIGH_HALF]! >>> 0);
}

/** Number() of the int64 whose halves are `high` (signed) and `low` (unsigned): one rounding, as Number() rounds. */
export function wordsTime(high: number, low: number): number {
  return high * 4294967296 + low;
}

/** The int64 whose halves are `high` and `low`, as a bigint. */
export function wordsNs(high: number, low: number): bigint {
  SCRATCH_HALVES[HIGH_HALF] = high;
  SCRATCH_HALVES[1 - HIGH_HALF] = low;
  return SCRATCH_NS[0]!;
}

export class LogTime {
  /** Number(ns), to within 256 ns. */
  time = 0;
  /** The int64's halves; `high` is NaN when the time is outside int64 (only `big` holds it then). */
  private high = 0;
  private low = 0;
  /** The time as a bigint, undefined until asked after setWords. */
  private big: bigint | undefined = 0n;

  get ns(): bigint {
    if (this.big === undefined) this.big = wordsNs(this.high, this.low);
    return this.big;
  }

  /** Sets the time to `timeNs`; returns its double (timeNumber()), worked out on the way (a bigint comparison is a runtime call: two a line are enough). */
  set(timeNs: bigint): number {
    this.big = timeNs;
    if (timeNs < INT64_MIN || timeNs > INT64_MAX) {
      this.high = Number.NaN;
      return (this.time = Number(timeNs));
    }
    SCRATCH_NS[0] = timeNs;
    const high = SCRATCH_HALVES[HIGH_HALF]!;
    const low = SCRATCH_HALVES[1 - HIGH_HALF]! >>> 0;
    this.high = high;
    this.low = low;
    return (this.time = wordsTime(high, low));
  }

  setWords(time: number, high: number, low: number): void {
    this.time = time;
    this.high = high;
    this.low = low;
    this.big = undefined;
  }

  copy(other: LogTime): void {
    this.time = other.time;
    this.high = other.high;
    this.low = other.low;
    this.big = other.big;
  }

  /** The sign of this − `other`. */
  compareTo(other: LogTime): number {
    if (this.time !== other.time) return this.time > other.time ? 1 : -1;
    if (Number.isNaN(this.high) || Number.isNaN(other.high)) {
      const a = this.ns;
      const b = other.ns;
      return a > b ? 1 : a < b ? -1 : 0;
    }
    if (this.high !== other.high) return this.high > other.high ? 1 : -1;
    return this.low > other.low ? 1 : this.low < other.low ? -1 : 0;
  }

  /** Number(this − earlier) / 1e6, exactly as computed with bigints. */
  msSince(earlier: LogTime): number {
    if (Number.isNaN(this.high) || Number.isNaN(earlier.high)) return Number(this.ns - earlier.ns) / 1e6;
    // Each product and difference is exact; their sum is rounded once, as Number() of the bigint difference is.
    return ((this.high - earlier.high) * 4294967296 + (this.low - earlier.low)) / 1e6;
  }
}

/**
 * The time of the line being added, set once per line (from the push columns' halves, or from the
 * entry's bigint) and read by the tracker's methods, as LINE_X (rank-state.ts) hands its doubles.
 */
export const LINE_TIME = new LogTime();
