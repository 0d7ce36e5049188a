// The tokens file format, the constant-time lookup, and `rankscope auth hash-token`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { findToken, generateToken, hashToken, parseTokensFile } from '../../src/server/tokens-file.ts';
import { REPO_ROOT } from '../web/server-process.ts';

const HASH = hashToken('x'.repeat(32));

test('a valid file: tenants, "*" for every tenant, access; hashes in either case', () => {
  const entries = parseTokensFile(
    `tokens:\n  - {name: a, sha256: ${HASH.toUpperCase()}, tenants: [t1, t2, t1], access: read}\n  - {name: b, sha256: ${hashToken('y'.repeat(32))}, tenants: ["*"], access: read-write}\n`,
    'tokens.yaml',
  );
  assert.deepEqual(
    entries.map((entry) => [entry.name, entry.digest.toString('hex'), entry.tenants, entry.access]),
    [
      ['a', HASH, ['t1', 't2'], 'read'],
      ['b', hashToken('y'.repeat(32)), undefined, 'read-write'],
    ],
  );
  assert.deepEqual(parseTokensFile('', 'empty.yaml'), [], 'an empty file has no tokens: every request is refused');
});

test('a bad file names the entry, the field and what is expected', () => {
  const entry = (fields: string) => `tokens:\n  - {${fields}}\n`;
  const cases: Array<[string, RegExp]> = [
    [entry(`name: a, sha256: abc, tenants: [t], access: read`), /tokens\.yaml: tokens\[0\]\.sha256: expected the 64 hex digits/],
    [entry(`name: a, sha256: ${HASH}, tenants: [t], access: write`), /tokens\[0\]\.access: /],
    [entry(`name: a, sha256: ${HASH}, tenants: [], access: read`), /tokens\[0\]\.tenants: expected at least one tenant/],
    [entry(`name: a, sha256: ${HASH}, tenants: ["a/b"], access: read`), /tokens\[0\]\.tenants\[0\]: expected a tenant id/],
    [entry(`name: a, sha256: ${HASH}, tenants: [".."], access: read`), /tokens\[0\]\.tenants\[0\]: expected a tenant id/],
    [entry(`name: a, sha256: ${HASH}, tenants: [t], access: read, token: plain`), /tokens\[0\]\.token: Unrecognized key/],
    [entry(`sha256: ${HASH}, tenants: [t], access: read`), /tokens\[0\]\.name: /],
    [`${entry(`name: a, sha256: ${HASH}, tenants: [t], access: read`)}  - {name: b, sha256: ${HASH}, tenants: [t], access: read}\n`, /tokens\[1\]\.sha256: the same token hash is listed twice/],
    ['tokens: [unclosed\n', /tokens\.yaml:\d+: invalid YAML/],
  ];
  for (const [text, pattern] of cases) assert.throws(() => parseTokensFile(text, 'tokens.yaml'), pattern, text);
});

test('findToken finds the entry of the token and nothing for any other string', () => {
  const tokens = [generateToken(), generateToken(), generateToken()];
  const entries = parseTokensFile(`tokens:\n${tokens.map((token, i) => `  - {name: n${i}, sha256: ${hashToken(token)}, tenants: [t], access: read}\n`).join('')}`, 'tokens.yaml');
  tokens.forEach((token, i) => assert.equal(findToken(entries, token)?.name, `n${i}`));
  for (const other of ['', tokens[0]!.slice(0, -1), `${tokens[0]}x`, HASH, generateToken()]) assert.equal(findToken(entries, other), undefined, other);
});

test('`rankscope auth hash-token` prints an entry for the token on stdin, and refuses short tokens', () => {
  const token = generateToken();
  const run = (input: string, args: string[]) => spawnSync(process.execPath, [join(REPO_ROOT, 'bin', 'rankscope.js'), 'auth', 'hash-token', ...args], { input, encoding: 'utf8', timeout: 30_000 });
  const hashed = run(`${token}\n`, ['--name', 'ci', '--tenant', 'team-a', '--read-only']);
  assert.equal(hashed.status, 0, hashed.stderr);
  const entries = parseTokensFile(`tokens:\n${hashed.stdout.replace(/^/gm, '  ')}`, 'pasted.yaml');
  assert.equal(findToken(entries, token)?.name, 'ci');
  assert.deepEqual([entries[0]!.tenants, entries[0]!.access], [['team-a'], 'read']);
  const short = run('hunter2\n', []);
  assert.equal(short.status, 2);
  assert.match(short.stderr, /the token is 7 characters; use at least 20 random characters/);
});
