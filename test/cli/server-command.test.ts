import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { BIN, NODE, runCommand, startServerProcess } from './server-process.ts';

test('rankscope server prints one ready line, answers /ready, and on SIGTERM flushes and exits 0', { timeout: 60_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-cli-'));
  try {
    const server = await startServerProcess(['--data-dir', dataDir, '--retention', '7d']);
    assert.match(server.readyLine, /^rankscope ready on http:\/\/127\.0\.0\.1:\d+ \(data: .*rankscope-cli-.*\)$/);
    const ready = await fetch(`${server.url}/ready`);
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), 'ready');
    // A second server on the same port fails with a clear reason instead of a stack.
    const busy = await runCommand(['server', '--listen', new URL(server.url).host, '--data-dir', join(dataDir, 'other')]);
    assert.equal(busy.code, 1);
    assert.match(busy.stderr, /^rankscope server: cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/m);
    // The ruler is on by default and its API is mounted.
    const rules = await fetch(`${server.url}/prometheus/api/v1/rules`);
    assert.equal(rules.status, 200);
    assert.equal(((await rules.json()) as { status: string }).status, 'success');
    const t = BigInt(Date.now()) * 1_000_000n;
    const push = await fetch(`${server.url}/loki/api/v1/push`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ streams: [{ stream: { job: 'cli' }, values: [[String(t), 'before sigterm one'], [String(t + 1n), 'before sigterm two']] }] }),
    });
    assert.equal(push.status, 204);

    // /metrics (ours and the ruler's) is valid Prometheus exposition text by Prometheus's own checker.
    const metricsText = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metricsText, /^rankscope_ingested_lines_total\{tenant="fake"\} 2$/m);
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: metricsText, encoding: 'utf8' });
    assert.equal(promtool.status, 0, `promtool: ${promtool.stdout}${promtool.stderr}`);

    const query = await runCommand(['query', '{job="cli"}', '--server', server.url, '--output', 'raw', '--since', '5m']);
    assert.equal(query.code, 0, query.stderr);
    assert.equal(query.stdout, 'before sigterm one\nbefore sigterm two\n');
    const table = await runCommand(['query', '{job="cli"} |= "two"', '--server', server.url]);
    assert.match(table.stdout, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z \{job="cli"\} before sigterm two\n$/);
    const bad = await runCommand(['query', '{job=', '--server', server.url]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /server answered 400: parse error/);

    // rankscope query --tail prints lines pushed after it started, and exits 0 on SIGINT.
    const follower = spawn(NODE, [BIN, 'query', '{job="cli"} |= "live"', '--tail', '--server', server.url, '--output', 'raw'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    const sawLine = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tail printed ${JSON.stringify(followed)}`)), 10_000);
      follower.stdout.on('data', (chunk: Buffer) => {
        followed += chunk.toString();
        if (followed.includes('live from tail')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    const followerExit = new Promise<number | null>((resolve) => follower.once('exit', resolve));
    for (let attempt = 0; attempt < 50 && !followed.includes('live from tail'); attempt++) {
      // Pushed repeatedly until seen: the tail connection may not be open yet on the first push.
      const tNs = BigInt(Date.now()) * 1_000_000n;
      await fetch(`${server.url}/loki/api/v1/push`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ streams: [{ stream: { job: 'cli', kind: 'live' }, values: [[String(tNs), 'live from tail']] }] }),
      });
      await Promise.race([sawLine, new Promise((resolve) => setTimeout(resolve, 200))]);
    }
    await sawLine;
    follower.kill('SIGINT');
    assert.equal(await followerExit, 0);

    server.kill('SIGTERM');
    assert.equal(await server.exited, 0, server.stderr());

    // After a clean shutdown the head was cut into parts, so the restart has parts and the lines.
    const again = await startServerProcess(['--data-dir', dataDir]);
    try {
      const metrics = await (await fetch(`${again.url}/metrics`)).text();
      const parts = /^rankscope_store_parts (\d+)$/m.exec(metrics);
      assert.ok(parts !== null && Number(parts[1]) >= 1, `parts after restart: ${parts?.[1]}`);
      const lines = await runCommand(['query', '{job="cli"} != "live"', '--server', again.url, '--output', 'raw']);
      assert.equal(lines.stdout, 'before sigterm one\nbefore sigterm two\n');
    } finally {
      again.kill('SIGINT');
      assert.equal(await again.exited, 0);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a bad config file exits non-zero naming the file, the line and the reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-cli-config-'));
  try {
    const file = join(dir, 'rankscope.yaml');
    writeFileSync(file, 'server:\n  listen: 127.0.0.1:0\nlimits:\n  max_label_names_per_series: many\n');
    const result = await runCommand(['server', '--config', file, '--data-dir', join(dir, 'data')]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`${file}:4:31: limits\\.max_label_names_per_series: .*number`));
    const badFlag = await runCommand(['server', '--listen', 'nowhere', '--data-dir', join(dir, 'data')]);
    assert.equal(badFlag.code, 1);
    assert.match(badFlag.stderr, /--listen "nowhere": expected HOST:PORT/);
    const unknownFlag = await runCommand(['server', '--lisen', '127.0.0.1:0']);
    assert.equal(unknownFlag.code, 2);
    assert.match(unknownFlag.stderr, /Unknown option '--lisen'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
