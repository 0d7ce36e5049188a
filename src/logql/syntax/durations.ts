// Duration and byte-size literals as Loki reads and prints them. The durations live in
// src/duration (the one parser, shared with config files and request parameters); byte sizes are
// LogQL's own.

export {
  DurationSyntaxError,
  formatGoDuration,
  formatPrometheusDuration,
  parseGoDuration,
  parseLokiDuration,
  parsePrometheusDuration,
} from '../../duration/duration.ts';

// ---------------------------------------------------------------------------------------------------
// Byte sizes (go-humanize): kB/KB = 1000, KiB = 1024; a bare number means bytes.

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  kib: 1024,
  ki: 1024,
  kb: 1000,
  k: 1000,
  mib: 1024 ** 2,
  mi: 1024 ** 2,
  mb: 1000 ** 2,
  m: 1000 ** 2,
  gib: 1024 ** 3,
  gi: 1024 ** 3,
  gb: 1000 ** 3,
  g: 1000 ** 3,
  tib: 1024 ** 4,
  ti: 1024 ** 4,
  tb: 1000 ** 4,
  t: 1000 ** 4,
  pib: 1024 ** 5,
  pi: 1024 ** 5,
  pb: 1000 ** 5,
  p: 1000 ** 5,
  eib: 1024 ** 6,
  ei: 1024 ** 6,
  eb: 1000 ** 6,
  e: 1000 ** 6,
};

/** go-humanize `ParseBytes`: `42kB`, `13 MiB`, `2.5KiB`, `10`. Returns undefined when not a size. */
export function parseByteSize(text: string): number | undefined {
  const match = /^([0-9.,]*)\s*([A-Za-z]*)\s*$/.exec(text);
  if (match === null) return undefined;
  const numberText = (match[1] ?? '').replaceAll(',', '');
  if (numberText === '' || !/^(\d+\.?\d*|\.\d+)$/.test(numberText)) return undefined;
  const unit = BYTE_UNITS[(match[2] ?? '').toLowerCase()];
  if (unit === undefined) return undefined;
  const value = Number(numberText) * unit;
  if (!Number.isFinite(value) || value >= 2 ** 64) return undefined;
  return Math.floor(value);
}

const SI_SUFFIXES = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];

/**
 * go-humanize `Bytes` with spaces removed, as Loki prints bytes filters (`10GB`, `2.6kB`). Humanize
 * rounds to one decimal, which can change the value; then we print the exact count (`2560B`) so the
 * printed query always means what was parsed.
 */
export function formatByteSize(bytes: number): string {
  let text: string;
  if (bytes < 10) text = `${bytes}B`;
  else {
    const exponent = Math.floor(Math.log(bytes) / Math.log(1000));
    const value = Math.floor((bytes / 1000 ** exponent) * 10 + 0.5) / 10;
    text = `${value < 10 ? value.toFixed(1) : value.toFixed(0)}${SI_SUFFIXES[exponent] ?? 'EB'}`;
  }
  return parseByteSize(text) === bytes ? text : `${bytes}B`;
}
