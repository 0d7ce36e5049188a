// `rankscope rules check FILE…` runs as a real child process: valid files exit 0, a bad file exits 1
// naming path, line and reason, misuse exits 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const node = process.execPath;
const bin = join(import.meta.dirname, '..', '..', 'bin', 'rankscope.js');

function rankscope(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(node, [bin, ...args], { encoding: 'utf8', timeout: 30_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('rules check validates files without a server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rankscope-rules-check-'));
  try {
    const good = join(dir, 'good.yaml');
    writeFileSync(good, 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(rate({job="x"} |= "error" [5m])) > 1\n        for: 1m\n');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: sum(rate({job="x"}[5m]) > 1\n      - alert: B\n        expr: vector(1)\n        for: tomorrow\n');

    let result = rankscope('rules', 'check', good, join(import.meta.dirname, '..', '..', 'rules', 'training.yaml'));
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /good\.yaml: SUCCESS: 1 rules found in 1 groups/);
    assert.match(result.stdout, /training\.yaml: SUCCESS: 7 rules found in 2 groups/);

    result = rankscope('rules', 'check', good, bad);
    assert.equal(result.status, 1);
    assert.match(result.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:\\d+: could not parse expression: parse error`));
    assert.match(result.stderr, /bad\.yaml:8:14: for: not a valid duration string/);

    result = rankscope('rules', 'check', '--output', 'json', join(dir, 'missing.yaml'));
    assert.equal(result.status, 1);
    assert.match((JSON.parse(result.stdout) as Array<{ problems: Array<{ message: string }> }>)[0]!.problems[0]!.message, /cannot read file: ENOENT/);

    // A directory is checked like rules_dir: both files, the bad one failing.
    result = rankscope('rules', 'check', dir);
    assert.equal(result.status, 1);
    assert.match(result.stdout, /good\.yaml: SUCCESS/);
    assert.match(result.stderr, /bad\.yaml: FAILED/);

    assert.equal(rankscope('rules', 'check').status, 2);
    assert.equal(rankscope('rules', 'lint', good).status, 2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
