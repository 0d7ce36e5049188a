// Tenant ids and rule namespaces become directory and file names. These walk the names that once
// collided (tenant `A.yaml` stored its rules where tenant `A`'s are read back) and the ones Loki
// refuses, over a real server with auth on and the ruler writing to disk, before and after a restart.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { startServer, type RunningServer } from '../../src/server/server.ts';

const TENANTS = ['A', 'A.yaml', 'A.yml', 'a', '.A', '...', 'A.', "a'b", '(x)', '*', '!', '-', '_', 'fake', 'x-41', 'A%', 'b'.repeat(150)].filter(
  (tenant) => /^[a-zA-Z0-9!._*'()-]{1,150}$/.test(tenant),
);
const NAMESPACES = ['ns', 'ns.yaml', 'ns.yml', '.ns', 'ns~', 'a/b', '%41', 'A', '...', 'NS', 'ns ', 'ns.yaml.yaml', 'ü'];
const INVALID_TENANTS = ['.', '..', 'a/b', 'a b', 'A%2Eyaml', 'é', 'c'.repeat(151), 'a\\b', 'a~b', 'a:b'];

function groupYaml(name: string): string {
  return `name: ${JSON.stringify(name)}\ninterval: 1h\nrules:\n  - record: tenant:lines:rate1m\n    expr: sum(rate({job="x"}[1m]))\n`;
}

describe('tenant and namespace names map to distinct paths', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'rankscope-hostile-tenants-'));
  let server: RunningServer;
  const start = () =>
    startServer({ auth_enabled: true, server: { listen: '127.0.0.1:0', log_level: 'fatal' }, store: { data_dir: dataDir }, ui: { enabled: false }, ruler: { enabled: true, poll_interval: '1h' } });
  before(async () => {
    server = await start();
  });
  after(async () => {
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const rulesOf = async (tenant: string): Promise<Record<string, Array<{ name: string }>>> => {
    const response = await fetch(`${server.url}/loki/api/v1/rules`, { headers: { 'x-scope-orgid': tenant } });
    const text = await response.text();
    if (response.status === 404) return {};
    assert.equal(response.status, 200, text);
    return parse(text) as Record<string, Array<{ name: string }>>;
  };

  const expectEachSeesOnlyItsOwn = async () => {
    for (const tenant of TENANTS) {
      const rules = await rulesOf(tenant);
      const expected = Object.fromEntries((tenant === 'A' ? NAMESPACES : ['ns']).map((namespace) => [namespace, [`${tenant}/${namespace}`]]));
      const actual = Object.fromEntries(Object.entries(rules).map(([namespace, groups]) => [namespace, groups.map((group) => group.name)]));
      assert.deepEqual(actual, expected, `tenant ${JSON.stringify(tenant)}`);
    }
  };

  test('every tenant (and every namespace of tenant A) reads back exactly what it wrote, before and after a restart', async () => {
    for (const tenant of TENANTS) {
      for (const namespace of tenant === 'A' ? NAMESPACES : ['ns']) {
        const response = await fetch(`${server.url}/loki/api/v1/rules/${encodeURIComponent(namespace)}`, {
          method: 'POST',
          headers: { 'x-scope-orgid': tenant, 'content-type': 'application/yaml' },
          body: groupYaml(`${tenant}/${namespace}`),
        });
        assert.equal(response.status, 202, `tenant ${tenant} namespace ${namespace}: ${await response.text()}`);
      }
    }
    await expectEachSeesOnlyItsOwn();
    await server.close();
    server = await start();
    await expectEachSeesOnlyItsOwn();
  });

  test('tenant ids Loki refuses get a 4xx naming the rule, on push, query and the ruler', async () => {
    for (const tenant of INVALID_TENANTS) {
      const requests = [
        fetch(`${server.url}/loki/api/v1/push`, { method: 'POST', headers: { 'x-scope-orgid': tenant, 'content-type': 'application/json' }, body: '{"streams":[]}' }),
        fetch(`${server.url}/loki/api/v1/labels`, { headers: { 'x-scope-orgid': tenant } }),
        fetch(`${server.url}/loki/api/v1/rules`, { headers: { 'x-scope-orgid': tenant } }),
      ];
      for (const response of await Promise.all(requests)) {
        const text = await response.text();
        assert.ok(response.status >= 400 && response.status < 500, `tenant ${JSON.stringify(tenant)}: ${response.status} ${text}`);
        assert.match(text, /tenant ID .* is invalid|no org id/, `tenant ${JSON.stringify(tenant)}`);
      }
    }
  });
});
