// Loki's multi-tenant queries (loki-api.md §0.1): `X-Scope-OrgID: a|b` reads several tenants at once and
// every stream carries an extra `__tenant_id__` label, which selectors may match on. This wraps the store's
// read side so the LogQL engine and the label/series/stats endpoints see one merged source; a single
// tenant passes straight through. Writes never take several tenants.

import { matchesWhole } from '../regex/index.ts';
import type { BlockQuery, BlockReaderConfig, BlockRef, IndexStats, LabelMatcher, Labels, LogStore, StoreMetrics, StreamInfo, AppendStream, AppendOptions } from '../store/types.ts';

export const TENANT_LABEL = '__tenant_id__';
export const TENANT_SEPARATOR = '|';

/** The tenants of a multi-tenant id, or undefined for a single tenant. */
function tenantsOf(tenant: string): string[] | undefined {
  return tenant.includes(TENANT_SEPARATOR) ? tenant.split(TENANT_SEPARATOR) : undefined;
}

function matcherAccepts(matcher: LabelMatcher, value: string): boolean {
  switch (matcher.type) {
    case '=':
      return value === matcher.value;
    case '!=':
      return value !== matcher.value;
    case '=~':
      return matchesWhole(matcher.value, value);
    case '!~':
      return !matchesWhole(matcher.value, value);
  }
}

/** Labels plus `__tenant_id__`, names kept in sorted order as the store keeps them. */
function withTenantLabel(labels: Labels, tenant: string): Labels {
  const names = [...Object.keys(labels), TENANT_LABEL].sort();
  const result: Labels = {};
  for (const name of names) result[name] = name === TENANT_LABEL ? tenant : labels[name]!;
  return result;
}

function withTenantStream(stream: StreamInfo, tenant: string): StreamInfo {
  return { id: `${tenant}${TENANT_SEPARATOR}${stream.id}`, labels: withTenantLabel(stream.labels, tenant) };
}

export class MultiTenantStore implements LogStore {
  private readonly inner: LogStore;

  constructor(inner: LogStore) {
    this.inner = inner;
  }

  /** The tenants a multi-tenant request reads after its `__tenant_id__` matchers, and its other matchers. */
  private plan(tenants: string[], matchers: LabelMatcher[] = []): { tenants: string[]; matchers: LabelMatcher[] } {
    const tenantMatchers = matchers.filter((matcher) => matcher.name === TENANT_LABEL);
    return {
      tenants: tenants.filter((tenant) => tenantMatchers.every((matcher) => matcherAccepts(matcher, tenant))),
      matchers: matchers.filter((matcher) => matcher.name !== TENANT_LABEL),
    };
  }

  async selectBlocks(query: BlockQuery): Promise<BlockRef[]> {
    const tenants = tenantsOf(query.tenant);
    if (tenants === undefined) return this.inner.selectBlocks(query);
    const plan = this.plan(tenants, query.matchers);
    const refs: BlockRef[] = [];
    for (const tenant of plan.tenants) {
      for (const ref of await this.inner.selectBlocks({ ...query, tenant, matchers: plan.matchers })) {
        const stream = withTenantStream(ref.stream, tenant);
        // No `location`: worker threads would decode the block with its stored labels, without the tenant.
        refs.push({
          stream,
          minTimeNs: ref.minTimeNs,
          maxTimeNs: ref.maxTimeNs,
          entryCount: ref.entryCount,
          rawBytes: ref.rawBytes,
          load: async () => ({ ...(await ref.load()), stream }),
        });
      }
    }
    return refs;
  }

  async series(tenant: string, matchers: LabelMatcher[], startNs: bigint, endNs: bigint): Promise<StreamInfo[]> {
    const tenants = tenantsOf(tenant);
    if (tenants === undefined) return this.inner.series(tenant, matchers, startNs, endNs);
    const plan = this.plan(tenants, matchers);
    const found: StreamInfo[] = [];
    for (const one of plan.tenants) for (const stream of await this.inner.series(one, plan.matchers, startNs, endNs)) found.push(withTenantStream(stream, one));
    return found;
  }

  async labelNames(tenant: string, startNs: bigint, endNs: bigint, matchers?: LabelMatcher[]): Promise<string[]> {
    const tenants = tenantsOf(tenant);
    if (tenants === undefined) return this.inner.labelNames(tenant, startNs, endNs, matchers);
    const plan = this.plan(tenants, matchers);
    const names = new Set<string>();
    for (const one of plan.tenants) {
      const found = await this.inner.labelNames(one, startNs, endNs, plan.matchers.length > 0 ? plan.matchers : undefined);
      for (const name of found) names.add(name);
      if (found.length > 0) names.add(TENANT_LABEL);
    }
    return [...names].sort();
  }

  async labelValues(tenant: string, name: string, startNs: bigint, endNs: bigint, matchers?: LabelMatcher[]): Promise<string[]> {
    const tenants = tenantsOf(tenant);
    if (tenants === undefined) return this.inner.labelValues(tenant, name, startNs, endNs, matchers);
    const plan = this.plan(tenants, matchers);
    const values = new Set<string>();
    for (const one of plan.tenants) {
      if (name === TENANT_LABEL) {
        if ((await this.inner.labelNames(one, startNs, endNs, plan.matchers.length > 0 ? plan.matchers : undefined)).length > 0) values.add(one);
        continue;
      }
      for (const value of await this.inner.labelValues(one, name, startNs, endNs, plan.matchers.length > 0 ? plan.matchers : undefined)) values.add(value);
    }
    return [...values].sort();
  }

  async stats(tenant: string, matchers: LabelMatcher[], startNs: bigint, endNs: bigint): Promise<IndexStats> {
    const tenants = tenantsOf(tenant);
    if (tenants === undefined) return this.inner.stats(tenant, matchers, startNs, endNs);
    const plan = this.plan(tenants, matchers);
    const total: IndexStats = { streams: 0, chunks: 0, entries: 0, bytes: 0 };
    for (const one of plan.tenants) {
      const stats = await this.inner.stats(one, plan.matchers, startNs, endNs);
      total.streams += stats.streams;
      total.chunks += stats.chunks;
      total.entries += stats.entries;
      total.bytes += stats.bytes;
    }
    return total;
  }

  append(tenant: string, streams: AppendStream[], options?: AppendOptions): Promise<void> {
    if (tenantsOf(tenant) !== undefined) return Promise.reject(new Error('a push belongs to exactly one tenant'));
    return this.inner.append(tenant, streams, options);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  compact(): Promise<void> {
    return this.inner.compact();
  }

  applyRetention(nowMs?: number): Promise<void> {
    return this.inner.applyRetention(nowMs);
  }

  blockReaderConfig(): BlockReaderConfig | undefined {
    return this.inner.blockReaderConfig?.();
  }

  metrics(): StoreMetrics {
    return this.inner.metrics();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
