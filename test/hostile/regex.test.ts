// Hostile regexes in every position a client can put one, against a real server process on
// 127.0.0.1. Before the one RE2 implementation, `{filename=~"(?i)(.|.)*Z"}` on a 70-character
// path stopped the event loop for good, and the same matcher in a recording rule froze the
// server at every start. Here /ready is probed every 100 ms throughout and must answer each probe
// within 100 ms, every query must answer (200, or 400 with a message), and the server must
// restart with the rule in place and become ready.
//
// Each probe goes at the same moment to a control: a bare Node HTTP server in its own process. On a
// machine so loaded that the control itself is slow, a probe may take 100 ms plus twice the
// control's time (a server process starved of CPU slows more than a bare one: a full test run on
// the shared 2-core machine measured 240 ms against a 94 ms control). A frozen event loop (seconds,
// or never) fails either way; on a quiet machine the control answers in ~2 ms.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, test } from 'node:test';
import { startServerProcess, type ServerProcess } from '../cli/server-process.ts';

const root = mkdtempSync(join(tmpdir(), 'rankscope-hostile-regex-'));
const configPath = join(root, 'rankscope.yaml');
writeFileSync(configPath, 'query:\n  multi_tenant_queries_enabled: true\nruler:\n  poll_interval: 200ms\n');
const serverArgs = ['--data-dir', join(root, 'data'), '--config', configPath];
let server: ServerProcess | undefined;
let control: ChildProcess | undefined;

after(async () => {
  control?.kill('SIGKILL');
  if (server !== undefined) {
    server.kill('SIGKILL');
    await server.exited;
  }
  rmSync(root, { recursive: true, force: true });
});

/** The incident's path: 70 characters, no Z, so a backtracking engine tries every split. */
const FILENAME = '/var/log/pods/training-job-worker-3_default_abcdef/trainer/0.log.20240';
const HOSTILE = ['(?i)(.|.)*Z', '(a*)*b', '(a|a)*b', '(x+x+)+y', '(?i)((.+)+)+Z', '(?i)(\\w|\\W){1,1000}Z', '(?i)(.{1,20}){1,50}Z'];

const TENANT = 'team-a';
const MULTI_TENANT = `${TENANT}|team-b`;

/** Each /ready probe must answer within this (the issue's bound), past what the control took. */
const PROBE_BOUND_MS = 100;

/** A bare HTTP server in its own process: how fast this machine answers anything right now. */
async function startControl(): Promise<string> {
  control = spawn(process.execPath, ['-e', "require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log(this.address().port); })"], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<string>((resolve, reject) => {
    control!.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim()));
    control!.once('exit', (code) => reject(new Error(`control server exited with ${code}`)));
  });
  return `http://127.0.0.1:${port}`;
}

async function timedGet(url: string): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const response = await fetch(url, { signal: AbortSignal.timeout(30_000) });
  await response.text();
  return { status: response.status, ms: performance.now() - started };
}

interface Probe {
  serverMs: number;
  controlMs: number;
}

/** Probes /ready (and the control, at the same moment) every 100 ms until stopped. */
function probeReady(url: string, controlUrl: string): { count(): number; stop(): Promise<Probe[]> } {
  const probes: Probe[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const [ready, control] = await Promise.all([timedGet(`${url}/ready`), timedGet(controlUrl)]);
      assert.equal(ready.status, 200);
      probes.push({ serverMs: ready.ms, controlMs: control.ms });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })();
  return {
    count: () => probes.length,
    async stop() {
      running = false;
      await loop;
      return probes;
    },
  };
}

function assertResponsive(probes: Probe[], when: string): void {
  assert.ok(probes.length >= 5, `${when}: only ${probes.length} /ready probes ran`);
  const slow = probes.filter((probe) => probe.serverMs > PROBE_BOUND_MS + 2 * probe.controlMs);
  const worst = Math.max(...probes.map((probe) => probe.serverMs));
  assert.deepEqual(slow, [], `${when}: /ready probes over ${PROBE_BOUND_MS} ms (beyond the control's time), of ${probes.length}, max ${worst.toFixed(1)} ms`);
}

