// Loki's JSON push bodies: v1 (`/loki/api/v1/push`) with `stream`/`values` and optional structured
// metadata as a third element, and the legacy v0 form (`/api/prom/push`) with `labels`/`entries`.
// See shared/reference/loki-api.md §1.1. Errors name the stream and entry index that was wrong.

import { DecodeBudget, MAX_LABEL_SET_CHARS, PushTooLargeError, UNLIMITED_DECODE, type PushDecodeLimits } from './decode-limits.ts';
import { clipText, LabelParseError, parseLabels } from './labels.ts';
import { PushDecodeError } from './protobuf.ts';
import type { LabelPair, Labels, PushEntry, PushStream } from './types.ts';

const NS_PER_MS = 1_000_000n;
const DECIMAL_NS = /^\d{1,20}$/;
/** Deepest legal push: root → streams → stream → values → entry → metadata is 6; a little slack. */
const MAX_DEPTH = 8;
/**
 * Most keys one JSON object of a push may have: a label set or an entry's metadata. Loki's default
 * limits allow 15 labels and 128 metadata pairs; a million keys in one object made JSON.parse and
 * validation take seconds before any limit was checked.
 */
const MAX_KEYS_PER_OBJECT = 10_000;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Decodes a v1 JSON push body (`{"streams":[{"stream":{…},"values":[["<ns>","line",{…}?]]}]}`). */
export function decodeJsonPush(body: Buffer | string, limits: PushDecodeLimits = UNLIMITED_DECODE): PushStream[] {
  const root = parseJson(body, limits);
  const budget = new DecodeBudget(limits);
  if (typeof root !== 'object' || root === null || Array.isArray(root)) {
    throw new PushDecodeError('malformed JSON push body: expected an object with a "streams" array');
  }
  const rawStreams = (root as { streams?: unknown }).streams;
  if (rawStreams === undefined || rawStreams === null) return [];
  if (!Array.isArray(rawStreams)) throw new PushDecodeError('malformed JSON push body: "streams" must be an array');
  const streams: PushStream[] = new Array(rawStreams.length);
  for (let s = 0; s < rawStreams.length; s++) {
    budget.addStream();
    const raw = rawStreams[s] as { stream?: unknown; values?: unknown; labels?: unknown; entries?: unknown } | null;
    if (typeof raw !== 'object' || raw === null) throw new PushDecodeError(`malformed JSON push body: streams[${s}] must be an object`);
    // Some clients send the v0 shape to the v1 path; accept it rather than fail on a known format.
    if (raw.stream === undefined && (raw.labels !== undefined || raw.entries !== undefined)) {
      streams[s] = decodeLegacyStream(raw, s, budget);
      continue;
    }
    const labels = decodeLabelObject(raw.stream, s);
    streams[s] = { labels, entries: decodeValues(raw.values, s, budget) };
  }
  return streams;
}

/** Decodes a legacy v0 body (`{"streams":[{"labels":"{a=\"b\"}","entries":[{"ts":"RFC3339","line":"…"}]}]}`). */
export function decodeLegacyJsonPush(body: Buffer | string, limits: PushDecodeLimits = UNLIMITED_DECODE): PushStream[] {
  const root = parseJson(body, limits);
  const budget = new DecodeBudget(limits);
  const rawStreams = (root as { streams?: unknown } | null)?.streams;
  if (rawStreams === undefined || rawStreams === null) return [];
  if (!Array.isArray(rawStreams)) throw new PushDecodeError('malformed JSON push body: "streams" must be an array');
  return rawStreams.map((raw, s) => {
    budget.addStream();
    if (typeof raw !== 'object' || raw === null) throw new PushDecodeError(`malformed JSON push body: streams[${s}] must be an object`);
    const stream = raw as { stream?: unknown; values?: unknown; labels?: unknown; entries?: unknown };
    if (stream.stream !== undefined) return { labels: decodeLabelObject(stream.stream, s), entries: decodeValues(stream.values, s, budget) };
    return decodeLegacyStream(stream, s, budget);
  });
}

