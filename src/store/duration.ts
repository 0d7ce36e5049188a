// Go/Prometheus-style durations ("1h30m", "7d", "500ms", "2w"), as used in config files.

const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

export class DurationParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DurationParseError';
  }
}

/** Parses a duration to milliseconds. "0" is allowed alone; otherwise every number needs a unit. */
export function parseDurationMs(text: string): number {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  if (trimmed === '') throw new DurationParseError('empty duration');
  const pattern = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)/y;
  let offset = 0;
  let totalMs = 0;
  while (offset < trimmed.length) {
    pattern.lastIndex = offset;
    const match = pattern.exec(trimmed);
    if (match === null) {
      throw new DurationParseError(
        `invalid duration ${JSON.stringify(text)} at offset ${offset}: expected a number followed by ms, s, m, h, d, w or y`,
      );
    }
    totalMs += Number(match[1]) * UNIT_MS[match[2]!]!;
    offset = pattern.lastIndex;
  }
  return Math.round(totalMs);
}

/** Formats milliseconds in the largest whole units, e.g. 5400000 → "1h30m". */
export function formatDurationMs(durationMs: number): string {
  if (durationMs === 0) return '0s';
  let remaining = durationMs;
  let text = '';
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const size = UNIT_MS[unit]!;
    const count = Math.floor(remaining / size);
    if (count > 0) {
      text += `${count}${unit}`;
      remaining -= count * size;
    }
  }
  return text;
}
