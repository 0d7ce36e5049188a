// The dashboards every tenant has: Training run, Inference (vLLM) and Cluster, written as Grafana
// dashboard JSON (schema 39) so they import into Grafana unchanged. Data sources are `datasource`
// template variables (Grafana binds them to its Prometheus and Loki on import; here they mean this
// server). Metric names are DCGM's as the agent emits them (src/agent/host-metrics) and as
// dcgm-exporter exposes them, node_exporter's for InfiniBand, and vLLM's (V1 names, with the V0 names
// as `or` fallbacks). GPU series carry `run_id` and `rank` when the agent attributed them to a run.

import type { JsonObject } from './grafana-import.ts';

const PROMETHEUS = { type: 'prometheus', uid: '${datasource}' };
const LOKI = { type: 'loki', uid: '${loki}' };
export const BUILTIN_UID_PREFIX = 'rankscope-';

interface Query {
  expr: string;
  legendFormat?: string;
  instant?: boolean;
  format?: 'heatmap' | 'table';
}

interface PanelSpec {
  type: 'timeseries' | 'stat' | 'gauge' | 'bargauge' | 'table' | 'heatmap' | 'logs';
  title: string;
  description?: string;
  at: [x: number, y: number, w: number, h: number];
  logs?: boolean;
  queries: Query[];
  unit?: string;
  min?: number;
  max?: number;
  decimals?: number;
  /** [base colour, [value, colour]…] */
  thresholds?: [string, ...Array<[number, string]>];
  reducer?: string;
  /** Minimum step (Grafana's panel `interval`). */
  interval?: string;
  /** Time series: areas stacked on each other. */
  stacked?: boolean;
}

function panel(id: number, spec: PanelSpec): JsonObject {
  const [x, y, w, h] = spec.at;
  const datasource = spec.logs === true ? LOKI : PROMETHEUS;
  const defaults: JsonObject = {};
  if (spec.unit !== undefined) defaults.unit = spec.unit;
  if (spec.min !== undefined) defaults.min = spec.min;
  if (spec.max !== undefined) defaults.max = spec.max;
  if (spec.decimals !== undefined) defaults.decimals = spec.decimals;
  if (spec.thresholds !== undefined) {
    const [base, ...steps] = spec.thresholds;
    defaults.thresholds = { mode: 'absolute', steps: [{ color: base, value: null }, ...steps.map(([value, color]) => ({ color, value }))] };
  }
  if (spec.type === 'timeseries') defaults.custom = { drawStyle: 'line', lineWidth: 1, fillOpacity: spec.stacked === true ? 40 : 8, showPoints: 'never', spanNulls: false, stacking: { mode: spec.stacked === true ? 'normal' : 'none', group: 'A' } };
  const options: JsonObject =
    spec.type === 'logs'
      ? { showTime: true, wrapLogMessage: true, sortOrder: 'Descending', enableLogDetails: true, dedupStrategy: 'none' }
      : spec.type === 'timeseries'
        ? { legend: { displayMode: 'list', placement: 'bottom', showLegend: true }, tooltip: { mode: 'multi', sort: 'desc' } }
        : spec.type === 'heatmap'
          ? { calculate: false, yAxis: { unit: spec.unit ?? 's' }, color: { scheme: 'Oranges', mode: 'scheme' }, cellGap: 1 }
          : { reduceOptions: { calcs: [spec.reducer ?? 'lastNotNull'], fields: '', values: false }, orientation: spec.type === 'bargauge' ? 'horizontal' : 'auto', showThresholdLabels: false, showThresholdMarkers: true, colorMode: 'value', graphMode: 'none', textMode: 'auto' };
  return {
    id,
    type: spec.type,
    title: spec.title,
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    datasource,
    gridPos: { x, y, w, h },
    ...(spec.interval !== undefined ? { interval: spec.interval } : {}),
    fieldConfig: { defaults, overrides: [] },
    options,
    targets: spec.queries.map((query, index) => ({
      datasource,
      refId: String.fromCharCode(65 + index),
      expr: query.expr,
      ...(query.legendFormat !== undefined ? { legendFormat: query.legendFormat } : {}),
      ...(query.instant === true ? { instant: true, range: false } : {}),
      ...(query.format !== undefined ? { format: query.format } : {}),
    })),
  };
}

