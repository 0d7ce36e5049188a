// Raw-byte prefilters implied by label filters. A parsed label's value is text of the line (json and
// logfmt may unescape it), so `| json | event="train_metrics"` can only keep lines whose bytes contain
// `train_metrics` (or a backslash, for an escaped value), and `| logfmt | grad_norm != ""` only lines
// that contain `grad` (a sanitized key keeps the name's runs of letters and digits). Other lines are
// dropped before they are decoded or parsed; the label filter still runs on the lines that pass, so
// this only skips lines the pipeline would drop anyway.
//
// The reasoning holds only while the label can come from a parser alone: every prefilter names the
// label, and a block whose stream has that label, or that carries structured metadata, runs without it
// (see `labelPrefilterApplies` in pipeline.ts). Stages that rewrite the line or set labels from
// templates end the analysis. Measured with bench/parser-profile.ts: `| json | event="train_metrics"`
// on the bench log parses 41k of 911k lines and costs about what a literal count of the same bytes does.

import type { LabelFilter, Stage } from '../syntax/ast.ts';
import { analyzeRegexLiterals } from '../../regex/index.ts';
import { compileMatcher } from './label-filter.ts';
import { parsePattern } from './pattern.ts';
import { ERROR_LABEL, GO_SPACE_CHARS } from './labels-builder.ts';

export interface RawNeedle {
  bytes: Buffer;
  /**
   * A logfmt key's last run: a match counts only when '=' follows it in the same line, right after it
   * or after non-ASCII spaces that trimming removes from the key (see keyEndAt).
   */
  keyEnd: boolean;
}

/** Lines must contain one of `needles` unless the label already exists outside the parsers. */
export interface LabelPrefilter {
  needles: string[];
  /**
   * What the block scan searches for: the needles' UTF-8 bytes, or a shorter byte string and the bytes
   * that may follow it where a needle set would take many passes (any line with a needle has one).
   */
  rawNeedles: RawNeedle[];
  /** The labels the filter is about: a stream label of one of these names disables the prefilter. */
  labels: string[];
}

/** How one parser stage can produce a label that a later filter reads. */
type Producer =
  /**
   * Any key of the line, sanitized. `valueAfterEquals`: a key gives a label only when '=' follows it
   * (logfmt without --keep-empty), so a name ending in a letter or digit needs `<last run>=`.
   */
  | {
      kind: 'anyKey';
      escapedKeys: boolean;
      valueAfterEquals: boolean;
      /** `| json` without parameters: a line without '{' is a parse error and gives no key at all. */
      objectOnly: boolean;
    }
  | { kind: 'named'; names: Set<string>; required: Map<string, string | null> }
  | {
      kind: 'params';
      names: Set<string>;
      /** `| json label="path"`: a value is a JSON value's text. */
      fromJson: boolean;
    };

const BACKSLASH = '\\';
const OBJECT_START = '{';

/** The characters a logfmt key may end in that trimming removes (ASCII spaces end the key instead). */
const KEY_TRAILING_SPACES = [...GO_SPACE_CHARS].filter((c) => c.charCodeAt(0) > 127);
/** Those spaces in UTF-8, and a table of the bytes they end with (a quick no when walking back). */
const TRAILING_SPACE_BYTES = KEY_TRAILING_SPACES.map((space) => Buffer.from(space, 'utf8'));
const ENDS_TRAILING_SPACE = new Uint8Array(256);
for (const space of TRAILING_SPACE_BYTES) ENDS_TRAILING_SPACE[space[space.length - 1]!] = 1;
const EQUALS = 0x3d;

/**
 * Whether the key run matched at bytes[at, at + length) ends a logfmt key: '=' follows before the
 * line's end, right after it or after the non-ASCII spaces trimming removes.
 */
export function isKeyEnd(bytes: Buffer, at: number, length: number, lineEnd: number): boolean {
  let pos = at + length;
  for (;;) {
    if (pos >= lineEnd) return false;
    const c = bytes[pos]!;
    if (c === EQUALS) return true;
    if (c < 0xc2) return false;
    const space = trailingSpaceAt(bytes, pos, lineEnd);
    if (space === 0) return false;
    pos += space;
  }
}

