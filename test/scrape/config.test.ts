// scrape_configs: Prometheus' key names and defaults, documented key by key in docs/config.md, and
// config errors that name the job's place in the file.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RELABEL_ACTIONS, relabelConfigSchema, scrapeConfigSchema } from '../../src/scrape/config.ts';
import { ConfigError, loadServerConfig } from '../../src/server/config.ts';

const docs = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');

test('Prometheus defaults: 15s interval, 10s timeout capped by the interval, /metrics over http', () => {
  const config = scrapeConfigSchema.parse({ job_name: 'j' });
  assert.equal(config.scrape_interval, 15_000);
  assert.equal(config.scrape_timeout, 10_000);
  assert.equal(config.metrics_path, '/metrics');
  assert.equal(config.scheme, 'http');
  assert.equal(config.honor_labels, false);
  assert.equal(config.honor_timestamps, true);
  assert.equal(scrapeConfigSchema.parse({ job_name: 'j', scrape_interval: '5s' }).scrape_timeout, 5000);
});

test('every scrape_configs key is documented, and every documented one exists', () => {
  // Optional keys show up only when set; basic_auth and authorization exclude each other.
  const keys = [...new Set([...Object.keys(scrapeConfigSchema.parse({ job_name: 'j', basic_auth: { username: 'u' } })), ...Object.keys(scrapeConfigSchema.parse({ job_name: 'j', authorization: {} })), ...Object.keys(scrapeConfigSchema.parse({ job_name: 'j', oauth2: { client_id: 'c', token_url: 'http://127.0.0.1/token' } }))])];
  for (const key of keys) assert.ok(docs.includes(`\`scrape_configs[].${key}\``), `docs/config.md does not document scrape_configs[].${key}`);
  for (const [, documented] of docs.matchAll(/`scrape_configs\[\]\.([a-z_]+)`/g)) assert.ok(keys.includes(documented!), `docs/config.md documents scrape_configs[].${documented}, which the schema does not have`);
  for (const key of Object.keys(relabelConfigSchema.parse({ target_label: 'x' }))) assert.ok(docs.includes(`\`${key}\``), `docs/config.md does not mention the relabel key ${key}`);
  for (const action of RELABEL_ACTIONS) assert.ok(docs.includes(`\`${action}\``), `docs/config.md does not mention the relabel action ${action}`);
});

test('a bad scrape config names the file, the line and the job', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-scrape-config-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, ['scrape_configs:', '  - job_name: a', '    scrape_interval: 5s', '    scrape_timeout: 10s', '  - job_name: b', '    static_configs:', '      - targets: [x:1]', '        bogus: 1', '  - job_name: b', ''].join('\n'));
    assert.throws(
      () => loadServerConfig(file),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /bad\.yaml:4:21: scrape_configs\[0\]\.scrape_timeout: scrape_timeout \(10000 ms\) is greater than scrape_interval \(5000 ms\)/);
        assert.match(error.message, new RegExp(`${file}:8:9: scrape_configs\\[1\\]\\.static_configs\\[0\\]\\.bogus: Unrecognized key`));
        return true;
      },
    );
    writeFileSync(file, ['scrape_configs:', '  - job_name: b', '  - job_name: b', ''].join('\n'));
    assert.throws(() => loadServerConfig(file), /scrape_configs\[1\]\.job_name: found multiple scrape configs with job name "b"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('tls_config and authorization: the combinations Prometheus refuses, with its wording and the key', () => {
  const cases: Array<[config: Record<string, unknown>, error: RegExp]> = [
    [{ tls_config: { cert_file: 'c.crt' } }, /tls_config\.key_file: exactly one of key or key_file must be configured when a client certificate is configured/],
    [{ tls_config: { key_file: 'c.key' } }, /tls_config\.cert_file: exactly one of cert or cert_file must be configured when a client key is configured/],
    [{ tls_config: { ca: 'PEM', ca_file: 'ca.crt' } }, /tls_config\.ca_file: at most one of ca and ca_file must be configured/],
    [{ tls_config: { min_version: 'TLS14' } }, /tls_config\.min_version/],
    [{ tls_config: { bogus: true } }, /tls_config: Unrecognized key/],
    [{ authorization: { type: 'Basic', credentials: 'x' } }, /authorization\.type: authorization type cannot be set to "basic", use "basic_auth" instead/],
    [{ authorization: { credentials: 'x', credentials_file: 'f' } }, /authorization\.credentials_file: at most one of authorization credentials & credentials_file must be configured/],
    [{ authorization: { credentials: 'x' }, bearer_token: 'y' }, /authorization: at most one of basic_auth, authorization, oauth2 and bearer_token & bearer_token_file must be configured/],
    [{ oauth2: { client_id: 'c', token_url: 'http://127.0.0.1/token' }, basic_auth: { username: 'u' } }, /oauth2: at most one of basic_auth, authorization, oauth2 and bearer_token/],
    [{ oauth2: { client_id: 'c', client_secret: 's', client_secret_file: 'f', token_url: 'http://127.0.0.1/token' } }, /oauth2\.client_secret_file: at most one of oauth2 client_secret & client_secret_file must be configured/],
    [{ oauth2: { client_id: 'c', token_url: 'not a url' } }, /oauth2\.token_url/],
  ];
  for (const [config, error] of cases) {
    const result = scrapeConfigSchema.safeParse({ job_name: 'j', ...config });
    assert.equal(result.success, false, JSON.stringify(config));
    const messages = result.error!.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('\n');
    assert.match(messages, error, JSON.stringify(config));
  }
  const valid = scrapeConfigSchema.parse({ job_name: 'j', scheme: 'https', tls_config: { ca_file: 'ca.crt', cert_file: 'c.crt', key_file: 'c.key', server_name: 'gpu-node', insecure_skip_verify: true }, authorization: { credentials_file: 't' } });
  assert.deepEqual(valid.tls_config, { ca: '', ca_file: 'ca.crt', cert: '', cert_file: 'c.crt', key: '', key_file: 'c.key', server_name: 'gpu-node', insecure_skip_verify: true, min_version: '', max_version: '' });
  assert.deepEqual(valid.authorization, { type: 'Bearer', credentials: '', credentials_file: 't' });
});