function row(id: number, title: string, y: number): JsonObject {
  return { id, type: 'row', title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] };
}

function datasourceVariables(): JsonObject[] {
  return [
    { name: 'datasource', label: 'Metrics', type: 'datasource', query: 'prometheus', hide: 2, current: {} },
    { name: 'loki', label: 'Logs', type: 'datasource', query: 'loki', hide: 2, current: {} },
  ];
}

function queryVariable(name: string, label: string, query: string, options: { multi?: boolean; sort?: number } = {}): JsonObject {
  const multi = options.multi === true;
  return {
    name,
    label,
    type: 'query',
    datasource: PROMETHEUS,
    query: { query, refId: `${name}-variable` },
    definition: query,
    refresh: 2,
    sort: options.sort ?? 3,
    multi,
    includeAll: multi,
    ...(multi ? { allValue: '.*', current: { text: ['All'], value: ['$__all'] } } : { current: {} }),
    options: [],
    regex: '',
    hide: 0,
  };
}

function dashboard(uid: string, title: string, description: string, tags: string[], variables: JsonObject[], panels: JsonObject[]): JsonObject {
  return {
    uid,
    title,
    description,
    tags: ['rankscope', ...tags],
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    refresh: '30s',
    timezone: 'browser',
    templating: { list: [...datasourceVariables(), ...variables] },
    annotations: { list: [] },
    links: [],
    panels,
  };
}

const GPU = (name: string): string => `${name}{run_id="$run_id", rank=~"$rank"}`;
const IDLE_THRESHOLDS: PanelSpec['thresholds'] = ['red', [10, 'orange'], [50, 'green']];
// Loss, tokens/s and step time as the common trainers print them: `loss 2.31`, `loss=2.31`,
// HF's `'loss': 2.31`, `… 51234 tokens/s`, and tqdm's `…, 3.21it/s]`.
const LOSS_REGEXP = String.raw`\bloss'?[=:]? ?(?P<loss>[0-9]+\.?[0-9]*(?:[eE][-+]?[0-9]+)?)`;
const RUN_LOGS = '{run_id="$run_id", rank=~"$rank"}';

