// Per-tenant push validation with Loki's rules and messages (pkg/validation/validate.go, see
// shared/reference/loki-api.md §1.1). Invalid entries are dropped and reported; valid ones in the
// same request are still ingested, as Loki does, and the request answers 400 with the first few
// messages and a count of the rest (a push of millions of bad entries must not build millions of strings).
// One pass, no per-entry allocation beyond the output arrays: this sits on the ingest hot path.

import { clipText, formatLabels, LABEL_NAME_PATTERN, quoteClipped } from '../push/labels.ts';
import { RawLineEntry } from '../push/raw-line-entry.ts';
import { rawColumnsOf, RawPushStream, type RawStreamColumns } from '../push/raw-push-stream.ts';
import type { LabelPair, Labels, PushEntry, PushStream } from '../push/types.ts';

export interface ValidationLimits {
  maxLabelNamesPerSeries: number;
  maxLabelNameLength: number;
  maxLabelValueLength: number;
  maxLineSizeBytes: number;
  /** When set, over-long lines are cut to maxLineSizeBytes and counted instead of rejected. */
  maxLineSizeTruncate: boolean;
  rejectOldSamples: boolean;
  rejectOldSamplesMaxAgeMs: number;
  creationGracePeriodMs: number;
  allowStructuredMetadata: boolean;
  maxStructuredMetadataEntries: number;
  maxStructuredMetadataSizeBytes: number;
}

/** Discard reasons, named as Loki's `loki_discarded_samples_total{reason}`. */
export type DiscardReason =
  | 'line_too_long'
  | 'greater_than_max_sample_age'
  | 'too_far_in_future'
  | 'invalid_labels'
  | 'max_label_names_per_series'
  | 'label_name_too_long'
  | 'label_value_too_long'
  | 'disallowed_structured_metadata'
  | 'structured_metadata_too_large'
  | 'structured_metadata_too_many';

export interface ValidationResult {
  streams: PushStream[];
  /**
   * Loki error messages for the first MAX_REPORTED_ERRORS rejected streams or entries, then one line
   * counting the rest by reason.
   */
  errors: string[];
  /** Rejected streams plus rejected entries (of streams whose labels were valid). */
  rejected: number;
  acceptedLines: number;
  /** UTF-8 bytes of accepted lines plus their structured metadata. */
  acceptedBytes: number;
  truncatedLines: number;
  discarded: Map<DiscardReason, { lines: number; bytes: number }>;
}

const NS_PER_MS = 1_000_000n;
/** Stream texts and label values in messages are cut past this: Loki's limits allow 2 KB values. */
const QUOTED_CHARS = 4096;
/** Messages listed in full; Loki lists every one, which for a hostile push is megabytes of text. */
export const MAX_REPORTED_ERRORS = 10;

