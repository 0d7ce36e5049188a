// Turns Loki stream results into one merged timeline of rows, and gives each rank (or stream) a stable
// colour and each line a level. Pure: no React, no I/O.
import type { Labels, RawStream } from '../api/loki-client.ts';

export type Level = 'error' | 'warn' | 'info' | 'debug' | 'unknown';
export const LEVELS: Level[] = ['error', 'warn', 'info', 'debug', 'unknown'];

export interface LogRow {
  /** Unique within a result: stream, timestamp and a per-stream sequence number (duplicates are legal). */
  id: string;
  timestampNs: bigint;
  line: string;
  /** Indexed stream labels only. */
  stream: Labels;
  streamKey: string;
  structuredMetadata: Labels;
  parsed: Labels;
  level: Level;
  /** Short name for the column: the rank when there is one, else the most telling label. */
  lane: string;
}

/** Labels that name where a line came from, most specific first; the first present one names the lane. */
const LANE_LABELS = ['rank', 'global_rank', 'local_rank', 'pod', 'node_rank', 'host', 'hostname', 'instance', 'container', 'filename', 'job'];
const LEVEL_LABELS = ['level', 'detected_level', 'severity', 'lvl', 'loglevel'];
const RANK_PREFIX = /^\[(?:rank|default)\d+\]:/;
const GLOG_PREFIX = /^([IWEF])\d{4} \d\d:\d\d:\d\d/;
const GLOG_LEVELS: Record<string, Level> = { I: 'info', W: 'warn', E: 'error', F: 'error' };
const LEVEL_WORD = /\b(FATAL|CRITICAL|CRIT|PANIC|ERROR|ERR|WARNING|WARN|INFO|NOTICE|DEBUG|TRACE)\b/i;

export function streamKeyOf(labels: Labels): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(',');
}

export function laneOf(stream: Labels): string {
  for (const name of LANE_LABELS) {
    const value = stream[name];
    if (value === undefined || value === '') continue;
    if (name === 'rank' || name === 'global_rank') return `rank ${value}`;
    // torchrun's per-node rank, when the global one is not known: the node says which process it is.
    if (name === 'local_rank') return `${stream.host ?? stream.node_rank ?? 'node'} local ${value}`;
    // A launcher (torchrun's elastic agent) has a node rank but no rank of its own.
    if (name === 'node_rank') return stream.host ? `${stream.host} agent` : `node ${value}`;
    return value;
  }
  const key = streamKeyOf(stream);
  return key === '' ? '{}' : key;
}

export function levelFromWord(word: string): Level {
  const upper = word.toUpperCase();
  if (upper === 'FATAL' || upper === 'CRITICAL' || upper === 'CRIT' || upper === 'PANIC' || upper === 'ERROR' || upper === 'ERR' || upper === 'TRACEBACK') return 'error';
  if (upper === 'WARNING' || upper === 'WARN') return 'warn';
  if (upper === 'INFO' || upper === 'NOTICE') return 'info';
  if (upper === 'DEBUG' || upper === 'TRACE') return 'debug';
  return 'unknown';
}

export function detectLevel(line: string, ...labelSets: Labels[]): Level {
  for (const labels of labelSets) {
    for (const name of LEVEL_LABELS) {
      const value = labels[name];
      if (value !== undefined) {
        const level = levelFromWord(value);
        if (level !== 'unknown') return level;
      }
    }
  }
  // Only the head of a line decides: a traceback's last line says ERROR-ish things deep inside.
  let head = line.length > 256 ? line.slice(0, 256) : line;
  // torchrun --tee prefixes each stderr line with [rankN]:; the level is what follows it.
  const rankPrefix = RANK_PREFIX.exec(head);
  if (rankPrefix) head = head.slice(rankPrefix[0].length);
  if (head.startsWith('Traceback (most recent call last)')) return 'error';
  // glog / c10 / torchrun prefix: I1121 11:02:58.748000 …
  const glog = GLOG_PREFIX.exec(head);
  if (glog) return GLOG_LEVELS[glog[1]];
  const match = LEVEL_WORD.exec(head);
  if (match) return levelFromWord(match[1]);
  if (/\b(OutOfMemoryError|CUDA out of memory|NCCL (?:error|timeout)|Watchdog caught collective operation timeout)\b/i.test(head)) return 'error';
  return 'unknown';
}

