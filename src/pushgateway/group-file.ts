// The pushed groups on disk: one JSON file per group under `<dataDir>/pushgateway/groups/`, named by
// a hash of its tenant and grouping key, written atomically (a temporary file, fsync, rename over the
// old one, fsync of the directory) so a crash leaves the old or the new group and a 200 means the push
// survives a restart. A change rewrites only its own group's file (one file for all groups made each
// push cost as much as all groups together). Reading checks every field: a damaged file is an error
// naming the file and the field, never a silently empty gateway.

import { createHash } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Labels } from '../push/types.ts';
import type { PushedFamily, PushGroup } from './group-store.ts';
import { groupingKeyId } from './grouping-key.ts';

const FILE_VERSION = 1;
const FAMILY_TYPES = new Set(['COUNTER', 'GAUGE', 'HISTOGRAM', 'SUMMARY', 'UNTYPED']);

export type GroupsByTenant = Record<string, PushGroup[]>;

export class GroupFileError extends Error {
  override name = 'GroupFileError';
}

function groupFileName(tenant: string, groupLabels: Labels): string {
  return `${createHash('sha256').update(`${tenant}\u0000${groupingKeyId(groupLabels)}`).digest('hex')}.json`;
}

export async function writeGroupFile(directory: string, tenant: string, group: PushGroup): Promise<void> {
  await mkdir(directory, { recursive: true });
  const path = join(directory, groupFileName(tenant, group.labels));
  const temporaryPath = `${path}.tmp`;
  // Non-finite values (NaN, ±Inf are valid sample values) are not JSON: they are written as strings.
  const text = JSON.stringify({ version: FILE_VERSION, tenant, group }, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? String(value) : value));
  const file = await open(temporaryPath, 'w');
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporaryPath, path);
  await syncDirectory(directory);
}

export async function removeGroupFile(directory: string, tenant: string, groupLabels: Labels): Promise<void> {
  await rm(join(directory, groupFileName(tenant, groupLabels)), { force: true });
  await syncDirectory(directory).catch((error: unknown) => {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  });
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Every group in the directory, or none when it does not exist yet. */
export async function readGroupFiles(directory: string): Promise<GroupsByTenant> {
  let names: string[];
  try {
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  const result: GroupsByTenant = {};
  for (const name of names.sort()) {
    // A temporary file is a write that never finished: the group's previous file stands.
    if (!name.endsWith('.json')) continue;
    const path = join(directory, name);
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'));
    } catch (error) {
      throw new GroupFileError(`${path}: not JSON: ${(error as Error).message}`);
    }
    const root = record(parsed, path);
    if (root.version !== FILE_VERSION) throw new GroupFileError(`${path}: unsupported version ${JSON.stringify(root.version)}`);
    if (typeof root.tenant !== 'string') throw new GroupFileError(`${path}: tenant is not a string`);
    (result[root.tenant] ??= []).push(readGroup(root.group, `${path}: group`));
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
