// One target's scrape against a target served here, into an in-memory appender: label merging
// (honor_labels or exported_), honor_timestamps, sample_limit, timeouts, and staleness markers.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { scrapeConfigSchema } from '../../src/scrape/config.ts';
import { ScrapeLoop, sampleLabels } from '../../src/scrape/scrape-loop.ts';
import { offsetOf } from '../../src/scrape/scrape-manager.ts';
import type { AppendSeries } from '../../src/tsdb/types.ts';

let target: Server;
let address: string;
let body = '# TYPE m gauge\nm{job="theirs",a="1"} 1\nm{a="2"} 2 1700000000000\n';
let delayMs = 0;

before(async () => {
  target = createServer((_request, response) => {
    setTimeout(() => response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(body), delayMs);
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  address = `127.0.0.1:${(target.address() as AddressInfo).port}`;
});

after(() => target.close());

function loop(config: Record<string, unknown>, appended: AppendSeries[][], nowMs = 1_800_000_000_000) {
  const parsed = scrapeConfigSchema.parse({ job_name: 'job', scrape_interval: '1s', ...config });
  return new ScrapeLoop({
    target: { job: 'job', discoveredLabels: { __address__: address }, labels: { instance: address, job: 'job' }, url: `http://${address}/metrics`, key: address },
    config: parsed,
    appender: { append: async (_tenant, series) => (appended.push(series), { accepted: series.length, rejected: [] }) },
    tenant: 't',
    offsetMs: 0,
    now: () => nowMs,
  });
}

const byName = (series: AppendSeries[], name: string) => series.filter((entry) => entry.labels.__name__ === name);

test('label merging: the target wins (exported_) unless honor_labels; empty values are absent', () => {
  const cases: Array<[scraped: Record<string, string>, honor: boolean, expected: Record<string, string>]> = [
    [{ job: 'theirs', a: '1' }, false, { __name__: 'm', a: '1', exported_job: 'theirs', job: 'job', instance: 'i' }],
    [{ job: 'theirs', exported_job: 'x' }, false, { __name__: 'm', exported_job: 'x', exported_exported_job: 'theirs', job: 'job', instance: 'i' }],
    [{ job: 'theirs', a: '1' }, true, { __name__: 'm', a: '1', job: 'theirs', instance: 'i' }],
    [{ instance: '' }, true, { __name__: 'm', job: 'job' }],
    [{ a: '' }, false, { __name__: 'm', job: 'job', instance: 'i' }],
  ];
  for (const [scraped, honor, expected] of cases) assert.deepEqual(sampleLabels('m', scraped, { job: 'job', instance: 'i' }, honor), expected, JSON.stringify([scraped, honor]));
});

test('a scrape appends its samples and the report series; honor_timestamps decides the time', async () => {
  const appended: AppendSeries[][] = [];
  await loop({}, appended).scrape();
  const samples = byName(appended[0]!, 'm');
  assert.deepEqual(
    samples.map((entry) => [entry.labels.a, entry.samples[0]!.timestampMs]),
    [
      ['1', 1_800_000_000_000],
      ['2', 1_700_000_000_000],
    ],
  );
  assert.equal(byName(appended[0]!, 'up')[0]!.samples[0]!.value, 1);
  assert.equal(byName(appended[0]!, 'scrape_samples_scraped')[0]!.samples[0]!.value, 2);
  assert.equal(byName(appended[0]!, 'scrape_series_added')[0]!.samples[0]!.value, 2);
  const ignoring: AppendSeries[][] = [];
  await loop({ honor_timestamps: false }, ignoring).scrape();
  assert.ok(byName(ignoring[0]!, 'm').every((entry) => entry.samples[0]!.timestampMs === 1_800_000_000_000));
});

test('sample_limit fails the scrape and marks the previous series stale; a stopped loop marks everything', async () => {
  const appended: AppendSeries[][] = [];
  const scraper = loop({ sample_limit: 2 }, appended);
  body = '# TYPE m gauge\nm{a="1"} 1\nm{a="2"} 2\n';
  await scraper.scrape();
  assert.equal(scraper.status.health, 'up');
  body = '# TYPE m gauge\nm{a="1"} 1\nm{a="2"} 2\nm{a="3"} 3\n';
  await scraper.scrape();
  assert.equal(scraper.status.health, 'down');
  assert.match(scraper.status.lastError, /sample limit exceeded: 3 samples after metric_relabel_configs, sample_limit is 2/);
  const second = appended[1]!;
  assert.deepEqual(
    byName(second, 'm').map((entry) => [entry.labels.a, entry.samples[0]!.stale]),
    [
      ['1', true],
      ['2', true],
    ],
  );
  assert.equal(byName(second, 'up')[0]!.samples[0]!.value, 0);
  body = '# TYPE m gauge\nm{a="1"} 1\n';
  await scraper.scrape();
  await scraper.stop();
  const last = appended.at(-1)!;
  assert.ok(last.every((entry) => entry.samples[0]!.stale === true));
  assert.deepEqual(last.map((entry) => entry.labels.__name__).sort(), ['m', 'scrape_duration_seconds', 'scrape_samples_post_metric_relabeling', 'scrape_samples_scraped', 'scrape_series_added', 'up']);
});

test('a target slower than scrape_timeout is down with a deadline error', async () => {
  const appended: AppendSeries[][] = [];
  const scraper = loop({ scrape_interval: '1s', scrape_timeout: '100ms' }, appended);
  delayMs = 1000;
  try {
    await scraper.scrape();
  } finally {
    delayMs = 0;
  }
  assert.equal(scraper.status.health, 'down');
  assert.match(scraper.status.lastError, /context deadline exceeded \(scrape_timeout 0\.1s\)/);
});

test('targets spread over the interval by their hash', () => {
  const offsets = Array.from({ length: 200 }, (_, index) => offsetOf(`http://10.0.0.${index}:9100/metrics`, 15_000));
  assert.ok(offsets.every((offset) => offset >= 0 && offset < 15_000));
  const quarters = [0, 0, 0, 0];
  for (const offset of offsets) quarters[Math.floor(offset / 3750)]!++;
  assert.ok(quarters.every((count) => count > 25), `offsets spread evenly: ${quarters.join(', ')} per quarter`);
  assert.equal(offsetOf('same', 15_000), offsetOf('same', 15_000));
});
