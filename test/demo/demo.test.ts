// `rankscope demo` as a real child process: it starts, its data is queryable through the Loki API
// (through both the run-wrapper path and the agent path), the ranks' remote_written metrics answer
// PromQL, and Ctrl-C stops it with exit code 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../agent/push-receiver.ts';
import { queryEntries, type QueriedEntry } from '../agent/server-query.ts';

test('demo smoke test: starts, ships a multi-node run, answers queries, exits 0 on SIGINT', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-demo-test-'));
  const child = spawn(
    process.execPath,
    ['bin/rankscope.js', 'demo', '--listen', '127.0.0.1:0', '--data-dir', dir, '--steps', '100', '--step-ms', '60', '--duration', '80'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  try {
    await waitFor(() => /UI: +http:\/\/127\.0\.0\.1:\d+\//.test(stdout), 30_000, `the UI URL (stderr: ${stderr})`);
    const url = /UI: +(http:\/\/127\.0\.0\.1:\d+)\//.exec(stdout)![1]!;
    assert.match(stdout, /\{job="demo-train"\} \|= "Traceback"/, 'example queries are printed');
    assert.match(stdout, /--data-urlencode 'query=avg by \(rank\) \(DCGM_FI_DEV_GPU_UTIL\{job="demo-train"\}\)'/, 'an example PromQL query is printed');

    // The failing rank (7, on node 1) reaches step 60 after ~4 s. Poll until both collection paths
    // delivered (runs repeat, so a slow start only delays this).
    let tracebacks: QueriedEntry[] = [];
    let failures: QueriedEntry[] = [];
    let node0Steps: QueriedEntry[] = [];
    const deadline = Date.now() + 45_000;
    while (Date.now() < deadline) {
      tracebacks = await queryEntries(url, '{job="demo-train"} |= "torch.OutOfMemoryError"');
      failures = await queryEntries(url, '{job="demo-train"} |= "ChildFailedError"');
      node0Steps = await queryEntries(url, '{job="demo-train", host="node-0", rank="2", stream="stdout"} |= "loss"');
      if (tracebacks.length > 0 && failures.length > 0 && node0Steps.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const oom = tracebacks.find((entry) => entry.line.startsWith('Traceback (most recent call last):'));
    assert.ok(oom, `an OOM traceback entry: ${JSON.stringify(tracebacks.map((entry) => entry.line.slice(0, 60)))}`);
    assert.match(oom.line, /^Traceback \(most recent call last\):\n(  .*\n)+torch\.OutOfMemoryError: CUDA out of memory/, 'the whole traceback is one entry');
    assert.equal(oom.labels.rank, '7');
    assert.equal(oom.labels.level, 'error');
    assert.equal(oom.labels.host, 'node-1');
    const report = failures.find((entry) => entry.line.startsWith('Traceback'));
    assert.ok(report, 'the launcher ChildFailedError report');
    assert.match(report.line, /ChildFailedError: \n=+\n\/workspace\/train\.py FAILED[\s\S]*rank {6}: 7 \(local_rank: 3\)/);

    // Node 0 ships through `rankscope run`: torchrun-style prefixes became rank labels.
    assert.ok(node0Steps.length > 0, 'rank 2 step lines via rankscope run');
    assert.match(node0Steps[0]!.line, /^step \d+ loss \d+\.\d+/, 'prefix stripped');
    assert.ok(node0Steps[0]!.labels.run_id?.startsWith('demo-'));
    const warnings = await queryEntries(url, '{job="demo-train", level="warn"} |= "NCCL WARN"');
    assert.ok(warnings.length > 0, 'the NCCL warning with level=warn');
    const progress = await queryEntries(url, '{job="demo-train"} |= "it/s]"');
    assert.ok(progress.length > 0 && progress.every((entry) => !entry.line.includes('\r')), 'progress bars collapsed');

    // Every rank remote_writes its GPU and training metrics: PromQL answers with one series per rank.
    type Vector = { status: string; data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    let gpu: Vector | undefined;
    const metricsDeadline = Date.now() + 30_000;
    while (Date.now() < metricsDeadline) {
      gpu = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent('avg by (rank, gpu, host, run_id) (DCGM_FI_DEV_GPU_UTIL{job="demo-train"})')}`)).json()) as Vector;
      if (new Set(gpu.data.result.map((sample) => sample.metric.rank)).size === 8) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(gpu?.status, 'success');
    assert.deepEqual([...new Set(gpu!.data.result.map((sample) => sample.metric.rank))].sort(), ['0', '1', '2', '3', '4', '5', '6', '7']);
    const rank5 = gpu!.data.result.find((sample) => sample.metric.rank === '5')!;
    assert.equal(rank5.metric.gpu, '1');
    assert.equal(rank5.metric.host, 'node-1');
    assert.ok(rank5.metric.run_id?.startsWith('demo-'));
    const loss = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent('max(train_loss{job="demo-train"}) > 1')}`)).json()) as Vector;
    assert.equal(loss.data.result.length, 1, 'the loss the ranks print is also a metric');

    // The server scrapes its own /metrics: `up` and its own series, as a Prometheus beside it would.
    const self = new URL(url).host;
    let up: Vector | undefined;
    const scrapeDeadline = Date.now() + 30_000;
    while (Date.now() < scrapeDeadline) {
      up = (await (await fetch(`${url}/api/v1/query?query=${encodeURIComponent('up{job="rankscope"}')}`)).json()) as Vector;
      if (up.data.result.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.deepEqual(up!.data.result.map((sample) => [sample.metric.instance, sample.value[1]]), [[self, '1']], 'the demo scrapes its own /metrics');
    const targets = (await (await fetch(`${url}/api/v1/targets`)).json()) as { data: { activeTargets: Array<{ scrapeUrl: string; health: string }> } };
    assert.deepEqual(targets.data.activeTargets.map((target) => [target.scrapeUrl, target.health]), [[`http://${self}/metrics`, 'up']]);

    // The demo's PromQL rule: the failing rank's GPU idles, and the alert names it.
    let idle: { labels: Record<string, string> } | undefined;
    const alertDeadline = Date.now() + 30_000;
    while (idle === undefined && Date.now() < alertDeadline) {
      const alerts = (await (await fetch(`${url}/api/v1/alerts`)).json()) as { data: { alerts: Array<{ labels: Record<string, string>; state: string }> } };
      idle = alerts.data.alerts.find((alert) => alert.labels.alertname === 'RankGpuIdle' && alert.state === 'firing');
      if (idle === undefined) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(idle, 'the PromQL GPU-idle alert fires for the failing rank');
    assert.equal(idle.labels.rank, '7');

    child.kill('SIGINT');
    const result = await exited;
    assert.deepEqual(result, { code: 0, signal: null }, `clean exit (stderr: ${stderr.slice(-500)})`);
    assert.ok(existsSync(join(dir, 'store')), '--data-dir is kept');
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
