// Time ranges as the user writes them ("now-1h", "now", an ISO date, epoch ms) and resolved to ns.
// The unresolved text lives in the URL, so a shared link with a relative range stays relative.

export interface TimeRangeText {
  from: string;
  to: string;
}

export interface ResolvedRange {
  fromMs: number;
  toMs: number;
}

const RELATIVE = /^now(?:\s*-\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w))?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export const RELATIVE_CHOICES: Array<{ label: string; from: string }> = [
  { label: 'Last 5 minutes', from: 'now-5m' },
  { label: 'Last 15 minutes', from: 'now-15m' },
  { label: 'Last 1 hour', from: 'now-1h' },
  { label: 'Last 3 hours', from: 'now-3h' },
  { label: 'Last 6 hours', from: 'now-6h' },
  { label: 'Last 24 hours', from: 'now-24h' },
  { label: 'Last 7 days', from: 'now-7d' },
];

/** Parses one end of a range; throws an Error naming the field and the accepted forms. */
export function parseTimeText(text: string, nowMs: number, field: string): number {
  const trimmed = text.trim();
  const relative = RELATIVE.exec(trimmed);
  if (relative) return relative[1] === undefined ? nowMs : nowMs - Number(relative[1]) * UNIT_MS[relative[2]];
  if (/^\d{12,14}$/.test(trimmed)) return Number(trimmed);
  const parsed = Date.parse(trimmed.includes('T') || trimmed.length <= 10 ? trimmed : trimmed.replace(' ', 'T'));
  if (!Number.isNaN(parsed)) return parsed;
  throw new Error(`${field}: cannot read "${text}"; use now, now-15m, now-6h, an epoch in ms or a date like 2026-11-21 10:00:00`);
}

export function resolveRange(range: TimeRangeText, nowMs = Date.now()): ResolvedRange {
  const fromMs = parseTimeText(range.from, nowMs, 'From');
  const toMs = parseTimeText(range.to, nowMs, 'To');
  if (fromMs >= toMs) throw new Error(`From (${range.from}) must be before To (${range.to})`);
  return { fromMs, toMs };
}

export const msToNs = (ms: number): bigint => BigInt(Math.round(ms)) * 1_000_000n;

/** Writes an absolute instant the way the picker shows it: local time, second precision. */
export function formatAbsolute(ms: number): string {
  const date = new Date(ms);
  const pad = (value: number): string => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** A step giving about `points` buckets over the range, rounded to a whole second (min 1 s). */
export function stepForRange(range: ResolvedRange, points: number): number {
  const rawMs = (range.toMs - range.fromMs) / points;
  return Math.max(1000, Math.ceil(rawMs / 1000) * 1000);
}
