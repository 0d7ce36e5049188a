// The NCCL-deadlock signature end to end, from real processes: two ranks, each wrapped by its own
// `rankscope run --gpu-metrics` (real child processes shipping their output and their GPU's
// metrics), on two GPUs of a stand-in nvidia-smi on PATH that reads 97% busy. The ranks print steps,
// then hang without a word (as ranks blocked in an all-reduce do) while their GPUs stay busy. The
// server's tracker calls the run hung, GET /api/v1/runs/{id}/gpu names the NCCL-deadlock signature,
// and the training pack's GpuBusyWhileRankSilent fires through the real ruler for both ranks.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { test } from 'node:test';
import { writeComputeApps, writeStandInNvidiaSmi } from '../agent/host-metrics/stand-in-nvidia-smi.ts';
import { fastGpuPack } from '../ruler/support/gpu-pack.ts';
import { getJson, startTestServer, waitFor } from '../server/test-server.ts';

const GPUS = ['GPU-5a1e0000-aaaa-4bbb-8ccc-000000000000', 'GPU-5a1e1111-aaaa-4bbb-8ccc-111111111111'];
const RUN_ID = `deadlock-${process.pid}`;

test('two `rankscope run` ranks hang on busy GPUs: the run is hung, the GPU verdict says NCCL deadlock, GpuBusyWhileRankSilent fires for both', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-deadlock-'));
  mkdirSync(join(dir, 'prometheus-rules'));
  writeFileSync(join(dir, 'prometheus-rules', 'gpu-fast.yaml'), fastGpuPack());
  const server = await startTestServer({
    training: { hang_floor: '2s', hang_interval_multiple: 5, check_interval: '200ms', finalize_after: '2s' },
    ruler: { enabled: true, prometheus_rules_dir: join(dir, 'prometheus-rules'), poll_interval: '1h' },
  });
  const binDir = join(dir, 'bin');
  writeStandInNvidiaSmi(binDir, { gpus: GPUS.map((uuid) => ({ uuid })) });
  const stopFile = join(dir, 'stop');
  const children = [0, 1].map((rank) => {
    const pidFile = join(dir, `rank${rank}.pid`);
    // 20 steps, then silence until the test lets go (bounded: 60 s): a rank blocked in a collective.
    const script = `echo $$ > ${pidFile}; s=1; while [ $s -le 20 ]; do echo "step $s loss 2.$s"; s=$((s+1)); sleep 0.1; done; i=0; while [ ! -e ${stopFile} ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i+1)); done`;
    const child = spawn(
      process.execPath,
      ['bin/rankscope.js', 'run', '--server', server.url, '--run-id', RUN_ID, '--queue-dir', join(dir, `queue${rank}`), '--gpu-metrics', '--metrics-interval', '200ms', '--', 'sh', '-c', script],
      { env: { ...process.env, PATH: `${binDir}${delimiter}${process.env.PATH}`, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: '2' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
    return { pidFile, exited, stderr: () => stderr };
  });
  try {
    const pids = await waitFor(
      async () => (children.every((child) => existsSync(child.pidFile) && readFileSync(child.pidFile, 'utf8').trim() !== '') ? children.map((child) => Number(readFileSync(child.pidFile, 'utf8'))) : undefined),
      15_000,
      'both ranks to start',
    );
    writeComputeApps(binDir, [
      { pid: pids[0]!, gpuUuid: GPUS[0]!, usedMemoryMiB: 70000 },
      { pid: pids[1]!, gpuUuid: GPUS[1]!, usedMemoryMiB: 70000 },
    ]);

    const verdict = await waitFor(
      async () => {
        const answer = await getJson(`${server.url}/api/v1/runs/${RUN_ID}/gpu`);
        const body = answer.body as { verdict?: { kind: string; summary: string; findings: Array<{ rank: number; uuid: string; mean_percent: number }> } | null };
        // Each rank's GPU samples arrive on their own schedule; on a loaded machine the verdict can
        // name one rank before the other's attributed samples are in.
        return body.verdict?.kind === 'nccl_deadlock' && body.verdict.findings.length === 2 ? body.verdict : undefined;
      },
      45_000,
      'the NCCL-deadlock verdict naming both ranks',
    );
    assert.deepEqual(
      verdict.findings.map((finding) => [finding.rank, finding.uuid, finding.mean_percent]),
      [
        [0, GPUS[0], 97],
        [1, GPUS[1], 97],
      ],
    );
    assert.match(verdict.summary, /^The run is hung, yet the GPUs of ranks 0, 1 read 97% busy since they went silent/);
    const run = (await getJson(`${server.url}/api/v1/runs/${RUN_ID}`)).body as { status: string; ranks: Array<{ last_line: string }> };
    assert.equal(run.status, 'hung');
    assert.deepEqual(run.ranks.map((rank) => rank.last_line), ['step 20 loss 2.20', 'step 20 loss 2.20']);

    const alerts = await waitFor(
      async () => {
        const body = (await getJson(`${server.url}/prometheus/api/v1/alerts`)).body as { data: { alerts: Array<{ state: string; labels: Record<string, string> }> } };
        const busy = body.data.alerts.filter((alert) => alert.state === 'firing' && alert.labels.alertname === 'GpuBusyWhileRankSilent' && alert.labels.run_id === RUN_ID);
        return busy.length === 2 ? busy : undefined;
      },
      30_000,
      'GpuBusyWhileRankSilent for both ranks',
    );
    assert.deepEqual(alerts.map((alert) => [alert.labels.rank, alert.labels.UUID]).sort(), [
      ['0', GPUS[0]],
      ['1', GPUS[1]],
    ]);
    writeFileSync(stopFile, '');
    for (const child of children) assert.equal(await child.exited, 0, child.stderr());
  } finally {
    writeFileSync(stopFile, '');
    await Promise.all(children.map((child) => child.exited));
    await server.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
