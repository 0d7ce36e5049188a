// Per-rank metric series of one run: points appended as lines arrive, kept in growable typed arrays
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

/** One series of one rank. Time x values are nanoseconds since the epoch (as a double: ns precision is kept to ~256 ns, enough for a chart). */
export class PointSeries {
  readonly axis: SeriesAxis;
  private xs = new Float64Array(64);
  private values = new Float64Array(64);
  private count = 0;
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
    if (this.count === this.xs.length) {
      // Doubling, but never past the cap (10,240 points would otherwise sit in arrays of 16,384).
      const capacity = Math.min(this.count * 2, MAX_POINTS_PER_SERIES);
      const xs = new Float64Array(capacity);
      xs.set(this.xs);
      this.xs = xs;
      const values = new Float64Array(capacity);
      values.set(this.values);
      this.values = values;
    }
    const x = xs[xIndex]!;
    if (this.count > 0 && x < this.xs[this.count - 1]!) this.sorted = false;
    this.xs[this.count] = x;
    this.values[this.count] = value;
    this.count++;
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
      this.xs[kept] = this.xs[i]!;
      this.values[kept] = this.values[i]!;
      kept++;
    }
    this.count = kept;
    this.stride *= 2;
  }

  private sort(): void {
    if (this.sorted) return;
    const order = Array.from({ length: this.count }, (_, i) => i);
    const xs = this.xs;
    order.sort((a, b) => xs[a]! - xs[b]! || a - b);
    const newXs = new Float64Array(this.xs.length);
    const newValues = new Float64Array(this.values.length);
    for (let i = 0; i < this.count; i++) {
      newXs[i] = xs[order[i]!]!;
      newValues[i] = this.values[order[i]!]!;
    }
    this.xs = newXs;
    this.values = newValues;
    this.sorted = true;
  }

  /** Points in x order; more than `maxPoints` are thinned evenly (first and last kept). */
  points(maxPoints: number): Array<[number, number]> {
    this.sort();
    const out: Array<[number, number]> = [];
    if (this.count <= maxPoints) {
      for (let i = 0; i < this.count; i++) out.push([this.xs[i]!, this.values[i]!]);
      return out;
    }
    const stride = (this.count - 1) / (maxPoints - 1);
    for (let k = 0; k < maxPoints; k++) {
      const i = Math.round(k * stride);
      out.push([this.xs[i]!, this.values[i]!]);
    }
    return out;
  }

  /** The first point (in x order) whose value is NaN or infinite. */
  firstNonFinite(): [number, number] | undefined {
    this.sort();
    for (let i = 0; i < this.count; i++) if (!Number.isFinite(this.values[i]!)) return [this.xs[i]!, this.values[i]!];
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
