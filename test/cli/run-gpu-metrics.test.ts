// `rankscope run --gpu-metrics`: two ranks, each wrapped by its own `rankscope run` (real child
// processes), on two GPUs of a stand-in nvidia-smi on PATH whose compute-apps list the ranks' real
// pids. The wrapper puts RANKSCOPE_RUN_ID in its command's environment and reads the real
// /proc/<pid>/environ, so each GPU series arrives in a real server with its run_id and rank.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { startTestServer, waitFor } from '../server/test-server.ts';
import { writeComputeApps, writeStandInNvidiaSmi } from '../agent/host-metrics/stand-in-nvidia-smi.ts';

const GPUS = ['GPU-11111111-aaaa-4bbb-8ccc-000000000000', 'GPU-22222222-aaaa-4bbb-8ccc-111111111111'];

test('two `rankscope run` ranks on two GPUs: DCGM_FI_DEV_GPU_UTIL{run_id, rank} names each rank\'s GPU', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-run-gpu-'));
  const server = await startTestServer();
  const binDir = join(dir, 'bin');
  writeStandInNvidiaSmi(binDir, { gpus: [{ uuid: GPUS[0]! }, { uuid: GPUS[1]!, fields: { 'utilization.gpu': '12' } }] });
  const stopFile = join(dir, 'stop');
  const children = [0, 1].map((rank) => {
    const pidFile = join(dir, `rank${rank}.pid`);
    // The rank records its pid, then waits for the test to let it go (bounded: 30 s).
    const script = `echo $$ > ${pidFile}; i=0; while [ ! -e ${stopFile} ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done`;
    const child = spawn(
      process.execPath,
      ['bin/rankscope.js', 'run', '--server', server.url, '--run-id', 'run-gpu-7', '--queue-dir', join(dir, `queue${rank}`), '--gpu-metrics', '--metrics-interval', '200ms', '--', 'sh', '-c', script],
      { env: { ...process.env, PATH: `${binDir}${delimiter}${process.env.PATH}`, RANK: String(rank), LOCAL_RANK: String(rank) }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    return { pidFile, exited, stderr: () => stderr };
  });
  try {
    const pids = await waitFor(async () => (children.every((child) => existsSync(child.pidFile) && readFileSync(child.pidFile, 'utf8').trim() !== '') ? children.map((child) => Number(readFileSync(child.pidFile, 'utf8'))) : undefined), 15_000, 'both ranks to start');
    writeComputeApps(binDir, [
      { pid: pids[0]!, gpuUuid: GPUS[0]!, usedMemoryMiB: 30000 },
      { pid: pids[1]!, gpuUuid: GPUS[1]!, usedMemoryMiB: 31000 },
    ]);
    for (const [rank, gpu, utilization] of [['0', '0', '97'], ['1', '1', '12']] as const) {
      const query = `DCGM_FI_DEV_GPU_UTIL{run_id="run-gpu-7", rank="${rank}"}`;
      const result = await waitFor(
        async () => {
          const response = await fetch(`${server.url}/api/v1/query?${new URLSearchParams({ query })}`);
          const body = (await response.json()) as { data: { result: { metric: Record<string, string>; value: [number, string] }[] } };
          return body.data.result.length > 0 ? body.data.result : undefined;
        },
        20_000,
        query,
      );
      // Each wrapper reports its own rank's GPU only: one series, not one per wrapper.
      assert.equal(result.length, 1, JSON.stringify(result));
      assert.equal(result[0]!.metric.gpu, gpu);
      assert.equal(result[0]!.metric.UUID, GPUS[Number(gpu)]);
      assert.equal(result[0]!.metric.job, 'sh');
      assert.equal(result[0]!.metric.local_rank, rank);
      assert.equal(result[0]!.value[1], utilization);
    }
    writeFileSync(stopFile, '');
    for (const child of children) assert.equal(await child.exited, 0, child.stderr());
  } finally {
    writeFileSync(stopFile, '');
    await Promise.all(children.map((child) => child.exited));
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
