// PromQL rules evaluate through the PromQL engine over the TSDB. The rule group speaks the LogQL
// engine's instant-query shape (rule-group.ts `RuleQueryEngine`); this adapts the PromQL engine to
// it, so alert state, recording and notification are the same code for both languages.

import type { QueryParams, QueryResult } from '../logql/api.ts';
import type { QueryOptions, QueryResult as PromqlQueryResult } from '../promql/engine/engine.ts';
import type { RuleQueryEngine } from './rule-group.ts';

/** What the ruler needs from the PromQL engine (src/promql/engine/engine.ts `PromQLEngine` satisfies it). */
export interface PromqlInstantEngine {
  instantQuery(tenant: string, query: string, timeMs: number, options?: QueryOptions): Promise<PromqlQueryResult>;
}

const NO_STATS = { bytesProcessed: 0, linesProcessed: 0, blocksRead: 0, blocksSkipped: 0, execTimeSeconds: 0 };

export function promqlRuleEngine(engine: PromqlInstantEngine): RuleQueryEngine {
  return {
    async query(params: QueryParams): Promise<QueryResult> {
      const timeMs = Number(params.endNs / 1_000_000n);
      const { value } = await engine.instantQuery(params.tenant, params.query, timeMs, params.signal === undefined ? {} : { signal: params.signal });
      switch (value.resultType) {
        case 'vector':
          return {
            resultType: 'vector',
            // Native histogram samples have no float value a rule could compare or record.
            samples: value.result.filter((sample) => sample.histogram === undefined).map((sample) => ({ labels: sample.labels, timestampMs: sample.timestampMs, value: sample.value })),
            stats: NO_STATS,
          };
        case 'scalar':
          return { resultType: 'scalar', timestampMs: value.result.timestampMs, value: value.result.value, stats: NO_STATS };
        case 'matrix':
          throw new Error('rule expression returned a range vector; rules need an instant vector or a scalar (drop the [range] or wrap it in a function such as rate)');
        case 'string':
          throw new Error('rule expression returned a string; rules need an instant vector or a scalar');
      }
    },
  };
}

/** Stands in for the PromQL engine when the server runs without the TSDB (`tsdb.enabled: false`). */
export const missingPromqlEngine: RuleQueryEngine = {
  query: () => Promise.reject(new Error('PromQL rules need the metrics store: set tsdb.enabled: true')),
};
