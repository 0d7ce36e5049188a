// What makes per-line work cheap at ingest: a training log repeats a few dozen line shapes millions
// of times (`step N | loss X | lr Y`), differing only in their numbers. One pass splits a line into
// its number tokens and a template (the text with the numbers masked). The first lines of a template
// run the full extractors (metric-extractors.ts) and the signature gate; when every extracted value
// is one of the line's own number tokens, the template keeps a plan (token index → series name) and
// later lines of it are read by parsing just those tokens. A plan is trusted only once a second line
// of the template gave the same answer both ways. Templates whose values are derived (ImageNet's
// fractional epoch) or whose lines hold `\r` redraws keep using the extractors.
//
// Finding a line's template: a loop prints the same few shapes in turn, so a line is first tried
// against the template(s) that followed the previous line's last time, by the template's compiled
// regular expression (native text comparison, no hashing); only the others are tokenized and
// hashed. On the server, lines still in bytes take the same prediction in line-bytes.ts and are
// decoded only when it fails.
//
// Measured with bench/training-bench.ts: the extractors alone cost ~6 µs a line on the generated run;
// the template path ~0.5 µs.

import { mayMatchSignature } from './failure-signatures.ts';
import { byteTokenEnds, byteTokenStarts, bytesView, decimalValueBytes, matchTemplateBytes, templateBytesOf, type TemplateBytes } from './line-bytes.ts';
import { locateTokens, matchTemplate, templatePattern, templateText, tokenCheck, tokenClass, tokenCount, tokenEnds, tokenize, tokenKey, tokenNonFinite, tokenSawNccl, tokenSawReturn, tokenStarts, tokenValue } from './line-tokens.ts';
import { extractMetrics, type ExtractedMetrics } from './metric-extractors.ts';

function sameValue(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b)) || (Number.isFinite(a) && Math.abs(a - b) <= Math.abs(b) * 1e-12);
}

export interface Plan {
  /** Token index of the step, or -1. */
  stepToken: number;
  tokens: number[];
  names: string[];
  /** Whether a line of the plan is progress (a value other than loss_scale/overflow). */
  progress: boolean;
  /** The caller's per-rank cache of the series the names go to (run-state.ts), so a line costs no map lookups. */
  seriesByRank: Map<number, unknown>;
  /** The rank asked last and its entry (a stream's lines are one rank's, and a line asks twice): spares the map lookup. */
  lastRank: number;
  lastSeries: unknown;
}

interface TemplateInfo {
  /** undefined: the line has no metrics; 'slow': run the extractors; a plan: read the tokens. */
  plan: Plan | 'slow' | undefined;
  /** Whether lines of this template had their plan confirmed by a second line. */
  confirmed: boolean;
  /** Lines seen (to stop re-checking a template that has no metrics after a few). */
  seen: number;
  /** Lines whose values matched several tokens; past MAX_AMBIGUOUS the template stays on the extractors. */
  ambiguous: number;
  /** Whether the template's words can match a failure signature (numbers play no part in the gate; `nan`/`inf` words do, and are gated per line). */
  mayMatch: boolean;
  /** Number tokens of the template and its second hash (guards against a collision of the first). */
  tokens: number;
  check: number;
  /**
   * The template's text without its tokens as character codes, where each of its `tokens + 1`
   * pieces ends, and each token's kind (sign << 8 | tokenClass); its templatePattern() once a
   * second line was of the template (one-off lines never compile one).
   */
  text: Uint16Array;
  textEnds: Int32Array;
  kinds: Int32Array;
  pattern: RegExp | undefined;
  /** The highest token index the plan reads (locateTokens stops there), -1 for none; -2 until asked. */
  lastPlanToken: number;
  /** The template's text as UTF-8, for lines still in bytes (line-bytes.ts); made on first use, null when it has surrogates. */
  bytes: TemplateBytes | null | undefined;
  /** The last token the bytes path locates: lastPlanToken(), or -1 without a plan (set with `bytes`). */
  bytesLastToken: number;
  /** Whether lines of the template have a nan/inf token, and a ` NCCL ` word (what tokenize() notes on the way). */
  nonFinite: boolean;
  nccl: boolean;
  /** The templates whose lines followed a line of this one last (the most recent first): what the next line is tried against. */
  next: TemplateInfo | undefined;
  nextBefore: TemplateInfo | undefined;
}

