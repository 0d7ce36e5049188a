// `rankscope run` end to end: four ranks, each wrapped by the real CLI as a child process, ship to a
// real server. Rank 2 dies of a CUDA OOM; the other three then time out in their collective (the
// NCCL watchdog, SIGABRT). The runs API says: failed, rank 2 first (cuda_oom), the watchdog timeouts
// are consequences, the exit codes the wrapper saw are kept, and rank 0's loss series holds exactly
// the values it printed.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getJson, startTestServer, waitFor, type TestServer } from '../server/test-server.ts';

let server: TestServer;
let queueRoot: string;
before(async () => {
  server = await startTestServer({ training: { finalize_after: '1s' } });
  queueRoot = mkdtempSync(join(tmpdir(), 'rankscope-run-training-'));
});
after(async () => {
  await server.dispose();
  rmSync(queueRoot, { recursive: true, force: true });
});

const LOSSES = [[2.5, 2.25, 2.125, 2.0625], [2.51, 2.26, 2.13, 2.07], [2.49, 2.24, 2.12, 2.06], [2.52, 2.27, 2.14, 2.08]];

function rankScript(rank: number): string {
  const steps = LOSSES[rank]!.map((loss, i) => `echo "step ${i + 1} loss ${loss} lr 1.0e-4"`);
  if (rank === 2) {
    return [
      ...steps,
      `printf 'Traceback (most recent call last):\\n  File "/workspace/train.py", line 187, in main\\n    loss = model(**batch).loss\\ntorch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB. GPU 2 has a total capacity of 79.15 GiB of which 1.12 GiB is free.\\n' >&2`,
      'exit 1',
    ].join('; ');
  }
  // The others wait in the all-reduce rank 2 never joins, until the watchdog takes them down.
  return [
    ...steps,
    'sleep 1.5',
    `echo "[rank${rank}]:[E1127 10:31:52.123456 140 ProcessGroupNCCL.cpp:607] [Rank ${rank}] Watchdog caught collective operation timeout: WorkNCCL(SeqNum=13, OpType=ALLREDUCE, NumelIn=1, NumelOut=1, Timeout(ms)=1000) ran for 1021 milliseconds before timing out." >&2`,
    'kill -ABRT $$',
  ].join('; ');
}

function wrapped(rank: number, runId: string): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/rankscope.js', 'run', '--server', server.url, '--job', 'train', '--queue-dir', join(queueRoot, `rank-${rank}`), '--', 'sh', '-c', rankScript(rank)], {
      env: { ...process.env, RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: '4', NODE_RANK: '0', TORCHELASTIC_RUN_ID: runId },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

interface Run {
  status: string;
  world_size: number;
  ranks_seen: number[];
  exit_codes: Record<string, number | null>;
  first_failure: { rank: number | null; class: string } | null;
}

test('rankscope run: 4 ranks, rank 2 OOMs, the others time out → failed, rank 2 first, rank 0 loss series as printed', async () => {
  const runId = `wrapped-${process.pid}-${Date.now()}`;
  const results = await Promise.all([0, 1, 2, 3].map((rank) => wrapped(rank, runId)));
  assert.equal(results[2]!.code, 1, results[2]!.stderr);
  for (const rank of [0, 1, 3]) assert.equal(results[rank]!.signal, 'SIGABRT', results[rank]!.stderr);

  const run = await waitFor(
    async () => {
      const { status, body } = await getJson(`${server.url}/api/v1/runs/${encodeURIComponent(runId)}`);
      if (status !== 200) return undefined;
      const answer = body as Run;
      // All four wrappers' final entries are in once every exit is known.
      return answer.status !== 'running' && Object.keys(answer.exit_codes).length === 4 ? answer : undefined;
    },
    20_000,
    'the run to be judged with all four exits',
  );
  assert.equal(run.status, 'failed');
  assert.deepEqual(run.first_failure && [run.first_failure.rank, run.first_failure.class], [2, 'cuda_oom']);
  assert.equal(run.world_size, 4);
  assert.deepEqual(run.ranks_seen, [0, 1, 2, 3]);
  assert.deepEqual(run.exit_codes, { '0': null, '1': null, '2': 1, '3': null });

  const failures = (await getJson(`${server.url}/api/v1/runs/${encodeURIComponent(runId)}/failures`)).body as {
    first: { rank: number; class: string; evidence: Array<{ line: string }> };
    failures: Array<{ rank: number | null; class: string; consequence: boolean }>;
  };
  assert.match(failures.first.evidence[0]!.line, /CUDA out of memory/);
  const timeouts = failures.failures.filter((failure) => failure.class === 'nccl_timeout');
  assert.deepEqual(timeouts.map((failure) => failure.rank).sort(), [0, 1, 3]);
  assert.ok(timeouts.every((failure) => failure.consequence), 'the watchdog timeouts are consequences');

  const series = (await getJson(`${server.url}/api/v1/runs/${encodeURIComponent(runId)}/series?name=loss&rank=0`)).body as { x: string; points: Array<[number, number]> };
  assert.equal(series.x, 'step');
  assert.deepEqual(series.points, LOSSES[0]!.map((loss, i) => [i + 1, loss]));
});