/**
 * Where the key run that an '=' at bytes[equals] would close starts, when that run is `run` (going
 * back over trailing non-ASCII spaces, not past lineStart); -1 when it is not.
 */
export function keyRunBefore(bytes: Buffer, equals: number, run: Buffer, lineStart: number): number {
  let end = equals;
  while (end > lineStart && ENDS_TRAILING_SPACE[bytes[end - 1]!] === 1) {
    const space = trailingSpaceEndingAt(bytes, end, lineStart);
    if (space === 0) break;
    end -= space;
  }
  const start = end - run.length;
  if (start < lineStart) return -1;
  for (let i = 0; i < run.length; i++) if (bytes[start + i] !== run[i]) return -1;
  return start;
}

/** The byte length of the trailing space starting at bytes[at] (before `end`), or 0. */
function trailingSpaceAt(bytes: Buffer, at: number, end: number): number {
  spaces: for (const space of TRAILING_SPACE_BYTES) {
    if (at + space.length > end) continue;
    for (let i = 0; i < space.length; i++) if (bytes[at + i] !== space[i]) continue spaces;
    return space.length;
  }
  return 0;
}

/** The byte length of the trailing space ending at bytes[end - 1] (not before `start`), or 0. */
function trailingSpaceEndingAt(bytes: Buffer, end: number, start: number): number {
  spaces: for (const space of TRAILING_SPACE_BYTES) {
    const from = end - space.length;
    if (from < start) continue;
    for (let i = 0; i < space.length; i++) if (bytes[from + i] !== space[i]) continue spaces;
    return space.length;
  }
  return 0;
}

const plainNeedle = (text: string): RawNeedle => ({ bytes: Buffer.from(text, 'utf8'), keyEnd: false });

