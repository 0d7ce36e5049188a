// Prometheus durations as rule files and ruler config use them (model.Duration): "30s", "1h30m",
// "500ms", "2d", "1w", "1y", or "0". Parsed to milliseconds; printed back in the same form.

const UNIT_MS: ReadonlyArray<[unit: string, ms: number]> = [
  ['y', 365 * 86_400_000],
  ['w', 7 * 86_400_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
];
const UNIT_BY_NAME = new Map(UNIT_MS);

export class DurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationError';
  }
}

/** Parses a Prometheus duration; units must appear from largest to smallest, each at most once. */
export function parseDurationMs(text: string): number {
  if (text === '0') return 0;
  if (text === '') throw new DurationError('empty duration string');
  const pattern = /([0-9]+)(ms|y|w|d|h|m|s)/y;
  let offset = 0;
  let totalMs = 0;
  let lastUnitMs = Infinity;
  while (offset < text.length) {
    pattern.lastIndex = offset;
    const match = pattern.exec(text);
    if (match === null) throw new DurationError(`not a valid duration string: ${JSON.stringify(text)}`);
    const unitMs = UNIT_BY_NAME.get(match[2]!)!;
    if (unitMs >= lastUnitMs) throw new DurationError(`not a valid duration string: ${JSON.stringify(text)} (units out of order)`);
    lastUnitMs = unitMs;
    totalMs += Number(match[1]) * unitMs;
    offset = pattern.lastIndex;
  }
  if (!Number.isSafeInteger(totalMs)) throw new DurationError(`duration out of range: ${JSON.stringify(text)}`);
  return totalMs;
}

/** Prints milliseconds as Prometheus does, e.g. 5400000 → "1h30m", 0 → "0s". */
export function formatDurationMs(durationMs: number): string {
  if (durationMs === 0) return '0s';
  let remaining = durationMs;
  let text = '';
  for (const [unit, unitMs] of UNIT_MS) {
    const count = Math.floor(remaining / unitMs);
    if (count > 0) {
      text += `${count}${unit}`;
      remaining -= count * unitMs;
    }
  }
  return text;
}