function trainingRun(): JsonObject {
  let id = 0;
  const next = (): number => ++id;
  return dashboard(
    `${BUILTIN_UID_PREFIX}training-run`,
    'Training run',
    'Per rank: GPU utilization and SM activity, memory, power, temperature and interconnect throughput, beside the loss, throughput and step time read from the logs and the run’s error lines. Ranks whose GPU idles while the others work show red.',
    ['training', 'gpu'],
    [queryVariable('run_id', 'Run', 'label_values(DCGM_FI_DEV_GPU_UTIL, run_id)', { sort: 2 }), queryVariable('rank', 'Rank', 'label_values(DCGM_FI_DEV_GPU_UTIL{run_id="$run_id"}, rank)', { multi: true }), // All hosts means the run's hosts, not `.*`: the InfiniBand panel has no run label to narrow by.
      { ...queryVariable('host', 'Host', 'label_values(DCGM_FI_DEV_GPU_UTIL{run_id="$run_id"}, host)', { multi: true }), allValue: null, hide: 2 }],
    [
      row(next(), 'Is every GPU busy?', 0),
      panel(next(), { type: 'stat', title: 'Ranks with a GPU', at: [0, 1, 4, 4], queries: [{ expr: 'count(max by (rank) (DCGM_FI_DEV_GPU_UTIL{run_id="$run_id"}))', instant: true }], thresholds: ['blue'] }),
      panel(next(), { type: 'stat', title: 'Idle ranks', description: 'Ranks whose GPU averaged under 10 % over the last 2 minutes.', at: [4, 1, 4, 4], queries: [{ expr: 'count(max by (rank) (avg_over_time(DCGM_FI_DEV_GPU_UTIL{run_id="$run_id"}[2m])) < 10) or vector(0)', instant: true }], thresholds: ['green', [1, 'red']] }),
      panel(next(), { type: 'stat', title: 'Mean GPU utilization', at: [8, 1, 4, 4], queries: [{ expr: 'avg(DCGM_FI_DEV_GPU_UTIL{run_id="$run_id"})', instant: true }], unit: 'percent', thresholds: IDLE_THRESHOLDS, decimals: 0 }),
      panel(next(), { type: 'bargauge', title: 'GPU utilization by rank, last 2 minutes', description: 'An idle rank among busy ones is red: a straggler, a dead rank or one waiting in a collective.', at: [12, 1, 12, 9], queries: [{ expr: `avg by (rank) (avg_over_time(${GPU('DCGM_FI_DEV_GPU_UTIL')}[2m]))`, legendFormat: 'rank {{rank}}', instant: true }], unit: 'percent', min: 0, max: 100, thresholds: IDLE_THRESHOLDS, decimals: 0 }),
      panel(next(), { type: 'gauge', title: 'Peak GPU memory', at: [0, 5, 6, 5], queries: [{ expr: 'max(100 * DCGM_FI_DEV_FB_USED{run_id="$run_id"} / (DCGM_FI_DEV_FB_USED{run_id="$run_id"} + DCGM_FI_DEV_FB_FREE{run_id="$run_id"}))', instant: true }], unit: 'percent', min: 0, max: 100, thresholds: ['green', [85, 'orange'], [95, 'red']], decimals: 0 }),
      panel(next(), { type: 'stat', title: 'Hottest GPU', at: [6, 5, 6, 5], queries: [{ expr: 'max(DCGM_FI_DEV_GPU_TEMP{run_id="$run_id"})', instant: true }], unit: 'celsius', thresholds: ['green', [80, 'orange'], [87, 'red']] }),
      panel(next(), { type: 'timeseries', title: 'GPU utilization per rank', at: [0, 10, 12, 8], queries: [{ expr: `avg by (rank) (${GPU('DCGM_FI_DEV_GPU_UTIL')})`, legendFormat: 'rank {{rank}}' }], unit: 'percent', min: 0, max: 100 }),
      panel(next(), { type: 'timeseries', title: 'SM activity per rank', description: 'DCGM_FI_PROF_SM_ACTIVE (dcgm-exporter): GPU utilization reads 100 % while a rank spins in an NCCL wait; SM activity does not.', at: [12, 10, 12, 8], queries: [{ expr: `avg by (rank) (${GPU('DCGM_FI_PROF_SM_ACTIVE')})`, legendFormat: 'rank {{rank}}' }], unit: 'percentunit', min: 0, max: 1 }),
      row(next(), 'Memory, power, temperature', 18),
      panel(next(), { type: 'timeseries', title: 'GPU memory used per rank', at: [0, 19, 8, 8], queries: [{ expr: `max by (rank) (${GPU('DCGM_FI_DEV_FB_USED')})`, legendFormat: 'rank {{rank}}' }], unit: 'decmbytes', min: 0 }),
      panel(next(), { type: 'timeseries', title: 'Power per rank', at: [8, 19, 8, 8], queries: [{ expr: `max by (rank) (${GPU('DCGM_FI_DEV_POWER_USAGE')})`, legendFormat: 'rank {{rank}}' }], unit: 'watt', min: 0 }),
      panel(next(), { type: 'timeseries', title: 'GPU temperature per rank', at: [16, 19, 8, 8], queries: [{ expr: `max by (rank) (${GPU('DCGM_FI_DEV_GPU_TEMP')})`, legendFormat: 'rank {{rank}}' }], unit: 'celsius' }),
      row(next(), 'Interconnect', 27),
      panel(next(), { type: 'timeseries', title: 'PCIe throughput per rank (rx + tx)', at: [0, 28, 8, 8], queries: [{ expr: `1024 * sum by (rank) (${GPU('DCGM_FI_DEV_PCIE_RX_THROUGHPUT')} + ${GPU('DCGM_FI_DEV_PCIE_TX_THROUGHPUT')})`, legendFormat: 'rank {{rank}}' }], unit: 'Bps', min: 0 }),
      panel(next(), { type: 'timeseries', title: 'NVLink throughput per rank (rx + tx)', at: [8, 28, 8, 8], queries: [{ expr: `sum by (rank) (${GPU('DCGM_FI_PROF_NVLINK_RX_BYTES')} + ${GPU('DCGM_FI_PROF_NVLINK_TX_BYTES')})`, legendFormat: 'rank {{rank}}' }], unit: 'Bps', min: 0 }),
      panel(next(), { type: 'timeseries', title: 'InfiniBand throughput per host', at: [16, 28, 8, 8], queries: [{ expr: 'sum by (host) (rate(node_infiniband_port_data_received_bytes_total{host=~"$host"}[$__rate_interval]) + rate(node_infiniband_port_data_transmitted_bytes_total{host=~"$host"}[$__rate_interval]))', legendFormat: '{{host}}' }], unit: 'Bps', min: 0 }),
      row(next(), 'Training, from the logs', 36),
      panel(next(), { type: 'timeseries', title: 'Loss per rank', logs: true, interval: '5s', at: [0, 37, 8, 8], queries: [{ expr: `avg by (rank) (avg_over_time(${RUN_LOGS} |~ "loss" | regexp \`${LOSS_REGEXP}\` | unwrap loss | __error__="" [$__interval]))`, legendFormat: 'rank {{rank}}' }] }),
      panel(next(), { type: 'timeseries', title: 'Throughput (tokens/s)', logs: true, interval: '30s', at: [8, 37, 8, 8], queries: [{ expr: `sum(avg by (rank) (avg_over_time(${RUN_LOGS} |= "tokens/s" | regexp "(?P<tokens_per_s>[0-9.]+) tokens/s" | unwrap tokens_per_s | __error__="" [$__interval])))`, legendFormat: 'all ranks' }], unit: 'short', min: 0 }),
      panel(next(), { type: 'timeseries', title: 'Step time (from tqdm it/s)', logs: true, interval: '10s', at: [16, 37, 8, 8], queries: [{ expr: `1 / avg by (rank) (avg_over_time(${RUN_LOGS} |= "it/s]" | regexp \`(?P<it_per_s>[0-9.]+)it/s\\]\` | unwrap it_per_s | __error__="" [$__interval]))`, legendFormat: 'rank {{rank}}' }], unit: 's', min: 0 }),
      panel(next(), { type: 'logs', title: 'Error lines', logs: true, at: [0, 45, 24, 10], queries: [{ expr: `${RUN_LOGS} |~ "(?i)(error|traceback|exception|out of memory|nccl.*(timeout|fail)|sigkill|killed)"` }] }),
    ],
  );
}

