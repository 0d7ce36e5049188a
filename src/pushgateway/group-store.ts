// The Pushgateway's state: per tenant, the pushed groups (one per grouping key), each with its metric
// families, the time of its last successful and last failed push, and rankscope's opt-in TTL. Pure: no
// HTTP, no files, no clock of its own (callers pass `nowMs`), so every rule below is testable alone.
//
// Rules (Pushgateway 1.x, shared/reference/prometheus-api.md §4.1, checked against Debian's 1.5.1):
// - a sample's labels of the grouping key's names are overwritten by the key; `instance` is "" when absent;
// - PUT replaces every family of the group, POST only the families of the names it carries;
// - a push is checked against all groups as they would be after it: one type per metric name, no two
//   series with the same name and labels, no timestamps, no name rankscope's own /metrics uses. A push
//   that fails is not applied but sets the group's push_failure_time_seconds (creating the group);
// - push_time_seconds and push_failure_time_seconds belong to the group and override pushed ones.

import type { ExpositionType, ParsedExposition } from '../push/exposition-parse.ts';
import type { Labels } from '../push/types.ts';
import { groupingKeyId } from './grouping-key.ts';

export type FamilyType = 'COUNTER' | 'GAUGE' | 'HISTOGRAM' | 'SUMMARY' | 'UNTYPED';

export interface PushedSample {
  /** The sample's own name (`h_bucket`, `s_sum`, …). */
  name: string;
  /** Final labels: body labels, then the grouping key over them, `instance` defaulting to "". */
  labels: Labels;
  value: number;
}

export interface PushedFamily {
  type: FamilyType;
  help?: string;
  /** When the push that brought this family was applied. */
  pushTimeMs: number;
  samples: PushedSample[];
}

export interface PushGroup {
  /** The grouping key, `job` included. */
  labels: Labels;
  families: Record<string, PushedFamily>;
  /** 0 = never. */
  pushTimeMs: number;
  /** 0 = never. */
  pushFailureTimeMs: number;
  /** rankscope extension: the group is removed this long after its last successful push; absent = never. */
  ttlMs?: number;
  /** When the group was first created (a TTL counts from here until the first successful push). */
  createdMs: number;
}

export type PushMethod = 'PUT' | 'POST';

export const PUSH_TIME_METRIC = 'push_time_seconds';
export const PUSH_FAILURE_TIME_METRIC = 'push_failure_time_seconds';
export const PUSH_TIME_HELP = 'Last Unix time when changing this group in the Pushgateway succeeded.';
export const PUSH_FAILURE_TIME_HELP = 'Last Unix time when changing this group in the Pushgateway failed.';

/** Names our own /metrics exposes: a pushed family of such a name would collide with them. */
const RESERVED_NAME_PREFIX = 'rankscope_';

/** A push the consistency check refused; the message follows the Pushgateway's 400 body. */
export class PushRejectedError extends Error {
  override name = 'PushRejectedError';
  constructor(reasons: string[]) {
    super(`pushed metrics are invalid or inconsistent with existing metrics: ${reasons.length === 1 ? reasons[0] : `${reasons.length} error(s) occurred:\n${reasons.map((reason) => `* ${reason}`).join('\n')}`}`);
  }
}

/** Families of one push, labelled for its group; throws PushRejectedError on timestamps. */
export function familiesOfPush(parsed: ParsedExposition, groupLabels: Labels, nowMs: number): Record<string, PushedFamily> {
  const families: Record<string, PushedFamily> = {};
  const reasons: string[] = [];
  for (const sample of parsed.samples) {
    if (sample.timestampMs !== undefined) {
      reasons.push('pushed metrics must not have timestamps');
      break;
    }
    if (sample.family === PUSH_TIME_METRIC || sample.family === PUSH_FAILURE_TIME_METRIC) continue;
    let family = families[sample.family];
    if (family === undefined) {
      const parsedFamily = parsed.families.get(sample.family);
      family = { type: familyTypeOf(parsedFamily?.type ?? 'untyped'), pushTimeMs: nowMs, samples: [] };
      if (parsedFamily?.help !== undefined) family.help = parsedFamily.help;
      families[sample.family] = family;
    }
    const labels: Labels = { ...sample.labels, ...groupLabels };
    labels.instance ??= '';
    family.samples.push({ name: sample.name, labels, value: sample.value });
  }
  if (reasons.length > 0) throw new PushRejectedError(reasons);
  return families;
}

function familyTypeOf(type: ExpositionType): FamilyType {
  switch (type) {
    case 'counter':
      return 'COUNTER';
    case 'gauge':
      return 'GAUGE';
    case 'histogram':
      return 'HISTOGRAM';
    case 'summary':
      return 'SUMMARY';
    default:
      return 'UNTYPED';
  }
}

