// What a token check costs per request: `authorize` (hash the presented token, compare it in constant
// time with every entry, narrow the tenants) against a tokens file of N entries, next to the bare
// SHA-256 of the token measured in the same run as the reference.
//
//   node bench/auth-check.ts [--entries 100] [--iterations 200000]

import { hash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { authorize } from '../src/server/auth.ts';
import { generateToken, hashToken, parseTokensFile } from '../src/server/tokens-file.ts';

const { values } = parseArgs({ options: { entries: { type: 'string', default: '100' }, iterations: { type: 'string', default: '200000' } } });
const entryCount = Number(values.entries);
const iterations = Number(values.iterations);

const tokens = Array.from({ length: entryCount }, () => generateToken());
const entries = parseTokensFile(
  `tokens:\n${tokens.map((token, i) => `  - {name: t${i}, sha256: ${hashToken(token)}, tenants: [team-${i}], access: read-write}\n`).join('')}`,
  'bench.yaml',
);
const last = tokens[entryCount - 1]!;
const request = { method: 'POST', path: '/loki/api/v1/push', authorization: `Basic ${Buffer.from(`team-${entryCount - 1}:${last}`).toString('base64')}`, orgIdHeader: undefined, orgIdParam: undefined };
const policy = { openPaths: new Set(['/ready', '/metrics']), multiTenantQueries: false };

function nsPerCall(run: () => unknown): number {
  for (let i = 0; i < 10_000; i++) run(); // warm up
  const started = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) run();
  return Number(process.hrtime.bigint() - started) / iterations;
}

const decision = authorize(entries, request, policy);
if (!decision.ok || decision.tenant !== `team-${entryCount - 1}`) throw new Error(`unexpected decision ${JSON.stringify(decision)}`);
const referenceNs = nsPerCall(() => hash('sha256', last, 'buffer'));
const authorizeNs = nsPerCall(() => authorize(entries, request, policy));
console.log(`tokens file of ${entryCount} entries, ${iterations} calls each`);
console.log(`sha256 of the token (reference): ${(referenceNs / 1000).toFixed(2)} µs`);
console.log(`authorize (basic auth push):     ${(authorizeNs / 1000).toFixed(2)} µs  (${(authorizeNs / referenceNs).toFixed(1)}× the reference)`);
