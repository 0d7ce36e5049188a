import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseAgentConfig } from '../../src/agent/config.ts';

const BASE = `server:\n  url: http://127.0.0.1:3100\nsources:\n  - name: train\n    type: file\n    paths: ["/data/*.log"]\n`;

test('defaults fill a minimal config', () => {
  const config = parseAgentConfig(BASE, 'agent.yaml');
  assert.equal(config.batch.max_wait_ms, 1000);
  const source = config.sources[0]!;
  assert.equal(source.type, 'file');
  assert.equal(source.processing.multiline.python_traceback, true);
  assert.equal(source.processing.rank_prefix, 'strip');
});

test('bad keys name the file, line, key path and reason', () => {
  const cases: [string, RegExp][] = [
    [BASE.replace('  url:', '  bogus: 1\n  url:'), /agent\.yaml:2:3: server\.bogus: Unrecognized key: "bogus"/],
    [BASE.replace('paths: ["/data/*.log"]', 'paths: "/data/*.log"'), /agent\.yaml:6:\d+: sources\[0\]\.paths: .*expected array/],
    [BASE + '    processing:\n      timestamp:\n        timezone: Mars/Base\n', /agent\.yaml:9:\d+: sources\[0\]\.processing\.timestamp\.timezone: unknown IANA time zone/],
    [BASE + '    path_labels: "(unclosed"\n', /agent\.yaml:7:\d+: sources\[0\]\.path_labels: not a valid regular expression/],
    // Promtail reads RE2: lookahead is valid JavaScript but not RE2.
    [BASE + '    path_labels: "(?=x)"\n', /path_labels: not a valid regular expression \(RE2 syntax\): error parsing regexp: invalid or unsupported Perl syntax: `\(\?=`/],
    [BASE.replace('type: file', 'type: journald'), /agent\.yaml:5:\d+: sources\[0\]\.type: /],
    [BASE + 'labels:\n  bad-name: x\n', /agent\.yaml:\d+:\d+: labels\.bad-name: .*label names must match/],
    ['server: [1\n', /agent\.yaml:\d+:\d+: invalid YAML/],
  ];
  for (const [text, pattern] of cases) assert.throws(() => parseAgentConfig(text, 'agent.yaml'), pattern, text);
});

test('the CLI exits non-zero on a bad config and accepts the shipped example', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-config-'));
  try {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, BASE.replace('  url:', '  bogus: 1\n  url:'));
    const run = (file: string) =>
      spawnSync(process.execPath, ['bin/rankscope.js', 'agent', '--config', file, '--check'], { encoding: 'utf8', timeout: 30_000 });
    const rejected = run(bad);
    assert.equal(rejected.status, 2);
    assert.match(rejected.stderr, /bad\.yaml:2:3: server\.bogus: Unrecognized key: "bogus"/);
    const example = join(dir, 'example.yaml');
    writeFileSync(example, readFileSync('examples/agent.yaml', 'utf8'));
    const accepted = run(example);
    assert.equal(accepted.status, 0, accepted.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('start-up failures exit 1 with the reason, not a stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-config-'));
  try {
    const positions = join(dir, 'positions.json');
    writeFileSync(positions, '{not json');
    const config = join(dir, 'agent.yaml');
    writeFileSync(config, `${BASE}queue:\n  dir: ${join(dir, 'queue')}\npositions:\n  file: ${positions}\n`);
    const result = spawnSync(process.execPath, ['bin/rankscope.js', 'agent', '--config', config], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /cannot start: positions file .*positions\.json is not valid JSON/);
    assert.doesNotMatch(result.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the example config joins tracebacks but not untimestamped print() lines onto the line before', () => {
  const config = parseAgentConfig(readFileSync('examples/agent.yaml', 'utf8'), 'examples/agent.yaml');
  const multilines = config.sources.map((source) => source.processing.multiline).filter((multiline) => multiline !== undefined);
  assert.ok(multilines.length > 0, 'the example shows multiline settings');
  for (const multiline of multilines) {
    assert.equal(multiline.python_traceback, true);
    assert.equal(multiline.first_line, undefined);
  }
});

test('metrics: collection is off by default; interval is a duration; bad values name the key', () => {
  const defaults = parseAgentConfig(BASE, 'agent.yaml').metrics;
  assert.deepEqual({ ...defaults }, { enabled: false, interval: 15_000, gpu: 'auto', nvidia_smi_path: 'nvidia-smi', proc_root: '/proc', sys_root: '/sys', max_buffered_samples: 500_000 });
  assert.equal(parseAgentConfig(`${BASE}metrics:\n  enabled: true\n  interval: 500ms\n`, 'agent.yaml').metrics.interval, 500);
  assert.equal(parseAgentConfig(`${BASE}metrics:\n  interval: 2\n`, 'agent.yaml').metrics.interval, 2000);
  assert.throws(() => parseAgentConfig(`${BASE}metrics:\n  interval: 10ms\n`, 'agent.yaml'), /agent\.yaml:\d+:\d+: metrics\.interval: interval must be at least 100ms/);
  assert.throws(() => parseAgentConfig(`${BASE}metrics:\n  interval: soon\n`, 'agent.yaml'), /metrics\.interval: not a valid duration string/);
  assert.throws(() => parseAgentConfig(`${BASE}metrics:\n  gpu: maybe\n`, 'agent.yaml'), /metrics\.gpu: /);
  const example = parseAgentConfig(readFileSync('examples/agent.yaml', 'utf8'), 'examples/agent.yaml').metrics;
  assert.equal(example.enabled, true);
});

test('sources may be left out only by an agent that collects metrics', () => {
  const serverOnly = 'server:\n  url: http://127.0.0.1:3100\n';
  assert.throws(() => parseAgentConfig(serverOnly, 'agent.yaml'), /sources: expected at least one source \(or metrics\.enabled: true\)/);
  assert.deepEqual(parseAgentConfig(`${serverOnly}metrics:\n  enabled: true\n`, 'agent.yaml').sources, []);
});
