// The mutable label set one entry carries through a pipeline. It remembers where each label came from
// (stream, structured metadata, or a parser) because LogQL's rules depend on it: a parser that extracts
// a key already present as a stream or metadata label stores it as `<key>_extracted`, and responses
// report parsed and metadata labels separately (Grafana's categorize-labels encoding).

import type { LabelPair, Labels } from '../../push/types.ts';

export type LabelCategory = 'stream' | 'metadata' | 'parsed';

export const ERROR_LABEL = '__error__';
export const ERROR_DETAILS_LABEL = '__error_details__';

export const ErrorType = {
  json: 'JSONParserErr',
  logfmt: 'LogfmtParserErr',
  sampleExtraction: 'SampleExtractionErr',
  labelFilter: 'LabelFilterErr',
  templateFormat: 'TemplateFormatErr',
} as const;

/**
 * Above this many added labels, lookups go through a Map index instead of a linear scan. Not tuned:
 * typical entries add 1-10 labels, where comparing a few interned names beats hashing a fresh slice.
 */
const INDEX_FROM_SIZE = 24;

/**
 * The labels an entry adds, in insertion order (a Map's semantics). A scan reuses one builder line
 * after line: arrays keep their storage across resets, where a Map reallocates on clear and rehashes
 * on delete (an unwrap deletes its label on every line), and most entries add a handful of labels.
 */
class AddedLabels {
  readonly names: string[] = [];
  readonly values: string[] = [];
  size = 0;
  private index: Map<string, number> | null = null;

  indexOf(name: string): number {
    if (this.index !== null) return this.index.get(name) ?? -1;
    const names = this.names;
    for (let i = 0; i < this.size; i++) if (names[i] === name) return i;
    return -1;
  }

  get(name: string): string | undefined {
    const i = this.indexOf(name);
    return i < 0 ? undefined : this.values[i];
  }

  has(name: string): boolean {
    return this.indexOf(name) >= 0;
  }

  set(name: string, value: string): void {
    const i = this.indexOf(name);
    if (i >= 0) {
      this.values[i] = value;
      return;
    }
    this.names[this.size] = name;
    this.values[this.size] = value;
    this.index?.set(name, this.size);
    this.size++;
    if (this.index === null && this.size > INDEX_FROM_SIZE) this.buildIndex();
  }

  delete(name: string): void {
    const i = this.indexOf(name);
    if (i < 0) return;
    const { names, values } = this;
    for (let k = i + 1; k < this.size; k++) {
      names[k - 1] = names[k]!;
      values[k - 1] = values[k]!;
    }
    this.size--;
    this.index = null;
    if (this.size > INDEX_FROM_SIZE) this.buildIndex();
  }

  clear(): void {
    this.size = 0;
    this.index = null;
  }

  private buildIndex(): void {
    this.index = new Map();
    for (let i = 0; i < this.size; i++) this.index.set(this.names[i]!, i);
  }
}

export class LabelsBuilder {
  /** The stream's labels, shared and never copied: most entries never change them. */
  private stream: Labels;
  /** Labels added or overridden by metadata, parsers and formatters. */
  private readonly added = new AddedLabels();
  /** Names in `added` that came from structured metadata. */
  private metadataNames: Set<string> | null = null;
  /** Stream labels removed by drop/keep/rename. */
  private deleted: Set<string> | null = null;

  constructor(stream: Labels, metadata?: LabelPair[]) {
    this.stream = stream;
    this.addMetadata(metadata);
  }

  /**
   * Starts over for another entry: a scan keeps one builder for all its lines instead of allocating
   * a map per line. Whoever wants the labels after the next reset copies them (toLabels).
   */
  reset(stream: Labels, metadata?: LabelPair[]): void {
    this.stream = stream;
    this.added.clear();
    this.metadataNames = null;
    this.deleted = null;
    this.addMetadata(metadata);
  }

  /** True when the labels are exactly the stream's (nothing added, nothing removed). */
  isStreamOnly(): boolean {
    return this.added.size === 0 && (this.deleted === null || this.deleted.size === 0);
  }

  private addMetadata(metadata: LabelPair[] | undefined): void {
    if (metadata && metadata.length > 0) {
      this.metadataNames = new Set();
      for (const pair of metadata) {
        const name = Object.hasOwn(this.stream, pair.name) ? `${pair.name}_extracted` : pair.name;
        this.added.set(name, pair.value);
        this.metadataNames.add(name);
      }
    }
  }

