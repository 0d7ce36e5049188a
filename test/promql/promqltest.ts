// Prometheus' promqltest language, read and run against our engine: `load <interval>` (series in the
// expanding notation `0+10x5`, `_`, `stale`), `clear`, and `eval instant at <t>` / `eval range from
// <t> to <t> step <d>` with expected results and `expect fail|warn|info|no_warn|no_info|ordered|string|
// range vector` lines (and the older `eval_fail`/`eval_warn`/`eval_info`/`eval_ordered` forms).

import type { Labels } from '../../src/push/types.ts';
import { parsePrometheusDuration } from '../../src/logql/syntax/durations.ts';
import { unquoteGoString } from '../../src/logql/syntax/quoting.ts';
import { tokenize } from '../../src/promql/syntax/lexer.ts';
import { PromQLEngine, type QueryResult } from '../../src/promql/engine/engine.ts';
import { labelsKey } from '../../src/promql/engine/series.ts';
import type { FloatHistogram } from '../../src/tsdb/types.ts';
import { compareHistograms, expandHistogramItem, splitValueItems } from './histogram-notation.ts';
import { MemorySource } from './memory-source.ts';

export interface EvalOutcome {
  line: number;
  query: string;
  passed: boolean;
  reason: string;
}

type SeriesValue = { kind: 'value'; value: number } | { kind: 'histogram'; histogram: FloatHistogram } | { kind: 'omitted' } | { kind: 'stale' };

interface ExpectedSeries {
  labels: Labels;
  values: SeriesValue[];
}

interface EvalBlock {
  line: number;
  query: string;
  range: { startMs: number; endMs: number; stepMs: number } | undefined;
  atMs: number;
  expectFail: { message?: string; regex?: string } | undefined;
  expectWarn: { present: boolean; message?: string } | undefined;
  expectInfo: { present: boolean; message?: string } | undefined;
  ordered: boolean;
  expectString: string | undefined;
  expectRangeVector: { startMs: number; endMs: number; stepMs: number } | undefined;
  scalar: number | undefined;
  series: ExpectedSeries[];
}

export class UnsupportedInput extends Error {}

