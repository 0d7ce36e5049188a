// What the agent, `rankscope run` and `rankscope query` send: the Authorization header from each kind
// of credential (secret files re-read each time), and TLS options that never skip verification unless
// told to.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authorizationHeader, tlsConnectOptions } from '../../src/agent/client-credentials.ts';
import { clientAuthOf, parseAgentConfig } from '../../src/agent/config.ts';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

test('each credential becomes the header Loki clients send; files are read on every call', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-credentials-'));
  try {
    const file = join(dir, 'secret');
    writeFileSync(file, 'first-token\n');
    const cases: Array<[string, Parameters<typeof authorizationHeader>[0], string | undefined]> = [
      ['nothing', {}, undefined],
      ['basic auth', { basicAuth: { username: 'team-a', password: 'tok' } }, basic('team-a', 'tok')],
      ['basic auth, password file', { basicAuth: { username: 'team-a', passwordFile: file } }, basic('team-a', 'first-token')],
      ['bearer token', { bearerToken: 'tok' }, 'Bearer tok'],
      ['bearer token file', { bearerTokenFile: file }, 'Bearer first-token'],
    ];
    for (const [what, auth, header] of cases) assert.equal(authorizationHeader(auth), header, what);
    writeFileSync(file, 'rotated-token\n');
    assert.equal(authorizationHeader({ bearerTokenFile: file }), 'Bearer rotated-token', 'a rotated file is picked up');
    assert.throws(() => authorizationHeader({ bearerTokenFile: join(dir, 'missing') }), /cannot read bearer_token_file .*missing/);
    writeFileSync(file, '\n');
    assert.throws(() => authorizationHeader({ bearerTokenFile: file }), /bearer_token_file .* is empty/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('TLS options verify by default and skip only when asked', () => {
  assert.deepEqual(tlsConnectOptions({}), { rejectUnauthorized: true });
  assert.deepEqual(tlsConnectOptions({ insecureSkipVerify: true, serverName: 'rankscope.internal' }), { servername: 'rankscope.internal', rejectUnauthorized: false });
  assert.throws(() => tlsConnectOptions({ caFile: '/nonexistent/ca.crt' }), /cannot read ca_file \/nonexistent\/ca\.crt/);
  assert.throws(() => tlsConnectOptions({ certFile: '/x.crt' }), /needs both cert_file and key_file/);
});

test('the agent config takes Promtail\'s client keys and refuses two credentials at once', () => {
  const base = 'server:\n  url: https://127.0.0.1:3100\n{extra}sources:\n  - name: train\n    type: file\n    paths: ["/data/*.log"]\n';
  const config = parseAgentConfig(base.replace('{extra}', '  basic_auth:\n    username: team-a\n    password_file: /run/secret\n  tls_config:\n    ca_file: /etc/ca.crt\n'), 'agent.yaml');
  assert.deepEqual(clientAuthOf(config.server), { basicAuth: { username: 'team-a', passwordFile: '/run/secret' } });
  assert.equal(config.server.tls_config.insecure_skip_verify, false);
  const cases: Array<[string, RegExp]> = [
    ['  basic_auth:\n    username: a\n    password: b\n  bearer_token: c\n', /agent\.yaml:\d+:\d+: server: set at most one of basic_auth, bearer_token and bearer_token_file/],
    ['  basic_auth:\n    username: a\n', /server\.basic_auth: set one of password or password_file/],
    ['  tls_config:\n    cert_file: /c.crt\n', /server\.tls_config: a client certificate needs both cert_file and key_file/],
    ['  tls_config:\n    insecure: true\n', /server\.tls_config\.insecure: Unrecognized key: "insecure"/],
  ];
  for (const [extra, pattern] of cases) assert.throws(() => parseAgentConfig(base.replace('{extra}', extra), 'agent.yaml'), pattern, extra);
});