/** The series a group exposes, as the Pushgateway's /metrics lists them: its families, then its push times. */
export function exposedSamples(group: PushGroup): PushedSample[] {
  const samples: PushedSample[] = [];
  for (const [name, family] of Object.entries(group.families)) {
    samples.push(...family.samples);
    if (family.type === 'HISTOGRAM') samples.push(...missingInfBuckets(name, family));
  }
  const timeLabels: Labels = { ...group.labels };
  timeLabels.instance ??= '';
  samples.push({ name: PUSH_TIME_METRIC, labels: timeLabels, value: group.pushTimeMs / 1000 });
  samples.push({ name: PUSH_FAILURE_TIME_METRIC, labels: timeLabels, value: group.pushFailureTimeMs / 1000 });
  return samples;
}

/** The `+Inf` buckets a histogram was pushed without (protobuf may omit it), valued at its count, as the text exposition always has them. */
function missingInfBuckets(name: string, family: PushedFamily): PushedSample[] {
  const withInf = new Set<string>();
  for (const sample of family.samples) {
    if (sample.name === `${name}_bucket` && /^\+?Inf$/.test(sample.labels.le ?? '')) {
      const { le: _le, ...rest } = sample.labels;
      withInf.add(formatLabelSet(rest));
    }
  }
  const added: PushedSample[] = [];
  for (const sample of family.samples) {
    if (sample.name !== `${name}_count` || withInf.has(formatLabelSet(sample.labels))) continue;
    added.push({ name: `${name}_bucket`, labels: { ...sample.labels, le: '+Inf' }, value: sample.value });
  }
  return added;
}

export interface PushResult {
  group: PushGroup;
  /** The group before the push (undefined when it is new). */
  previous: PushGroup | undefined;
}

/**
 * One tenant's groups with the indexes the consistency check needs, kept as groups change: which
 * group owns each series, and which groups hold each metric name with which type. A push is then
 * checked in time proportional to its own size, not to every group's (measured: 253 ms per push with
 * 1,000 groups of 50 series when every push rescanned all groups).
 */
class TenantGroups {
  readonly groups = new Map<string, PushGroup>();
  private readonly seriesOwner = new Map<string, string>();
  private readonly familyTypes = new Map<string, Map<FamilyType, Set<string>>>();
  private readonly seriesKeysOf = new WeakMap<PushGroup, string[]>();

  set(key: string, group: PushGroup): void {
    this.remove(key);
    this.groups.set(key, group);
    const keys = this.seriesKeys(group);
    for (const seriesKey of keys) this.seriesOwner.set(seriesKey, key);
    for (const [name, family] of Object.entries(group.families)) {
      let byType = this.familyTypes.get(name);
      if (byType === undefined) {
        byType = new Map();
        this.familyTypes.set(name, byType);
      }
      let holders = byType.get(family.type);
      if (holders === undefined) {
        holders = new Set();
        byType.set(family.type, holders);
      }
      holders.add(key);
    }
  }

  remove(key: string): PushGroup | undefined {
    const group = this.groups.get(key);
    if (group === undefined) return undefined;
    this.groups.delete(key);
    for (const seriesKey of this.seriesKeys(group)) if (this.seriesOwner.get(seriesKey) === key) this.seriesOwner.delete(seriesKey);
    for (const [name, family] of Object.entries(group.families)) {
      const byType = this.familyTypes.get(name);
      byType?.get(family.type)?.delete(key);
      if (byType?.get(family.type)?.size === 0) byType.delete(family.type);
      if (byType?.size === 0) this.familyTypes.delete(name);
    }
    return group;
  }

  /** What would be wrong with all groups once `candidate` replaces the group at `key`. */
  inconsistencies(key: string, candidate: PushGroup): string[] {
    const reasons: string[] = [];
    const seen = new Set<string>();
    for (const [name, family] of Object.entries(candidate.families)) {
      if (name.startsWith(RESERVED_NAME_PREFIX)) reasons.push(`metric family ${name} collides with rankscope's own metrics (the ${RESERVED_NAME_PREFIX} prefix is reserved)`);
      let otherType: { type: FamilyType; holder: string } | undefined;
      for (const [type, holders] of this.familyTypes.get(name) ?? []) {
        if (type === family.type) continue;
        const holder = [...holders].find((holderKey) => holderKey !== key);
        if (holder !== undefined) otherType = { type, holder };
      }
      for (const sample of family.samples) {
        const labelText = formatLabelSet(sample.labels);
        if (otherType !== undefined) {
          reasons.push(`collected metric ${JSON.stringify(sample.name)} ${labelText} is ${family.type}, but the metric is ${otherType.type} in group ${formatLabelSet(this.groups.get(otherType.holder)!.labels)}`);
        }
        const seriesKey = `${sample.name}${labelText}`;
        const owner = this.seriesOwner.get(seriesKey);
        if (seen.has(seriesKey) || (owner !== undefined && owner !== key)) {
          reasons.push(`collected metric ${JSON.stringify(sample.name)} ${labelText} was collected before with the same name and label values`);
        }
        seen.add(seriesKey);
      }
    }
    return reasons;
  }

