// Hand-written decoders for Prometheus remote write bodies (snappy block-compressed protobuf):
//   1.0  prometheus.WriteRequest            timeseries = 1 (labels = 1 {name 1, value 2}, samples = 2
//        {value 1 double, timestamp 2 int64}, exemplars = 3, histograms = 4), metadata = 3
//        {type 1, metric_family_name 2, help 4, unit 5}
//   2.0  io.prometheus.write.v2.Request     symbols = 4 (symbols[0] must be ""), timeseries = 5
//        (labels_refs = 1 packed uint32 pairs, samples = 2, histograms = 3, exemplars = 4,
//        metadata = 5 {type 1, help_ref 3, unit_ref 4}, created_timestamp = 6)
// Field numbers from shared/reference/prometheus-api.md §4.2–4.3 and the two specs. Every length is
// checked against its enclosing message; errors name the byte offset. protobufjs (through Long for
// int64) is the reference in test/push/remote-write-decode.test.ts; this one reads timestamps
// straight into numbers. A value with the stale-NaN bit pattern 0x7ff0000000000002 is flagged stale.

import snappy from 'snappy';
import { ProtobufReader } from './protobuf-reader.ts';
import { sameLabels } from './labels.ts';
import type { Labels } from './types.ts';

export class RemoteWriteDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RemoteWriteDecodeError';
  }
}

export interface RemoteWriteSample {
  timestampMs: number;
  value: number;
  stale?: boolean;
}

export interface RemoteWriteSeries {
  /** Shared with other requests through the label cache: treat as immutable. */
  labels: Labels;
  /** True when `labels` came from (or went into) a LabelCache: the same object for the same bytes. */
  interned?: boolean;
  samples: RemoteWriteSample[];
  /** Native histogram samples (not stored yet; the receiver refuses them). */
  histograms: number;
  exemplars: number;
  /** The exemplars themselves, when there are any. */
  exemplarList?: RemoteWriteExemplar[];
}

export interface RemoteWriteExemplar {
  labels: Labels;
  value: number;
  timestampMs: number;
}

export interface RemoteWriteMetadata {
  family: string;
  type: string;
  help: string;
  unit: string;
}

export interface RemoteWriteRequest {
  series: RemoteWriteSeries[];
  metadata: RemoteWriteMetadata[];
}

/**
 * A decoded request as columns: per series its labels and where its samples end, the samples in
 * flat typed arrays. One instance is reused request after request (decode*Into reset it), so a
 * request leaves no per-series or per-sample objects behind: with objects, a 2,000-series request
 * outgrew V8's young generation while it was decoded and ~390 bytes a sample were promoted to the
 * old generation as garbage (bench/tsdb-bench.ts), which is what drove the server's RSS.
 */
export class RemoteWriteColumns {
  seriesCount = 0;
  /** Per series; shared with the label cache when `interned[i]` is 1: treat as immutable. */
  readonly labels: Labels[] = [];
  /** 1 where `labels[i]` came from (or went into) a LabelCache: the same object for the same bytes. */
  interned = new Uint8Array(64);
  /** Series i's samples are rows [sampleEnd[i - 1] (0 for the first), sampleEnd[i]). */
  sampleEnd = new Uint32Array(64);
  /** Native histogram samples per series (not stored yet; the receiver refuses them). */
  histograms = new Uint32Array(64);
  sampleCount = 0;
  timestampsMs = new Float64Array(256);
  values = new Float64Array(256);
  /** 1 where the sample has the bits of Prometheus' staleness marker. */
  stale = new Uint8Array(256);
  /** Exemplars by series index (rare: only series that carry any). */
  readonly exemplars = new Map<number, RemoteWriteExemplar[]>();
  readonly metadata: RemoteWriteMetadata[] = [];

  reset(): void {
    this.labels.length = 0;
    this.seriesCount = 0;
    this.sampleCount = 0;
    this.exemplars.clear();
    this.metadata.length = 0;
  }

