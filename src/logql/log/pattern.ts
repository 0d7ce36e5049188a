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
  return { nodes, names };
}

/**
 * Loki's capture walk: the leading literal must start the line; each capture runs to the next
 * occurrence of the literal after it; when that literal is missing the capture takes the rest of the
 * line and matching stops. Reports each capture as (node index, start, end) offsets into the line,
 * in order, and stops after the capture at node `lastNode` (a parser that stores nothing past it
 * need not search further).
 */
export function walkCaptures(pattern: CompiledPattern, line: string, lastNode: number, visit: (node: number, start: number, end: number) => void): void {
  const nodes = pattern.nodes;
  if (line.length === 0 || nodes.length === 0) return;
  let pos = 0;
  let index = 0;
  const first = nodes[0]!;
  if (first.kind === 'literal') {
    if (!line.startsWith(first.text)) return;
    pos = first.text.length;
    index = 1;
  }
  while (index < nodes.length && index <= lastNode) {
    const capture = index;
    if (index === nodes.length - 1) {
      visit(capture, pos, line.length);
      return;
    }
    const literal = (nodes[index + 1] as { kind: 'literal'; text: string }).text;
    index += 2;
    const at = line.indexOf(literal, pos);
    if (at < 0) {
      visit(capture, pos, line.length);
      return;
    }
    visit(capture, pos, at);
    pos = at + literal.length;
  }
}

/** Captures in order (named and `<_>`) with their values. */
export function matchPattern(pattern: CompiledPattern, line: string): Array<[string, string]> {
  const captures: Array<[string, string]> = [];
  walkCaptures(pattern, line, pattern.nodes.length - 1, (node, start, end) => {
    captures.push([(pattern.nodes[node] as { kind: 'capture'; name: string }).name, line.slice(start, end)]);
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
