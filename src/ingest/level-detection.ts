// Loki 3's `discover_log_levels`: every accepted entry gets a `detected_level` structured-metadata
// pair, which Grafana's logs volume (`sum by (level, detected_level)`) and Logs Drilldown colour and
// group by. Order of evidence, as Loki's distributor uses it: an existing `detected_level` (normalized
// in place), a level-ish stream label, a level-ish metadata pair, the OTLP severity number, a level
// field of a JSON or logfmt line, and finally keywords in the line; nothing found → `unknown`.

import type { LabelPair, Labels, PushStream } from '../push/types.ts';

export const DETECTED_LEVEL = 'detected_level';

/** Field names that carry a level, in priority order (Loki's defaults). */
const LEVEL_FIELDS = ['level', 'LEVEL', 'Level', 'log.level', 'severity', 'SEVERITY', 'Severity', 'SeverityText', 'lvl', 'LVL', 'Lvl', 'severity_text', 'Severity_Text', 'SEVERITY_TEXT'];
const LEVEL_FIELDS_LOWER = LEVEL_FIELDS.map((name) => name.toLowerCase());

const CANONICAL_LEVELS: Record<string, string> = {
  trace: 'trace',
  trc: 'trace',
  debug: 'debug',
  dbg: 'debug',
  info: 'info',
  inf: 'info',
  information: 'info',
  warn: 'warn',
  wrn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  critical: 'critical',
  fatal: 'fatal',
};

/** A known level spelled any way → its canonical name; anything else → undefined. */
function canonicalLevel(value: string): string | undefined {
  return value.length <= 11 ? CANONICAL_LEVELS[value.toLowerCase()] : undefined;
}

/**
 * Adds `detected_level` to every entry of the streams (setting each entry's metadata to a new array).
 * A stream with a level label shares one value for all its entries.
 */
export function addDetectedLevels(streams: PushStream[]): void {
  for (const stream of streams) {
    const fromLabel = levelOfPairs(labelPairsOf(stream.labels));
    for (const entry of stream.entries) {
      const metadata = entry.structuredMetadata;
      if (metadata !== undefined) {
        const index = metadata.findIndex((pair) => pair.name === DETECTED_LEVEL);
        if (index >= 0) {
          const level = canonicalLevel(metadata[index]!.value);
          if (level !== undefined && level !== metadata[index]!.value) entry.structuredMetadata = metadata.map((pair, i) => (i === index ? { name: DETECTED_LEVEL, value: level } : pair));
          continue;
        }
      }
      const level = fromLabel ?? (metadata !== undefined && metadata.length > 0 ? levelOfMetadata(metadata) : undefined) ?? detectLevelOfLine(entry.line);
      const pair: LabelPair = { name: DETECTED_LEVEL, value: level };
      // A new array: the caller's entry objects may share theirs.
      entry.structuredMetadata = metadata === undefined ? [pair] : [...metadata, pair];
    }
  }
}

function labelPairsOf(labels: Labels): LabelPair[] | undefined {
  let pairs: LabelPair[] | undefined;
  for (const name of LEVEL_FIELDS) {
    const value = labels[name];
    if (value !== undefined) (pairs ??= []).push({ name, value });
  }
  return pairs;
}

function levelOfPairs(pairs: LabelPair[] | undefined): string | undefined {
  if (pairs === undefined || pairs.length === 0) return undefined;
  const value = pairs[0]!.value;
  return canonicalLevel(value) ?? value;
}

function levelOfMetadata(metadata: LabelPair[]): string | undefined {
  for (const name of LEVEL_FIELDS) {
    const pair = metadata.find((candidate) => candidate.name === name);
    if (pair !== undefined) return canonicalLevel(pair.value) ?? pair.value;
  }
  const severity = metadata.find((pair) => pair.name === 'severity_number');
  if (severity !== undefined) return levelOfOtlpSeverity(severity.value);
  return undefined;
}

/** OpenTelemetry SeverityNumber ranges: 1–4 trace, 5–8 debug, 9–12 info, 13–16 warn, 17–20 error, 21–24 fatal. */
function levelOfOtlpSeverity(text: string): string {
  const severity = Number(text);
  if (!Number.isInteger(severity)) return 'info';
  if (severity <= 0 || severity > 24) return 'unknown';
  return (['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const)[Math.floor((severity - 1) / 4)]!;
}

/** The level of one line: a level field of a JSON or logfmt line, else keywords, else `unknown`. */
export function detectLevelOfLine(line: string): string {
  let value: string | undefined;
  if (looksLikeJson(line)) value = levelOfJson(line);
  else if (line.includes('=')) value = levelOfLogfmt(line);
  if (value !== undefined) {
    const level = canonicalLevel(value);
    if (level !== undefined) return level;
  }
  return levelOfKeywords(line);
}

function looksLikeJson(line: string): boolean {
  const first = line.trimStart();
  return first.startsWith('{') && line.trimEnd().endsWith('}');
}

const KEY_ALTERNATION = LEVEL_FIELDS.map((name) => name.replace('.', '\\.')).join('|');
/** `"level": "warn"` anywhere in a JSON object (a string value; Loki reads levels only from strings). */
const JSON_LEVEL = new RegExp(`"(${KEY_ALTERNATION})"\\s*:\\s*"([^"\\\\]*)"`, 'g');
/** `level=warn` / `Level="warn"` at the start of a logfmt pair; keys compare case-insensitively. */
const LOGFMT_LEVEL = new RegExp(`(?:^|\\s)(${KEY_ALTERNATION})=(?:"([^"\\\\]*)"|([^\\s"]*))`, 'gi');

/**
 * The level field's value, scanned with one regex instead of parsing the line: at ingest this runs for
 * every entry. JSON takes the first level key in document order; logfmt the highest-priority key.
 */
function levelOfJson(line: string): string | undefined {
  JSON_LEVEL.lastIndex = 0;
  return JSON_LEVEL.exec(line)?.[2];
}

function levelOfLogfmt(line: string): string | undefined {
  let best = LEVEL_FIELDS_LOWER.length;
  let value: string | undefined;
  LOGFMT_LEVEL.lastIndex = 0;
  for (let match = LOGFMT_LEVEL.exec(line); match !== null; match = LOGFMT_LEVEL.exec(line)) {
    const rank = LEVEL_FIELDS_LOWER.indexOf(match[1]!.toLowerCase());
    if (rank < best) {
      best = rank;
      value = match[2] ?? match[3] ?? '';
      if (rank === 0) break;
    }
  }
  return value;
}

/** Every keyword below in one pass: most lines without a level field have none of them. */
const ANY_KEYWORD = /info|INFO|err:|ERR:|\[err\]|\[ERR\]|\[error\]|\[ERROR\]|warn:|WARN:|\[warn\]|\[WARN\]|warning|WARNING|critical:|CRITICAL:|\[critical\]|\[CRITICAL\]|debug|DEBUG/;

/** Keyword search in Loki's order: info, error, warn, critical, debug. */
function levelOfKeywords(line: string): string {
  if (!ANY_KEYWORD.test(line)) return 'unknown';
  if (line.includes('info') || line.includes('INFO')) return 'info';
  if (/err:|ERR:|\[err\]|\[ERR\]|\[error\]|\[ERROR\]/.test(line)) return 'error';
  if (/warn:|WARN:|\[warn\]|\[WARN\]|warning|WARNING/.test(line)) return 'warn';
  if (/critical:|CRITICAL:|\[critical\]|\[CRITICAL\]/.test(line)) return 'critical';
  if (line.includes('debug') || line.includes('DEBUG')) return 'debug';
  return 'unknown';
}