/** Validates a decoded push against the tenant's limits, relative to `nowMs`. */
export function validatePush(streams: PushStream[], limits: ValidationLimits, nowMs: number): ValidationResult {
  const result: ValidationResult = { streams: [], errors: [], rejected: 0, acceptedLines: 0, acceptedBytes: 0, truncatedLines: 0, discarded: new Map() };
  const oldestNs = limits.rejectOldSamples ? BigInt(nowMs - limits.rejectOldSamplesMaxAgeMs) * NS_PER_MS : -1n;
  const newestNs = BigInt(nowMs + limits.creationGracePeriodMs) * NS_PER_MS;
  const maxLineBytes = limits.maxLineSizeBytes;
  // A string of n UTF-16 units is between n and 3n UTF-8 bytes, so most lines never need byteLength.
  const certainlyShortChars = Math.floor(maxLineBytes / 3);

  for (let stream of streams) {
    stream = withoutEmptyLabels(stream);
    const labelProblem = checkLabels(stream, limits);
    if (labelProblem !== undefined) {
      if (report(result)) result.errors.push(labelProblem.message());
      discard(result, labelProblem.reason, stream.entries.length, sumLineBytes(stream.entries));
      continue;
    }
    const columns = rawColumnsOf(stream);
    if (columns !== undefined && acceptColumns(result, stream, columns, limits, oldestNs, newestNs)) continue;
    if (stream.entries.length === 0) continue;
    let streamText: string | undefined;
    // Built only once an entry is dropped or changed; until then the stream passes through as is.
    let accepted: PushEntry[] | undefined;
    const entries = stream.entries;
    for (let index = 0; index < entries.length; index++) {
      const entry = entries[index]!;
      // A RawLineEntry's line stays bytes: its size is known without decoding it.
      const raw = entry instanceof RawLineEntry ? entry : undefined;
      const line = raw === undefined ? entry.line : '';
      let lineBytes = raw !== undefined ? raw.lineBytes : line.length <= certainlyShortChars ? -1 : Buffer.byteLength(line);
      let truncated: PushEntry | undefined;
      if (lineBytes > maxLineBytes && maxLineBytes > 0) {
        if (limits.maxLineSizeTruncate) {
          truncated = truncatedEntry(entry, raw, line, maxLineBytes);
          lineBytes = raw !== undefined ? (truncated as RawLineEntry).lineBytes : Buffer.byteLength(truncated.line);
          result.truncatedLines++;
        } else {
          streamText ??= streamTextOf(stream.labels);
          if (report(result)) result.errors.push(`max entry size '${maxLineBytes}' bytes exceeded for stream '${streamText}' while adding an entry with length '${lineBytes}' bytes`);
          discard(result, 'line_too_long', 1, lineBytes);
          accepted ??= entries.slice(0, index);
          continue;
        }
      }
      if (entry.timestampNs < oldestNs) {
        streamText ??= streamTextOf(stream.labels);
        if (report(result)) result.errors.push(`entry for stream '${streamText}' has timestamp too old: ${formatNs(entry.timestampNs)}, oldest acceptable timestamp is: ${formatNs(oldestNs)}`);
        discard(result, 'greater_than_max_sample_age', 1, lineBytes < 0 ? Buffer.byteLength(line) : lineBytes);
        accepted ??= entries.slice(0, index);
        continue;
      }
      if (entry.timestampNs > newestNs) {
        streamText ??= streamTextOf(stream.labels);
        if (report(result)) result.errors.push(`entry for stream '${streamText}' has timestamp too new: ${formatNs(entry.timestampNs)}`);
        discard(result, 'too_far_in_future', 1, lineBytes < 0 ? Buffer.byteLength(line) : lineBytes);
        accepted ??= entries.slice(0, index);
        continue;
      }
      let metadataBytes = 0;
      const metadata = entry.structuredMetadata;
      if (metadata !== undefined && metadata.length > 0) {
        const problem = checkMetadata(metadata, limits);
        if (typeof problem !== 'number') {
          streamText ??= streamTextOf(stream.labels);
          if (report(result)) result.errors.push(problem.message.replace('%STREAM%', streamText));
          discard(result, problem.reason, 1, lineBytes < 0 ? Buffer.byteLength(line) : lineBytes);
          accepted ??= entries.slice(0, index);
          continue;
        }
        metadataBytes = problem;
      }
      result.acceptedBytes += (lineBytes < 0 ? Buffer.byteLength(line) : lineBytes) + metadataBytes;
      if (truncated !== undefined) {
        accepted ??= entries.slice(0, index);
        accepted.push(truncated);
      } else if (accepted !== undefined) accepted.push(entry);
    }
    if (accepted === undefined) {
      result.acceptedLines += entries.length;
      result.streams.push(stream);
    } else if (accepted.length > 0) {
      result.acceptedLines += accepted.length;
      result.streams.push({ labels: stream.labels, entries: accepted });
    }
  }
  if (result.rejected > result.errors.length) {
    const byReason = [...result.discarded].map(([reason, counts]) => `${reason}=${counts.lines}`).join(', ');
    result.errors.push(`... and ${result.rejected - result.errors.length} more rejected streams or entries not listed (discarded lines by reason: ${byReason})`);
  }
  return result;
}

