// Per-rank metric series of one run: points appended as lines arrive, kept in typed-array chunks
// (16 bytes a point), keyed by step when the line had one and by time otherwise. Reads sort lazily
// (arrival order is usually log order) and thin long series to a point budget.

export type SeriesAxis = 'step' | 'time';

/**
 * Points kept per series of one rank before it is thinned by half (16 bytes a point: 160 KB). The API
 * answers 5,000 points per rank by default, which a thinned series still holds (5,120 to 10,240
 * points); a 10M-step run keeps every 2,048th or so, non-finite values always. At 262,144 (4 MB per
 * series and rank) the tracker held ~130 MB of the server's 470 MB peak RSS on the 244 MB, 8-rank
 * bench log (bench/ingest-flush-bench.ts, heap snapshot); at 16,384 (arrays of 256 KB) ~13 MB.
 */
export const MAX_POINTS_PER_SERIES = 10_240;

const SCRATCH_POINT = new Float64Array(2);

/**
 * A series' points live in chunks of this many, filled in turn and kept once made (a halved series
 * refills the same chunks); only the first grows to it, from 64 points, so a short series stays
 * small. Growing one array by doubling up to the cap left ~260 KB of garbage backing stores per
 * long series (64 long series on the 244 MB bench log: ~17 MB, freed only by full collections).
 */
const CHUNK_SHIFT = 10;
const CHUNK_POINTS = 1 << CHUNK_SHIFT;
const FIRST_CHUNK_POINTS = 64;

/** Powers of ten a packed decimal divides by (each exact as a double). */
const DECIMAL_SCALES = Array.from({ length: 16 }, (_, k) => 10 ** k);
/** Mantissas of packed decimals stay below this, so mantissa × 16 + scale fits an int32. */
const MAX_MANTISSA = 2 ** 27;

/**
 * A value as an int32 `m × 16 + k` that gives it back exactly as m / 10^k (k ≤ 15), or NaN when
 * there is none (too many digits, non-finite, -0). Values parsed from log text are mostly short
 * decimals (8.7983, 1.5e-7, 43770): packed they take 4 bytes instead of 8.
 */
export function packDecimal(value: number): number {
  if (!(Math.abs(value) < MAX_MANTISSA) || (value === 0 && 1 / value < 0)) return Number.NaN;
  for (let k = 0; k < DECIMAL_SCALES.length; k++) {
    const scaled = value * DECIMAL_SCALES[k]!;
    if (!(Math.abs(scaled) < MAX_MANTISSA)) return Number.NaN;
    const mantissa = Math.round(scaled);
    if ((k === 0 ? mantissa : mantissa / DECIMAL_SCALES[k]!) === value) return mantissa * 16 + k;
  }
  return Number.NaN;
}

export function unpackDecimal(packed: number): number {
  const scale = packed & 15;
  const mantissa = packed >> 4;
  return scale === 0 ? mantissa : mantissa / DECIMAL_SCALES[scale]!;
}

/**
 * One coordinate of a series' points (x or value), in chunks: narrow (an int32 a point: an integer
 * x such as a step, or a packed decimal value) until a point does not fit, then wide (a double a
 * point) for good. Narrow halves the memory of most series: on the 244 MB bench log, the tracker's
 * series went from ~8.5 to ~5 MB (bench/training-tracker-cpu.ts --memory).
 */
class PointColumn {
  /** Chunks while narrow (undefined once wide), and once wide. */
  private narrow: Int32Array[] | undefined = [new Int32Array(FIRST_CHUNK_POINTS)];
  private wide: Float64Array[] | undefined;
  private readonly decimal: boolean;

  /** `decimal`: narrow points are packed decimals, else integers. */
  constructor(decimal: boolean, wide: boolean) {
    this.decimal = decimal;
    if (wide) this.widen();
  }

  get(index: number): number {
    const chunk = index >>> CHUNK_SHIFT;
    const at = index & (CHUNK_POINTS - 1);
    const narrow = this.narrow;
    if (narrow === undefined) return this.wide![chunk]![at]!;
    const raw = narrow[chunk]![at]!;
    return this.decimal ? unpackDecimal(raw) : raw;
  }

  set(index: number, value: number): void {
    const chunk = index >>> CHUNK_SHIFT;
    const at = index & (CHUNK_POINTS - 1);
    const narrow = this.narrow;
    if (narrow !== undefined) {
      const raw = this.decimal ? packDecimal(value) : (value | 0) === value && (value !== 0 || 1 / value > 0) ? value : Number.NaN;
      if (raw === raw) {
        narrow[chunk]![at] = raw;
        return;
      }
      this.widen();
    }
    this.wide![chunk]![at] = value;
  }

