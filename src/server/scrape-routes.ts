// GET /api/v1/targets (and under /prometheus) as Prometheus answers it: activeTargets with their
// discovered and final labels, scrape pool, URL, last error, last scrape time and duration, health,
// interval and timeout; droppedTargets and droppedTargetCounts. `state` (active, dropped, any) and
// `scrapePool` filter as in Prometheus.

import type { FastifyInstance } from 'fastify';
import { formatDurationMs } from '../duration/duration.ts';
import type { ScrapeManager } from '../scrape/scrape-manager.ts';

export interface ScrapeRoutesOptions {
  manager: ScrapeManager | undefined;
}

/** Go's zero time, which Prometheus shows for a target not scraped yet. */
const NEVER = '0001-01-01T00:00:00Z';

export async function scrapeRoutes(app: FastifyInstance, options: ScrapeRoutesOptions): Promise<void> {
  for (const prefix of ['/api/v1', '/prometheus/api/v1']) {
    app.get(`${prefix}/targets`, async (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      const state = (query.state ?? 'any').toLowerCase();
      const pool = query.scrapePool;
      const manager = options.manager;
      const showActive = state === 'any' || state === 'active' || state === '';
      const showDropped = state === 'any' || state === 'dropped' || state === '';
      const active = showActive && manager !== undefined ? manager.activeTargets().filter(({ target }) => pool === undefined || target.job === pool) : [];
      const dropped = manager?.droppedTargets().filter(({ job }) => pool === undefined || job === pool) ?? [];
      const droppedTargetCounts: Record<string, number> = {};
      for (const { job } of dropped) droppedTargetCounts[job] = (droppedTargetCounts[job] ?? 0) + 1;
      return reply.send({
        status: 'success',
        data: {
          activeTargets: active.map(({ target, status, config }) => ({
            discoveredLabels: target.discoveredLabels,
            labels: target.labels,
            scrapePool: target.job,
            scrapeUrl: target.url,
            globalUrl: target.url,
            lastError: status.lastError,
            lastScrape: status.lastScrapeMs === 0 ? NEVER : new Date(status.lastScrapeMs).toISOString(),
            lastScrapeDuration: status.lastScrapeDurationSeconds,
            health: status.health,
            scrapeInterval: formatDurationMs(config.scrape_interval),
            scrapeTimeout: formatDurationMs(config.scrape_timeout),
          })),
          droppedTargets: showDropped ? dropped.map(({ discoveredLabels }) => ({ discoveredLabels })) : [],
          droppedTargetCounts,
        },
      });
    });
  }
}
