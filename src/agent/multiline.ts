// Joins physical lines into log entries. Two rules, both optional:
// - Python tracebacks: from `Traceback (most recent call last):` through the exception line, including
//   chained exceptions ("During handling of the above exception…"), are one entry.
// - Generic: with a first-line regex, every line that does not match it continues the previous entry.
// Lines are grouped per key (a stream and rank), so interleaved ranks do not tangle each other's
// tracebacks. A pending entry closes when the next entry starts, or after `maxWaitMs` without a new
// line (the caller drives that with `flushExpired`), or at `maxLines`.

import type { RegexEngine } from '../regex/index.ts';

export interface MultilineOptions {
  pythonTraceback: boolean;
  /** RE2, linear-time (src/regex); a plain RegExp also fits. */
  firstLinePattern?: RegexEngine;
  maxWaitMs: number;
  maxLines: number;
}

export interface JoinedEntry<Meta> {
  key: string;
  text: string;
  /** Metadata of the first line of the entry (its timestamp, labels…). */
  meta: Meta;
  lineCount: number;
  isTraceback: boolean;
}

type TracebackState = 'none' | 'frames' | 'message' | 'after-exception' | 'chain';

interface Pending<Meta> {
  lines: string[];
  meta: Meta;
  lastLineAtMs: number;
  traceback: TracebackState;
  isTraceback: boolean;
  startedByTraceback: boolean;
  startPosition: number;
}

const TRACEBACK_START = /^Traceback \(most recent call last\):\s*$/;
const CHAIN_MARKERS = /^(During handling of the above exception, another exception occurred:|The above exception was the direct cause of the following exception:)\s*$/;

export class MultilineJoiner<Meta> {
  private readonly options: MultilineOptions;
  private readonly emit: (entry: JoinedEntry<Meta>) => void;
  private readonly pendingByKey = new Map<string, Pending<Meta>>();

  constructor(options: MultilineOptions, emit: (entry: JoinedEntry<Meta>) => void) {
    this.options = options;
    this.emit = emit;
  }

  /**
   * Adds one physical line. `startPosition` is where the line begins in its source (a byte offset for
   * files), so the caller can tell how far its input is fully emitted.
   */
  push(key: string, line: string, meta: Meta, nowMs: number, startPosition = 0): void {
    const pending = this.pendingByKey.get(key);
    if (pending !== undefined && this.continues(pending, line)) {
      pending.lines.push(line);
      pending.lastLineAtMs = nowMs;
      if (pending.lines.length >= this.options.maxLines) this.close(key, pending);
      return;
    }
    if (pending !== undefined) this.close(key, pending);
    const startsTraceback = this.options.pythonTraceback && TRACEBACK_START.test(line);
    const next: Pending<Meta> = {
      lines: [line],
      meta,
      lastLineAtMs: nowMs,
      traceback: startsTraceback ? 'frames' : 'none',
      isTraceback: startsTraceback,
      startedByTraceback: startsTraceback,
      startPosition,
    };
    // Without a multiline rule that could extend it, a line is an entry on its own right away.
    if (!startsTraceback && this.options.firstLinePattern === undefined) {
      this.emit({ key, text: line, meta, lineCount: 1, isTraceback: false });
      return;
    }
    this.pendingByKey.set(key, next);
  }

  private continues(pending: Pending<Meta>, line: string): boolean {
    switch (pending.traceback) {
      case 'frames':
        // Frames and source lines are indented; the first unindented line is the exception.
        if (line === '' || line.startsWith(' ') || line.startsWith('\t') || TRACEBACK_START.test(line)) return true;
        // `SomeError: ` with the message on the following lines (torchrun's ChildFailedError block)
        // keeps collecting until a blank line.
        pending.traceback = CHAIN_MARKERS.test(line) ? 'chain' : /:\s*$/.test(line) ? 'message' : 'after-exception';
        return true;
      case 'message':
        if (line === '') {
          pending.traceback = 'after-exception';
          return true;
        }
        if (TRACEBACK_START.test(line)) {
          pending.traceback = 'frames';
          return true;
        }
        return true;
      case 'after-exception':
      case 'chain':
        if (line === '') return true;
        if (CHAIN_MARKERS.test(line)) {
          pending.traceback = 'chain';
          return true;
        }
        if (TRACEBACK_START.test(line)) {
          pending.traceback = 'frames';
          return true;
        }
        // An entry that is only a traceback ends at its exception line.
        if (pending.startedByTraceback) return false;
        pending.traceback = 'none';
        break;
      case 'none':
        break;
    }
    const pattern = this.options.firstLinePattern;
    if (pattern === undefined) return false;
    if (this.options.pythonTraceback && TRACEBACK_START.test(line)) {
      // A traceback printed right after a first line (a logging.exception message) belongs to it.
      pending.traceback = 'frames';
      pending.isTraceback = true;
      return true;
    }
    return !pattern.test(line);
  }

  private close(key: string, pending: Pending<Meta>): void {
    this.pendingByKey.delete(key);
    // A traceback closed right after its exception line must not swallow a trailing blank line.
    while (pending.lines.length > 1 && pending.lines[pending.lines.length - 1] === '') pending.lines.pop();
    this.emit({
      key,
      text: pending.lines.join('\n'),
      meta: pending.meta,
      lineCount: pending.lines.length,
      isTraceback: pending.isTraceback,
    });
  }

  /** Closes entries with no new line for `maxWaitMs`. */
  flushExpired(nowMs: number): void {
    for (const [key, pending] of this.pendingByKey) {
      if (nowMs - pending.lastLineAtMs >= this.options.maxWaitMs) this.close(key, pending);
    }
  }

  flushAll(): void {
    for (const [key, pending] of this.pendingByKey) this.close(key, pending);
  }

  /** The smallest start position of any pending entry; undefined when nothing is pending. */
  pendingStartPosition(): number | undefined {
    let lowest: number | undefined;
    for (const pending of this.pendingByKey.values()) {
      if (lowest === undefined || pending.startPosition < lowest) lowest = pending.startPosition;
    }
    return lowest;
  }

  get pendingCount(): number {
    return this.pendingByKey.size;
  }
}