/** Walks the stages and returns the prefilters the label filters (and an unwrap label) imply. */
export function labelPrefilters(stages: Stage[], unwrapLabel?: string): LabelPrefilter[] {
  const out: LabelPrefilter[] = [];
  const producers: Producer[] = [];
  // Set once a stage may have put __error__ on a line: numeric filters then keep such lines.
  let errorPossible = false;
  // Set after a `| json` without parameters: it marks every line that has no '{' with an error.
  let jsonErrorsWithoutBrace = false;
  const requireValue = (label: string, value: string): void => {
    // `x = ""` also keeps lines without x.
    if (value === '') return;
    if (!analyzable(label) || value.includes(' ') || value.includes('\uFFFD')) return requireExisting(label);
    if (!producers.some((p) => canProduce(p, label))) return;
    // json and logfmt values may be written with escapes; regexp and pattern captures are plain text.
    const escapes = producers.some((p) => p.kind !== 'named');
    // A value only a JSON string can give is in the line between quotes, unless escaped (then the
    // line has a backslash). The quotes make the needle exact, and faster to find: the string search
    // skips ahead by how rare the needle's last byte is (bench log, 134 MB: `train_metrics` 43 ms,
    // `"train_metrics"` 18 ms).
    const quoted = producers.every((p) => !canProduce(p, label) || fromJson(p)) && onlyFromJsonString(value);
    const needle = quoted ? `"${value}"` : value;
    out.push(prefilter([label], escapes ? [needle, BACKSLASH] : [needle]));
    // A quoted needle is found in one fast pass: a '{' filter before it would only add a call per line.
    if (!quoted) requireBrace(label);
  };
  const requireExisting = (label: string): void => {
    const needles = existenceNeedles(producers, label);
    if (needles) {
      out.push(needles);
      requireBrace(label);
    }
  };
  // A label only `| json` can give needs a '{' in the line too: one byte, found by memchr, where the
  // value's needle may take a full Boyer-Moore pass (the block scan runs the cheap filter first).
  const requireBrace = (label: string): void => {
    if (producers.every((p) => !canProduce(p, label) || (p.kind === 'anyKey' && p.objectOnly))) out.push(prefilter([label], [OBJECT_START]));
  };
  const visitFilter = (filter: LabelFilter): void => {
    switch (filter.kind) {
      case 'string': {
        const { matcher } = filter;
        if (matcher.name === ERROR_LABEL) {
          if (jsonErrorsWithoutBrace && matcher.type === '=' && matcher.value === '') out.push(prefilter([ERROR_LABEL], [OBJECT_START]));
          return;
        }
        if (matcher.type === '=') requireValue(matcher.name, matcher.value);
        else if (!compileMatcher(matcher)('')) requireExisting(matcher.name);
        return;
      }
      case 'number':
      case 'duration':
      case 'bytes':
        if (!errorPossible) requireExisting(filter.name);
        errorPossible = true;
        return;
      case 'ip':
        return;
      case 'and':
        visitFilter(filter.left);
        visitFilter(filter.right);
        return;
      case 'or': {
        // Either side's first requirement: a line that passes passes one of the two sides.
        const before = out.length;
        visitFilter(filter.left);
        const left = out.splice(before);
        visitFilter(filter.right);
        const right = out.splice(before);
        if (left.length > 0 && right.length > 0) {
          const [a, b] = [left[0]!, right[0]!];
          out.push({ labels: [...a.labels, ...b.labels], needles: [...a.needles, ...b.needles], rawNeedles: [...a.rawNeedles, ...b.rawNeedles] });
        }
        return;
      }
    }
  };
  for (const stage of stages) {
    switch (stage.kind) {
      case 'lineFilter':
      case 'keep':
        // Line filters see the unchanged line; keep only removes labels (never __error__), so a filter
        // that needs a label still needs it.
        continue;
      case 'drop':
        // Dropping __error__ lets lines with a parse error through `__error__=""`.
        if (stage.labels.some((selection) => selection.name === ERROR_LABEL)) jsonErrorsWithoutBrace = false;
        continue;
      case 'json':
        if (stage.params.length === 0) jsonErrorsWithoutBrace = true;
        producers.push(stage.params.length === 0 ? { kind: 'anyKey', escapedKeys: true, valueAfterEquals: false, objectOnly: true } : { kind: 'params', names: new Set(stage.params.map((p) => p.label)), fromJson: true });
        errorPossible = true;
        continue;
      case 'logfmt':
        // logfmt keys run to '=' unescaped; only quoted values have escapes.
        producers.push(stage.params.length === 0 ? { kind: 'anyKey', escapedKeys: false, valueAfterEquals: !stage.keepEmpty, objectOnly: false } : { kind: 'params', names: new Set(stage.params.map((p) => p.label)), fromJson: false });
        if (stage.strict) errorPossible = true;
        continue;
      case 'regexp':
        producers.push(regexpProducer(stage.pattern));
        continue;
      case 'pattern':
        producers.push(patternProducer(stage.pattern));
        continue;
      case 'labelFilter':
        visitFilter(stage.filter);
        continue;
      case 'unpack':
      case 'lineFormat':
      case 'labelFormat':
      case 'decolorize':
        // The line or the labels are rewritten from here on: nothing later is a property of raw bytes.
        return out;
    }
  }
  if (unwrapLabel !== undefined) requireExisting(unwrapLabel);
  return out;
}

function fromJson(producer: Producer): boolean {
  return producer.kind === 'anyKey' ? producer.objectOnly : producer.kind === 'params' && producer.fromJson;
}

/**
 * Whether a json stage can give this value only from a JSON string: not the text of a number, a
 * boolean, an object or an array (which `| json` keeps as written). null gives "".
 */
