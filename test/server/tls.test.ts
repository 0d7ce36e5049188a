// HTTPS on a real server (127.0.0.1) with a CA made by the test: the certificate is checked by every
// client, a renewed certificate is served without a restart, mutual TLS refuses clients without a
// certificate, and the clients we ship or support (the agent, `rankscope run`, `rankscope query`,
// winston-loki) push and read over TLS with a token.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import winston from 'winston';
import LokiTransport from 'winston-loki';
import { startAgent } from '../../src/agent/agent.ts';
import { parseAgentConfig } from '../../src/agent/config.ts';
import { generateToken, hashToken } from '../../src/server/tokens-file.ts';
import { REPO_ROOT } from '../web/server-process.ts';
import { makeTestCa, httpsRequest, OPENSSL_MISSING, type TestCa } from './tls-fixtures.ts';
import { PROMETHEUS_MISSING, startPrometheus } from '../support/prometheus-peer.ts';
import { nowNs, startTestServer, waitFor, type TestServer } from './test-server.ts';

const writer = generateToken();
const reader = generateToken();
const TENANT = 'train';

describe('HTTPS with tokens', { skip: OPENSSL_MISSING ?? false }, () => {
  let ca: TestCa;
  let dir: string;
  let certFile: string;
  let keyFile: string;
  let server: TestServer;

  const basicAuth = (secret: string) => `Basic ${Buffer.from(`${TENANT}:${secret}`).toString('base64')}`;
  /** Lines of `query` over HTTPS, read with the read-only token. */
  const queryLines = async (query: string): Promise<string[]> => {
    const search = new URLSearchParams({ query, start: String(nowNs() - 3_600_000_000_000n), end: String(nowNs() + 60_000_000_000n), limit: '1000' });
    const answer = await httpsRequest(`${server.url}/loki/api/v1/query_range?${search}`, { ca: ca.ca, headers: { authorization: basicAuth(reader) } });
    assert.equal(answer.status, 200, answer.text);
    const body = JSON.parse(answer.text) as { data: { result: Array<{ values: Array<[string, string]> }> } };
    return body.data.result.flatMap((stream) => stream.values.map(([, line]) => line));
  };
  const waitForLines = (query: string, count: number, what: string) =>
    waitFor(async () => {
      const lines = await queryLines(query);
      return lines.length >= count ? lines : undefined;
    }, 15_000, what);

  before(async () => {
    ca = makeTestCa();
    dir = mkdtempSync(join(tmpdir(), 'rankscope-tls-test-'));
    certFile = join(dir, 'server.crt');
    keyFile = join(dir, 'server.key');
    ca.issue({ certFile, keyFile, commonName: 'rankscope-first' });
    const tokensFile = join(dir, 'tokens.yaml');
    writeFileSync(
      tokensFile,
      `tokens:\n  - name: writer\n    sha256: ${hashToken(writer)}\n    tenants: [${TENANT}]\n    access: read-write\n` +
        `  - name: reader\n    sha256: ${hashToken(reader)}\n    tenants: [${TENANT}]\n    access: read\n`,
    );
    server = await startTestServer({
      auth_enabled: true,
      // /metrics behind a token too, so the Prometheus scrape below proves its basic_auth is used.
      auth: { tokens_file: tokensFile, open_paths: ['/ready'] },
      server: { tls: { cert_file: certFile, key_file: keyFile, reload_interval: '50ms' } },
    });
  });

  after(async () => {
    await server?.dispose();
    rmSync(dir, { recursive: true, force: true });
    ca?.dispose();
  });

  test('the server speaks HTTPS; a client that does not trust its CA is refused, not silently let through', async () => {
    assert.match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const ready = await httpsRequest(`${server.url}/ready`, { ca: ca.ca });
    assert.equal(ready.status, 200);
    assert.equal(ready.peerCertificate.subject.CN, 'rankscope-first');
    await assert.rejects(httpsRequest(`${server.url}/ready`), (error: NodeJS.ErrnoException) => {
      assert.match(error.code ?? '', /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY/);
      return true;
    });
    const unauthorized = await httpsRequest(`${server.url}/loki/api/v1/labels`, { ca: ca.ca });
    assert.equal(unauthorized.status, 401);
  });

  test('a renewed certificate is served to new connections without a restart', async () => {
    // Written the way a renewal writes them: the new pair replaces the old one in place.
    const staging = join(dir, 'staging');
    mkdirSync(staging, { recursive: true });
    ca.issue({ certFile: join(staging, 'server.crt'), keyFile: join(staging, 'server.key'), commonName: 'rankscope-renewed' });
    copyFileSync(join(staging, 'server.key'), keyFile);
    copyFileSync(join(staging, 'server.crt'), certFile);
    await waitFor(
      async () => ((await httpsRequest(`${server.url}/ready`, { ca: ca.ca })).peerCertificate.subject.CN === 'rankscope-renewed' ? true : undefined),
      5000,
      'the renewed certificate to be served',
    );
    const answer = await httpsRequest(`${server.url}/loki/api/v1/labels`, { ca: ca.ca, headers: { authorization: basicAuth(reader) } });
    assert.equal(answer.status, 200, 'the server kept serving through the swap');
  });

  test('the agent ships over TLS with basic auth from a password file, checking the CA', async () => {
    const logFile = join(dir, 'agent-train.log');
    const passwordFile = join(dir, 'agent-password');
    writeFileSync(passwordFile, `${writer}\n`);
    writeFileSync(logFile, Array.from({ length: 20 }, (_, i) => `step ${i} loss ${(1 / (i + 1)).toFixed(4)}`).join('\n') + '\n');
    const config = parseAgentConfig(
      [
        'server:',
        `  url: ${server.url}`,
        '  basic_auth:',
        `    username: ${TENANT}`,
        `    password_file: ${passwordFile}`,
        '  tls_config:',
        `    ca_file: ${ca.caFile}`,
        'batch:',
        '  max_wait_ms: 50',
        'queue:',
        `  dir: ${join(dir, 'agent-queue')}`,
        'positions:',
        `  file: ${join(dir, 'agent-positions.json')}`,
        'labels:',
        '  host: tls-test',
        'sources:',
        '  - name: train',
        '    type: file',
        `    paths: [${logFile}]`,
        '    labels:',
        '      job: agent-tls',
      ].join('\n'),
      'agent.yaml',
    );
    const messages: string[] = [];
    const agent = await startAgent(config, { log: (message) => messages.push(message) });
    try {
      await agent.pollNow();
      const lines = await waitForLines('{job="agent-tls"}', 20, 'the agent\'s 20 lines');
      assert.equal(lines.length, 20);
      assert.deepEqual(messages.filter((message) => /refused|failed|rejected/.test(message)), []);
    } finally {
      await agent.stop(2000);
    }
  });

  test('refused by the server, the agent keeps its batches and sends them once its token file is fixed; it does not trust an unknown CA', async () => {
    const logFile = join(dir, 'agent-refused.log');
    const tokenFile = join(dir, 'agent-token');
    writeFileSync(logFile, 'a line the server must not lose\n');
    writeFileSync(tokenFile, 'rstk_not-a-token\n');
    const config = (name: string, serverLines: string[]) =>
      parseAgentConfig(
        [
          'server:',
          `  url: ${server.url}`,
          `  tenant: ${TENANT}`,
          ...serverLines,
          'batch:',
          '  max_wait_ms: 50',
          'retry:',
          '  min_backoff_ms: 20',
          '  max_backoff_ms: 50',
          'queue:',
          `  dir: ${join(dir, `${name}-queue`)}`,
          'positions:',
          `  file: ${join(dir, `${name}-positions.json`)}`,
          'sources:',
          '  - name: train',
          '    type: file',
          `    paths: [${logFile}]`,
          '    labels:',
          `      job: ${name}`,
        ].join('\n'),
        'agent.yaml',
      );
    const messages: string[] = [];
    const log = (message: string) => messages.push(message);
    const untrusting = await startAgent(config('agent-no-ca', [`  bearer_token: ${writer}`]), { log });
    try {
      await untrusting.pollNow();
      await waitFor(async () => (messages.some((message) => /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/.test(message)) ? true : undefined), 10_000, `the certificate error in ${JSON.stringify(messages)}`);
    } finally {
      await untrusting.stop(0);
    }

    messages.length = 0;
    const agent = await startAgent(config('agent-refused', [`  bearer_token_file: ${tokenFile}`, '  tls_config:', `    ca_file: ${ca.caFile}`]), { log });
    try {
      await agent.pollNow();
      await waitFor(async () => (messages.some((message) => /push refused with HTTP 401: invalid token/.test(message)) ? true : undefined), 10_000, 'the 401 to be logged');
      writeFileSync(tokenFile, `${writer}\n`);
      assert.deepEqual(await waitForLines('{job="agent-refused"}', 1, 'the kept line'), ['a line the server must not lose']);
    } finally {
      await agent.stop(2000);
    }
    assert.equal(messages.filter((message) => /dropping/.test(message)).length, 0, 'nothing was dropped');
  });

  test('winston-loki with basicAuth pushes over HTTPS', async () => {
    const errors: unknown[] = [];
    const transport = new LokiTransport({
      host: server.url,
      basicAuth: `${TENANT}:${writer}`,
      httpsAgent: new HttpsAgent({ ca: ca.ca }),
      labels: { app: 'winston-tls' },
      batching: true,
      interval: 0.1,
      gracefulShutdown: false,
      onConnectionError: (error: unknown) => errors.push(error),
    });
    const logger = winston.createLogger({ transports: [transport] });
    for (let step = 0; step < 3; step++) logger.info(`winston step ${step}`);
    await transport.flush();
    const lines = await waitForLines('{app="winston-tls"}', 3, 'winston-loki lines');
    assert.equal(lines.length, 3);
    assert.deepEqual(errors, []);
    logger.close();
  });

  test('Prometheus scrapes /metrics over HTTPS with basic_auth and tls_config.ca_file', { skip: PROMETHEUS_MISSING }, async () => {
    const passwordFile = join(dir, 'prometheus-password');
    writeFileSync(passwordFile, reader);
    const target = new URL(server.url).host;
    const prometheus = await startPrometheus(
      [
        'global: { scrape_interval: 1s, scrape_timeout: 1s }',
        'scrape_configs:',
        '  - job_name: rankscope',
        '    scheme: https',
        `    basic_auth: { username: ${TENANT}, password_file: ${passwordFile} }`,
        `    tls_config: { ca_file: ${ca.caFile} }`,
        `    static_configs: [{ targets: ['${target}'] }]`,
        '  - job_name: rankscope-no-token',
        '    scheme: https',
        `    tls_config: { ca_file: ${ca.caFile} }`,
        `    static_configs: [{ targets: ['${target}'] }]`,
      ].join('\n'),
    );
    try {
      const up = async (job: string) => {
        const response = await fetch(`${prometheus.url}/api/v1/query?${new URLSearchParams({ query: `up{job="${job}"}` })}`);
        const body = (await response.json()) as { data: { result: Array<{ value: [number, string] }> } };
        return body.data.result[0]?.value[1];
      };
      await prometheus.waitFor('Prometheus to scrape rankscope with its token', async () => ((await up('rankscope')) === '1' ? true : undefined), 20_000);
      assert.equal(await prometheus.waitFor('the tokenless scrape', () => up('rankscope-no-token'), 20_000), '0', 'without a token the scrape fails');
    } finally {
      await prometheus.stop();
    }
  });

  const cli = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'rankscope.js'), ...args], {
        env: { PATH: process.env.PATH ?? '', HOME: dir, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });

  test('`rankscope run` ships over TLS with RANKSCOPE_URL, RANKSCOPE_TOKEN and RANKSCOPE_CA_FILE', async () => {
    const result = await cli(['run', '--job', 'run-tls', '--queue-dir', join(dir, 'run-queue'), '--', process.execPath, '-e', 'for (let i = 0; i < 3; i++) console.log(`run line ${i}`)'], {
      RANKSCOPE_URL: server.url,
      RANKSCOPE_TOKEN: writer,
      RANKSCOPE_TENANT: TENANT,
      RANKSCOPE_CA_FILE: ca.caFile,
    });
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual((await waitForLines('{job="run-tls"} |= "run line"', 3, 'the run lines')).sort(), ['run line 0', 'run line 1', 'run line 2']);
  });

  test('`rankscope query` reads with logcli\'s flags and environment, and names the missing CA', async () => {
    const withFlags = await cli(['query', '{job="run-tls"} |= "run line"', '--server', server.url, '--username', TENANT, '--password', reader, '--ca-cert', ca.caFile, '--output', 'raw']);
    assert.equal(withFlags.status, 0, withFlags.stderr);
    assert.deepEqual(withFlags.stdout.trim().split('\n'), ['run line 0', 'run line 1', 'run line 2']);

    const withEnv = await cli(['query', '{job="run-tls"} |= "run line"', '--output', 'raw'], { LOKI_ADDR: server.url, LOKI_BEARER_TOKEN: reader, LOKI_ORG_ID: TENANT, LOKI_CA_CERT_PATH: ca.caFile });
    assert.equal(withEnv.status, 0, withEnv.stderr);
    assert.equal(withEnv.stdout.trim().split('\n').length, 3);

    const noCa = await cli(['query', '{job="run-tls"} |= "run line"', '--server', server.url, '--bearer-token', reader]);
    assert.equal(noCa.status, 1);
    assert.match(noCa.stderr, /not signed by a trusted CA; pass the CA with --ca-cert FILE/);

    // --tail: the WebSocket carries the same credential and checks the same CA.
    const tail = spawn(process.execPath, [join(REPO_ROOT, 'bin', 'rankscope.js'), 'query', '{job="run-tls"} |= "run line"', '--tail', '--server', server.url, '--username', TENANT, '--password', reader, '--ca-cert', ca.caFile, '--output', 'raw'], {
      env: { PATH: process.env.PATH ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tailed = '';
    let tailErrors = '';
    tail.stdout.on('data', (chunk: Buffer) => (tailed += chunk.toString()));
    tail.stderr.on('data', (chunk: Buffer) => (tailErrors += chunk.toString()));
    const tailExit = new Promise<number | null>((resolve) => tail.once('close', resolve));
    try {
      await waitFor(async () => (tailed.split('\n').filter((line) => line.startsWith('run line')).length === 3 ? true : undefined), 15_000, `the tailed lines (stderr: ${tailErrors})`);
    } finally {
      tail.kill('SIGTERM');
    }
    assert.equal(await tailExit, 0, tailErrors);

    const wrongPassword = await cli(['query', '{job="run-tls"} |= "run line"', '--server', server.url, '--username', TENANT, '--password', 'wrong', '--ca-cert', ca.caFile]);
    assert.equal(wrongPassword.status, 1);
    assert.match(wrongPassword.stderr, /server answered 401: invalid token/);
  });
});

describe('mutual TLS', { skip: OPENSSL_MISSING ?? false }, () => {
  test('with client_ca_file, only clients with a certificate from that CA get through', async () => {
    const ca = makeTestCa();
    const clientCa = makeTestCa('rankscope client CA');
    const certFile = join(ca.dir, 'server.crt');
    const keyFile = join(ca.dir, 'server.key');
    ca.issue({ certFile, keyFile, commonName: 'rankscope-mtls' });
    const clientCert = join(clientCa.dir, 'client.crt');
    const clientKey = join(clientCa.dir, 'client.key');
    clientCa.issue({ certFile: clientCert, keyFile: clientKey, commonName: 'agent-1', client: true });
    const server = await startTestServer({ server: { tls: { cert_file: certFile, key_file: keyFile, client_ca_file: clientCa.caFile } } });
    try {
      await assert.rejects(httpsRequest(`${server.url}/ready`, { ca: ca.ca }), 'no client certificate');
      const answer = await httpsRequest(`${server.url}/ready`, { ca: ca.ca, cert: readFileSync(clientCert), key: readFileSync(clientKey) });
      assert.equal(answer.status, 200);
      await assert.rejects(
        startTestServer({ server: { tls: { cert_file: certFile, key_file: clientKey } } }),
        /server\.tls: cannot use cert_file .*server\.crt with key_file .*client\.key/,
        'a key that does not match stops the start',
      );
    } finally {
      await server.dispose();
      ca.dispose();
      clientCa.dispose();
    }
  });
});
