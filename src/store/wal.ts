// Write-ahead log: append-only segment files under data_dir/wal, named by the first sequence number
// they may hold. Frame: u32 payload length | u32 CRC-32 of payload | payload.
//
// Group commit: append() queues an encoded record; one writer at a time writes everything queued with
// a single writev and a single fsync, then resolves all of those appends together. So concurrent
// pushes share the fsync cost, and an append resolves only once its bytes are on disk.
//
// A failed write (ENOSPC above all) rejects its group and whatever was queued behind it, then cuts
// the segment back to its last whole frame, so the next append may succeed once space returns: a
// full disk costs the pushes that hit it (never acknowledged, so nothing is lost), not a restart.

import { mkdir, open, readdir, readFile, rm, statfs, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { syncDirectory } from '../objstore/filesystem-store.ts';
import { decodeWalRecord, encodePushBodyRecordStart, encodeWalRecord, type WalRecord } from './wal-record.ts';
import { takeGroup, writeGroup } from './group-commit.ts';
import { releaseOwnedMemory } from './owned-buffer.ts';
import type { AppendStream } from './types.ts';

const SEGMENT_SUFFIX = '.wal';
const FRAME_HEADER_BYTES = 8;
/** Rotate segments at this size so truncation can free space in steps. */
const SEGMENT_TARGET_BYTES = 64 * 1024 * 1024;
/** Cap one group-commit write so a huge queue does not build one giant iovec. */
/**
 * Frame buffers are reused once their record is durable and copied into the head: a 1 MB push
 * otherwise allocates a fresh 1 MB off-heap buffer, and that external memory is what drives V8 into
 * extra collections during ingest. Small frames (< MIN) are cheap to allocate anyway;
 * frames above MAX (rare, huge pushes) are not kept, and the pool holds at most framePoolBytes.
 */
const DEFAULT_FRAME_POOL_BYTES = 8 * 4 * 1024 * 1024;
const MIN_POOLED_FRAME_BYTES = 64 * 1024;
const MAX_POOLED_FRAME_BYTES = 4 * 1024 * 1024;
const FRAME_CAPACITY_STEP_BYTES = 256 * 1024;

/** Span arrays below this are left to the young generation (and may live in V8's heap, not apart). */
const MIN_RELEASED_SPANS_BYTES = 4096;

/** Free space below which a WAL that failed to write stays unhealthy (one group commit's worth). */
const HEALTHY_FREE_BYTES = 4 * 1024 * 1024;

/** A WAL write that failed; `code` is the system error (ENOSPC, EDQUOT, EIO…). Nothing of it was acknowledged. */
export class WalWriteError extends Error {
  readonly code: string;
  constructor(message: string, code: string) {
    super(message);
    this.name = 'WalWriteError';
    this.code = code;
  }
}

/** Whether appends can be expected to succeed; `reason` says why not. */
export type WriteHealth = { ok: true } | { ok: false; reason: string; code: string };

export interface WalOptions {
  directory: string;
  fsync: boolean;
  /** The next seq must be above every seq already persisted in parts. */
  minimumNextSeq: bigint;
  /** Called for each record, in seq order, after it is durable and before its append resolves. */
  onDurable: (record: DurableRecord) => void;
  /** Reports each fsync's duration. */
  onFsync?: (seconds: number) => void;
  /** Bytes of released frame buffers kept for reuse (the store's memory.wal_buffer_bytes). */
  framePoolBytes?: number;
  /**
   * Replay records with lines as spans into their payload (see decodeWalRecord) rather than strings:
   * the store's heads copy the bytes, and decoding every line into a string only to encode it again
   * was a tenth of the replay time of 100k streams.
   */
  replayLinesAsSpans?: boolean;
}

export interface DurableRecord {
  seq: bigint;
  tenant: string;
  streams: readonly AppendStream[];
  /** Each stream's id, when the append gave them (then the record is written as version 2). */
  ids?: readonly string[];
  /** The encoded frame and each line's [start, end) bytes in it (all streams' entries in order): the
   * head copies these bytes instead of encoding the strings a second time. */
  frame?: Buffer;
  lineSpans?: Uint32Array;
}

interface PendingAppend {
  /** The record as written (version 3), which the head reads too; absent when `written` is set. */
  frame?: Buffer;
  /** What goes to disk instead: a version 4 record's start and the push body. */
  written?: Buffer[];
  /** Bytes written for this append. */
  bytes: number;
  record: DurableRecord;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface SegmentInfo {
  firstSeq: bigint;
  path: string;
}

export interface ReplayResult {
  records: number;
  corruptTails: string[];
}

function writtenBytes(pending: PendingAppend): number {
  return pending.bytes;
}

function segmentName(firstSeq: bigint): string {
  return firstSeq.toString().padStart(20, '0') + SEGMENT_SUFFIX;
}

export class Wal {
  private readonly options: WalOptions;
  private segments: SegmentInfo[] = [];
  private file: FileHandle | undefined;
  private segmentBytes = 0;
  private nextSeq = 0n;
  private queue: PendingAppend[] = [];
  private writing: Promise<void> | undefined;
  private closed = false;
  /** The last write's failure, until a write succeeds again (or space is seen to return). */
  private failure: WalWriteError | undefined;
  /** Set when the segment could not be cut back after a failed write: nothing more may go after it. */
  private damaged: Error | undefined;
  private rotateWaiters: Array<() => void> = [];
  private readonly framePool: Buffer[] = [];
  private framePoolHeldBytes = 0;
  private readonly allocateFrame = (bytes: number): Buffer => {
    const pool = this.framePool;
    for (let i = pool.length - 1; i >= 0; i--) {
      if (pool[i]!.length >= bytes) {
        const buffer = pool[i]!;
        pool[i] = pool[pool.length - 1]!;
        pool.pop();
        this.framePoolHeldBytes -= buffer.length;
        return buffer;
      }
    }
    if (bytes < MIN_POOLED_FRAME_BYTES) return Buffer.allocUnsafe(bytes);
    // Own memory (not a slice of Node's shared pool), rounded up so later frames of a similar size
    // fit. In steps of FRAME_CAPACITY_STEP_BYTES, not powers of two: a 1.1 MB push's frame took 2 MB.
    const capacity = Math.ceil(bytes / FRAME_CAPACITY_STEP_BYTES) * FRAME_CAPACITY_STEP_BYTES;
    const buffer = Buffer.allocUnsafeSlow(capacity);
    this.ownFrameMemory.add(buffer.buffer);
    return buffer;
  };
  /**
   * The memory this WAL allocated for frames itself: only that may go back to the pool. A small frame
   * comes from Node's shared allocation slab (Buffer.allocUnsafe), which other buffers share; pooling
   * that slab (it can be 64 KiB, offset 0) let the next frame overwrite other buffers' bytes.
   */
  private readonly ownFrameMemory = new WeakSet<ArrayBufferLike>();

  private constructor(options: WalOptions) {
    this.options = options;
  }

  /**
   * Opens the WAL: replays every record through `replay` (in seq order), then starts a fresh segment.
   * A torn or corrupt frame ends its segment's replay (it can only be the tail of a crashed write).
   */
  static async open(options: WalOptions, replay: (record: WalRecord) => void): Promise<{ wal: Wal; replayed: ReplayResult }> {
    const wal = new Wal(options);
    await mkdir(options.directory, { recursive: true });
    const names = (await readdir(options.directory)).filter((name) => name.endsWith(SEGMENT_SUFFIX)).sort();
    let maxSeq = options.minimumNextSeq - 1n;
    const result: ReplayResult = { records: 0, corruptTails: [] };
    for (const name of names) {
      const firstSeq = BigInt(name.slice(0, -SEGMENT_SUFFIX.length));
      const path = join(options.directory, name);
      wal.segments.push({ firstSeq, path });
      if (firstSeq - 1n > maxSeq) maxSeq = firstSeq - 1n;
      const bytes = await readFile(path);
      let offset = 0;
      while (offset < bytes.length) {
        if (offset + FRAME_HEADER_BYTES > bytes.length) {
          result.corruptTails.push(`${path}: torn frame header at byte ${offset}`);
          break;
        }
        const length = bytes.readUInt32LE(offset);
        const checksum = bytes.readUInt32LE(offset + 4);
        const end = offset + FRAME_HEADER_BYTES + length;
        if (end > bytes.length) {
          result.corruptTails.push(`${path}: torn frame at byte ${offset}`);
          break;
        }
        const payload = bytes.subarray(offset + FRAME_HEADER_BYTES, end);
        if (crc32(payload) !== checksum) {
          result.corruptTails.push(`${path}: checksum mismatch at byte ${offset}`);
          break;
        }
        const record = decodeWalRecord(payload, options.replayLinesAsSpans === true);
        if (record.seq > maxSeq) maxSeq = record.seq;
        replay(record);
        result.records++;
        offset = end;
      }
    }
    wal.nextSeq = maxSeq + 1n;
    await wal.startSegment();
    return { wal, replayed: result };
  }

  private async startSegment(): Promise<void> {
    const path = join(this.options.directory, segmentName(this.nextSeq));
    // Open the new segment before closing the old one, so a failure (a full disk) keeps a usable file.
    // Append mode, so writes after a cut-back land at the new end. A file of this name can only hold a
    // torn write with no whole frame (replay found none): empty it.
    const file = await open(path, 'a');
    try {
      await file.truncate(0);
    } catch (error) {
      await file.close().catch(() => undefined);
      throw error;
    }
    if (this.file !== undefined) await this.file.close().catch(() => undefined);
    this.file = file;
    this.segmentBytes = 0;
    this.damaged = undefined;
    this.segments.push({ firstSeq: this.nextSeq, path });
    await syncDirectory(this.options.directory);
  }

  /** Rotates, or on failure keeps writing to the current segment (rotation only frees space sooner). */
  private async tryStartSegment(): Promise<void> {
    try {
      await this.startSegment();
    } catch (error) {
      this.noteFailure(error);
    }
  }

  private noteFailure(error: unknown): WalWriteError {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    const reason = code === 'ENOSPC' || code === 'EDQUOT' ? 'no space left on device' : (error as Error).message;
    this.failure = new WalWriteError(`WAL write failed in ${this.options.directory}: ${reason} (${code})`, code);
    return this.failure;
  }

  /**
   * Healthy unless the last write failed; then healthy again once the filesystem has room for a
   * group commit (so /ready recovers when space returns even before the next push tries).
   */
  async writeHealth(): Promise<WriteHealth> {
    if (this.damaged !== undefined) return { ok: false, reason: this.damaged.message, code: 'EIO' };
    const failure = this.failure;
    if (failure === undefined) return { ok: true };
    try {
      const stats = await statfs(this.options.directory);
      if (stats.bavail * stats.bsize >= HEALTHY_FREE_BYTES && this.failure === failure) this.failure = undefined;
    } catch {
      // Keep the failure: we cannot tell.
    }
    return this.failure === undefined ? { ok: true } : { ok: false, reason: this.failure.message, code: this.failure.code };
  }

  /** Sequence number the next append will get. */
  peekNextSeq(): bigint {
    return this.nextSeq;
  }

  /**
   * Appends a record; with `ids` (each stream's streamId()), replay need not hash the labels again.
   * With `pushBody` (and ids), the streams are exactly what that snappy-compressed PushRequest body
   * decodes to (in order, nothing dropped or changed): the body is written as it is (version 4).
   */
  append(tenant: string, streams: readonly AppendStream[], ids?: readonly string[], pushBody?: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error('WAL is closed'));
    if (this.damaged !== undefined) return Promise.reject(this.damaged);
    const seq = this.nextSeq++;
    let pending: Omit<PendingAppend, 'resolve' | 'reject'>;
    if (pushBody !== undefined && ids !== undefined) {
      // The head reads the decoded streams' columns (HeadLines.appendLines copies their lines).
      const start = encodePushBodyRecordStart(seq, tenant, ids, FRAME_HEADER_BYTES);
      const startPayload = start.subarray(FRAME_HEADER_BYTES);
      start.writeUInt32LE(startPayload.length + pushBody.length, 0);
      start.writeUInt32LE(crc32(pushBody, crc32(startPayload)), 4);
      pending = { written: [start, pushBody], bytes: start.length + pushBody.length, record: { seq, tenant, streams, ids } };
    } else {
      const lineSpans: { spans?: Uint32Array } = {};
      const frame = encodeWalRecord(seq, tenant, streams, FRAME_HEADER_BYTES, lineSpans, this.allocateFrame, ids);
      const payload = frame.subarray(FRAME_HEADER_BYTES);
      frame.writeUInt32LE(payload.length, 0);
      frame.writeUInt32LE(crc32(payload), 4);
      const record: DurableRecord = { seq, tenant, streams, frame, lineSpans: lineSpans.spans! };
      if (ids !== undefined) record.ids = ids;
      pending = { frame, bytes: frame.length, record };
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ...pending, resolve, reject });
      if (this.writing === undefined) this.writing = this.drain();
    });
  }

  private async drain(): Promise<void> {
    // Callers do `this.writing = this.drain()`: yield once so that assignment happens before the
    // finally below clears it, even when there is nothing to await (a rotation of an empty segment).
    await Promise.resolve();
    try {
      // Bounded: each pass writes one group or performs one rotation; it ends when both the queue
      // and the rotation requests are empty (appends after close are refused). Rotation requests
      // are served between groups, so a steady stream of appends cannot starve a head cut.
      for (;;) {
        if (this.rotateWaiters.length > 0) {
          const waiters = this.rotateWaiters.splice(0);
          if (this.segmentBytes > 0 || this.damaged !== undefined) await this.tryStartSegment();
          for (const wake of waiters) wake();
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
    const { group, bytes: groupBytes } = takeGroup(this.queue, writtenBytes);
    if (this.damaged !== undefined) await this.tryStartSegment();
    if (this.damaged !== undefined) {
      for (const pending of group) pending.reject(this.damaged);
      return;
    }
    try {
      await writeGroup(this.file!, group.flatMap((pending) => pending.written ?? [pending.frame!]), groupBytes, this.options.fsync, this.options.onFsync);
      this.segmentBytes += groupBytes;
      this.failure = undefined;
    } catch (error) {
      const failure = this.noteFailure(error);
      for (const pending of group) pending.reject(failure);
      // Those queued behind would hit the same full disk; answer them now rather than after a retry.
      for (const pending of this.queue.splice(0)) pending.reject(failure);
      await this.cutBackTornWrite();
      return;
    }
    for (const pending of group) {
      try {
        this.options.onDurable(pending.record);
        pending.resolve();
      } catch (error) {
        pending.reject(error as Error);
      }
      // onDurable copied what it needs (synchronously); nothing else holds the frame.
      this.releaseFrame(pending);
    }
    if (this.segmentBytes >= SEGMENT_TARGET_BYTES) await this.tryStartSegment();
  }

  /**
   * Truncates the segment to its last whole frame (shrinking needs no free space) and makes that
   * durable. If even that fails, the segment is damaged: the next group first starts a new segment.
   */
  private async cutBackTornWrite(): Promise<void> {
    try {
      await this.file!.truncate(this.segmentBytes);
      await this.file!.datasync();
    } catch (error) {
      this.damaged = new Error(`WAL segment could not be repaired after a failed write: ${(error as Error).message}`);
    }
  }

  /**
   * Pools the frame's memory for the next append, or frees it at once: a frame lives through the
   * fsync, so it is promoted, and left to the garbage collector it waited for a full collection
   * (tens of MB of spent frames on the 244 MB bench log). The line spans go the same way.
   */
  private releaseFrame(pending: PendingAppend): void {
    if (pending.frame === undefined) return;
    const whole = pending.frame.buffer;
    const spans = pending.record.lineSpans;
    pending.record.frame = undefined;
    pending.record.lineSpans = undefined;
    if (spans !== undefined && spans.byteLength >= MIN_RELEASED_SPANS_BYTES) releaseOwnedMemory(spans);
    if (!(whole instanceof ArrayBuffer) || !this.ownFrameMemory.has(whole) || pending.frame.byteOffset !== 0 || whole.detached) return;
    const poolable = whole.byteLength >= MIN_POOLED_FRAME_BYTES && whole.byteLength <= MAX_POOLED_FRAME_BYTES;
    if (!poolable || this.framePoolHeldBytes + whole.byteLength > (this.options.framePoolBytes ?? DEFAULT_FRAME_POOL_BYTES)) {
      whole.transfer(0);
      return;
    }
    this.framePoolHeldBytes += whole.byteLength;
    this.framePool.push(Buffer.from(whole, 0, whole.byteLength));
  }

  /**
   * Starts a new segment (between group commits, without waiting for the queue to drain) so
   * everything before it can be truncated once persisted.
   */
  rotate(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.rotateWaiters.push(resolve);
      if (this.writing === undefined) this.writing = this.drain();
    });
  }

  /** Deletes whole segments whose records all have seq < `keepFromSeq`. Never the active segment. */
  async truncateBefore(keepFromSeq: bigint): Promise<number> {
    let removed = 0;
    while (this.segments.length > 1 && this.segments[1]!.firstSeq <= keepFromSeq) {
      const segment = this.segments.shift()!;
      await rm(segment.path, { force: true });
      removed++;
    }
    if (removed > 0) await syncDirectory(this.options.directory);
    return removed;
  }

  segmentCount(): number {
    return this.segments.length;
  }

  async idle(): Promise<void> {
    // Bounded: each drain empties the queue; new appends after close are refused.
    while (this.writing !== undefined) await this.writing;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    await this.file?.close();
    this.file = undefined;
  }
}

