// Encoders for remote write 1.0 and 2.0 bodies (the inverse of remote-write-decode.ts): used by the
// benchmark's sender and by tests that speak the protocol as a Prometheus would. A stale sample is
// written with the stale-NaN bits 0x7ff0000000000002.

import snappy from 'snappy';
import type { Labels } from './types.ts';
import type { RemoteWriteMetadata, RemoteWriteSample } from './remote-write-decode.ts';

export interface RemoteWriteSeriesInput {
  labels: Labels;
  samples: RemoteWriteSample[];
  /** 2.0 only: per-series metadata. */
  metadata?: Omit<RemoteWriteMetadata, 'family'>;
}

const METRIC_TYPES = ['unknown', 'counter', 'gauge', 'histogram', 'gaugehistogram', 'summary', 'info', 'stateset'];

class Writer {
  buffer = Buffer.allocUnsafe(4096);
  offset = 0;

  ensure(bytes: number): void {
    if (this.offset + bytes <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.offset + bytes));
    this.buffer.copy(grown, 0, 0, this.offset);
    this.buffer = grown;
  }

  varint(value: number): void {
    this.ensure(10);
    // Bounded: a number below 2^64 has at most 10 groups of 7 bits.
    while (value >= 0x80) {
      this.buffer[this.offset++] = (value % 128) | 0x80;
      value = Math.floor(value / 128);
    }
    this.buffer[this.offset++] = value;
  }

  int64(value: number): void {
    if (value >= 0) return this.varint(value);
    let big = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    while (big >= 0x80n) {
      this.buffer[this.offset++] = Number(big & 0x7fn) | 0x80;
      big >>= 7n;
    }
    this.buffer[this.offset++] = Number(big);
  }

  double(value: number, stale: boolean): void {
    this.ensure(8);
    if (stale) {
      this.buffer.writeUInt32LE(2, this.offset);
      this.buffer.writeUInt32LE(0x7ff00000, this.offset + 4);
    } else this.buffer.writeDoubleLE(value, this.offset);
    this.offset += 8;
  }

  string(key: number, text: string): void {
    const bytes = Buffer.byteLength(text);
    this.varint(key);
    this.varint(bytes);
    this.ensure(bytes);
    this.offset += this.buffer.write(text, this.offset, 'utf8');
  }

  /** Writes a length-delimited field whose body `write` produces (length patched afterwards). */
  message(key: number, write: () => void): void {
    this.varint(key);
    this.ensure(5);
    const lengthAt = this.offset;
    this.offset += 5; // room for a 5-byte varint, written padded
    const start = this.offset;
    write();
    let length = this.offset - start;
    for (let i = 0; i < 5; i++) {
      this.buffer[lengthAt + i] = (length & 0x7f) | (i < 4 ? 0x80 : 0);
      length >>>= 7;
    }
  }

  finish(): Buffer {
    return this.buffer.subarray(0, this.offset);
  }
}

function writeSamples(writer: Writer, samples: RemoteWriteSample[]): void {
  for (const sample of samples) {
    writer.message(0x12, () => {
      writer.varint(0x09);
      writer.double(sample.value, sample.stale === true);
      if (sample.timestampMs !== 0) {
        writer.varint(0x10);
        writer.int64(sample.timestampMs);
      }
    });
  }
}

/** prometheus.WriteRequest, uncompressed. Labels are written sorted by name, as the spec asks. */
export function encodeWriteRequestV1(series: RemoteWriteSeriesInput[], metadata: RemoteWriteMetadata[] = []): Buffer {
  const writer = new Writer();
  for (const entry of series) {
    writer.message(0x0a, () => {
      for (const name of Object.keys(entry.labels).sort()) {
        writer.message(0x0a, () => {
          writer.string(0x0a, name);
          writer.string(0x12, entry.labels[name]!);
        });
      }
      writeSamples(writer, entry.samples);
    });
  }
  for (const meta of metadata) {
    writer.message(0x1a, () => {
      writer.varint(0x08);
      writer.varint(Math.max(0, METRIC_TYPES.indexOf(meta.type)));
      writer.string(0x12, meta.family);
      if (meta.help !== '') writer.string(0x22, meta.help);
      if (meta.unit !== '') writer.string(0x2a, meta.unit);
    });
  }
  return writer.finish();
}

/** io.prometheus.write.v2.Request, uncompressed, with its symbols table ("" first). */
export function encodeWriteRequestV2(series: RemoteWriteSeriesInput[]): Buffer {
  const symbols = [''];
  const refs = new Map<string, number>([['', 0]]);
  const ref = (text: string): number => {
    let id = refs.get(text);
    if (id === undefined) {
      id = symbols.length;
      symbols.push(text);
      refs.set(text, id);
    }
    return id;
  };
  const body = new Writer();
  for (const entry of series) {
    body.message(0x2a, () => {
      body.message(0x0a, () => {
        for (const name of Object.keys(entry.labels).sort()) {
          body.varint(ref(name));
          body.varint(ref(entry.labels[name]!));
        }
      });
      writeSamples(body, entry.samples);
      if (entry.metadata !== undefined) {
        const meta = entry.metadata;
        body.message(0x2a, () => {
          body.varint(0x08);
          body.varint(Math.max(0, METRIC_TYPES.indexOf(meta.type)));
          body.varint(0x18);
          body.varint(ref(meta.help));
          body.varint(0x20);
          body.varint(ref(meta.unit));
        });
      }
    });
  }
  const writer = new Writer();
  for (const symbol of symbols) writer.string(0x22, symbol);
  const series2 = body.finish();
  writer.ensure(series2.length);
  series2.copy(writer.buffer, writer.offset);
  writer.offset += series2.length;
  return writer.finish();
}

export function snappyCompress(body: Buffer): Buffer {
  return snappy.compressSync(body) as Buffer;
}
