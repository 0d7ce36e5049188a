// The real rankscope server goes down for 30 s while the agent keeps tailing a growing file; when it
// comes back on the same address, every line arrives exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/server/server.ts';
import { agentConfigSchema } from '../../src/agent/config.ts';
import { startAgent } from '../../src/agent/agent.ts';
import { waitFor } from './push-receiver.ts';
import { queryEntries } from './server-query.ts';

const OUTAGE_MS = 30_000;

test('a server down for 30 s: every line arrives exactly once when it is back', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-outage-'));
  const serverConfig = (listen: string) => ({ server: { listen }, store: { data_dir: join(dir, 'store') }, ui: { enabled: false } });
  let server = await startServer(serverConfig('127.0.0.1:0'));
  const listen = `127.0.0.1:${server.port}`;
  const log = join(dir, 'rank0.log');
  writeFileSync(log, '');
  const agent = await startAgent(
    agentConfigSchema.parse({
      server: { url: server.url },
      batch: { max_wait_ms: 100 },
      retry: { min_backoff_ms: 100, max_backoff_ms: 2000 },
      queue: { dir: join(dir, 'queue') },
      positions: { file: join(dir, 'positions.json') },
      poll_interval_ms: 100,
      labels: { job: 'outage' },
      sources: [{ name: 'train', type: 'file', paths: [log] }],
    }),
    { log: () => undefined },
  );
  let written = 0;
  const writeSome = (count: number): void => {
    let text = '';
    for (let i = 0; i < count; i++) text += `step ${written++} loss ${(2 + Math.sin(written)).toFixed(4)}\n`;
    appendFileSync(log, text);
  };
  try {
    writeSome(100);
    await waitFor(() => agent.metrics.value('rankscope_agent_sent_entries_total') === 100, 10_000, 'first 100 sent');
    await server.close();
    // Down: the training keeps writing for the whole outage.
    const outageEndsAt = Date.now() + OUTAGE_MS;
    while (Date.now() < outageEndsAt) {
      writeSome(50);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    assert.ok(agent.metrics.value('rankscope_agent_retries_total', { reason: 'connection' }) > 0, 'pushes failed while down');
    assert.ok(agent.metrics.value('rankscope_agent_queue_depth_entries') > 0, 'entries waited on disk');
    server = await startServer(serverConfig(listen));
    writeSome(100);
    await waitFor(() => agent.metrics.value('rankscope_agent_sent_entries_total') === written, 20_000, `all ${written} sent`);
    const entries = await queryEntries(server.url, '{job="outage"}', 5000);
    const lines = entries.map((entry) => entry.line);
    assert.equal(lines.length, written, 'no loss, no duplicates');
    assert.equal(new Set(lines).size, written);
    for (let i = 0; i < written; i++) assert.ok(lines[i]!.startsWith(`step ${i} `), `line ${i} in order: ${lines[i]}`);
  } finally {
    await agent.stop(1000);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