const MODEL = 'model_name=~"$model_name"';
const quantiles = (bucket: string): Query[] =>
  [0.5, 0.9, 0.99].map((quantile) => ({ expr: `histogram_quantile(${quantile}, sum by (le) (${bucket}))`, legendFormat: `p${Math.round(quantile * 100)}` }));
const rate = (name: string): string => `rate(${name}{${MODEL}}[$__rate_interval])`;

function inference(): JsonObject {
  let id = 0;
  const next = (): number => ++id;
  return dashboard(
    `${BUILTIN_UID_PREFIX}inference`,
    'Inference (vLLM)',
    'vLLM serving: time to first token, inter-token and end-to-end latency (p50/p90/p99 from the histograms), requests running and waiting, KV-cache usage, prompt and generation tokens per second, finish reasons and the server’s logs. V1 metric names, with the V0 names still in use as fallbacks.',
    ['inference', 'vllm'],
    [queryVariable('model_name', 'Model', 'label_values(vllm:num_requests_running, model_name)', { multi: true, sort: 1 }), { name: 'log_selector', label: 'Server logs', type: 'textbox', query: '{job=~".*vllm.*"}', current: { text: '{job=~".*vllm.*"}', value: '{job=~".*vllm.*"}' }, hide: 0 }],
    [
      row(next(), 'Latency', 0),
      panel(next(), { type: 'timeseries', title: 'Time to first token', at: [0, 1, 8, 8], queries: quantiles(rate('vllm:time_to_first_token_seconds_bucket')), unit: 's', min: 0 }),
      panel(next(), { type: 'timeseries', title: 'Inter-token latency', at: [8, 1, 8, 8], queries: quantiles(`${rate('vllm:inter_token_latency_seconds_bucket')} or ${rate('vllm:time_per_output_token_seconds_bucket')}`), unit: 's', min: 0 }),
      panel(next(), { type: 'timeseries', title: 'End-to-end request latency', at: [16, 1, 8, 8], queries: quantiles(rate('vllm:e2e_request_latency_seconds_bucket')), unit: 's', min: 0 }),
      panel(next(), { type: 'heatmap', title: 'Time to first token, distribution', at: [0, 9, 12, 8], queries: [{ expr: `sum by (le) (increase(vllm:time_to_first_token_seconds_bucket{${MODEL}}[$__rate_interval]))`, legendFormat: '{{le}}', format: 'heatmap' }], unit: 's' }),
      panel(next(), { type: 'stat', title: 'TTFT p90, last 5 minutes', at: [12, 9, 4, 4], queries: [{ expr: `histogram_quantile(0.9, sum by (le) (rate(vllm:time_to_first_token_seconds_bucket{${MODEL}}[5m])))`, instant: true }], unit: 's', thresholds: ['green', [0.5, 'orange'], [2, 'red']] }),
      panel(next(), { type: 'stat', title: 'Requests finished, last 5 minutes', at: [16, 9, 4, 4], queries: [{ expr: `sum(increase(vllm:request_success_total{${MODEL}}[5m]))`, instant: true }], thresholds: ['blue'], decimals: 0 }),
      panel(next(), { type: 'gauge', title: 'KV-cache usage', at: [20, 9, 4, 8], queries: [{ expr: `100 * max(vllm:kv_cache_usage_perc{${MODEL}} or vllm:gpu_cache_usage_perc{${MODEL}})`, instant: true }], unit: 'percent', min: 0, max: 100, thresholds: ['green', [80, 'orange'], [95, 'red']], decimals: 0 }),
      panel(next(), { type: 'bargauge', title: 'Finish reasons, last hour', at: [12, 13, 8, 4], queries: [{ expr: `sum by (finished_reason) (increase(vllm:request_success_total{${MODEL}}[1h]))`, legendFormat: '{{finished_reason}}', instant: true }], thresholds: ['blue'] }),
      row(next(), 'Load', 17),
      panel(next(), { type: 'timeseries', title: 'Requests running and waiting (stacked)', at: [0, 18, 8, 8], queries: [{ expr: `sum(vllm:num_requests_running{${MODEL}})`, legendFormat: 'running' }, { expr: `sum(vllm:num_requests_waiting{${MODEL}})`, legendFormat: 'waiting' }], min: 0, stacked: true }),
      panel(next(), { type: 'timeseries', title: 'KV-cache usage', at: [8, 18, 8, 8], queries: [{ expr: `100 * max by (model_name) (vllm:kv_cache_usage_perc{${MODEL}} or vllm:gpu_cache_usage_perc{${MODEL}})`, legendFormat: '{{model_name}}' }], unit: 'percent', min: 0, max: 100 }),
      panel(next(), { type: 'timeseries', title: 'Tokens per second', at: [16, 18, 8, 8], queries: [{ expr: `sum(${rate('vllm:prompt_tokens_total')})`, legendFormat: 'prompt' }, { expr: `sum(${rate('vllm:generation_tokens_total')})`, legendFormat: 'generation' }], unit: 'short', min: 0 }),
      panel(next(), { type: 'logs', title: 'Server logs', logs: true, at: [0, 26, 24, 10], queries: [{ expr: '$log_selector' }] }),
    ],
  );
}

