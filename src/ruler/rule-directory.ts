// The rule directory: `<dir>/*.yaml` belong to the default tenant, `<dir>/<tenant>/*.yaml` to that
// tenant; each file is one namespace (its name without the extension). Scans re-parse only files
// whose size or mtime changed. A file that fails to parse is reported and its last good version stays
// in force. The Loki ruler API writes namespaces back here, so the directory is the single source.

import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { parseRuleFile, RuleFileError, ruleGroupsToYaml, type RuleGroupDefinition, type RuleParseOptions, type RuleProblem } from './rule-file.ts';

export interface RuleNamespace {
  tenant: string;
  namespace: string;
  /** The file it came from (the packaged file for the training pack). */
  path: string;
  groups: RuleGroupDefinition[];
  /** Built-in namespaces (the training pack) cannot be changed through the API. */
  readOnly: boolean;
  /** Which engine evaluates its rules: said by the directory the file lives in, not by a key in it. */
  language: RuleLanguage;
}

export type RuleLanguage = 'logql' | 'promql';

export interface RuleSnapshot {
  namespaces: RuleNamespace[];
  /** Files rejected in the latest scan (their last good version, if any, is still in `namespaces`). */
  problems: RuleProblem[];
  /** Increments whenever the loaded rules change. */
  version: number;
}

interface CachedFile {
  signature: string;
  /** Last version that parsed; undefined when the file never parsed. */
  good: RuleGroupDefinition[] | undefined;
  problems: RuleProblem[];
}

const RULE_FILE = /^[^.~][^~]*\.ya?ml$/;

/**
 * A tenant or namespace as one path segment. Percent-encoding is one-to-one, and `~` (editor backups,
 * skipped by scans) and a leading `.` (hidden files) are escaped too, so no two names share a path and
 * every written name is read back: tenant `A.yaml` gets its own directory, not tenant `A`'s file.
 */
export function encodePathSegment(name: string): string {
  return encodeURIComponent(name).replace(/^\./, '%2E').replace(/~/g, '%7E');
}

/** The name a path segment stands for; a hand-made name that is not valid percent-encoding stays as is. */
export function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

export function namespaceOfFile(fileName: string): string {
  return decodePathSegment(fileName.replace(/\.ya?ml$/, ''));
}

export function fileNameOfNamespace(namespace: string): string {
  return `${encodePathSegment(namespace)}.yaml`;
}

export class RuleDirectory {
  readonly directory: string;
  private readonly defaultTenant: string;
  private readonly parseOptions: RuleParseOptions;
  private readonly builtIn: RuleNamespace[];
  readonly language: RuleLanguage;
  private readonly cache = new Map<string, CachedFile>();
  private snapshot: RuleSnapshot = { namespaces: [], problems: [], version: 0 };
  private lastKey = '';

  constructor(options: { directory: string; defaultTenant: string; parseOptions: RuleParseOptions; builtIn?: RuleNamespace[]; language?: RuleLanguage }) {
    this.directory = options.directory;
    this.language = options.language ?? 'logql';
    this.defaultTenant = options.defaultTenant;
    this.parseOptions = options.parseOptions;
    this.builtIn = options.builtIn ?? [];
    mkdirSync(this.directory, { recursive: true });
  }

  current(): RuleSnapshot {
    return this.snapshot;
  }

  /** Lists rule files as [tenant, path] pairs. */
  private listFiles(): Array<{ tenant: string; path: string; fileName: string }> {
    const files: Array<{ tenant: string; path: string; fileName: string }> = [];
    let entries;
    try {
      entries = readdirSync(this.directory, { withFileTypes: true });
    } catch {
      return files;
    }
    for (const entry of entries) {
      if (entry.isFile() && RULE_FILE.test(entry.name)) {
        files.push({ tenant: this.defaultTenant, path: join(this.directory, entry.name), fileName: entry.name });
      } else if (entry.isDirectory() && !entry.name.startsWith('.')) {
        // A directory is a tenant: its whole name, not a file name without `.yaml`.
        const tenant = decodePathSegment(entry.name);
        let inner;
        try {
          inner = readdirSync(join(this.directory, entry.name), { withFileTypes: true });
        } catch {
          continue;
        }
        for (const file of inner) {
          if (file.isFile() && RULE_FILE.test(file.name)) files.push({ tenant, path: join(this.directory, entry.name, file.name), fileName: file.name });
        }
      }
    }
    return files.sort((a, b) => (a.path < b.path ? -1 : 1));
  }

