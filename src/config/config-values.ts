// Value types every config section shares, so a duration or a size reads the same wherever it is
// written: a duration is a number of seconds or text such as `500ms`, `30s`, `1h30m`, `7d` (the one
// parser in src/duration); a size is a byte count or text such as `256KB`, `4MiB` (KB and KiB both
// mean 1024, as Loki's defaults assume).

import { z } from 'zod';
import { parseDurationMs } from '../duration/duration.ts';

/** A duration to milliseconds: YAML numbers are seconds. */
export const durationMsSchema = z.union([z.string(), z.number()]).transform((value, context) => {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return value * 1000;
    context.addIssue({ code: 'custom', message: `expected a non-negative number of seconds, got ${value}` });
    return z.NEVER;
  }
  try {
    return parseDurationMs(value);
  } catch (error) {
    context.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3 };

/** A size to bytes. */
export const byteSizeSchema = z.union([z.string(), z.number()]).transform((value, context) => {
  if (typeof value === 'number') {
    if (Number.isInteger(value) && value >= 0) return value;
    context.addIssue({ code: 'custom', message: `expected a whole non-negative byte count, got ${value}` });
    return z.NEVER;
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const multiplier = match ? SIZE_UNITS[(match[2] || 'b').toLowerCase()] : undefined;
  if (match === null || multiplier === undefined) {
    context.addIssue({ code: 'custom', message: `invalid size ${JSON.stringify(value)}: expected e.g. 256KB, 4MiB or a byte count` });
    return z.NEVER;
  }
  return Math.round(Number(match[1]) * multiplier);
});