/**
 * Accepts a decoded stream whole when its columns' summaries show that every entry passes (the
 * longest line, the time range, the metadata), with no object per entry; false when some entry
 * needs the per-entry rules (then nothing was counted).
 */
function acceptColumns(result: ValidationResult, stream: PushStream, columns: RawStreamColumns, limits: ValidationLimits, oldestNs: bigint, newestNs: bigint): boolean {
  if (columns.count === 0) return true;
  if (columns.maxLineBytes > limits.maxLineSizeBytes && limits.maxLineSizeBytes > 0) return false;
  if (columns.minTimestampNs < oldestNs || columns.maxTimestampNs > newestNs) return false;
  let metadataBytes = 0;
  const metadataColumn = columns.structuredMetadata;
  if (metadataColumn !== undefined) {
    for (let i = 0; i < columns.count; i++) {
      const metadata = metadataColumn[i];
      if (metadata === undefined || metadata.length === 0) continue;
      const bytes = checkMetadata(metadata, limits);
      if (typeof bytes !== 'number') return false;
      metadataBytes += bytes;
    }
  }
  result.acceptedLines += columns.count;
  result.acceptedBytes += columns.lineBytes + metadataBytes;
  result.streams.push(stream);
  return true;
}

/** Counts a rejection; true while its message should still be listed. */
function report(result: ValidationResult): boolean {
  result.rejected++;
  return result.errors.length < MAX_REPORTED_ERRORS;
}

function checkLabels(stream: PushStream, limits: ValidationLimits): { reason: DiscardReason; message: () => string } | undefined {
  const names = Object.keys(stream.labels);
  if (names.length === 0) {
    return { reason: 'invalid_labels', message: () => 'error at least one label pair is required per stream' };
  }
  if (names.length > limits.maxLabelNamesPerSeries) {
    return {
      reason: 'max_label_names_per_series',
      message: () => `entry for stream '${streamTextOf(stream.labels)}' has ${names.length} label names; limit ${limits.maxLabelNamesPerSeries}`,
    };
  }
  for (const name of names) {
    if (!LABEL_NAME_PATTERN.test(name)) {
      return { reason: 'invalid_labels', message: () => `error parsing labels '${streamTextOf(stream.labels)}' with error: invalid label name ${quoteClipped(name)}` };
    }
    if (name.length > limits.maxLabelNameLength) {
      return { reason: 'label_name_too_long', message: () => `stream '${streamTextOf(stream.labels)}' has label name too long: '${clipText(name, QUOTED_CHARS)}'` };
    }
    const value = stream.labels[name]!;
    if (value.length > limits.maxLabelValueLength) {
      return { reason: 'label_value_too_long', message: () => `stream '${streamTextOf(stream.labels)}' has label value too long: '${clipText(value, QUOTED_CHARS)}'` };
    }
  }
  return undefined;
}

/** Returns the metadata's byte size, or the problem (with %STREAM% to fill in). */
function checkMetadata(metadata: LabelPair[], limits: ValidationLimits): number | { reason: DiscardReason; message: string } {
  if (!limits.allowStructuredMetadata) {
    return {
      reason: 'disallowed_structured_metadata',
      message: "stream '%STREAM%' includes structured metadata, but this feature is disallowed. Please see `limits_config.allow_structured_metadata` or contact your Loki administrator to enable it.",
    };
  }
  if (metadata.length > limits.maxStructuredMetadataEntries) {
    return {
      reason: 'structured_metadata_too_many',
      message: `stream '%STREAM%' has too many structured metadata labels: '${metadata.length}', limit: '${limits.maxStructuredMetadataEntries}'. Please see \`limits_config.max_structured_metadata_entries_count\` or contact your Loki administrator to increase it.`,
    };
  }
  let bytes = 0;
  for (const pair of metadata) {
    if (!LABEL_NAME_PATTERN.test(pair.name)) {
      return { reason: 'invalid_labels', message: `stream '%STREAM%' has invalid structured metadata name ${quoteClipped(pair.name)}` };
    }
    bytes += pair.name.length + Buffer.byteLength(pair.value);
  }
  if (bytes > limits.maxStructuredMetadataSizeBytes) {
    return {
      reason: 'structured_metadata_too_large',
      message: `stream '%STREAM%' has structured metadata too large: '${bytes}' bytes, limit: '${limits.maxStructuredMetadataSizeBytes}' bytes. Please see \`limits_config.max_structured_metadata_size\` or contact your Loki administrator to increase it.`,
    };
  }
  return bytes;
}