function parseTimeMs(text: string): number {
  const trimmed = text.trim();
  if (/^-?\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const negative = trimmed.startsWith('-');
  const ms = Number(parsePrometheusDuration(negative ? trimmed.slice(1) : trimmed) / 1_000_000n);
  return negative ? -ms : ms;
}

function parseNumberToken(text: string): number {
  const lower = text.toLowerCase();
  if (lower === 'nan') return NaN;
  if (lower === 'inf' || lower === '+inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  if (/^[+-]?0x[0-9a-f]+$/i.test(text)) return (text.startsWith('-') ? -1 : 1) * Number.parseInt(text.replace(/^[+-]?0x/i, ''), 16);
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`bad number ${JSON.stringify(text)}`);
  return value;
}

/** Expands `1 2 _ stale 0+10x3 5-1x2 _x2 1x3` into values. */
export function parseSeriesValues(text: string): SeriesValue[] {
  const out: SeriesValue[] = [];
  for (const item of splitValueItems(text.trim())) {
    if (item.startsWith('{{')) {
      for (const histogram of expandHistogramItem(item)) out.push({ kind: 'histogram', histogram });
      continue;
    }
    if (item === '_') {
      out.push({ kind: 'omitted' });
      continue;
    }
    if (item === 'stale') {
      out.push({ kind: 'stale' });
      continue;
    }
    const omittedRepeat = /^_x(\d+)$/.exec(item);
    if (omittedRepeat) {
      for (let i = 0; i < Number(omittedRepeat[1]); i++) out.push({ kind: 'omitted' });
      continue;
    }
    const expanding = /^([+-]?[^+\-x]+(?:[eE][+-]?\d+)?)([+-])([^x]+)x(\d+)$/.exec(item);
    if (expanding) {
      const start = parseNumberToken(expanding[1]!);
      const delta = parseNumberToken(expanding[3]!) * (expanding[2] === '-' ? -1 : 1);
      const times = Number(expanding[4]);
      for (let i = 0; i <= times; i++) out.push({ kind: 'value', value: start + delta * i });
      continue;
    }
    const repeat = /^([^x]+)x(\d+)$/.exec(item);
    if (repeat) {
      const value = parseNumberToken(repeat[1]!);
      for (let i = 0; i <= Number(repeat[2]); i++) out.push({ kind: 'value', value });
      continue;
    }
    out.push({ kind: 'value', value: parseNumberToken(item) });
  }
  return out;
}

/** Splits `metric{a="b"} 1 2 3` into labels and the rest. */
export function parseSeriesLine(line: string): { labels: Labels; rest: string } {
  const trimmed = line.trim();
  let end = 0;
  let depth = 0;
  let quote: string | undefined;
  for (; end < trimmed.length; end++) {
    const ch = trimmed[end]!;
    if (quote !== undefined) {
      if (ch === '\\') end++;
      else if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === '"' || ch === "'" || ch === '`') quote = ch;
    else if (ch === '{') depth++;
    else if (ch === '}') {
      depth--;
      if (depth === 0) {
        end++;
        break;
      }
    } else if (depth === 0 && /\s/.test(ch)) break;
  }
  const descriptor = trimmed.slice(0, end);
  const labels: Labels = {};
  const tokens = tokenize(descriptor);
  let i = 0;
  if (tokens[i]?.kind === 'identifier' || tokens[i]?.kind === 'metric identifier') labels.__name__ = tokens[i++]!.text;
  if (tokens[i]?.text === '{') {
    i++;
    while (i < tokens.length && tokens[i]!.text !== '}') {
      const nameToken = tokens[i++]!;
      const name = nameToken.kind === 'string' ? unquoteGoString(nameToken.text) : nameToken.text;
      if (tokens[i]?.text === '=') {
        i++;
        labels[name] = unquoteGoString(tokens[i++]!.text);
      } else labels.__name__ = name;
      if (tokens[i]?.text === ',') i++;
    }
  }
  return { labels, rest: trimmed.slice(end) };
}

function parseExpectation(block: EvalBlock, text: string): void {
  const match = /^expect\s+(\w+)(.*)$/.exec(text)!;
  const kind = match[1]!;
  const rest = match[2]!.trim();
  const detail = (): { message?: string; regex?: string } => {
    const m = /^(msg|regex):\s?(.*)$/.exec(rest);
    if (m === null) return {};
    return m[1] === 'msg' ? { message: m[2]!.trim() } : { regex: m[2]!.trim() };
  };
  switch (kind) {
    case 'fail':
      block.expectFail = detail();
      break;
    case 'warn':
      block.expectWarn = { present: true, ...detail() };
      break;
    case 'no_warn':
      block.expectWarn = { present: false };
      break;
    case 'info':
      block.expectInfo = { present: true, ...detail() };
      break;
    case 'no_info':
      block.expectInfo = { present: false };
      break;
    case 'ordered':
      block.ordered = true;
      break;
    case 'string':
      block.expectString = unquoteGoString(rest);
      break;
    case 'range': {
      const m = /^vector from (\S+) to (\S+) step (\S+)$/.exec(rest);
      if (m === null) throw new Error(`bad expect range line: ${text}`);
      block.expectRangeVector = { startMs: parseTimeMs(m[1]!), endMs: parseTimeMs(m[2]!), stepMs: parseTimeMs(m[3]!) };
      break;
    }
    default:
      throw new Error(`unknown expectation: ${text}`);
  }
}

function almostEqual(a: number, b: number): boolean {
  if (Number.isNaN(a) && Number.isNaN(b)) return true;
  if (a === b) return true;
  const epsilon = 0.000001;
  const minNormal = 2.2250738585072014e-308;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < minNormal) return diff < epsilon * minNormal;
  return diff / Math.min(absSum, Number.MAX_VALUE) < epsilon;
}

function compareValue(expected: SeriesValue, value: number, histogram: FloatHistogram | undefined): string | undefined {
  if (expected.kind === 'histogram') {
    if (histogram === undefined) return `expected a histogram, got float ${value}`;
    const difference = compareHistograms(expected.histogram, histogram);
    return difference === undefined ? undefined : `histogram ${difference}`;
  }
  if (histogram !== undefined) return `expected float, got a histogram (count ${histogram.count})`;
  if (expected.kind !== 'value') return `expected no value, got ${value}`;
  return almostEqual(expected.value, value) ? undefined : `expected ${expected.value}, got ${value}`;
}

function formatLabels(labels: Labels): string {
  return `{${Object.keys(labels).sort().map((k) => `${k}=${JSON.stringify(labels[k])}`).join(', ')}}`;
}

