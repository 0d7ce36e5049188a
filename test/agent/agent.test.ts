// The agent tailing real files in a temp dir and shipping to a real rankscope server on 127.0.0.1;
// what arrived is read back through the Loki query API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentConfigSchema } from '../../src/agent/config.ts';
import { startAgent } from '../../src/agent/agent.ts';
import { startTestServer, type TestServer } from './test-server.ts';

function configFor(dir: string, server: TestServer, sources: unknown[], extra: Record<string, unknown> = {}) {
  return agentConfigSchema.parse({
    server: { url: server.url },
    batch: { max_wait_ms: 50 },
    retry: { min_backoff_ms: 50, max_backoff_ms: 200 },
    queue: { dir: join(dir, 'queue') },
    positions: { file: join(dir, 'positions.json') },
    poll_interval_ms: 50,
    labels: { host: 'test-node' },
    sources,
    ...extra,
  });
}

async function withDir(body: (dir: string, server: TestServer) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-agent-'));
  const server = await startTestServer(dir);
  try {
    await body(dir, server);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 400));

const numbered = (from: number, to: number, prefix = 'line'): string => {
  let text = '';
  for (let i = from; i < to; i++) text += `${prefix} ${i}\n`;
  return text;
};

function assertExactlyOnce(lines: string[], from: number, to: number, prefix = 'line'): void {
  const expected = numbered(from, to, prefix).trimEnd().split('\n');
  assert.deepEqual([...lines].sort(), [...expected].sort(), 'every line exactly once');
}

test('rotation by rename: the old file is read to its end, the new one from its start', async () => {
  await withDir(async (dir, server) => {
    const log = join(dir, 'train.log');
    writeFileSync(log, numbered(0, 100));
    const agent = await startAgent(configFor(dir, server, [{ name: 'train', type: 'file', paths: [join(dir, '*.log')], labels: { job: 'train' } }]), { log: () => undefined });
    try {
      await server.waitForEntries('{job="train"}', 100);
      appendFileSync(log, numbered(100, 150));
      renameSync(log, `${log}.1`);
      // The writer still holds the old file open and writes a little more before reopening.
      appendFileSync(`${log}.1`, numbered(150, 160));
      writeFileSync(log, numbered(160, 200));
      await server.waitForEntries('{job="train"}', 200);
      await settle();
      const entries = await server.query('{job="train"}');
      assertExactlyOnce(entries.map((entry) => entry.line), 0, 200);
      assert.equal(entries[0]!.labels.host, 'test-node');
      assert.equal(entries[0]!.labels.filename, log, 'lines of the renamed file keep the label of the path they were written under');
    } finally {
      await agent.stop(1000);
    }
  });
});

test('rotation by copytruncate: lines after the truncation are read from the start', async () => {
  await withDir(async (dir, server) => {
    const log = join(dir, 'train.log');
    writeFileSync(log, numbered(0, 100));
    const agent = await startAgent(configFor(dir, server, [{ name: 'train', type: 'file', paths: [log] }]), { log: () => undefined });
    try {
      await server.waitForEntries('{host="test-node"}', 100);
      copyFileSync(log, `${log}.1`);
      truncateSync(log, 0);
      appendFileSync(log, numbered(100, 130));
      await server.waitForEntries('{host="test-node"}', 130);
      // Truncated and rewritten past the old offset before the next poll: caught by the first bytes.
      copyFileSync(log, `${log}.2`);
      writeFileSync(log, numbered(130, 200));
      await server.waitForEntries('{host="test-node"}', 200);
      await settle();
      assertExactlyOnce((await server.query('{host="test-node"}')).map((entry) => entry.line), 0, 200);
    } finally {
      await agent.stop(1000);
    }
  });
});

test('restart from the positions file: no loss, no duplicates, a pending traceback completed', async () => {
  await withDir(async (dir, server) => {
    const log = join(dir, 'rank0.log');
    const config = configFor(dir, server, [{ name: 'train', type: 'file', paths: [join(dir, 'rank*.log')], path_labels: 'rank(?P<rank>\\d+)\\.log$' }]);
    writeFileSync(log, numbered(0, 100) + 'Traceback (most recent call last):\n  File "train.py", line 3, in <module>\n');
    let agent = await startAgent(config, { log: () => undefined });
    await server.waitForEntries('{host="test-node"}', 100);
    await agent.stop(1000);
    // While the agent is down: the traceback finishes and more lines arrive.
    appendFileSync(log, 'ValueError: boom\n' + numbered(100, 150));
    agent = await startAgent(config, { log: () => undefined });
    try {
      await server.waitForEntries('{host="test-node"}', 151);
      await settle();
      const entries = await server.query('{host="test-node"}');
      const lines = entries.map((entry) => entry.line);
      const traceback = lines.filter((line) => line.startsWith('Traceback'));
      assert.deepEqual(traceback, ['Traceback (most recent call last):\n  File "train.py", line 3, in <module>\nValueError: boom']);
      assertExactlyOnce(lines.filter((line) => !line.startsWith('Traceback')), 0, 150);
      const tracebackEntry = entries.find((entry) => entry.line.startsWith('Traceback'))!;
      assert.equal(tracebackEntry.labels.level, 'error');
      assert.equal(tracebackEntry.labels.rank, '0', 'rank from path_labels');
    } finally {
      await agent.stop(1000);
    }
  });
});