  /** Starts series number seriesCount; returns its index. */
  startSeries(labels: Labels, interned: boolean): number {
    const at = this.seriesCount++;
    if (at === this.sampleEnd.length) {
      this.interned = grown(this.interned, new Uint8Array(at * 2));
      this.sampleEnd = grown(this.sampleEnd, new Uint32Array(at * 2));
      this.histograms = grown(this.histograms, new Uint32Array(at * 2));
    }
    this.labels.push(labels);
    this.interned[at] = interned ? 1 : 0;
    this.histograms[at] = 0;
    this.sampleEnd[at] = this.sampleCount;
    return at;
  }

  growSamples(): void {
    const size = this.timestampsMs.length * 2;
    this.timestampsMs = grown(this.timestampsMs, new Float64Array(size));
    this.values = grown(this.values, new Float64Array(size));
    this.stale = grown(this.stale, new Uint8Array(size));
  }

  /** The request as objects (tests, and callers that are not on the ingest path). */
  toRequest(): RemoteWriteRequest {
    const series: RemoteWriteSeries[] = [];
    for (let i = 0; i < this.seriesCount; i++) {
      const samples: RemoteWriteSample[] = [];
      for (let j = i === 0 ? 0 : this.sampleEnd[i - 1]!; j < this.sampleEnd[i]!; j++) {
        samples.push(this.stale[j] === 1 ? { timestampMs: this.timestampsMs[j]!, value: this.values[j]!, stale: true } : { timestampMs: this.timestampsMs[j]!, value: this.values[j]! });
      }
      const exemplarList = this.exemplars.get(i);
      const entry: RemoteWriteSeries = { labels: this.labels[i]!, samples, histograms: this.histograms[i]!, exemplars: exemplarList?.length ?? 0 };
      if (this.interned[i] === 1) entry.interned = true;
      if (exemplarList !== undefined) entry.exemplarList = exemplarList;
      series.push(entry);
    }
    return { series, metadata: [...this.metadata] };
  }
}

function grown<T extends Uint8Array | Uint32Array | Int32Array | Float64Array>(from: T, to: T): T {
  to.set(from);
  return to;
}

/** Prometheus' metric type enum, shared by 1.0 and 2.0 (2.0 calls 0 "unspecified"). */
const METRIC_TYPES = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset'];

const STALE_HI = 0x7ff00000;
const STALE_LO = 0x00000002;

/** A remote_write reader: the shared wire-format primitives, plus Prometheus' stale-marker check. */
class Reader extends ProtobufReader {
  constructor(buffer: Buffer, message: string) {
    super(buffer, 0, message, (text) => new RemoteWriteDecodeError(text));
  }

  /** Whether the double just read has the bits of Prometheus' staleness marker (a NaN payload). */
  lastDoubleIsStale(): boolean {
    return this.buffer.readUInt32LE(this.offset - 8) === STALE_LO && this.buffer.readUInt32LE(this.offset - 4) === STALE_HI;
  }
}

/** Decodes one Sample message into the next row of the sample columns. */
function decodeSampleInto(reader: Reader, end: number, columns: RemoteWriteColumns): void {
  let value = 0;
  let stale = false;
  let timestampMs = 0;
  while (reader.offset < end) {
    const key = reader.varint();
    if (key === 0x09) {
      value = reader.double(end);
      stale = value !== value && reader.lastDoubleIsStale();
    } else if (key === 0x10) timestampMs = reader.int64();
    else reader.skip(key & 7, end);
  }
  const at = columns.sampleCount++;
  if (at === columns.timestampsMs.length) columns.growSamples();
  columns.timestampsMs[at] = timestampMs;
  columns.values[at] = value;
  columns.stale[at] = stale ? 1 : 0;
}

/** prometheus.Exemplar: labels = 1 (Label), value = 2 (double), timestamp = 3 (int64 ms). */
function decodeExemplarV1(reader: Reader, end: number): RemoteWriteExemplar {
  const labels: Labels = {};
  let value = 0;
  let timestampMs = 0;
  while (reader.offset < end) {
    const key = reader.varint();
    if (key === 0x0a) {
      const labelEnd = reader.lengthEnd(end);
      let name = '';
      let labelValue = '';
      while (reader.offset < labelEnd) {
        const labelKey = reader.varint();
        if (labelKey === 0x0a) name = reader.string(labelEnd);
        else if (labelKey === 0x12) labelValue = reader.string(labelEnd);
        else reader.skip(labelKey & 7, labelEnd);
      }
      addLabel(reader, labels, name, labelValue);
    } else if (key === 0x11) value = reader.double(end);
    else if (key === 0x18) timestampMs = reader.int64();
    else reader.skip(key & 7, end);
  }
  return { labels, value, timestampMs };
}

