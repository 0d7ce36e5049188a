// Relabeling, one row per case and every action, as Prometheus' relabel package behaves: the input
// labels, the rules (as written in a config file, defaults applied by the schema), and the result
// (undefined when the set is dropped).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { relabelConfigSchema, type RelabelConfig } from '../../src/scrape/config.ts';
import { hashMod, relabel } from '../../src/scrape/relabel.ts';

type Rule = Partial<Record<keyof RelabelConfig, unknown>>;

const CASES: Array<{ name: string; input: Record<string, string>; rules: Rule[]; output: Record<string, string> | undefined }> = [
  { name: 'replace with the defaults copies a label', input: { a: 'x' }, rules: [{ source_labels: ['a'], target_label: 'b' }], output: { a: 'x', b: 'x' } },
  { name: 'replace joins sources with the separator and expands groups', input: { a: 'foo', b: 'bar' }, rules: [{ source_labels: ['a', 'b'], separator: '-', regex: '(f.*)-(b.*)', target_label: 'c', replacement: '${2}_$1' }], output: { a: 'foo', b: 'bar', c: 'bar_foo' } },
  { name: 'replace: the regex is anchored, a partial match does nothing', input: { a: 'foobar' }, rules: [{ source_labels: ['a'], regex: 'foo', target_label: 'b', replacement: 'hit' }], output: { a: 'foobar' } },
  { name: 'replace with an empty result deletes the target', input: { a: 'x', b: 'y' }, rules: [{ source_labels: ['a'], target_label: 'b', replacement: '' }], output: { a: 'x' } },
  { name: 'replace expands the target label too', input: { a: 'dyn' }, rules: [{ source_labels: ['a'], regex: '(.*)', target_label: 'l_$1', replacement: 'v' }], output: { a: 'dyn', l_dyn: 'v' } },
  { name: 'replace to an invalid label name does nothing', input: { a: '1x' }, rules: [{ source_labels: ['a'], target_label: '$1', replacement: 'v' }], output: { a: '1x' } },
  { name: 'replace with a missing source matches the empty string', input: { a: 'x' }, rules: [{ source_labels: ['missing'], regex: '', target_label: 'empty', replacement: 'was-empty' }], output: { a: 'x', empty: 'was-empty' } },
  { name: 'named groups', input: { addr: 'host1:9100' }, rules: [{ source_labels: ['addr'], regex: '(?P<host>[^:]+):\\d+', target_label: 'host', replacement: '$host' }], output: { addr: 'host1:9100', host: 'host1' } },
  { name: 'keep keeps a match', input: { a: 'keepme' }, rules: [{ source_labels: ['a'], regex: 'keep.*', action: 'keep' }], output: { a: 'keepme' } },
  { name: 'keep drops a non-match', input: { a: 'other' }, rules: [{ source_labels: ['a'], regex: 'keep.*', action: 'keep' }], output: undefined },
  { name: 'drop drops a match', input: { a: 'dropme' }, rules: [{ source_labels: ['a'], regex: 'drop.*', action: 'drop' }], output: undefined },
  { name: 'drop keeps a non-match', input: { a: 'x' }, rules: [{ source_labels: ['a'], regex: 'drop.*', action: 'drop' }], output: { a: 'x' } },
  { name: 'keepequal keeps equal values', input: { a: '1', b: '1' }, rules: [{ source_labels: ['a'], target_label: 'b', action: 'keepequal' }], output: { a: '1', b: '1' } },
  { name: 'keepequal drops different values', input: { a: '1', b: '2' }, rules: [{ source_labels: ['a'], target_label: 'b', action: 'keepequal' }], output: undefined },
  { name: 'dropequal drops equal values', input: { a: '1', b: '1' }, rules: [{ source_labels: ['a'], target_label: 'b', action: 'dropequal' }], output: undefined },
  { name: 'dropequal keeps different values', input: { a: '1', b: '2' }, rules: [{ source_labels: ['a'], target_label: 'b', action: 'dropequal' }], output: { a: '1', b: '2' } },
  { name: 'hashmod', input: { a: 'foo' }, rules: [{ source_labels: ['a'], modulus: 1000, target_label: 'shard', action: 'hashmod' }], output: { a: 'foo', shard: String(hashMod('foo', 1000)) } },
  { name: 'labelmap copies matching names', input: { __meta_x_env: 'prod', __meta_x_zone: 'z1', other: 'o' }, rules: [{ regex: '__meta_x_(.+)', action: 'labelmap' }], output: { __meta_x_env: 'prod', __meta_x_zone: 'z1', other: 'o', env: 'prod', zone: 'z1' } },
  { name: 'labeldrop removes matching names', input: { a: '1', b_tmp: '2', c_tmp: '3' }, rules: [{ regex: '.*_tmp', action: 'labeldrop' }], output: { a: '1' } },
  { name: 'labelkeep keeps only matching names', input: { a: '1', b: '2', __name__: 'm' }, rules: [{ regex: '__name__|a', action: 'labelkeep' }], output: { a: '1', __name__: 'm' } },
  { name: 'lowercase', input: { a: 'MiXeD' }, rules: [{ source_labels: ['a'], target_label: 'lower', action: 'lowercase' }], output: { a: 'MiXeD', lower: 'mixed' } },
  { name: 'uppercase', input: { a: 'MiXeD' }, rules: [{ source_labels: ['a'], target_label: 'upper', action: 'uppercase' }], output: { a: 'MiXeD', upper: 'MIXED' } },
  {
    name: 'rules apply in order',
    input: { a: 'x' },
    rules: [
      { source_labels: ['a'], target_label: 'b', replacement: 'from-$1' },
      { source_labels: ['b'], regex: 'from-x', action: 'keep' },
      { regex: 'a', action: 'labeldrop' },
    ],
    output: { b: 'from-x' },
  },
];

test('relabeling, every action', () => {
  for (const { name, input, rules, output } of CASES) {
    const parsed = rules.map((rule) => relabelConfigSchema.parse(rule));
    assert.deepEqual(relabel(input, parsed), output, name);
  }
});

test('hashmod is the last 8 bytes of the MD5, big-endian, modulo', () => {
  // md5("foo") = acbd18db4cc2f85cedef654fccc4a4d8; its last 8 bytes are 0xedef654fccc4a4d8.
  assert.equal(hashMod('foo', 1000), Number(0xedef654fccc4a4d8n % 1000n));
});

test('rules that cannot work are refused by the schema, naming the key', () => {
  const cases: Array<[Rule, RegExp]> = [
    [{ source_labels: ['a'] }, /needs target_label/],
    [{ source_labels: ['a'], target_label: 'b', action: 'hashmod' }, /needs a modulus/],
    [{ regex: '(', action: 'labeldrop' }, /invalid regex/],
    [{ action: 'explode' }, /expected one of "replace"/],
    [{ source_labels: ['1bad'], target_label: 'x' }, /label name/],
  ];
  for (const [rule, message] of cases) {
    const result = relabelConfigSchema.safeParse(rule);
    assert.ok(!result.success, JSON.stringify(rule));
    assert.match(result.error.issues.map((issue) => issue.message).join('; '), message, JSON.stringify(rule));
  }
});
