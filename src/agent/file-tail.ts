// Follows one open file. Reading is by byte offset on an open descriptor, so a file renamed away by
// rotation keeps being read to its end through the same descriptor. A file that shrinks below the
// read offset was truncated in place (copytruncate) and is read again from the start.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

// One poll reads at most this much per file, so one busy file cannot starve the others; at the
// default 250 ms poll this allows 16 MB/s per file.
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
// A "line" longer than this without a newline is cut, so memory stays bounded.
const MAX_LINE_BYTES = 1024 * 1024;
const READ_WINDOW_BYTES = 64 * 1024;
const NEWLINE = 0x0a;
// The file's first bytes, remembered once read past: if they change, the file was truncated and
// rewritten (copytruncate) even when it has already grown back past the old offset between polls.
const FINGERPRINT_BYTES = 64;

export interface TailedLine {
  text: string;
  startOffsetBytes: number;
}

export class FileTail {
  readonly identity: string;
  /** Where the file is now (updated when a rename keeps it under a matching glob). */
  path: string;
  offsetBytes: number;
  sizeBytes = 0;
  private fd: number | undefined;
  private buffer = Buffer.allocUnsafe(READ_WINDOW_BYTES);
  private fingerprint: Buffer | undefined;
  private readonly fingerprintCheck = Buffer.allocUnsafe(FINGERPRINT_BYTES);

  constructor(path: string, identity: string, offsetBytes: number) {
    this.path = path;
    this.identity = identity;
    this.offsetBytes = offsetBytes;
    this.fd = openSync(path, 'r');
  }

  /**
   * Reads complete lines past the offset and hands each to `onLine` (the offset advances line by
   * line, so a caller that snapshots `offsetBytes` from inside `onLine` sees only finished lines).
   * Calls `onTruncated` first when the file shrank below the offset. Returns the number of lines read.
   */
  readLines(onLine: (line: TailedLine) => void, onTruncated: () => void): number {
    if (this.fd === undefined) return 0;
    const size = fstatSync(this.fd).size;
    if (size < this.offsetBytes || (size > this.offsetBytes && this.fingerprintChanged())) {
      this.offsetBytes = 0;
      this.fingerprint = undefined;
      onTruncated();
    }
    this.sizeBytes = size;
    let linesRead = 0;
    let budgetBytes = READ_CHUNK_BYTES;
    while (this.offsetBytes < size && budgetBytes > 0) {
      // Reads go through a window that grows only while one line does not fit, so a file that is
      // behind does not make the agent hold megabytes of buffer (and the strings cut from it) at once.
      const want = Math.min(size - this.offsetBytes, budgetBytes, this.buffer.length);
      const got = readSync(this.fd, this.buffer, 0, want, this.offsetBytes);
      if (got <= 0) break;
      budgetBytes -= got;
      let lineStart = 0;
      for (;;) {
        const newline = this.buffer.indexOf(NEWLINE, lineStart);
        if (newline === -1 || newline >= got) break;
        const startOffsetBytes = this.offsetBytes;
        const text = this.buffer.toString('utf8', lineStart, newline);
        this.offsetBytes += newline + 1 - lineStart;
        lineStart = newline + 1;
        linesRead++;
        onLine({ text, startOffsetBytes });
      }
      if (lineStart === 0) {
        // No newline in what was read. A line longer than the largest window is cut there; a long
        // line gets a bigger window when the file holds more than the window did; otherwise (the
        // end of the file, or this poll's budget) the unfinished line waits for the next poll.
        if (got >= MAX_LINE_BYTES) {
          const startOffsetBytes = this.offsetBytes;
          this.offsetBytes += got;
          linesRead++;
          onLine({ text: this.buffer.toString('utf8', 0, got), startOffsetBytes });
          continue;
        }
        if (got === this.buffer.length && this.offsetBytes + got < size) {
          this.buffer = Buffer.allocUnsafe(Math.min(MAX_LINE_BYTES, this.buffer.length * 2));
          continue;
        }
        break;
      }
    }
    if (this.fingerprint === undefined && this.offsetBytes >= FINGERPRINT_BYTES) this.fingerprintChanged();
    return linesRead;
  }

  /** Compares the file's first bytes with those seen before (only once there is new data to read). */
  private fingerprintChanged(): boolean {
    if (this.fd === undefined) return false;
    if (this.fingerprint === undefined) {
      if (this.offsetBytes < FINGERPRINT_BYTES) return false;
      const got = readSync(this.fd, this.fingerprintCheck, 0, FINGERPRINT_BYTES, 0);
      this.fingerprint = Buffer.from(this.fingerprintCheck.subarray(0, got));
      return false;
    }
    const got = readSync(this.fd, this.fingerprintCheck, 0, this.fingerprint.length, 0);
    return got !== this.fingerprint.length || !this.fingerprintCheck.subarray(0, got).equals(this.fingerprint);
  }

  get lagBytes(): number {
    return Math.max(0, this.sizeBytes - this.offsetBytes);
  }

  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
