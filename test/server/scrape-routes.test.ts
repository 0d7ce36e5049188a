// Scrape end to end: a target served here on 127.0.0.1 is scraped by a real server (static and file
// discovery, relabeling, basic auth, gzip, OpenMetrics), its series are queried through
// /api/v1/query, /api/v1/targets answers as Prometheus does, and a series or a target that goes away is
// marked stale (queries stop showing it long before the 5-minute lookback).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startTestServer, type TestServer } from './test-server.ts';
import { pollUntil } from '../support/peers.ts';

const WAIT_MS = 15_000;

let server: TestServer;
let target: Server;
let targetAddress: string;
let sdDir: string;
let lines: string[] = ['# TYPE train_loss gauge', 'train_loss{rank="0",job="exporter"} 1.5', 'train_loss{rank="1"} 2.5', '# TYPE dropped_metric gauge', 'dropped_metric 1'];
const requests: IncomingMessage[] = [];

function waitFor<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  return pollUntil(what, probe, { timeoutMs: WAIT_MS, intervalMs: 50 });
}

interface Row {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(text: string): Promise<Row[]> {
  const response = (await (await fetch(`${server.url}/api/v1/query?query=${encodeURIComponent(text)}`)).json()) as { data: { result: Row[] } };
  return response.data.result;
}

before(async () => {
  target = createServer((request, response) => {
    requests.push(request);
    if (request.url?.startsWith('/secure')) {
      if (request.headers.authorization !== `Basic ${Buffer.from('scraper:s3cret').toString('base64')}`) {
        response.writeHead(401).end('unauthorized');
        return;
      }
      response.writeHead(200, { 'content-type': 'application/openmetrics-text; version=1.0.0; charset=utf-8' });
      response.end('# TYPE secure_requests counter\nsecure_requests_total 7\nsecure_requests_created 1.7e9\n# EOF\n');
      return;
    }
    const body = Buffer.from(lines.join('\n') + '\n');
    if (String(request.headers['accept-encoding']).includes('gzip')) {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4', 'content-encoding': 'gzip' });
      response.end(gzipSync(body));
    } else {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      response.end(body);
    }
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetAddress = `127.0.0.1:${(target.address() as AddressInfo).port}`;
  sdDir = mkdtempSync(join(tmpdir(), 'rankscope-file-sd-'));
  writeFileSync(join(sdDir, 'targets.json'), JSON.stringify([{ targets: [targetAddress], labels: { team: 'ml' } }]));
  server = await startTestServer({
    scrape_configs: [
      {
        job_name: 'trainer',
        scrape_interval: '200ms',
        static_configs: [{ targets: [targetAddress], labels: { cluster: 'a' } }],
        relabel_configs: [{ source_labels: ['cluster'], target_label: 'region', replacement: 'eu-$1' }],
        metric_relabel_configs: [{ source_labels: ['__name__'], regex: 'dropped_.*', action: 'drop' }],
      },
      { job_name: 'files', scrape_interval: '200ms', file_sd_configs: [{ files: [join(sdDir, '*.json')], refresh_interval: '100ms' }] },
      { job_name: 'secure', scrape_interval: '200ms', metrics_path: '/secure', params: { module: ['x'] }, basic_auth: { username: 'scraper', password: 's3cret' }, static_configs: [{ targets: [targetAddress] }] },
    ],
  });
});

after(async () => {
  await server?.dispose();
  target?.close();
  if (sdDir !== undefined) rmSync(sdDir, { recursive: true, force: true });
});

test('a target is scraped into the TSDB: labels, exported_ clashes, relabeling, report series', async () => {
  const rows = await waitFor('the first scrape', async () => {
    const result = await query('train_loss{job="trainer"}');
    return result.length === 2 ? result : undefined;
  });
  const rank0 = rows.find((row) => row.metric.rank === '0')!;
  assert.deepEqual(rank0.metric, { __name__: 'train_loss', rank: '0', job: 'trainer', exported_job: 'exporter', instance: targetAddress, cluster: 'a', region: 'eu-a' });
  assert.equal(rank0.value[1], '1.5');
  assert.deepEqual(await query('dropped_metric{job="trainer"}'), [], 'metric_relabel_configs dropped it');
  await waitFor('the other job, without the rule, to keep it', async () => ((await query('dropped_metric{job="files"}')).length === 1 ? true : undefined));
  const report = async (name: string) => Number((await query(`${name}{job="trainer"}`))[0]?.value[1]);
  assert.equal(await report('up'), 1);
  assert.equal(await report('scrape_samples_scraped'), 3);
  assert.equal(await report('scrape_samples_post_metric_relabeling'), 2);
  assert.ok((await report('scrape_duration_seconds')) >= 0);
  assert.ok((await query('scrape_series_added{job="trainer"}')).length === 1);
  const metadata = (await (await fetch(`${server.url}/api/v1/metadata?metric=train_loss`)).json()) as { data: Record<string, Array<{ type: string }>> };
  assert.equal(metadata.data.train_loss?.[0]?.type, 'gauge', 'TYPE lines feed /api/v1/metadata');
  const first = requests.find((request) => request.url === '/metrics')!;
  assert.match(String(first.headers.accept), /^application\/openmetrics-text;version=1\.0\.0/);
  assert.equal(first.headers['x-prometheus-scrape-timeout-seconds'], '0.2');
});

test('basic auth, params and an OpenMetrics answer with _created', async () => {
  const rows = await waitFor('the secure job', async () => {
    const result = await query('secure_requests_total');
    return result.length === 1 ? result : undefined;
  });
  assert.equal(rows[0]!.value[1], '7');
  assert.equal((await query('secure_requests_created'))[0]?.value[1], '1700000000');
  assert.ok(requests.some((request) => request.url === '/secure?module=x'));
});

test('a series that disappears gets a staleness marker and leaves queries', async () => {
  await waitFor('rank 1 to be scraped', async () => ((await query('train_loss{rank="1",job="trainer"}')).length === 1 ? true : undefined));
  lines = lines.filter((line) => !line.includes('rank="1"'));
  await waitFor('rank 1 to go stale', async () => ((await query('train_loss{rank="1",job="trainer"}')).length === 0 ? true : undefined));
  assert.equal((await query('train_loss{rank="0",job="trainer"}')).length, 1);
  const range = await query('count_over_time(train_loss{rank="1",job="trainer"}[1m])');
  assert.equal(range.length, 1, 'its samples are still there, only stale now');
});

test('/api/v1/targets answers as Prometheus does; file_sd targets come and go with the file', async () => {
  const targets = await waitFor('the file target to be scraped', async () => {
    const response = (await (await fetch(`${server.url}/api/v1/targets`)).json()) as { status: string; data: { activeTargets: Array<Record<string, unknown>>; droppedTargets: unknown[] } };
    const files = response.data.activeTargets.find((entry) => entry.scrapePool === 'files');
    return files !== undefined && files.health === 'up' ? response : undefined;
  });
  assert.equal(targets.status, 'success');
  const trainer = targets.data.activeTargets.find((entry) => entry.scrapePool === 'trainer')!;
  assert.equal(trainer.scrapeUrl, `http://${targetAddress}/metrics`);
  assert.deepEqual(trainer.labels, { cluster: 'a', instance: targetAddress, job: 'trainer', region: 'eu-a' });
  assert.equal((trainer.discoveredLabels as Record<string, string>).__address__, targetAddress);
  assert.equal(trainer.scrapeInterval, '200ms');
  assert.equal(trainer.lastError, '');
  assert.ok(!Number.isNaN(Date.parse(trainer.lastScrape as string)));
  const files = targets.data.activeTargets.find((entry) => entry.scrapePool === 'files')!;
  assert.equal((files.labels as Record<string, string>).team, 'ml');
  assert.match((files.discoveredLabels as Record<string, string>).__meta_filepath!, /targets\.json$/);
  await waitFor('the file target to be queried', async () => ((await query('up{job="files"}')).length === 1 ? true : undefined));

  writeFileSync(join(sdDir, 'targets.json'), '[]');
  await waitFor('the file target to go', async () => ((await query('up{job="files"}')).length === 0 ? true : undefined));
  const after = (await (await fetch(`${server.url}/api/v1/targets?state=active&scrapePool=files`)).json()) as { data: { activeTargets: unknown[] } };
  assert.deepEqual(after.data.activeTargets, []);
});

test('a failing target is down with its error, and its series go stale', async () => {
  const failing = createServer((_request, response) => response.writeHead(500).end('boom'));
  await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(failing.address() as AddressInfo).port}`;
  writeFileSync(join(sdDir, 'failing.json'), JSON.stringify([{ targets: [address] }]));
  try {
    const entry = await waitFor('the failing target to be scraped', async () => {
      const response = (await (await fetch(`${server.url}/api/v1/targets?scrapePool=files`)).json()) as { data: { activeTargets: Array<Record<string, unknown>> } };
      const found = response.data.activeTargets.find((candidate) => (candidate.labels as Record<string, string>).instance === address);
      return found !== undefined && found.health === 'down' ? found : undefined;
    });
    assert.equal(entry.lastError, 'server returned HTTP status 500 Internal Server Error');
    assert.equal((await query(`up{instance="${address}"}`))[0]?.value[1], '0');
  } finally {
    failing.close();
  }
});
