// The TSDB's write-ahead log: append-only segment files, frames of u32 payload length | u32 CRC-32 of
// the payload | payload (the log store's framing, src/store/wal.ts), payloads from wal-record.ts.
//
// Group commit: append() encodes and queues a record; one writer at a time writes everything queued
// with a single writev and a single fsync, then resolves those appends together, so concurrent
// remote_write requests share the fsync and each resolves only once its bytes are on disk.
// A failed write refuses every later append (the segment's state is unknown).

import { mkdir, open, readdir, readFile, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { syncDirectory } from '../objstore/filesystem-store.ts';
import { takeGroup, writeGroup } from '../store/group-commit.ts';
import { decodeTsdbWalRecord, encodeTsdbWalRecord, type TsdbWalRecord, type WalExemplar, type WalSamples, type WalSeriesEntry } from './wal-record.ts';

const SEGMENT_SUFFIX = '.wal';
const FRAME_HEADER_BYTES = 8;
/** Rotate at this size so a flush can free space in steps. */
const SEGMENT_TARGET_BYTES = 128 * 1024 * 1024;
/** Cap one group-commit write so a huge queue does not build one giant iovec. */

export interface TsdbWalOptions {
  directory: string;
  fsync: boolean;
  /** Sequence numbers start above this (the last seq already persisted in blocks). */
  minimumNextSeq: number;
  /** The live series, written at the start of every new segment so older segments can go. */
  liveSeries: () => WalSeriesEntry[];
  /** The stored exemplars, written with the live series so they outlive older segments. */
  liveExemplars?: () => WalExemplar[];
  onFsync?: (seconds: number) => void;
}

export interface TsdbWalReplayHandlers {
  series(entries: WalSeriesEntry[]): void;
  samples(seq: number, samples: WalSamples): void;
  exemplars?(entries: WalExemplar[]): void;
}

export interface TsdbWalReplay {
  records: number;
  corruptTails: string[];
}

interface Segment {
  path: string;
  /** Highest record seq written to it (−1 when none). */
  maxSeq: number;
}

interface Pending {
  frame: Buffer;
  seq: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

export class TsdbWal {
  private readonly options: TsdbWalOptions;
  private readonly segments: Segment[] = [];
  private file: FileHandle | undefined;
  private segmentBytes = 0;
  private segmentCounter = 0;
  private nextSeqValue = 0;
  private queue: Pending[] = [];
  private writing: Promise<void> | undefined;
  private rotations: Array<() => void> = [];
  private closed = false;
  private failure: Error | undefined;

  private constructor(options: TsdbWalOptions) {
    this.options = options;
  }

  /**
   * Replays in two passes over the intact frames: first every series definition, then every record's
   * samples in order (a kept segment may use a series first defined in a later segment's preamble).
   * A torn or corrupt frame ends its segment (it can only be the tail of a crashed write).
   */
  static async open(options: TsdbWalOptions, replay: TsdbWalReplayHandlers): Promise<{ wal: TsdbWal; replayed: TsdbWalReplay }> {
    const wal = new TsdbWal(options);
    await mkdir(options.directory, { recursive: true });
    const names = (await readdir(options.directory)).filter((name) => name.endsWith(SEGMENT_SUFFIX)).sort();
    const result: TsdbWalReplay = { records: 0, corruptTails: [] };
    let maxSeq = options.minimumNextSeq - 1;
    for (const pass of ['series', 'samples'] as const) {
      for (const name of names) {
        const path = join(options.directory, name);
        const bytes = await readFile(path);
        let segment: Segment | undefined;
        if (pass === 'series') {
          const counter = Number(name.slice(0, -SEGMENT_SUFFIX.length));
          if (Number.isSafeInteger(counter) && counter >= wal.segmentCounter) wal.segmentCounter = counter + 1;
          segment = { path, maxSeq: -1 };
          wal.segments.push(segment);
        }
        let offset = 0;
        while (offset < bytes.length) {
          let problem: string | undefined;
          const length = offset + FRAME_HEADER_BYTES <= bytes.length ? bytes.readUInt32LE(offset) : -1;
          const end = offset + FRAME_HEADER_BYTES + length;
          if (length < 0) problem = `torn frame header at byte ${offset}`;
          else if (end > bytes.length) problem = `torn frame at byte ${offset}`;
          else if (crc32(bytes.subarray(offset + FRAME_HEADER_BYTES, end)) !== bytes.readUInt32LE(offset + 4)) problem = `checksum mismatch at byte ${offset}`;
          if (problem !== undefined) {
            if (pass === 'series') result.corruptTails.push(`${path}: ${problem}`);
            break;
          }
          const record = decodeTsdbWalRecord(bytes.subarray(offset + FRAME_HEADER_BYTES, end), pass === 'samples');
          if (pass === 'series') {
            if (record.seq > segment!.maxSeq) segment!.maxSeq = record.seq;
            if (record.seq > maxSeq) maxSeq = record.seq;
            if (record.series.length > 0) replay.series(record.series);
            result.records++;
          } else {
            if (record.samples.count > 0) replay.samples(record.seq, record.samples);
            if (record.exemplars !== undefined && record.exemplars.length > 0) replay.exemplars?.(record.exemplars);
          }
          offset = end;
        }
      }
    }
    wal.nextSeqValue = maxSeq + 1;
    await wal.startSegment([], []);
    return { wal, replayed: result };
  }

  private async startSegment(preamble: WalSeriesEntry[], exemplars: WalExemplar[]): Promise<void> {
    if (this.file !== undefined) await this.file.close();
    const path = join(this.options.directory, String(this.segmentCounter++).padStart(12, '0') + SEGMENT_SUFFIX);
    this.file = await open(path, 'a');
    this.segmentBytes = 0;
    this.segments.push({ path, maxSeq: -1 });
    await syncDirectory(this.options.directory);
    if (preamble.length > 0 || exemplars.length > 0) {
      // The live series, so that samples in this segment resolve after older segments are deleted.
      const frame = frameOf({ seq: -1, series: preamble, samples: EMPTY_SAMPLES, exemplars });
      const frameBytes = frame.length;
      try {
        await this.file.write(frame);
        if (this.options.fsync) await this.file.datasync();
      } finally {
        releaseFrame(frame);
      }
      this.segmentBytes += frameBytes;
    }
  }

  /** The seq the next append gets; every record appended earlier has a lower one. */
  get nextSeq(): number {
    return this.nextSeqValue;
  }

  /** Assigns the record's seq, queues it, resolves once it is written and fsync'd. */
  append(record: Omit<TsdbWalRecord, 'seq'>): Promise<void> {
    if (this.closed) return Promise.reject(new Error('TSDB WAL is closed'));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const seq = this.nextSeqValue++;
    const frame = frameOf({ ...record, seq });
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ frame, seq, resolve, reject });
      this.writing ??= this.drain();
    });
  }

  /** Starts a new segment between group commits, beginning with the live series. */
  rotate(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.rotations.push(resolve);
      this.writing ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    await Promise.resolve();
    try {
      // Bounded: each pass serves a rotation or writes one group; appends after close are refused.
      for (;;) {
        if (this.rotations.length > 0) {
          const rotations = this.rotations.splice(0);
          if (this.failure === undefined) await this.startSegment(this.options.liveSeries(), this.options.liveExemplars?.() ?? []);
          for (const wake of rotations) wake();
          continue;
        }
        if (this.queue.length === 0) break;
        await this.writeGroup();
      }
    } finally {
      this.writing = undefined;
    }
  }

  private async writeGroup(): Promise<void> {
    const { group, bytes: groupBytes } = takeGroup(this.queue, (pending) => pending.frame.length);
    const segment = this.segments[this.segments.length - 1]!;
    try {
      await writeGroup(this.file!, group.map((pending) => pending.frame), groupBytes, this.options.fsync, this.options.onFsync);
      this.segmentBytes += groupBytes;
      for (const pending of group) if (pending.seq > segment.maxSeq) segment.maxSeq = pending.seq;
    } catch (error) {
      this.failure = new Error(`TSDB WAL write failed: ${(error as Error).message}`);
      for (const pending of group) pending.reject(this.failure);
      for (const pending of this.queue.splice(0)) pending.reject(this.failure);
      return;
    } finally {
      for (const pending of group) releaseFrame(pending.frame);
    }
    for (const pending of group) pending.resolve();
    if (this.segmentBytes >= SEGMENT_TARGET_BYTES) this.rotations.push(() => undefined);
  }

  /** Deletes closed segments whose records all have seq < `persistedBeforeSeq`. */
  async truncateBefore(persistedBeforeSeq: number): Promise<number> {
    let removed = 0;
    const active = this.segments[this.segments.length - 1];
    for (let i = 0; i < this.segments.length - 1; ) {
      const segment = this.segments[i]!;
      if (segment !== active && segment.maxSeq < persistedBeforeSeq) {
        await rm(segment.path, { force: true });
        this.segments.splice(i, 1);
        removed++;
      } else i++;
    }
    if (removed > 0) await syncDirectory(this.options.directory);
    return removed;
  }

  segmentCount(): number {
    return this.segments.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    // Bounded: each drain empties the queue and no appends are accepted after close.
    while (this.writing !== undefined) await this.writing;
    await this.file?.close();
    this.file = undefined;
  }
}

