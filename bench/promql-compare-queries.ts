// The PromQL queries run through both rankscope's and a real Prometheus' HTTP API over the workload of
// promql-compare-workload.ts. Evaluation times are whole seconds, 30 s past a whole minute, so that
// no sample (all sit at a sub-second offset) and no subquery step (multiples of 1 m, 2 m or 5 m)
// falls on a window's lower bound, where 2.42's left-closed and 3.x's left-open windows differ. A
// nested subquery's inner range is not a whole number of its steps for the same reason (its inner
// evaluations happen at the outer subquery's aligned steps).
//
// The other 2.42/3.x difference the table keeps clear of: where a counter's rate window starts well
// before its first sample, 3.x first caps the extrapolation at half a sample interval and then at the
// counter's zero point, 2.42 the other way round (its zero point can then allow a longer
// extrapolation). Range queries therefore start 45 minutes into the data, past the longest window.

import type { QuerySpec } from './promql-compare-peers.ts';

const MINUTE_MS = 60_000;

/** Instant queries: [id, query, minutes after the first scrape (plus 30 s)]. */
type InstantCase = [id: string, query: string, atMinute?: number];
/** Range queries: [id, query, step in seconds (default 60)]. */
type RangeCase = [id: string, query: string, stepSeconds?: number];

/** The correctness table: every PromQL feature the comparison covers, as instant and range queries. */
export function compareQueries(startMs: number, endMs: number): QuerySpec[] {
  const spanMinutes = Math.floor((endMs - startMs) / MINUTE_MS);
  const late = spanMinutes - 10;
  // batch_job_progress stops halfway through the workload.
  const stop = Math.floor(spanMinutes / 2);
  const atSeconds = (startMs + 45 * MINUTE_MS + 30_000) / 1000;
  const instant: InstantCase[] = [
    ['selector', 'http_requests_total'],
    ['regex matchers', 'http_requests_total{method=~"G.*", code!~"5.."}'],
    ['name regex', '{__name__=~"DCGM_.*", gpu="0"}'],
    ['rate', 'rate(http_requests_total[5m])'],
    ['irate', 'irate(http_requests_total[5m])'],
    ['increase over 1h (resets)', 'increase(http_requests_total[1h])'],
    ['resets', 'resets(http_requests_total[90m])'],
    ['changes', 'changes(DCGM_FI_DEV_GPU_UTIL[30m])'],
    ['delta', 'delta(DCGM_FI_DEV_GPU_TEMP[10m])'],
    ['idelta', 'idelta(DCGM_FI_DEV_GPU_TEMP[10m])'],
    ['deriv', 'deriv(DCGM_FI_DEV_GPU_TEMP[10m])'],
    ['predict_linear', 'predict_linear(node_memory_MemAvailable_bytes[30m], 3600)'],
    ['sum by', 'sum by (job) (rate(http_requests_total[5m]))'],
    ['sum by after', 'sum(rate(http_requests_total[5m])) by (method)'],
    ['sum without', 'sum without (instance, code) (rate(http_requests_total[5m]))'],
    ['avg by', 'avg by (instance) (DCGM_FI_DEV_GPU_TEMP)'],
    ['min max count', 'max(DCGM_FI_DEV_GPU_TEMP) - min(DCGM_FI_DEV_GPU_TEMP) + count(DCGM_FI_DEV_GPU_TEMP)'],
    ['stddev stdvar', 'stddev by (job) (DCGM_FI_DEV_GPU_UTIL) + on () group_left stdvar(DCGM_FI_DEV_GPU_TEMP)'],
    ['quantile', 'quantile(0.75, DCGM_FI_DEV_GPU_TEMP)'],
    ['topk', 'topk(3, rate(node_cpu_seconds_total[5m]))'],
    ['bottomk by', 'bottomk by (instance) (1, DCGM_FI_DEV_GPU_UTIL)'],
    ['count_values', 'count_values("temp", DCGM_FI_DEV_GPU_TEMP)'],
    ['count by', 'count by (release) (node_uname_info)'],
    ['group', 'group by (job) (http_requests_total)'],
    ['sort_desc', 'sort_desc(sum by (instance) (rate(node_cpu_seconds_total{mode!="idle"}[5m])))'],
    ['sort', 'sort(avg by (instance) (DCGM_FI_DEV_GPU_UTIL))'],
    ['histogram_quantile of sum', 'histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[5m])))'],
    ['histogram_quantile per series', 'histogram_quantile(0.5, rate(request_duration_seconds_bucket[10m]))'],
    ['histogram_quantile by job', 'histogram_quantile(0.99, sum by (job, le) (increase(request_duration_seconds_bucket[30m])))'],
    ['mean from _sum and _count', 'rate(request_duration_seconds_sum[5m]) / rate(request_duration_seconds_count[5m])'],
    ['summary quantile', 'max by (quantile) (step_time_seconds)'],
    ['offset', 'rate(http_requests_total[5m] offset 10m)'],
    ['negative offset', 'DCGM_FI_DEV_GPU_TEMP offset -5m', 30],
    ['@ timestamp', `http_requests_total @ ${atSeconds}`],
    ['@ with offset', `rate(http_requests_total[5m] @ ${atSeconds} offset 5m)`],
    ['subquery max_over_time', 'max_over_time(rate(http_requests_total[5m])[30m:1m])'],
    ['subquery with offset', 'avg_over_time(DCGM_FI_DEV_GPU_TEMP[10m:2m] offset 5m)'],
    ['nested subquery', 'max_over_time(deriv(rate(http_requests_total[5m])[10m30s:1m])[20m:2m])'],
    ['avg_over_time of rate', 'avg_over_time(rate(http_requests_total[5m])[1h:5m])'],
    ['group_left on', 'DCGM_FI_DEV_GPU_UTIL * on (instance, gpu) group_left (rank) gpu_rank_info'],
    ['group_left info join', 'rate(node_cpu_seconds_total[5m]) * on (instance) group_left (nodename) node_uname_info'],
    ['ignoring group_left', 'http_requests_total / ignoring (code) group_left sum without (code) (http_requests_total)'],
    ['ratio of sums', 'sum by (instance) (rate(http_requests_total{code="500"}[5m])) / sum by (instance) (rate(http_requests_total[5m]))'],
    ['comparison filter', 'DCGM_FI_DEV_GPU_TEMP > 65'],
    ['comparison bool', 'DCGM_FI_DEV_GPU_TEMP > bool 65'],
    ['and on', 'http_requests_total and on (instance) node_uname_info{release="6.1.0"}'],
    ['unless', 'DCGM_FI_DEV_GPU_UTIL unless DCGM_FI_DEV_GPU_UTIL > 50'],
    ['or', 'DCGM_FI_DEV_GPU_UTIL > 90 or DCGM_FI_DEV_GPU_TEMP < 55'],
    ['scalar arithmetic', '2 ^ 3 ^ 2 - (1 + 2) * 3 % 4'],
    ['unary minus', '-http_requests_total{code="500"}'],
    ['vector scalar', 'node_memory_MemAvailable_bytes / 1024 ^ 3'],
    ['absent of missing', 'absent(nonexistent_metric{job="x", instance=~"y"})'],
    ['absent of present', 'absent(http_requests_total)'],
    ['label_replace', 'label_replace(DCGM_FI_DEV_GPU_TEMP, "host", "$1", "instance", "(.*):.*")'],
    ['label_join', 'label_join(DCGM_FI_DEV_GPU_TEMP, "id", "/", "instance", "gpu")'],
    ['math functions', 'round(sqrt(abs(ln(DCGM_FI_DEV_GPU_TEMP))), 0.001) + clamp(DCGM_FI_DEV_GPU_UTIL, 20, 80) + sgn(DCGM_FI_DEV_GPU_TEMP - 60) + exp(-DCGM_FI_DEV_GPU_TEMP / 100)'],
    ['scalar()', 'scalar(sum(DCGM_FI_DEV_GPU_UTIL))'],
    ['vector()', 'vector(1) + time() * 0'],
    ['over_time functions', 'quantile_over_time(0.9, DCGM_FI_DEV_GPU_TEMP[30m]) + stddev_over_time(DCGM_FI_DEV_GPU_TEMP[30m]) + min_over_time(DCGM_FI_DEV_GPU_TEMP[30m])'],
    ['sum count last present over_time', 'sum_over_time(DCGM_FI_DEV_GPU_UTIL[10m]) / count_over_time(DCGM_FI_DEV_GPU_UTIL[10m]) + last_over_time(DCGM_FI_DEV_GPU_UTIL[10m]) + present_over_time(DCGM_FI_DEV_GPU_UTIL[10m])'],
    ['staleness marker: gone at once', 'batch_job_progress{job="trainer"}', stop + 2],
    ['no marker: inside lookback', 'batch_job_progress{job="loader"}', stop + 2],
    ['no marker: past lookback', 'batch_job_progress', stop + 7],
    ['timestamp()', 'timestamp(batch_job_progress)', stop + 2],
    ['absent_over_time', 'absent_over_time(batch_job_progress{instance="host-0000:9100"}[5m])', stop + 7],
    ['count_over_time of stopped', 'count_over_time(batch_job_progress[1h])', stop + 20],
    ['date functions', 'hour(timestamp(batch_job_progress)) + minute(timestamp(batch_job_progress)) + on () group_left day_of_week()', stop - 5],
    ['many-to-many error', 'http_requests_total * on (instance) group_left node_cpu_seconds_total'],
    ['parse error', 'rate(http_requests_total[5m]'],
  ];
  const range: RangeCase[] = [
    ['range: selector', 'DCGM_FI_DEV_GPU_TEMP{gpu="1"}'],
    ['range: rate', 'rate(http_requests_total[5m])', 30],
    ['range: irate', 'irate(http_requests_total{method="GET"}[5m])'],
    ['range: sum by rate', 'sum by (job) (rate(http_requests_total[5m]))', 15],
    ['range: avg by', 'avg by (instance) (DCGM_FI_DEV_GPU_TEMP)'],
    ['range: topk', 'topk(3, rate(node_cpu_seconds_total[5m]))'],
    ['range: histogram_quantile', 'histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[5m])))'],
    ['range: histogram_quantile by job', 'histogram_quantile(0.99, sum by (job, le) (increase(request_duration_seconds_bucket[30m])))', 120],
    ['range: subquery', 'max_over_time(rate(http_requests_total[5m])[30m:1m])'],
    ['range: @ end()', 'rate(http_requests_total{code="200"}[5m] @ end())'],
    ['range: group_left', 'DCGM_FI_DEV_GPU_UTIL * on (instance, gpu) group_left (rank) gpu_rank_info'],
    ['range: ratio', 'sum by (instance) (rate(http_requests_total{code="500"}[5m])) / sum by (instance) (rate(http_requests_total[5m]))'],
    ['range: comparison bool', 'DCGM_FI_DEV_GPU_TEMP > bool 65'],
    ['range: predict_linear', 'predict_linear(node_memory_MemAvailable_bytes[30m], 3600)'],
    ['range: staleness', 'batch_job_progress'],
    ['range: absent_over_time', 'absent_over_time(batch_job_progress{instance="host-0000:9100"}[5m])'],
    ['range: time()', 'time() - vector(1)', 300],
    ['range: mean from _sum and _count', 'sum by (job) (rate(request_duration_seconds_sum[5m])) / sum by (job) (rate(request_duration_seconds_count[5m]))'],
    ['range: offset', 'increase(http_requests_total{method="POST"}[10m] offset 30m)'],
    ['range: a range vector is refused', 'http_requests_total[5m]'],
  ];
  const at = (minute: number): number => startMs + minute * MINUTE_MS + 30_000;
  const specs: QuerySpec[] = instant.map(([id, query, minute]) => ({ id, query, timeMs: at(minute ?? late) }));
  for (const [id, query, stepSeconds] of range) {
    specs.push({ id, query, range: { startMs: at(45), endMs: at(spanMinutes - 1), stepMs: (stepSeconds ?? 60) * 1000 } });
  }
  return specs;
}

