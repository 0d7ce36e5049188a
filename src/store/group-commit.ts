// The mechanics both write-ahead logs share (the log store's, src/store/wal.ts, and the TSDB's,
// src/tsdb/wal.ts): take the queued frames as one group, up to a byte cap, and write the group with
// as few system calls as possible, retrying partial writes, then fsync it (group commit: one fsync
// acknowledges every append of the group). What a failure means, segments and replay stay with each WAL.

import type { FileHandle } from 'node:fs/promises';

/** A group never exceeds this (one larger frame still goes alone). */
export const MAX_GROUP_BYTES = 64 * 1024 * 1024;

/** Removes and returns the queue's first appends up to MAX_GROUP_BYTES (at least one); `bytesOf` says what an append writes. */
export function takeGroup<T>(queue: T[], bytesOf: (append: T) => number): { group: T[]; bytes: number } {
  let bytes = 0;
  let take = 0;
  while (take < queue.length && (take === 0 || bytes + bytesOf(queue[take]!) <= MAX_GROUP_BYTES)) {
    bytes += bytesOf(queue[take]!);
    take++;
  }
  return { group: queue.splice(0, take), bytes };
}

/** Writes `frames` (`bytes` in all) at the file's position, then fsyncs when asked; throws on failure. */
export async function writeGroup(file: FileHandle, frames: Buffer[], bytes: number, fsync: boolean, onFsync?: (seconds: number) => void): Promise<void> {
  let written = 0;
  // writev may write partially; bounded by `bytes`, each pass writes at least one.
  while (written < bytes) {
    const { bytesWritten } = await file.writev(remainingFrames(frames, written));
    if (bytesWritten <= 0) throw new Error('WAL write made no progress');
    written += bytesWritten;
  }
  if (fsync) {
    const startedAt = performance.now();
    await file.datasync();
    onFsync?.((performance.now() - startedAt) / 1000);
  }
}

function remainingFrames(frames: Buffer[], skipBytes: number): Buffer[] {
  if (skipBytes === 0) return frames;
  const rest: Buffer[] = [];
  for (const frame of frames) {
    if (skipBytes >= frame.length) {
      skipBytes -= frame.length;
      continue;
    }
    rest.push(skipBytes > 0 ? frame.subarray(skipBytes) : frame);
    skipBytes = 0;
  }
  return rest;
}
