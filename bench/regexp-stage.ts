// The `| regexp` stage alone, on the lines the quick bench's regexp query hands it (synthetic training
// log lines containing `step `, which its label prefilter keeps), against the path it replaced in the
// same run: one exec per line with a groups object, every named group read by name. The new stage
// reads only the groups the query needs (here `step`, for `| step != ""`), by number, from a regex
// compiled with just those groups capturing. Each line is decoded from bytes on every pass, as a
// scan decodes it for the stage, and a decode-only pass is the floor.
//   node_modules/node/bin/node bench/regexp-stage.ts [--size-mb 32] [--rounds 10]

import { parseArgs } from 'node:util';
import { generateTrainingLog } from './synthetic-log.ts';
import { compileRegex } from '../src/regex/index.ts';
import { regexpParserStage } from '../src/logql/log/regexp-parser.ts';
import { LabelsBuilder, type PipelineEntry, type PipelineStage } from '../src/logql/log/labels-builder.ts';

const { values } = parseArgs({ options: { 'size-mb': { type: 'string', default: '32' }, rounds: { type: 'string', default: '10' } } });
const PATTERN = 'step (?P<step>[0-9]+)/(?P<total>[0-9]+)';
const NEEDED = new Set(['step', '__error__', '__error_details__']);

const kept: string[] = [];
let generatedBytes = 0;
for (const entry of generateTrainingLog({ seed: 42 })) {
  generatedBytes += entry.line.length + 1;
  if (entry.line.includes('step ')) kept.push(entry.line);
  if (generatedBytes >= Number(values['size-mb']) * 1024 * 1024) break;
}
const bytes = Buffer.from(kept.join(''));
const lineEnds: number[] = [];
let lineBytes = 0;
for (const line of kept) lineEnds.push((lineBytes += Buffer.byteLength(line)));

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
const decodeOnly: PipelineStage = { process: () => true };
function cpuMs(stage: PipelineStage): { ms: number; kept: number } {
  const started = process.cpuUsage();
  let kept = 0;
  let start = 0;
  for (const end of lineEnds) {
    labels.reset({ job: 'train' });
    entry.line = bytes.toString('utf8', start, end);
    start = end;
    stage.process(entry);
    if ((labels.get('step') ?? '') !== '') kept++;
  }
  const used = process.cpuUsage(started);
  return { ms: (used.user + used.system) / 1000, kept };
}

const runs = { decodeOnly: [] as number[], fullGroups: [] as number[], hinted: [] as number[] };
for (let round = 0; round < Number(values.rounds); round++) {
  runs.decodeOnly.push(cpuMs(decodeOnly).ms);
  const before = cpuMs(fullGroups);
  const after = cpuMs(hinted);
  if (before.kept !== after.kept) throw new Error(`the stages disagree: ${before.kept} vs ${after.kept} lines with a step`);
  runs.fullGroups.push(before.ms);
  runs.hinted.push(after.ms);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const lines = lineEnds.length;
console.log(`${lines} lines with "step " (${(lineBytes / 1e6).toFixed(1)} MB) of ${(generatedBytes / 1e6).toFixed(1)} MB generated, ${values.rounds} rounds each, alternating`);
for (const [name, times] of Object.entries(runs)) {
  const ms = median(times);
  console.log(`  ${name}: ${ms.toFixed(1)} ms CPU median (${((ms * 1e6) / lines).toFixed(0)} ns/line, ${(lineBytes / (ms / 1000) / 1e9).toFixed(2)} GB of those lines per CPU-second)`);
}
const floor = median(runs.decodeOnly);
console.log(`  stage above decoding: full groups ${(median(runs.fullGroups) - floor).toFixed(1)} ms, hinted ${(median(runs.hinted) - floor).toFixed(1)} ms`);
