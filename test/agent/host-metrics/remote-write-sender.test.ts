// The metrics sender against a remote write receiver that is down, then up: the buffer stays
// bounded, drops are counted in the agent's /metrics, and what is kept arrives in order afterwards.

import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { RemoteWriteSender, remoteWriteUrlFor } from '../../../src/agent/host-metrics/remote-write-sender.ts';
import { AgentMetrics } from '../../../src/agent/metrics.ts';
import { decodeWriteRequestV1, uncompressRemoteWrite } from '../../../src/push/remote-write-decode.ts';
import { waitFor } from '../../server/test-server.ts';

test('remote write URL from the server URL', () => {
  assert.equal(remoteWriteUrlFor('http://rankscope:3100'), 'http://rankscope:3100/api/v1/write');
  assert.equal(remoteWriteUrlFor('http://rankscope:3100/loki/api/v1/push'), 'http://rankscope:3100/api/v1/write');
  assert.equal(remoteWriteUrlFor('https://proxy/rankscope/'), 'https://proxy/rankscope/api/v1/write');
});

test('an outage keeps at most max_buffered_samples, counts the dropped ones, and delivers the rest once the server is back', async () => {
  let status = 503;
  const received: number[] = [];
  const headersSeen: Record<string, string | string[] | undefined>[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      headersSeen.push(request.headers);
      if (status === 204) {
        const decoded = decodeWriteRequestV1(uncompressRemoteWrite(Buffer.concat(chunks), 1 << 24));
        for (const series of decoded.series) for (const sample of series.samples) received.push(sample.value);
      }
      response.writeHead(status).end(status === 204 ? '' : 'ingester unavailable');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const metrics = new AgentMetrics();
  const logs: string[] = [];
  const sender = new RemoteWriteSender(
    {
      writeUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/write`,
      tenant: 'team-a',
      auth: { bearerToken: 'secret-token' },
      timeoutMs: 2000,
      maxBufferedSamples: 100,
      maxSamplesPerRequest: 30,
      minBackoffMs: 20,
      maxBackoffMs: 50,
      log: (message) => logs.push(message),
    },
    metrics,
  );
  try {
    const sample = (value: number) => ({ labels: { __name__: 'DCGM_FI_DEV_GPU_UTIL', gpu: String(value % 2) }, value, timestampMs: 1_700_000_000_000 + value * 1000 });
    for (let value = 0; value < 150; value++) sender.add([sample(value)]);
    await sender.flush();
    assert.equal(sender.bufferedSamples, 100);
    assert.equal(metrics.value('rankscope_agent_metrics_dropped_samples_total', { reason: 'buffer_full' }), 50);
    assert.equal(metrics.value('rankscope_agent_metrics_send_failures_total', { reason: '503' }), 1);
    assert.match(metrics.render(), /rankscope_agent_metrics_dropped_samples_total\{reason="buffer_full"\} 50/);
    assert.equal(logs.length, 1);

    status = 204;
    await waitFor(async () => {
      await sender.flush();
      return sender.bufferedSamples === 0 ? true : undefined;
    }, 5000, 'the backlog to drain');
    assert.deepEqual(received.sort((a, b) => a - b), Array.from({ length: 100 }, (_, index) => 50 + index), 'the newest 100 samples, each once');
    assert.equal(metrics.value('rankscope_agent_metrics_sent_samples_total'), 100);
    // A 400 (out-of-order samples) is not retried: the samples are dropped and counted.
    status = 400;
    sender.add([sample(500), sample(501)]);
    await sender.flush();
    assert.equal(sender.bufferedSamples, 0);
    assert.equal(metrics.value('rankscope_agent_metrics_dropped_samples_total', { reason: 'rejected' }), 2);
    assert.match(logs.at(-1)!, /remote write rejected with HTTP 400/);
    const last = headersSeen.at(-1)!;
    assert.equal(last['x-scope-orgid'], 'team-a');
    assert.equal(last.authorization, 'Bearer secret-token');
    assert.equal(last['content-encoding'], 'snappy');
    assert.equal(last['x-prometheus-remote-write-version'], '0.1.0');
  } finally {
    await sender.close(0);
    await new Promise((resolve) => server.close(resolve));
  }
});
