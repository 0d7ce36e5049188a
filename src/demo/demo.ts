// `rankscope demo`: a server, plus a simulated 2-node × 4-rank training run shipped through both real
// collection paths: node 0's launcher is wrapped by `rankscope run` (a child process), node 1's ranks
// write log files that an agent tails. Runs repeat (the failing rank takes each one down, then the
// "job" restarts with a new run id) until stopped. Every rank also remote_writes DCGM-style GPU
// metrics and its loss and step time (rank-metrics.ts), so PromQL answers beside LogQL with no setup.

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../server/server.ts';
import { agentConfigSchema } from '../agent/config.ts';
import { startAgent, type AgentHandle } from '../agent/agent.ts';
import { startSimulatedRun, type SimulatedRun } from './simulated-run.ts';
import { startSimulatedVllm } from './simulated-vllm.ts';

const RANKSCOPE_BIN = fileURLToPath(new URL('../../bin/rankscope.js', import.meta.url));
export const DEMO_JOB = 'demo-train';

export interface DemoOptions {
  listen: string;
  /** Where the server keeps its data; undefined = a temporary dir removed on stop. */
  dataDir?: string;
  seed: number;
  nodes: number;
  ranksPerNode: number;
  steps: number;
  stepMs: number;
  /** Pause between a run ending and the next one starting. */
  restartDelayMs: number;
  log: (message: string) => void;
}

export interface RunningDemo {
  url: string;
  dataDir: string;
  /** Run ids started so far. */
  runIds: string[];
  stop(): Promise<void>;
}

export const EXAMPLE_QUERIES = [
  ['every rank, one timeline', `{job="${DEMO_JOB}"}`],
  ['tracebacks, each one entry', `{job="${DEMO_JOB}"} |= "Traceback"`],
  ['NCCL warnings', `{job="${DEMO_JOB}", level="warn"} |= "NCCL"`],
  ['one rank', `{job="${DEMO_JOB}", rank="3"}`],
  ['loss per rank from raw stdout', `avg by (rank) (avg_over_time({job="${DEMO_JOB}"} |~ "^step [0-9]+ loss" | regexp "loss (?P<loss>[0-9.]+)" | unwrap loss [30s]))`],
  ['lines per second by level', `sum by (level) (rate({job="${DEMO_JOB}"}[1m]))`],
] as const;

/** PromQL over the metrics the simulated ranks remote_write (GET /api/v1/query, Grafana's Prometheus data source). */
export const EXAMPLE_PROMQL_QUERIES = [
  ['GPU utilisation per rank', `avg by (rank) (DCGM_FI_DEV_GPU_UTIL{job="${DEMO_JOB}"})`],
  ['training loss per rank', `train_loss{job="${DEMO_JOB}"}`],
  ['slowest rank step time per run', `max by (run_id) (train_step_duration_seconds{job="${DEMO_JOB}"})`],
] as const;

/** A PromQL alert over the ranks' metrics, beside the LogQL training pack: the failing rank's GPU idles. */
const DEMO_PROMQL_RULES = `groups:
  - name: gpu
    interval: 2s
    rules:
      - alert: RankGpuIdle
        expr: max by (run_id, host, rank) (DCGM_FI_DEV_GPU_UTIL{job="${DEMO_JOB}"}) < 10
        labels:
          severity: warning
        annotations:
          summary: "rank {{ $labels.rank }} on {{ $labels.host }}: GPU at {{ $value }}% utilisation"
      - record: run:gpu_util:avg
        expr: avg by (run_id) (DCGM_FI_DEV_GPU_UTIL{job="${DEMO_JOB}"})
`;