/** A new template's info from the line tokenize() just split (its text pieces and token kinds). */
function newTemplate(line: string, from: number, count: number, mayMatch: boolean): TemplateInfo {
  const kinds = new Int32Array(count);
  const textEnds = new Int32Array(count + 1);
  let textLength = line.length - from;
  for (let index = 0; index < count; index++) textLength -= tokenEnds[index]! - tokenStarts[index]!;
  const text = new Uint16Array(textLength);
  let textAt = 0;
  let last = from;
  for (let index = 0; index <= count; index++) {
    const start = index === count ? line.length : tokenStarts[index]!;
    for (let i = last; i < start; i++) text[textAt++] = line.charCodeAt(i);
    textEnds[index] = textAt;
    if (index === count) break;
    const first = line.charCodeAt(start);
    kinds[index] = first === 45 || first === 43 ? (first << 8) | tokenClass(line.charCodeAt(start + 1)) : tokenClass(first);
    last = tokenEnds[index]!;
  }
  return { plan: undefined, confirmed: false, seen: 0, ambiguous: 0, mayMatch, tokens: count, check: tokenCheck, text, textEnds, kinds, nonFinite: tokenNonFinite, nccl: tokenSawNccl, next: undefined, nextBefore: undefined, pattern: undefined, lastPlanToken: -2, bytes: undefined, bytesLastToken: -1 };
}

export interface LineReading {
  metrics: ExtractedMetrics | undefined;
  /** False when no failure signature can match the line. */
  mayMatchSignature: boolean;
}

/** Templates kept per run: past this, lines take the extractor path (correct, slower). */
const MAX_TEMPLATES = 4096;
/** A template with no metrics is re-checked on this many lines before it is trusted to have none. */
const EMPTY_CHECKS = 2;
/** Lines of a template whose values stay ambiguous (two fields always equal) before it keeps using the extractors. */
const MAX_AMBIGUOUS = 8;

/**
 * Which token each extracted value came from. A value equal to several tokens (step 5 on the 5th of
 * the month) is ambiguous on this line: 'ambiguous' asks to try the next line of the template.
 */
function planFor(line: string, count: number, found: ExtractedMetrics): Plan | 'slow' | 'ambiguous' {
  const values = new Float64Array(count);
  for (let index = 0; index < count; index++) values[index] = tokenValue(line, index);
  const used = new Uint8Array(count);
  let ambiguous = false;
  const take = (value: number): number => {
    let found = -1;
    for (let index = 0; index < count; index++) {
      if (used[index] === 0 && sameValue(values[index]!, value)) {
        if (found !== -1) ambiguous = true;
        else found = index;
      }
    }
    if (found !== -1) used[found] = 1;
    return found;
  };
  const stepToken = found.step === undefined ? -1 : take(found.step);
  if (found.step !== undefined && stepToken === -1) return 'slow';
  const tokens: number[] = [];
  const names: string[] = [];
  for (const [name, value] of found.values) {
    const index = take(value);
    if (index === -1) return 'slow';
    tokens.push(index);
    names.push(name);
  }
  return ambiguous ? 'ambiguous' : { stepToken, tokens, names, progress: names.some((name) => name !== 'loss_scale' && name !== 'overflow'), seriesByRank: new Map(), lastRank: -1, lastSeries: undefined };
}

function samePlan(a: Plan, b: Plan): boolean {
  return a.stepToken === b.stepToken && a.tokens.join() === b.tokens.join() && a.names.join() === b.names.join();
}

/** The template's text as UTF-8 pieces (null when it holds a surrogate: bytes could not say the same). */
function templateBytes(info: TemplateInfo): TemplateBytes | null {
  const pieces: Buffer[] = [];
  const textEnds = new Int32Array(info.tokens + 1);
  let bytes = 0;
  for (let k = 0; k <= info.tokens; k++) {
    let text = '';
    for (let at = k === 0 ? 0 : info.textEnds[k - 1]!; at < info.textEnds[k]!; at++) {
      const code = info.text[at]!;
      if (code >= 0xd800 && code <= 0xdfff) return null;
      text += String.fromCharCode(code);
    }
    const piece = Buffer.from(text, 'utf8');
    pieces.push(piece);
    bytes += piece.length;
    textEnds[k] = bytes;
  }
  return templateBytesOf(new Uint8Array(Buffer.concat(pieces)), textEnds, info.kinds, info.tokens);
}

function lastPlanToken(info: TemplateInfo, plan: Plan): number {
  if (info.lastPlanToken === -2) info.lastPlanToken = Math.max(plan.stepToken, ...plan.tokens);
  return info.lastPlanToken;
}

/** Whether lines of a template may be read in bytes (scanBytes): confirmed, read by a plan or holding no metrics, and nothing that asks for the line's text. */
function takesBytesPath(info: TemplateInfo): boolean {
  return info.confirmed && info.plan !== 'slow' && !info.mayMatch && !info.nccl && !info.nonFinite;
}