  /** Re-reads changed files. Returns the (possibly unchanged) snapshot. */
  scan(): RuleSnapshot {
    const namespaces: RuleNamespace[] = [...this.builtIn];
    const problems: RuleProblem[] = [];
    const seen = new Set(this.builtIn.map((ns) => `${ns.tenant}\u0000${ns.namespace}`));
    const present = new Set<string>();
    for (const file of this.listFiles()) {
      present.add(file.path);
      let stats: Stats;
      try {
        stats = statSync(file.path);
      } catch {
        continue; // removed between listing and stat
      }
      const signature = `${stats.size}:${stats.mtimeMs}:${stats.ino}`;
      let cached = this.cache.get(file.path);
      if (cached === undefined || cached.signature !== signature) {
        const previousGood = cached?.good;
        cached = { signature, good: previousGood, problems: [] };
        try {
          cached.good = parseRuleFile(readFileSync(file.path, 'utf8'), file.path, this.parseOptions);
        } catch (error) {
          if (error instanceof RuleFileError) cached.problems = error.problems;
          else cached.problems = [{ path: file.path, line: 0, column: 0, message: (error as Error).message }];
        }
        this.cache.set(file.path, cached);
      }
      problems.push(...cached.problems);
      if (cached.good === undefined) continue;
      const namespace = namespaceOfFile(file.fileName);
      const key = `${file.tenant}\u0000${namespace}`;
      if (seen.has(key)) {
        problems.push({ path: file.path, line: 0, column: 0, message: `namespace ${JSON.stringify(namespace)} of tenant ${JSON.stringify(file.tenant)} is already defined by another file` });
        continue;
      }
      seen.add(key);
      namespaces.push({ tenant: file.tenant, namespace, path: file.path, groups: cached.good, readOnly: false, language: this.language });
    }
    for (const path of this.cache.keys()) if (!present.has(path)) this.cache.delete(path);
    const key = JSON.stringify(namespaces.map((ns) => [ns.tenant, ns.namespace, ns.groups]));
    const version = key === this.lastKey ? this.snapshot.version : this.snapshot.version + 1;
    this.lastKey = key;
    this.snapshot = { namespaces, problems, version };
    return this.snapshot;
  }

  find(tenant: string, namespace: string): RuleNamespace | undefined {
    return this.snapshot.namespaces.find((ns) => ns.tenant === tenant && ns.namespace === namespace);
  }

  /** Writes a namespace's groups (atomically) and rescans. Empty `groups` removes the file. */
  writeNamespace(tenant: string, namespace: string, groups: RuleGroupDefinition[]): RuleSnapshot {
    const existing = this.find(tenant, namespace);
    if (existing?.readOnly) throw new Error(`namespace ${JSON.stringify(namespace)} is built in and read-only`);
    // An existing namespace is rewritten in its own file; a new one goes under `<dir>/<tenant>/`.
    const path = existing?.path ?? join(this.directory, encodePathSegment(tenant), fileNameOfNamespace(namespace));
    if (groups.length === 0) {
      try {
        unlinkSync(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    } else {
      mkdirSync(join(path, '..'), { recursive: true });
      const temporary = join(path, '..', `.${Date.now()}-${process.pid}.tmp`);
      writeFileSync(temporary, ruleGroupsToYaml(groups));
      renameSync(temporary, path);
    }
    return this.scan();
  }
}
