// Small edits on LogQL text that the UI makes for the user: add a label matcher, add a label filter,
// find the stream selector. Quoted strings (", `) are skipped so braces inside them don't count.

export function isLogQuery(query: string): boolean {
  return query.trimStart().startsWith('{');
}

/** [start, end) of the first `{…}` outside quotes, or undefined. */
export function findSelector(query: string): [number, number] | undefined {
  let start = -1;
  let quote = '';
  for (let i = 0; i < query.length; i++) {
    const char = query[i];
    if (quote !== '') {
      if (char === '\\' && quote === '"') i++;
      else if (char === quote) quote = '';
      continue;
    }
    if (char === '"' || char === '`') quote = char;
    else if (char === '{' && start < 0) start = i;
    else if (char === '}' && start >= 0) return [start, i + 1];
  }
  return undefined;
}

export function quoteValue(value: string): string {
  return JSON.stringify(value);
}

function escapeRegex(value: string): string {
  return value.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

/** A selector for one label: `name="v"` for one value, `name=~"a|b"` for several. */
export function matcherFor(name: string, values: string[]): string {
  if (values.length === 1) return `${name}=${quoteValue(values[0])}`;
  return `${name}=~${quoteValue(values.map(escapeRegex).join('|'))}`;
}

/** Adds (or replaces) a matcher on an indexed label inside the first selector. */
export function withLabelMatcher(query: string, name: string, operator: '=' | '!=', value: string): string {
  const selector = findSelector(query);
  const matcher = `${name}${operator}${quoteValue(value)}`;
  if (!selector) return `{${matcher}}${query === '' ? '' : ` ${query}`}`;
  const [start, end] = selector;
  const inner = query.slice(start + 1, end - 1).trim();
  const isExactOnName = (part: string): boolean => {
    const match = /^([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)/.exec(part);
    return match !== null && match[1] === name && (match[2] === '=' || match[2] === '!=');
  };
  const parts = inner === '' ? [] : splitMatchers(inner).filter((part) => !isExactOnName(part));
  parts.push(matcher);
  return `${query.slice(0, start)}{${parts.join(', ')}}${query.slice(end)}`;
}

/** Splits `a="x", b=~"y,z"` on the commas between matchers. */
export function splitMatchers(inner: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quote = '';
  for (let i = 0; i < inner.length; i++) {
    const char = inner[i];
    if (quote !== '') {
      current += char;
      if (char === '\\' && quote === '"' && i + 1 < inner.length) current += inner[++i];
      else if (char === quote) quote = '';
      continue;
    }
    if (char === '"' || char === '`') quote = char;
    if (char === ',') {
      if (current.trim() !== '') parts.push(current.trim());
      current = '';
    } else current += char;
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}

/** Appends a label filter stage (for structured metadata and parsed labels). Only valid on a log query. */
export function withLabelFilter(query: string, name: string, operator: '=' | '!=', value: string): string {
  return `${query.trimEnd()} | ${name}${operator}${quoteValue(value)}`;
}

/** Names of labels that say where a line ran; dropped to see one moment across every rank. */
const PLACEMENT_LABELS = new Set([
  'rank', 'global_rank', 'local_rank', 'node_rank', 'group_rank', 'pod', 'node', 'host', 'hostname', 'instance', 'container',
  'filename', 'stream', 'fd', 'level', 'detected_level', 'component', 'slurm_procid', 'ompi_comm_world_rank', 'pmi_rank',
]);

/**
 * Labels that name a training run, in the order the server picks a run's id by (run_id is set by
 * `rankscope run`, torchelastic_run_id by torchrun, slurm_job_id by Slurm, job by most shippers).
 */
export const RUN_LABELS = ['run_id', 'torchelastic_run_id', 'slurm_job_id', 'job'] as const;

/**
 * The selector for "the same run, every rank". When the stream names its run, only that label is
 * kept, so per-rank labels of any name (a PyTorchJob master's `replica_type`, a pod template hash)
 * don't hide ranks; otherwise the stream's labels minus those naming a process.
 */
export function allRanksSelector(stream: Record<string, string>): string {
  const runLabel = RUN_LABELS.find((name) => stream[name] !== undefined && stream[name] !== '');
  if (runLabel !== undefined) return `{${runLabel}=${quoteValue(stream[runLabel]!)}}`;
  const kept = Object.keys(stream)
    .filter((name) => !PLACEMENT_LABELS.has(name))
    .sort()
    .map((name) => `${name}=${quoteValue(stream[name])}`);
  if (kept.length === 0) {
    const anyName = Object.keys(stream)[0] ?? 'job';
    return `{${anyName}=~".+"}`;
  }
  return `{${kept.join(', ')}}`;
}

/** Labels that split one process's output by severity; "this stream" context shows every level. */
const LEVEL_LABELS = new Set(['level', 'detected_level', 'severity']);

/** The selector for one process's output (its stream), whatever the level of each line. */
export function processSelector(stream: Record<string, string>): string {
  const kept: Record<string, string> = {};
  for (const [name, value] of Object.entries(stream)) if (!LEVEL_LABELS.has(name)) kept[name] = value;
  return exactSelector(kept);
}

/** Label names that make a useful first query, best first. */
const STARTER_LABELS = [...RUN_LABELS, 'service_name', 'app', 'namespace', 'container', 'filename'];

/**
 * A first query that shows data: the first label of STARTER_LABELS (else any label) that has values
 * in the range, with its last value (run ids and dates sort so that the last is usually the newest).
 */
export async function starterQuery(names: string[], valuesOf: (name: string) => Promise<string[]>): Promise<string | undefined> {
  const candidates = [...STARTER_LABELS.filter((name) => names.includes(name)), ...names.filter((name) => !name.startsWith('__'))];
  for (const name of new Set(candidates)) {
    const values = await valuesOf(name);
    if (values.length > 0) return `{${name}=${quoteValue(values[values.length - 1]!)}}`;
  }
  return undefined;
}

export function exactSelector(stream: Record<string, string>): string {
  const names = Object.keys(stream).sort();
  if (names.length === 0) return '{}';
  return `{${names.map((name) => `${name}=${quoteValue(stream[name])}`).join(', ')}}`;
}