function checkResult(block: EvalBlock, result: QueryResult): string | undefined {
  const value = result.value;
  if (block.expectWarn?.present && result.warnings.length === 0) return 'expected a warning, got none';
  if (block.expectWarn?.message !== undefined && !result.warnings.some((w) => w === block.expectWarn!.message)) return `expected warning ${JSON.stringify(block.expectWarn.message)}, got ${JSON.stringify(result.warnings)}`;
  if (block.expectWarn?.present === false && result.warnings.length > 0) return `expected no warning, got ${JSON.stringify(result.warnings)}`;
  if (block.expectInfo?.present && result.infos.length === 0) return 'expected an info annotation, got none';
  if (block.expectInfo?.message !== undefined && !result.infos.some((w) => w === block.expectInfo!.message)) return `expected info ${JSON.stringify(block.expectInfo.message)}, got ${JSON.stringify(result.infos)}`;
  if (block.expectInfo?.present === false && result.infos.length > 0) return `expected no info, got ${JSON.stringify(result.infos)}`;
  if (block.expectString !== undefined) {
    if (value.resultType !== 'string') return `expected string, got ${value.resultType}`;
    return value.result.value === block.expectString ? undefined : `expected string ${JSON.stringify(block.expectString)}, got ${JSON.stringify(value.result.value)}`;
  }
  if (block.scalar !== undefined) {
    if (value.resultType !== 'scalar') return `expected scalar, got ${value.resultType}`;
    return almostEqual(block.scalar, value.result.value) ? undefined : `expected scalar ${block.scalar}, got ${value.result.value}`;
  }
  if (block.range !== undefined || block.expectRangeVector !== undefined) {
    if (value.resultType !== 'matrix') return `expected matrix, got ${value.resultType}`;
    const grid = block.range ?? block.expectRangeVector!;
    const expected = new Map(block.series.map((s) => [labelsKey(s.labels), s]));
    const got = new Map(value.result.map((s) => [labelsKey(s.labels), s]));
    for (const [key, exp] of expected) {
      const actual = got.get(key);
      const points: Array<[number, SeriesValue]> = [];
      exp.values.forEach((v, i) => {
        if (v.kind === 'value' || v.kind === 'histogram') points.push([grid.startMs + i * grid.stepMs, v]);
      });
      if (actual === undefined) {
        if (points.length === 0) continue;
        return `missing series ${formatLabels(exp.labels)}`;
      }
      if (actual.timestampsMs.length !== points.length) {
        return `series ${formatLabels(exp.labels)}: expected ${points.length} points, got ${actual.timestampsMs.length} (${JSON.stringify(actual.timestampsMs.map((t, i) => [t, actual.values[i]]))})`;
      }
      for (let i = 0; i < points.length; i++) {
        const [t, v] = points[i]!;
        if (t !== actual.timestampsMs[i]) return `series ${formatLabels(exp.labels)}: point ${i} at ${actual.timestampsMs[i]}, expected ${t}`;
        const difference = compareValue(v, actual.values[i]!, actual.histograms?.[i]);
        if (difference !== undefined) return `series ${formatLabels(exp.labels)} at ${t}: ${difference}`;
      }
    }
    for (const [key, actual] of got) {
      if (!expected.has(key)) return `unexpected series ${formatLabels(actual.labels)}`;
    }
    return undefined;
  }
  if (value.resultType === 'scalar' && block.series.length === 0) return `expected empty vector, got scalar ${value.result.value}`;
  if (value.resultType !== 'vector') return `expected vector, got ${value.resultType}`;
  const samples = value.result;
  if (samples.length !== block.series.length) {
    return `expected ${block.series.length} samples, got ${samples.length}: ${samples.slice(0, 5).map((s) => `${formatLabels(s.labels)} ${s.value}`).join('; ')}`;
  }
  const byKey = new Map(samples.map((s, i) => [labelsKey(s.labels), { sample: s, index: i }]));
  for (let i = 0; i < block.series.length; i++) {
    const exp = block.series[i]!;
    const found = byKey.get(labelsKey(exp.labels));
    if (found === undefined) return `missing sample ${formatLabels(exp.labels)}; got ${samples.slice(0, 5).map((s) => formatLabels(s.labels)).join('; ')}`;
    const difference = compareValue(exp.values[0] ?? { kind: 'omitted' }, found.sample.value, found.sample.histogram);
    if (difference !== undefined) return `sample ${formatLabels(exp.labels)}: ${difference}`;
    if (block.ordered && found.index !== i) return `sample ${formatLabels(exp.labels)} at position ${found.index}, expected ${i}`;
  }
  return undefined;
}