export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'rankscope-demo-'));
  // The training rule pack is on, so the simulated rank failure also shows up as firing alerts
  // (GET /prometheus/api/v1/alerts, and in Grafana's alerting view), and so does a PromQL rule over
  // the ranks' GPU metrics.
  const promqlRulesDir = join(dataDir, 'prometheus-rules');
  mkdirSync(promqlRulesDir, { recursive: true });
  writeFileSync(join(promqlRulesDir, 'gpu.yaml'), DEMO_PROMQL_RULES);
  // The server scrapes its own /metrics, as a Prometheus beside it would. Its address is known only
  // once it listens (the port may be 0), so the target comes through a file_sd file written then.
  const scrapeTargetsFile = join(dataDir, 'scrape-targets.json');
  writeFileSync(scrapeTargetsFile, '[]');
  const server = await startServer({
    server: { listen: options.listen },
    store: { data_dir: join(dataDir, 'store') },
    ruler: { enable_training_rules: true, prometheus_rules_dir: promqlRulesDir },
    scrape_configs: [{ job_name: 'rankscope', scrape_interval: '5s', file_sd_configs: [{ files: [scrapeTargetsFile], refresh_interval: '1s' }] }],
  });
  writeFileSync(scrapeTargetsFile, JSON.stringify([{ targets: [new URL(server.url).host] }]));
  const logsDir = join(dataDir, 'demo-logs');
  const queueDir = join(dataDir, 'agent-queue');
  let agent: AgentHandle | undefined;
  try {
    agent = await startAgent(
      agentConfigSchema.parse({
        server: { url: server.url },
        batch: { max_wait_ms: 250 },
        retry: { min_backoff_ms: 100, max_backoff_ms: 2000 },
        queue: { dir: queueDir },
        positions: { file: join(dataDir, 'agent-positions.json') },
        poll_interval_ms: 100,
        labels: { job: DEMO_JOB },
        sources: [
          {
            name: 'node-log-dirs',
            type: 'file',
            paths: [join(logsDir, '*', '*.log')],
            path_labels: '/(?P<run_id>[^/]+)/(?P<host>node-(?P<node_rank>\\d+))-(?:rank(?P<rank>\\d+)\\.(?P<stream>stdout|stderr)|launcher)\\.log$',
          },
        ],
      }),
      { log: (message) => options.log(`agent: ${message}`) },
    );
  } catch (error) {
    await server.close();
    throw error;
  }
  const runAgent = agent;

  const runIds: string[] = [];
  let current: SimulatedRun | undefined;
  let stopped = false;
  let restartTimer: NodeJS.Timeout | undefined;

  const startRun = (): void => {
    if (stopped) return;
    const runId = `demo-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}-${runIds.length + 1}`;
    runIds.push(runId);
    options.log(`run ${runId}: ${options.nodes} nodes × ${options.ranksPerNode} ranks, ${options.steps} steps`);
    const run = startSimulatedRun({
      seed: options.seed + runIds.length,
      nodes: options.nodes,
      ranksPerNode: options.ranksPerNode,
      steps: options.steps,
      stepMs: options.stepMs,
      runId,
      output: (nodeRank) =>
        // Half the nodes ship through `rankscope run`, the other half through files and the agent.
        nodeRank % 2 === 0
          ? {
              kind: 'stdio',
              wrap: [
                process.execPath,
                RANKSCOPE_BIN,
                'run',
                '--server', server.url,
                '--job', DEMO_JOB,
                '--label', `host=node-${nodeRank}`,
                '--queue-dir', join(dataDir, 'run-queue'),
                '--flush-timeout-ms', '5000',
                '--',
              ],
            }
          : { kind: 'files', dir: join(logsDir, runId) },
      env: { RANKSCOPE_QUEUE_DIR: join(dataDir, 'run-queue'), DEMO_METRICS_URL: `${server.url}/api/v1/write`, DEMO_JOB },
    });
    current = run;
    void run.done.then((results) => {
      if (stopped) return;
      const summary = results.map((result) => `node-${result.nodeRank}: ${result.signal ?? `exit ${result.exitCode}`}`).join(', ');
      options.log(`run ${runId} ended (${summary}); restarting in ${Math.round(options.restartDelayMs / 1000)} s`);
      restartTimer = setTimeout(startRun, options.restartDelayMs);
    });
  };
  startRun();
  // A vLLM server's metrics and logs beside the training run, for the built-in Inference dashboard.
  const vllm = startSimulatedVllm({ serverUrl: server.url, seed: options.seed });

  return {
    url: server.url,
    dataDir,
    runIds,
    async stop(): Promise<void> {
      stopped = true;
      clearTimeout(restartTimer);
      await current?.stop();
      await vllm.stop();
      await runAgent.stop(3000);
      await server.close();
      if (temporary) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
