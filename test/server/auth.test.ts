// Token authentication on a real server (127.0.0.1): credentials as Grafana, Promtail and logcli send
// them, read-only and read-write tokens, tenant narrowing by the basic auth user and X-Scope-OrgID,
// reloads of the tokens file made with `rankscope auth add-token`, the live tail, and the web UI in
// chromium with the browser's own basic auth.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { generateToken, hashToken } from '../../src/server/tokens-file.ts';
import { CHROMIUM_PATH, launchChromium } from '../web/chromium.ts';
import { buildWebUi, REPO_ROOT } from '../web/server-process.ts';
import { httpsRequest, makeTestCa, OPENSSL_MISSING } from './tls-fixtures.ts';
import { nowNs, pushJson, queryRangeUrl, startTestServer, waitFor, type TestServer } from './test-server.ts';

const token = {
  writerA: generateToken(),
  readerA: generateToken(),
  readerAB: generateToken(),
  writerAB: generateToken(),
  admin: generateToken(),
};

function tokensYaml(entries: Array<[string, string, string[], 'read' | 'read-write']>): string {
  const lines = ['tokens:'];
  for (const [name, secret, tenants, access] of entries) {
    lines.push(`  - name: ${name}`, `    sha256: ${hashToken(secret)}`, `    tenants: [${tenants.map((tenant) => JSON.stringify(tenant)).join(', ')}]`, `    access: ${access}`);
  }
  return `${lines.join('\n')}\n`;
}

const BASE_TOKENS: Array<[string, string, string[], 'read' | 'read-write']> = [
  ['writer-a', token.writerA, ['team-a'], 'read-write'],
  ['reader-a', token.readerA, ['team-a'], 'read'],
  ['reader-ab', token.readerAB, ['team-a', 'team-b'], 'read'],
  ['writer-ab', token.writerAB, ['team-a', 'team-b'], 'read-write'],
  ['admin', token.admin, ['*'], 'read-write'],
];

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const bearer = (secret: string) => `Bearer ${secret}`;

let dir: string;
let tokensFile: string;
let server: TestServer;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rankscope-auth-'));
  tokensFile = join(dir, 'tokens.yaml');
  writeFileSync(tokensFile, tokensYaml(BASE_TOKENS));
  server = await startTestServer({
    auth_enabled: true,
    auth: { tokens_file: tokensFile, reload_interval: '50ms' },
    query: { multi_tenant_queries_enabled: true },
  });
  const now = nowNs();
  for (const tenant of ['team-a', 'team-b']) {
    const response = await pushJson(server.url, [{ stream: { job: 'auth', owner: tenant }, values: [[String(now), `line of ${tenant}`]] }], {
      authorization: bearer(token.admin),
      'x-scope-orgid': tenant,
    });
    assert.equal(response.status, 204, await response.text());
  }
});