const HOST_GPU = 'DCGM_FI_DEV_GPU_UTIL{host=~"$host"}';

function cluster(): JsonObject {
  let id = 0;
  const next = (): number => ++id;
  return dashboard(
    `${BUILTIN_UID_PREFIX}cluster`,
    'Cluster',
    'Nodes and GPUs, which GPUs are busy or idle and for which run, XID errors and clock throttling by host. A GPU is busy at 10 % utilization or more.',
    ['cluster', 'gpu'],
    [queryVariable('host', 'Host', 'label_values(DCGM_FI_DEV_GPU_UTIL, host)', { multi: true, sort: 1 })],
    [
      panel(next(), { type: 'stat', title: 'Nodes', at: [0, 0, 4, 4], queries: [{ expr: 'count(count by (host) ({__name__=~"DCGM_FI_DEV_GPU_UTIL|node_load1", host=~"$host"}))', instant: true }], thresholds: ['blue'] }),
      panel(next(), { type: 'stat', title: 'GPUs', at: [4, 0, 4, 4], queries: [{ expr: `count(${HOST_GPU})`, instant: true }], thresholds: ['blue'] }),
      panel(next(), { type: 'stat', title: 'Busy GPUs', at: [8, 0, 4, 4], queries: [{ expr: `count(${HOST_GPU} >= 10) or vector(0)`, instant: true }], thresholds: ['green'] }),
      panel(next(), { type: 'stat', title: 'Idle GPUs', at: [12, 0, 4, 4], queries: [{ expr: `count(${HOST_GPU} < 10) or vector(0)`, instant: true }], thresholds: ['green', [1, 'orange']] }),
      panel(next(), { type: 'stat', title: 'GPUs in no run', at: [16, 0, 4, 4], queries: [{ expr: 'count(DCGM_FI_DEV_GPU_UTIL{host=~"$host", run_id=""}) or vector(0)', instant: true }], thresholds: ['text'] }),
      panel(next(), { type: 'stat', title: 'GPUs with XID errors', at: [20, 0, 4, 4], queries: [{ expr: 'count(DCGM_FI_DEV_XID_ERRORS{host=~"$host"} > 0) or vector(0)', instant: true }], thresholds: ['green', [1, 'red']] }),
      panel(next(), { type: 'bargauge', title: 'Busy GPUs by run', at: [0, 4, 12, 7], queries: [{ expr: `count by (run_id) (DCGM_FI_DEV_GPU_UTIL{host=~"$host", run_id!=""} >= 10)`, legendFormat: '{{run_id}}', instant: true }], thresholds: ['green'], decimals: 0 }),
      panel(next(), { type: 'bargauge', title: 'Idle GPUs by run', description: 'GPUs a run holds but does not use: a hung or finished rank, or a data loader that cannot keep up.', at: [12, 4, 12, 7], queries: [{ expr: `count by (run_id) (DCGM_FI_DEV_GPU_UTIL{host=~"$host", run_id!=""} < 10)`, legendFormat: '{{run_id}}', instant: true }], thresholds: ['orange'], decimals: 0 }),
      panel(next(), { type: 'timeseries', title: 'GPU utilization by host', at: [0, 11, 12, 8], queries: [{ expr: `avg by (host) (${HOST_GPU})`, legendFormat: '{{host}}' }], unit: 'percent', min: 0, max: 100 }),
      panel(next(), { type: 'table', title: 'Every GPU, its run and rank', at: [12, 11, 12, 8], queries: [{ expr: 'max by (host, gpu, run_id, rank) (DCGM_FI_DEV_GPU_UTIL{host=~"$host"})', instant: true, format: 'table' }], unit: 'percent', thresholds: IDLE_THRESHOLDS }),
      panel(next(), { type: 'timeseries', title: 'GPUs with XID errors by host', at: [0, 19, 8, 8], queries: [{ expr: 'count by (host) (DCGM_FI_DEV_XID_ERRORS{host=~"$host"} > 0)', legendFormat: '{{host}}' }], min: 0, decimals: 0 }),
      panel(next(), { type: 'timeseries', title: 'Throttled GPUs by host and reason', description: 'Power and thermal throttle reasons (the idle and application-clock bits are left out).', at: [8, 19, 8, 8], queries: [{ expr: 'sum by (host, reason) (rankscope_gpu_clock_throttle_reason_active{host=~"$host", reason=~"sw_power_cap|hw_slowdown|sw_thermal_slowdown|hw_thermal_slowdown|hw_power_brake_slowdown"}) > 0', legendFormat: '{{host}} {{reason}}' }], min: 0, decimals: 0 }),
      panel(next(), { type: 'timeseries', title: 'Hottest GPU by host', at: [16, 19, 8, 8], queries: [{ expr: 'max by (host) (DCGM_FI_DEV_GPU_TEMP{host=~"$host"})', legendFormat: '{{host}}' }], unit: 'celsius' }),
    ],
  );
}

/** Fresh copies of the built-ins (callers may hand them out for editing). */
export function builtinDashboards(): JsonObject[] {
  return [trainingRun(), inference(), cluster()];
}