/** io.prometheus.write.v2.Exemplar: labels_refs = 1 (packed uint32 pairs), value = 2, timestamp = 3. */
function decodeExemplarV2(reader: Reader, end: number, symbol: (ref: number, what: string) => string): RemoteWriteExemplar {
  const refs: number[] = [];
  let value = 0;
  let timestampMs = 0;
  while (reader.offset < end) {
    const key = reader.varint();
    if (key === 0x0a) {
      const refsEnd = reader.lengthEnd(end);
      while (reader.offset < refsEnd) refs.push(reader.varint());
      if (reader.offset !== refsEnd) reader.fail('packed exemplar labels_refs overrun');
    } else if (key === 0x08) refs.push(reader.varint());
    else if (key === 0x11) value = reader.double(end);
    else if (key === 0x18) timestampMs = reader.int64();
    else reader.skip(key & 7, end);
  }
  if (refs.length % 2 !== 0) reader.fail(`exemplar labels_refs has an odd length ${refs.length}`);
  const labels: Labels = {};
  for (let i = 0; i < refs.length; i += 2) addLabel(reader, labels, symbol(refs[i]!, 'exemplar labels_refs'), symbol(refs[i + 1]!, 'exemplar labels_refs'));
  return { labels, value, timestampMs };
}

function labelsText(labels: Labels): string {
  return '{' + Object.keys(labels).map((name) => `${name}=${JSON.stringify(labels[name])}`).join(', ') + '}';
}

function addLabel(reader: Reader, labels: Labels, name: string, value: string): void {
  if (Object.hasOwn(labels, name)) reader.fail(`duplicate label name ${JSON.stringify(name)} in series ${labelsText(labels)}`);
  labels[name] = value;
}

/**
 * Caches decoded label sets by their raw bytes across requests: a sender repeats each series' labels
 * in every request, and decoding them (UTF-8 strings, a fresh object) was the largest share of
 * receive time. A hit returns the same (immutable) object, which the TSDB then finds by identity.
 * Entries are found by a hash of the bytes in an open-addressing table of entry numbers, and a hash
 * match is verified by reading the bytes against the entry's labels in place (labelsMatchBytes):
 * no copy of the bytes is kept. The copy, its offsets and a Map entry cost ~200 bytes a series
 * beside the labels themselves (bench/tsdb-head-memory.ts). Cleared whole at `maxEntries`.
 */
export class LabelCache {
  /** Entry number + 1 by hash slot (0: empty), linear probing; a power of two, at most half full. */
  private table = new Int32Array(INITIAL_TABLE_SLOTS);
  /** Per entry: its hash (a probe passes entries of other hashes without reading their labels). */
  private hashes = new Uint32Array(INITIAL_TABLE_SLOTS / 2);
  private labels: Labels[] = [];
  /**
   * One copy of each label name and value: a decoded string is a fresh copy, and values such as
   * `job="dcgm"` or a GPU model name repeat across every series of a node (~300 bytes a series).
   */
  private readonly strings = new Map<string, string>();
  private readonly maxEntries: number;

  constructor(maxEntries = 2_000_000) {
    this.maxEntries = maxEntries;
  }

  get size(): number {
    return this.labels.length;
  }

