// Runs the shared LogQL conformance cases of test_level stage, pipeline and docs through rankscope's
// parser and pipeline (and, for sample cases, the engine), read at test time from
// ../shared/conformance/logql/cases.jsonl. Prints pass counts per level, and fails on any case with an
// exact expectation that fails unless docs/logql-conformance-eval.md lists its id with a reason.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseExpr } from '../../src/logql/syntax/index.ts';
import type { Expr, LogExpr, SampleExpr, Stage } from '../../src/logql/syntax/ast.ts';
import { compilePipeline, runWholePipeline } from '../../src/logql/log/pipeline.ts';
import { matchPattern, parsePattern, testPattern } from '../../src/logql/log/pattern.ts';
import { parseJsonPath } from '../../src/logql/log/json-parser.ts';
import { createLogQLEngine } from '../../src/logql/engine/engine.ts';
import { LabelsBuilder } from '../../src/logql/log/labels-builder.ts';
import type { LabelPair, Labels } from '../../src/push/types.ts';
import { MemorySource } from './engine/memory-source.ts';
import { RE2 } from 're2-wasm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const casesPath = join(root, '..', 'shared', 'conformance', 'logql', 'cases.jsonl');
const allowListPath = join(root, 'docs', 'logql-conformance-eval.md');

interface Case {
  id: number;
  query: string;
  valid: boolean;
  kind: string;
  test_level: string;
  input_line?: string;
  input_lines?: string[];
  input_labels?: Labels;
  structured_metadata?: Labels;
  timestamp_ns?: number;
  expected_line?: string;
  expected_labels?: Labels;
  expected_keep?: boolean;
  expected_kept_lines?: string[];
  expected_captures_in_order?: Array<[string, string]>;
  pattern_full_match?: boolean;
  expected_sample_value?: number;
  expected_sample_labels?: Labels;
  expected_skip?: boolean;
  line_checks?: Array<[string, boolean]>;
  error?: string;
  error_prefix?: string;
  preexisting_error?: string;
  preexisting_error_details?: string;
  selector_placeholder?: boolean;
  expression_path?: Array<string | number>;
  expected_semantics?: string;
}

type Outcome = { status: 'pass' } | { status: 'fail'; reason: string } | { status: 'skip' };

const LEVELS = ['stage', 'pipeline', 'docs'];

function hasExactExpectation(c: Case): boolean {
  return (
    c.expected_line !== undefined ||
    c.expected_labels !== undefined ||
    c.expected_keep !== undefined ||
    c.expected_kept_lines !== undefined ||
    c.expected_captures_in_order !== undefined ||
    c.expected_sample_value !== undefined ||
    c.expected_skip !== undefined ||
    c.line_checks !== undefined ||
    c.error !== undefined ||
    c.error_prefix !== undefined ||
    c.expression_path !== undefined ||
    (c.expected_semantics !== undefined && c.input_lines !== undefined)
  );
}

/** Every byte 0x00..0xff, decoded as a log line would be (invalid UTF-8 becomes U+FFFD). */
const ALL_BYTES_LINE = Buffer.from(Array.from({ length: 256 }, (_, i) => i)).toString('utf8');

/**
 * Test_SimplifiedRegex cases: our optimised line filter (literal rewrites, raw-byte prefilters) must
 * keep exactly the lines a plain RE2 search keeps. RE2 itself (re2-wasm) is the oracle.
 */
function checkAgainstRe2(c: Case, log: LogExpr): Outcome {
  const stage = log.pipeline[0];
  if (!stage || stage.kind !== 'lineFilter' || stage.values.length !== 1 || stage.values[0]!.kind !== 'text') return { status: 'skip' };
  const oracle = new RE2(stage.values[0]!.value, 'u');
  const negated = stage.op === '!~';
  for (const line of [...c.input_lines!, ALL_BYTES_LINE]) {
    const expected = oracle.test(line) !== negated;
    const kept = runLine(log, c, line) !== null;
    if (kept !== expected) return { status: 'fail', reason: `line ${JSON.stringify(line.slice(0, 40))}: kept=${kept}, RE2 says ${expected}` };
  }
  return { status: 'pass' };
}