/** Days of data from which the benchmark runs its 24 h queries (one hour more: see dayQueries). */
export const DAY_WORKLOAD_HOURS = 25;

/**
 * The benchmark's queries (the list: rate, sum by, histogram_quantile, topk, over 1 h and
 * 24 h). Over a workload of DAY_WORKLOAD_HOURS or more, the 24 h set (dayQueries); else instant and
 * range over the whole workload.
 */
export function benchQueries(startMs: number, endMs: number): QuerySpec[] {
  const spanMinutes = Math.floor((endMs - startMs) / MINUTE_MS);
  const timeMs = startMs + (spanMinutes - 1) * MINUTE_MS + 30_000;
  if (spanMinutes >= DAY_WORKLOAD_HOURS * 60) return dayQueries(timeMs);
  // From 10 minutes in: no counter window starts before the data (see the extrapolation note above).
  const range = { startMs: startMs + 10 * MINUTE_MS + 30_000, endMs: timeMs, stepMs: 60_000 };
  const cases: Array<[string, string]> = [
    ['rate', 'rate(node_cpu_seconds_total[5m])'],
    ['sum by rate', 'sum by (instance) (rate(http_requests_total[5m]))'],
    ['histogram_quantile', 'histogram_quantile(0.9, sum by (job, le) (rate(request_duration_seconds_bucket[5m])))'],
    ['topk', 'topk(10, rate(node_cpu_seconds_total[5m]))'],
    ['avg by over 1h', 'avg by (job) (avg_over_time(DCGM_FI_DEV_GPU_TEMP[1h]))'],
    ['group_left join', 'DCGM_FI_DEV_GPU_UTIL * on (instance, gpu) group_left (rank) gpu_rank_info'],
  ];
  const specs: QuerySpec[] = [];
  for (const [id, query] of cases) {
    specs.push({ id: `instant ${id}`, query, timeMs });
    specs.push({ id: `range ${id}`, query, range });
  }
  return specs;
}

