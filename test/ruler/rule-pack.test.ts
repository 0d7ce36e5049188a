// The shipped training pack: Prometheus's own `promtool check rules` accepts everything the two
// formats share (structure, names, durations, label names, Go templates). LogQL is not PromQL, so the
// check runs on a copy whose exprs are swapped for a PromQL placeholder; the LogQL expressions are
// checked by rankscope's parser in the same test when it is available.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { parseRuleFile } from '../../src/ruler/rule-file.ts';
import { TRAINING_RULES_PATH } from '../../src/ruler/index.ts';
import { validateRuleExpr } from '../../src/ruler/expr-validation.ts';
import { expandAlertTemplate } from '../../src/ruler/template-functions.ts';

const PROMTOOL = '/usr/bin/promtool';
const skip = existsSync(PROMTOOL) ? false : `${PROMTOOL} is not installed (apt-get install prometheus)`;

type RuleFileDocument = { groups: Array<{ rules: Array<{ expr: string; annotations?: Record<string, string> }> }> };

function withPlaceholderExprs(text: string, placeholder: string, change: (document: RuleFileDocument) => void = () => undefined): string {
  const document = parse(text) as RuleFileDocument;
  for (const group of document.groups) for (const rule of group.rules) rule.expr = placeholder;
  change(document);
  return stringify(document);
}

function promtool(path: string): { status: number | null; output: string } {
  const result = spawnSync(PROMTOOL, ['check', 'rules', path], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('promtool check rules accepts the pack with PromQL placeholders for the LogQL exprs', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-promtool-'));
  try {
    const text = readFileSync(TRAINING_RULES_PATH, 'utf8');
    const copy = join(dir, 'training-promql.yaml');
    writeFileSync(copy, withPlaceholderExprs(text, 'vector(1) > 0'));
    const ok = promtool(copy);
    assert.equal(ok.status, 0, ok.output);
    assert.match(ok.output, /SUCCESS: 7 rules found/);

    // The check can fail: a broken template in the same copy is rejected.
    const broken = join(dir, 'broken.yaml');
    writeFileSync(
      broken,
      withPlaceholderExprs(text, 'vector(1) > 0', (document) => {
        document.groups[0]!.rules[0]!.annotations!.summary = 'rank {{ $labels.rank ';
      }),
    );
    const rejected = promtool(broken);
    assert.notEqual(rejected.status, 0);
    assert.match(rejected.output, /template/i);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the pack\'s expressions are valid LogQL metric queries', () => {
  const groups = parseRuleFile(readFileSync(TRAINING_RULES_PATH, 'utf8'), TRAINING_RULES_PATH, { validateExpr: validateRuleExpr });
  assert.equal(groups.flatMap((group) => group.rules).length, 7);
});

test('every rule carries a severity and an annotation naming the rank or pod', () => {
  const groups = parseRuleFile(readFileSync(TRAINING_RULES_PATH, 'utf8'), TRAINING_RULES_PATH);
  const rules = groups.flatMap((group) => group.rules);
  assert.equal(rules.length, 7);
  for (const rule of rules) {
    assert.ok(['warning', 'critical'].includes(rule.labels.severity ?? ''), `${rule.name} has a severity`);
    const summary = expandAlertTemplate(rule.annotations.summary ?? '', {
      labels: { run: 'llm', rank: '7', pod: 'llm-worker-7', host: 'gpu-3' },
      value: 0.25,
      externalLabels: {},
      externalURL: '',
    });
    assert.ok(!summary.includes('<error'), `${rule.name}: ${summary}`);
    assert.ok(/rank 7|Rank 7|llm-worker-7|run llm/.test(summary), `${rule.name} names where: ${summary}`);
  }
});