function newBlock(line: number, command: string): EvalBlock {
  const block: EvalBlock = {
    line,
    query: '',
    range: undefined,
    atMs: 0,
    expectFail: undefined,
    expectWarn: undefined,
    expectInfo: undefined,
    ordered: false,
    expectString: undefined,
    expectRangeVector: undefined,
    scalar: undefined,
    series: [],
  };
  const m = /^(eval(?:_fail|_warn|_info|_ordered)?)\s+(instant at (\S+)|range from (\S+) to (\S+) step (\S+))\s+(.*)$/.exec(command);
  if (m === null) throw new Error(`bad eval line ${line}: ${command}`);
  const variant = m[1]!;
  if (variant === 'eval_fail') block.expectFail = {};
  if (variant === 'eval_warn') block.expectWarn = { present: true };
  if (variant === 'eval_info') block.expectInfo = { present: true };
  if (variant === 'eval_ordered') block.ordered = true;
  if (m[3] !== undefined) block.atMs = parseTimeMs(m[3]);
  else block.range = { startMs: parseTimeMs(m[4]!), endMs: parseTimeMs(m[5]!), stepMs: parseTimeMs(m[6]!) };
  block.query = m[7]!.trim();
  return block;
}

function appendValue(source: MemorySource, labels: Labels, timestampMs: number, v: SeriesValue): void {
  if (v.kind === 'omitted') return;
  if (v.kind === 'histogram') source.appendHistogram(labels, timestampMs, v.histogram);
  else source.append(labels, timestampMs, v.kind === 'value' ? v.value : NaN, v.kind === 'stale');
}

/**
 * load_with_nhcb: classic histograms (`x_bucket{le}`, `x_sum`, `x_count`) are also loaded as native
 * histograms with custom buckets named `x`, one per sample position where every bucket has a value.
 */
function classicToNhcb(loaded: Array<{ labels: Labels; values: SeriesValue[] }>): Array<{ labels: Labels; values: SeriesValue[] }> {
  const groups = new Map<string, { labels: Labels; buckets: Array<{ le: number; values: SeriesValue[] }>; sum?: SeriesValue[]; count?: SeriesValue[] }>();
  const keyOf = (labels: Labels, base: string): string => {
    const rest: Labels = { ...labels, __name__: base };
    delete rest.le;
    return labelsKey(rest);
  };
  for (const series of loaded) {
    const name = series.labels.__name__ ?? '';
    if (!name.endsWith('_bucket') || series.labels.le === undefined) continue;
    const base = name.slice(0, -'_bucket'.length);
    const key = keyOf(series.labels, base);
    let group = groups.get(key);
    if (group === undefined) {
      const labels: Labels = { ...series.labels, __name__: base };
      delete labels.le;
      group = { labels, buckets: [] };
      groups.set(key, group);
    }
    group.buckets.push({ le: parseNumberToken(series.labels.le), values: series.values });
  }
  for (const series of loaded) {
    const name = series.labels.__name__ ?? '';
    for (const suffix of ['_sum', '_count'] as const) {
      if (!name.endsWith(suffix)) continue;
      const group = groups.get(keyOf(series.labels, name.slice(0, -suffix.length)));
      if (group !== undefined) group[suffix === '_sum' ? 'sum' : 'count'] = series.values;
    }
  }
  const out: Array<{ labels: Labels; values: SeriesValue[] }> = [];
  for (const group of groups.values()) {
    group.buckets.sort((a, b) => a.le - b.le);
    const length = Math.max(...group.buckets.map((b) => b.values.length));
    const values: SeriesValue[] = [];
    for (let k = 0; k < length; k++) {
      const cumulative = group.buckets.map((b) => b.values[k]);
      if (cumulative.some((v) => v?.kind !== 'value')) {
        values.push(cumulative.some((v) => v?.kind === 'stale') ? { kind: 'stale' } : { kind: 'omitted' });
        continue;
      }
      const counts = cumulative.map((v) => (v as { value: number }).value);
      const buckets = counts.map((c, j) => (j === 0 ? c : c - counts[j - 1]!));
      const sum = group.sum?.[k];
      const count = group.count?.[k];
      values.push({
        kind: 'histogram',
        histogram: {
          schema: -53,
          zeroThreshold: 0,
          zeroCount: 0,
          count: count?.kind === 'value' ? count.value : counts[counts.length - 1]!,
          sum: sum?.kind === 'value' ? sum.value : 0,
          positiveSpans: [{ offset: 0, length: buckets.length }],
          positiveBuckets: buckets,
          negativeSpans: [],
          negativeBuckets: [],
          // Without a +Inf bucket every bound is a custom value (upstream converts such a group too).
          customValues: group.buckets.filter((b) => b.le !== Infinity).map((b) => b.le),
        },
      });
    }
    out.push({ labels: group.labels, values });
  }
  return out;
}