/** Distinct line starts filed per run, and templates tried per start, when the prediction from the previous line misses. */
const MAX_HEADS = 1024;
const TEMPLATES_PER_HEAD = 4;

/** The key of a line's first two bytes, digits as one ('0'): lines of a template that start with a number share it. */
function headKey(first: number, second: number): number {
  return ((first >= 48 && first <= 57 ? 48 : first) << 8) | (second >= 48 && second <= 57 ? 48 : second);
}

/**
 * Whether a number token is finite whatever its digits, and decimalValueBytes() reads it: at most
 * 15 bytes and no exponent (so no overflow to Infinity, and at most 15 digits). scanBytes leaves
 * such values unread (NaN in planValues) for planValueBytes(): a thinned series skips most values,
 * and those only have to be finite.
 */
function surelyFinite(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start > 15) return false;
  for (let i = start; i < end; i++) if ((bytes[i]! | 0x20) === 101) return false;
  return true;
}

/** Per-run cache of line templates. */
export class LineTemplates {
  /** Template hash → info; the second hash and token count stored in the info make a collision negligible. */
  private readonly templates = new Map<number, TemplateInfo>();
  /**
   * Results of the last scan(), kept in fields so a line allocates nothing: either `plan` (the values
   * are `planValues[0 … plan.tokens.length)` and the step `planStep`, NaN when the plan has none) or
   * `metrics` (the extractors' answer), or neither (no metrics).
   */
  plan: Plan | undefined;
  planStep = Number.NaN;
  planValues = new Float64Array(16);
  metrics: ExtractedMetrics | undefined;
  /** False when the last scanned line has no ` NCCL ` (true: it may have one; ask the line). */
  mayHaveNccl = true;
  /** The template of the line scanned last (undefined after a line that had none). */
  private previous: TemplateInfo | undefined;
  /**
   * Templates of the bytes path by the key of their lines' first two bytes (headKey), most recently
   * matched first: what a line in bytes is tried against when the prediction misses (a JSON metric
   * line every few hundred step lines), so that it is not decoded and tokenized.
   */
  private readonly byHead = new Map<number, TemplateInfo[]>();
  /** A DataView over the bytes scanBytes reads, while it reads them. */
  private view: DataView | undefined;

  /** The metrics of a line (the same answer as `extractMetrics(line)`, mostly without running it) and the signature gate. */
  read(line: string): LineReading {
    const mayMatch = this.scan(line, 0);
    if (this.plan === undefined) return { metrics: this.metrics, mayMatchSignature: mayMatch };
    const values: Array<[string, number]> = [];
    for (let i = 0; i < this.plan.tokens.length; i++) values.push([this.plan.names[i]!, this.planValues[i]!]);
    return { metrics: { step: this.plan.stepToken === -1 ? undefined : this.planStep, values }, mayMatchSignature: mayMatch };
  }

