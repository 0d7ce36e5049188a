// Object-store key layout:
//   tenants/<tenant>/<YYYY-MM-DD>/labels.index
//   tenants/<tenant>/<YYYY-MM-DD>/parts/<partId>.data
//   tenants/<tenant>/<YYYY-MM-DD>/parts/<partId>.index
// Tenants outside [A-Za-z0-9_-] are hex-encoded with an "x-" prefix so keys stay safe on any backend.

export const TENANTS_PREFIX = 'tenants/';
export const NS_PER_DAY = 86_400_000_000_000n;
const MS_PER_DAY = 86_400_000;

export function encodeTenant(tenant: string): string {
  return /^[A-Za-z0-9_][A-Za-z0-9_-]*$/.test(tenant) && !tenant.startsWith('x-') ? tenant : 'x-' + Buffer.from(tenant).toString('hex');
}

export function decodeTenant(segment: string): string {
  return segment.startsWith('x-') ? Buffer.from(segment.slice(2), 'hex').toString('utf8') : segment;
}

export function dayName(day: number): string {
  return new Date(day * MS_PER_DAY).toISOString().slice(0, 10);
}

export function dayFromName(name: string): number {
  const ms = Date.parse(`${name}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(name) || Number.isNaN(ms)) throw new Error(`invalid partition day ${JSON.stringify(name)}`);
  return ms / MS_PER_DAY;
}

/** Floor division, so entries before 1970 land in negative days instead of day 0. */
export function dayOfNs(timestampNs: bigint): number {
  const day = timestampNs / NS_PER_DAY;
  return Number(timestampNs < 0n && day * NS_PER_DAY !== timestampNs ? day - 1n : day);
}

export function partitionPrefix(tenant: string, day: number): string {
  return `${TENANTS_PREFIX}${encodeTenant(tenant)}/${dayName(day)}/`;
}

export function labelIndexKey(tenant: string, day: number): string {
  return partitionPrefix(tenant, day) + 'labels.index';
}

export function partDataKey(tenant: string, day: number, partId: string): string {
  return `${partitionPrefix(tenant, day)}parts/${partId}.data`;
}

export function partIndexKey(tenant: string, day: number, partId: string): string {
  return `${partitionPrefix(tenant, day)}parts/${partId}.index`;
}

export interface ParsedKey {
  tenant: string;
  day: number;
  kind: 'labels' | 'part-data' | 'part-index';
  partId?: string;
}

export function parseObjectKey(key: string): ParsedKey | undefined {
  const match = /^tenants\/([^/]+)\/(\d{4}-\d{2}-\d{2})\/(?:(labels\.index)|parts\/([^/]+)\.(data|index))$/.exec(key);
  if (match === null) return undefined;
  const tenant = decodeTenant(match[1]!);
  const day = dayFromName(match[2]!);
  if (match[3] !== undefined) return { tenant, day, kind: 'labels' };
  return { tenant, day, kind: match[5] === 'data' ? 'part-data' : 'part-index', partId: match[4]! };
}
