// The training runs API (docs/training.md), thin over src/training/run-tracker.ts:
//   GET /api/v1/runs[?status=&limit=]            runs, newest first
//   GET /api/v1/runs/{id}                        one run with first_failure and hung_ranks
//   GET /api/v1/runs/{id}/failures               the origin with evidence, and every failure seen
//   GET /api/v1/runs/{id}/series                 the series names found
//   GET /api/v1/runs/{id}/series?name=&rank=     points per rank
//   GET /api/v1/runs/{id}/gpu[?start=&end=&step=] GPU utilization per rank and the GPU verdict
//                                                (PromQL over the metrics store, src/training/run-gpu.ts)
// Tenants come from X-Scope-OrgID as for the Loki API. Errors are plain text: 400 bad parameter,
// 404 unknown run.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RUNS_DEFAULT_LIMIT, RUNS_MAX_LIMIT, type RunTracker } from '../training/run-tracker.ts';
import { defaultGpuWindow, GPU_STRIP_BUCKETS, runGpuView, type RunGpuWindow } from '../training/run-gpu.ts';
import type { PromqlEngine } from './prometheus-routes.ts';
import { BadRequestError, parseStepMs, parseTimestampNs } from './query-params.ts';
import { resolveTenant } from './tenant.ts';

export interface TrainingRoutesOptions {
  tracker: RunTracker;
  authEnabled: boolean;
  /** The PromQL engine over the metrics store; without it (tsdb.enabled: false) the GPU route says so. */
  metrics?: Pick<PromqlEngine, 'rangeQuery'>;
  queryTimeoutMs?: number;
  now?: () => number;
}

const STATUSES = new Set(['running', 'finished', 'failed', 'hung']);
const MAX_SERIES_POINTS = 100_000;
/** A GPU strip wider than this many steps is refused (the page asks for 240). */
const MAX_GPU_STEPS = 11_000;

type Query = Record<string, string | string[] | undefined>;

function single(query: Query, name: string): string | undefined {
  const value = query[name];
  return Array.isArray(value) ? value[value.length - 1] : value;
}

function wholeNumber(text: string | undefined, name: string, min: number, max: number): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) throw new BadRequestError(`invalid ${name} ${JSON.stringify(text)}: expected a whole number from ${min} to ${max}`);
  return Number(text);
}

export async function trainingRoutes(app: FastifyInstance, options: TrainingRoutesOptions): Promise<void> {
  const { tracker } = options;
  const handle = (handler: (request: FastifyRequest, tenant: string, query: Query) => unknown) => async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const tenant = resolveTenant(request, options.authEnabled);
      const body = await handler(request, tenant, (request.query ?? {}) as Query);
      return reply.code(200).type('application/json; charset=utf-8').send(JSON.stringify(body));
    } catch (error) {
      if (error instanceof BadRequestError) return reply.code(error.statusCode).type('text/plain; charset=utf-8').send(error.message);
      throw error;
    }
  };
  const runOf = (request: FastifyRequest, tenant: string) => {
    const id = (request.params as { id: string }).id;
    const run = tracker.run(tenant, id);
    if (run === undefined) throw new BadRequestError(`run ${JSON.stringify(id)} not found`, 404);
    return run;
  };

  app.get(
    '/api/v1/runs',
    handle((_request, tenant, query) => {
      const status = single(query, 'status');
      if (status !== undefined && status !== '' && !STATUSES.has(status)) throw new BadRequestError(`invalid status ${JSON.stringify(status)}: expected running, finished, failed or hung`);
      const limit = wholeNumber(single(query, 'limit'), 'limit', 1, RUNS_MAX_LIMIT) ?? RUNS_DEFAULT_LIMIT;
      return { runs: tracker.listRuns(tenant, { ...(status !== undefined && status !== '' ? { status } : {}), limit }) };
    }),
  );
  app.get(
    '/api/v1/runs/:id',
    handle((request, tenant) => tracker.runDetail(runOf(request, tenant))),
  );
  app.get(
    '/api/v1/runs/:id/failures',
    handle((request, tenant) => tracker.failures(runOf(request, tenant))),
  );
  app.get(
    '/api/v1/runs/:id/series',
    handle((request, tenant, query) => {
      const run = runOf(request, tenant);
      const name = single(query, 'name');
      if (name === undefined || name === '') return { names: run.series.names() };
      const rank = wholeNumber(single(query, 'rank'), 'rank', 0, 10_000_000);
      const maxPoints = wholeNumber(single(query, 'max_points'), 'max_points', 2, MAX_SERIES_POINTS);
      const series = tracker.series(run, name, rank, maxPoints);
      if (rank !== undefined) {
        const one = series[0];
        if (one === undefined) throw new BadRequestError(`run ${JSON.stringify(run.id)} has no series ${JSON.stringify(name)} for rank ${rank}`, 404);
        return one;
      }
      return { name, series };
    }),
  );
  app.get(
    '/api/v1/runs/:id/gpu',
    handle(async (request, tenant, query) => {
      const run = runOf(request, tenant);
      const nowMs = (options.now ?? Date.now)();
      const metrics = options.metrics;
      if (metrics === undefined) return { metric: 'DCGM_FI_DEV_GPU_UTIL', ranks: [], verdict: null, note: 'no metrics store on this server (tsdb.enabled: false)' };
      const window = gpuWindow(query, defaultGpuWindow(tracker, run, nowMs));
      const timeoutMs = options.queryTimeoutMs ?? 30_000;
      return runGpuView(
        tracker,
        run,
        async (promql, startMs, endMs, stepMs) => {
          let answer;
          try {
            answer = await metrics.rangeQuery(tenant, promql, startMs, endMs, stepMs, { timeoutMs, signal: AbortSignal.timeout(timeoutMs) });
          } catch (error) {
            // The engine tags its errors (promql-engine.ts): a timeout is the server's to retry, the rest a query that failed.
            const errorType = (error as { errorType?: string }).errorType;
            if (errorType === undefined) throw error;
            throw new BadRequestError(`GPU utilization query failed (${errorType}): ${(error as Error).message}`, errorType === 'timeout' || errorType === 'canceled' ? 503 : 422);
          }
          return answer.data.resultType === 'matrix' ? answer.data.result : [];
        },
        window,
        nowMs,
      );
    }),
  );
}

/** `start`, `end` (as the Loki and Prometheus APIs take them) and `step` over the page's defaults. */
function gpuWindow(query: Query, fallback: RunGpuWindow): RunGpuWindow {
  const startMs = Number(parseTimestampNs(single(query, 'start'), 'start', BigInt(fallback.startMs) * 1_000_000n) / 1_000_000n);
  const endMs = Number(parseTimestampNs(single(query, 'end'), 'end', BigInt(fallback.endMs) * 1_000_000n) / 1_000_000n);
  if (endMs <= startMs) throw new BadRequestError(`invalid window: end (${new Date(endMs).toISOString()}) must be after start (${new Date(startMs).toISOString()})`);
  const stepText = single(query, 'step');
  const stepMs = stepText === undefined || stepText === '' ? Math.max(1000, Math.ceil((endMs - startMs) / GPU_STRIP_BUCKETS / 1000) * 1000) : parseStepMs(stepText, 'step');
  if (stepMs < 1000) throw new BadRequestError(`invalid step ${JSON.stringify(stepText)}: at least 1s (GPU samples come at most once a second)`);
  if ((endMs - startMs) / stepMs > MAX_GPU_STEPS) throw new BadRequestError(`invalid step ${JSON.stringify(stepText)}: more than ${MAX_GPU_STEPS} steps from start to end; use a larger step`);
  return { startMs, endMs, stepMs };
}