  /** Point `from`'s stored form copied to `to` (no decoding). */
  move(from: number, to: number): void {
    const chunks = this.narrow ?? this.wide!;
    chunks[to >>> CHUNK_SHIFT]![to & (CHUNK_POINTS - 1)] = chunks[from >>> CHUNK_SHIFT]![from & (CHUNK_POINTS - 1)]!;
  }

  /** The stored forms of points [0, count), and back (see sort). */
  copyOut(count: number): Int32Array | Float64Array {
    const out = this.narrow !== undefined ? new Int32Array(count) : new Float64Array(count);
    const chunks = this.narrow ?? this.wide!;
    for (let i = 0; i < count; i++) out[i] = chunks[i >>> CHUNK_SHIFT]![i & (CHUNK_POINTS - 1)]!;
    return out;
  }

  copyIn(stored: Int32Array | Float64Array, order: number[]): void {
    const chunks = this.narrow ?? this.wide!;
    for (let i = 0; i < order.length; i++) chunks[i >>> CHUNK_SHIFT]![i & (CHUNK_POINTS - 1)] = stored[order[i]!]!;
  }

  /** Makes point `index` storable: its chunk made, or the first one grown (doubling up to CHUNK_POINTS). */
  reserve(index: number): void {
    const chunk = index >>> CHUNK_SHIFT;
    const at = index & (CHUNK_POINTS - 1);
    const narrow = this.narrow;
    if (narrow !== undefined) {
      const old = narrow[chunk];
      if (old !== undefined && at < old.length) return;
      const grown = new Int32Array(old === undefined ? CHUNK_POINTS : Math.min(old.length * 2, CHUNK_POINTS));
      if (old !== undefined) grown.set(old);
      narrow[chunk] = grown;
      return;
    }
    const wide = this.wide!;
    const old = wide[chunk];
    if (old !== undefined && at < old.length) return;
    const grown = new Float64Array(old === undefined ? CHUNK_POINTS : Math.min(old.length * 2, CHUNK_POINTS));
    if (old !== undefined) grown.set(old);
    wide[chunk] = grown;
  }

  /** From narrow to wide: every chunk as doubles, same lengths. */
  private widen(): void {
    const narrow = this.narrow!;
    this.wide = narrow.map((chunk) => {
      const wide = new Float64Array(chunk.length);
      for (let i = 0; i < chunk.length; i++) wide[i] = this.decimal ? unpackDecimal(chunk[i]!) : chunk[i]!;
      return wide;
    });
    this.narrow = undefined;
  }
}

/** One series of one rank. Time x values are nanoseconds since the epoch (as a double: ns precision is kept to ~256 ns, enough for a chart). */
export class PointSeries {
  readonly axis: SeriesAxis;
  /** Steps are integers (narrow until one is not); times are not. */
  private readonly xs: PointColumn;
  private readonly values = new PointColumn(true, false);
  private count = 0;
  /** The x of the newest point (index count - 1): a point below it unsorts the series. */
  private lastX = 0;
  private sorted = true;
  /** Keep one point in `stride` once the series has been halved (memory stays bounded on long runs). */
  private stride = 1;
  /** stride − 1: the stride is a power of two, and a mask spares the division of `%` (two a value on thinned series). */
  private strideMask = 0;
  private skipped = 0;

  constructor(axis: SeriesAxis) {
    this.axis = axis;
    this.xs = new PointColumn(false, axis === 'time');
  }

  get length(): number {
    return this.count;
  }

  add(x: number, value: number): void {
    SCRATCH_POINT[0] = x;
    SCRATCH_POINT[1] = value;
    this.addAt(SCRATCH_POINT, 0, SCRATCH_POINT, 1);
  }

  /**
   * Adds the point (`xs[xIndex]`, `values[valueIndex]`). The ingest path hands its numbers over in
   * typed arrays: passed as arguments to a call that is not inlined, each double was boxed (most of
   * the tracker's garbage per line, bench/training-tracker-cpu.ts).
   */
  addAt(xs: Float64Array, xIndex: number, values: Float64Array, valueIndex: number): void {
    const value = values[valueIndex]!;
    if (this.stride > 1 && (++this.skipped & this.strideMask) !== 0 && Number.isFinite(value)) return;
    if (this.count === MAX_POINTS_PER_SERIES) this.halve();
    const count = this.count;
    // Storage grows within the first chunk and at each chunk's first point; elsewhere it is there.
    if (count < CHUNK_POINTS || (count & (CHUNK_POINTS - 1)) === 0) {
      this.xs.reserve(count);
      this.values.reserve(count);
    }
    const x = xs[xIndex]!;
    if (count > 0 && x < this.lastX) this.sorted = false;
    this.xs.set(count, x);
    this.values.set(count, value);
    this.lastX = x;
    this.count = count + 1;
  }

  private xAt(index: number): number {
    return this.xs.get(index);
  }

  private valueAt(index: number): number {
    return this.values.get(index);
  }

