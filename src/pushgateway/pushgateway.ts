// The Pushgateway, embedded: pushed groups (group-store.ts) kept durable a file per group (group-file.ts) and
// written into the TSDB by the sampler (sampler.ts) at each push and every sample interval, with the
// opt-in TTL applied at each tick. Every change runs in one queue, so a push's consistency check, its
// file write and its samples are never interleaved with another change, and a DELETE keeps its order
// relative to pushes (as the Pushgateway guarantees).

import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseExposition, type ParsedExposition } from '../push/exposition-parse.ts';
import { decodeMetricFamiliesDelimited, isDelimitedMetricFamily } from '../push/metric-family-proto.ts';
import type { Labels } from '../push/types.ts';
import { readGroupFiles, removeGroupFile, writeGroupFile } from './group-file.ts';
import { familiesOfPush, PushGroupStore, PushRejectedError, type PushGroup, type PushMethod } from './group-store.ts';
import { groupingKeyId } from './grouping-key.ts';
import { PushSampler, type MetricsAppender } from './sampler.ts';

export interface PushgatewayOptions {
  /** Groups are kept under `<dataDir>/pushgateway/groups/`, a file each. */
  dataDir: string;
  metrics: MetricsAppender;
  /** How often every group's last values are written (Prometheus' scrape_interval of a Pushgateway). */
  sampleIntervalMs: number;
  /** TTL of groups pushed without one; 0 = groups live until deleted (the Pushgateway's behaviour). */
  defaultTtlMs: number;
  now?: () => number;
  onError?: (error: Error) => void;
}

export interface PushBodyHeaders {
  contentType?: string | undefined;
  contentEncoding?: string | undefined;
}

export class PushBodyError extends Error {
  override name = 'PushBodyError';
}

export class Pushgateway {
  private readonly options: PushgatewayOptions;
  private readonly store = new PushGroupStore();
  private readonly sampler: PushSampler;
  private readonly groupsDirectory: string;
  private readonly now: () => number;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  readonly startTimeMs: number;

  private constructor(options: PushgatewayOptions) {
    this.options = options;
    this.sampler = new PushSampler(options.metrics);
    this.groupsDirectory = join(options.dataDir, 'pushgateway', 'groups');
    this.now = options.now ?? Date.now;
    this.startTimeMs = this.now();
  }

  /** Loads the groups pushed before a restart and starts sampling. */
  static async open(options: PushgatewayOptions): Promise<Pushgateway> {
    const gateway = new Pushgateway(options);
    const saved = await readGroupFiles(gateway.groupsDirectory);
    for (const [tenant, groups] of Object.entries(saved)) gateway.store.load(tenant, groups);
    gateway.scheduleTick();
    return gateway;
  }

  get sampleIntervalMs(): number {
    return this.options.sampleIntervalMs;
  }

  /**
   * Applies a push: delimited protobuf when the Content-Type says so, else the text format; gzip
   * when the Content-Encoding says so. Throws PushBodyError
   * for an unreadable body (nothing recorded), PushRejectedError for a push the consistency check
   * refuses (the group's failure time is recorded). `ttlMs` undefined: the group keeps its TTL, or
   * gets the default when new.
   */
  push(tenant: string, method: PushMethod, groupLabels: Labels, body: Buffer, headers: PushBodyHeaders, ttlMs?: number): Promise<PushGroup> {
    return this.enqueue(async () => {
      const parsed = parseBody(decodeBody(body, headers.contentEncoding), headers.contentType);
      const nowMs = this.now();
      let families;
      try {
        families = familiesOfPush(parsed, groupLabels, nowMs);
      } catch (error) {
        if (!(error instanceof PushRejectedError)) throw error;
        families = error;
      }
      const before = this.store.get(tenant, groupLabels);
      const effectiveTtlMs = ttlMs ?? (before === undefined && this.options.defaultTtlMs > 0 ? this.options.defaultTtlMs : undefined);
      let group: PushGroup;
      try {
        group = this.store.push(tenant, method, groupLabels, families, nowMs, effectiveTtlMs).group;
      } catch (error) {
        if (!(error instanceof PushRejectedError)) throw error;
        await this.persistOrRestore(tenant, groupLabels, before);
        await this.sampler.sample(tenant, groupingKeyId(groupLabels), this.store.get(tenant, groupLabels), nowMs);
        throw error;
      }
      await this.persistOrRestore(tenant, groupLabels, before);
      if (!(families instanceof PushRejectedError)) {
        for (const [name, family] of Object.entries(families)) {
          this.options.metrics.setMetadata?.(tenant, name, { type: family.type === 'UNTYPED' ? 'unknown' : family.type.toLowerCase(), help: family.help ?? '', unit: '' });
        }
      }
      await this.sampler.sample(tenant, groupingKeyId(group.labels), group, nowMs);
      return group;
    });
  }

