// The simulator as real processes writing per-rank files, torchrun --log-dir style.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulatedRun } from '../../src/demo/simulated-run.ts';

test('2 nodes × 2 ranks: progress, loss lines, NCCL warning, a failing rank and the launcher report', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-sim-'));
  try {
    const run = startSimulatedRun({
      seed: 7,
      nodes: 2,
      ranksPerNode: 2,
      // Long enough that node 0 is still running when node 1 fails, even if node 1 starts late.
      steps: 100,
      stepMs: 30,
      // Step 40 (1.2 s in): node 0's rank 0 must reach step 5 first even when its processes start
      // up to a second after node 1's on a loaded machine (step 12 failed 1 run in 3 at load 11).
      failure: { rank: 3, step: 40 },
      runId: 'sim-1',
      output: () => ({ kind: 'files', dir }),
    });
    const results = await run.done;
    assert.deepEqual(results.map((result) => result.exitCode), [1, 1], 'the failure takes both nodes down');
    assert.deepEqual(readdirSync(dir).sort(), [
      'node-0-launcher.log',
      'node-0-rank0.stderr.log',
      'node-0-rank0.stdout.log',
      'node-0-rank1.stderr.log',
      'node-0-rank1.stdout.log',
      'node-1-launcher.log',
      'node-1-rank2.stderr.log',
      'node-1-rank2.stdout.log',
      'node-1-rank3.stderr.log',
      'node-1-rank3.stdout.log',
    ]);
    const rank0 = readFileSync(join(dir, 'node-0-rank0.stdout.log'), 'utf8');
    const rank0Errors = readFileSync(join(dir, 'node-0-rank0.stderr.log'), 'utf8');
    assert.match(rank0, /^step 1 loss \d+\.\d{4} /m);
    assert.match(rank0, /\{'loss': \d+\.\d+, 'grad_norm': [\d.]+, 'learning_rate': [\d.e+-]+, 'epoch': 0\.05\}/);
    assert.match(rank0Errors, /\r +\d+%\|/, 'tqdm redraws with \\r');
    assert.match(rank0Errors, /throughput: [\d.]+ samples\/s/);
    assert.match(readFileSync(join(dir, 'node-1-rank2.stdout.log'), 'utf8'), /NCCL WARN/);
    const failing = readFileSync(join(dir, 'node-1-rank3.stderr.log'), 'utf8');
    assert.match(failing, /Traceback \(most recent call last\):\n(  .*\n)+torch\.OutOfMemoryError: CUDA out of memory/);
    assert.doesNotMatch(readFileSync(join(dir, 'node-1-rank3.stdout.log'), 'utf8'), /^step 41 /m, 'the failing rank stops at its step');
    const launcher = readFileSync(join(dir, 'node-1-launcher.log'), 'utf8');
    assert.match(launcher, /ChildFailedError: \n=+\n\/workspace\/train\.py FAILED/);
    assert.match(launcher, /rank {6}: 3 \(local_rank: 1\)/);
    assert.match(readFileSync(join(dir, 'node-0-launcher.log'), 'utf8'), /SIGTERM/);
    // Same seed, same numbers: the loss of step 1 on rank 0 is reproducible.
    const again = mkdtempSync(join(tmpdir(), 'rankscope-sim-'));
    try {
      await startSimulatedRun({ seed: 7, nodes: 1, ranksPerNode: 1, steps: 3, stepMs: 10, failure: null, runId: 'sim-2', output: () => ({ kind: 'files', dir: again }) }).done;
      const firstLoss = (text: string) => /^step 1 loss (\S+)/m.exec(text)?.[1];
      assert.equal(firstLoss(readFileSync(join(again, 'node-0-rank0.stdout.log'), 'utf8')), firstLoss(rank0));
    } finally {
      rmSync(again, { recursive: true, force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad options are refused with the option named', () => {
  assert.throws(() => startSimulatedRun({ seed: 1, nodes: 0, ranksPerNode: 1, steps: 1, stepMs: 1, runId: 'x', output: () => ({ kind: 'stdio' }) }), /nodes must be a positive integer/);
});
