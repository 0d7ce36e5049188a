// Runs survive a restart, kill -9 included: a real `rankscope server` process takes a failed run and a
// finished one, is killed with SIGKILL right after the pushes were acknowledged, and the next server on
// the same data directory answers the runs API the same way (rebuilt from the log store, whose WAL
// held every acknowledged line).

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess, type ServerProcess } from '../cli/server-process.ts';
import { getJson, pushJson, waitFor } from '../server/test-server.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-training-restart-'));
let server: ServerProcess | undefined;
after(async () => {
  if (server !== undefined) {
    server.kill('SIGKILL');
    await server.exited;
  }
  rmSync(dataDir, { recursive: true, force: true });
});

const startNs = (BigInt(Date.now()) - 3_600_000n) * 1_000_000n;
const at = (seconds: number) => String(startNs + BigInt(Math.round(seconds * 1000)) * 1_000_000n);

function runStreams(runId: string, failing: boolean) {
  return [0, 1].map((rank) => {
    const values: Array<[string, string]> = [];
    for (let step = 1; step <= 10; step++) values.push([at(step + rank * 0.01), `step ${step} loss ${(3 - step * 0.1).toFixed(2)}`]);
    if (failing && rank === 1) values.push([at(10.5), 'Traceback (most recent call last):\n  File "train.py", line 9, in <module>\nKeyError: \'input_ids\'']);
    if (!failing && rank === 0) values.push([at(11), "{'train_runtime': 11.0, 'train_samples_per_second': 12.0, 'train_loss': 2.5, 'epoch': 1.0}"]);
    values.push([at(12), failing && rank === 1 ? 'rankscope run: command python exited with code 1' : 'rankscope run: command python exited with code 0']);
    return { stream: { run_id: runId, rank: String(rank), host: 'node-0' }, values };
  });
}

interface Run {
  id: string;
  status: string;
  first_failure: { rank: number; class: string } | null;
}

async function runsOf(url: string): Promise<Record<string, Run>> {
  const { body } = await getJson(`${url}/api/v1/runs`);
  return Object.fromEntries((body as { runs: Run[] }).runs.map((run) => [run.id, run]));
}

test('runs are rebuilt after the server is killed with SIGKILL', async () => {
  server = await startServerProcess(['--data-dir', dataDir]);
  for (const [id, failing] of [['restart-failed', true], ['restart-finished', false]] as const) {
    const response = await pushJson(server.url, runStreams(id, failing));
    assert.equal(response.status, 204, await response.text());
  }
  const before = await runsOf(server.url);
  assert.deepEqual(
    [before['restart-failed']?.first_failure?.rank, before['restart-failed']?.first_failure?.class, before['restart-finished']?.status],
    [1, 'python_exception', 'finished'],
  );
  server.kill('SIGKILL');
  await server.exited;

  server = await startServerProcess(['--data-dir', dataDir]);
  const url = server.url;
  const after = await waitFor(async () => {
    const runs = await runsOf(url);
    return runs['restart-failed']?.status === 'failed' && runs['restart-finished'] !== undefined ? runs : undefined;
  });
  assert.equal(after['restart-failed']!.first_failure?.rank, 1);
  assert.equal(after['restart-failed']!.first_failure?.class, 'python_exception');
  assert.equal(after['restart-finished']!.status, 'finished');
  const series = (await getJson(`${url}/api/v1/runs/restart-finished/series?name=loss&rank=0`)).body as { points: Array<[number, number]> };
  assert.equal(series.points.length, 10);
  assert.deepEqual(series.points[9], [10, 2]);
});
