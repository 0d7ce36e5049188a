// line_format runs once per log line of a query, so the template engine's per-line cost is a query
// cost. This times LogQL templates over 100k label sets the way line-format.ts calls them, against a
// reference timed in the same run: hand-written JavaScript building the same text (the floor no
// template engine beats).
//   node_modules/.bin/node bench/template-bench.ts [--lines 100000]
// Figures (2-core shared machine, 100k lines, best of 5 per run, best of 2 runs alternated with the
// engine before src/gotemplate/, same machine, quiet moment): fields 15.5 ms (before 20.2; hand-written
// JS 3.2), pipeline + __line__ 23.9 ms (before 38.7; JS 5.6), if/else + printf 49.8 ms (before 77.5;
// JS 5.1), single field 4.5 ms (before 4.2; JS 2.2, both a direct label read). Under load single
// runs vary by 2-3x, so compare only runs alternated in one session.

import { parseArgs } from 'node:util';
import { compileTemplate } from '../src/logql/template/template.ts';

const { values } = parseArgs({ options: { lines: { type: 'string', default: '100000' } } });
const lineCount = Number(values.lines);

interface Entry {
  labels: Record<string, string>;
  line: string;
  timestampNs: bigint;
}

const entries: Entry[] = [];
for (let i = 0; i < lineCount; i++) {
  entries.push({
    labels: { job: 'train', rank: String(i % 32), level: i % 7 === 0 ? 'warn' : 'info', node: `gpu-${i % 4}`, step: String(i * 10) },
    line: `[rank${i % 32}] step ${i * 10} loss=${(2 + (i % 1000) / 1000).toFixed(4)} lr=3.0e-4`,
    timestampNs: 1_700_000_000_000_000_000n + BigInt(i) * 1_000_000n,
  });
}

const CASES: Array<[name: string, template: string, reference: (entry: Entry) => string]> = [
  ['fields', '{{.node}} rank={{.rank}} {{.level}}', (e) => `${e.labels.node} rank=${e.labels.rank} ${e.labels.level}`],
  ['pipeline + __line__', '{{ .level | ToUpper }} {{ __line__ }}', (e) => `${e.labels.level!.toUpperCase()} ${e.line}`],
  ['if/else + printf', '{{ if eq .level "warn" }}W{{ else }}I{{ end }} {{ printf "%3s" .rank }}', (e) => `${e.labels.level === 'warn' ? 'W' : 'I'} ${e.labels.rank!.padStart(3)}`],
  ['single field', '{{.rank}}', (e) => e.labels.rank!],
];

function bestOfFiveMs(run: () => void): number {
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const started = performance.now();
    run();
    best = Math.min(best, performance.now() - started);
  }
  return best;
}

let sink = 0;
console.log(`line_format over ${lineCount} lines (best of 5)`);
console.log('case                   template ms   reference ms   ratio   ns/line');
for (const [name, source, reference] of CASES) {
  const template = compileTemplate('line', source);
  for (const entry of entries) {
    const got = template.execute({ get: (n) => entry.labels[n], all: () => entry.labels, line: entry.line, timestampNs: entry.timestampNs });
    if (got !== reference(entry)) throw new Error(`${name}: template gave ${JSON.stringify(got)}, reference ${JSON.stringify(reference(entry))}`);
    break;
  }
  const templateMs = bestOfFiveMs(() => {
    for (const entry of entries) {
      sink += template.execute({ get: (n) => entry.labels[n], all: () => entry.labels, line: entry.line, timestampNs: entry.timestampNs }).length;
    }
  });
  const referenceMs = bestOfFiveMs(() => {
    for (const entry of entries) sink += reference(entry).length;
  });
  console.log(
    `${name.padEnd(22)} ${templateMs.toFixed(1).padStart(11)} ${referenceMs.toFixed(1).padStart(14)} ${(templateMs / referenceMs).toFixed(1).padStart(7)} ${((templateMs * 1e6) / lineCount).toFixed(0).padStart(9)}`,
  );
}
if (sink === 0) console.log('');
