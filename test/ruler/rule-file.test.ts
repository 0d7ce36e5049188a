// Rule files parse in the Prometheus/Loki format, and every problem names the path, line and column.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRuleFile, parseRuleGroup, RuleFileError, ruleGroupsToYaml, type RuleProblem } from '../../src/ruler/rule-file.ts';

const good = `groups:
  - name: training
    interval: 30s
    limit: 10
    rules:
      - alert: RankTraceback
        expr: sum by (pod) (count_over_time({job="train"} |= "Traceback" [1m])) > 0
        for: 1m
        keep_firing_for: 5m
        labels:
          severity: critical
        annotations:
          summary: "{{ $labels.pod }} logged a traceback"
      - record: job:lines:rate1m
        expr: sum by (job) (rate({job="train"}[1m]))
        labels:
          source: rankscope
  - name: second
    rules: []
`;

function problemsOf(text: string): RuleProblem[] {
  try {
    parseRuleFile(text, 'rules/x.yaml');
  } catch (error) {
    assert.ok(error instanceof RuleFileError);
    return error.problems;
  }
  assert.fail('expected a RuleFileError');
}

test('a valid file parses into groups and rules', () => {
  const groups = parseRuleFile(good, 'rules/good.yaml');
  assert.equal(groups.length, 2);
  const [training] = groups;
  assert.equal(training!.intervalMs, 30_000);
  assert.equal(training!.limit, 10);
  assert.deepEqual(training!.rules[0], {
    kind: 'alerting',
    name: 'RankTraceback',
    expr: 'sum by (pod) (count_over_time({job="train"} |= "Traceback" [1m])) > 0',
    forMs: 60_000,
    keepFiringForMs: 300_000,
    labels: { severity: 'critical' },
    annotations: { summary: '{{ $labels.pod }} logged a traceback' },
  });
  assert.equal(training!.rules[1]!.kind, 'recording');
  assert.equal(groups[1]!.intervalMs, undefined);
  assert.equal(training!.queryOffsetMs, 0);
  assert.equal(parseRuleFile('groups:\n  - name: late\n    query_offset: 30s\n    rules: []\n', 'x.yaml')[0]!.queryOffsetMs, 30_000);
  assert.equal(parseRuleFile('groups:\n  - name: late\n    evaluation_delay: 1m\n    rules: []\n', 'x.yaml')[0]!.queryOffsetMs, 60_000);
  // Round trip through the YAML the API writes.
  assert.deepEqual(parseRuleFile(ruleGroupsToYaml(groups), 'again.yaml'), groups);
});

test('problems carry path, line, column and reason', () => {
  const table: Array<[text: string, line: number, pattern: RegExp]> = [
    ['groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        for: 5 minutes\n', 6, /for: not a valid duration string/],
    ['groups:\n  - name: a\n    rules:\n      - alert: X\n', 4, /field 'expr' must be set/],
    ['groups:\n  - name: a\n    rules:\n      - alert: X\n        record: y\n        expr: up\n', 4, /only one of 'record' and 'alert'/],
    ['groups:\n  - name: a\n    rules:\n      - record: "not a metric"\n        expr: up\n', 4, /invalid recording rule name/],
    ['groups:\n  - name: a\n    rules:\n      - record: ok\n        expr: up\n        for: 1m\n', 6, /invalid field 'for' in recording rule/],
    ['groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        exprr: typo\n', 6, /field exprr not found/],
    ['groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        annotations:\n          summary: "{{ $labels.pod "\n', 7, /annotation "summary": template: unclosed action/],
    ['groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        labels:\n          "bad-name": x\n', 7, /invalid label name: bad-name/],
    ['groups:\n  - name: a\n    rules: []\n  - name: a\n    rules: []\n', 4, /"a" is repeated in the same file/],
    ['groups:\n  - rules: []\n', 2, /Groupname must not be empty/],
    ['groups:\n  - name: a\n    name: b\n    rules: []\n', 3, /^yaml: Map keys must be unique/],
    ['groups:\n  - name: a\n    interval: 0\n    rules: []\n', 3, /interval must be greater than 0/],
    ['groups:\n  - name: a\n    source_tenants: [b]\n    rules: []\n', 3, /source_tenants \(federated rule groups across tenants\) is not supported/],
    ['groups:\n  - name: a\n    query_offset: soon\n    rules: []\n', 3, /query_offset: not a valid duration/],
  ];
  for (const [text, line, pattern] of table) {
    const problems = problemsOf(text);
    assert.ok(
      problems.some((p) => p.path === 'rules/x.yaml' && p.line === line && p.column > 0 && pattern.test(p.message)),
      `expected line ${line} ${pattern} in ${JSON.stringify(problems)}`,
    );
  }
});

test('the expression validator reports positions inside the rule file', () => {
  const text = 'groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: |\n          sum(rate({job="x"}[1m])\n          ) >>> 1\n';
  try {
    parseRuleFile(text, 'r.yaml', { validateExpr: (expr) => (expr.includes('>>>') ? { message: 'syntax error: unexpected >', line: 2, column: 3 } : undefined) });
    assert.fail('expected an error');
  } catch (error) {
    assert.ok(error instanceof RuleFileError);
    assert.equal(error.problems[0]!.line, 7);
    assert.equal(error.problems[0]!.column, 3);
    assert.match(error.message, /^r\.yaml:7:3: could not parse expression: syntax error/);
  }
});

test('a single rule group parses for the API', () => {
  const group = parseRuleGroup('name: g\nrules:\n  - alert: A\n    expr: vector(1)\n', 'ns');
  assert.equal(group.name, 'g');
  assert.throws(() => parseRuleGroup('name: g\nrules:\n  - alert: A\n', 'ns'), /ns:3:5: field 'expr' must be set/);
});
