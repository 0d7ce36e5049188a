import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseContainerLogLine, PartialLineAssembler, podLabelsFromPath } from '../../src/agent/pod-log.ts';

test('pod labels and rank from the kubelet path', () => {
  const cases: [string, number, Record<string, string> | undefined][] = [
    ['/var/log/pods/ml_llama-train-worker-3_0f1e/pytorch/0.log', 0, { namespace: 'ml', pod: 'llama-train-worker-3', container: 'pytorch', app: 'llama-train', rank: '3', replica_type: 'worker' }],
    ['/var/log/pods/ml_llama-train-worker-3_0f1e/pytorch/0.log', 1, { namespace: 'ml', pod: 'llama-train-worker-3', container: 'pytorch', app: 'llama-train', rank: '4', replica_type: 'worker' }],
    ['/var/log/pods/ml_llama-train-master-0_aa/pytorch/1.log', 1, { namespace: 'ml', pod: 'llama-train-master-0', container: 'pytorch', app: 'llama-train', rank: '0', replica_type: 'master' }],
    ['/var/log/pods/default_web-7d9f8c6b5d-x2k4p_u1/nginx/0.log', 0, { namespace: 'default', pod: 'web-7d9f8c6b5d-x2k4p', container: 'nginx', app: 'web' }],
    ['/var/log/pods/not-a-pod-dir/c/0.log', 0, undefined],
  ];
  for (const [path, workerRankOffset, expected] of cases) assert.deepEqual(podLabelsFromPath(path, { workerRankOffset }), expected, path);
});

test('CRI and Docker json-file lines', () => {
  assert.deepEqual(parseContainerLogLine('2024-05-01T12:00:00.000000001Z stderr F Traceback (most recent call last):'), {
    timestampNs: 1714564800000000001n,
    stream: 'stderr',
    partial: false,
    text: 'Traceback (most recent call last):',
  });
  assert.equal(parseContainerLogLine('2024-05-01T12:00:00Z stdout P abc').partial, true);
  assert.deepEqual(parseContainerLogLine('{"log":"step 1\\n","stream":"stdout","time":"2024-05-01T12:00:00.5Z"}'), {
    timestampNs: 1714564800500000000n,
    stream: 'stdout',
    partial: false,
    text: 'step 1',
  });
  assert.throws(() => parseContainerLogLine('garbage'), /not a CRI log line/);
  assert.throws(() => parseContainerLogLine('2024-05-01T12:00:00Z stdlog F x'), /bad CRI stream/);
  assert.throws(() => parseContainerLogLine('{"stream":"stdout"}'), /no string "log"/);
});

test('partial pieces are reassembled per stream with the first piece timestamp', () => {
  const assembler = new PartialLineAssembler(1 << 20);
  const pieces = [
    '2024-05-01T12:00:00.1Z stdout P {\'loss\': 2.3',
    '2024-05-01T12:00:00.2Z stderr F NCCL WARN x',
    '2024-05-01T12:00:00.3Z stdout P 456, \'epoch\'',
    '2024-05-01T12:00:00.4Z stdout F : 0.5}',
  ];
  const out = pieces.map((line, index) => assembler.add(parseContainerLogLine(line), index * 100));
  assert.equal(out[0], undefined);
  assert.deepEqual(out[1], { text: 'NCCL WARN x', timestampNs: 1714564800200000000n, stream: 'stderr', startPosition: 100 });
  assert.equal(out[2], undefined);
  assert.deepEqual(out[3], { text: "{'loss': 2.3456, 'epoch': 0.5}", timestampNs: 1714564800100000000n, stream: 'stdout', startPosition: 0 });
  assert.equal(assembler.pendingStartPosition(), undefined);
});
