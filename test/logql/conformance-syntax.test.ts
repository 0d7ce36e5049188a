// Runs the LogQL conformance cases for the syntax levels (parser, lexer, string, prettier, and the
// matchers-api cases of the selector parser) from
// ../shared/conformance/logql/cases.jsonl through src/logql/syntax. Every failure must be listed,
// with its reason, in docs/logql-conformance-syntax.md.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { QueryError } from '../../src/logql/api.ts';
import type { Expr } from '../../src/logql/syntax/ast.ts';
import { lex, tokenize } from '../../src/logql/syntax/lexer.ts';
import { parseExpr, parseSelector } from '../../src/logql/syntax/parser.ts';
import { formatQuery, prettyPrint } from '../../src/logql/syntax/prettier.ts';
import { exprToString, stageToString } from '../../src/logql/syntax/printer.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const casesPath = resolve(repoRoot, '..', 'shared', 'conformance', 'logql', 'cases.jsonl');
const knownDifferencesPath = join(repoRoot, 'docs', 'logql-conformance-syntax.md');
const LEVELS = ['parser', 'lexer', 'string', 'prettier', 'matchers-api'] as const;
/** Share of cases with an exact expectation that must pass (the target). */
const REQUIRED_PASS_RATIO = 0.95;

interface ConformanceCase {
  id: number;
  query: string;
  query_base64?: string;
  valid: boolean;
  test_level: string;
  error?: string;
  error_contains?: string;
  expected_tokens?: string[];
  duration_ns?: number | string;
  expected_string?: string;
  expected_pretty?: string;
  max_chars_per_line?: number;
}

type Outcome = { pass: true } | { pass: false; detail: string };

function queryText(c: ConformanceCase): string {
  return c.query_base64 === undefined ? c.query : Buffer.from(c.query_base64, 'base64').toString('utf8');
}

function parseOutcome(text: string): { expr?: Expr; error?: string } {
  try {
    return { expr: parseExpr(text) };
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
    return { error: error.message };
  }
}

function astJson(expr: Expr): string {
  return JSON.stringify(expr, (_key, value: unknown) => (typeof value === 'bigint' ? `${value}n` : value));
}

function runParserCase(c: ConformanceCase): Outcome {
  const { error } = parseOutcome(queryText(c));
  if (c.valid) return error === undefined ? { pass: true } : { pass: false, detail: `unexpected error: ${error}` };
  if (error === undefined) return { pass: false, detail: 'parsed, but an error was expected' };
  if (c.error !== undefined && error !== c.error) return { pass: false, detail: `error ${JSON.stringify(error)}` };
  if (c.error_contains !== undefined && !error.includes(c.error_contains)) return { pass: false, detail: `error ${JSON.stringify(error)}` };
  return { pass: true };
}

function runLexerCase(c: ConformanceCase): Outcome {
  if (c.duration_ns !== undefined) {
    const duration = lex(c.query).tokens.find((token) => token.type === 'DURATION');
    const expected = BigInt(c.duration_ns);
    return duration?.durationNs === expected ? { pass: true } : { pass: false, detail: `duration ${duration?.durationNs}ns` };
  }
  const got = tokenize(c.query).join(' ');
  const want = (c.expected_tokens ?? []).join(' ');
  return got === want ? { pass: true } : { pass: false, detail: `tokens ${got}` };
}

function runStringCase(c: ConformanceCase): Outcome {
  const { expr, error } = parseOutcome(queryText(c));
  if (expr === undefined) return { pass: false, detail: `parse error: ${error}` };
  const printed = exprToString(expr);
  if (c.expected_string === undefined) {
    // Upstream's round-trip test: String() must re-parse to an identical AST.
    const reparsed = parseOutcome(printed);
    if (reparsed.expr === undefined) return { pass: false, detail: `printed form does not parse: ${printed}: ${reparsed.error}` };
    return astJson(reparsed.expr) === astJson(expr) ? { pass: true } : { pass: false, detail: `round trip changed the AST: ${printed}` };
  }
  // Some upstream cases print a single stage; compare the last stage's form then.
  const got = c.expected_string.startsWith('| ') && expr.kind === 'log' && expr.pipeline.length > 0
    ? stageToString(expr.pipeline[expr.pipeline.length - 1] as never)
    : printed;
  return got === c.expected_string ? { pass: true } : { pass: false, detail: `printed ${JSON.stringify(got)}` };
}