  /**
   * Whether the next finite point would be kept (the thinning stride), without taking it: a caller
   * that knows a value is finite and would be skipped need not read it (see skipFinite).
   */
  keepsNextFinite(): boolean {
    return ((this.skipped + 1) & this.strideMask) === 0;
  }

  /** Takes a finite point that keepsNextFinite() said is skipped: what addAt() does with it, without its value. */
  skipFinite(): void {
    this.skipped++;
  }

  /**
   * The point of a line's value `values[valueIndex]`: on a step series at the line's step `line[0]`
   * (none when `hasStep` is false), else at its time `line[1]`.
   */
  addLinePoint(hasStep: boolean, line: Float64Array, values: Float64Array, valueIndex: number): void {
    if (this.axis === 'step') {
      if (hasStep) this.addAt(line, 0, values, valueIndex);
    } else {
      this.addAt(line, 1, values, valueIndex);
    }
  }

  /** A point of a line: on a step series only when the line had a step, else at its time. */
  addPoint(step: number | undefined, timeNs: number, value: number): void {
    if (this.axis === 'step') {
      if (step !== undefined) this.add(step, value);
    } else {
      this.add(timeNs, value);
    }
  }

  /**
   * Drops every other point (in arrival order, first kept) and keeps one new point in twice as many
   * from now on. Not in x order: sorting first made halving most of the tracker's series cost when
   * points arrive slightly out of order (pushes in flight).
   */
  private halve(): void {
    let kept = 0;
    for (let i = 0; i < this.count; i += 2) {
      this.xs.move(i, kept);
      this.values.move(i, kept);
      kept++;
    }
    this.count = kept;
    this.lastX = this.xAt(kept - 1);
    this.stride *= 2;
    this.strideMask = this.stride - 1;
  }

  private sort(): void {
    if (this.sorted) return;
    const xs = Float64Array.from({ length: this.count }, (_, i) => this.xAt(i));
    const order = Array.from({ length: this.count }, (_, i) => i);
    order.sort((a, b) => xs[a]! - xs[b]! || a - b);
    this.xs.copyIn(this.xs.copyOut(this.count), order);
    this.values.copyIn(this.values.copyOut(this.count), order);
    this.lastX = xs[order[this.count - 1]!]!;
    this.sorted = true;
  }

  /** Points in x order; more than `maxPoints` are thinned evenly (first and last kept). */
  points(maxPoints: number): Array<[number, number]> {
    this.sort();
    const out: Array<[number, number]> = [];
    if (this.count <= maxPoints) {
      for (let i = 0; i < this.count; i++) out.push([this.xAt(i), this.valueAt(i)]);
      return out;
    }
    const stride = (this.count - 1) / (maxPoints - 1);
    for (let k = 0; k < maxPoints; k++) {
      const i = Math.round(k * stride);
      out.push([this.xAt(i), this.valueAt(i)]);
    }
    return out;
  }

  /** The first point (in x order) whose value is NaN or infinite. */
  firstNonFinite(): [number, number] | undefined {
    this.sort();
    for (let i = 0; i < this.count; i++) if (!Number.isFinite(this.valueAt(i))) return [this.xAt(i), this.valueAt(i)];
    return undefined;
  }
}

/** At most this many distinct series names per run: the generic fallback must not turn prose into thousands of series. */
export const MAX_SERIES_NAMES_PER_RUN = 256;

export class RunSeries {
  /** name → rank → series. */
  private readonly byName = new Map<string, Map<number, PointSeries>>();

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  ranksOf(name: string): number[] {
    return [...(this.byName.get(name)?.keys() ?? [])].sort((a, b) => a - b);
  }

  get(name: string, rank: number): PointSeries | undefined {
    return this.byName.get(name)?.get(rank);
  }

  /** Adds a point; the series' axis is fixed by its first point (a step series ignores stepless points). */
  add(name: string, rank: number, step: number | undefined, timeNs: number, value: number): void {
    this.seriesFor(name, rank, step !== undefined)?.addPoint(step, timeNs, value);
  }

  /**
   * The series of `name` for `rank`, created (on the step axis when `hasStep`) if it is new; undefined
   * past MAX_SERIES_NAMES_PER_RUN. Names are never removed, so a caller may keep the answer.
   */
  seriesFor(name: string, rank: number, hasStep: boolean): PointSeries | undefined {
    let ranks = this.byName.get(name);
    if (ranks === undefined) {
      if (this.byName.size >= MAX_SERIES_NAMES_PER_RUN) return undefined;
      ranks = new Map();
      this.byName.set(name, ranks);
    }
    let series = ranks.get(rank);
    if (series === undefined) {
      series = new PointSeries(hasStep ? 'step' : 'time');
      ranks.set(rank, series);
    }
    return series;
  }
}