after(async () => {
  await server?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const pushBody = () => JSON.stringify({ streams: [{ stream: { job: 'auth-table' }, values: [[String(nowNs()), 'x']] }] });

describe('who may do what', () => {
  // [what, method, path, headers, status, message pattern]
  const cases: Array<[string, string, string, Record<string, string>, number, RegExp]> = [
    ['probe without a token', 'GET', '/ready', {}, 200, /ready/],
    ['metrics without a token', 'GET', '/metrics', {}, 200, /rankscope_build_info/],
    ['no credential', 'GET', '/loki/api/v1/labels', {}, 401, /authentication required: send HTTP basic auth/],
    ['a token not in the file', 'GET', '/loki/api/v1/labels', { authorization: bearer(generateToken()) }, 401, /invalid token/],
    ['a password that is not a token', 'GET', '/loki/api/v1/labels', { authorization: basic('team-a', 'hunter2') }, 401, /invalid token/],
    ['malformed basic auth', 'GET', '/loki/api/v1/labels', { authorization: 'Basic !!!' }, 401, /malformed basic auth/],
    ['an unknown scheme', 'GET', '/loki/api/v1/labels', { authorization: 'Digest abc' }, 401, /unsupported Authorization scheme "Digest"/],
    ['read as basic auth, user = tenant', 'GET', '/loki/api/v1/labels', { authorization: basic('team-a', token.readerA) }, 200, /"status":"success"/],
    ['read with a bearer token', 'GET', '/loki/api/v1/labels', { authorization: bearer(token.readerA) }, 200, /"status":"success"/],
    ['basic auth user outside the token', 'GET', '/loki/api/v1/labels', { authorization: basic('team-b', token.readerA) }, 401, /token "reader-a" is not valid for tenant 'team-b'/],
    ['X-Scope-OrgID outside the token', 'GET', '/loki/api/v1/labels', { authorization: bearer(token.readerA), 'x-scope-orgid': 'team-b' }, 403, /does not allow tenant 'team-b' \(X-Scope-OrgID\); it allows team-a/],
    ['X-Scope-OrgID wider than the basic auth user', 'GET', '/loki/api/v1/labels', { authorization: basic('team-a', token.readerAB), 'x-scope-orgid': 'team-a|team-b' }, 403, /does not allow tenant 'team-b'/],
    ['push with a read-only token', 'POST', '/loki/api/v1/push', { authorization: basic('team-a', token.readerA), 'content-type': 'application/json' }, 403, /token "reader-a" is read-only: POST \/loki\/api\/v1\/push needs a read-write token/],
    ['push with a read-write token', 'POST', '/loki/api/v1/push', { authorization: basic('team-a', token.writerA), 'content-type': 'application/json' }, 204, /^$/],
    ['push with a bearer token', 'POST', '/loki/api/v1/push', { authorization: bearer(token.writerA), 'content-type': 'application/json' }, 204, /^$/],
    ['legacy push path with a read-only token', 'POST', '/api/prom/push', { authorization: bearer(token.readerA), 'content-type': 'application/json' }, 403, /is read-only/],
    ['push with a token for several tenants, none named', 'POST', '/loki/api/v1/push', { authorization: bearer(token.writerAB), 'content-type': 'application/json' }, 400, /allows several tenants \(team-a, team-b\): name one/],
    ['push naming one of them', 'POST', '/loki/api/v1/push', { authorization: bearer(token.writerAB), 'x-scope-orgid': 'team-b', 'content-type': 'application/json' }, 204, /^$/],
    ['an every-tenant token without a tenant', 'POST', '/loki/api/v1/push', { authorization: bearer(token.admin), 'content-type': 'application/json' }, 401, /no org id: token "admin" is good for every tenant/],
    ['an every-tenant token, tenant as basic auth user', 'POST', '/loki/api/v1/push', { authorization: basic('team-z', token.admin), 'content-type': 'application/json' }, 204, /^$/],
    ['a POST form query is a read', 'POST', '/loki/api/v1/labels', { authorization: bearer(token.readerA), 'content-type': 'application/x-www-form-urlencoded' }, 200, /"status":"success"/],
    ['changing rules needs read-write', 'DELETE', '/loki/api/v1/rules/ns', { authorization: bearer(token.readerA) }, 403, /is read-only/],
    ['the UI needs a token', 'GET', '/', {}, 401, /authentication required/],
    // The router decodes %XX, so a check on the raw path would miss that these reach the API routes.
    ['a percent-encoded API path, X-Scope-OrgID outside', 'GET', '/%6Coki/api/v1/labels', { authorization: bearer(token.readerA), 'x-scope-orgid': 'team-b' }, 403, /does not allow tenant 'team-b'/],
    ['a percent-encoded tail path, orgId outside', 'GET', `/%6Coki/api/v1/tail?query=${encodeURIComponent('{job="auth"}')}&orgId=team-b`, { authorization: bearer(token.readerA) }, 403, /does not allow tenant 'team-b'/],
    ['a percent-encoded push path with a read-only token', 'POST', '/loki/api/v1/pu%73h', { authorization: bearer(token.readerA), 'content-type': 'application/json' }, 403, /is read-only/],
  ];
  for (const [what, method, path, headers, status, pattern] of cases) {
    test(`${what}: ${status}`, async () => {
      const response = await fetch(`${server.url}${path}`, { method, headers, ...(/(push|pu%73h)$/.test(path) ? { body: pushBody() } : {}) });
      const text = await response.text();
      assert.equal(response.status, status, text);
      assert.match(text, pattern);
      if (status === 401) assert.equal(response.headers.get('www-authenticate'), 'Basic realm="rankscope", charset="UTF-8"', 'a browser can prompt');
    });
  }
});

describe('tenant narrowing', () => {
  const owners = async (headers: Record<string, string>) => {
    const response = await fetch(queryRangeUrl(server.url, '{job="auth"}'), { headers });
    const body = (await response.json()) as { data: { result: Array<{ stream: Record<string, string> }> } };
    assert.equal(response.status, 200);
    return body.data.result.map((stream) => `${stream.stream.__tenant_id__ ?? ''}:${stream.stream.owner}`).sort();
  };

  test('a token for two tenants reads both, each stream tagged with its tenant', async () => {
    assert.deepEqual(await owners({ authorization: bearer(token.readerAB) }), ['team-a:team-a', 'team-b:team-b']);
  });

  test('X-Scope-OrgID or the basic auth user narrows it to one', async () => {
    assert.deepEqual(await owners({ authorization: bearer(token.readerAB), 'x-scope-orgid': 'team-b' }), [':team-b']);
    assert.deepEqual(await owners({ authorization: basic('team-a', token.readerAB) }), [':team-a']);
  });

  test('a one-tenant token never sees another tenant', async () => {
    assert.deepEqual(await owners({ authorization: bearer(token.readerA) }), [':team-a']);
  });
});

describe('live tail', () => {
  const openTail = (headers: Record<string, string>, orgId?: string) =>
    new Promise<{ status: number; body: string; socket?: WebSocket; firstFrame?: Promise<string> }>((resolve, reject) => {
      const search = new URLSearchParams({ query: '{job="auth"}', ...(orgId !== undefined ? { orgId } : {}) });
      const socket = new WebSocket(`${server.url.replace(/^http/, 'ws')}/loki/api/v1/tail?${search}`, { headers });
      // Listening from the start: the first frame can arrive in the same read as the upgrade.
      const firstFrame = new Promise<string>((resolveFrame) => socket.once('message', (data) => resolveFrame(data.toString())));
      socket.once('open', () => resolve({ status: 101, body: '', socket, firstFrame }));
      socket.once('unexpected-response', (_request, response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        // The server must close a refused upgrade's connection itself, or a client could hold it (and shutdown) open.
        const closedByServer = new Promise<void>((resolveClose, rejectClose) => {
          const timer = setTimeout(() => rejectClose(new Error('the server left a refused upgrade open')), 5000);
          response.socket.once('close', () => {
            clearTimeout(timer);
            resolveClose();
          });
        });
        response.on('end', () => {
          closedByServer.then(() => resolve({ status: response.statusCode ?? 0, body }), (error: unknown) => {
            socket.terminate();
            reject(error as Error);
          });
        });
      });
      socket.once('error', reject);
    });

  test('a read token tails its tenant; a wrong token or tenant is refused before the upgrade', async () => {
    const opened = await openTail({ authorization: basic('team-a', token.readerA) });
    assert.equal(opened.status, 101);
    const frame = await opened.firstFrame!;
    assert.match(frame, /line of team-a/);
    assert.doesNotMatch(frame, /team-b/);
    opened.socket!.close();

    const wrong = await openTail({ authorization: bearer(generateToken()) });
    assert.equal(wrong.status, 401);
    assert.match(wrong.body, /invalid token/);
    const outside = await openTail({ authorization: bearer(token.readerA) }, 'team-b');
    assert.equal(outside.status, 403, 'the orgId parameter (the browser UI sends it) narrows like the header');
    const several = await openTail({ authorization: bearer(token.readerAB) });
    assert.equal(several.status, 400, 'a tail takes one tenant');
  });
});

describe('the tokens file', () => {
  test('a token added with `rankscope auth add-token` works without a restart; one removed stops working', async () => {
    const added = spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'rankscope.js'), 'auth', 'add-token', '--file', tokensFile, '--name', 'ci', '--tenant', 'team-a', '--read-only'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    assert.equal(added.status, 0, added.stderr);
    const newToken = added.stdout.trim();
    assert.match(newToken, /^rstk_[A-Za-z0-9_-]{43}$/);
    assert.doesNotMatch(readFileSync(tokensFile, 'utf8'), new RegExp(newToken), 'only the hash is stored');
    const status = async (secret: string) => (await fetch(`${server.url}/loki/api/v1/labels`, { headers: { authorization: bearer(secret) } })).status;
    await waitFor(async () => ((await status(newToken)) === 200 ? true : undefined), 5000, 'the added token to be accepted');
    assert.equal(await status(token.readerA), 200, 'the tokens already there still work');

    // A file that does not parse is not applied: every token keeps working as before.
    writeFileSync(tokensFile, 'tokens:\n  - name: [broken\n');
    const brokenAtMs = Date.now();
    // Nothing to poll for when nothing may change: give the 50 ms reload several turns.
    while (Date.now() - brokenAtMs < 400) {
      assert.equal(await status(newToken), 200, 'the last good tokens are kept');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    writeFileSync(tokensFile, tokensYaml(BASE_TOKENS));
    await waitFor(async () => ((await status(newToken)) === 401 ? true : undefined), 5000, 'the removed token to be refused');
    assert.equal(await status(token.readerA), 200);
  });

  test('a bad tokens file stops the start with the file and the entry named', async () => {
    const bad = join(dir, 'bad-tokens.yaml');
    writeFileSync(bad, 'tokens:\n  - name: x\n    sha256: abc\n    tenants: [a]\n    access: write\n');
    await assert.rejects(startTestServer({ auth_enabled: true, auth: { tokens_file: bad } }), (error: Error) => {
      assert.match(error.message, /bad-tokens\.yaml: tokens\[0\]\.sha256: expected the 64 hex digits/);
      assert.match(error.message, /tokens\[0\]\.access: /);
      return true;
    });
    await assert.rejects(startTestServer({ auth: { tokens_file: bad } }), /auth\.tokens_file: a tokens file binds tokens to tenants, so it needs auth_enabled: true/);
  });

  test('without a tokens file, auth_enabled keeps Loki\'s X-Scope-OrgID rule', async () => {
    const plain = await startTestServer({ auth_enabled: true });
    try {
      const response = await fetch(`${plain.url}/loki/api/v1/labels`);
      assert.equal(response.status, 401);
      assert.equal(await response.text(), 'no org id');
      assert.equal((await fetch(`${plain.url}/loki/api/v1/labels`, { headers: { 'x-scope-orgid': 'team-a' } })).status, 200);
    } finally {
      await plain.dispose();
    }
  });
});

describe('the web UI in chromium, with the browser\'s basic auth', { skip: existsSync(CHROMIUM_PATH) ? false : `chromium not found at ${CHROMIUM_PATH}` }, () => {
  for (const scheme of ['http', 'https'] as const) {
    test(`over ${scheme}: pages, queries and the live tail WebSocket all carry the credential`, { skip: scheme === 'https' && OPENSSL_MISSING !== undefined ? OPENSSL_MISSING : false }, async () => {
      buildWebUi();
      const ca = scheme === 'https' ? makeTestCa() : undefined;
      const tls = ca === undefined ? {} : { cert_file: join(ca.dir, 'ui.crt'), key_file: join(ca.dir, 'ui.key') };
      if (ca !== undefined) ca.issue({ certFile: tls.cert_file!, keyFile: tls.key_file!, commonName: 'rankscope-ui' });
      const ui = await startTestServer({ auth_enabled: true, auth: { tokens_file: tokensFile }, ui: { enabled: true }, server: { tls } });
      // The browser's trust store is not the test's to change; every other client in these tests checks the CA.
      const browser = await launchChromium({ httpCredentials: { username: 'team-a', password: token.writerA }, ignoreHTTPSErrors: scheme === 'https' });
      try {
        assert.ok(ui.url.startsWith(`${scheme}://`));
        const push = async (line: string) => {
          const body = JSON.stringify({ streams: [{ stream: { job: 'ui-auth' }, values: [[String(nowNs()), line]] }] });
          const headers = { authorization: bearer(token.writerA), 'content-type': 'application/json' };
          const status = ca === undefined ? (await fetch(`${ui.url}/loki/api/v1/push`, { method: 'POST', headers, body })).status : (await httpsRequest(`${ui.url}/loki/api/v1/push`, { method: 'POST', headers, body, ca: ca.ca })).status;
          assert.equal(status, 204);
        };
        await push(`first line behind auth over ${scheme}`);
        const page = await browser.context.newPage();
        const failed: string[] = [];
        page.on('response', (response) => {
          if (response.status() === 401 && !response.request().headers().authorization) return; // the challenge itself
          if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
        });
        await page.goto(`${ui.url}/?query=${encodeURIComponent('{job="ui-auth"}')}`);
        await page.getByTestId('log-row').getByText(`first line behind auth over ${scheme}`).waitFor({ timeout: 15_000 });

        await page.goto(`${ui.url}/?query=${encodeURIComponent('{job="ui-auth"}')}&live=1`);
        await page.getByTestId('live-status').getByText('Live', { exact: true }).waitFor({ timeout: 15_000 });
        const marker = `live-behind-auth-${scheme}-${Date.now()}`;
        await push(marker);
        await page.getByTestId('live-list').getByText(marker).waitFor({ timeout: 10_000 });
        assert.deepEqual(failed, [], 'no request failed');
      } finally {
        await browser.close();
        await ui.dispose();
        ca?.dispose();
      }
    });
  }
});