  /** The labels cached for the Label fields in body[start, end) (a TimeSeries' labels), `hash` = hashBytes of that range. */
  get(body: Buffer, start: number, end: number, hash: number): Labels | undefined {
    const table = this.table;
    const mask = table.length - 1;
    // Bounded: the table always has empty slots.
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = table[slot]! - 1;
      if (entry < 0) return undefined;
      if (this.hashes[entry] === hash && labelsMatchBytes(body, start, end, this.labels[entry]!)) return this.labels[entry];
    }
  }

  intern(text: string): string {
    const known = this.strings.get(text);
    if (known !== undefined) return known;
    this.strings.set(text, text);
    return text;
  }

  /**
   * Caches `labels`, decoded from bytes get() did not find under `hash`; returns the object to use.
   * That is an entry of the same hash with the same labels when there is one (bytes that spell
   * them in a way labelsMatchBytes does not follow: one label set must stay one object), else `labels`.
   */
  set(hash: number, labels: Labels): Labels {
    if (this.labels.length >= this.maxEntries) this.clear();
    let mask = this.table.length - 1;
    let slot = hash & mask;
    // Bounded: the table always has empty slots.
    for (; this.table[slot] !== 0; slot = (slot + 1) & mask) {
      const entry = this.table[slot]! - 1;
      if (this.hashes[entry] === hash && sameLabels(this.labels[entry]!, labels)) return this.labels[entry]!;
    }
    const at = this.labels.length;
    if ((at + 1) * 2 > this.table.length) {
      this.rehash(this.table.length * 2);
      mask = this.table.length - 1;
      for (slot = hash & mask; this.table[slot] !== 0; slot = (slot + 1) & mask);
    }
    if (at === this.hashes.length) this.hashes = grown(this.hashes, new Uint32Array(at * 2));
    this.hashes[at] = hash;
    this.labels.push(labels);
    this.table[slot] = at + 1;
    return labels;
  }

  /** Moves every entry to a table of `slots` slots. */
  private rehash(slots: number): void {
    const table = new Int32Array(slots);
    const mask = slots - 1;
    for (let entry = 0; entry < this.labels.length; entry++) {
      let slot = this.hashes[entry]! & mask;
      while (table[slot] !== 0) slot = (slot + 1) & mask;
      table[slot] = entry + 1;
    }
    this.table = table;
  }

  private clear(): void {
    this.table = new Int32Array(INITIAL_TABLE_SLOTS);
    this.hashes = new Uint32Array(INITIAL_TABLE_SLOTS / 2);
    this.labels = [];
    this.strings.clear();
  }
}

const INITIAL_TABLE_SLOTS = 2048;

/**
 * Whether decoding the Label fields in body[start, end) (as decodeLabelsV1 does) gives `labels`, read
 * in place: the labels' names in their property order against the fields in wire order, each name and
 * value against its bytes. False for whatever it does not follow (a Label with other fields, names
 * that JavaScript orders apart from insertion, such as "1"): the caller then decodes.
 */
export function labelsMatchBytes(body: Buffer, start: number, end: number, labels: Labels): boolean {
  let offset = start;
  for (const name in labels) {
    // The range holds only Label fields (key 0x0a), as decodeWriteRequestV1Into found it.
    if (offset >= end || body[offset] !== 0x0a) return false;
    const labelLength = varintAt(body, offset + 1, end);
    if (labelLength < 0) return false;
    offset = varintEnd;
    const labelEnd = offset + labelLength;
    if (labelEnd > end) return false;
    // The last name and value fields count, as in decoding.
    let nameStart = offset;
    let nameEnd = offset;
    let valueStart = offset;
    let valueEnd = offset;
    while (offset < labelEnd) {
      const key = body[offset]!;
      if (key !== 0x0a && key !== 0x12) return false;
      const length = varintAt(body, offset + 1, labelEnd);
      if (length < 0 || varintEnd + length > labelEnd) return false;
      if (key === 0x0a) {
        nameStart = varintEnd;
        nameEnd = varintEnd + length;
      } else {
        valueStart = varintEnd;
        valueEnd = varintEnd + length;
      }
      offset = varintEnd + length;
    }
    if (!textMatchesBytes(body, nameStart, nameEnd, name) || !textMatchesBytes(body, valueStart, valueEnd, labels[name]!)) return false;
  }
  return offset === end;
}

/** Where the last varintAt() ended. */
let varintEnd = 0;

/** The varint at `offset`, of at most 5 bytes (a length; senders may pad them), -1 when malformed; sets varintEnd. */
function varintAt(body: Buffer, offset: number, end: number): number {
  let value = 0;
  let multiplier = 1;
  for (let i = 0; i < 5; i++) {
    if (offset >= end) return -1;
    const byte = body[offset++]!;
    value += (byte & 0x7f) * multiplier;
    if (byte < 0x80) {
      varintEnd = offset;
      return value;
    }
    multiplier *= 128;
  }
  return -1;
}

