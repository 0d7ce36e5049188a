// Scrapes of an https target this test serves with certificates made by openssl (a throwaway CA, a
// server certificate for 127.0.0.1/localhost, a client certificate): each tls_config case of
// Prometheus' (ca_file, inline ca, cert_file/key_file, server_name, insecure_skip_verify) through a
// real ScrapeLoop, and the authorization header.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { scrapeConfigSchema } from '../../src/scrape/config.ts';
import { ScrapeLoop } from '../../src/scrape/scrape-loop.ts';
import type { AppendSeries } from '../../src/tsdb/types.ts';
import { makeTestCa, OPENSSL_MISSING, type TestCa } from '../server/tls-fixtures.ts';

let ca: TestCa;
let otherCa: TestCa;
let server: Server;
let address: string;
const files: Record<string, string> = {};
/** What the target saw of the last scrape. */
let seen: { servername: string | false | null; clientCommonName: string | undefined; authorization: string | undefined } | undefined;

before(() => {
  if (OPENSSL_MISSING !== undefined) return;
  ca = makeTestCa();
  otherCa = makeTestCa('another CA');
  for (const name of ['server', 'client']) {
    files[`${name}Cert`] = join(ca.dir, `${name}.crt`);
    files[`${name}Key`] = join(ca.dir, `${name}.key`);
    ca.issue({ certFile: files[`${name}Cert`]!, keyFile: files[`${name}Key`]!, commonName: name === 'server' ? 'target' : 'scraper', client: name === 'client' });
  }
  server = createServer({ cert: readFileSync(files.serverCert!), key: readFileSync(files.serverKey!), ca: ca.ca, requestCert: true, rejectUnauthorized: true }, (request, response) => {
    const socket = request.socket as TLSSocket;
    seen = { servername: socket.servername, clientCommonName: socket.getPeerCertificate().subject?.CN as string | undefined, authorization: request.headers.authorization };
    response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('# TYPE gpu_temp_celsius gauge\ngpu_temp_celsius{gpu="0"} 61\n');
  });
  return new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => {
    address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    resolve();
  }));
});

after(() => {
  server?.close();
  ca?.dispose();
  otherCa?.dispose();
});

async function scrapeOnce(config: Record<string, unknown>): Promise<{ loop: ScrapeLoop; appended: AppendSeries[][] }> {
  const appended: AppendSeries[][] = [];
  const loop = new ScrapeLoop({
    target: { job: 'gpu', discoveredLabels: { __address__: address }, labels: { instance: address, job: 'gpu' }, url: `https://${address}/metrics`, key: address },
    config: scrapeConfigSchema.parse({ job_name: 'gpu', scheme: 'https', scrape_interval: '5s', ...config }),
    appender: { append: async (_tenant, series) => (appended.push(series), { accepted: series.length, rejected: [] }) },
    tenant: 't',
    offsetMs: 0,
  });
  seen = undefined;
  await loop.scrape();
  return { loop, appended };
}

const skip = OPENSSL_MISSING ?? false;

