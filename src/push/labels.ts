// The Prometheus label-set text form `{a="b", c="d"}`, as it appears in Loki's protobuf push
// (`StreamAdapter.labels`) and in its API responses.

import type { Labels } from './types.ts';

export const LABEL_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class LabelParseError extends Error {
  readonly position: number;
  constructor(message: string, position: number) {
    super(message);
    this.name = 'LabelParseError';
    this.position = position;
  }
}

/** Sorted-by-name canonical text, e.g. `{job="train", rank="0"}`. */
export function formatLabels(labels: Labels): string {
  const names = Object.keys(labels).sort();
  const pairs = new Array<string>(names.length);
  for (let i = 0; i < names.length; i++) pairs[i] = `${names[i]}=${JSON.stringify(labels[names[i]!])}`;
  // Joined, so the result is one flat string: built with += it stayed a tree of a dozen
  // concatenations, ~400 bytes per label set for as long as it is held (the stream limiter keeps
  // one per active stream: a third of a 100k-stream server's memory per stream).
  return ['{', pairs.join(', '), '}'].join('');
}

/** Whether two label sets hold the same pairs, in any order. */
export function sameLabels(a: Labels, b: Labels): boolean {
  if (a === b) return true;
  let count = 0;
  for (const name in a) {
    if (b[name] !== a[name]) return false;
    count++;
  }
  for (const _ in b) count--;
  return count === 0;
}

/** Text quoted in an error message is cut to this many characters: a hostile label set may be megabytes. */
const QUOTED_TEXT_CHARS = 200;

/** `text` cut to QUOTED_TEXT_CHARS with a note of the full length, for messages that quote it as is. */
export function clipText(text: string, maxChars = QUOTED_TEXT_CHARS): string {
  return text.length <= maxChars ? text : `${text.slice(0, maxChars)}… (${text.length} characters)`;
}

/** JSON-quoted `text`, cut to QUOTED_TEXT_CHARS with a note of the full length. */
export function quoteClipped(text: string): string {
  return text.length <= QUOTED_TEXT_CHARS ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, QUOTED_TEXT_CHARS))}… (${text.length} characters)`;
}

/** [a-zA-Z0-9_], by char code: a regex test per character cost seconds on a 30 MB name. */
function isNameChar(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95;
}

/** Parses `{a="b", c="d"}`. Values use Go/JSON string escapes. Throws LabelParseError with the offset. */
export function parseLabels(text: string): Labels {
  const labels: Labels = {};
  let i = skipSpace(text, 0);
  if (text[i] !== '{') throw new LabelParseError(`expected '{' at offset ${i} in ${quoteClipped(text)}`, i);
  i = skipSpace(text, i + 1);
  if (text[i] === '}') return finish(text, i, labels);
  for (;;) {
    const nameStart = i;
    while (i < text.length && isNameChar(text.charCodeAt(i))) i++;
    const name = text.slice(nameStart, i);
    if (!LABEL_NAME_PATTERN.test(name)) {
      throw new LabelParseError(`invalid label name at offset ${nameStart} in ${quoteClipped(text)}`, nameStart);
    }
    i = skipSpace(text, i);
    if (text[i] !== '=') throw new LabelParseError(`expected '=' at offset ${i} in ${quoteClipped(text)}`, i);
    i = skipSpace(text, i + 1);
    if (text[i] !== '"') throw new LabelParseError(`expected '"' at offset ${i} in ${quoteClipped(text)}`, i);
    const valueStart = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    if (i >= text.length) {
      throw new LabelParseError(`unterminated label value at offset ${valueStart} in ${quoteClipped(text)}`, valueStart);
    }
    let value: string;
    try {
      value = JSON.parse(text.slice(valueStart, i + 1)) as string;
    } catch {
      throw new LabelParseError(`invalid escape in label value at offset ${valueStart} in ${quoteClipped(text)}`, valueStart);
    }
    if (Object.hasOwn(labels, name)) {
      throw new LabelParseError(`duplicate label name ${JSON.stringify(name)} in ${quoteClipped(text)}`, nameStart);
    }
    labels[name] = value;
    i = skipSpace(text, i + 1);
    if (text[i] === ',') {
      i = skipSpace(text, i + 1);
      continue;
    }
    if (text[i] === '}') return finish(text, i, labels);
    throw new LabelParseError(`expected ',' or '}' at offset ${i} in ${quoteClipped(text)}`, i);
  }
}

function finish(text: string, closeAt: number, labels: Labels): Labels {
  const end = skipSpace(text, closeAt + 1);
  if (end !== text.length) {
    throw new LabelParseError(`unexpected text after '}' at offset ${end} in ${quoteClipped(text)}`, end);
  }
  return labels;
}

function skipSpace(text: string, i: number): number {
  while (i < text.length && (text[i] === ' ' || text[i] === '\t' || text[i] === '\n')) i++;
  return i;
}
