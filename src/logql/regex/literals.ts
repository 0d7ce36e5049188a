// Literal analysis of RE2 patterns, so regex line filters can run as substring searches (or be
// prefiltered by one) and the store's token filters can prune blocks.

export interface RegexLiteralPlan {
  /** The pattern is exactly an alternation of plain literals: a match is "contains any of these". */
  alternatives?: string[];
  /** Whether the literal comparison ignores case (leading `(?i)`). */
  caseInsensitive: boolean;
  /** A literal every match must contain (longest found), for prefiltering. */
  required?: string;
}

const META = /[\\^$.|?*+()[\]{}]/;

/** Analyses an unanchored RE2 pattern. Conservative: when unsure, it returns no literals. */
export function analyzeRegexLiterals(source: string): RegexLiteralPlan {
  let body = source;
  let caseInsensitive = false;
  if (body.startsWith('(?i)')) {
    caseInsensitive = true;
    body = body.slice(4);
  }
  if (body.includes('(?')) return { caseInsensitive };
  // Strip one wrapping group: (a|b)
  let inner = body;
  if (inner.startsWith('(') && inner.endsWith(')') && matchingParen(inner, 0) === inner.length - 1) {
    inner = inner.slice(1, -1);
  }
  const parts = splitTopLevelAlternation(inner);
  if (parts && parts.length > 0) {
    const literals = parts.map(unescapePlain);
    if (literals.every((l): l is string => l !== null && l.length > 0)) {
      return {
        alternatives: literals,
        caseInsensitive,
        required: literals.length === 1 ? literals[0] : undefined,
      };
    }
  }
  if (parts && parts.length > 1) return { caseInsensitive };
  const required = longestRequiredRun(body);
  return { caseInsensitive, required: required && required.length >= 2 ? required : undefined };
}

function matchingParen(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === '[') {
      i = skipClass(text, i);
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function skipClass(text: string, open: number): number {
  let i = open + 1;
  if (text[i] === '^') i++;
  if (text[i] === ']') i++;
  for (; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === ']') return i;
  }
  return text.length;
}

function splitTopLevelAlternation(text: string): string[] | null {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\\') {
      i++;
      continue;
    }
    if (ch === '[') {
      i = skipClass(text, i);
      continue;
    }
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === '|' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  if (depth !== 0) return null;
  parts.push(text.slice(start));
  return parts;
}

/** The literal text of a pattern with no metacharacters except escaped punctuation, or null. */
function unescapePlain(text: string): string | null {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\\') {
      const next = text[i + 1];
      if (next === undefined || /[A-Za-z0-9]/.test(next)) return null;
      out += next;
      i++;
      continue;
    }
    if (META.test(ch)) return null;
    out += ch;
  }
  return out;
}

/** Longest run of plain characters at nesting depth 0 that is not made optional by a quantifier. */
function longestRequiredRun(text: string): string | undefined {
  if (splitTopLevelAlternation(text)?.length !== 1) return undefined;
  let best = '';
  let run = '';
  const flush = () => {
    if (run.length > best.length) best = run;
    run = '';
  };
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    const next = text[i + 1];
    if (depth > 0) {
      if (ch === '\\') i++;
      else if (ch === '[') i = skipClass(text, i);
      else if (ch === '(') depth++;
      else if (ch === ')') depth--;
      continue;
    }
    if (ch === '(') {
      flush();
      depth++;
      continue;
    }
    if (ch === '[') {
      flush();
      i = skipClass(text, i);
      continue;
    }
    let literal: string | null = null;
    let width = 1;
    if (ch === '\\') {
      if (next !== undefined && !/[A-Za-z0-9]/.test(next)) {
        literal = next;
        width = 2;
      } else {
        flush();
        i++;
        continue;
      }
    } else if (!META.test(ch)) {
      literal = ch;
    }
    if (literal === null) {
      flush();
      continue;
    }
    const after = text[i + width];
    if (after === '?' || after === '*' || (after === '{' && /^\{0[,}]/.test(text.slice(i + width)))) {
      flush();
      i += width - 1;
      continue;
    }
    if (after === '+' || after === '{') {
      run += literal;
      flush();
      i += width - 1;
      continue;
    }
    run += literal;
    i += width - 1;
  }
  flush();
  return best || undefined;
}