/** Whether body[start, end) decodes (UTF-8) to `text`, compared in place when it is ASCII. */
function textMatchesBytes(body: Buffer, start: number, end: number, text: string): boolean {
  const length = text.length;
  if (length !== end - start) return textMatchesUtf8(body, start, end, text);
  for (let i = 0; i < length; i++) {
    // Equal ASCII: one test (a byte of 0x80 or more is never a whole character).
    const byte = body[start + i]!;
    if (((byte ^ text.charCodeAt(i)) | (byte & 0x80)) !== 0) return textMatchesUtf8(body, start, end, text);
  }
  return true;
}

/** The same, decoding: for text that is not ASCII (or bytes that differ). */
function textMatchesUtf8(body: Buffer, start: number, end: number, text: string): boolean {
  // A UTF-16 code unit takes at least one UTF-8 byte; ASCII text is its bytes.
  if (text.length > end - start) return false;
  let ascii = true;
  for (let i = 0; i < text.length && ascii; i++) ascii = text.charCodeAt(i) < 0x80;
  return !ascii && body.toString('utf8', start, end) === text;
}

/** A 32-bit multiplicative hash of a byte range, four bytes a step (collisions are verified). */
function hashBytes(bytes: Buffer, start: number, end: number): number {
  let hash = 0x811c9dc5 ^ (end - start);
  let i = start;
  for (; i + 4 <= end; i += 4) {
    hash = Math.imul(hash ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)), 0x5bd1e995);
    hash ^= hash >>> 15;
  }
  for (; i < end; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
  return hash >>> 0;
}

function decodeLabelsV1(reader: Reader, start: number, end: number, into: Labels, cache?: LabelCache): void {
  reader.offset = start;
  while (reader.offset < end) {
    const fieldKey = reader.varint();
    if (fieldKey !== 0x0a) {
      reader.skip(fieldKey & 7, end);
      continue;
    }
    const labelEnd = reader.lengthEnd(end);
    let name = '';
    let value = '';
    while (reader.offset < labelEnd) {
      const labelKey = reader.varint();
      if (labelKey === 0x0a) name = reader.string(labelEnd);
      else if (labelKey === 0x12) value = reader.string(labelEnd);
      else reader.skip(labelKey & 7, labelEnd);
    }
    if (cache === undefined) addLabel(reader, into, name, value);
    else addLabel(reader, into, cache.intern(name), cache.intern(value));
  }
}

/** Decodes an uncompressed prometheus.WriteRequest (remote write 1.0). */
export function decodeWriteRequestV1(body: Buffer, labelCache?: LabelCache): RemoteWriteRequest {
  const columns = new RemoteWriteColumns();
  decodeWriteRequestV1Into(body, columns, labelCache);
  return columns.toRequest();
}

