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

export class LabelsBuilder {
  readonly values = new Map<string, string>();
  readonly categories = new Map<string, LabelCategory>();

  constructor(stream: Labels, metadata?: LabelPair[]) {
    for (const name in stream) {
      this.values.set(name, stream[name]!);
      this.categories.set(name, 'stream');
    }
    if (metadata) {
      for (const pair of metadata) {
        const name = this.categories.get(pair.name) === 'stream' ? `${pair.name}_extracted` : pair.name;
        this.values.set(name, pair.value);
        this.categories.set(name, 'metadata');
      }
    }
  }

  get(name: string): string | undefined {
    return this.values.get(name);
  }

  has(name: string): boolean {
    return this.values.has(name);
  }

  /** True when the name is a stream or structured-metadata label (parsers must not overwrite it). */
  isBase(name: string): boolean {
    const category = this.categories.get(name);
    return category === 'stream' || category === 'metadata';
  }

  /** Stores a parser-extracted label, renaming it `<name>_extracted` when it would shadow a base label. */
  setExtracted(name: string, value: string): void {
    const target = this.isBase(name) ? `${name}_extracted` : name;
    this.values.set(target, value);
    this.categories.set(target, 'parsed');
  }

  /** Sets a label, keeping a base label's category (label_format on a stream label changes its value). */
  set(name: string, value: string): void {
    this.values.set(name, value);
    if (!this.categories.has(name)) this.categories.set(name, 'parsed');
  }

  delete(name: string): void {
    this.values.delete(name);
    this.categories.delete(name);
  }

  hasError(): boolean {
    return this.values.has(ERROR_LABEL);
  }

  /** Records an error; only the first one is kept, as in Loki. */
  setError(type: string, details?: string): void {
    if (this.values.has(ERROR_LABEL)) return;
    this.values.set(ERROR_LABEL, type);
    this.categories.set(ERROR_LABEL, 'parsed');
    if (details !== undefined) {
      this.values.set(ERROR_DETAILS_LABEL, details);
      this.categories.set(ERROR_DETAILS_LABEL, 'parsed');
    }
  }

  /** Every current label as a plain object. */
  toLabels(): Labels {
    const labels: Labels = {};
    for (const [name, value] of this.values) labels[name] = value;
    return labels;
  }

  /** Labels of one category. */
  labelsOf(category: LabelCategory): Labels {
    const labels: Labels = {};
    for (const [name, value] of this.values) if (this.categories.get(name) === category) labels[name] = value;
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
}

/** Loki's label-name sanitizing for parsed keys: every char outside [a-zA-Z0-9_] becomes `_`. */
export function sanitizeLabelKey(key: string, isPrefix: boolean): string {
  let out = key.trim();
  if (out.length === 0) return out;
  if (isPrefix && out.charCodeAt(0) >= 48 && out.charCodeAt(0) <= 57) out = `_${out}`;
  let result = '';
  for (let i = 0; i < out.length; i++) {
    const c = out.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95;
    result += ok ? out[i] : '_';
  }
  return result;
}
