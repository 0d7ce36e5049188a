// A push entry whose line is still UTF-8 bytes in the decoded request body: what the server's
// protobuf decoder hands to ingest. The WAL copies the bytes straight into its frame and the head
// copies them from there, so most lines never become strings on the way in; `line` decodes one
// when a reader asks (the run tracker, live tail). Building a string and an entry object per line
// at decode kept them alive through the WAL's fsync: on the 244 MB bench log that live set was
// what the young-generation collections copied and promoted.
//
// The bytes are kept as sent, as Loki keeps them: `line` shows invalid UTF-8 as U+FFFD, and the
// stored bytes (and line sizes in limits and metrics) are the sent ones.

import type { LabelPair, PushEntry } from './types.ts';

export class RawLineEntry implements PushEntry {
  timestampNs: bigint;
  /** The request body holding the line at [lineStart, lineEnd); never written to. */
  readonly lineSource: Buffer;
  readonly lineStart: number;
  readonly lineEnd: number;
  structuredMetadata?: LabelPair[];

  constructor(timestampNs: bigint, lineSource: Buffer, lineStart: number, lineEnd: number) {
    this.timestampNs = timestampNs;
    this.lineSource = lineSource;
    this.lineStart = lineStart;
    this.lineEnd = lineEnd;
  }

  /** The line as a string, decoded on each read (callers that need it twice keep it). */
  get line(): string {
    return this.lineSource.toString('utf8', this.lineStart, this.lineEnd);
  }

  get lineBytes(): number {
    return this.lineEnd - this.lineStart;
  }
}
