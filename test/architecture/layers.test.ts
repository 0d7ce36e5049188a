// The import graph keeps the one-way arrows of DESIGN.md ("cli → server → domain modules → store /
// tsdb → objstore"; the agent shares only the wire formats) and has no cycles, type-only imports
// included. Each top-level folder of src/ is a module; the table below says which others it may import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, existsSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const srcDir = join(root, 'src');

/** Module → the modules it may import. Leaf libraries (formats, regex, durations, config files, the Go-template engine) import nothing of ours. */
const ALLOWED: Record<string, string[]> = {
  objstore: [],
  push: [],
  regex: [],
  duration: [],
  config: ['duration'],
  gotemplate: [],
  // The Kubernetes API client (list and watch) for scrape discovery and the agent's pod metadata.
  kubernetes: [],
  // `helm template` for our chart: Helm's functions over the Go-template engine (sprig's string part is LogQL's table).
  helm: ['gotemplate', 'logql'],
  store: ['objstore', 'push', 'regex', 'duration', 'config'],
  tsdb: ['objstore', 'push', 'regex', 'duration', 'store', 'config'],
  ingest: ['push', 'store', 'tsdb', 'regex', 'duration', 'config'],
  logql: ['push', 'store', 'regex', 'duration', 'config', 'gotemplate'],
  promql: ['push', 'tsdb', 'regex', 'duration', 'logql', 'config'],
  scrape: ['push', 'tsdb', 'regex', 'duration', 'promql', 'config', 'kubernetes'],
  pushgateway: ['push', 'tsdb', 'duration', 'config'],
  training: ['push', 'store', 'regex', 'duration', 'logql', 'config'],
  ruler: ['push', 'store', 'tsdb', 'regex', 'duration', 'logql', 'promql', 'training', 'config', 'gotemplate'],
  dashboards: [],
  cluster: ['push', 'store', 'tsdb', 'objstore', 'regex', 'duration', 'ingest', 'pushgateway', 'config'],
  server: ['kubernetes', 'push', 'store', 'tsdb', 'objstore', 'regex', 'duration', 'ingest', 'logql', 'promql', 'scrape', 'pushgateway', 'ruler', 'training', 'cluster', 'config', 'dashboards'],
  agent: ['push', 'regex', 'duration', 'config', 'kubernetes'],
  demo: ['agent', 'server', 'push', 'training', 'duration', 'config'],
  cli: ['kubernetes', 'agent', 'demo', 'server', 'push', 'store', 'tsdb', 'objstore', 'regex', 'duration', 'ingest', 'logql', 'promql', 'scrape', 'pushgateway', 'ruler', 'training', 'cluster', 'config'],
};

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) files.push(...sourceFiles(path));
    else if (/\.(ts|mts|mjs)$/.test(name) && !name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

/** Relative specifiers of static imports and re-exports, dynamic imports and worker URLs. */
function relativeImports(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s+['"](\.{1,2}\/[^'"]+)['"]/gm,
    /^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm,
    /\bimport\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)/g,
    /new URL\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*,\s*import\.meta\.url\s*\)/g,
  ];
  for (const pattern of patterns) for (const match of text.matchAll(pattern)) found.push(match[1]!);
  return found;
}

function moduleOf(file: string): string {
  return relative(srcDir, file).split(sep)[0]!;
}

const files = sourceFiles(srcDir);
const graph = new Map<string, string[]>();
for (const file of files) {
  const targets: string[] = [];
  for (const specifier of relativeImports(readFileSync(file, 'utf8'))) {
    const target = resolve(dirname(file), specifier);
    if (target.startsWith(srcDir + sep) && existsSync(target)) targets.push(target);
  }
  graph.set(file, targets);
}

test('every src/ module is in the layer table and imports only the layers below it', () => {
  const problems: string[] = [];
  for (const [file, targets] of graph) {
    const from = moduleOf(file);
    const allowed = ALLOWED[from];
    if (allowed === undefined) {
      problems.push(`src/${from}/ is not in the layer table of test/architecture/layers.test.ts`);
      continue;
    }
    for (const target of targets) {
      const to = moduleOf(target);
      if (to !== from && !allowed.includes(to)) problems.push(`${relative(root, file)} imports ${relative(root, target)} (${from} → ${to} is not allowed)`);
    }
  }
  assert.deepEqual([...new Set(problems)], []);
});

test('the import graph of src/ has no cycles, type-only imports included', () => {
  // Tarjan's strongly connected components; any component of two or more files is a cycle.
  let index = 0;
  const indexOf = new Map<string, number>();
  const lowLink = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string): void => {
    indexOf.set(file, index);
    lowLink.set(file, index);
    index++;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!indexOf.has(target)) {
        visit(target);
        lowLink.set(file, Math.min(lowLink.get(file)!, lowLink.get(target)!));
      } else if (onStack.has(target)) lowLink.set(file, Math.min(lowLink.get(file)!, indexOf.get(target)!));
    }
    if (lowLink.get(file) === indexOf.get(file)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(relative(root, member));
      } while (member !== file);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const file of graph.keys()) if (!indexOf.has(file)) visit(file);
  assert.ok(files.length > 50, 'the walk found the sources');
  assert.deepEqual(cycles, []);
});
