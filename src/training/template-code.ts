// A hot template's byte matcher compiled to JavaScript: matchTemplateBytes() (line-bytes.ts)
// unrolled for one template, its text as constants. Matching was most of the tracker's CPU on the
// server (the 244 MB bench log, bench/server-rss-ab.ts with --cpu-prof: ~0.43 of ~0.9 s), most
// of it the loop over a template's pieces loading each text byte and piece end from arrays.
// Unrolled, text is compared 4 bytes at a time (DataView.getInt32 against a constant) and each
// token's digit loop is straight-line code: the step and tqdm lines of bench/dataset.ts, in a loop
// over the lines of one template, ~320 -> ~135 ns and ~210 -> ~85 ns a line.
//
// V8 takes tens of milliseconds to optimize such a function, so only templates that matched many
// lines are compiled (line-templates.ts), and only those without word runs (matchTemplateBytes'
// other loop). The generated source holds integers alone (byte values, lengths, token kinds, each
// checked to be one), never text from a line.

import { byteTokenEnds, byteTokenStarts, numberEndBytes, tokenEndBytes, type TemplateBytes } from './line-bytes.ts';

/**
 * Whether `bytes[from, end)` is a line of the template the matcher was compiled from, exactly as
 * matchTemplateBytes() answers; fills byteTokenStarts/byteTokenEnds up to the token it was compiled
 * for. `view` is a DataView over all of `bytes` (bytesView()).
 */
export type TemplateMatcher = (bytes: Uint8Array, view: DataView, from: number, end: number) => boolean;

/** A DataView over all of `bytes` (the same offsets as the array's). */
export function bytesView(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function integer(value: number): string {
  if (!Number.isSafeInteger(value)) throw new Error(`template code: ${value} is not an integer`);
  return String(value);
}

/** The matcher of a template without word runs, filling token positions up to `lastToken`; undefined for a template with word runs. */
export function compileTemplateMatcher(template: TemplateBytes, lastToken: number): TemplateMatcher | undefined {
  if (template.runLengths !== undefined) return undefined;
  const { text, textEnds, kinds, plainNumber, tokens } = template;
  const lines = ['let pos = from;', 'let t = 0;', 'let c = 0;'];
  for (let k = 0; k <= tokens; k++) {
    const pieceStart = k === 0 ? 0 : textEnds[k - 1]!;
    const length = textEnds[k]! - pieceStart;
    if (length > 0) {
      const checks = [`pos + ${integer(length)} > end`];
      let at = 0;
      for (; at + 4 <= length; at += 4) {
        const i = pieceStart + at;
        const word = text[i]! | (text[i + 1]! << 8) | (text[i + 2]! << 16) | (text[i + 3]! << 24);
        checks.push(`view.getInt32(pos + ${integer(at)}, true) !== ${integer(word)}`);
      }
      for (; at < length; at++) checks.push(`bytes[pos + ${integer(at)}] !== ${integer(text[pieceStart + at]!)}`);
      lines.push(`if (${checks.join(' || ')}) return false;`, `pos += ${integer(length)};`);
    }
    if (k === tokens) {
      lines.push('return pos === end;');
      break;
    }
    if (plainNumber[k] === 1) {
      // matchTemplateBytes' plain number: digits, then the full grammar only after `,`, `.` or an exponent.
      lines.push(
        't = pos;',
        'c = 0;',
        'while (t < end && (c = bytes[t]) >= 48 && c <= 57) t++;',
        'if (t === pos) return false;',
        'if (c === 46 && t + 1 < end && (c = bytes[t + 1]) >= 48 && c <= 57) {',
        '  t += 2;',
        '  while (t < end && (c = bytes[t]) >= 48 && c <= 57) t++;',
        '  if ((c === 101 || c === 69) && t < end) t = numberEndBytes(bytes, pos, end);',
        '} else if (c === 44 || c === 101 || c === 69) t = numberEndBytes(bytes, pos, end);',
      );
    } else {
      lines.push(`t = tokenEndBytes(bytes, from, pos, end, ${integer(kinds[k]!)});`, 'if (t < 0) return false;');
    }
    if (k <= lastToken) lines.push(`starts[${integer(k)}] = pos;`, `ends[${integer(k)}] = t;`);
    lines.push('pos = t;');
  }
  // Integers only are interpolated above (see the header).
  const make = new Function('numberEndBytes', 'tokenEndBytes', 'starts', 'ends', `return function matchTemplate(bytes, view, from, end) {\n${lines.join('\n')}\n};`) as (
    numberEnd: typeof numberEndBytes,
    tokenEnd: typeof tokenEndBytes,
    starts: Int32Array,
    ends: Int32Array,
  ) => TemplateMatcher;
  return make(numberEndBytes, tokenEndBytes, byteTokenStarts, byteTokenEnds);
}