  /**
   * Reads `rawLine` from `from` on (past a `[rankN]: ` prefix, with no substring built for it) into
   * `plan`/`planValues` or `metrics` (see there); returns whether a failure signature may match it.
   */
  scan(rawLine: string, from: number): boolean {
    this.plan = undefined;
    this.metrics = undefined;
    this.mayHaveNccl = true;
    const previous = this.previous;
    this.previous = undefined;
    if (rawLine.length - from > 2048) return this.extractAll(rawLine, from);
    // Most lines are of the template that followed the previous line's last time (a training loop
    // prints the same few lines in turn): checked by comparing text, with no hashing.
    let info: TemplateInfo | undefined;
    // Whether tokenStarts/tokenEnds hold this line's tokens (a matched line has them located on demand).
    let located = true;
    // Whether the line has a nan/inf token (tokenize() notes it; a matched line has its template's).
    let nonFinite = false;
    if (previous !== undefined) {
      const guess = previous.next;
      if (guess !== undefined && matchTemplate(rawLine, from, guess)) info = guess;
      else {
        const other = previous.nextBefore;
        if (other !== undefined && matchTemplate(rawLine, from, other)) {
          info = other;
          previous.nextBefore = guess;
          previous.next = other;
        }
      }
    }
    if (info === undefined) {
      if (!tokenize(rawLine, from)) return this.extractAll(rawLine, from);
      this.mayHaveNccl = tokenSawNccl;
      if (tokenSawReturn) return this.extractAll(rawLine, from);
      info = this.templates.get(tokenKey);
      if (info === undefined) {
        if (this.templates.size >= MAX_TEMPLATES) return this.extractAll(rawLine, from);
        const line = from === 0 ? rawLine : rawLine.slice(from);
        info = newTemplate(rawLine, from, tokenCount, mayMatchSignature(templateText(rawLine, from, tokenCount)) || mayMatchSignature(line));
        this.templates.set(tokenKey, info);
      }
      if (info.tokens !== tokenCount || info.check !== tokenCheck) return this.extractAll(rawLine, from);
      nonFinite = tokenNonFinite;
      if (previous !== undefined && previous.next !== info) {
        previous.nextBefore = previous.next;
        previous.next = info;
      }
    } else {
      located = false;
      nonFinite = info.nonFinite;
      this.mayHaveNccl = info.nccl;
    }
    this.previous = info;
    const count = info.tokens;
    if (++info.seen === 2 && info.pattern === undefined) info.pattern = templatePattern(info);
    const mayMatch = info.mayMatch || (nonFinite && mayMatchSignature(from === 0 ? rawLine : rawLine.slice(from)));
    if (info.confirmed) {
      this.noteHead(rawLine, from, info);
      const plan = info.plan;
      if (plan === undefined) return mayMatch;
      if (plan === 'slow') {
        this.metrics = extractMetrics(from === 0 ? rawLine : rawLine.slice(from));
        return mayMatch;
      }
      const tokens = plan.tokens;
      if (!located) locateTokens(rawLine, from, info, lastPlanToken(info, plan));
      if (tokens.length > this.planValues.length) this.planValues = new Float64Array(tokens.length * 2);
      for (let i = 0; i < tokens.length; i++) this.planValues[i] = tokenValue(rawLine, tokens[i]!);
      this.planStep = plan.stepToken === -1 ? Number.NaN : tokenValue(rawLine, plan.stepToken);
      this.plan = plan;
      return mayMatch;
    }
    const found = extractMetrics(from === 0 ? rawLine : rawLine.slice(from));
    this.metrics = found;
    if (!located && found !== undefined) locateTokens(rawLine, from, info, count - 1);
    const plan = found === undefined ? undefined : planFor(rawLine, count, found);
    if (plan === 'ambiguous') {
      info.seen--;
      if (++info.ambiguous >= MAX_AMBIGUOUS) {
        info.plan = 'slow';
        info.confirmed = true;
      }
      return mayMatch;
    }
    if (info.seen === 1) info.plan = plan;
    else if (plan === undefined && info.plan === undefined) info.confirmed = info.seen >= EMPTY_CHECKS;
    else if (plan !== undefined && plan !== 'slow' && info.plan !== undefined && info.plan !== 'slow' && samePlan(plan, info.plan)) info.confirmed = true;
    else {
      // Lines of one template answered differently: keep extracting them one by one.
      info.plan = 'slow';
      info.confirmed = true;
    }
    return mayMatch;
  }

  /**
   * The fast path for a line still in UTF-8 bytes, `bytes[from, end)` past its `[rankN]:` prefix:
   * when it is a line of a template predicted from the previous line (see scan), confirmed, whose
   * lines no failure signature can match and that has no NCCL word or nan/inf, its values (if any)
   * are read into `plan`/`planValues`/`planStep` (values left NaN are read by planValueBytes) and
   * it answers true. Otherwise it answers false
   * having changed nothing the caller sees, and the caller decodes the line and scans the string.
   */
  scanBytes(bytes: Uint8Array, from: number, end: number, view: DataView = bytesView(bytes)): boolean {
    this.view = view;
    const taken = this.scanBytesInView(bytes, from, end);
    // No push body is held past its lines.
    this.view = undefined;
    return taken;
  }

  private scanBytesInView(bytes: Uint8Array, from: number, end: number): boolean {
    if (end - from > 2048) return false;
    const previous = this.previous;
    let info = previous?.next;
    if (info === undefined || !this.matchBytes(info, bytes, from, end)) {
      const other = previous?.nextBefore;
      if (other !== undefined && this.matchBytes(other, bytes, from, end)) {
        previous!.nextBefore = info;
        previous!.next = other;
        info = other;
      } else {
        const found = this.matchByHead(bytes, from, end, info, other);
        if (found === undefined) return false;
        if (previous !== undefined) {
          previous.nextBefore = info;
          previous.next = found;
        }
        info = found;
      }
    }
    const plan = info.plan;
    if (plan !== undefined && plan !== 'slow') {
      const tokens = plan.tokens;
      if (tokens.length > this.planValues.length) this.planValues = new Float64Array(tokens.length * 2);
      for (let i = 0; i < tokens.length; i++) {
        const start = byteTokenStarts[tokens[i]!]!;
        const tokenEnd = byteTokenEnds[tokens[i]!]!;
        if (surelyFinite(bytes, start, tokenEnd)) {
          // Finite and readable: read when asked (planValueBytes).
          this.planValues[i] = Number.NaN;
          continue;
        }
        const value = decimalValueBytes(bytes, start, tokenEnd);
        // Past the exact fast parse (or non-finite): the string path reads it.
        if (Number.isNaN(value)) return false;
        this.planValues[i] = value;
      }
      if (plan.stepToken !== -1) {
        this.planStep = decimalValueBytes(bytes, byteTokenStarts[plan.stepToken]!, byteTokenEnds[plan.stepToken]!);
        if (Number.isNaN(this.planStep)) return false;
      } else this.planStep = Number.NaN;
      this.plan = plan;
    } else this.plan = undefined;
    this.metrics = undefined;
    this.mayHaveNccl = false;
    this.previous = info;
    info.seen++;
    return true;
  }