test('tls_config: the target is verified and shown a client certificate as configured', { skip }, async () => {
  const client = () => ({ cert_file: files.clientCert, key_file: files.clientKey });
  const cases: Array<[what: string, tls: Record<string, unknown>, expected: 'up' | RegExp, servername?: string]> = [
    ['ca_file and a client certificate', { ca_file: ca.caFile, ...client() }, 'up'],
    ['inline ca, cert and key', { ca: ca.ca.toString(), cert: readFileSync(files.clientCert!, 'utf8'), key: readFileSync(files.clientKey!, 'utf8') }, 'up'],
    ['the system CAs do not know the test CA', client(), /self-signed certificate in certificate chain/],
    ['a CA that did not sign the target', { ca_file: otherCa.caFile, ...client() }, /self-signed certificate in certificate chain/],
    ['insecure_skip_verify', { insecure_skip_verify: true, ...client() }, 'up'],
    ['no client certificate for a target that requires one', { ca_file: ca.caFile }, /Get "https:\/\/127\.0\.0\.1:\d+\/metrics": .*alert certificate required/],
    ['server_name is sent as SNI and checked', { ca_file: ca.caFile, server_name: 'localhost', ...client() }, 'up', 'localhost'],
    ['server_name the certificate does not name', { ca_file: ca.caFile, server_name: 'metrics.example', ...client() }, /Host: metrics\.example\. is not in the cert's altnames/],
    ['min_version TLS13', { ca_file: ca.caFile, min_version: 'TLS13', ...client() }, 'up'],
  ];
  for (const [what, tls, expected, servername] of cases) {
    const { loop, appended } = await scrapeOnce({ tls_config: tls });
    await loop.stop();
    const up = appended[0]!.find((series) => series.labels.__name__ === 'up')!.samples[0]!.value;
    if (expected === 'up') {
      assert.equal(loop.status.lastError, '', what);
      assert.equal(up, 1, what);
      assert.deepEqual(appended[0]!.find((series) => series.labels.__name__ === 'gpu_temp_celsius')?.samples.map((sample) => sample.value), [61], what);
      assert.equal(seen?.clientCommonName, 'scraper', `${what}: the target saw the client certificate`);
      if (servername !== undefined) assert.equal(seen?.servername, servername, `${what}: SNI`);
    } else {
      assert.equal(up, 0, what);
      assert.match(loop.status.lastError, expected, what);
    }
  }
});

test('tls_config files are read at each scrape: a fixed ca_file takes effect at the next one', { skip }, async () => {
  const caFile = join(ca.dir, 'rotating-ca.crt');
  writeFileSync(caFile, readFileSync(otherCa.caFile));
  const config = { tls_config: { ca_file: caFile, cert_file: files.clientCert, key_file: files.clientKey } };
  const appended: AppendSeries[][] = [];
  const loop = new ScrapeLoop({
    target: { job: 'gpu', discoveredLabels: { __address__: address }, labels: { instance: address, job: 'gpu' }, url: `https://${address}/metrics`, key: address },
    config: scrapeConfigSchema.parse({ job_name: 'gpu', scheme: 'https', ...config }),
    appender: { append: async (_tenant, series) => (appended.push(series), { accepted: series.length, rejected: [] }) },
    tenant: 't',
    offsetMs: 0,
  });
  await loop.scrape();
  assert.equal(loop.status.health, 'down');
  writeFileSync(caFile, ca.ca);
  await loop.scrape();
  assert.equal(loop.status.health, 'up', loop.status.lastError);
  writeFileSync(caFile, 'not a certificate');
  await loop.scrape();
  assert.equal(loop.status.health, 'down');
  await loop.stop();
});

test('authorization: type and credentials (inline or from a file) go in the Authorization header', { skip }, async () => {
  const tls = { ca_file: ca.caFile, cert_file: files.clientCert, key_file: files.clientKey };
  const tokenFile = join(ca.dir, 'token');
  writeFileSync(tokenFile, 'from-file\n');
  const cases: Array<[Record<string, unknown>, string | undefined]> = [
    [{ authorization: { credentials: 's3cret' } }, 'Bearer s3cret'],
    [{ authorization: { type: 'Token', credentials_file: tokenFile } }, 'Token from-file'],
    [{ bearer_token: 'b' }, 'Bearer b'],
    [{ basic_auth: { username: 'u', password: 'p' } }, `Basic ${Buffer.from('u:p').toString('base64')}`],
    [{}, undefined],
  ];
  for (const [auth, expected] of cases) {
    const { loop } = await scrapeOnce({ tls_config: tls, ...auth });
    await loop.stop();
    assert.equal(loop.status.health, 'up', loop.status.lastError);
    assert.equal(seen?.authorization, expected, JSON.stringify(auth));
  }
});