/** Decodes an uncompressed prometheus.WriteRequest (remote write 1.0) into `columns` (reset first). */
export function decodeWriteRequestV1Into(body: Buffer, columns: RemoteWriteColumns, labelCache?: LabelCache): void {
  columns.reset();
  const reader = new Reader(body, 'prometheus.WriteRequest');
  const limit = body.length;
  while (reader.offset < limit) {
    const key = reader.varint();
    if (key === 0x0a) {
      const end = reader.lengthEnd(limit);
      const seriesStart = reader.offset;
      // First pass: where the labels are (senders write them first and contiguous).
      let labelsStart = -1;
      let labelsEnd = -1;
      let contiguous = true;
      while (reader.offset < end) {
        const fieldStart = reader.offset;
        const fieldKey = reader.varint();
        if (fieldKey === 0x0a) {
          if (labelsStart < 0) labelsStart = fieldStart;
          else if (labelsEnd !== fieldStart) contiguous = false;
          reader.offset = reader.lengthEnd(end);
          labelsEnd = reader.offset;
        } else reader.skip(fieldKey & 7, end);
      }
      let labels: Labels;
      let interned = false;
      if (labelsStart >= 0 && contiguous && labelCache !== undefined) {
        const hash = hashBytes(body, labelsStart, labelsEnd);
        const cached = labelCache.get(body, labelsStart, labelsEnd, hash);
        if (cached !== undefined) labels = cached;
        else {
          labels = {};
          decodeLabelsV1(reader, labelsStart, labelsEnd, labels, labelCache);
          labels = labelCache.set(hash, labels);
        }
        interned = true;
      } else {
        labels = {};
        if (labelsStart >= 0) decodeLabelsV1(reader, seriesStart, end, labels);
      }
      const index = columns.startSeries(labels, interned);
      reader.offset = seriesStart;
      while (reader.offset < end) {
        const fieldKey = reader.varint();
        if (fieldKey === 0x12) {
          const sampleEnd = reader.lengthEnd(end);
          decodeSampleInto(reader, sampleEnd, columns);
          reader.offset = sampleEnd;
        } else if (fieldKey === 0x1a) {
          const exemplarEnd = reader.lengthEnd(end);
          addExemplar(columns, index, decodeExemplarV1(reader, exemplarEnd));
          reader.offset = exemplarEnd;
        } else if (fieldKey === 0x22) {
          reader.offset = reader.lengthEnd(end);
          columns.histograms[index]!++;
        } else reader.skip(fieldKey & 7, end);
      }
      columns.sampleEnd[index] = columns.sampleCount;
    } else if (key === 0x1a) {
      const end = reader.lengthEnd(limit);
      const entry: RemoteWriteMetadata = { family: '', type: 'unknown', help: '', unit: '' };
      while (reader.offset < end) {
        const fieldKey = reader.varint();
        if (fieldKey === 0x08) entry.type = METRIC_TYPES[reader.varint()] ?? 'unknown';
        else if (fieldKey === 0x12) entry.family = reader.string(end);
        else if (fieldKey === 0x22) entry.help = reader.string(end);
        else if (fieldKey === 0x2a) entry.unit = reader.string(end);
        else reader.skip(fieldKey & 7, end);
      }
      if (entry.family !== '') columns.metadata.push(entry);
    } else {
      reader.skip(key & 7, limit);
    }
  }
}

function addExemplar(columns: RemoteWriteColumns, series: number, exemplar: RemoteWriteExemplar): void {
  const list = columns.exemplars.get(series);
  if (list === undefined) columns.exemplars.set(series, [exemplar]);
  else list.push(exemplar);
}

/** Decodes an uncompressed io.prometheus.write.v2.Request (remote write 2.0). */
export function decodeWriteRequestV2(body: Buffer): RemoteWriteRequest {
  const columns = new RemoteWriteColumns();
  decodeWriteRequestV2Into(body, columns);
  return columns.toRequest();
}

