// `rankscope agent --config FILE` as a real child process against a real server: ships a file,
// serves /metrics, and exits 0 on SIGTERM after flushing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer } from './test-server.ts';
import { waitFor } from './push-receiver.ts';

test('the agent command ships, serves metrics and stops cleanly on SIGTERM', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-agent-cli-'));
  const server = await startTestServer(dir);
  const log = join(dir, 'train.log');
  writeFileSync(log, 'step 1 loss 2.0\n');
  const config = join(dir, 'agent.yaml');
  writeFileSync(
    config,
    [
      'server:',
      `  url: ${server.url}`,
      'batch:',
      '  max_wait_ms: 100',
      'queue:',
      `  dir: ${join(dir, 'queue')}`,
      'positions:',
      `  file: ${join(dir, 'positions.json')}`,
      'metrics:',
      '  listen: 127.0.0.1:0',
      'labels:',
      '  job: cli',
      'sources:',
      '  - name: train',
      '    type: file',
      `    paths: ["${join(dir, '*.log')}"]`,
      '',
    ].join('\n'),
  );
  const child = spawn(process.execPath, ['bin/rankscope.js', 'agent', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    await waitFor(() => /metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/.test(stderr), 20_000, `the start line (${stderr})`);
    const metricsUrl = /metrics at (\S+)/.exec(stderr)![1]!;
    await server.waitForEntries('{job="cli"}', 1);
    appendFileSync(log, 'step 2 loss 1.9\n');
    const entries = await server.waitForEntries('{job="cli"}', 2);
    assert.deepEqual(entries.map((entry) => entry.line), ['step 1 loss 2.0', 'step 2 loss 1.9']);
    const metrics = await (await fetch(metricsUrl)).text();
    assert.match(metrics, /^rankscope_agent_sent_entries_total 2$/m);
    assert.match(metrics, /^# TYPE rankscope_agent_file_lag_bytes gauge$/m);
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
