// Timestamp extraction from the start of a log line. Training logs carry either an RFC3339 stamp
// (structured loggers, Kubernetes), a Python `logging` stamp `2024-05-01 12:00:00,123` in the host's
// local time, or an epoch number. Wall-clock stamps without an offset are read in a configured IANA
// zone and converted to UTC with Intl, so the DST rules come from the platform's tz database.

export type TimestampFormat = 'auto' | 'rfc3339' | 'python' | 'epoch' | 'none';

export interface TimestampOptions {
  format: TimestampFormat;
  /** IANA zone for stamps that carry no offset, e.g. `Europe/Berlin`. Default UTC. */
  timeZone: string;
}

const NS_PER_MS = 1_000_000n;

// `2024-05-01T12:00:00.123456789Z`, `2024-05-01 12:00:00+02:00`, or no offset (then the zone applies).
const RFC3339_PATTERN = /^\[?(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}:?\d{2})?(?![\d])/;
// Python logging's default asctime: `%Y-%m-%d %H:%M:%S,%f` (milliseconds after a comma).
const PYTHON_PATTERN = /^\[?(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2}),(\d{3})(?![\d])/;
// Seconds, milliseconds, microseconds or nanoseconds since the epoch, by digit count.
const EPOCH_PATTERN = /^\[?(\d{10,19})(?:\.(\d{1,9}))?(?![\d])/;

export class TimeZoneError extends Error {
  constructor(zone: string) {
    super(`unknown time zone ${JSON.stringify(zone)} (expected an IANA name such as "UTC" or "Europe/Berlin")`);
    this.name = 'TimeZoneError';
  }
}

/** Throws TimeZoneError when Intl does not know the zone. */
export function checkTimeZone(zone: string): void {
  // UTC needs no Intl: its first use maps ICU's time zone data (~8 MB of RSS) into the process.
  if (zone === 'UTC' || zone === 'Etc/UTC') return;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
  } catch {
    throw new TimeZoneError(zone);
  }
}

const formatterByZone = new Map<string, Intl.DateTimeFormat>();

function formatterFor(zone: string): Intl.DateTimeFormat {
  let formatter = formatterByZone.get(zone);
  if (formatter === undefined) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatterByZone.set(zone, formatter);
  }
  return formatter;
}

/** Offset of `zone` from UTC at the instant `utcMs`, in ms (positive east of Greenwich). */
export function zoneOffsetMs(zone: string, utcMs: number): number {
  if (zone === 'UTC' || zone === 'Etc/UTC') return 0;
  const parts = formatterFor(zone).formatToParts(new Date(utcMs));
  const field = (type: string): number => Number(parts.find((part) => part.type === type)?.value ?? '0');
  const asUtcMs = Date.UTC(field('year'), field('month') - 1, field('day'), field('hour'), field('minute'), field('second'));
  return asUtcMs - Math.floor(utcMs / 1000) * 1000;
}

/** Converts a wall-clock time in `zone` to UTC ms. Two passes settle the offset across DST changes. */
export function wallClockToUtcMs(zone: string, wallClockAsUtcMs: number): number {
  const firstGuessMs = wallClockAsUtcMs - zoneOffsetMs(zone, wallClockAsUtcMs);
  return wallClockAsUtcMs - zoneOffsetMs(zone, firstGuessMs);
}

const POWERS_OF_TEN = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000];

/** `"25"` (of `.25`) → 250000000. Numbers, then one BigInt: BigInt(string) showed up in profiles. */
function fractionToNs(fraction: string | undefined): bigint {
  if (fraction === undefined || fraction === '') return 0n;
  return BigInt(Number(fraction) * POWERS_OF_TEN[9 - fraction.length]!);
}

function offsetToMs(offset: string): number {
  if (offset === 'Z') return 0;
  const sign = offset[0] === '-' ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
}

// Lines of one writer share their stamp's date-and-second part for a whole second; converting it
// (field parsing, zone lookup) once per distinct second keeps timestamp parsing off the profile.
let cachedSecondKey = '';
let cachedSecondUtcNs: bigint | undefined;

function fromFields(match: RegExpExecArray, fraction: string | undefined, offset: string | undefined, zone: string): bigint | undefined {
  const secondKey = `${match[1]}${match[2]}${match[3]}${match[4]}${match[5]}${match[6]}${offset ?? ''}|${zone}`;
  let secondNs: bigint | undefined;
  if (secondKey === cachedSecondKey) secondNs = cachedSecondUtcNs;
  else {
    let utcMs: number | undefined;
    const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((index) => Number(match[index]));
    if (month! >= 1 && month! <= 12 && day! >= 1 && day! <= 31 && hour! <= 23 && minute! <= 59 && second! <= 60) {
      const wallMs = Date.UTC(year!, month! - 1, day!, hour!, minute!, second!);
      utcMs = offset !== undefined ? wallMs - offsetToMs(offset) : wallClockToUtcMs(zone, wallMs);
    }
    secondNs = utcMs === undefined ? undefined : BigInt(utcMs) * NS_PER_MS;
    cachedSecondKey = secondKey;
    cachedSecondUtcNs = secondNs;
  }
  if (secondNs === undefined) return undefined;
  return fraction === undefined ? secondNs : secondNs + fractionToNs(fraction);
}

function parseEpoch(match: RegExpExecArray): bigint {
  const whole = match[1]!;
  const fraction = fractionToNs(match[2]);
  // 10 digits = seconds (until 2286), 13 = ms, 16 = µs, 19 = ns.
  if (whole.length <= 10) return BigInt(whole) * 1_000_000_000n + fraction;
  if (whole.length <= 13) return BigInt(whole) * 1_000_000n + fraction / 1000n;
  if (whole.length <= 16) return BigInt(whole) * 1000n;
  return BigInt(whole);
}

/**
 * Reads a timestamp at the start of `line` (an optional `[` is allowed). Returns UTC ns, or undefined
 * when the line does not start with a stamp of the configured format.
 */
export function parseLineTimestamp(line: string, options: TimestampOptions): bigint | undefined {
  const format = options.format;
  if (format === 'none') return undefined;
  if (format === 'epoch') {
    const match = EPOCH_PATTERN.exec(line);
    return match === null ? undefined : parseEpoch(match);
  }
  if (format === 'python' || format === 'auto') {
    const match = PYTHON_PATTERN.exec(line);
    if (match !== null) return fromFields(match, match[7], undefined, options.timeZone);
    if (format === 'python') return undefined;
  }
  const match = RFC3339_PATTERN.exec(line);
  if (match === null) return undefined;
  return fromFields(match, match[7], match[8], options.timeZone);
}

/** Parses a complete RFC3339 string (CRI and Docker json-file time fields). */
export function parseRfc3339Ns(text: string): bigint | undefined {
  const match = RFC3339_PATTERN.exec(text);
  if (match === null) return undefined;
  return fromFields(match, match[7], match[8] ?? 'Z', 'UTC');
}

/** Current time in ns, from a ms clock plus a per-process counter so successive calls never tie. */
let lastNowNs = 0n;
export function nowNs(): bigint {
  let now = BigInt(Date.now()) * NS_PER_MS;
  if (now <= lastNowNs) now = lastNowNs + 1n;
  lastNowNs = now;
  return now;
}
