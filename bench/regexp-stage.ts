// The `| regexp` stage alone, on the lines the quick bench's regexp query hands it (synthetic training
// log lines containing `step `, which its label prefilter keeps), against the path it replaced in the
// same run: one exec per line with a groups object, every named group read by name. The new stage
// reads only the groups the query needs (here `step`, for `| step != ""`), by number, from a regex
// compiled with just those groups capturing.
//   node_modules/node/bin/node bench/regexp-stage.ts [--size-mb 32] [--rounds 10]

import { parseArgs } from 'node:util';
import { generateTrainingLog } from './synthetic-log.ts';
import { compileRegex } from '../src/regex/index.ts';
import { regexpParserStage } from '../src/logql/log/regexp-parser.ts';
import { LabelsBuilder, type PipelineEntry, type PipelineStage } from '../src/logql/log/labels-builder.ts';

const { values } = parseArgs({ options: { 'size-mb': { type: 'string', default: '32' }, rounds: { type: 'string', default: '10' } } });
const PATTERN = 'step (?P<step>[0-9]+)/(?P<total>[0-9]+)';
const NEEDED = new Set(['step', '__error__', '__error_details__']);

const lines: string[] = [];
let lineBytes = 0;
let generatedBytes = 0;
for (const entry of generateTrainingLog({ seed: 42 })) {
  generatedBytes += entry.line.length + 1;
  if (entry.line.includes('step ')) {
    lines.push(entry.line);
    lineBytes += Buffer.byteLength(entry.line);
  }
  if (generatedBytes >= Number(values['size-mb']) * 1024 * 1024) break;
}

const compiled = compileRegex(PATTERN);
const fullGroups: PipelineStage = {
  process(entry) {
    const match = compiled.regexp.exec(entry.line);
    if (!match?.groups) return true;
    for (const name of compiled.groupNames) if (NEEDED.has(name)) entry.labels.setExtracted(name, match.groups[name] ?? '');
    return true;
  },
};
const hinted = regexpParserStage(PATTERN, NEEDED)!;

const labels = new LabelsBuilder({ job: 'train' });
const entry: PipelineEntry = { timestampNs: 0n, line: '', labels };
function cpuMs(stage: PipelineStage): { ms: number; kept: number } {
  const started = process.cpuUsage();
  let kept = 0;
  for (const line of lines) {
    labels.reset({ job: 'train' });
    entry.line = line;
    stage.process(entry);
    if ((labels.get('step') ?? '') !== '') kept++;
  }
  const used = process.cpuUsage(started);
  return { ms: (used.user + used.system) / 1000, kept };
}

const runs = { fullGroups: [] as number[], hinted: [] as number[] };
for (let round = 0; round < Number(values.rounds); round++) {
  const before = cpuMs(fullGroups);
  const after = cpuMs(hinted);
  if (before.kept !== after.kept) throw new Error(`the stages disagree: ${before.kept} vs ${after.kept} lines with a step`);
  runs.fullGroups.push(before.ms);
  runs.hinted.push(after.ms);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
console.log(`${lines.length} lines with "step " (${(lineBytes / 1e6).toFixed(1)} MB) of ${(generatedBytes / 1e6).toFixed(1)} MB generated, ${values.rounds} rounds each, alternating`);
for (const [name, times] of Object.entries(runs)) {
  const ms = median(times);
  console.log(`  ${name}: ${ms.toFixed(1)} ms CPU median (${((ms * 1e6) / lines.length).toFixed(0)} ns/line, ${(lineBytes / (ms / 1000) / 1e9).toFixed(2)} GB of those lines per CPU-second)`);
}
console.log(`  hinted / full groups: ${(median(runs.hinted) / median(runs.fullGroups)).toFixed(2)}`);