function runPrettierCase(c: ConformanceCase): Outcome {
  try {
    const got = formatQuery(c.query, c.max_chars_per_line);
    return got === c.expected_pretty ? { pass: true } : { pass: false, detail: `formatted:\n${got}` };
  } catch (error) {
    if (!(error instanceof QueryError)) throw error;
    return { pass: false, detail: `error: ${error.message}` };
  }
}

/** `match[]` of /series and the label endpoints: a bare selector or an error. */
function runMatchersApiCase(c: ConformanceCase): Outcome {
  let error: string | undefined;
  try {
    parseSelector(c.query);
  } catch (caught) {
    if (!(caught instanceof QueryError)) throw caught;
    error = caught.message;
  }
  if (c.valid === (error === undefined)) return { pass: true };
  return { pass: false, detail: error ?? 'accepted, but an error was expected' };
}

const RUNNERS: Record<(typeof LEVELS)[number], (c: ConformanceCase) => Outcome> = {
  parser: runParserCase,
  lexer: runLexerCase,
  string: runStringCase,
  prettier: runPrettierCase,
  'matchers-api': runMatchersApiCase,
};

function knownDifferences(): Map<number, string> {
  const listed = new Map<number, string>();
  for (const line of readFileSync(knownDifferencesPath, 'utf8').split('\n')) {
    const row = /^\|\s*(\d+)\s*\|\s*([a-z]+)\s*\|\s*(.+)\|\s*$/.exec(line);
    if (row !== null) listed.set(Number(row[1]), (row[3] ?? '').trim());
  }
  return listed;
}

test('LogQL syntax conformance (parser, lexer, string, prettier, matchers-api)', { skip: !existsSync(casesPath) && `no cases at ${casesPath}` }, (t) => {
  const cases = readFileSync(casesPath, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as ConformanceCase);
  const listed = knownDifferences();
  const unlistedFailures: string[] = [];
  const listedButPassing: number[] = [];
  let passedTotal = 0;
  let runTotal = 0;
  for (const level of LEVELS) {
    const levelCases = cases.filter((c) => c.test_level === level);
    let passed = 0;
    for (const c of levelCases) {
      const outcome = RUNNERS[level](c);
      if (outcome.pass) {
        passed++;
        if (listed.has(c.id)) listedButPassing.push(c.id);
      } else if (!listed.has(c.id)) {
        unlistedFailures.push(`#${c.id} [${level}] ${JSON.stringify(c.query).slice(0, 120)}: ${outcome.detail}`);
      }
    }
    passedTotal += passed;
    runTotal += levelCases.length;
    t.diagnostic(`${level}: ${passed}/${levelCases.length} pass`);
    console.log(`logql conformance ${level}: ${passed}/${levelCases.length} pass`);
  }
  console.log(`logql conformance syntax total: ${passedTotal}/${runTotal} pass`);
  assert.ok(runTotal > 0, 'no syntax-level cases found');
  assert.deepEqual(unlistedFailures, [], 'failures not listed in docs/logql-conformance-syntax.md');
  assert.deepEqual(listedButPassing, [], 'cases listed as failing in docs/logql-conformance-syntax.md now pass: remove them');
  assert.ok(passedTotal / runTotal >= REQUIRED_PASS_RATIO, `pass ratio ${passedTotal}/${runTotal} is below ${REQUIRED_PASS_RATIO}`);
});

test('printed and pretty forms of every parsable conformance query parse back to the same AST', { skip: !existsSync(casesPath) && `no cases at ${casesPath}` }, () => {
  const queries = readFileSync(casesPath, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => queryText(JSON.parse(line) as ConformanceCase));
  let checked = 0;
  const problems: string[] = [];
  for (const query of queries) {
    const { expr } = parseOutcome(query);
    if (expr === undefined) continue;
    checked++;
    for (const [form, text] of [['string', exprToString(expr)], ['pretty/20', prettyPrint(expr, 20)], ['pretty/100', prettyPrint(expr)]]) {
      const reparsed = parseOutcome(text as string);
      if (reparsed.expr === undefined || astJson(reparsed.expr) !== astJson(expr)) {
        problems.push(`${form} of ${JSON.stringify(query).slice(0, 100)}: ${reparsed.error ?? 'different AST'}`);
      }
    }
  }
  console.log(`logql round trip: ${checked} parsable queries, each printed three ways`);
  assert.ok(checked > 1000, `only ${checked} parsable queries`);
  assert.deepEqual(problems, []);
});
