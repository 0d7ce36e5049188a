// The one duration parser. Three grammars, as the systems we mirror use them:
// - Prometheus' `model.ParseDuration`: integer counts of y, w, d, h, m, s, ms, biggest unit first
//   (`1h30m`, `7d`). LogQL `[range]` windows.
// - Go's `time.ParseDuration`: fractions, ns/us/µs, a sign (`-1.5h`, `300ms`). LogQL elsewhere
//   (`offset`, duration label filters) after the Prometheus grammar (parseLokiDuration).
// - Config files and request parameters (parseDurationMs): a number of seconds (`30`, `1.5`), as
//   docs/config.md promises, or either grammar above. Every config section (server, store, ruler,
//   rule files) and every duration parameter (`step`, `since`, ruler `step`) reads this one.
// Values are nanoseconds as bigint so nothing is lost; parseDurationMs rounds to milliseconds.

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;
const NS_PER_M = 60n * NS_PER_S;
const NS_PER_H = 60n * NS_PER_M;
const NS_PER_D = 24n * NS_PER_H;
const NS_PER_W = 7n * NS_PER_D;
const NS_PER_Y = 365n * NS_PER_D;
const MAX_INT64 = (1n << 63n) - 1n;

/** Units of the Prometheus grammar, biggest first; `rank` enforces that order. */
const PROMETHEUS_UNITS: Record<string, { ns: bigint; rank: number }> = {
  y: { ns: NS_PER_Y, rank: 7 },
  w: { ns: NS_PER_W, rank: 6 },
  d: { ns: NS_PER_D, rank: 5 },
  h: { ns: NS_PER_H, rank: 4 },
  m: { ns: NS_PER_M, rank: 3 },
  s: { ns: NS_PER_S, rank: 2 },
  ms: { ns: NS_PER_MS, rank: 1 },
};

const GO_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1000n,
  'µs': 1000n, // U+00B5 micro sign
  'μs': 1000n, // U+03BC Greek mu
  ms: NS_PER_MS,
  s: NS_PER_S,
  m: NS_PER_M,
  h: NS_PER_H,
};

export class DurationSyntaxError extends Error {}

function isDigit(ch: string | undefined): boolean {
  return ch !== undefined && ch >= '0' && ch <= '9';
}

/** Prometheus `model.ParseDuration`: `1h30m`, `5m`, `1y`; throws with Prometheus' message. */
export function parsePrometheusDuration(text: string): bigint {
  if (text === '') throw new DurationSyntaxError('empty duration string');
  if (text === '0') return 0n;
  let rest = text;
  let totalNs = 0n;
  let lastRank = Number.POSITIVE_INFINITY;
  while (rest !== '') {
    if (!isDigit(rest[0])) throw new DurationSyntaxError(`not a valid duration string: ${JSON.stringify(text)}`);
    let i = 0;
    while (i < rest.length && isDigit(rest[i])) i++;
    const count = BigInt(rest.slice(0, i));
    rest = rest.slice(i);
    let j = 0;
    while (j < rest.length && !isDigit(rest[j])) j++;
    if (j === 0) throw new DurationSyntaxError(`not a valid duration string: ${JSON.stringify(text)}`);
    const unitText = rest.slice(0, j);
    rest = rest.slice(j);
    const unit = PROMETHEUS_UNITS[unitText];
    if (unit === undefined) {
      throw new DurationSyntaxError(`unknown unit ${goQuoteAscii(unitText)} in duration ${goQuoteAscii(text)}`);
    }
    if (unit.rank >= lastRank) throw new DurationSyntaxError(`not a valid duration string: ${JSON.stringify(text)}`);
    lastRank = unit.rank;
    totalNs += count * unit.ns;
    if (totalNs > MAX_INT64) throw new DurationSyntaxError('duration out of range');
  }
  return totalNs;
}

// The unit and input here are short ASCII-ish fragments; JSON quoting matches Go's %q for them.
function goQuoteAscii(text: string): string {
  return JSON.stringify(text);
}

/** Go `time.ParseDuration`: `-1.5h`, `300ms`, `1h15m30.918273645s`. */
export function parseGoDuration(text: string): bigint {
  let rest = text;
  let negative = false;
  if (rest[0] === '-' || rest[0] === '+') {
    negative = rest[0] === '-';
    rest = rest.slice(1);
  }
  if (rest === '0') return 0n;
  if (rest === '') throw new DurationSyntaxError(`time: invalid duration ${JSON.stringify(text)}`);
  let totalNs = 0n;
  while (rest !== '') {
    let i = 0;
    while (i < rest.length && isDigit(rest[i])) i++;
    const whole = rest.slice(0, i);
    rest = rest.slice(i);
    let fraction = '';
    if (rest[0] === '.') {
      let k = 1;
      while (k < rest.length && isDigit(rest[k])) k++;
      fraction = rest.slice(1, k);
      rest = rest.slice(k);
    }
    if (whole === '' && fraction === '') throw new DurationSyntaxError(`time: invalid duration ${JSON.stringify(text)}`);
    let u = 0;
    while (u < rest.length && rest[u] !== '.' && !isDigit(rest[u])) u++;
    if (u === 0) throw new DurationSyntaxError(`time: missing unit in duration ${JSON.stringify(text)}`);
    const unitNs = GO_UNITS[rest.slice(0, u)];
    if (unitNs === undefined) {
      throw new DurationSyntaxError(`time: unknown unit ${JSON.stringify(rest.slice(0, u))} in duration ${JSON.stringify(text)}`);
    }
    rest = rest.slice(u);
    let partNs = BigInt(whole === '' ? '0' : whole) * unitNs;
    if (fraction !== '') partNs += (BigInt(fraction) * unitNs) / 10n ** BigInt(fraction.length);
    totalNs += partNs;
    if (totalNs > MAX_INT64) throw new DurationSyntaxError(`time: invalid duration ${JSON.stringify(text)}`);
  }
  return negative ? -totalNs : totalNs;
}

