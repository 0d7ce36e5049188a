// The ingest path after decoding: validate against the tenant's limits, take the bytes from the
// tenant's rate bucket, append to the store (which resolves once the WAL is fsync'd), then hand the
// entries to live tail. No HTTP here; the push route maps outcomes to status codes.

import { rawColumnsOf } from '../push/raw-push-stream.ts';
import type { PushStream } from '../push/types.ts';
import type { LogStore } from '../store/types.ts';
import { addDetectedLevels } from './level-detection.ts';
import { TenantRateLimiter } from './rate-limiter.ts';
import { addServiceNames } from './service-name.ts';
import { StreamLimiter } from './stream-limiter.ts';
import type { TailHub } from './tail-hub.ts';
import { validatePush, type DiscardReason, type ValidationLimits } from './validate.ts';

export interface IngestLimits extends ValidationLimits {
  ingestionRateBytesPerSecond: number;
  ingestionBurstBytes: number;
  /** Loki's max_global_streams_per_user: active streams per tenant; 0 = unlimited. */
  maxStreamsPerTenant?: number;
  /** Loki 3's discover_log_levels: add `detected_level` structured metadata to every entry. */
  discoverLogLevels?: boolean;
  /** Loki 3's discover_service_name: labels to copy into a missing `service_name`; empty = off. */
  discoverServiceName?: readonly string[];
}

/** Where ingest reports what it accepted and dropped (the server turns these into /metrics). */
export interface IngestObserver {
  accepted(tenant: string, lines: number, bytes: number): void;
  discarded(tenant: string, reason: DiscardReason | 'rate_limited' | 'stream_limit', lines: number, bytes: number): void;
  truncated(tenant: string, lines: number): void;
}

export class IngestError extends Error {
  /** 400 bad input, 429 rate limited. */
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.name = 'IngestError';
    this.statusCode = statusCode;
  }
}

export interface PushOutcome {
  acceptedLines: number;
  acceptedBytes: number;
  /** Per-stream/per-entry problems; the valid rest was ingested. Non-empty means answer 400. */
  errors: string[];
  /** Set when new streams were refused by the active stream limit (the rest was ingested): answer 429. */
  streamLimitMessage?: string;
}

export class Distributor {
  private readonly store: LogStore;
  private readonly limits: IngestLimits;
  private readonly rateLimiter: TenantRateLimiter;
  private readonly streamLimiter: StreamLimiter;
  private readonly tailHub: TailHub | undefined;
  private readonly observer: IngestObserver | undefined;
  private readonly onDurable: ((tenant: string, streams: PushStream[], nowMs: number) => void) | undefined;

  /** `onDurable` sees every accepted push once it is durable (the training run tracker). */
  constructor(options: { store: LogStore; limits: IngestLimits; tailHub?: TailHub; observer?: IngestObserver; onDurable?: (tenant: string, streams: PushStream[], nowMs: number) => void }) {
    this.store = options.store;
    this.limits = options.limits;
    this.rateLimiter = new TenantRateLimiter(options.limits.ingestionRateBytesPerSecond, options.limits.ingestionBurstBytes);
    this.streamLimiter = new StreamLimiter(options.limits.maxStreamsPerTenant ?? 0);
    this.tailHub = options.tailHub;
    this.observer = options.observer;
    this.onDurable = options.onDurable;
  }

  /**
   * Resolves once every accepted entry is durable. Throws IngestError when nothing may be ingested.
   * `pushBody`: the snappy-compressed PushRequest body `streams` were decoded from (lines as bytes);
   * when every stream is accepted as it came, the store may log that body instead of re-encoding.
   */
  async push(tenant: string, streams: PushStream[], nowMs = Date.now(), pushBody?: Buffer): Promise<PushOutcome> {
    // What the decoder made, to tell afterwards whether anything here changed it.
    const decodedLabels = pushBody === undefined ? undefined : streams.map((stream) => stream.labels);
    const validation = validatePush(streams, this.limits, nowMs);
    for (const [reason, counts] of validation.discarded) this.observer?.discarded(tenant, reason, counts.lines, counts.bytes);
    if (validation.truncatedLines > 0) this.observer?.truncated(tenant, validation.truncatedLines);
    if (validation.acceptedLines === 0) {
      if (validation.errors.length > 0) throw new IngestError(400, validation.errors.join('\n'));
      throw new IngestError(400, 'error at least one valid stream is required for ingestion');
    }
    const admitted = this.streamLimiter.admit(tenant, validation.streams, nowMs);
    if (admitted.refused.length > 0) {
      let lines = 0;
      let bytes = 0;
      for (const stream of admitted.refused) {
        lines += stream.entries.length;
        for (const entry of stream.entries) {
          bytes += Buffer.byteLength(entry.line);
          for (const pair of entry.structuredMetadata ?? []) bytes += pair.name.length + Buffer.byteLength(pair.value);
        }
      }
      this.observer?.discarded(tenant, 'stream_limit', lines, bytes);
      validation.streams = admitted.accepted;
      validation.acceptedLines -= lines;
      validation.acceptedBytes -= bytes;
      if (admitted.accepted.length === 0) throw new IngestError(429, admitted.message!);
    }
    if (!this.rateLimiter.allow(tenant, validation.acceptedBytes, nowMs)) {
      this.observer?.discarded(tenant, 'rate_limited', validation.acceptedLines, validation.acceptedBytes);
      throw new IngestError(
        429,
        `ingestion rate limit exceeded for user ${tenant} (limit: ${Math.round(this.rateLimiter.ratePerSecondBytes)} bytes/sec) while attempting to ingest '${validation.acceptedLines}' lines totaling '${validation.acceptedBytes}' bytes, reduce log volume or contact your Loki administrator to see if the limit can be increased`,
      );
    }
    if (this.limits.discoverLogLevels === true) addDetectedLevels(validation.streams);
    if (this.limits.discoverServiceName !== undefined && this.limits.discoverServiceName.length > 0) addServiceNames(validation.streams, this.limits.discoverServiceName);
    const asDecoded = decodedLabels !== undefined && acceptedAsDecoded(streams, decodedLabels, validation.streams);
    await this.store.append(tenant, validation.streams, asDecoded ? { pushBody: pushBody! } : undefined);
    this.observer?.accepted(tenant, validation.acceptedLines, validation.acceptedBytes);
    this.onDurable?.(tenant, validation.streams, nowMs);
    this.tailHub?.publish(tenant, validation.streams);
    return {
      acceptedLines: validation.acceptedLines,
      acceptedBytes: validation.acceptedBytes,
      errors: validation.errors,
      ...(admitted.message !== undefined ? { streamLimitMessage: admitted.message } : {}),
    };
  }
}

/**
 * Whether ingest kept every decoded stream as the decoder made it: the same objects in the same
 * order with the same label objects (a service_name is added by replacing them), their entries
 * still the decoded columns (nothing dropped, cut or given metadata: any of those builds entries or
 * a new stream).
 */
function acceptedAsDecoded(decoded: readonly PushStream[], decodedLabels: readonly PushStream['labels'][], accepted: readonly PushStream[]): boolean {
  if (decoded.length !== accepted.length) return false;
  for (let s = 0; s < decoded.length; s++) {
    const stream = accepted[s]!;
    if (stream !== decoded[s] || stream.labels !== decodedLabels[s] || rawColumnsOf(stream) === undefined) return false;
  }
  return true;
}