  /** Removes a group (a no-op when there is none); its series get staleness markers. */
  delete(tenant: string, groupLabels: Labels): Promise<void> {
    return this.enqueue(async () => {
      const before = this.store.delete(tenant, groupLabels);
      if (before === undefined) return;
      await this.persistOrRestore(tenant, groupLabels, before);
      await this.sampler.sample(tenant, groupingKeyId(groupLabels), undefined, this.now());
    });
  }

  groups(tenant: string): PushGroup[] {
    return this.store.groups(tenant);
  }

  /** Expires groups past their TTL and writes every group's values at the current time. */
  tick(): Promise<void> {
    return this.enqueue(async () => {
      const nowMs = this.now();
      const expired = this.store.expire(nowMs);
      for (const { tenant, group } of expired) await removeGroupFile(this.groupsDirectory, tenant, group.labels);
      const byTenant = new Map<string, Array<{ groupId: string; group: PushGroup | undefined }>>();
      for (const { tenant, group } of expired) byTenant.set(tenant, [...(byTenant.get(tenant) ?? []), { groupId: groupingKeyId(group.labels), group: undefined }]);
      for (const tenant of this.store.tenantIds()) {
        const entries = byTenant.get(tenant) ?? [];
        for (const group of this.store.groups(tenant)) entries.push({ groupId: groupingKeyId(group.labels), group });
        byTenant.set(tenant, entries);
      }
      for (const [tenant, entries] of byTenant) await this.sampler.sampleAll(tenant, entries, nowMs);
    });
  }

  /** Stops sampling and waits for changes in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.queue.catch(() => undefined);
  }

  private scheduleTick(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.tick()
        .catch((error: unknown) => this.options.onError?.(error as Error))
        .finally(() => this.scheduleTick());
    }, this.options.sampleIntervalMs);
    this.timer.unref();
  }

  /** Persists the group's state; if that fails, puts it back as it was, so memory never holds what disk does not. */
  private async persistOrRestore(tenant: string, groupLabels: Labels, before: PushGroup | undefined): Promise<void> {
    try {
      const group = this.store.get(tenant, groupLabels);
      if (group === undefined) await removeGroupFile(this.groupsDirectory, tenant, groupLabels);
      else await writeGroupFile(this.groupsDirectory, tenant, group);
    } catch (error) {
      this.store.restore(tenant, groupLabels, before);
      throw error;
    }
  }

  private enqueue<T>(work: () => Promise<T>): Promise<T> {
    const result = this.queue.then(work, work);
    this.queue = result.catch(() => undefined);
    return result;
  }
}

function parseBody(body: Buffer, contentType: string | undefined): ParsedExposition {
  if (isDelimitedMetricFamily(contentType)) {
    try {
      return decodeMetricFamiliesDelimited(body);
    } catch (error) {
      throw new PushBodyError(`protobuf parsing error: ${(error as Error).message}`);
    }
  }
  try {
    return parseExposition(body.toString('utf8'), 'prometheus-text');
  } catch (error) {
    throw new PushBodyError(`text format parsing error in ${(error as Error).message}`);
  }
}

/** The decompressed body; gzip is the one encoding besides identity that clients send. */
function decodeBody(body: Buffer, contentEncoding: string | undefined, maxBytes = 64 * 1024 * 1024): Buffer {
  const encoding = (contentEncoding ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity') return body;
  if (encoding !== 'gzip') throw new PushBodyError(`unsupported Content-Encoding ${JSON.stringify(contentEncoding)}: send gzip or an uncompressed body`);
  try {
    return gunzipSync(body, { maxOutputLength: maxBytes });
  } catch (error) {
    throw new PushBodyError(`cannot gunzip the body: ${(error as Error).message}`);
  }
}