/**
 * The sample-extractor cases were written from Loki's Go API, which allows grouping on any range
 * aggregation; LogQL text does not (`grouping not allowed for sum_over_time`). For one entry,
 * `op(X) by (g)` equals `sum by (g) (op(X))`, so those are run in that form.
 */
function queryText(c: Case): string {
  if (c.expected_sample_value === undefined && c.expected_skip === undefined) return c.query;
  const grouped = /^(\w+)\((.*)\) (by|without) \(([^)]*)\)$/s.exec(c.query.trim());
  return grouped ? `sum ${grouped[3]} (${grouped[4]}) (${grouped[1]}(${grouped[2]}))` : c.query;
}

function buildPipeline(c: Case): { expr: Expr; error?: undefined } | { error: string } {
  try {
    const expr = parseExpr(queryText(c));
    const log = findLogExpr(expr);
    if (log) compilePipeline(log.pipeline);
    return { expr };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function findLogExpr(expr: Expr | SampleExpr): LogExpr | null {
  switch (expr.kind) {
    case 'log':
      return expr;
    case 'rangeAggregation':
      return expr.range.log;
    case 'vectorAggregation':
    case 'labelReplace':
      return findLogExpr(expr.expr);
    case 'binary':
      return findLogExpr(expr.left) ?? findLogExpr(expr.right);
    default:
      return null;
  }
}

function metadataPairs(c: Case): LabelPair[] | undefined {
  if (!c.structured_metadata) return undefined;
  return Object.entries(c.structured_metadata).map(([name, value]) => ({ name, value }));
}

function normalizeLabels(labels: Labels, c: Case): Labels {
  const out: Labels = {};
  for (const [name, value] of Object.entries(labels)) {
    if (value === '' && name !== '__error__') continue;
    if (c.selector_placeholder && name === 'job' && value === 'placeholder') continue;
    out[name] = value;
  }
  return out;
}

function expectedLabels(labels: Labels, c: Case): Labels {
  const out: Labels = {};
  for (const [name, value] of Object.entries(labels)) {
    if (value === '') continue;
    if (c.selector_placeholder && name === 'job' && value === 'placeholder') continue;
    out[name] = value;
  }
  return out;
}

function runLine(log: LogExpr, c: Case, line: string) {
  const pipeline = compilePipeline(log.pipeline);
  const streamLabels = c.input_labels ?? {};
  const timestampNs = BigInt(c.timestamp_ns ?? 0);
  if (c.preexisting_error) {
    // Run the stages by hand so the entry starts with the error already set.
    const builder = new LabelsBuilder(streamLabels, metadataPairs(c));
    builder.setError(c.preexisting_error, c.preexisting_error_details);
    const entry = { timestampNs, line, labels: builder };
    for (const predicate of pipeline.linePredicates) if (!predicate(line)) return null;
    for (const stage of pipeline.stages) if (!stage.process(entry)) return null;
    return entry;
  }
  return runWholePipeline(pipeline, streamLabels, metadataPairs(c), timestampNs, line);
}

function errorMatches(message: string, expected: string): boolean {
  if (message.includes(expected)) return true;
  const stripped = expected.replace(/^parse error : (?:invalid \w+ parser: |stage '[^']*' : )?/, '');
  return stripped.length > 0 && message.includes(stripped);
}

async function runSampleCase(c: Case, expr: Expr): Promise<Outcome> {
  const log = findLogExpr(expr)!;
  const entries = (c.input_lines ?? [c.input_line ?? '']).map((line, i) => ({
    timestampNs: 1_000_000_000n + BigInt(i),
    line,
    structuredMetadata: metadataPairs(c),
  }));
  const streamLabels = { ...(c.input_labels ?? {}) };
  if (Object.keys(streamLabels).length === 0) for (const m of log.matchers) if (m.type === '=') streamLabels[m.name] = m.value;
  const source = new MemorySource([{ labels: streamLabels, entries }]);
  const engine = createLogQLEngine(source, { parse: parseExpr });
  const params = { tenant: 'fake', query: c.query, startNs: 30_000_000_000n, endNs: 30_000_000_000n, stepMs: 1000, intervalMs: 0, limit: 100, direction: 'forward' as const, instant: true };
  const expectError = c.expected_sample_labels?.__error__ !== undefined;
  try {
    const result = await engine.evaluate(expr, params);
    if (result.resultType !== 'vector') return { status: 'fail', reason: `result type ${result.resultType}` };
    if (expectError) return { status: 'fail', reason: 'expected a pipeline error' };
    if (c.expected_skip) return result.samples.length === 0 ? { status: 'pass' } : { status: 'fail', reason: 'expected no sample' };
    if (result.samples.length !== 1) return { status: 'fail', reason: `got ${result.samples.length} samples` };
    const sample = result.samples[0]!;
    if (Math.abs(sample.value - c.expected_sample_value!) > 1e-9) return { status: 'fail', reason: `value ${sample.value}` };
    if (c.expected_sample_labels) {
      const got = normalizeLabels(sample.labels, c);
      const want = expectedLabels(c.expected_sample_labels, c);
      try {
        assert.deepEqual(got, want);
      } catch {
        return { status: 'fail', reason: `labels ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}` };
      }
    }
    return { status: 'pass' };
  } catch (error) {
    const message = (error as Error).message;
    if (expectError && message.startsWith(`pipeline error: '${c.expected_sample_labels!.__error__}'`)) return { status: 'pass' };
    return { status: 'fail', reason: `threw ${message.slice(0, 200)}` };
  }
}

async function runCase(c: Case): Promise<Outcome> {
  const built = buildPipeline(c);
  if (c.error !== undefined || c.error_prefix !== undefined) {
    if (built.error === undefined) return { status: 'fail', reason: 'expected an error, got none' };
    const expected = c.error ?? c.error_prefix!;
    return errorMatches(built.error, expected) ? { status: 'pass' } : { status: 'fail', reason: `error ${JSON.stringify(built.error)}` };
  }
  if (!hasExactExpectation(c)) {
    // Validity only: a valid query must build, an invalid one must not.
    if (c.valid === (built.error === undefined)) return { status: 'pass' };
    return { status: 'fail', reason: c.valid ? `did not build: ${built.error}` : 'built but is invalid' };
  }
  if (built.error !== undefined) return { status: 'fail', reason: `did not build: ${built.error}` };
  const expr = built.expr;
  if (c.expected_sample_value !== undefined || c.expected_skip !== undefined) return runSampleCase(c, expr);
  const log = findLogExpr(expr);
  if (!log) return { status: 'skip' };
  if (c.expected_semantics !== undefined && c.input_lines) return checkAgainstRe2(c, log);
  if (c.expression_path) {
    const stage = log.pipeline.find((s): s is Extract<Stage, { kind: 'json' }> => s.kind === 'json');
    if (!stage) return { status: 'skip' };
    try {
      assert.deepEqual(parseJsonPath(stage.params[0]!.expression), c.expression_path);
      return { status: 'pass' };
    } catch (error) {
      return { status: 'fail', reason: (error as Error).message.slice(0, 200) };
    }
  }
  if (c.expected_captures_in_order) {
    const stage = log.pipeline.find((s): s is Extract<Stage, { kind: 'pattern' }> => s.kind === 'pattern');
    if (!stage) return { status: 'skip' };
    const pattern = parsePattern(stage.pattern);
    // Loki's matcher returns the values of named captures only; the case pairs them positionally with
    // every capture name (including <_>), so compare the values.
    const values = matchPattern(pattern, c.input_line ?? '').filter(([name]) => name !== '_').map(([, value]) => value);
    try {
      assert.deepEqual(values, c.expected_captures_in_order.map(([, value]) => value));
      if (c.pattern_full_match !== undefined) assert.equal(testPattern(pattern, c.input_line ?? ''), c.pattern_full_match);
      return { status: 'pass' };
    } catch (error) {
      return { status: 'fail', reason: (error as Error).message.slice(0, 300) };
    }
  }
  if (c.line_checks) {
    for (const [line, keep] of c.line_checks) {
      const result = runLine(log, c, line);
      if ((result !== null) !== keep) return { status: 'fail', reason: `line ${JSON.stringify(line)} kept=${result !== null}` };
    }
    return { status: 'pass' };
  }
  if (c.expected_kept_lines) {
    const kept = (c.input_lines ?? []).filter((line) => runLine(log, c, line) !== null);
    try {
      assert.deepEqual(kept, c.expected_kept_lines);
      return { status: 'pass' };
    } catch {
      return { status: 'fail', reason: `kept ${JSON.stringify(kept)}` };
    }
  }
  const result = runLine(log, c, c.input_line ?? '');
  const expectKeep = c.expected_keep ?? true;
  if ((result !== null) !== expectKeep) return { status: 'fail', reason: `kept=${result !== null}` };
  if (!result) return { status: 'pass' };
  if (c.expected_line !== undefined && result.line !== c.expected_line) {
    return { status: 'fail', reason: `line ${JSON.stringify(result.line)} ≠ ${JSON.stringify(c.expected_line)}` };
  }
  if (c.expected_labels !== undefined) {
    const got = normalizeLabels(result.labels.toLabels(), c);
    const want = expectedLabels(c.expected_labels, c);
    try {
      assert.deepEqual(got, want);
    } catch {
      return { status: 'fail', reason: `labels ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}` };
    }
  }
  return { status: 'pass' };
}

function listedFailures(): Set<number> {
  if (!existsSync(allowListPath)) return new Set();
  const ids = new Set<number>();
  for (const match of readFileSync(allowListPath, 'utf8').matchAll(/^\|\s*(\d+)\s*\|/gm)) ids.add(Number(match[1]));
  return ids;
}

test('LogQL conformance: stage, pipeline and docs cases', { skip: !existsSync(casesPath) && 'conformance cases not found' }, async () => {
  const cases = readFileSync(casesPath, 'utf8')
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => JSON.parse(line) as Case)
    .filter((c) => LEVELS.includes(c.test_level));
  const listed = listedFailures();
  const counts = new Map<string, { pass: number; fail: number; exact: number; exactPass: number }>();
  const unlisted: string[] = [];
  for (const c of cases) {
    const outcome = await runCase(c);
    if (outcome.status === 'skip') continue;
    const count = counts.get(c.test_level) ?? { pass: 0, fail: 0, exact: 0, exactPass: 0 };
    counts.set(c.test_level, count);
    const exact = hasExactExpectation(c);
    if (exact) count.exact++;
    if (outcome.status === 'pass') {
      count.pass++;
      if (exact) count.exactPass++;
    } else {
      count.fail++;
      if (!listed.has(c.id)) unlisted.push(`#${c.id} [${c.test_level}] ${c.query.slice(0, 120)}\n    → ${outcome.reason}`);
    }
  }
  let exact = 0;
  let exactPass = 0;
  for (const [level, count] of counts) {
    exact += count.exact;
    exactPass += count.exactPass;
    console.log(`${level}: ${count.pass}/${count.pass + count.fail} pass (exact expectations: ${count.exactPass}/${count.exact})`);
  }
  console.log(`exact expectations overall: ${exactPass}/${exact} (${((100 * exactPass) / Math.max(1, exact)).toFixed(1)}%)`);
  assert.deepEqual(unlisted, [], `failures not listed in docs/logql-conformance-eval.md:\n${unlisted.join('\n')}`);
  assert.ok(exactPass / Math.max(1, exact) >= 0.95, 'at least 95% of the exact cases pass');
});