function parseJson(body: Buffer | string, limits: PushDecodeLimits): unknown {
  if (limits !== UNLIMITED_DECODE) checkJsonShape(typeof body === 'string' ? Buffer.from(body) : body, limits);
  const text = typeof body === 'string' ? body : body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PushDecodeError(`malformed JSON push body: ${(error as Error).message}`);
  }
}

function decodeLabelObject(raw: unknown, streamIndex: number): Labels {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PushDecodeError(`malformed JSON push body: streams[${streamIndex}].stream must be an object of label name to string value`);
  }
  const labels = raw as Record<string, unknown>;
  for (const name in labels) {
    if (typeof labels[name] !== 'string') {
      throw new PushDecodeError(`malformed JSON push body: streams[${streamIndex}].stream label ${JSON.stringify(name)} must have a string value`);
    }
  }
  return labels as Labels;
}

function decodeValues(raw: unknown, streamIndex: number, budget: DecodeBudget): PushEntry[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new PushDecodeError(`malformed JSON push body: streams[${streamIndex}].values must be an array`);
  budget.addEntries(raw.length);
  const entries: PushEntry[] = [];
  for (let i = 0; i < raw.length; i++) {
    const value = raw[i] as unknown[] | null;
    if (value === null) continue;
    if (!Array.isArray(value) || value.length < 2 || value.length > 3) {
      throw new PushDecodeError(`malformed JSON push body: streams[${streamIndex}].values[${i}] must be ["<unix ns>", "<line>"] or ["<unix ns>", "<line>", {metadata}]`);
    }
    const timestamp = value[0];
    const line = value[1];
    if (typeof timestamp !== 'string' || !DECIMAL_NS.test(timestamp)) {
      throw new PushDecodeError(`malformed JSON push body: streams[${streamIndex}].values[${i}][0] must be a string of decimal unix nanoseconds, got ${JSON.stringify(timestamp)}`);
    }
    if (typeof line !== 'string') {
      throw new PushDecodeError(`malformed JSON push body: streams[${streamIndex}].values[${i}][1] must be a string log line`);
    }
    const entry: PushEntry = { timestampNs: BigInt(timestamp), line };
    if (value.length === 3 && value[2] !== null) entry.structuredMetadata = decodeMetadata(value[2], streamIndex, i, budget);
    entries.push(entry);
  }
  return entries;
}

function decodeMetadata(raw: unknown, streamIndex: number, entryIndex: number, budget: DecodeBudget): LabelPair[] | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new PushDecodeError(`malformed JSON push body: streams[${streamIndex}].values[${entryIndex}][2] must be an object of structured metadata`);
  }
  const pairs: LabelPair[] = [];
  const metadataEntries = Object.entries(raw as Record<string, unknown>);
  budget.addPairs(metadataEntries.length);
  for (const [name, value] of metadataEntries) {
    if (typeof value !== 'string') {
      throw new PushDecodeError(`malformed JSON push body: structured metadata ${JSON.stringify(name)} of streams[${streamIndex}].values[${entryIndex}] must be a string`);
    }
    pairs.push({ name, value });
  }
  return pairs.length > 0 ? pairs : undefined;
}

function decodeLegacyStream(raw: { labels?: unknown; entries?: unknown }, streamIndex: number, budget: DecodeBudget): PushStream {
  if (typeof raw.labels !== 'string') throw new PushDecodeError(`malformed JSON push body: streams[${streamIndex}].labels must be a label-set string`);
  if (raw.labels.length > MAX_LABEL_SET_CHARS) {
    throw new PushDecodeError(`malformed JSON push body: streams[${streamIndex}].labels is ${raw.labels.length} characters, more than ${MAX_LABEL_SET_CHARS}: '${clipText(raw.labels)}'`);
  }
  let labels: Labels;
  try {
    labels = parseLabels(raw.labels);
  } catch (error) {
    if (error instanceof LabelParseError) throw new PushDecodeError(`error parsing labels '${clipText(raw.labels)}' with error: ${error.message}`);
    throw error;
  }
  if (raw.entries === undefined || raw.entries === null) return { labels, entries: [] };
  if (!Array.isArray(raw.entries)) throw new PushDecodeError(`malformed JSON push body: streams[${streamIndex}].entries must be an array`);
  budget.addEntries(raw.entries.length);
  const entries = raw.entries.map((item: unknown, i: number): PushEntry => {
    const entry = item as { ts?: unknown; timestamp?: unknown; line?: unknown } | null;
    const ts = entry?.ts ?? entry?.timestamp;
    if (typeof ts !== 'string' || typeof entry?.line !== 'string') {
      throw new PushDecodeError(`malformed JSON push body: streams[${streamIndex}].entries[${i}] must be {"ts": "<RFC3339>", "line": "<line>"}`);
    }
    return { timestampNs: parseRfc3339Ns(ts, `streams[${streamIndex}].entries[${i}].ts`), line: entry.line };
  });
  return { labels, entries };
}

