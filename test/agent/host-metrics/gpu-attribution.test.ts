// Processes to GPUs to runs and ranks: compute-apps output and /proc/<pid>/environ.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { attributeGpus, parseComputeApps, parseEnviron, processRunLabels } from '../../../src/agent/host-metrics/gpu-attribution.ts';
import { writeProcess } from './node-fixture.ts';

test('compute-apps csv: pid, uuid, MiB; other lines skipped', () => {
  assert.deepEqual(parseComputeApps('4242, GPU-a, 60000\n4343, GPU-b, [N/A]\nNo running processes found\n\n'), [
    { pid: 4242, gpuUuid: 'GPU-a', usedMemoryMiB: 60000 },
    { pid: 4343, gpuUuid: 'GPU-b', usedMemoryMiB: undefined },
  ]);
});

test('environ is NUL-separated; values may hold "="', () => {
  assert.deepEqual(parseEnviron(Buffer.from('A=1\0B=x=y\0\0')), { A: '1', B: 'x=y' });
});

const RUN_CASES: { name: string; env: Record<string, string> | undefined; expected: Record<string, string> | undefined }[] = [
  { name: 'rankscope run', env: { RANKSCOPE_RUN_ID: 'r1', RANK: '5', LOCAL_RANK: '1' }, expected: { run_id: 'r1', rank: '5', local_rank: '1' } },
  { name: 'torchrun', env: { TORCHELASTIC_RUN_ID: 'te-9', RANK: '0', LOCAL_RANK: '0' }, expected: { run_id: 'te-9', rank: '0', local_rank: '0' } },
  { name: 'Slurm srun', env: { SLURM_JOB_ID: '81234', SLURM_PROCID: '12' }, expected: { run_id: '81234', rank: '12' } },
  { name: 'RANKSCOPE_RUN_ID wins over the launcher', env: { RANKSCOPE_RUN_ID: 'mine', SLURM_JOB_ID: '1', RANK: '2' }, expected: { run_id: 'mine', rank: '2' } },
  { name: 'a process of no run', env: { HOME: '/root' }, expected: undefined },
  { name: 'a process that is gone', env: undefined, expected: undefined },
];

for (const { name, env, expected } of RUN_CASES) {
  test(`run labels from the environment: ${name}`, () => {
    const procRoot = mkdtempSync(join(tmpdir(), 'rankscope-proc-'));
    try {
      if (env !== undefined) writeProcess(procRoot, 100, env);
      assert.deepEqual(processRunLabels(procRoot, 100), expected);
    } finally {
      rmSync(procRoot, { recursive: true, force: true });
    }
  });
}

test('a GPU shared by several placed processes goes to the lowest rank; unplaced ones are ignored', () => {
  const labels: Record<number, Record<string, string> | undefined> = { 1: { run_id: 'r', rank: '7' }, 2: { run_id: 'r', rank: '3' }, 3: undefined };
  const byGpu = attributeGpus(
    [
      { pid: 3, gpuUuid: 'GPU-a', usedMemoryMiB: 1 },
      { pid: 1, gpuUuid: 'GPU-a', usedMemoryMiB: 1 },
      { pid: 2, gpuUuid: 'GPU-a', usedMemoryMiB: 1 },
      { pid: 3, gpuUuid: 'GPU-b', usedMemoryMiB: 1 },
    ],
    (pid) => labels[pid],
  );
  assert.deepEqual([...byGpu], [['GPU-a', { run_id: 'r', rank: '3' }]]);
});