  private seriesKeys(group: PushGroup): string[] {
    let keys = this.seriesKeysOf.get(group);
    if (keys === undefined) {
      keys = Object.values(group.families).flatMap((family) => family.samples.map((sample) => `${sample.name}${formatLabelSet(sample.labels)}`));
      this.seriesKeysOf.set(group, keys);
    }
    return keys;
  }
}

/** All tenants' groups. Mutations return the new group; callers persist and sample after each one. */
export class PushGroupStore {
  private readonly tenants = new Map<string, TenantGroups>();

  /** Restores groups (from the group files). */
  load(tenant: string, groups: PushGroup[]): void {
    const tenantGroups = this.groupsOf(tenant);
    for (const group of groups) tenantGroups.set(groupingKeyId(group.labels), group);
  }

  tenantIds(): string[] {
    return [...this.tenants.keys()];
  }

  groups(tenant: string): PushGroup[] {
    return [...(this.tenants.get(tenant)?.groups.values() ?? [])];
  }

  get(tenant: string, groupLabels: Labels): PushGroup | undefined {
    return this.tenants.get(tenant)?.groups.get(groupingKeyId(groupLabels));
  }

  /**
   * Applies a push of already-labelled families (see familiesOfPush), or records its failure and
   * throws PushRejectedError. `ttlMs` undefined keeps the group's TTL; 0 removes it.
   */
  push(tenant: string, method: PushMethod, groupLabels: Labels, families: Record<string, PushedFamily> | PushRejectedError, nowMs: number, ttlMs?: number): PushResult {
    const tenantGroups = this.groupsOf(tenant);
    const key = groupingKeyId(groupLabels);
    const previous = tenantGroups.groups.get(key);
    let candidate: PushGroup;
    let reasons: string[];
    if (families instanceof PushRejectedError) {
      candidate = previous ?? newGroup(groupLabels, nowMs);
      reasons = [families.message.replace(/^pushed metrics are invalid or inconsistent with existing metrics: /, '')];
    } else {
      const merged = method === 'PUT' ? { ...families } : { ...previous?.families, ...families };
      candidate = { ...(previous ?? newGroup(groupLabels, nowMs)), families: merged, pushTimeMs: nowMs };
      reasons = tenantGroups.inconsistencies(key, candidate);
    }
    if (reasons.length > 0) {
      const failed: PushGroup = { ...(previous ?? newGroup(groupLabels, nowMs)), pushFailureTimeMs: nowMs };
      if (ttlMs !== undefined && previous === undefined) setTtl(failed, ttlMs);
      tenantGroups.set(key, failed);
      throw new PushRejectedError(reasons);
    }
    if (ttlMs !== undefined) setTtl(candidate, ttlMs);
    tenantGroups.set(key, candidate);
    return { group: candidate, previous };
  }

  /** Removes a group; returns it, or undefined when there was none. */
  delete(tenant: string, groupLabels: Labels): PushGroup | undefined {
    return this.tenants.get(tenant)?.remove(groupingKeyId(groupLabels));
  }

  /** Puts a group back as it was before a change that could not be made durable (undefined: absent). */
  restore(tenant: string, groupLabels: Labels, group: PushGroup | undefined): void {
    const tenantGroups = this.groupsOf(tenant);
    const key = groupingKeyId(groupLabels);
    if (group === undefined) tenantGroups.remove(key);
    else tenantGroups.set(key, group);
  }

  /** Removes and returns the groups whose TTL ran out at `nowMs`. */
  expire(nowMs: number): Array<{ tenant: string; group: PushGroup }> {
    const expired: Array<{ tenant: string; group: PushGroup }> = [];
    for (const [tenant, tenantGroups] of this.tenants) {
      for (const [key, group] of [...tenantGroups.groups]) {
        if (group.ttlMs === undefined) continue;
        if (nowMs >= Math.max(group.pushTimeMs, group.createdMs) + group.ttlMs) {
          tenantGroups.remove(key);
          expired.push({ tenant, group });
        }
      }
    }
    return expired;
  }

  private groupsOf(tenant: string): TenantGroups {
    let tenantGroups = this.tenants.get(tenant);
    if (tenantGroups === undefined) {
      tenantGroups = new TenantGroups();
      this.tenants.set(tenant, tenantGroups);
    }
    return tenantGroups;
  }
}

function newGroup(labels: Labels, nowMs: number): PushGroup {
  return { labels: { ...labels }, families: {}, pushTimeMs: 0, pushFailureTimeMs: 0, createdMs: nowMs };
}

function setTtl(group: PushGroup, ttlMs: number): void {
  if (ttlMs > 0) group.ttlMs = ttlMs;
  else delete group.ttlMs;
}

/** `{a="1",b="2"}` with names sorted. */
export function formatLabelSet(labels: Labels): string {
  return `{${Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(',')}}`;
}