/** Runs one .test file; returns one outcome per eval block. */
export async function runTestFile(text: string): Promise<EvalOutcome[]> {
  const source = new MemorySource();
  const engine = new PromQLEngine(source, { defaultSubqueryStepMs: 60_000, maxSamples: 50_000_000, timeoutMs: 60_000 });
  const lines = text.split('\n');
  const outcomes: EvalOutcome[] = [];
  let i = 0;
  let unsupportedLoad = false;
  while (i < lines.length) {
    const raw = lines[i]!;
    const line = raw.trim();
    i++;
    if (line === '' || line.startsWith('#')) continue;
    if (line === 'clear') {
      source.clear();
      unsupportedLoad = false;
      continue;
    }
    if (line.startsWith('load')) {
      const m = /^load(_with_nhcb)?\s+(\S+)/.exec(line);
      const intervalMs = parseTimeMs(m![2]!);
      const loaded: Array<{ labels: Labels; values: SeriesValue[] }> = [];
      while (i < lines.length && /^\s+\S/.test(lines[i]!) && !lines[i]!.trim().startsWith('#')) {
        const seriesLine = lines[i]!;
        i++;
        try {
          const { labels, rest } = parseSeriesLine(seriesLine);
          if (rest.trimStart().startsWith('@') || /^\S*@/.test(seriesLine.trim())) throw new UnsupportedInput('start timestamp series');
          const values = parseSeriesValues(rest);
          loaded.push({ labels, values });
          values.forEach((v, k) => appendValue(source, labels, k * intervalMs, v));
        } catch (error) {
          if (error instanceof UnsupportedInput) unsupportedLoad = true;
          else throw error;
        }
      }
      if (m![1] !== undefined) for (const series of classicToNhcb(loaded)) series.values.forEach((v, k) => appendValue(source, series.labels, k * intervalMs, v));
      continue;
    }
    if (line.startsWith('eval')) {
      const block = newBlock(i, line);
      let parseError: string | undefined;
      while (i < lines.length && /^\s+\S/.test(lines[i]!)) {
        const body = lines[i]!.trim();
        i++;
        if (body.startsWith('#')) continue;
        try {
          if (body.startsWith('expect ')) parseExpectation(block, body);
          else if (body.startsWith('expected_fail_message ')) block.expectFail = { message: body.slice('expected_fail_message '.length) };
          else if (body.startsWith('expected_fail_regexp ')) block.expectFail = { regex: body.slice('expected_fail_regexp '.length) };
          else if (/^[-+]?(\d|\.\d|inf|nan)/i.test(body) && !body.includes('{')) block.scalar = parseNumberToken(body.split(/\s+/)[0]!);
          else {
            const { labels, rest } = parseSeriesLine(body);
            block.series.push({ labels, values: parseSeriesValues(rest) });
          }
        } catch (error) {
          parseError = error instanceof UnsupportedInput ? 'native histogram expected values are not supported' : `bad test line: ${(error as Error).message}`;
        }
      }
      outcomes.push(await runBlock(engine, block, parseError ?? (unsupportedLoad ? 'loaded data has start timestamps (@st), not supported' : undefined)));
      continue;
    }
    throw new Error(`unknown command at line ${i}: ${line}`);
  }
  return outcomes;
}

async function runBlock(engine: PromQLEngine, block: EvalBlock, unsupported: string | undefined): Promise<EvalOutcome> {
  const outcome = (passed: boolean, reason: string): EvalOutcome => ({ line: block.line, query: block.query, passed, reason });
  let result: QueryResult;
  try {
    result = block.range
      ? await engine.rangeQuery('', block.query, block.range.startMs, block.range.endMs, block.range.stepMs)
      : await engine.instantQuery('', block.query, block.atMs);
  } catch (error) {
    const message = (error as Error).message;
    if (block.expectFail === undefined) return outcome(false, `${unsupported === undefined ? '' : `[${unsupported}] `}unexpected error: ${message}`);
    if (block.expectFail.message !== undefined && block.expectFail.message !== message) {
      return outcome(false, `expected error ${JSON.stringify(block.expectFail.message)}, got ${JSON.stringify(message)}`);
    }
    if (block.expectFail.regex !== undefined && !new RegExp(block.expectFail.regex).test(message)) {
      return outcome(false, `expected error matching ${JSON.stringify(block.expectFail.regex)}, got ${JSON.stringify(message)}`);
    }
    return outcome(true, '');
  }
  if (block.expectFail !== undefined) return outcome(false, 'expected an error, got a result');
  const failure = checkResult(block, result);
  if (failure !== undefined) return outcome(false, `${unsupported === undefined ? '' : `[${unsupported}] `}${failure}`);
  return outcome(true, '');
}
