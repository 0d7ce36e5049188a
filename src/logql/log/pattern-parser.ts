// `| pattern "<ip> - <_> [<ts>]"`.
//
// On a block's bytes (processRaw) the walk runs without the decoded line: Loki matches patterns on
// bytes too, and with ASCII literals a capture's byte range decodes to exactly the slice of the
// decoded line (an ASCII byte always decodes to itself, never into a replacement character), so only
// the captures the query keeps become strings. Patterns with a non-ASCII literal use the string walk.

import type { PipelineEntry, PipelineStage } from './labels-builder.ts';
import { parsePattern, PatternSyntaxError, walkCaptures, type PatternNode } from './pattern.ts';
import { StageBuildError } from './line-filter.ts';
import { isNeeded, type NeededLabels } from './label-hints.ts';
import { latin1Text } from './latin1-text.ts';

export function patternParserStage(text: string, needed: NeededLabels = null): PipelineStage {
  let pattern;
  try {
    pattern = parsePattern(text);
  } catch (error) {
    if (error instanceof PatternSyntaxError) throw new StageBuildError(error.message);
    throw error;
  }
  if (pattern.names.length === 0) throw new StageBuildError('at least one capture is required: invalid expression');
  const nodes: PatternNode[] = pattern.nodes;
  // Captures past the last one the query keeps need no matching: `<_>` and unneeded ones store nothing.
  const stores = nodes.map((node) => node.kind === 'capture' && node.name !== '_' && isNeeded(needed, node.name));
  const lastStored = stores.lastIndexOf(true);
  let current: PipelineEntry | null = null;
  const store = (node: number, start: number, end: number) => {
    if (stores[node]) current!.labels.setExtracted((nodes[node] as { kind: 'capture'; name: string }).name, current!.line.slice(start, end));
  };
  const stage: PipelineStage = {
    process(entry) {
      if (lastStored < 0) return true;
      current = entry;
      walkCaptures(pattern, entry.line, lastStored, store);
      return true;
    },
  };
  const literals = nodes.map((node) => (node.kind === 'literal' ? Buffer.from(node.text, 'utf8') : null));
  if (literals.every((literal) => literal === null || literal.every((byte) => byte < 0x80))) {
    const walker = new BytePatternWalker(nodes, literals, stores, lastStored);
    stage.processRaw = (entry, bytes, start, end) => {
      if (lastStored >= 0) walker.walk(entry, bytes, start, end);
      return true;
    };
  }
  return stage;
}

/** walkCaptures (pattern.ts) over a line's UTF-8 bytes, for patterns whose literals are ASCII. */
class BytePatternWalker {
  private readonly names: Array<string | null>;
  private readonly literals: Array<Buffer | null>;
  /** Per literal: the offset of the byte the search looks for first (its first non-space byte). */
  private readonly anchors: number[];
  private readonly lastStored: number;

  constructor(nodes: PatternNode[], literals: Array<Buffer | null>, stores: boolean[], lastStored: number) {
    this.lastStored = lastStored;
    this.names = nodes.map((node, i) => (node.kind === 'capture' && stores[i] ? node.name : null));
    this.literals = literals;
    // Spaces start most literals (` | loss `) and fill most lines: look for a rarer byte first.
    this.anchors = literals.map((literal) => {
      if (literal === null) return 0;
      const at = literal.findIndex((byte) => byte !== 0x20);
      return at < 0 ? 0 : at;
    });
  }

  walk(entry: PipelineEntry, b: Buffer, start: number, end: number): void {
    const nodes = this.literals;
    if (start >= end || nodes.length === 0) return;
    let pos = start;
    let index = 0;
    const first = nodes[0];
    if (first) {
      if (end - start < first.length || !matchesAt(b, pos, first)) return;
      pos += first.length;
      index = 1;
    }
    while (index < nodes.length && index <= this.lastStored) {
      const capture = index;
      if (index === nodes.length - 1) {
        this.store(entry, capture, b, pos, end);
        return;
      }
      const literal = nodes[index + 1]!;
      const at = findLiteral(b, pos, end, literal, this.anchors[index + 1]!);
      index += 2;
      if (at < 0) {
        this.store(entry, capture, b, pos, end);
        return;
      }
      this.store(entry, capture, b, pos, at);
      pos = at + literal.length;
    }
  }

  private store(entry: PipelineEntry, node: number, b: Buffer, start: number, end: number): void {
    const name = this.names[node];
    if (name !== null && name !== undefined) entry.labels.setExtracted(name, captureText(b, start, end));
  }
}

function matchesAt(b: Buffer, at: number, literal: Buffer): boolean {
  for (let k = 0; k < literal.length; k++) if (b[at + k] !== literal[k]) return false;
  return true;
}

/** First index in [from, end) where the whole literal lies, or -1. */
function findLiteral(b: Buffer, from: number, end: number, literal: Buffer, anchor: number): number {
  const anchorByte = literal[anchor]!;
  const last = end - literal.length + anchor;
  for (let i = from + anchor; i <= last; i++) {
    if (b[i] === anchorByte && matchesAt(b, i - anchor, literal)) return i - anchor;
  }
  return -1;
}

function captureText(b: Buffer, start: number, end: number): string {
  for (let i = start; i < end; i++) if (b[i]! >= 0x80) return b.toString('utf8', start, end);
  return latin1Text(b, start, end);
}