/**
 * The 24 h queries, evaluated at `timeMs` (the end of the data): range queries over the last 24 h at
 * a 5 m step (288 steps, as a dashboard's 24 h panel asks), and instant ones whose windows are 24 h.
 * The data begins an hour before those 24 h, so that no counter window starts before the first sample
 * (where 2.42 and 3.x extrapolate differently).
 */
function dayQueries(timeMs: number): QuerySpec[] {
  const range = { startMs: timeMs - 24 * 60 * MINUTE_MS, endMs: timeMs, stepMs: 5 * MINUTE_MS };
  const ranges: Array<[string, string]> = [
    ['rate', 'rate(node_cpu_seconds_total[5m])'],
    ['sum by rate', 'sum by (instance) (rate(http_requests_total[5m]))'],
    ['histogram_quantile', 'histogram_quantile(0.9, sum by (job, le) (rate(request_duration_seconds_bucket[5m])))'],
    ['topk', 'topk(10, rate(node_cpu_seconds_total[5m]))'],
    ['avg by over 1h', 'avg by (job) (avg_over_time(DCGM_FI_DEV_GPU_TEMP[1h]))'],
  ];
  const instants: Array<[string, string]> = [
    ['sum by rate[24h]', 'sum by (instance) (rate(http_requests_total[24h]))'],
    ['histogram_quantile rate[24h]', 'histogram_quantile(0.9, sum by (job, le) (rate(request_duration_seconds_bucket[24h])))'],
    ['topk increase[24h]', 'topk(10, increase(node_cpu_seconds_total[24h]))'],
    ['avg by over 24h', 'avg by (job) (avg_over_time(DCGM_FI_DEV_GPU_TEMP[24h]))'],
  ];
  return [
    ...ranges.map(([id, query]): QuerySpec => ({ id: `24h range ${id}`, query, range })),
    ...instants.map(([id, query]): QuerySpec => ({ id: `instant ${id}`, query, timeMs })),
  ];
}
