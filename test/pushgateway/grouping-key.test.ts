import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GroupingKeyError, groupingKeyId, parseGroupingKeyPath } from '../../src/pushgateway/grouping-key.ts';

const VALID: Array<[path: string, labels: Record<string, string>]> = [
  ['job/j1', { job: 'j1' }],
  ['job/j1/', { job: 'j1' }],
  ['job/j1/instance/i1/rank/3', { job: 'j1', instance: 'i1', rank: '3' }],
  ['job@base64/ajE', { job: 'j1' }],
  ['job/j1/path@base64/L3Zhci90bXA', { job: 'j1', path: '/var/tmp' }],
  ['job/j1/path@base64/L3Zhci90bXA=', { job: 'j1', path: '/var/tmp' }],
  ['job/j1/empty@base64/=', { job: 'j1', empty: '' }],
  ['job/j1/empty/', { job: 'j1', empty: '' }],
  ['job/a%20b/x/%C3%A9', { job: 'a b', x: 'é' }],
];

const INVALID: Array<[path: string, message: RegExp]> = [
  ['job/', /job name is required/],
  ['job@base64/=', /job name is required/],
  ['job/j1/odd', /odd number of components in label string "\/odd"/],
  ['jobs/j1', /must start with job/],
  ['job/j1/1bad/x', /improper label name "1bad"/],
  ['job/j1/__name__/x', /improper label name "__name__"/],
  ['job/j1/a/1/a/2', /duplicate label name "a"/],
  ['job/j1/a@base64/***', /invalid base64 encoding for label "a"/],
  ['job/j1/a/%E0%A4%A', /invalid percent-encoding/],
];

test('grouping keys from paths, @base64 values included', () => {
  for (const [path, labels] of VALID) assert.deepEqual(parseGroupingKeyPath(path), labels, path);
});

test('bad grouping keys name what is wrong', () => {
  for (const [path, message] of INVALID) assert.throws(() => parseGroupingKeyPath(path), (error: unknown) => error instanceof GroupingKeyError && message.test(error.message), path);
});

test('equal keys have the same id whatever the order', () => {
  assert.equal(groupingKeyId({ job: 'j', a: '1' }), groupingKeyId({ a: '1', job: 'j' }));
  assert.notEqual(groupingKeyId({ job: 'j', a: '1' }), groupingKeyId({ job: 'j', a: '2' }));
});