/** FNV-1a over the key: the same rank gets the same colour on every page load and every query. */
export function colourOf(key: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  const unsigned = hash >>> 0;
  const rankNumber = /^rank (\d+)$/.exec(key);
  // Ranks are spread around the wheel by the golden angle so neighbours (rank 3, rank 4) differ most.
  const hue = rankNumber ? (Number(rankNumber[1]) * 137.508) % 360 : unsigned % 360;
  return `hsl(${hue.toFixed(0)} 70% 62%)`;
}

export function rowsFromStreams(streams: RawStream[]): LogRow[] {
  const rows: LogRow[] = [];
  for (const stream of streams) {
    const labels = stream.stream ?? {};
    const streamKey = streamKeyOf(labels);
    const lane = laneOf(labels);
    let sequence = 0;
    for (const value of stream.values) {
      const extra = value.length === 3 ? value[2] : undefined;
      const structuredMetadata = extra?.structuredMetadata ?? {};
      const parsed = extra?.parsed ?? {};
      const line = value[1];
      rows.push({
        id: `${streamKey}|${value[0]}|${sequence++}`,
        timestampNs: BigInt(value[0]),
        line,
        stream: labels,
        streamKey,
        structuredMetadata,
        parsed,
        level: detectLevel(line, labels, structuredMetadata, parsed),
        lane,
      });
    }
  }
  return rows;
}

export function compareRows(direction: 'forward' | 'backward'): (a: LogRow, b: LogRow) => number {
  const sign = direction === 'forward' ? 1 : -1;
  return (a, b) => {
    if (a.timestampNs !== b.timestampNs) return a.timestampNs < b.timestampNs ? -sign : sign;
    return a.lane < b.lane ? -1 : a.lane > b.lane ? 1 : 0;
  };
}

/**
 * Merges a sorted batch into sorted rows. Live lines arrive in the order ranks ship them, not in
 * timestamp order; a late line is placed where its timestamp belongs. Only the tail from the first
 * row newer than the batch's oldest line is re-merged, which for a live tail is a few rows.
 */
export function mergeSorted(rows: LogRow[], batch: LogRow[], compare: (a: LogRow, b: LogRow) => number): LogRow[] {
  if (batch.length === 0) return rows;
  if (rows.length === 0 || compare(rows[rows.length - 1]!, batch[0]!) <= 0) return rows.concat(batch);
  let low = 0;
  let high = rows.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compare(rows[middle]!, batch[0]!) <= 0) low = middle + 1;
    else high = middle;
  }
  const merged = rows.slice(0, low);
  let i = low;
  let j = 0;
  while (i < rows.length && j < batch.length) merged.push(compare(rows[i]!, batch[j]!) <= 0 ? rows[i++]! : batch[j++]!);
  while (i < rows.length) merged.push(rows[i++]!);
  while (j < batch.length) merged.push(batch[j++]!);
  return merged;
}

/** All streams on one timeline, ordered like the query asked. */
export function mergeStreams(streams: RawStream[], direction: 'forward' | 'backward'): LogRow[] {
  return rowsFromStreams(streams).sort(compareRows(direction));
}

/** Appends a next page, dropping rows the previous page already had (page borders overlap by design). */
export function appendPage(existing: LogRow[], page: LogRow[]): LogRow[] {
  const seen = new Set<string>();
  for (const row of existing) seen.add(`${row.streamKey}|${row.timestampNs}|${row.line}`);
  const fresh = page.filter((row) => !seen.has(`${row.streamKey}|${row.timestampNs}|${row.line}`));
  return fresh.length === 0 ? existing : existing.concat(fresh);
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** Local time with milliseconds; the ns remainder is shown in the details pane. */
export function formatTimestamp(timestampNs: bigint): string {
  const date = new Date(Number(timestampNs / 1_000_000n));
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}
