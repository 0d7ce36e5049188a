import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { describeIssues, parseYamlConfig } from '../../src/config/yaml-config.ts';

const schema = z.strictObject({
  server: z.strictObject({ listen: z.string(), workers: z.number().int().positive().optional() }),
  sources: z.array(z.strictObject({ name: z.string(), paths: z.array(z.string()) })).default([]),
});

test('each zod issue is named by file:line:col of its YAML node and its key path', () => {
  const cases: Array<[string, string[]]> = [
    ['server:\n  listen: ":3100"\n  bogus: 1\n', ['c.yaml:3:3: server.bogus: Unrecognized key: "bogus"']],
    ['server:\n  listen: ":3100"\n  workers: -2\n', ['c.yaml:3:12: server.workers: Too small: expected number to be >0']],
    ['server:\n  listen: 3100\nsources:\n  - name: a\n    paths: "/x"\n', ['c.yaml:2:11: server.listen: Invalid input: expected string, received number', 'c.yaml:5:12: sources[0].paths: Invalid input: expected array, received string']],
    // A missing key points at its parent, the deepest node that exists.
    ['server: {}\n', ['c.yaml:1:9: server.listen: Invalid input: expected string, received undefined']],
  ];
  for (const [text, expected] of cases) {
    const file = parseYamlConfig(text, 'c.yaml');
    const result = schema.safeParse(file.value);
    assert.equal(result.success, false, text);
    assert.deepEqual(describeIssues(result.error!.issues, file), expected, text);
  }
});

test('YAML syntax errors and duplicate keys name their position', () => {
  assert.throws(() => parseYamlConfig('server: [1\n', 'c.yaml'), /^ConfigFileError: c\.yaml:\d+:\d+: invalid YAML: /);
  assert.throws(() => parseYamlConfig('a: 1\na: 2\n', 'c.yaml'), /c\.yaml:2:1: invalid YAML: Map keys must be unique/);
  assert.deepEqual(parseYamlConfig('', 'c.yaml').value, {});
});
