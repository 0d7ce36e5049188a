// RE2 syntax checking for regexes written in queries (stream matchers, label filters, regexp
// parser, label_replace). Loki compiles them with Go's regexp/syntax at parse time, so a bad regex
// is a parse error there. The parse is src/regex's, the same one that later runs the regex, so the
// check and the run can't disagree; this file only shapes its answer for the LogQL parser, and
// holds the printer's question about Loki's regex simplifier.

import { compileRegex, parseRegex, RegexSyntaxError, type ParsedRegex } from '../../regex/index.ts';

export interface RegexCheck {
  /** Go's error text, or undefined when the pattern is valid RE2. */
  error?: string;
  /** Offset in the pattern where the faulty fragment starts. */
  errorPosition?: number;
  /** Group names from `(?P<name>…)` / `(?<name>…)`, in order. */
  captureNames: string[];
  /** Count of capturing groups (named and unnamed). */
  captureCount: number;
  /** Whether the pattern, fully anchored, matches "". */
  matchesEmpty: boolean;
}

/**
 * Checks a regex with RE2's (Go's) rules through the one RE2 parser. Never throws. A search in ""
 * can only match all of it, so the unanchored test answers whether the anchored form matches "".
 */
export function checkRegex(pattern: string): RegexCheck {
  let parsed: ParsedRegex;
  try {
    parsed = parseRegex(pattern);
  } catch (error) {
    if (error instanceof RegexSyntaxError) return { error: error.message, errorPosition: error.position, captureNames: [], captureCount: 0, matchesEmpty: false };
    throw error;
  }
  const captureNames = parsed.captureNames.filter((name): name is string => name !== undefined);
  return { captureNames, captureCount: parsed.captureCount, matchesEmpty: compileRegex(pattern).regexp.test('') };
}

const REGEX_SPECIAL = new Set(['.', '+', '*', '?', '(', ')', '|', '[', ']', '{', '}', '^', '$', '\\']);

/** Splits on top-level `|` (outside groups, classes and escapes). */
function splitAlternation(pattern: string): string[] {
  const legs: string[] = [];
  let depth = 0;
  let inClass = false;
  let legStart = 0;
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      legs.push(pattern.slice(legStart, i));
      legStart = i + 1;
    }
  }
  legs.push(pattern.slice(legStart));
  return legs;
}

/** Index of the `)` closing the group opened at `open`, or -1. */
function closingParen(pattern: string, open: number): number {
  let depth = 0;
  let inClass = false;
  for (let i = open; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (inClass) {
      if (ch === ']') inClass = false;
      continue;
    }
    if (ch === '[') inClass = true;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return i;
  }
  return -1;
}

/**
 * Whether Loki's regex simplifier turns this label-filter regex into plain string comparisons
 * (literals, alternations of literals, `.*` around one literal, `.*`, `.+`). Loki prints such
 * filters with Go quoting and all others between backticks, so the printer needs to know.
 */
export function isSimplifiableLabelRegex(pattern: string): boolean {
  let body = pattern.startsWith('(?i)') ? pattern.slice(4) : pattern;
  if (checkRegex(pattern).error !== undefined) return false;
  for (;;) {
    if (body.startsWith('(') && closingParen(body, 0) === body.length - 1) {
      body = body.startsWith('(?:') ? body.slice(3, -1) : body.startsWith('(?') ? body : body.slice(1, -1);
      if (body.startsWith('(?')) break;
    } else break;
  }
  if (body === '' || body === '.*' || body === '.+') return true;
  const legs = splitAlternation(body);
  if (legs.length > 1) return legs.every((leg) => isSimplifiableLabelRegex(leg));
  let literalRuns = 0;
  let items = 0;
  let inLiteral = false;
  let sawAlternateGroup = false;
  for (let i = 0; i < body.length; ) {
    if (body.startsWith('.*', i)) {
      items++;
      inLiteral = false;
      i += 2;
      continue;
    }
    const ch = body[i] as string;
    if (ch === '(') {
      const close = closingParen(body, i);
      if (close < 0 || literalRuns === 0 || sawAlternateGroup) return false;
      const inner = body.slice(i, close + 1);
      const group = inner.startsWith('(?:') ? inner.slice(3, -1) : inner.startsWith('(?') ? undefined : inner.slice(1, -1);
      if (group === undefined || !splitAlternation(group).every((leg) => leg === '' || leg === '.*' || isPlainLiteral(leg))) return false;
      sawAlternateGroup = true;
      items++;
      inLiteral = false;
      i = close + 1;
      continue;
    }
    if (ch === '\\') {
      const next = body[i + 1];
      if (next === undefined || /[0-9A-Za-z]/.test(next)) return false;
      i += 2;
    } else if (REGEX_SPECIAL.has(ch)) {
      return false;
    } else {
      i += 1;
    }
    if (!inLiteral) {
      literalRuns++;
      items++;
      inLiteral = true;
    }
  }
  return literalRuns <= 1 && items <= 3;
}

function isPlainLiteral(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\') {
      const next = text[i + 1];
      if (next === undefined || /[0-9A-Za-z]/.test(next)) return false;
      i++;
    } else if (REGEX_SPECIAL.has(ch)) return false;
  }
  return true;
}
