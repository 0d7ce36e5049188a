// The same scrape_configs text, with tls_config, given to Debian's Prometheus 2.42 and to rankscope:
// both scrape one https target this test serves (certificates made by openssl, client certificate
// required), and must agree, job by job, on which targets are up and on the series scraped.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { startTestServer, type TestServer } from '../server/test-server.ts';
import { makeTestCa, OPENSSL_MISSING, type TestCa } from '../server/tls-fixtures.ts';
import { pollUntil } from '../support/peers.ts';
import { PROMETHEUS_MISSING, startPrometheus, type PrometheusPeer } from '../support/prometheus-peer.ts';

const skip = OPENSSL_MISSING ?? PROMETHEUS_MISSING;

let ca: TestCa;
let otherCa: TestCa;
let target: Server;
let server: TestServer | undefined;
let prometheus: PrometheusPeer | undefined;

/** [job, tls_config] over the same target: which of them can scrape it is what is compared. */
function jobs(paths: { ca: string; otherCa: string; cert: string; key: string }): Array<[string, string]> {
  const client = `cert_file: ${paths.cert}, key_file: ${paths.key}`;
  return [
    ['tls-verified', `{ ca_file: ${paths.ca}, ${client} }`],
    ['tls-server-name', `{ ca_file: ${paths.ca}, server_name: localhost, ${client} }`],
    ['tls-wrong-server-name', `{ ca_file: ${paths.ca}, server_name: metrics.example, ${client} }`],
    ['tls-unknown-ca', `{ ca_file: ${paths.otherCa}, ${client} }`],
    ['tls-insecure', `{ insecure_skip_verify: true, ${client} }`],
    ['tls-no-client-cert', `{ ca_file: ${paths.ca} }`],
  ];
}

before(async () => {
  if (skip !== false) return;
  ca = makeTestCa();
  otherCa = makeTestCa('another CA');
  const paths = { ca: ca.caFile, otherCa: otherCa.caFile, cert: join(ca.dir, 'client.crt'), key: join(ca.dir, 'client.key') };
  ca.issue({ certFile: join(ca.dir, 'server.crt'), keyFile: join(ca.dir, 'server.key'), commonName: 'target' });
  ca.issue({ certFile: paths.cert, keyFile: paths.key, commonName: 'scraper', client: true });
  target = createServer({ cert: readFileSync(join(ca.dir, 'server.crt')), key: readFileSync(join(ca.dir, 'server.key')), ca: ca.ca, requestCert: true, rejectUnauthorized: true }, (_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('# TYPE gpu_temp_celsius gauge\ngpu_temp_celsius{gpu="0"} 61\ngpu_temp_celsius{gpu="1"} 58\n');
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const address = `127.0.0.1:${(target.address() as AddressInfo).port}`;
  const scrapeConfigs = `scrape_configs:\n${jobs(paths).map(([job, tls]) => `  - job_name: ${job}\n    scheme: https\n    scrape_interval: 1s\n    tls_config: ${tls}\n    static_configs: [{ targets: ['${address}'] }]`).join('\n')}\n`;
  server = await startTestServer(parseYaml(scrapeConfigs) as { scrape_configs: [] });
  prometheus = await startPrometheus(scrapeConfigs);
});

after(async () => {
  await prometheus?.stop();
  target?.close();
  await server?.dispose();
  ca?.dispose();
  otherCa?.dispose();
});

/** `up` per job, once every job has been scraped at least once; undefined before. */
async function upByJob(baseUrl: string): Promise<Record<string, string> | undefined> {
  const response = await fetch(`${baseUrl}/api/v1/query?query=up`);
  const body = (await response.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  const up = Object.fromEntries(body.data.result.map((sample) => [sample.metric.job!, sample.value[1]]));
  return Object.keys(up).length === 6 ? up : undefined;
}

test('Prometheus 2.42 and rankscope agree on which tls_config can scrape an https target', { timeout: 120_000, skip }, async () => {
  const theirs = await prometheus!.waitFor('Prometheus to scrape every job', () => upByJob(prometheus!.url));
  const ours = await pollUntil('rankscope to scrape every job', () => upByJob(server!.url), { timeoutMs: 60_000, intervalMs: 250 });
  assert.deepEqual(ours, theirs);
  assert.deepEqual(theirs, { 'tls-verified': '1', 'tls-server-name': '1', 'tls-wrong-server-name': '0', 'tls-unknown-ca': '0', 'tls-insecure': '1', 'tls-no-client-cert': '0' });
  // The scraped series, too.
  const series = async (baseUrl: string): Promise<string[]> => {
    const body = (await (await fetch(`${baseUrl}/api/v1/series?match[]=gpu_temp_celsius`)).json()) as { data: Array<Record<string, string>> };
    return body.data.map((labels) => JSON.stringify(Object.entries(labels).sort())).sort();
  };
  assert.deepEqual(await series(server!.url), await series(prometheus!.url));
  assert.equal((await series(prometheus!.url)).length, 6, 'two series from each of the three jobs that are up');
});
