// The regexp parser stage extracts only the groups the query reads, by group number, from a regex
// compiled with just those groups capturing. Checked against the full-groups path it replaces (exec,
// then every named group read from `.groups`) over odd lines, and through whole queries.
import assert from 'node:assert/strict';
import test from 'node:test';
import { compileRegex } from '../../../src/regex/index.ts';
import { regexpParserStage } from '../../../src/logql/log/regexp-parser.ts';
import { LabelsBuilder, type PipelineEntry } from '../../../src/logql/log/labels-builder.ts';
import { StageBuildError } from '../../../src/logql/log/line-filter.ts';
import type { Labels } from '../../../src/push/types.ts';

/** The stage before hints reached it: exec, a groups object per match, every named group. */
function fullGroupsLabels(pattern: string, line: string, stream: Labels): Array<[string, string]> {
  const compiled = compileRegex(pattern);
  const labels = new LabelsBuilder(stream);
  const match = compiled.regexp.exec(line);
  if (match?.groups) for (const name of compiled.groupNames) labels.setExtracted(name, match.groups[name] ?? '');
  return labels.entries();
}

function stageLabels(pattern: string, needed: ReadonlySet<string> | null, line: string, stream: Labels): Array<[string, string]> {
  const entry: PipelineEntry = { timestampNs: 1n, line, labels: new LabelsBuilder(stream) };
  const stage = regexpParserStage(pattern, needed);
  if (stage !== null) assert.equal(stage.process(entry), true, 'a regexp stage keeps every line');
  return entry.labels.entries();
}

const PATTERNS = [
  'step (?P<step>[0-9]+)/(?P<total>[0-9]+)',
  '(?P<level>[A-Z]+) (?:(?P<code>[0-9]+) )?(?P<msg>.*)',
  '(?:(?P<a>a)|(?P<b>b))+', // RE2 keeps a loop's last value: the full regex runs on the Pike VM
  '(?P<word>\\pL+)(?P<digits>\\d*)',
  '(?i)(?P<key>σας|err(?:or)?)=(?P<value>\\S*)',
  '(?m)^(?P<first>\\w+)$',
  '(?P<job>[a-z]+)-(?P<hex>[0-9a-f]{32})',
  '(?P<empty>)x(?P<tail>.*)',
  '(?P<outer>(?P<inner>[0-9]+)-(x))',
];

const LINES = [
  '',
  'step 12/100 loss 2.5',
  'step /100',
  'x step 1/2 step 3/4',
  'ERROR 500 boom',
  'WARN no code here',
  'lower case',
  'abba',
  'bbb',
  'ccc',
  'Ωmega42 😀',
  '😀😀',
  'ERROR=x σας=ΣΑΣ',
  'a\nb\nline',
  `train-${'ab'.repeat(16)}`,
  'x',
  'yx tail',
  '12-x 34-x',
  `${'a'.repeat(5000)} step 7/8 ${'b'.repeat(5000)}`, // long lines see the lazy DFA first
  'a'.repeat(6000),
  '\u0000\ufffd\ud800 step 9/9',
];

const STREAMS: Labels[] = [{ job: 'train' }, { job: 'train', level: 'info', a: 'stream' }];

test('the stage extracts exactly what the full-groups path extracts, for every hint', () => {
  for (const pattern of PATTERNS) {
    const names = compileRegex(pattern).groupNames;
    // No hints, each group alone, all of them, and a set that names other labels too.
    const hintSets: Array<ReadonlySet<string> | null> = [null, ...names.map((name) => new Set([name])), new Set(names), new Set([...names.slice(1), 'job', '__error__'])];
    for (const needed of hintSets) {
      for (const stream of STREAMS) {
        for (const line of LINES) {
          const want = fullGroupsLabels(pattern, line, stream).filter(([name]) => needed === null || Object.hasOwn(stream, name) || needed.has(name.replace(/_extracted$/, '')));
          const got = stageLabels(pattern, needed, line, stream);
          assert.deepEqual(got, want, `${pattern} needing ${needed === null ? 'all' : [...needed].join(',')} on ${JSON.stringify(line.slice(0, 60))} with ${JSON.stringify(stream)}`);
        }
      }
    }
  }
});

test('no stage when no group is read; bad parsers fail at build', () => {
  assert.equal(regexpParserStage('step (?P<step>[0-9]+)', new Set(['loss', '__error__'])), null);
  assert.notEqual(regexpParserStage('step (?P<step>[0-9]+)', new Set(['step'])), null);
  const table: Array<[string, RegExp]> = [
    ['step ([0-9]+)', /at least one named capture/],
    ['(?P<a>x)(?P<a>y)', /duplicate extracted label name 'a'/],
    ['(?P<1a>x)', /invalid extracted label name '1a'/],
    ['(?P<a>x', /missing closing \)/],
  ];
  for (const [pattern, message] of table) {
    // Errors do not depend on hints: a query that reads none of the groups still fails.
    for (const needed of [null, new Set<string>()]) {
      assert.throws(() => regexpParserStage(pattern, needed), (error: unknown) => error instanceof StageBuildError && message.test(error.message), pattern);
    }
  }
});