  /**
   * Value `index` of the plan of the line scanBytes() just read from `bytes` (before any other
   * scan): those it left unread are read now, and kept in planValues.
   */
  planValueBytes(index: number, bytes: Uint8Array): number {
    const value = this.planValues[index]!;
    if (value === value) return value;
    const token = this.plan!.tokens[index]!;
    return (this.planValues[index] = decimalValueBytes(bytes, byteTokenStarts[token]!, byteTokenEnds[token]!));
  }

  /** Every value of the plan of the line scanBytes() just read from `bytes` into planValues (see planValueBytes). */
  readPlanValuesBytes(bytes: Uint8Array): void {
    const plan = this.plan;
    if (plan !== undefined) for (let i = 0; i < plan.tokens.length; i++) this.planValueBytes(i, bytes);
  }

  /**
   * A template of the bytes path whose lines start as this one does (see byHead), other than the two
   * the prediction tried; undefined when none matches.
   */
  private matchByHead(bytes: Uint8Array, from: number, end: number, tried: TemplateInfo | undefined, triedToo: TemplateInfo | undefined): TemplateInfo | undefined {
    const candidates = this.byHead.get(headKey(from < end ? bytes[from]! : 0, from + 1 < end ? bytes[from + 1]! : 0));
    if (candidates === undefined) return undefined;
    for (let i = 0; i < candidates.length; i++) {
      const candidate = candidates[i]!;
      if (candidate === tried || candidate === triedToo || !this.matchBytes(candidate, bytes, from, end)) continue;
      if (i > 0) {
        // Most recently matched first.
        candidates.copyWithin(1, 0, i);
        candidates[0] = candidate;
      }
      return candidate;
    }
    return undefined;
  }

  /** Files a template of the bytes path under the start of a line of it that the string path read (only ASCII starts: there a character is its byte). */
  private noteHead(line: string, from: number, info: TemplateInfo): void {
    if (!takesBytesPath(info)) return;
    const first = from < line.length ? line.charCodeAt(from) : 0;
    const second = from + 1 < line.length ? line.charCodeAt(from + 1) : 0;
    if (first >= 128 || second >= 128) return;
    const key = headKey(first, second);
    let candidates = this.byHead.get(key);
    if (candidates === undefined) {
      if (this.byHead.size >= MAX_HEADS) return;
      candidates = [];
      this.byHead.set(key, candidates);
    }
    if (candidates.includes(info)) return;
    if (candidates.length >= TEMPLATES_PER_HEAD) candidates.pop();
    candidates.unshift(info);
  }

  /** Whether a line in bytes is of `info`'s template and takes the fast path (see scanBytes); locates the tokens its plan reads. */
  private matchBytes(info: TemplateInfo, bytes: Uint8Array, from: number, end: number): boolean {
    const template = info.bytes;
    // Made once the template takes the bytes path, which it then does for good (confirmed: its plan and gates are fixed).
    if (template != null) return matchTemplateBytes(bytes, from, end, template, info.bytesLastToken, this.view);
    if (template === null || !takesBytesPath(info)) return false;
    const plan = info.plan;
    info.bytesLastToken = plan === undefined || plan === 'slow' ? -1 : lastPlanToken(info, plan);
    info.bytes = templateBytes(info);
    return info.bytes !== null && matchTemplateBytes(bytes, from, end, info.bytes, info.bytesLastToken, this.view);
  }

  /** The slow path: the extractors and the signature gate on the whole line. */
  private extractAll(rawLine: string, from: number): boolean {
    const line = from === 0 ? rawLine : rawLine.slice(from);
    this.metrics = extractMetrics(line);
    return mayMatchSignature(line);
  }
}
