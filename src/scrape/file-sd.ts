// file_sd_configs: target groups read from JSON or YAML files (`[{targets: [...], labels: {...}}]`),
// re-read when a file's modification time changes (checked every refresh_interval). A `*` in a file
// name matches files of that directory. A file that can't be read or parsed keeps its last good
// groups and reports the error; a file that is gone drops its groups. Each target gets
// `__meta_filepath`, as in Prometheus.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { TargetGroup } from './target.ts';

interface FileState {
  mtimeMs: number;
  groups: TargetGroup[];
}

export class FileDiscovery {
  private readonly patterns: string[];
  private readonly files = new Map<string, FileState>();
  private readonly onError: (message: string) => void;

  constructor(patterns: string[], onError: (message: string) => void) {
    this.patterns = patterns.map((pattern) => resolve(pattern));
    this.onError = onError;
  }

  /** Re-reads changed files; true when the groups changed. */
  refresh(): boolean {
    let changed = false;
    const present = new Set<string>();
    for (const path of this.matchingFiles()) {
      present.add(path);
      let mtimeMs: number;
      try {
        mtimeMs = statSync(path).mtimeMs;
      } catch {
        continue;
      }
      const known = this.files.get(path);
      if (known !== undefined && known.mtimeMs === mtimeMs) continue;
      try {
        const groups = readTargetGroups(path);
        this.files.set(path, { mtimeMs, groups });
        changed = true;
      } catch (error) {
        this.onError(`file_sd ${path}: ${(error as Error).message} (keeping its last good targets)`);
        // Retry on the next refresh even if the modification time stays the same.
        if (known !== undefined) this.files.set(path, { mtimeMs: -1, groups: known.groups });
      }
    }
    for (const path of [...this.files.keys()]) {
      if (!present.has(path)) {
        this.files.delete(path);
        changed = true;
      }
    }
    return changed;
  }

  groups(): TargetGroup[] {
    return [...this.files.values()].flatMap((state) => state.groups);
  }

  private matchingFiles(): string[] {
    const files: string[] = [];
    for (const pattern of this.patterns) {
      const name = basename(pattern);
      if (!name.includes('*')) {
        files.push(pattern);
        continue;
      }
      const matcher = new RegExp(`^${name.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*')}$`);
      let entries: string[];
      try {
        entries = readdirSync(dirname(pattern));
      } catch (error) {
        this.onError(`file_sd ${dirname(pattern)}: ${(error as Error).message}`);
        // Keep what the directory held: a directory that can't be listed is not an empty one.
        files.push(...[...this.files.keys()].filter((path) => dirname(path) === dirname(pattern) && matcher.test(basename(path))));
        continue;
      }
      for (const entry of entries.sort()) if (matcher.test(entry)) files.push(join(dirname(pattern), entry));
    }
    return files;
  }
}

/** Target groups of one file; throws with the reason (and the group's index) when malformed. */
export function readTargetGroups(path: string): TargetGroup[] {
  const text = readFileSync(path, 'utf8');
  const parsed: unknown = /\.json$/i.test(path) ? JSON.parse(text) : parseYaml(text);
  if (parsed === null || parsed === undefined) return [];
  if (!Array.isArray(parsed)) throw new Error('expected a list of target groups');
  return parsed.map((value: unknown, index) => {
    if (typeof value !== 'object' || value === null) throw new Error(`group ${index}: expected an object with targets and labels`);
    const { targets, labels } = value as { targets?: unknown; labels?: unknown };
    if (!Array.isArray(targets) || !targets.every((target) => typeof target === 'string')) throw new Error(`group ${index}: targets must be a list of host:port strings`);
    const groupLabels: Record<string, string> = { __meta_filepath: path };
    if (labels !== undefined && labels !== null) {
      if (typeof labels !== 'object' || Array.isArray(labels)) throw new Error(`group ${index}: labels must be a map`);
      for (const [name, labelValue] of Object.entries(labels)) {
        if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) throw new Error(`group ${index}: ${JSON.stringify(name)} is not a valid label name`);
        if (typeof labelValue !== 'string') throw new Error(`group ${index}: label ${name} must be a string`);
        groupLabels[name] = labelValue;
      }
    }
    return { targets: targets as string[], labels: groupLabels, source: `${path}:${index}` };
  });
}