test('new files are picked up while running; processing labels, timestamps and \\r redraws', async () => {
  await withDir(async (dir, server) => {
    // A stamp from two hours ago written as Berlin wall-clock time (the server rejects very old ones).
    const utcMs = Math.floor((Date.now() - 2 * 3600_000) / 1000) * 1000 + 250;
    const berlinWallClock = new Intl.DateTimeFormat('sv-SE', { timeZone: 'Europe/Berlin', dateStyle: 'short', timeStyle: 'medium' }).format(new Date(utcMs));
    const warningLine = `${berlinWallClock},250 - WARNING - NCCL slow`;
    const config = configFor(dir, server, [
      { name: 'train', type: 'file', paths: [join(dir, 'logs', '*.log')], processing: { timestamp: { timezone: 'Europe/Berlin' } } },
    ], { metrics: { listen: '127.0.0.1:0' } });
    mkdirSync(join(dir, 'logs'));
    const agent = await startAgent(config, { log: () => undefined });
    try {
      writeFileSync(
        join(dir, 'logs', 'late.log'),
        `${warningLine}\n` +
          '[rank5]: 10%|#   | 1/10\r[rank5]: 100%|####| 10/10\n' +
          '[default2]:Traceback (most recent call last):\n[default2]:  File "x.py", line 1, in <module>\n[default3]:step 7 loss 2.5\n[default2]:RuntimeError: NCCL timeout\n',
      );
      // The traceback closes by the multiline timeout (1 s).
      const entries = await server.waitForEntries('{host="test-node"}', 4);
      const byLine = new Map(entries.map((entry) => [entry.line, entry]));
      const warning = byLine.get(warningLine);
      assert.ok(warning, `${warningLine} missing from ${[...byLine.keys()].join(' | ')}`);
      assert.equal(warning.labels.level, 'warn');
      assert.equal(warning.timestampNs, BigInt(utcMs) * 1_000_000n, 'Berlin wall-clock time → UTC');
      assert.equal(byLine.get('100%|####| 10/10')?.labels.rank, '5');
      assert.equal(byLine.get('step 7 loss 2.5')?.labels.local_rank, '3', "torchrun's --tee prefix is the rank within the node");
      const traceback = byLine.get('Traceback (most recent call last):\n  File "x.py", line 1, in <module>\nRuntimeError: NCCL timeout');
      assert.equal(traceback?.labels.local_rank, '2', 'interleaved ranks keep their tracebacks apart');
      assert.equal(traceback?.labels.filename, join(dir, 'logs', 'late.log'));
      const metricsText = await (await fetch(agent.metricsUrl!)).text();
      assert.match(metricsText, /rankscope_agent_sent_entries_total 4/);
      assert.match(metricsText, /rankscope_agent_file_lag_bytes\{path=".*late\.log"\} 0/);
      assert.match(metricsText, /rankscope_agent_queue_depth_batches 0/);
    } finally {
      await agent.stop(1000);
    }
  });
});

test('Kubernetes pod logs: CRI partial lines reassembled, Docker json-file, labels from the path', async () => {
  await withDir(async (dir, server) => {
    const baseMs = Math.floor((Date.now() - 3600_000) / 1000) * 1000;
    const stamp = (nanos: string): string => new Date(baseMs).toISOString().replace('.000Z', `.${nanos}Z`);
    const root = join(dir, 'pods');
    const criDir = join(root, 'ml_llama-worker-3_1234-abcd', 'pytorch');
    const dockerDir = join(root, 'ml_llama-master-0_5678-efgh', 'pytorch');
    mkdirSync(criDir, { recursive: true });
    mkdirSync(dockerDir, { recursive: true });
    writeFileSync(
      join(criDir, '0.log'),
      `${stamp('000000001')} stdout P {'loss': 2.34\n` +
        `${stamp('000000002')} stderr F NCCL WARN socket\n` +
        `${stamp('000000003')} stdout F 56, 'epoch': 0.1}\n`,
    );
    writeFileSync(join(dockerDir, '0.log'), `{"log":"step 1 loss 2.0\\n","stream":"stdout","time":"${stamp('5')}"}\n`);
    const agent = await startAgent(configFor(dir, server, [{ name: 'pods', type: 'kubernetes_pods', root, worker_rank_offset: 1 }]), { log: () => undefined });
    try {
      const entries = await server.waitForEntries('{host="test-node"}', 3);
      await settle();
      const byLine = new Map(entries.map((entry) => [entry.line, entry]));
      const loss = byLine.get("{'loss': 2.3456, 'epoch': 0.1}");
      assert.ok(loss, `reassembled line missing from ${[...byLine.keys()].join(' | ')}`);
      assert.equal(loss.timestampNs, BigInt(baseMs) * 1_000_000n + 1n, 'the first piece time, to the nanosecond');
      assert.deepEqual(loss.labels, { host: 'test-node', namespace: 'ml', pod: 'llama-worker-3', container: 'pytorch', app: 'llama', rank: '4', replica_type: 'worker', stream: 'stdout' });
      assert.equal(byLine.get('NCCL WARN socket')?.labels.level, 'warn');
      assert.equal(byLine.get('NCCL WARN socket')?.labels.stream, 'stderr');
      assert.equal(byLine.get('step 1 loss 2.0')?.labels.rank, '0');
      assert.equal((await server.query('{host="test-node"}')).length, 3);
    } finally {
      await agent.stop(1000);
    }
  });
});
