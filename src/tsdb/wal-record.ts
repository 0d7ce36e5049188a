// TSDB WAL record payload: what one append() made durable.
//   u8 version (1) | f64 seq | u32 seriesCount | per new series:
//     u32 id | str tenant | u16 labelCount | (str name, str value)*
//   u32 sampleCount | per sample: u32 series id | f64 timestampMs | f64 value | u8 flags (1 = stale)
//   [u32 exemplarCount | per exemplar: str tenant | labels (series) | labels (exemplar) |
//    f64 timestampMs | f64 value]   optional: records without exemplars end after the samples
// labels = u16 labelCount | (str name, str value)*. Exemplars name their series by labels, not by id,
// so a segment preamble can carry the stored exemplars of series the head has already dropped.
// str = u32 byte length + UTF-8. A series appears once, in the record of the append that created it
// (and again at the start of each new segment, so truncating old segments never orphans a sample).
// Framing (length + CRC-32) is wal.ts's business; every read here is bounded by the payload.

import type { Labels } from './types.ts';

const VERSION = 1;
const SAMPLE_BYTES = 4 + 8 + 8 + 1;

export interface WalSeriesEntry {
  id: number;
  tenant: string;
  labels: Labels;
}

export interface WalSamples {
  ids: Uint32Array;
  timestampsMs: Float64Array;
  values: Float64Array;
  stale: Uint8Array;
  count: number;
}

export interface WalExemplar {
  tenant: string;
  seriesLabels: Labels;
  labels: Labels;
  timestampMs: number;
  value: number;
}

export interface TsdbWalRecord {
  seq: number;
  series: WalSeriesEntry[];
  samples: WalSamples;
  exemplars?: WalExemplar[];
}

export class TsdbWalRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TsdbWalRecordError';
  }
}

/** Encodes after `headroomBytes` of space left for the frame header; returns the whole buffer. */
/** `allocate`: where the buffer comes from (the WAL gives large frames memory of their own, to free once written). */
export function encodeTsdbWalRecord(record: TsdbWalRecord, headroomBytes: number, allocate: (bytes: number) => Buffer = Buffer.allocUnsafe): Buffer {
  let estimate = headroomBytes + 1 + 8 + 4 + 4 + record.samples.count * SAMPLE_BYTES;
  for (const entry of record.series) {
    estimate += 4 + 4 + entry.tenant.length * 3 + 2;
    for (const name in entry.labels) estimate += 8 + (name.length + entry.labels[name]!.length) * 3;
  }
  const exemplars = record.exemplars ?? [];
  if (exemplars.length > 0) estimate += 4;
  for (const exemplar of exemplars) {
    estimate += 4 + exemplar.tenant.length * 3 + 4 + 16;
    for (const name in exemplar.seriesLabels) estimate += 8 + (name.length + exemplar.seriesLabels[name]!.length) * 3;
    for (const name in exemplar.labels) estimate += 8 + (name.length + exemplar.labels[name]!.length) * 3;
  }
  const buffer = allocate(estimate);
  let offset = headroomBytes;
  buffer.writeUInt8(VERSION, offset);
  buffer.writeDoubleLE(record.seq, offset + 1);
  buffer.writeUInt32LE(record.series.length, offset + 9);
  offset += 13;
  const writeString = (text: string): void => {
    const written = buffer.write(text, offset + 4, 'utf8');
    buffer.writeUInt32LE(written, offset);
    offset += 4 + written;
  };
  const writeLabels = (labels: Labels): void => {
    const names = Object.keys(labels);
    buffer.writeUInt16LE(names.length, offset);
    offset += 2;
    for (const name of names) {
      writeString(name);
      writeString(labels[name]!);
    }
  };
  for (const entry of record.series) {
    buffer.writeUInt32LE(entry.id, offset);
    offset += 4;
    writeString(entry.tenant);
    writeLabels(entry.labels);
  }
  const { ids, timestampsMs, values, stale, count } = record.samples;
  buffer.writeUInt32LE(count, offset);
  offset += 4;
  for (let i = 0; i < count; i++) {
    buffer.writeUInt32LE(ids[i]!, offset);
    buffer.writeDoubleLE(timestampsMs[i]!, offset + 4);
    buffer.writeDoubleLE(values[i]!, offset + 12);
    buffer.writeUInt8(stale[i]!, offset + 20);
    offset += SAMPLE_BYTES;
  }
  if (exemplars.length > 0) {
    buffer.writeUInt32LE(exemplars.length, offset);
    offset += 4;
    for (const exemplar of exemplars) {
      writeString(exemplar.tenant);
      writeLabels(exemplar.seriesLabels);
      writeLabels(exemplar.labels);
      buffer.writeDoubleLE(exemplar.timestampMs, offset);
      buffer.writeDoubleLE(exemplar.value, offset + 8);
      offset += 16;
    }
  }
  return buffer.subarray(0, offset);
}

