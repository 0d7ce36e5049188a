// The nvidia-smi stream's lifecycle against the stand-in: fields an older driver refuses are
// dropped and the stream restarted; `onlyRunId` keeps a run's GPUs only; stop ends the child.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { GpuCollector } from '../../../src/agent/host-metrics/gpu-collector.ts';
import type { MetricSample } from '../../../src/agent/host-metrics/metric-sample.ts';
import { waitFor } from '../../server/test-server.ts';
import { writeProcess } from './node-fixture.ts';
import { writeComputeApps, writeStandInNvidiaSmi } from './stand-in-nvidia-smi.ts';

async function withDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-gpu-collector-'));
  try {
    await body(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('an older driver that does not know temperature.memory: said once, collected without it', async () => {
  await withDir(async (dir) => {
    const nvidiaSmiPath = writeStandInNvidiaSmi(join(dir, 'bin'), { gpus: [{ uuid: 'GPU-a' }], unknownFields: ['temperature.memory'] });
    const samples: MetricSample[] = [];
    const logs: string[] = [];
    const collector = new GpuCollector({ nvidiaSmiPath, intervalMs: 100, procRoot: join(dir, 'proc'), host: 'h', emit: (batch) => samples.push(...batch), log: (message) => logs.push(message) });
    collector.start();
    try {
      await waitFor(async () => (samples.some((sample) => sample.labels.__name__ === 'DCGM_FI_DEV_GPU_UTIL') ? true : undefined), 10_000, 'GPU samples');
      assert.equal(collector.state, 'running');
      assert.deepEqual(logs, ['nvidia-smi does not know the field temperature.memory (older driver); collecting without it']);
      assert.ok(!samples.some((sample) => sample.labels.__name__ === 'DCGM_FI_DEV_MEMORY_TEMP'));
      assert.ok(samples.some((sample) => sample.labels.__name__ === 'DCGM_FI_DEV_GPU_TEMP'));
      assert.equal(collector.starts, 2);
    } finally {
      await collector.stop();
    }
  });
});

test('onlyRunId and onlyRank (rankscope run --gpu-metrics) keep the GPUs of that run and rank', async () => {
  await withDir(async (dir) => {
    const binDir = join(dir, 'bin');
    const nvidiaSmiPath = writeStandInNvidiaSmi(binDir, { gpus: [{ uuid: 'GPU-a' }, { uuid: 'GPU-b' }, { uuid: 'GPU-c' }] });
    const procRoot = join(dir, 'proc');
    writeProcess(procRoot, 10, { RANKSCOPE_RUN_ID: 'mine', RANK: '0' });
    writeProcess(procRoot, 11, { RANKSCOPE_RUN_ID: 'mine', RANK: '1' });
    writeProcess(procRoot, 12, { RANKSCOPE_RUN_ID: 'other', RANK: '0' });
    writeComputeApps(binDir, [
      { pid: 10, gpuUuid: 'GPU-a', usedMemoryMiB: 1 },
      { pid: 11, gpuUuid: 'GPU-b', usedMemoryMiB: 1 },
      { pid: 12, gpuUuid: 'GPU-c', usedMemoryMiB: 1 },
    ]);
    for (const [onlyRank, expected] of [[undefined, ['GPU-a', 'GPU-b']], ['1', ['GPU-b']]] as const) {
      const seen = new Set<string>();
      const collector = new GpuCollector({
        nvidiaSmiPath,
        intervalMs: 100,
        procRoot,
        host: 'h',
        attributionIntervalMs: 100,
        onlyRunId: 'mine',
        ...(onlyRank !== undefined ? { onlyRank } : {}),
        emit: (batch) => batch.forEach((sample) => seen.add(sample.labels.uuid!)),
        log: () => undefined,
      });
      collector.start();
      try {
        await waitFor(async () => (collector.attributedGpus().size === 3 ? true : undefined), 10_000, 'attribution');
        // Lines read before attribution is known are dropped (no owner yet); wait for more rounds.
        const calls = (): number => readFileSync(join(binDir, 'calls.log'), 'utf8').split('\n').length;
        const before = calls();
        await waitFor(async () => (calls() > before + 1 ? true : undefined), 10_000, 'more compute-apps rounds');
        assert.deepEqual([...seen].sort(), expected);
      } finally {
        await collector.stop();
      }
    }
  });
});

test('a GPU without dmon -s t (older driver): said once, the query-gpu metrics still flow', async () => {
  await withDir(async (dir) => {
    const nvidiaSmiPath = writeStandInNvidiaSmi(join(dir, 'bin'), { gpus: [{ uuid: 'GPU-a' }], noDmon: true });
    let utilSamples = 0;
    const logs: string[] = [];
    const collector = new GpuCollector({
      nvidiaSmiPath,
      intervalMs: 100,
      procRoot: join(dir, 'proc'),
      host: 'h',
      emit: (batch) => (utilSamples += batch.filter((sample) => sample.labels.__name__ === 'DCGM_FI_DEV_GPU_UTIL').length),
      log: (message) => logs.push(message),
    });
    collector.start();
    try {
      await waitFor(async () => (logs.length > 0 && utilSamples >= 1 ? true : undefined), 10_000, 'the dmon refusal');
      const seen = utilSamples;
      await waitFor(async () => (utilSamples >= seen + 3 ? true : undefined), 10_000, 'more GPU lines');
      assert.deepEqual(logs, ['no PCIe throughput from nvidia-smi dmon -s t: Failed to process command line. (exit 3); the other GPU metrics are collected']);
      assert.equal(collector.state, 'running');
    } finally {
      await collector.stop();
    }
  });
});

test('when a run leaves a GPU, its series get staleness markers and the GPU carries on unattributed', async () => {
  await withDir(async (dir) => {
    const binDir = join(dir, 'bin');
    const nvidiaSmiPath = writeStandInNvidiaSmi(binDir, { gpus: [{ uuid: 'GPU-a' }] });
    const procRoot = join(dir, 'proc');
    writeProcess(procRoot, 10, { RANKSCOPE_RUN_ID: 'r1', RANK: '0' });
    writeComputeApps(binDir, [{ pid: 10, gpuUuid: 'GPU-a', usedMemoryMiB: 1 }]);
    const samples: MetricSample[] = [];
    const collector = new GpuCollector({ nvidiaSmiPath, intervalMs: 100, attributionIntervalMs: 100, procRoot, host: 'h', emit: (batch) => samples.push(...batch), log: () => undefined });
    collector.start();
    try {
      const util = (sample: MetricSample) => sample.labels.__name__ === 'DCGM_FI_DEV_GPU_UTIL';
      await waitFor(async () => (samples.some((sample) => util(sample) && sample.labels.run_id === 'r1' && sample.stale !== true) ? true : undefined), 10_000, 'attributed samples');
      // Readings before the first compute-apps answer were unattributed; those series were marked
      // stale when the run was found. Look at what follows the run's end only.
      const runEndsAt = samples.length;
      writeComputeApps(binDir, []);
      const after = (): MetricSample[] => samples.slice(runEndsAt);
      await waitFor(
        async () => {
          const firstStale = after().findIndex((sample) => sample.stale === true);
          return firstStale !== -1 && after().slice(firstStale).some((sample) => util(sample) && sample.labels.run_id === undefined) ? true : undefined;
        },
        10_000,
        'unattributed samples after the run',
      );
      const stale = after().filter((sample) => sample.stale === true);
      assert.ok(stale.every((sample) => sample.labels.run_id === 'r1' && Number.isNaN(sample.value)), 'only the run\'s series are marked');
      assert.ok(stale.some(util), 'DCGM_FI_DEV_GPU_UTIL{run_id="r1"} is marked');
      // Each of the run's series is marked once, and nothing of the run is sent after its marker.
      const names = stale.map((sample) => `${sample.labels.__name__}/${sample.labels.reason ?? ''}`);
      assert.equal(new Set(names).size, names.length);
      const firstStale = after().findIndex((sample) => sample.stale === true);
      assert.ok(after().slice(firstStale).every((sample) => sample.stale === true || sample.labels.run_id === undefined));
    } finally {
      await collector.stop();
    }
  });
});