/** Prometheus semantics: an empty value means the label is absent, so it is not part of the stream. */
/**
 * The stream as messages quote it: Loki's sorted `{a="b", …}`, cut to a few hundred characters. A
 * hostile set of thousands of labels is quoted by its first names, unsorted, without sorting them all.
 */
function streamTextOf(labels: Labels): string {
  const names = Object.keys(labels);
  // Values are cut before formatting, so a 30 MB value is not escaped in full to be thrown away.
  const shown: Labels = {};
  for (const name of names.slice(0, names.length <= 64 ? 64 : 16)) shown[name] = clipText(labels[name]!, QUOTED_CHARS);
  if (names.length <= 64) return clipText(formatLabels(shown), QUOTED_CHARS);
  return `${formatLabels(shown).slice(0, -1)}, … (${names.length} labels)}`;
}

function withoutEmptyLabels(stream: PushStream): PushStream {
  let hasEmpty = false;
  for (const name in stream.labels) if (stream.labels[name] === '') hasEmpty = true;
  if (!hasEmpty) return stream;
  const labels: Record<string, string> = {};
  for (const name in stream.labels) if (stream.labels[name] !== '') labels[name] = stream.labels[name]!;
  // Columns stay columns (reading `entries` would build an object per entry).
  const columns = rawColumnsOf(stream);
  if (columns !== undefined) return new RawPushStream(labels, columns);
  return { labels, entries: stream.entries };
}

function discard(result: ValidationResult, reason: DiscardReason, lines: number, bytes: number): void {
  const counts = result.discarded.get(reason);
  if (counts === undefined) result.discarded.set(reason, { lines, bytes });
  else {
    counts.lines += lines;
    counts.bytes += bytes;
  }
}

function sumLineBytes(entries: PushEntry[]): number {
  let bytes = 0;
  for (const entry of entries) bytes += entry instanceof RawLineEntry ? entry.lineBytes : Buffer.byteLength(entry.line);
  return bytes;
}

/** The entry with its line cut to at most maxBytes of UTF-8; a raw line is cut in its bytes. */
function truncatedEntry(entry: PushEntry, raw: RawLineEntry | undefined, line: string, maxBytes: number): PushEntry {
  if (raw === undefined) return { ...entry, line: truncateUtf8(line, maxBytes) };
  let end = raw.lineStart + maxBytes;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > raw.lineStart && (raw.lineSource[end]! & 0xc0) === 0x80) end--;
  const cut = new RawLineEntry(raw.timestampNs, raw.lineSource, raw.lineStart, end);
  if (raw.structuredMetadata !== undefined) cut.structuredMetadata = raw.structuredMetadata;
  return cut;
}

/** Cuts to at most maxBytes of UTF-8 without splitting a character. */
function truncateUtf8(line: string, maxBytes: number): string {
  const bytes = Buffer.from(line);
  let end = maxBytes;
  // Step back over continuation bytes (10xxxxxx) so the cut lands on a character boundary.
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}

/** RFC3339 of a timestamp; one past what Date can show (±275k years) is printed as nanoseconds. */
function formatNs(ns: bigint): string {
  const date = new Date(Number(ns / NS_PER_MS));
  return Number.isNaN(date.getTime()) ? `${ns}ns` : date.toISOString();
}
