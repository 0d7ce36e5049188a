// `rankscope rules check FILE…`: validates rule files without a server, like `promtool check rules`
// but with LogQL expressions (or PromQL ones with --promql). Exit 0 when every file is valid, 1 when any has a problem, 2 on misuse.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { validatePromqlRuleExpr, validateRuleExpr } from '../ruler/expr-validation.ts';
import type { ExprValidator } from '../ruler/rule-file.ts';
import { formatRuleProblem, parseRuleFile, RuleFileError, type RuleProblem } from '../ruler/rule-file.ts';

const USAGE = `usage: rankscope rules check [--output text|json] [--promql] FILE|DIR…

Checks Prometheus/Loki-format rule files: YAML structure, group and rule fields, durations, label
names, Go templates in labels and annotations, and that every expr is a LogQL metric query (with
--promql: a PromQL instant vector or scalar, for files of ruler.prometheus_rules_dir).
A directory is checked like the server's rules_dir: its *.yaml/*.yml files and those of its
per-tenant subdirectories. Problems are printed as FILE:LINE:COLUMN: reason. Exit status 1 when any
file has a problem.`;

/** Expands directories the way the ruler reads rules_dir: top-level files and one level of tenants. */
function expandPaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const path of paths) {
    let isDirectory = false;
    try {
      isDirectory = statSync(path).isDirectory();
    } catch {
      // a missing path is reported by checkFile
    }
    if (!isDirectory) {
      out.push(path);
      continue;
    }
    for (const entry of readdirSync(path, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (entry.isFile() && /^[^.~][^~]*\.ya?ml$/.test(entry.name)) out.push(join(path, entry.name));
      else if (entry.isDirectory() && !entry.name.startsWith('.')) {
        for (const inner of readdirSync(join(path, entry.name)).sort()) {
          if (/^[^.~][^~]*\.ya?ml$/.test(inner)) out.push(join(path, entry.name, inner));
        }
      }
    }
  }
  return out;
}

interface FileReport {
  path: string;
  groups: number;
  rules: number;
  problems: RuleProblem[];
}

function checkFile(path: string, validateExpr: ExprValidator): FileReport {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    return { path, groups: 0, rules: 0, problems: [{ path, line: 0, column: 0, message: `cannot read file: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` }] };
  }
  try {
    const groups = parseRuleFile(text, path, { validateExpr });
    return { path, groups: groups.length, rules: groups.reduce((sum, group) => sum + group.rules.length, 0), problems: [] };
  } catch (error) {
    if (error instanceof RuleFileError) return { path, groups: 0, rules: 0, problems: error.problems };
    throw error;
  }
}

export async function run(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, allowPositionals: true, options: { output: { type: 'string', default: 'text' }, promql: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    console.error(`rankscope rules: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [subcommand, ...files] = parsed.positionals;
  if (parsed.values.help === true || subcommand === undefined) {
    (parsed.values.help === true ? console.log : console.error)(USAGE);
    return parsed.values.help === true ? 0 : 2;
  }
  if (subcommand !== 'check') {
    console.error(`rankscope rules: unknown subcommand ${JSON.stringify(subcommand)}\n\n${USAGE}`);
    return 2;
  }
  if (files.length === 0) {
    console.error(`rankscope rules check: give at least one rule file\n\n${USAGE}`);
    return 2;
  }
  const output = parsed.values.output;
  if (output !== 'text' && output !== 'json') {
    console.error(`rankscope rules check: --output must be text or json, not ${JSON.stringify(output)}`);
    return 2;
  }
  const expanded = expandPaths(files);
  if (expanded.length === 0) {
    console.error(`rankscope rules check: no rule files (*.yaml, *.yml) in ${files.join(', ')}`);
    return 1;
  }
  const validateExpr = parsed.values.promql === true ? validatePromqlRuleExpr : validateRuleExpr;
  const reports = expanded.map((path) => checkFile(path, validateExpr));
  if (output === 'json') {
    console.log(JSON.stringify(reports, null, 2));
  } else {
    for (const report of reports) {
      if (report.problems.length === 0) console.log(`${report.path}: SUCCESS: ${report.rules} rules found in ${report.groups} groups`);
      else {
        console.error(`${report.path}: FAILED:`);
        for (const problem of report.problems) console.error(`  ${formatRuleProblem(problem)}`);
      }
    }
  }
  return reports.some((report) => report.problems.length > 0) ? 1 : 0;
}