const EMPTY_SAMPLES = { ids: new Uint32Array(0), timestampsMs: new Float64Array(0), values: new Float64Array(0), stale: new Uint8Array(0), count: 0 };

/**
 * Frames of this size and more get memory of their own (never a slice of Node's shared allocation pool),
 * freed as soon as they are written (releaseFrame). A frame lives through its fsync, so it is promoted
 * out of V8's young generation, and promoted buffers wait for a full collection: every ~64 MB of
 * external memory, which on remote write ingest (a ~40 KB frame a 2,000-series request, ~20 MB a
 * segment preamble of 100,000 series) was that much of the server's RSS.
 */
const OWNED_FRAME_BYTES = 16 * 1024;

/** Memory allocateFrame gave frames of their own: only that may be freed (Node's pool is shared, and not detachable). */
const ownedFrameMemory = new WeakSet<ArrayBuffer>();

function allocateFrame(bytes: number): Buffer {
  if (bytes < OWNED_FRAME_BYTES) return Buffer.allocUnsafe(bytes);
  const frame = Buffer.allocUnsafeSlow(bytes);
  ownedFrameMemory.add(frame.buffer);
  return frame;
}

/** Frees a frame's own memory (a written frame is read by nothing after). */
function releaseFrame(frame: Buffer): void {
  const memory = frame.buffer;
  if (memory instanceof ArrayBuffer && ownedFrameMemory.delete(memory)) memory.transfer(0);
}

function frameOf(record: TsdbWalRecord): Buffer {
  const frame = encodeTsdbWalRecord(record, FRAME_HEADER_BYTES, allocateFrame);
  const payload = frame.subarray(FRAME_HEADER_BYTES);
  frame.writeUInt32LE(payload.length, 0);
  frame.writeUInt32LE(crc32(payload), 4);
  return frame;
}

