// Literal analysis over the parsed tree, so regex line filters can run as substring searches (or
// be prefiltered by one) and the store's token filters can prune blocks. Conservative: when a
// literal is not certain, none is reported.

import type { RegexNode } from './ast.ts';
import { foldOrbit } from './char-set.ts';
import { parseRegex } from './parse.ts';

export interface RegexLiteralPlan {
  /** The pattern is exactly an alternation of plain literals: a match is "contains any of these". */
  alternatives?: string[];
  /** Whether the literals compare ignoring case (they come from `(?i)`). */
  caseInsensitive: boolean;
  /** A literal every match must contain (the longest found), for prefiltering. */
  required?: string;
}

interface LiteralText {
  text: string;
  /** true: compares ignoring case; false: exactly; undefined: no cased characters, so either. */
  foldCase: boolean | undefined;
}

function mergeFold(a: boolean | undefined, b: boolean | undefined): boolean | undefined | 'conflict' {
  if (a === undefined) return b;
  if (b === undefined || a === b) return a;
  return 'conflict';
}

/** Drops capture groups around a node: they don't change what text matches. */
function unwrap(node: RegexNode): RegexNode {
  while (node.kind === 'capture') node = node.sub;
  return node;
}

/** The node as one literal string (all characters literal, one case mode), or undefined. */
function literalText(node: RegexNode): LiteralText | undefined {
  node = unwrap(node);
  if (node.kind === 'literal') {
    const text = String.fromCodePoint(node.codePoint);
    if (node.foldCase) return { text, foldCase: true };
    return { text, foldCase: foldOrbit(node.codePoint).length > 1 ? false : undefined };
  }
  if (node.kind !== 'concat' || node.subs.length === 0) return undefined;
  let text = '';
  let foldCase: boolean | undefined;
  for (const sub of node.subs) {
    const part = literalText(sub);
    if (part === undefined) return undefined;
    const merged = mergeFold(foldCase, part.foldCase);
    if (merged === 'conflict') return undefined;
    foldCase = merged;
    text += part.text;
  }
  return { text, foldCase };
}

/** The longest literal run every match of the node contains. */
function requiredLiteral(node: RegexNode): LiteralText | undefined {
  node = unwrap(node);
  const whole = literalText(node);
  if (whole !== undefined) return whole;
  let best: LiteralText | undefined;
  const consider = (candidate: LiteralText | undefined): void => {
    if (candidate !== undefined && candidate.text.length > (best?.text.length ?? 0)) best = candidate;
  };
  if (node.kind === 'repeat' && node.min >= 1) consider(requiredLiteral(node.sub));
  if (node.kind === 'concat') {
    let run: LiteralText | undefined;
    for (const sub of node.subs) {
      const part = literalText(sub);
      const merged = part === undefined ? 'conflict' : mergeFold(run?.foldCase, part.foldCase);
      if (part !== undefined && merged !== 'conflict') {
        run = { text: (run?.text ?? '') + part.text, foldCase: merged };
        continue;
      }
      consider(run);
      run = part;
      if (part === undefined) consider(requiredLiteral(sub));
    }
    consider(run);
  }
  return best;
}

/** Analyses an unanchored RE2 pattern; an invalid one yields no literals. */
export function analyzeRegexLiterals(source: string): RegexLiteralPlan {
  let root: RegexNode;
  try {
    root = unwrap(parseRegex(source).root);
  } catch {
    return { caseInsensitive: false };
  }
  const legs = root.kind === 'alternate' ? root.subs : [root];
  const literals = legs.map(literalText);
  if (literals.every((literal): literal is LiteralText => literal !== undefined && literal.text.length > 0)) {
    let caseInsensitive: boolean | undefined | 'conflict';
    for (const literal of literals) caseInsensitive = caseInsensitive === 'conflict' ? caseInsensitive : mergeFold(caseInsensitive, literal.foldCase);
    if (caseInsensitive !== 'conflict') {
      const alternatives = literals.map((literal) => literal.text);
      return { alternatives, caseInsensitive: caseInsensitive === true, required: alternatives.length === 1 ? alternatives[0] : undefined };
    }
  }
  if (legs.length > 1) return { caseInsensitive: false };
  const required = requiredLiteral(root);
  if (required === undefined || required.text.length < 2) return { caseInsensitive: false };
  return { caseInsensitive: required.foldCase === true, required: required.text };
}
