// The `pattern` parser's expression language (`<ip> - <_> [<ts>] "<method> <path>"`): literal runs
// and captures. Loki validates it when the query is parsed, so a bad pattern is a parse error; the
// evaluator's pattern matcher can reuse `parsePattern` for the node list.

export type PatternNode =
  | { kind: 'literal'; text: string }
  /** `<name>`; the unnamed capture `<_>` has name '_'. */
  | { kind: 'capture'; name: string };

const CAPTURE = /^<([A-Za-z_][A-Za-z0-9_]*)>/;

/** Splits a pattern into literal and capture nodes. Anything that is not `<identifier>` is literal. */
export function parsePattern(pattern: string): PatternNode[] {
  const nodes: PatternNode[] = [];
  let literal = '';
  for (let i = 0; i < pattern.length; ) {
    const capture = pattern[i] === '<' ? CAPTURE.exec(pattern.slice(i)) : null;
    if (capture !== null) {
      if (literal !== '') nodes.push({ kind: 'literal', text: literal });
      literal = '';
      nodes.push({ kind: 'capture', name: capture[1] as string });
      i += capture[0].length;
    } else {
      const codePoint = pattern.codePointAt(i) as number;
      const width = codePoint > 0xffff ? 2 : 1;
      literal += pattern.slice(i, i + width);
      i += width;
    }
  }
  if (literal !== '') nodes.push({ kind: 'literal', text: literal });
  return nodes;
}

function captureText(node: PatternNode): string {
  return node.kind === 'capture' ? `<${node.name}>` : node.text;
}

function consecutiveCaptureError(nodes: PatternNode[]): string | undefined {
  for (let i = 0; i + 1 < nodes.length; i++) {
    const a = nodes[i] as PatternNode;
    const b = nodes[i + 1] as PatternNode;
    if (a.kind === 'capture' && b.kind === 'capture') {
      return `found consecutive capture '${captureText(a)}${captureText(b)}': invalid expression`;
    }
  }
  return undefined;
}

/** Loki's checks for `| pattern "…"`; returns its error text or undefined. */
export function patternParserError(pattern: string): string | undefined {
  if (pattern === '') return 'syntax error: unexpected $end, expecting IDENTIFIER or LITERAL (pattern parse error at line 1, col 1)';
  const nodes = parsePattern(pattern);
  if (!nodes.some((node) => node.kind === 'capture' && node.name !== '_')) return 'at least one capture is required';
  const consecutive = consecutiveCaptureError(nodes);
  if (consecutive !== undefined) return consecutive;
  const seen = new Set<string>();
  for (const node of nodes) {
    if (node.kind !== 'capture' || node.name === '_') continue;
    if (seen.has(node.name)) return `duplicate capture name (${node.name}): invalid expression`;
    seen.add(node.name);
  }
  return undefined;
}

/** Loki's checks for a `|>`/`!>` line-filter pattern (only `<_>` captures); error text or undefined. */
export function patternFilterError(pattern: string): string | undefined {
  if (pattern === '') return undefined;
  const nodes = parsePattern(pattern);
  const consecutive = consecutiveCaptureError(nodes);
  if (consecutive !== undefined) return consecutive;
  const named = nodes.find((node) => node.kind === 'capture' && node.name !== '_');
  return named === undefined ? undefined : `named captures are not allowed: found '${captureText(named)}'`;
}