function onlyFromJsonString(value: string): boolean {
  return value !== 'true' && value !== 'false' && !/^[-0-9{[]/.test(value);
}

/** Labels whose origin the analysis can follow: not internal ones, not a renamed `_extracted` copy. */
function analyzable(label: string): boolean {
  return !label.startsWith('__') && !label.endsWith('_extracted');
}

function canProduce(producer: Producer, label: string): boolean {
  return producer.kind === 'anyKey' || producer.names.has(label);
}

function prefilter(labels: string[], needles: string[], rawNeedles = needles.map(plainNeedle)): LabelPrefilter {
  return { labels, needles, rawNeedles };
}

/** Needles (any of) every line on which some parser produces `label` contains; null when unknown. */
function existenceNeedles(producers: Producer[], label: string): LabelPrefilter | null {
  if (!analyzable(label)) return null;
  const needles: string[] = [];
  const rawNeedles: RawNeedle[] = [];
  const add = (texts: string[], raw = texts.map(plainNeedle)) => {
    needles.push(...texts);
    rawNeedles.push(...raw);
  };
  for (const producer of producers) {
    if (!canProduce(producer, label)) continue;
    if (producer.kind === 'params') return null; // set even when the key is missing
    if (producer.kind === 'anyKey') {
      const last = producer.valueAfterEquals ? /[A-Za-z0-9]+$/.exec(label)?.[0] : undefined;
      if (last !== undefined) {
        // logfmt keys run to '=' and are trimmed of Go's spaces (only non-ASCII ones can be in a key)
        // before they are sanitized: the name's last run is followed by '=', directly or after those
        // spaces. The block scan makes one pass for that, not 20 (see markKeyEnds in block-scan.ts).
        add([`${last}=`, ...KEY_TRAILING_SPACES.map((space) => `${last}${space}`)], [{ bytes: Buffer.from(last, 'utf8'), keyEnd: true }]);
        continue;
      }
      // A sanitized key keeps its ASCII letters and digits as they are in the line.
      const run = longestAlphanumericRun(label);
      if (run === '') return null;
      add(producer.escapedKeys ? [run, BACKSLASH] : [run]);
      continue;
    }
    const required = producer.required.get(label);
    if (!required) return null;
    add([required]);
  }
  // No parser produces it: only a stream label or metadata could, and those disable the prefilter.
  return needles.length > 0 ? { labels: [label], needles, rawNeedles } : null;
}

function longestAlphanumericRun(label: string): string {
  let best = '';
  for (const run of label.split(/[^A-Za-z0-9]+/)) if (run.length > best.length) best = run;
  return best;
}

/** A regexp parser's captures exist only when it matched, so they need the regex's required literal. */
function regexpProducer(pattern: string): Producer {
  const names = new Set<string>();
  const plain = withPlainGroups(pattern, names);
  const plan = plain === null ? null : analyzeRegexLiterals(plain);
  const literal = plan && !plan.caseInsensitive && plan.required ? plan.required : null;
  return { kind: 'named', names, required: new Map([...names].map((name) => [name, literal])) };
}

/**
 * The pattern with each `(?P<name>` / `(?<name>` group opener turned into `(`, collecting the names;
 * null when the text has a construct this scan does not follow (`\Q…\E` quoting).
 */
function withPlainGroups(pattern: string, names: Set<string>): string | null {
  if (pattern.includes('\\Q')) return null;
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      out += pattern.slice(i, i + 2);
      i++;
      continue;
    }
    if (inClass) {
      if (c === ']') inClass = false;
      out += c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      // A `]` right after `[` or `[^` is a literal member.
      if (pattern[i + 1] === '^') out += pattern[++i];
      if (pattern[i + 1] === ']') out += pattern[++i];
      continue;
    }
    if (c === '(') {
      const group = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(pattern.slice(i, i + 260));
      if (group) {
        names.add(group[1]!);
        out += '(';
        i += group[0].length - 1;
        continue;
      }
    }
    out += c;
  }
  return out;
}

/** A pattern capture exists only when every literal before it was found. */
function patternProducer(text: string): Producer {
  const names = new Set<string>();
  const required = new Map<string, string | null>();
  let pattern;
  try {
    pattern = parsePattern(text);
  } catch {
    // The stage itself reports the syntax error when it is built.
    return { kind: 'named', names, required };
  }
  let longest: string | null = null;
  for (const node of pattern.nodes) {
    if (node.kind === 'literal') {
      if (longest === null || node.text.length > longest.length) longest = node.text;
      continue;
    }
    if (node.name === '_') continue;
    names.add(node.name);
    required.set(node.name, longest);
  }
  return { kind: 'named', names, required };
}
