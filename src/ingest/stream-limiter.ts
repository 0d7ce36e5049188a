// Loki's max_global_streams_per_user: how many active streams one tenant may have. A stream is
// active from its first accepted entry until it has been idle for ACTIVE_STREAM_IDLE_MS (Loki's
// ingesters drop a stream once its chunks are flushed after chunk_idle_period, 30m by default). New
// streams over the limit are refused with Loki's message; streams already active always pass.

import { formatLabels } from '../push/labels.ts';
import type { PushStream } from '../push/types.ts';

/** Loki's chunk_idle_period default: a stream with no entry for this long no longer counts. */
export const ACTIVE_STREAM_IDLE_MS = 30 * 60_000;
/** How often a tenant's idle streams are swept (at push time; no timer). */
const SWEEP_INTERVAL_MS = 60_000;

interface TenantStreams {
  lastSeenMs: Map<string, number>;
  sweptMs: number;
}

export interface StreamLimitOutcome {
  accepted: PushStream[];
  refused: PushStream[];
  /** Loki's 429 message naming the first refused stream, when any was refused. */
  message?: string;
}

export class StreamLimiter {
  /** 0 = no limit (and nothing is tracked). */
  readonly maxStreamsPerTenant: number;
  private readonly tenants = new Map<string, TenantStreams>();

  constructor(maxStreamsPerTenant: number) {
    this.maxStreamsPerTenant = maxStreamsPerTenant;
  }

  /** Splits a push into streams that may be ingested and new ones over the limit; marks the accepted active. */
  admit(tenant: string, streams: PushStream[], nowMs: number): StreamLimitOutcome {
    if (this.maxStreamsPerTenant <= 0) return { accepted: streams, refused: [] };
    let state = this.tenants.get(tenant);
    if (state === undefined) {
      state = { lastSeenMs: new Map(), sweptMs: nowMs };
      this.tenants.set(tenant, state);
    }
    if (nowMs - state.sweptMs >= SWEEP_INTERVAL_MS) this.sweep(state, nowMs);
    const accepted: PushStream[] = [];
    const refused: PushStream[] = [];
    let firstRefused: string | undefined;
    for (const stream of streams) {
      const key = formatLabels(stream.labels);
      // At the limit, streams that went idle since the last sweep make room before anything is refused.
      if (!state.lastSeenMs.has(key) && state.lastSeenMs.size >= this.maxStreamsPerTenant && state.sweptMs !== nowMs) this.sweep(state, nowMs);
      if (state.lastSeenMs.has(key) || state.lastSeenMs.size < this.maxStreamsPerTenant) {
        state.lastSeenMs.set(key, nowMs);
        accepted.push(stream);
      } else {
        firstRefused ??= key;
        refused.push(stream);
      }
    }
    if (firstRefused === undefined) return { accepted, refused };
    return {
      accepted,
      refused,
      message: `Maximum active stream limit exceeded when trying to create stream ${firstRefused}, reduce the number of active streams (reduce labels or reduce label values), or contact your Loki administrator to see if the limit can be increased, user: '${tenant}'`,
    };
  }

  activeStreams(tenant: string): number {
    return this.tenants.get(tenant)?.lastSeenMs.size ?? 0;
  }

  private sweep(state: TenantStreams, nowMs: number): void {
    state.sweptMs = nowMs;
    for (const [key, lastSeenMs] of state.lastSeenMs) if (nowMs - lastSeenMs >= ACTIVE_STREAM_IDLE_MS) state.lastSeenMs.delete(key);
  }
}
