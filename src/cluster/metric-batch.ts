// What one metrics WAL batch holds: one tenant's series of one partition (remote_write, Pushgateway
// samples, recording rules), on the same partition subject as log batches. A log batch starts with
// its record's u64 sequence, which is 0 in the cluster WAL, so a batch starting with METRIC_MAGIC
// (never eight zero bytes) is a metrics batch.
//   magic(8) | str tenant | u32 seriesCount | per series:
//     u16 labelCount | (str name, str value)* | u32 sampleCount | per sample: f64 timestampMs | f64 value | u8 stale
//     u32 exemplarCount | per exemplar: u16 labelCount | (str, str)* | f64 timestampMs | f64 value
// str = u32 byte length + UTF-8. A series goes to the partition of a hash of its tenant and sorted
// labels, so every sample of a series has one owner.

import { createHash } from 'node:crypto';
import type { AppendSeries, Labels, MetricExemplar, MetricSample } from '../tsdb/types.ts';

export const METRIC_MAGIC = Buffer.from('RSMETR01', 'latin1');

export interface MetricBatch {
  partition: number;
  payload: Buffer;
  messageId: string;
  samples: number;
}

export class MetricBatchError extends Error {
  override name = 'MetricBatchError';
}

/** Whether a WAL payload is a metrics batch (else a log batch). */
export function isMetricBatch(payload: Uint8Array): boolean {
  if (payload.length < METRIC_MAGIC.length) return false;
  for (let i = 0; i < METRIC_MAGIC.length; i++) if (payload[i] !== METRIC_MAGIC[i]) return false;
  return true;
}

/** FNV-1a (32 bit) over tenant and the sorted non-empty labels: fast, and the same on every replica. */
export function metricPartitionOf(tenant: string, labels: Labels, partitions: number): number {
  let hash = 0x811c9dc5;
  const mix = (text: string): void => {
    for (let i = 0; i < text.length; i++) {
      hash ^= text.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193);
    }
    hash ^= 0xff;
    hash = Math.imul(hash, 0x01000193);
  };
  mix(tenant);
  for (const name of Object.keys(labels).sort()) {
    const value = labels[name]!;
    if (value === '') continue;
    mix(name);
    mix(value);
  }
  return (hash >>> 0) % partitions;
}

class Writer {
  private buffer = Buffer.allocUnsafe(4096);
  offset = 0;

  private ensure(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
  }

  bytes(data: Buffer): void {
    this.ensure(data.length);
    data.copy(this.buffer, this.offset);
    this.offset += data.length;
  }

  string(text: string): void {
    this.ensure(4 + text.length * 3);
    const length = this.buffer.write(text, this.offset + 4, 'utf8');
    this.buffer.writeUInt32LE(length, this.offset);
    this.offset += 4 + length;
  }

  u8(value: number): void {
    this.ensure(1);
    this.buffer[this.offset++] = value;
  }

  u16(value: number): void {
    this.ensure(2);
    this.buffer.writeUInt16LE(value, this.offset);
    this.offset += 2;
  }

  u32(value: number): void {
    this.ensure(4);
    this.buffer.writeUInt32LE(value, this.offset);
    this.offset += 4;
  }

  f64(value: number): void {
    this.ensure(8);
    this.buffer.writeDoubleLE(value, this.offset);
    this.offset += 8;
  }

  labels(labels: Labels): void {
    const names = Object.keys(labels);
    if (names.length > 0xffff) throw new MetricBatchError(`a series has ${names.length} labels, more than ${0xffff}`);
    this.u16(names.length);
    for (const name of names) {
      this.string(name);
      this.string(labels[name]!);
    }
  }

  done(): Buffer {
    return Buffer.from(this.buffer.subarray(0, this.offset));
  }
}

/** Bytes of a sample and of a series beyond its labels, for sizing batches. */
const SAMPLE_BYTES = 17;
const SERIES_OVERHEAD_BYTES = 16;

function seriesBytes(series: AppendSeries): number {
  let bytes = SERIES_OVERHEAD_BYTES + series.samples.length * SAMPLE_BYTES;
  for (const name in series.labels) bytes += 8 + name.length + series.labels[name]!.length;
  for (const exemplar of series.exemplars ?? []) {
    bytes += 18;
    for (const name in exemplar.labels) bytes += 8 + name.length + exemplar.labels[name]!.length;
  }
  return bytes;
}

/**
 * Splits series by partition and, within a partition, into batches of at most half of
 * maxPayloadBytes (sizes are estimated in UTF-16 units: half leaves room for multi-byte text). A
 * series too big for one batch is split by samples.
 */
