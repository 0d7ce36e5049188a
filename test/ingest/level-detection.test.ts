import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addDetectedLevels, detectLevelOfLine } from '../../src/ingest/level-detection.ts';
import { addServiceNames, LOKI_SERVICE_NAME_LABELS } from '../../src/ingest/service-name.ts';
import type { PushStream } from '../../src/push/types.ts';

test('level of a line: JSON and logfmt level fields (normalized), then keywords, else unknown', () => {
  const cases: Array<[string, string]> = [
    ['{"level":"WARNING","msg":"disk"}', 'warn'],
    ['{"log":{"severity":"err"},"msg":"x"}', 'error'],
    ['{"msg":"no level here"}', 'unknown'],
    ['level=dbg msg=hello', 'debug'],
    ['ts=1 LVL=Fatal msg=boom', 'fatal'],
    ['severity=info level=error msg=both', 'error'],
    ['level=verbose msg="an info message"', 'info'],
    ['2026-11-21 [ERROR] connection refused', 'error'],
    ['WARNING: rank 1 is slow', 'warn'],
    ['CRITICAL: out of disk', 'critical'],
    ['DEBUG cache miss', 'debug'],
    ['starting up', 'unknown'],
    ['', 'unknown'],
    ['{not json', 'unknown'],
  ];
  for (const [line, level] of cases) assert.equal(detectLevelOfLine(line), level, line);
});

test('detected_level: an existing pair is normalized; a level label or metadata wins over the line; OTLP severity numbers', () => {
  const streams: PushStream[] = [
    {
      labels: { job: 'a' },
      entries: [
        { timestampNs: 1n, line: 'level=info x', structuredMetadata: [{ name: 'detected_level', value: 'WARN' }] },
        { timestampNs: 2n, line: 'level=info x', structuredMetadata: [{ name: 'severity', value: 'Error' }] },
        { timestampNs: 3n, line: 'plain', structuredMetadata: [{ name: 'severity_number', value: '10' }] },
        { timestampNs: 4n, line: 'level=debug y' },
      ],
    },
    { labels: { job: 'b', level: 'TRACE' }, entries: [{ timestampNs: 5n, line: 'level=error z' }] },
    { labels: { job: 'c', lvl: 'notice' }, entries: [{ timestampNs: 6n, line: 'x' }] },
  ];
  addDetectedLevels(streams);
  const levelOf = (stream: number, entry: number) => streams[stream]!.entries[entry]!.structuredMetadata!.filter((pair) => pair.name === 'detected_level').map((pair) => pair.value);
  assert.deepEqual(levelOf(0, 0), ['warn']);
  assert.deepEqual(levelOf(0, 1), ['error']);
  assert.deepEqual(levelOf(0, 2), ['info']);
  assert.deepEqual(levelOf(0, 3), ['debug']);
  assert.deepEqual(levelOf(1, 0), ['trace']);
  assert.deepEqual(levelOf(2, 0), ['notice'], 'an unknown spelling from a label is kept as is');
});

test('service_name discovery: first configured label present, else unknown_service; an existing one is kept', () => {
  const streams: PushStream[] = [
    { labels: { job: 'train', app: 'trainer' }, entries: [] },
    { labels: { job: 'train' }, entries: [] },
    { labels: { host: 'x' }, entries: [] },
    { labels: { service_name: 'given', app: 'other' }, entries: [] },
  ];
  addServiceNames(streams, LOKI_SERVICE_NAME_LABELS);
  assert.deepEqual(
    streams.map((stream) => stream.labels.service_name),
    ['trainer', 'train', 'unknown_service', 'given'],
  );
});