/** Loki's duration literal rule outside `[range]`: Prometheus grammar first, then Go's. */
export function parseLokiDuration(text: string): bigint {
  try {
    return parsePrometheusDuration(text);
  } catch {
    return parseGoDuration(text);
  }
}

/** Prometheus `model.Duration.String()`: `5m`, `1h30m`, `1y`, `0s` (millisecond resolution). */
export function formatPrometheusDuration(durationNs: bigint): string {
  const negative = durationNs < 0n;
  let ms = (negative ? -durationNs : durationNs) / NS_PER_MS;
  if (ms === 0n) return '0s';
  let out = '';
  const take = (unit: string, unitMs: bigint, onlyIfExact: boolean): void => {
    if (onlyIfExact && ms % unitMs !== 0n) return;
    const count = ms / unitMs;
    if (count > 0n) {
      out += `${count}${unit}`;
      ms -= count * unitMs;
    }
  };
  // Years and weeks only when exact: 90d reads better than 12w6d.
  take('y', NS_PER_Y / NS_PER_MS, true);
  take('w', NS_PER_W / NS_PER_MS, true);
  take('d', NS_PER_D / NS_PER_MS, false);
  take('h', NS_PER_H / NS_PER_MS, false);
  take('m', NS_PER_M / NS_PER_MS, false);
  take('s', NS_PER_S / NS_PER_MS, false);
  take('ms', 1n, false);
  // Prometheus prints nothing useful for negative values; keep the sign so offsets round-trip.
  return negative ? `-${out}` : out;
}

function fractionDigits(value: bigint, digits: number): string {
  // `value` holds `digits` decimal places; trailing zeros are trimmed like Go does.
  const scale = 10n ** BigInt(digits);
  const whole = value / scale;
  const frac = (value % scale).toString().padStart(digits, '0').replace(/0+$/, '');
  return frac === '' ? whole.toString() : `${whole}.${frac}`;
}

/** Go `time.Duration.String()`: `1h15m30.918273645s`, `5m0s`, `250ms`, `1µs`, `0s`. */
export function formatGoDuration(durationNs: bigint): string {
  if (durationNs === 0n) return '0s';
  const negative = durationNs < 0n;
  const abs = negative ? -durationNs : durationNs;
  let out: string;
  if (abs < NS_PER_S) {
    if (abs < 1000n) out = `${abs}ns`;
    else if (abs < NS_PER_MS) out = `${fractionDigits(abs, 3)}µs`;
    else out = `${fractionDigits(abs, 6)}ms`;
  } else {
    const seconds = fractionDigits(abs % NS_PER_M, 9);
    const totalMinutes = abs / NS_PER_M;
    if (totalMinutes === 0n) out = `${seconds}s`;
    else {
      const hours = totalMinutes / 60n;
      const minutes = totalMinutes % 60n;
      out = hours > 0n ? `${hours}h${minutes}m${seconds}s` : `${minutes}m${seconds}s`;
    }
  }
  return negative ? `-${out}` : out;
}

export class DurationError extends DurationSyntaxError {
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

/** Plain seconds: `30`, `1.5`, `.5` (no sign, no exponent). */
const PLAIN_SECONDS = /^(\d+\.?\d*|\.\d+)$/;

/**
 * A duration in a config file or request parameter, to milliseconds: a number of seconds, a
 * Prometheus duration or a Go duration. Negative durations are refused. Throws DurationError
 * naming the text and the accepted forms.
 */
export function parseDurationMs(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '') throw new DurationError('empty duration: expected a number of seconds or a duration such as 500ms, 30s, 5m, 1h30m or 7d');
  if (PLAIN_SECONDS.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  let durationNs: bigint;
  try {
    durationNs = parseLokiDuration(trimmed);
  } catch {
    throw new DurationError(`not a valid duration string: ${JSON.stringify(text)} (expected a number of seconds or a duration such as 500ms, 30s, 5m, 1h30m or 7d)`);
  }
  if (durationNs < 0n) throw new DurationError(`not a valid duration string: ${JSON.stringify(text)} (must not be negative)`);
  const ms = Number(durationNs / NS_PER_MS) + Number(durationNs % NS_PER_MS) / 1e6;
  if (!Number.isSafeInteger(Math.round(ms))) throw new DurationError(`duration out of range: ${JSON.stringify(text)}`);
  return Math.round(ms);
}

/** Milliseconds as Prometheus prints a duration (`1h30m`, `90d`, `0s`). */
export function formatDurationMs(durationMs: number): string {
  return formatPrometheusDuration(BigInt(Math.round(durationMs)) * NS_PER_MS);
}