export function encodeMetricBatches(tenant: string, series: readonly AppendSeries[], partitions: number, maxPayloadBytes: number): MetricBatch[] {
  const byPartition = new Map<number, AppendSeries[]>();
  for (const entry of series) {
    if (entry.samples.length === 0 && (entry.exemplars === undefined || entry.exemplars.length === 0)) continue;
    const partition = metricPartitionOf(tenant, entry.labels, partitions);
    let list = byPartition.get(partition);
    if (list === undefined) byPartition.set(partition, (list = []));
    list.push(entry);
  }
  const budgetBytes = Math.max(1024, Math.floor(maxPayloadBytes / 2));
  const batches: MetricBatch[] = [];
  for (const [partition, list] of byPartition) {
    let group: AppendSeries[] = [];
    let groupBytes = 0;
    const close = (): void => {
      if (group.length === 0) return;
      const payload = encodeGroup(tenant, group);
      if (payload.length > maxPayloadBytes) throw new MetricBatchError(`a metrics batch of ${payload.length} bytes passes the WAL's payload limit of ${maxPayloadBytes} bytes`);
      batches.push({ partition, payload, messageId: createHash('sha256').update(payload).digest('base64url'), samples: group.reduce((sum, entry) => sum + entry.samples.length, 0) });
      group = [];
      groupBytes = 0;
    };
    for (const entry of list) {
      for (const piece of splitSeries(entry, budgetBytes)) {
        const bytes = seriesBytes(piece);
        if (groupBytes + bytes > budgetBytes) close();
        group.push(piece);
        groupBytes += bytes;
      }
    }
    close();
  }
  return batches;
}

function splitSeries(series: AppendSeries, budgetBytes: number): AppendSeries[] {
  if (seriesBytes(series) <= budgetBytes) return [series];
  const labelBytes = seriesBytes({ labels: series.labels, samples: [] });
  const perPiece = Math.max(1, Math.floor((budgetBytes - labelBytes) / SAMPLE_BYTES));
  const pieces: AppendSeries[] = [];
  for (let from = 0; from < series.samples.length; from += perPiece) pieces.push({ labels: series.labels, samples: series.samples.slice(from, from + perPiece) });
  if (series.exemplars !== undefined && series.exemplars.length > 0) pieces.push({ labels: series.labels, samples: [], exemplars: series.exemplars });
  return pieces;
}

function encodeGroup(tenant: string, group: readonly AppendSeries[]): Buffer {
  const writer = new Writer();
  writer.bytes(METRIC_MAGIC);
  writer.string(tenant);
  writer.u32(group.length);
  for (const entry of group) {
    writer.labels(entry.labels);
    writer.u32(entry.samples.length);
    for (const sample of entry.samples) {
      writer.f64(sample.timestampMs);
      writer.f64(sample.value);
      writer.u8(sample.stale === true ? 1 : 0);
    }
    const exemplars = entry.exemplars ?? [];
    writer.u32(exemplars.length);
    for (const exemplar of exemplars) {
      writer.labels(exemplar.labels);
      writer.f64(exemplar.timestampMs);
      writer.f64(exemplar.value);
    }
  }
  return writer.done();
}

/** Decodes a metrics batch; every count is bounded by the bytes that are there. */
export function decodeMetricBatch(payload: Uint8Array): { tenant: string; series: AppendSeries[] } {
  const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  if (!isMetricBatch(bytes)) throw new MetricBatchError('not a metrics batch (magic missing)');
  let offset = METRIC_MAGIC.length;
  const need = (count: number, what: string): void => {
    if (offset + count > bytes.length) throw new MetricBatchError(`metrics batch truncated at byte ${offset}: ${what} needs ${count} bytes, ${bytes.length - offset} left`);
  };
  const u8 = (): number => {
    need(1, 'u8');
    return bytes[offset++]!;
  };
  const u16 = (): number => {
    need(2, 'u16');
    const value = bytes.readUInt16LE(offset);
    offset += 2;
    return value;
  };
  const u32 = (what: string, minItemBytes: number): number => {
    need(4, what);
    const value = bytes.readUInt32LE(offset);
    offset += 4;
    if (value * minItemBytes > bytes.length - offset) throw new MetricBatchError(`metrics batch at byte ${offset - 4}: ${what} ${value} passes the ${bytes.length - offset} bytes left`);
    return value;
  };
  const f64 = (): number => {
    need(8, 'f64');
    const value = bytes.readDoubleLE(offset);
    offset += 8;
    return value;
  };
  const string = (): string => {
    const length = u32('string length', 1);
    const text = bytes.toString('utf8', offset, offset + length);
    offset += length;
    return text;
  };
  const labels = (): Labels => {
    const count = u16();
    if (count * 8 > bytes.length - offset) throw new MetricBatchError(`metrics batch at byte ${offset - 2}: label count ${count} passes the bytes left`);
    const result: Labels = {};
    for (let i = 0; i < count; i++) {
      const name = string();
      result[name] = string();
    }
    return result;
  };
  const tenant = string();
  const seriesCount = u32('series count', 10);
  const series: AppendSeries[] = [];
  for (let s = 0; s < seriesCount; s++) {
    const entryLabels = labels();
    const sampleCount = u32('sample count', SAMPLE_BYTES);
    const samples: MetricSample[] = new Array(sampleCount);
    for (let i = 0; i < sampleCount; i++) {
      const timestampMs = f64();
      const value = f64();
      samples[i] = u8() === 1 ? { timestampMs, value, stale: true } : { timestampMs, value };
    }
    const exemplarCount = u32('exemplar count', 18);
    const entry: AppendSeries = { labels: entryLabels, samples };
    if (exemplarCount > 0) {
      const exemplars: MetricExemplar[] = [];
      for (let i = 0; i < exemplarCount; i++) {
        const exemplarLabels = labels();
        const timestampMs = f64();
        exemplars.push({ labels: exemplarLabels, timestampMs, value: f64() });
      }
      entry.exemplars = exemplars;
    }
    series.push(entry);
  }
  if (offset !== bytes.length) throw new MetricBatchError(`metrics batch has ${bytes.length - offset} bytes after its last series`);
  return { tenant, series };
}