async function send(url: string, path: string, init: RequestInit = {}): Promise<{ status: number; text: string }> {
  const response = await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(20_000) });
  return { status: response.status, text: await response.text() };
}

function qs(params: Record<string, string>): string {
  return new URLSearchParams(params).toString();
}

function ruleGroup(name: string, selector: string): string {
  return `name: ${name}\ninterval: 1s\nrules:\n  - record: hostile:lines:count1m\n    expr: sum(count_over_time(${selector}[1m]))\n`;
}

test('hostile regexes in every position answer while /ready stays responsive, and the server restarts with them in a rule', async () => {
  server = await startServerProcess(serverArgs);
  const url = server.url;
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  for (const tenant of [TENANT, 'team-b']) {
    const push = await send(url, '/loki/api/v1/push', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-scope-orgid': tenant },
      body: JSON.stringify({
        streams: [0, 1, 2, 3].map((rank) => ({
          stream: { job: 'train', rank: String(rank), filename: FILENAME.replace('worker-3', `worker-${rank}`) },
          values: [[String(nowNs), `step 10 rank ${rank} loss 2.31 ${'a'.repeat(60)} /var/log/pods/xx`]],
        })),
      }),
    });
    assert.equal(push.status, 204, push.text);
  }

  const start = String(nowNs - 3_600_000_000_000n);
  const end = String(nowNs + 60_000_000_000n);
  const controlUrl = await startControl();
  const answers: string[] = [];
  /** Every position a regex can take, for one regex; each must answer 200 or 400. */
  const sendEverywhere = async (regex: string): Promise<void> => {
    const quoted = JSON.stringify(regex);
    const selector = `{filename=~${quoted}}`;
    const withJob = `{job="train", filename=~${quoted}}`;
    const requests: Array<[string, string, Record<string, string>]> = [
      ['query_range log', `/loki/api/v1/query_range?${qs({ query: selector, start, end, limit: '100' })}`, {}],
      ['query_range metric', `/loki/api/v1/query_range?${qs({ query: `sum(count_over_time(${withJob}[1m]))`, start, end, step: '60' })}`, {}],
      ['line filter', `/loki/api/v1/query_range?${qs({ query: `{job="train"} |~ ${quoted} != ${quoted}`, start, end })}`, {}],
      ['label filter', `/loki/api/v1/query_range?${qs({ query: `{job="train"} | filename=~${quoted}`, start, end })}`, {}],
      ['regexp parser', `/loki/api/v1/query_range?${qs({ query: `{job="train"} | regexp ${JSON.stringify(`(?P<x>${regex})`)}`, start, end })}`, {}],
      ['label_replace', `/loki/api/v1/query_range?${qs({ query: `label_replace(sum by (filename) (count_over_time({job="train"}[1m])), "d", "$1", "filename", ${quoted})`, start, end, step: '60' })}`, {}],
      ['line_format regexReplaceAll', `/loki/api/v1/query_range?${qs({ query: `{job="train"} | line_format ${JSON.stringify(`{{ regexReplaceAll ${JSON.stringify(regex)} .filename "x" }}`)}`, start, end })}`, {}],
      ['series', `/loki/api/v1/series?${qs({ 'match[]': selector, start, end })}`, {}],
      ['labels', `/loki/api/v1/labels?${qs({ query: selector, start, end })}`, {}],
      ['label values', `/loki/api/v1/label/rank/values?${qs({ query: selector, start, end })}`, {}],
      ['index/stats', `/loki/api/v1/index/stats?${qs({ query: selector, start, end })}`, {}],
      ['index/volume', `/loki/api/v1/index/volume?${qs({ query: selector, start, end })}`, {}],
      ['tenant matcher', `/loki/api/v1/query_range?${qs({ query: `{job="train", __tenant_id__=~${quoted}}`, start, end })}`, { 'x-scope-orgid': MULTI_TENANT }],
    ];
    for (const [what, path, headers] of requests) {
      const answer = await send(url, path, { headers: { 'x-scope-orgid': TENANT, ...headers } });
      assert.ok(answer.status === 200 || answer.status === 400, `${what} with ${regex}: ${answer.status} ${answer.text.slice(0, 300)}`);
      answers.push(`${what}:${answer.status}`);
    }
  };
  // A server's first queries pay for compiling the query engine itself (a cold query_range took
  // ~300 ms here): warm every endpoint with a harmless regex, so the probes below measure the
  // hostile regexes and not the cold start.
  await sendEverywhere('.*worker-1.*');

  const probes = probeReady(url, controlUrl);
  try {
    // Repeat the set until at least 10 probes have run alongside it (at most 20 rounds).
    for (let round = 0; round < 20 && (round === 0 || probes.count() < 10); round++) {
      for (const regex of HOSTILE) await sendEverywhere(regex);
    }
    for (const regex of HOSTILE) {
      const seriesAnswer = await send(url, `/loki/api/v1/series?${qs({ 'match[]': `{job="train", filename=~${JSON.stringify(`${regex}|.*worker-1.*`)}}`, start, end })}`, { headers: { 'x-scope-orgid': TENANT } });
      assert.equal(seriesAnswer.status, 200, seriesAnswer.text);
      assert.equal((JSON.parse(seriesAnswer.text) as { data: unknown[] }).data.length, 1, 'the hostile branch matches nothing, the other finds worker-1');
    }

    // The same matcher in a recording rule posted through the ruler API, evaluated by the ruler.
    const posted = await send(url, '/loki/api/v1/rules/hostile', {
      method: 'POST',
      headers: { 'content-type': 'application/yaml', 'x-scope-orgid': TENANT },
      body: ruleGroup('hostile', `{filename=~${JSON.stringify(HOSTILE[0])}}`),
    });
    assert.equal(posted.status, 202, posted.text);
    await waitForEvaluation(url);

    // Series selectors over the recorded samples (the ruler's Prometheus API) take the same regexes.
    for (const regex of HOSTILE) {
      const selector = `{__name__=~${JSON.stringify(`hostile:.*|${regex}`)}, job=~${JSON.stringify(regex)}}`;
      for (const path of [`/prometheus/api/v1/query?${qs({ query: selector })}`, `/prometheus/api/v1/query_range?${qs({ query: selector, start: String(Date.now() / 1000 - 600), end: String(Date.now() / 1000), step: '15' })}`]) {
        const answer = await send(url, path, { headers: { 'x-scope-orgid': TENANT } });
        assert.ok(answer.status === 200 || answer.status === 400, `${path}: ${answer.status} ${answer.text.slice(0, 300)}`);
      }
    }
  } finally {
    assertResponsive(await probes.stop(), 'hostile queries and rule');
  }
  assert.ok(answers.length > 0);

  // Restart with the rule on disk: the server comes up, answers /ready and evaluates the rule.
  server.kill('SIGTERM');
  assert.equal(await server.exited, 0);
  server = await startServerProcess(serverArgs);
  const restarted = await send(server.url, '/ready');
  assert.equal(restarted.status, 200);
  const restartedProbes = probeReady(server.url, controlUrl);
  try {
    await waitForEvaluation(server.url);
    // Keep probing while the ruler evaluates the rule on its interval (1 s).
    while (restartedProbes.count() < 15) await new Promise((resolve) => setTimeout(resolve, 50));
  } finally {
    assertResponsive(await restartedProbes.stop(), 'after the restart');
  }
});

/** Waits until the ruler reports the hostile group evaluated without error. */
async function waitForEvaluation(url: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const listing = await send(url, '/prometheus/api/v1/rules', { headers: { 'x-scope-orgid': TENANT } });
    assert.equal(listing.status, 200, listing.text);
    const groups = (JSON.parse(listing.text) as { data: { groups: Array<{ name: string; rules: Array<{ health: string; lastError?: string }> }> } }).data.groups;
    const rule = groups.find((group) => group.name === 'hostile')?.rules[0];
    if (rule?.health === 'ok') return;
    assert.notEqual(rule?.health, 'err', `the hostile rule failed: ${rule?.lastError}`);
    if (Date.now() > deadline) throw new Error(`the hostile rule was not evaluated in 20 s: ${listing.text.slice(0, 500)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
