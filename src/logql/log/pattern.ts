// The `pattern` expression language (`<ip> - <_> [<ts>]`), shared by the `| pattern` parser and the
// `|>` / `!>` line filters. Matching is a left-to-right scan for each literal with indexOf, so it is
// linear in the line length whatever the pattern.

export class PatternSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatternSyntaxError';
  }
}

export type PatternNode = { kind: 'literal'; text: string } | { kind: 'capture'; name: string };

export interface CompiledPattern {
  nodes: PatternNode[];
  /** Named captures (excluding `<_>`), in order. */
  names: string[];
  /** Each literal node's UTF-8 bytes (null for captures), for matching a line's bytes. */
  literalBytes: Array<Buffer | null>;
}

const CAPTURE = /^<([A-Za-z_][A-Za-z0-9_]*)>/;

export function parsePattern(text: string): CompiledPattern {
  const nodes: PatternNode[] = [];
  let literal = '';
  let i = 0;
  while (i < text.length) {
    const match = text[i] === '<' ? CAPTURE.exec(text.slice(i, i + 256)) : null;
    if (match) {
      if (literal) nodes.push({ kind: 'literal', text: literal });
      literal = '';
      const previous = nodes[nodes.length - 1];
      if (previous?.kind === 'capture') {
        throw new PatternSyntaxError(`found consecutive capture '<${previous.name}>${match[0]}': invalid expression`);
      }
      nodes.push({ kind: 'capture', name: match[1]! });
      i += match[0].length;
      continue;
    }
    literal += text[i];
    i++;
  }
  if (literal) nodes.push({ kind: 'literal', text: literal });
  if (nodes.length === 0) throw new PatternSyntaxError('syntax error: unexpected $end, expecting IDENTIFIER or LITERAL');
  const names: string[] = [];
  for (const node of nodes) {
    if (node.kind !== 'capture' || node.name === '_') continue;
    if (names.includes(node.name)) throw new PatternSyntaxError(`duplicate capture name (${node.name}): invalid expression`);
    names.push(node.name);
  }
  return { nodes, names, literalBytes: nodes.map((node) => (node.kind === 'literal' ? Buffer.from(node.text, 'utf8') : null)) };
}

/**
 * Loki's capture walk: the leading literal must start the line; each capture runs to the next
 * occurrence of the literal after it; when that literal is missing the capture takes the rest of the
 * line and matching stops. Runs on the line's UTF-8 bytes, bytes[start, end) (a block's, with no
 * decoded line; searching UTF-8 for UTF-8 finds what searching the text finds). Reports each capture
 * as (node index, start, end) byte offsets into `bytes`, in order, and stops after the capture at node
 * `lastNode` (a parser that stores nothing past it need not search further).
 */
export function walkCaptures(pattern: CompiledPattern, bytes: Buffer, start: number, end: number, lastNode: number, visit: (node: number, start: number, end: number) => void): void {
  const nodes = pattern.nodes;
  const literals = pattern.literalBytes;
  if (end <= start || nodes.length === 0) return;
  let pos = start;
  let index = 0;
  const first = literals[0];
  if (first) {
    if (end - start < first.length || bytes.compare(first, 0, first.length, start, start + first.length) !== 0) return;
    pos = start + first.length;
    index = 1;
  }
  while (index < nodes.length && index <= lastNode) {
    const capture = index;
    if (index === nodes.length - 1) {
      visit(capture, pos, end);
      return;
    }
    const literal = literals[index + 1]!;
    index += 2;
    const at = findBytes(bytes, literal, pos, end);
    if (at < 0) {
      visit(capture, pos, end);
      return;
    }
    visit(capture, pos, at);
    pos = at + literal.length;
  }
}

/**
 * Below this many byte comparisons at worst (bytes left × literal length), a plain loop searches:
 * Buffer.indexOf costs more per call than a log line's worth of loop (the loss-curve pattern makes 3
 * searches per line). Above it, the native search runs on the line's own view, so that it never
 * runs on into a block's next lines.
 */
const LOOP_SEARCH_MAX_STEPS = 1 << 16;

/** The first offset in [from, end) where `literal` occurs whole before `end`, or -1. */
export function findBytes(bytes: Buffer, literal: Buffer, from: number, end: number): number {
  const m = literal.length;
  if ((end - from) * m > LOOP_SEARCH_MAX_STEPS) {
    const at = bytes.subarray(from, end).indexOf(literal);
    return at < 0 ? -1 : from + at;
  }
  if (m === 0) return Math.min(from, end);
  const first = literal[0]!;
  const last = end - m;
  outer: for (let i = from; i <= last; i++) {
    if (bytes[i] !== first) continue;
    for (let k = 1; k < m; k++) if (bytes[i + k] !== literal[k]) continue outer;
    return i;
  }
  return -1;
}

/** Captures in order (named and `<_>`) with their values. */
export function matchPattern(pattern: CompiledPattern, line: string): Array<[string, string]> {
  const captures: Array<[string, string]> = [];
  const bytes = Buffer.from(line, 'utf8');
  walkCaptures(pattern, bytes, 0, bytes.length, pattern.nodes.length - 1, (node, start, end) => {
    captures.push([(pattern.nodes[node] as { kind: 'capture'; name: string }).name, bytes.toString('utf8', start, end)]);
  });
  return captures;
}

/** Whether the whole pattern matches the line (the `|>` filter). */
export function testPattern(pattern: CompiledPattern, line: string): boolean {
  const nodes = pattern.nodes;
  if (line.length === 0 || nodes.length === 0) return line.length === 0 && nodes.length === 0;
  let offset = 0;
  for (let i = 0; i < nodes.length; i++) {
    const node = nodes[i]!;
    if (node.kind !== 'literal') continue;
    const at = line.indexOf(node.text, offset);
    if (at < 0) return false;
    if (i === 0 && at !== 0) return false;
    // A capture before this literal must not be empty.
    if (i > 0 && at === offset) return false;
    offset = at + node.text.length;
  }
  const endsOnCapture = nodes[nodes.length - 1]!.kind === 'capture';
  const hasRemainder = offset !== line.length;
  return endsOnCapture === hasRemainder;
}