/**
 * One pass over the raw bytes before JSON.parse builds anything: every entry is an array and every
 * label or metadata pair an object key, so counting `[` and `:` outside strings bounds what parsing
 * would allocate, and the nesting depth bounds its recursion. Strings are skipped with indexOf, so a
 * body of long log lines costs little more than a memchr.
 */
function checkJsonShape(bytes: Buffer, limits: PushDecodeLimits): void {
  // The streams array, one values array per stream, one array per entry.
  const maxArrays = limits.maxEntries + limits.maxStreams + 1;
  // "streams"; "stream" and "values" per stream; "ts" and "line" per legacy entry; then the pairs.
  const maxKeys = limits.maxPairs + 2 * limits.maxEntries + 2 * limits.maxStreams + 1;
  let arrays = 0;
  let keys = 0;
  let depth = 0;
  const keysAtDepth = new Uint32Array(MAX_DEPTH + 1);
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === QUOTE) {
      let end = bytes.indexOf(QUOTE, i + 1);
      while (end > 0 && isEscaped(bytes, end)) end = bytes.indexOf(QUOTE, end + 1);
      if (end < 0) return; // unterminated: JSON.parse names the error
      i = end;
    } else if (byte === 0x5b /* [ */ || byte === 0x7b /* { */) {
      if (++depth > MAX_DEPTH) throw new PushDecodeError(`malformed JSON push body: nested deeper than ${MAX_DEPTH} levels at byte ${i}`);
      keysAtDepth[depth] = 0;
      if (byte === 0x5b && ++arrays > maxArrays) {
        throw new PushTooLargeError(`push request has more than ${limits.maxEntries} entries (server.max_push_entries); send it in smaller batches`);
      }
    } else if (byte === 0x5d /* ] */ || byte === 0x7d /* } */) {
      depth--;
    } else if (byte === 0x3a /* : */) {
      if (++keys > maxKeys) {
        throw new PushTooLargeError(`push request has more than ${limits.maxPairs} label and structured metadata pairs (server.max_push_entries); send it in smaller batches`);
      }
      if (depth > 0 && ++keysAtDepth[depth]! > MAX_KEYS_PER_OBJECT) {
        throw new PushDecodeError(`malformed JSON push body: an object with more than ${MAX_KEYS_PER_OBJECT} keys at byte ${i} (labels and structured metadata have a few dozen)`);
      }
    }
  }
}

/** Whether the quote at `at` is preceded by an odd run of backslashes. */
function isEscaped(bytes: Buffer, at: number): boolean {
  let backslashes = 0;
  for (let i = at - 1; i >= 0 && bytes[i] === BACKSLASH; i--) backslashes++;
  return backslashes % 2 === 1;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i;

/** RFC3339 with up to nanosecond fraction, to unix ns. Date.parse alone would drop sub-ms digits. */
export function parseRfc3339Ns(text: string, where: string): bigint {
  const match = RFC3339.exec(text);
  const wholeMs = match ? Date.parse(`${match[1]}${match[3]}`) : Number.NaN;
  if (!match || Number.isNaN(wholeMs)) throw new PushDecodeError(`malformed JSON push body: ${where} is not an RFC3339 timestamp: ${JSON.stringify(text)}`);
  const fractionNs = BigInt((match[2] ?? '').padEnd(9, '0'));
  return BigInt(wholeMs) * NS_PER_MS + fractionNs;
}