/** Decodes an uncompressed io.prometheus.write.v2.Request (remote write 2.0) into `columns` (reset first). */
export function decodeWriteRequestV2Into(body: Buffer, columns: RemoteWriteColumns): void {
  columns.reset();
  const reader = new Reader(body, 'io.prometheus.write.v2.Request');
  const limit = body.length;
  // Symbols may come after the series on the wire: collect the series' spans, resolve afterwards.
  const symbols: string[] = [];
  const seriesSpans: number[] = [];
  while (reader.offset < limit) {
    const key = reader.varint();
    if (key === 0x22) symbols.push(reader.string(limit));
    else if (key === 0x2a) {
      const start = reader.offset;
      const end = reader.lengthEnd(limit);
      seriesSpans.push(start);
      reader.offset = end;
    } else reader.skip(key & 7, limit);
  }
  if (symbols.length > 0 && symbols[0] !== '') throw new RemoteWriteDecodeError('malformed io.prometheus.write.v2.Request: symbols[0] must be the empty string');
  const symbol = (ref: number, what: string): string => {
    if (ref >= symbols.length) reader.fail(`${what} refers to symbol ${ref} of ${symbols.length}`);
    return symbols[ref]!;
  };
  const refs: number[] = [];
  for (const start of seriesSpans) {
    reader.offset = start;
    const end = reader.lengthEnd(limit);
    refs.length = 0;
    let histograms = 0;
    let meta: { type: string; helpRef: number; unitRef: number } | undefined;
    let exemplarSpans: number[] | undefined;
    // Samples go to the columns as they come; the series row is added once its labels are known.
    while (reader.offset < end) {
      const fieldKey = reader.varint();
      if (fieldKey === 0x0a) {
        const refsEnd = reader.lengthEnd(end);
        while (reader.offset < refsEnd) refs.push(reader.varint());
        if (reader.offset !== refsEnd) reader.fail('packed labels_refs overrun');
      } else if (fieldKey === 0x08) refs.push(reader.varint());
      else if (fieldKey === 0x12) {
        const sampleEnd = reader.lengthEnd(end);
        decodeSampleInto(reader, sampleEnd, columns);
        reader.offset = sampleEnd;
      } else if (fieldKey === 0x1a) {
        reader.offset = reader.lengthEnd(end);
        histograms++;
      } else if (fieldKey === 0x22) {
        const exemplarEnd = reader.lengthEnd(end);
        (exemplarSpans ??= []).push(reader.offset, exemplarEnd);
        reader.offset = exemplarEnd;
      } else if (fieldKey === 0x2a) {
        const metaEnd = reader.lengthEnd(end);
        meta = { type: 'unknown', helpRef: 0, unitRef: 0 };
        while (reader.offset < metaEnd) {
          const metaKey = reader.varint();
          if (metaKey === 0x08) meta.type = METRIC_TYPES[reader.varint()] ?? 'unknown';
          else if (metaKey === 0x18) meta.helpRef = reader.varint();
          else if (metaKey === 0x20) meta.unitRef = reader.varint();
          else reader.skip(metaKey & 7, metaEnd);
        }
      } else reader.skip(fieldKey & 7, end);
    }
    if (refs.length % 2 !== 0) reader.fail(`labels_refs has an odd length ${refs.length}`);
    const labels: Labels = {};
    for (let i = 0; i < refs.length; i += 2) addLabel(reader, labels, symbol(refs[i]!, 'labels_refs'), symbol(refs[i + 1]!, 'labels_refs'));
    const sampleCount = columns.sampleCount;
    const index = columns.startSeries(labels, false);
    columns.sampleEnd[index] = sampleCount;
    columns.histograms[index] = histograms;
    if (exemplarSpans !== undefined) {
      for (let i = 0; i < exemplarSpans.length; i += 2) {
        reader.offset = exemplarSpans[i]!;
        addExemplar(columns, index, decodeExemplarV2(reader, exemplarSpans[i + 1]!, symbol));
      }
    }
    if (meta !== undefined && labels.__name__ !== undefined && (meta.type !== 'unknown' || meta.helpRef !== 0 || meta.unitRef !== 0)) {
      columns.metadata.push({ family: familyOf(labels.__name__, meta.type), type: meta.type, help: symbol(meta.helpRef, 'help_ref'), unit: symbol(meta.unitRef, 'unit_ref') });
    }
  }
}

/** The metric family of a series name: classic histogram and summary series share their base name. */
function familyOf(name: string, type: string): string {
  if (type === 'histogram' || type === 'gaugehistogram' || type === 'summary') {
    for (const suffix of ['_bucket', '_count', '_sum']) if (name.endsWith(suffix)) return name.slice(0, -suffix.length);
  }
  return name;
}

/**
 * Uncompresses a snappy block body, refusing one whose declared size (the block format's leading
 * varint) is past `maxBytes` before inflating anything.
 */
export function uncompressRemoteWrite(body: Buffer, maxBytes: number): Buffer {
  let declared = 0;
  let multiplier = 1;
  for (let i = 0; ; i++) {
    if (i >= 5 || i >= body.length) throw new RemoteWriteDecodeError('malformed snappy body: no valid length header (is the body snappy block-compressed?)');
    const byte = body[i]!;
    declared += (byte & 0x7f) * multiplier;
    if (byte < 0x80) break;
    multiplier *= 128;
  }
  if (declared > maxBytes) throw new RemoteWriteDecodeError(`decompressed body would be ${declared} bytes, more than the limit of ${maxBytes}`);
  try {
    return snappy.uncompressSync(body, { asBuffer: true }) as Buffer;
  } catch (error) {
    throw new RemoteWriteDecodeError(`malformed snappy body: ${(error as Error).message}`);
  }
}
