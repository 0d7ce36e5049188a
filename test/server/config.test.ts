import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { ConfigError, loadServerConfig, parseListenAddress, parseServerConfig } from '../../src/server/config.ts';

const root = new URL('../../', import.meta.url);
const examplePath = new URL('examples/rankscope.yaml', root).pathname;
const docs = readFileSync(new URL('docs/config.md', root), 'utf8');
/** Sections this schema defines itself; store and ruler document their own keys' meaning. */
const OWN_SECTIONS = ['auth_enabled', 'auth', 'server', 'limits', 'query', 'ui'];

function leafPaths(value: unknown, prefix: string[] = []): string[] {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || (prefix.length > 0 && Object.keys(value).length === 0)) {
    return [prefix.join('.')];
  }
  // Records of free-form names (external_labels) are leaves too.
  return Object.entries(value).flatMap(([key, child]) => leafPaths(child, [...prefix, key]));
}

test('the example config lists the defaults and parses to exactly the default config', () => {
  assert.deepEqual(loadServerConfig(examplePath), parseServerConfig({}));
});

test('every key of the server sections is documented and in the example; no documented key is stale', () => {
  const defaults = parseServerConfig({});
  const example = parseYaml(readFileSync(examplePath, 'utf8')) as Record<string, unknown>;
  const exampleKeys = new Set(leafPaths(example));
  for (const path of leafPaths(defaults)) {
    if (!OWN_SECTIONS.includes(path.split('.')[0]!)) continue;
    assert.ok(docs.includes(`\`${path}\``), `docs/config.md does not document ${path}`);
    assert.ok(exampleKeys.has(path), `examples/rankscope.yaml does not list ${path}`);
  }
  const schemaKeys = new Set(leafPaths(defaults));
  for (const [, documented] of docs.matchAll(/^\| `([a-z_.0-9]+)` \|/gm)) {
    assert.ok(schemaKeys.has(documented!), `docs/config.md documents ${documented}, which the schema does not have`);
  }
});

test('a bad key or value names the file, the line and the reason', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-config-'));
  try {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'server:\n  listen: 127.0.0.1:3100\nlimits:\n  max_line_size: 12XB\n  bogus_key: 1\nstore:\n  retention_period: 7x\n');
    assert.throws(
      () => loadServerConfig(file),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, new RegExp(`^${file}:4:18: limits\\.max_line_size: invalid size "12XB"`, 'm'));
        assert.match(error.message, new RegExp(`^${file}:5:3: limits\\.bogus_key: Unrecognized key`, 'm'));
        assert.match(error.message, new RegExp(`^${file}:7:21: store\\.retention_period: not a valid duration string: "7x"`, 'm'));
        return true;
      },
    );
    writeFileSync(file, 'server:\n  listen: [unclosed\n');
    assert.throws(() => loadServerConfig(file), new RegExp(`${file}:\\d+:\\d+: invalid YAML`));
    assert.throws(() => loadServerConfig(join(dir, 'missing.yaml')), /missing\.yaml: cannot read config file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('flags override the file, and a bad flag value names the flag', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-config-'));
  try {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, 'server:\n  listen: 127.0.0.1:3100\nstore:\n  data_dir: /from/file\n');
    const config = loadServerConfig(file, [{ path: ['server', 'listen'], value: '127.0.0.1:0', source: '--listen' }]);
    assert.equal(config.server.listen, '127.0.0.1:0');
    assert.equal(config.store.data_dir, '/from/file');
    assert.throws(() => loadServerConfig(file, [{ path: ['store', 'retention_period'], value: 'soon', source: '--retention' }]), /: --retention "soon": not a valid duration string/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sizes and durations parse to bytes and milliseconds; listen addresses to host and port', () => {
  const config = parseServerConfig({ limits: { max_line_size: '1MiB', query_timeout: '1h30m', reject_old_samples_max_age: 60 } });
  assert.equal(config.limits.max_line_size, 1024 * 1024);
  assert.equal(config.limits.query_timeout, 5_400_000);
  assert.equal(config.limits.reject_old_samples_max_age, 60_000);
  assert.equal(parseServerConfig(config), config, 'a parsed config is not parsed twice');
  assert.deepEqual(parseListenAddress('0.0.0.0:3100'), { host: '0.0.0.0', port: 3100 });
  assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
  assert.equal(parseListenAddress('localhost'), undefined);
  assert.equal(parseListenAddress('h:70000'), undefined);
});
