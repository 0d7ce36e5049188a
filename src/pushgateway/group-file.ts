// The pushed groups on disk: one JSON file under the data dir, rewritten whole after every change and
// replaced atomically (write a temporary file, fsync it, rename it over the old one, fsync the
// directory), so a crash leaves either the old or the new state and a 200 means the push survives a
// restart. Reading checks every field: a damaged file is an error naming the file and the field,
// never a silently empty gateway.

import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { PushedFamily, PushGroup } from './group-store.ts';

const FILE_VERSION = 1;
const FAMILY_TYPES = new Set(['COUNTER', 'GAUGE', 'HISTOGRAM', 'SUMMARY', 'UNTYPED']);

export type GroupsByTenant = Record<string, PushGroup[]>;

export class GroupFileError extends Error {
  override name = 'GroupFileError';
}

export async function writeGroupsFile(path: string, groups: GroupsByTenant): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporaryPath = `${path}.tmp`;
  // Non-finite values (NaN, ±Inf are valid sample values) are not JSON: they are written as strings.
  const text = JSON.stringify({ version: FILE_VERSION, tenants: groups }, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? String(value) : value));
  const file = await open(temporaryPath, 'w');
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporaryPath, path);
  const directory = await open(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** The groups in the file, or none when it does not exist yet. */
export async function readGroupsFile(path: string): Promise<GroupsByTenant> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new GroupFileError(`${path}: not JSON: ${(error as Error).message}`);
  }
  const root = record(parsed, `${path}`);
  if (root.version !== FILE_VERSION) throw new GroupFileError(`${path}: unsupported version ${JSON.stringify(root.version)}`);
  const tenants = record(root.tenants, `${path}: tenants`);
  const result: GroupsByTenant = {};
  for (const [tenant, groups] of Object.entries(tenants)) {
    if (!Array.isArray(groups)) throw new GroupFileError(`${path}: tenants.${tenant} is not a list`);
    result[tenant] = groups.map((group, index) => readGroup(group, `${path}: tenants.${tenant}[${index}]`));
  }
  return result;
}

function readGroup(value: unknown, where: string): PushGroup {
  const group = record(value, where);
  const families: Record<string, PushedFamily> = {};
  for (const [name, familyValue] of Object.entries(record(group.families, `${where}.families`))) {
    const family = record(familyValue, `${where}.families.${name}`);
    if (typeof family.type !== 'string' || !FAMILY_TYPES.has(family.type)) throw new GroupFileError(`${where}.families.${name}.type is not a metric type`);
    if (!Array.isArray(family.samples)) throw new GroupFileError(`${where}.families.${name}.samples is not a list`);
    families[name] = {
      type: family.type as PushedFamily['type'],
      ...(typeof family.help === 'string' ? { help: family.help } : {}),
      pushTimeMs: finite(family.pushTimeMs, `${where}.families.${name}.pushTimeMs`),
      samples: family.samples.map((sampleValue: unknown, index: number) => {
        const sample = record(sampleValue, `${where}.families.${name}.samples[${index}]`);
        if (typeof sample.name !== 'string') throw new GroupFileError(`${where}.families.${name}.samples[${index}].name is not a string`);
        return { name: sample.name, labels: labels(sample.labels, `${where}.families.${name}.samples[${index}].labels`), value: sampleValueOf(sample.value, `${where}.families.${name}.samples[${index}].value`) };
      }),
    };
  }
  const group_: PushGroup = {
    labels: labels(group.labels, `${where}.labels`),
    families,
    pushTimeMs: finite(group.pushTimeMs, `${where}.pushTimeMs`),
    pushFailureTimeMs: finite(group.pushFailureTimeMs, `${where}.pushFailureTimeMs`),
    createdMs: finite(group.createdMs, `${where}.createdMs`),
  };
  if (group.ttlMs !== undefined) group_.ttlMs = finite(group.ttlMs, `${where}.ttlMs`);
  return group_;
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new GroupFileError(`${where} is not an object`);
  return value as Record<string, unknown>;
}

function labels(value: unknown, where: string): Record<string, string> {
  const entries = record(value, where);
  for (const [name, labelValue] of Object.entries(entries)) if (typeof labelValue !== 'string') throw new GroupFileError(`${where}.${name} is not a string`);
  return entries as Record<string, string>;
}

function finite(value: unknown, where: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new GroupFileError(`${where} is not a number`);
  return value;
}

function sampleValueOf(value: unknown, where: string): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return NaN;
  if (value === 'Infinity') return Infinity;
  if (value === '-Infinity') return -Infinity;
  throw new GroupFileError(`${where} is not a number`);
}
