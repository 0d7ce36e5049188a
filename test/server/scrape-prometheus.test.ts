// The same scrape_configs text given to Debian's Prometheus 2.42 and to rankscope: one job per
// relabel action over the same static targets; /api/v1/targets must list the same active targets with
// the same labels, and drop the same ones.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { startTestServer, type TestServer } from './test-server.ts';
import { PROMETHEUS_MISSING, startPrometheus, type PrometheusPeer } from '../support/prometheus-peer.ts';

const WAIT_MS = 30_000;

// Unreachable on purpose (nothing listens there): only target labels are compared, not scrapes.
const STATIC = `
    static_configs:
      - targets: ['127.0.0.1:1', '127.0.0.2:9100']
        labels: { env: dev, meta_zone: z1, mixed: MiXeD, copy: '127.0.0.1:1' }
      - targets: ['127.0.0.3:9100']
        labels: { env: prod, meta_zone: z2, mixed: Other, copy: 'x' }`;

const JOBS: Array<[job: string, rules: string]> = [
  ['r-replace', "[{ source_labels: [__address__], regex: '([^:]+):(\\d+)', target_label: 'host_$2', replacement: '$1' }, { source_labels: [env, meta_zone], separator: '/', target_label: where }]"],
  ['r-keep', "[{ source_labels: [__address__], regex: '127\\.0\\.0\\.[12]:.*', action: keep }]"],
  ['r-drop', '[{ source_labels: [env], regex: dev, action: drop }]'],
  ['r-keepequal', '[{ source_labels: [__address__], target_label: copy, action: keepequal }]'],
  ['r-dropequal', '[{ source_labels: [__address__], target_label: copy, action: dropequal }]'],
  ['r-hashmod', '[{ source_labels: [__address__], modulus: 7, target_label: shard, action: hashmod }]'],
  ['r-labelmap', "[{ regex: 'meta_(.+)', action: labelmap }]"],
  ['r-labeldrop', "[{ regex: 'meta_.*|mixed', action: labeldrop }]"],
  ['r-labelkeep', "[{ regex: '__.*|job|env', action: labelkeep }]"],
  ['r-case', '[{ source_labels: [mixed], target_label: lower, action: lowercase }, { source_labels: [mixed], target_label: upper, action: uppercase }]'],
  ['r-instance', "[{ source_labels: [__address__], regex: '(.*):.*', target_label: instance }, { target_label: __metrics_path__, replacement: /probe }]"],
];

const SCRAPE_CONFIGS = `scrape_configs:\n${JOBS.map(([job, rules]) => `  - job_name: ${job}\n    scrape_interval: 1m\n    relabel_configs: ${rules}${STATIC}`).join('\n')}\n`;

let server: TestServer;
let prometheus: PrometheusPeer | undefined;


before(async () => {
  server = await startTestServer(parseYaml(SCRAPE_CONFIGS) as { scrape_configs: [] });
  if (PROMETHEUS_MISSING !== false) return;
  prometheus = await startPrometheus(SCRAPE_CONFIGS);
});

after(async () => {
  await prometheus?.stop();
  await server?.dispose();
});

interface TargetsAnswer {
  activeTargets: Array<{ scrapePool: string; labels: Record<string, string>; scrapeUrl: string }>;
  droppedTargets: Array<{ discoveredLabels: Record<string, string> }>;
}

async function targets(url: string): Promise<TargetsAnswer> {
  return ((await (await fetch(`${url}/api/v1/targets`)).json()) as { data: TargetsAnswer }).data;
}

/** Per job: the sorted active label sets with their URLs, and how many targets were dropped. */
function summary(answer: TargetsAnswer): Record<string, { active: string[]; dropped: number }> {
  const byJob: Record<string, { active: string[]; dropped: number }> = {};
  for (const [job] of JOBS) byJob[job] = { active: [], dropped: 0 };
  for (const target of answer.activeTargets) byJob[target.scrapePool]!.active.push(`${target.scrapeUrl} ${JSON.stringify(Object.entries(target.labels).sort())}`);
  for (const target of answer.droppedTargets) byJob[target.discoveredLabels.job!]!.dropped++;
  for (const entry of Object.values(byJob)) entry.active.sort();
  return byJob;
}

test('every relabel action gives the same targets and labels as Prometheus 2.42', { timeout: 60_000, skip: PROMETHEUS_MISSING }, async () => {
  const expectedTotal = JOBS.length * 3;
  // Prometheus lists its targets a moment after it starts.
  const theirs = await prometheus!.waitFor("Prometheus' targets", async () => {
    const answer = await targets(prometheus!.url);
    return answer.activeTargets.length + answer.droppedTargets.length === expectedTotal ? answer : undefined;
  }, WAIT_MS);
  const ours = await targets(server.url);
  assert.equal(ours.activeTargets.length + ours.droppedTargets.length, expectedTotal);
  const theirSummary = summary(theirs);
  assert.ok(theirSummary['r-drop']!.dropped === 2 && theirSummary['r-hashmod']!.active.length === 3, 'the table exercises drops and keeps');
  assert.deepEqual(summary(ours), theirSummary);
});
