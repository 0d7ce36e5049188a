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
 * A series' points live in chunks of this many (16 KB of xs and values), filled in turn and kept
 * once made (a halved series refills the same chunks); only the first grows to it, from 64 points,
 * so a short series stays small. Growing one array by doubling up to the cap left ~260 KB of
 * garbage backing stores per long series (64 long series on the 244 MB bench log: ~17 MB, freed
 * only by full collections), most of what tracking added to the server's peak RSS.
 */
const CHUNK_SHIFT = 10;
const CHUNK_POINTS = 1 << CHUNK_SHIFT;
const FIRST_CHUNK_POINTS = 64;

/** One series of one rank. Time x values are nanoseconds since the epoch (as a double: ns precision is kept to ~256 ns, enough for a chart). */
export class PointSeries {
  readonly axis: SeriesAxis;
  private xChunks: Float64Array[] = [new Float64Array(FIRST_CHUNK_POINTS)];
  private valueChunks: Float64Array[] = [new Float64Array(FIRST_CHUNK_POINTS)];
  private count = 0;
  /** The x of the newest point (index count - 1): a point below it unsorts the series. */
  private lastX = 0;
  private sorted = true;
  /** Keep one point in `stride` once the series has been halved (memory stays bounded on long runs). */
  private stride = 1;
  private skipped = 0;

  constructor(axis: SeriesAxis) {
    this.axis = axis;
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
    if (this.stride > 1 && ++this.skipped % this.stride !== 0 && Number.isFinite(value)) return;
    if (this.count === MAX_POINTS_PER_SERIES) this.halve();
    const count = this.count;
    const chunk = count >>> CHUNK_SHIFT;
    const at = count & (CHUNK_POINTS - 1);
    let chunkXs = this.xChunks[chunk];
    if (chunkXs === undefined || at === chunkXs.length) chunkXs = this.grow(chunk);
    const x = xs[xIndex]!;
    if (count > 0 && x < this.lastX) this.sorted = false;
    chunkXs[at] = x;
    this.valueChunks[chunk]![at] = value;
    this.lastX = x;
    this.count = count + 1;
  }

  /** The chunk `chunk` made or, the first, grown (doubling up to CHUNK_POINTS). */
  private grow(chunk: number): Float64Array {
    const old = this.xChunks[chunk];
    const capacity = old === undefined ? CHUNK_POINTS : Math.min(old.length * 2, CHUNK_POINTS);
    const xs = new Float64Array(capacity);
    const values = new Float64Array(capacity);
    if (old !== undefined) {
      xs.set(old);
      values.set(this.valueChunks[chunk]!);
    }
    this.xChunks[chunk] = xs;
    this.valueChunks[chunk] = values;
    return xs;
  }

  private xAt(index: number): number {
    return this.xChunks[index >>> CHUNK_SHIFT]![index & (CHUNK_POINTS - 1)]!;
  }

  private valueAt(index: number): number {
    return this.valueChunks[index >>> CHUNK_SHIFT]![index & (CHUNK_POINTS - 1)]!;
  }

  private setPoint(index: number, x: number, value: number): void {
    this.xChunks[index >>> CHUNK_SHIFT]![index & (CHUNK_POINTS - 1)] = x;
    this.valueChunks[index >>> CHUNK_SHIFT]![index & (CHUNK_POINTS - 1)] = value;
  }

  /**
   * Whether the next finite point would be kept (the thinning stride), without taking it: a caller
   * that knows a value is finite and would be skipped need not read it (see skipFinite).
   */
  keepsNextFinite(): boolean {
    return this.stride === 1 || (this.skipped + 1) % this.stride === 0;
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
      this.setPoint(kept, this.xAt(i), this.valueAt(i));
      kept++;
    }
    this.count = kept;
    this.lastX = this.xAt(kept - 1);
    this.stride *= 2;
  }

  private sort(): void {
    if (this.sorted) return;
    const xs = Float64Array.from({ length: this.count }, (_, i) => this.xAt(i));
    const values = Float64Array.from({ length: this.count }, (_, i) => this.valueAt(i));
    const order = Array.from({ length: this.count }, (_, i) => i);
    order.sort((a, b) => xs[a]! - xs[b]! || a - b);
    for (let i = 0; i < this.count; i++) this.setPoint(i, xs[order[i]!]!, values[order[i]!]!);
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
