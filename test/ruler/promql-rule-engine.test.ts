// PromQL rules inside the ruler: the PromQL engine's answers become rule samples (range vectors and
// strings are refused with a reason), the PromQL directory is checked with the PromQL parser, hot
// reloads, and may not reuse a LogQL namespace name; without the TSDB its rules fail with the reason.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { QueryParams, QueryResult } from '../../src/logql/api.ts';
import type { QueryValue } from '../../src/promql/engine/engine.ts';
import { defaultRulerConfig, promqlRuleEngine, startRuler, type Ruler } from '../../src/ruler/index.ts';

const root = mkdtempSync(join(tmpdir(), 'rankscope-promql-ruler-'));
after(() => rmSync(root, { recursive: true, force: true }));
const stats = { bytesProcessed: 0, linesProcessed: 0, blocksRead: 0, blocksSkipped: 0, execTimeSeconds: 0 };
const quiet = { info() {}, warn() {}, error() {} };

const params = (query: string): QueryParams => ({
  tenant: 't1',
  query,
  startNs: 1_700_000_000_000n * 1_000_000n,
  endNs: 1_700_000_000_000n * 1_000_000n,
  stepMs: 0,
  intervalMs: 0,
  limit: 0,
  direction: 'backward',
  instant: true,
});

test('the PromQL engine answer becomes rule samples; range vectors and strings are refused', async () => {
  const seen: Array<[string, string, number]> = [];
  const answers: Record<string, QueryValue> = {
    v: {
      resultType: 'vector',
      result: [
        { labels: { rank: '1' }, timestampMs: 1, value: 3 },
        { labels: { rank: '2' }, timestampMs: 1, value: 0, histogram: { schema: 0, zeroThreshold: 0, zeroCount: 0, count: 1, sum: 1, positiveSpans: [], positiveBuckets: [], negativeSpans: [], negativeBuckets: [] } },
      ],
    },
    s: { resultType: 'scalar', result: { timestampMs: 1, value: 7 } },
    m: { resultType: 'matrix', result: [] },
    str: { resultType: 'string', result: { timestampMs: 1, value: 'x' } },
  };
  const engine = promqlRuleEngine({
    instantQuery: async (tenant, query, timeMs) => {
      seen.push([tenant, query, timeMs]);
      return { value: answers[query]!, warnings: [], infos: [] };
    },
  });
  const vector = (await engine.query(params('v'))) as Extract<QueryResult, { resultType: 'vector' }>;
  assert.deepEqual(vector.samples, [{ labels: { rank: '1' }, timestampMs: 1, value: 3 }], 'native histogram samples have no value a rule can use');
  assert.deepEqual(seen[0], ['t1', 'v', 1_700_000_000_000]);
  const scalar = (await engine.query(params('s'))) as Extract<QueryResult, { resultType: 'scalar' }>;
  assert.equal(scalar.value, 7);
  await assert.rejects(engine.query(params('m')), /range vector/);
  await assert.rejects(engine.query(params('str')), /string/);
});

test('the PromQL rule directory: PromQL parser, hot reload, shared namespace names, no TSDB', async () => {
  const logqlDir = join(root, 'rules');
  const promqlDir = join(root, 'prometheus-rules');
  mkdirSync(logqlDir, { recursive: true });
  mkdirSync(promqlDir, { recursive: true });
  writeFileSync(join(logqlDir, 'ops.yaml'), 'groups:\n  - name: logs\n    rules:\n      - record: a:b\n        expr: sum(count_over_time({job="x"}[1m]))\n');
  writeFileSync(join(promqlDir, 'ops.yaml'), 'groups:\n  - name: clash\n    rules:\n      - record: c:d\n        expr: sum(up)\n');
  writeFileSync(join(promqlDir, 'gpu.yaml'), 'groups:\n  - name: gpu\n    interval: 100ms\n    rules:\n      - alert: Idle\n        expr: avg(DCGM_FI_DEV_GPU_UTIL) < 5\n');
  writeFileSync(join(promqlDir, 'bad.yaml'), 'groups:\n  - name: bad\n    rules:\n      - record: e:f\n        expr: sum(rate(x[5m])\n');
  const logqlEngine = { query: async (): Promise<QueryResult> => ({ resultType: 'vector', samples: [], stats }) };
  let ruler: Ruler | undefined;
  try {
    ruler = startRuler({ engine: logqlEngine, config: defaultRulerConfig({ rules_dir: logqlDir, prometheus_rules_dir: promqlDir, poll_interval: '100ms' }), dataDir: join(root, 'data'), logger: quiet });
    const problems = ruler.problems().map((problem) => `${problem.path.slice(root.length)}:${problem.line}: ${problem.message}`);
    assert.ok(problems.some((p) => p.startsWith('/prometheus-rules/bad.yaml:5: could not parse expression') && /unclosed left parenthesis/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => p.startsWith('/prometheus-rules/ops.yaml:0:') && /already defined by a LogQL rule file/.test(p)), problems.join('\n'));
    assert.deepEqual(ruler.namespaces('fake').map((ns) => [ns.namespace, ns.language]), [['ops', 'logql'], ['gpu', 'promql']]);

    // No PromQL engine (the server runs without the TSDB): the rule says why it cannot run.
    const rule = await waitFor(() => {
      const group = (ruler!.prometheusRules('fake') as { groups: Array<{ file: string; rules: Array<{ health: string; lastError: string }> }> }).groups.find((g) => g.file === 'gpu');
      return group?.rules[0]?.health === 'err' ? group.rules[0] : undefined;
    });
    assert.match(rule.lastError, /tsdb\.enabled: true/);

    // Fixing the file is picked up without a restart.
    writeFileSync(join(promqlDir, 'bad.yaml'), 'groups:\n  - name: bad\n    rules:\n      - record: e:f\n        expr: sum(rate(x[5m]))\n');
    await waitFor(() => (ruler!.namespaces('fake').some((ns) => ns.namespace === 'bad' && ns.language === 'promql') ? true : undefined));
  } finally {
    await ruler?.stop();
  }
});

async function waitFor<T>(probe: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out after ${timeoutMs}ms`);
}