/** With `withSamples` false, the samples are skipped (the series pass of a replay). */
export function decodeTsdbWalRecord(payload: Buffer, withSamples = true): TsdbWalRecord {
  let offset = 0;
  const need = (bytes: number): void => {
    if (offset + bytes > payload.length) throw new TsdbWalRecordError(`record truncated at byte ${offset} (need ${bytes} of ${payload.length})`);
  };
  const readString = (): string => {
    need(4);
    const length = payload.readUInt32LE(offset);
    need(4 + length);
    const text = payload.toString('utf8', offset + 4, offset + 4 + length);
    offset += 4 + length;
    return text;
  };
  need(13);
  const version = payload.readUInt8(0);
  if (version !== VERSION) throw new TsdbWalRecordError(`unknown record version ${version}`);
  const seq = payload.readDoubleLE(1);
  const seriesCount = payload.readUInt32LE(9);
  offset = 13;
  const series: WalSeriesEntry[] = [];
  const readLabels = (): Labels => {
    need(2);
    const labelCount = payload.readUInt16LE(offset);
    offset += 2;
    const labels: Labels = {};
    for (let l = 0; l < labelCount; l++) {
      const name = readString();
      labels[name] = readString();
    }
    return labels;
  };
  for (let s = 0; s < seriesCount; s++) {
    need(4);
    const id = payload.readUInt32LE(offset);
    offset += 4;
    const tenant = readString();
    series.push({ id, tenant, labels: readLabels() });
  }
  need(4);
  const count = payload.readUInt32LE(offset);
  offset += 4;
  need(count * SAMPLE_BYTES);
  if (!withSamples) return { seq, series, samples: { ids: new Uint32Array(0), timestampsMs: new Float64Array(0), values: new Float64Array(0), stale: new Uint8Array(0), count: 0 } };
  const samples: WalSamples = {
    ids: new Uint32Array(count),
    timestampsMs: new Float64Array(count),
    values: new Float64Array(count),
    stale: new Uint8Array(count),
    count,
  };
  for (let i = 0; i < count; i++) {
    samples.ids[i] = payload.readUInt32LE(offset);
    samples.timestampsMs[i] = payload.readDoubleLE(offset + 4);
    samples.values[i] = payload.readDoubleLE(offset + 12);
    samples.stale[i] = payload.readUInt8(offset + 20);
    offset += SAMPLE_BYTES;
  }
  if (offset === payload.length) return { seq, series, samples };
  need(4);
  const exemplarCount = payload.readUInt32LE(offset);
  offset += 4;
  need(exemplarCount * 24);
  const exemplars: WalExemplar[] = [];
  for (let e = 0; e < exemplarCount; e++) {
    const tenant = readString();
    const seriesLabels = readLabels();
    const labels = readLabels();
    need(16);
    exemplars.push({ tenant, seriesLabels, labels, timestampMs: payload.readDoubleLE(offset), value: payload.readDoubleLE(offset + 8) });
    offset += 16;
  }
  return { seq, series, samples, exemplars };
}
