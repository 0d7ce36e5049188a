// Go's find-all and replace-all over a compiled regex, shared by LogQL's template functions
// (regexReplaceAll, count) and the ruler's (reReplaceAll): successive non-overlapping matches,
// an empty match right after a match is skipped, and `$1`, `${1}`, `$name`, `${name}` expand.

import type { CompiledRegex } from './compile.ts';

/** Go's Regexp.Expand of one match: `$$` is a dollar, unknown groups expand to nothing. */
export function expandReplacement(template: string, match: RegExpExecArray, compiled: CompiledRegex): string {
  return template.replace(/\$(?:(\$)|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (whole, dollar?: string, braced?: string, bare?: string) => {
    if (dollar !== undefined) return '$';
    const name = braced ?? bare;
    if (name === undefined) return whole;
    if (/^\d+$/.test(name)) return match[Number(name)] ?? '';
    const index = compiled.parsed.captureNames.indexOf(name);
    return index > 0 ? (match[index] ?? '') : '';
  });
}

/** Calls `visit` on each match Go's FindAll would report, in order. */
export function forEachMatch(compiled: CompiledRegex, text: string, visit: (match: RegExpExecArray) => void): void {
  const engine = compiled.global();
  let pos = 0;
  let previousEnd = -1;
  while (pos <= text.length) {
    engine.lastIndex = pos;
    const match = engine.exec(text);
    if (match === null) break;
    const end = match.index + match[0].length;
    let accept = true;
    if (end === pos && match[0].length === 0) {
      if (match.index === previousEnd) accept = false;
      const codePoint = text.codePointAt(pos);
      pos += codePoint === undefined ? 1 : codePoint > 0xffff ? 2 : 1;
    } else {
      pos = end;
    }
    previousEnd = end;
    if (accept) visit(match);
  }
}

/** Go's ReplaceAllString (or ReplaceAllLiteralString when `literal`). */
export function replaceAll(compiled: CompiledRegex, text: string, replacement: string, literal: boolean): string {
  let out = '';
  let lastEnd = 0;
  forEachMatch(compiled, text, (match) => {
    out += text.slice(lastEnd, match.index) + (literal ? replacement : expandReplacement(replacement, match, compiled));
    lastEnd = match.index + match[0].length;
  });
  return out + text.slice(lastEnd);
}

/** How many matches Go's FindAllStringIndex reports. */
export function countMatches(compiled: CompiledRegex, text: string): number {
  let count = 0;
  forEachMatch(compiled, text, () => count++);
  return count;
}