  get(name: string): string | undefined {
    const added = this.added.get(name);
    if (added !== undefined) return added;
    if (this.deleted?.has(name)) return undefined;
    return Object.hasOwn(this.stream, name) ? this.stream[name] : undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** True when the name is a stream or structured-metadata label (parsers must not overwrite it). */
  isBase(name: string): boolean {
    return Object.hasOwn(this.stream, name) || (this.metadataNames?.has(name) ?? false);
  }

  categoryOf(name: string): LabelCategory {
    if (this.metadataNames?.has(name)) return 'metadata';
    return Object.hasOwn(this.stream, name) ? 'stream' : 'parsed';
  }

  /** Stores a parser-extracted label, renaming it `<name>_extracted` when it would shadow a base label. */
  setExtracted(name: string, value: string): void {
    const target = this.isBase(name) ? `${name}_extracted` : name;
    this.added.set(target, value);
    this.deleted?.delete(target);
  }

  /** Sets a label, keeping a base label's category (label_format on a stream label changes its value). */
  set(name: string, value: string): void {
    this.added.set(name, value);
    this.deleted?.delete(name);
  }

  delete(name: string): void {
    this.added.delete(name);
    this.metadataNames?.delete(name);
    if (Object.hasOwn(this.stream, name)) (this.deleted ??= new Set()).add(name);
  }

  hasError(): boolean {
    return this.added.has(ERROR_LABEL);
  }

  /** Records an error; only the first one is kept, as in Loki. */
  setError(type: string, details?: string): void {
    if (this.added.has(ERROR_LABEL)) return;
    this.added.set(ERROR_LABEL, type);
    if (details !== undefined) this.added.set(ERROR_DETAILS_LABEL, details);
  }

  /** Every current label as [name, value] pairs: stream labels first, then added ones. */
  entries(): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const name in this.stream) {
      if (this.added.has(name) || this.deleted?.has(name)) continue;
      out.push([name, this.stream[name]!]);
    }
    const added = this.added;
    for (let i = 0; i < added.size; i++) out.push([added.names[i]!, added.values[i]!]);
    return out;
  }

  /** Every current label as a plain object. */
  toLabels(): Labels {
    const labels: Labels = {};
    for (const name in this.stream) {
      if (this.deleted?.has(name)) continue;
      labels[name] = this.stream[name]!;
    }
    const added = this.added;
    for (let i = 0; i < added.size; i++) labels[added.names[i]!] = added.values[i]!;
    return labels;
  }

  /** Labels of one category. */
  labelsOf(category: LabelCategory): Labels {
    const labels: Labels = {};
    for (const [name, value] of this.entries()) if (this.categoryOf(name) === category) labels[name] = value;
    return labels;
  }
}

/** One entry flowing through the pipeline. Stages mutate it in place. */
export interface PipelineEntry {
  timestampNs: bigint;
  line: string;
  labels: LabelsBuilder;
}

/** A pipeline stage: returns false to drop the entry. */
export interface PipelineStage {
  process(entry: PipelineEntry): boolean;
  /**
   * The same stage on a line that is not decoded yet: the line is bytes[start, end) of a block and
   * `entry.line` is not valid. Stages that never read the line (label filters, drop, keep) and the
   * byte-level parsers have it; a scan decodes the line only before the first stage without it, or
   * when the caller wants the line.
   */
  processRaw?(entry: PipelineEntry, bytes: Buffer, start: number, end: number): boolean;
}

/**
 * The characters Go's strings.TrimSpace removes (unicode.IsSpace). JavaScript's trim differs: it keeps
 * U+0085 and removes U+FEFF.
 */
export const GO_SPACE_CHARS = '\t\n\v\f\r \u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

function isGoSpace(c: number): boolean {
  return c <= 32 ? c === 32 || (c >= 9 && c <= 13) : c >= 0x85 && GO_SPACE_CHARS.includes(String.fromCharCode(c));
}

/**
 * Loki's label-name sanitizing for parsed keys: spaces trimmed, then every character (code point, as
 * Go maps runes) outside [a-zA-Z0-9_] becomes `_`.
 */
export function sanitizeLabelKey(key: string, isPrefix: boolean): string {
  if (isValidKey(key)) return key;
  let start = 0;
  let end = key.length;
  while (start < end && isGoSpace(key.charCodeAt(start))) start++;
  while (end > start && isGoSpace(key.charCodeAt(end - 1))) end--;
  if (start === end) return '';
  let result = isPrefix && key.charCodeAt(start) >= 48 && key.charCodeAt(start) <= 57 ? '_' : '';
  for (let i = start; i < end; i++) {
    const c = key.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
    result += ok ? key[i] : '_';
    // A surrogate pair is one rune.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < end && (key.charCodeAt(i + 1) & 0xfc00) === 0xdc00) i++;
  }
  return result;
}

/** Fast path: most keys are already valid label names. */
function isValidKey(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || (i > 0 && c >= 48 && c <= 57);
    if (!ok) return false;
  }
  return true;
}
