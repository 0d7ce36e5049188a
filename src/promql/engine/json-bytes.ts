// The text of a large query answer, written as bytes into one reused buffer and read out once as a
// flat string. Built by `out +=` instead, a range query's answer was a tree of concatenations (a
// few 32-byte nodes per sample) that lived until the end: on the compare bench's range rate (3,252
// series × 110 steps) about 17 MB per query, all of it outliving the server's 2 MB young generation,
// so promoted, then collected by full collections that often fell into the next query's time.

/** Buffers that grew past this are dropped after use rather than kept for the next answer. */
const KEPT_CAPACITY_BYTES = 32 * 1024 * 1024;
const INITIAL_CAPACITY_BYTES = 64 * 1024;

export class JsonBytes {
  private bytes: Buffer;
  private length = 0;

  constructor(capacityBytes = INITIAL_CAPACITY_BYTES) {
    this.bytes = Buffer.allocUnsafe(capacityBytes);
  }

  private ensure(extraBytes: number): void {
    const needed = this.length + extraBytes;
    if (needed <= this.bytes.length) return;
    let capacity = this.bytes.length * 2;
    while (capacity < needed) capacity *= 2;
    const grown = Buffer.allocUnsafe(capacity);
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  /** Text known to be ASCII: numbers as formatted for JSON, punctuation. */
  ascii(text: string): void {
    const n = text.length;
    this.ensure(n);
    const bytes = this.bytes;
    let at = this.length;
    for (let k = 0; k < n; k++) bytes[at++] = text.charCodeAt(k);
    this.length = at;
  }

  /** Any text, as UTF-8 (label names and values may be anything). */
  utf8(text: string): void {
    this.ensure(text.length * 3);
    this.length += this.bytes.write(text, this.length, 'utf8');
  }

  /** The text written so far, as one flat string; the writer is empty afterwards. */
  take(): string {
    const text = this.bytes.toString('utf8', 0, this.length);
    this.length = 0;
    return text;
  }

  get capacityBytes(): number {
    return this.bytes.length;
  }
}

let kept: JsonBytes | undefined;

/** A writer for one answer (synchronous use only); give it back with releaseJsonBytes. */
export function borrowJsonBytes(): JsonBytes {
  const writer = kept ?? new JsonBytes();
  kept = undefined;
  return writer;
}

export function releaseJsonBytes(writer: JsonBytes): void {
  if (writer.capacityBytes <= KEPT_CAPACITY_BYTES) kept = writer;
}
