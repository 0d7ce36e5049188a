// Rule files in the Prometheus/Loki format: `groups:` of {name, interval, limit, rules: [{alert|record,
// expr, for, keep_firing_for, labels, annotations}]}. Parsing walks the YAML node tree so every
// problem carries the file's path, line and column; all problems of a file are reported together.

import { isMap, isScalar, isSeq, LineCounter, parseDocument, stringify, type Node, type Pair, type YAMLMap } from 'yaml';
import { LABEL_NAME_PATTERN } from '../push/labels.ts';
import { formatDurationMs, parseDurationMs } from '../duration/duration.ts';
import { checkAlertTemplate, TemplateError } from './template-functions.ts';

export interface RuleDefinition {
  kind: 'alerting' | 'recording';
  /** The alert name, or the recorded metric name. */
  name: string;
  expr: string;
  forMs: number;
  keepFiringForMs: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface RuleGroupDefinition {
  name: string;
  /** Undefined: the ruler's evaluation_interval. */
  intervalMs: number | undefined;
  /** Max alerts (or recorded series) per rule per evaluation; 0 = no limit. */
  limit: number;
  /** Queries run this far in the past (`query_offset`, Loki's older `evaluation_delay`), for late logs. */
  queryOffsetMs: number;
  rules: RuleDefinition[];
}

export interface RuleProblem {
  path: string;
  /** 1-based; 0 when the problem concerns the whole file. */
  line: number;
  column: number;
  message: string;
}

export class RuleFileError extends Error {
  readonly problems: RuleProblem[];
  constructor(problems: RuleProblem[]) {
    super(problems.map(formatRuleProblem).join('\n'));
    this.name = 'RuleFileError';
    this.problems = problems;
  }
}

export function formatRuleProblem(problem: RuleProblem): string {
  return problem.line > 0 ? `${problem.path}:${problem.line}:${problem.column}: ${problem.message}` : `${problem.path}: ${problem.message}`;
}

/** Checks a LogQL expression; returns a message when it is not a valid metric query. */
export type ExprValidator = (expr: string) => { message: string; line?: number; column?: number } | undefined;

export interface RuleParseOptions {
  validateExpr?: ExprValidator;
}

const METRIC_NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const GROUP_KEYS = new Set(['name', 'interval', 'limit', 'rules', 'query_offset', 'evaluation_delay', 'source_tenants']);
/** Accepted by Loki, refused here with a reason rather than silently ignored. */
const UNSUPPORTED_GROUP_KEYS: Record<string, string> = {
  source_tenants: 'source_tenants (federated rule groups across tenants) is not supported',
};
const RULE_KEYS = new Set(['alert', 'record', 'expr', 'for', 'keep_firing_for', 'labels', 'annotations']);

class ProblemCollector {
  readonly problems: RuleProblem[] = [];
  private readonly path: string;
  private readonly lineCounter: LineCounter;
  constructor(path: string, lineCounter: LineCounter) {
    this.path = path;
    this.lineCounter = lineCounter;
  }
  at(node: Node | null | undefined, message: string): void {
    const offset = node?.range?.[0];
    if (offset === undefined) {
      this.problems.push({ path: this.path, line: 0, column: 0, message });
      return;
    }
    const position = this.lineCounter.linePos(offset);
    this.problems.push({ path: this.path, line: position.line, column: position.col, message });
  }
  atPosition(line: number, column: number, message: string): void {
    this.problems.push({ path: this.path, line, column, message });
  }
  position(node: Node | null | undefined): { line: number; column: number } {
    const offset = node?.range?.[0];
    if (offset === undefined) return { line: 0, column: 0 };
    const position = this.lineCounter.linePos(offset);
    return { line: position.line, column: position.col };
  }
}

function keyName(pair: Pair): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
}

function scalarString(node: unknown, problems: ProblemCollector, what: string): string | undefined {
  if (!isScalar(node) || (typeof node.value !== 'string' && typeof node.value !== 'number' && typeof node.value !== 'boolean')) {
    problems.at(node as Node, `${what} must be a string`);
    return undefined;
  }
  return String(node.value);
}

function parseDurationField(node: unknown, problems: ProblemCollector, what: string): number | undefined {
  const text = scalarString(node, problems, what);
  if (text === undefined) return undefined;
  try {
    return parseDurationMs(text);
  } catch (error) {
    problems.at(node as Node, `${what}: ${(error as Error).message}`);
    return undefined;
  }
}

function parseStringMap(node: unknown, problems: ProblemCollector, what: string): Record<string, string> {
  const result: Record<string, string> = {};
  if (node === null || node === undefined || (isScalar(node) && node.value === null)) return result;
  if (!isMap(node)) {
    problems.at(node as Node, `${what} must be a map of strings`);
    return result;
  }
  for (const pair of node.items) {
    const name = keyName(pair);
    const value = scalarString(pair.value, problems, `${what}.${name}`);
    if (value !== undefined) result[name] = value;
  }
  return result;
}

function checkTemplates(values: Record<string, string>, node: unknown, problems: ProblemCollector, what: string): void {
  for (const [name, value] of Object.entries(values)) {
    try {
      checkAlertTemplate(value);
    } catch (error) {
      if (!(error instanceof TemplateError)) throw error;
      const valueNode = isMap(node) ? (node as YAMLMap).items.find((pair) => keyName(pair) === name)?.value : node;
      problems.at(valueNode as Node, `${what} ${JSON.stringify(name)}: template: ${error.message}`);
    }
  }
}

function parseRule(node: unknown, problems: ProblemCollector, options: RuleParseOptions): RuleDefinition | undefined {
  if (!isMap(node)) {
    problems.at(node as Node, 'a rule must be a map with alert or record, and expr');
    return undefined;
  }
  const fields = new Map<string, Pair>();
  for (const pair of node.items) {
    const name = keyName(pair);
    if (!RULE_KEYS.has(name)) problems.at(pair.key as Node, `field ${name} not found in type rulefmt.Rule`);
    else if (fields.has(name)) problems.at(pair.key as Node, `field ${name} given twice`);
    else fields.set(name, pair);
  }
  const alertPair = fields.get('alert');
  const recordPair = fields.get('record');
  const exprPair = fields.get('expr');
  if (alertPair !== undefined && recordPair !== undefined) {
    problems.at(node, 'only one of \'record\' and \'alert\' must be set');
    return undefined;
  }
  if (alertPair === undefined && recordPair === undefined) {
    problems.at(node, 'one of \'record\' or \'alert\' must be set');
    return undefined;
  }
  const kind = alertPair !== undefined ? 'alerting' : 'recording';
  const namePair = (alertPair ?? recordPair)!;
  const name = scalarString(namePair.value, problems, kind === 'alerting' ? 'alert' : 'record');
  if (name !== undefined && kind === 'recording' && !METRIC_NAME_PATTERN.test(name)) {
    problems.at(namePair.value as Node, `invalid recording rule name: ${name}`);
  }
  if (name !== undefined && kind === 'alerting' && name.trim() === '') problems.at(namePair.value as Node, 'alert name must not be empty');
  let expr: string | undefined;
  if (exprPair === undefined) problems.at(node, 'field \'expr\' must be set in rule');
  else {
    expr = scalarString(exprPair.value, problems, 'expr');
    if (expr !== undefined && expr.trim() === '') {
      problems.at(exprPair.value as Node, 'field \'expr\' must be set in rule');
      expr = undefined;
    }
    if (expr !== undefined && options.validateExpr !== undefined) {
      const failure = options.validateExpr(expr);
      if (failure !== undefined) {
        const start = problems.position(exprPair.value as Node);
        // Block scalars (`expr: |`) start on the next line; plain ones share the key's line.
        const blockScalar = isScalar(exprPair.value) && (exprPair.value.type === 'BLOCK_LITERAL' || exprPair.value.type === 'BLOCK_FOLDED');
        if (failure.line !== undefined && failure.line > 0 && start.line > 0) {
          const line = start.line + (blockScalar ? failure.line : failure.line - 1);
          problems.atPosition(line, failure.line === 1 && !blockScalar ? start.column + (failure.column ?? 1) - 1 : (failure.column ?? 1), `could not parse expression: ${failure.message}`);
        } else problems.at(exprPair.value as Node, `could not parse expression: ${failure.message}`);
      }
    }
  }
  const forPair = fields.get('for');
  const keepPair = fields.get('keep_firing_for');
  if (kind === 'recording') {
    if (forPair !== undefined) problems.at(forPair.key as Node, 'invalid field \'for\' in recording rule');
    if (keepPair !== undefined) problems.at(keepPair.key as Node, 'invalid field \'keep_firing_for\' in recording rule');
    if (fields.has('annotations')) problems.at(fields.get('annotations')!.key as Node, 'invalid field \'annotations\' in recording rule');
  }
  const forMs = forPair === undefined ? 0 : (parseDurationField(forPair.value, problems, 'for') ?? 0);
  const keepFiringForMs = keepPair === undefined ? 0 : (parseDurationField(keepPair.value, problems, 'keep_firing_for') ?? 0);
  const labelsNode = fields.get('labels')?.value;
  const labels = parseStringMap(labelsNode, problems, 'labels');
  for (const labelName of Object.keys(labels)) {
    if (!LABEL_NAME_PATTERN.test(labelName) || labelName.startsWith('__')) {
      const keyNode = isMap(labelsNode) ? labelsNode.items.find((pair) => keyName(pair) === labelName)?.key : labelsNode;
      problems.at(keyNode as Node, `invalid label name: ${labelName}`);
    }
  }
  const annotationsNode = fields.get('annotations')?.value;
  const annotations = parseStringMap(annotationsNode, problems, 'annotations');
  for (const annotationName of Object.keys(annotations)) {
    if (!LABEL_NAME_PATTERN.test(annotationName)) {
      const keyNode = isMap(annotationsNode) ? annotationsNode.items.find((pair) => keyName(pair) === annotationName)?.key : annotationsNode;
      problems.at(keyNode as Node, `invalid annotation name: ${annotationName}`);
    }
  }
  if (kind === 'alerting') {
    checkTemplates(labels, labelsNode, problems, 'label');
    checkTemplates(annotations, annotationsNode, problems, 'annotation');
  }
  if (name === undefined || expr === undefined) return undefined;
  return { kind, name, expr, forMs, keepFiringForMs, labels, annotations };
}

function parseGroup(node: unknown, problems: ProblemCollector, options: RuleParseOptions): RuleGroupDefinition | undefined {
  if (!isMap(node)) {
    problems.at(node as Node, 'a rule group must be a map with name and rules');
    return undefined;
  }
  let name: string | undefined;
  let intervalMs: number | undefined;
  let limit = 0;
  let queryOffsetMs = 0;
  const rules: RuleDefinition[] = [];
  let sawRules = false;
  for (const pair of node.items) {
    const key = keyName(pair);
    if (!GROUP_KEYS.has(key)) {
      problems.at(pair.key as Node, `field ${key} not found in type rulefmt.RuleGroup`);
      continue;
    }
    if (UNSUPPORTED_GROUP_KEYS[key] !== undefined) {
      problems.at(pair.key as Node, UNSUPPORTED_GROUP_KEYS[key]!);
      continue;
    }
    if (key === 'name') name = scalarString(pair.value, problems, 'group name');
    else if (key === 'query_offset' || key === 'evaluation_delay') queryOffsetMs = parseDurationField(pair.value, problems, key) ?? 0;
    else if (key === 'interval') {
      intervalMs = parseDurationField(pair.value, problems, 'interval');
      if (intervalMs === 0) {
        problems.at(pair.value as Node, 'interval must be greater than 0');
        intervalMs = undefined;
      }
    } else if (key === 'limit') {
      if (!isScalar(pair.value) || typeof pair.value.value !== 'number' || !Number.isInteger(pair.value.value) || pair.value.value < 0) {
        problems.at(pair.value as Node, 'limit must be a non-negative integer');
      } else limit = pair.value.value;
    } else if (key === 'rules') {
      sawRules = true;
      if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) continue;
      if (!isSeq(pair.value)) {
        problems.at(pair.value as Node, 'rules must be a list');
        continue;
      }
      for (const item of pair.value.items) {
        const rule = parseRule(item, problems, options);
        if (rule !== undefined) rules.push(rule);
      }
    }
  }
  if (name === undefined || name.trim() === '') {
    problems.at(node, 'Groupname must not be empty');
    return undefined;
  }
  if (!sawRules) problems.at(node, `group ${JSON.stringify(name)} has no rules field`);
  return { name, intervalMs, limit, queryOffsetMs, rules };
}

function parseYaml(text: string, path: string): { root: unknown; problems: ProblemCollector } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems = new ProblemCollector(path, lineCounter);
  for (const error of document.errors) {
    // prettyErrors is off (it embeds a code excerpt in the message), so positions come from offsets.
    const position = lineCounter.linePos(Math.min(error.pos[0], text.length));
    problems.atPosition(position.line, position.col, `yaml: ${error.message}`);
  }
  return { root: document.contents, problems };
}

/** Parses a whole rule file; throws RuleFileError listing every problem. */
export function parseRuleFile(text: string, path: string, options: RuleParseOptions = {}): RuleGroupDefinition[] {
  const { root, problems } = parseYaml(text, path);
  if (problems.problems.length > 0) throw new RuleFileError(problems.problems);
  const groups: RuleGroupDefinition[] = [];
  if (root === null || root === undefined || (isScalar(root) && root.value === null)) return groups;
  if (!isMap(root)) throw new RuleFileError([{ path, line: 1, column: 1, message: 'a rule file must be a map with a groups list' }]);
  const seen = new Set<string>();
  for (const pair of root.items) {
    const key = keyName(pair);
    if (key !== 'groups') {
      problems.at(pair.key as Node, `field ${key} not found in type rulefmt.RuleGroups`);
      continue;
    }
    if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) continue;
    if (!isSeq(pair.value)) {
      problems.at(pair.value as Node, 'groups must be a list');
      continue;
    }
    for (const item of pair.value.items) {
      const group = parseGroup(item, problems, options);
      if (group === undefined) continue;
      if (seen.has(group.name)) problems.at(item as Node, `${JSON.stringify(group.name)} is repeated in the same file`);
      seen.add(group.name);
      groups.push(group);
    }
  }
  if (problems.problems.length > 0) throw new RuleFileError(problems.problems);
  return groups;
}

/** Parses one rule group (the body of `POST /loki/api/v1/rules/{namespace}`). */
export function parseRuleGroup(text: string, path: string, options: RuleParseOptions = {}): RuleGroupDefinition {
  const { root, problems } = parseYaml(text, path);
  if (problems.problems.length > 0) throw new RuleFileError(problems.problems);
  const group = parseGroup(root, problems, options);
  if (problems.problems.length > 0 || group === undefined) {
    throw new RuleFileError(problems.problems.length > 0 ? problems.problems : [{ path, line: 0, column: 0, message: 'empty rule group' }]);
  }
  return group;
}

/** The plain-object form used for YAML output (the Loki API and files written by it). */
export function ruleGroupToObject(group: RuleGroupDefinition): Record<string, unknown> {
  const result: Record<string, unknown> = { name: group.name };
  if (group.intervalMs !== undefined) result.interval = formatDurationMs(group.intervalMs);
  if (group.limit > 0) result.limit = group.limit;
  if (group.queryOffsetMs > 0) result.query_offset = formatDurationMs(group.queryOffsetMs);
  result.rules = group.rules.map((rule) => {
    const out: Record<string, unknown> = rule.kind === 'alerting' ? { alert: rule.name } : { record: rule.name };
    out.expr = rule.expr;
    if (rule.forMs > 0) out.for = formatDurationMs(rule.forMs);
    if (rule.keepFiringForMs > 0) out.keep_firing_for = formatDurationMs(rule.keepFiringForMs);
    if (Object.keys(rule.labels).length > 0) out.labels = rule.labels;
    if (Object.keys(rule.annotations).length > 0) out.annotations = rule.annotations;
    return out;
  });
  return result;
}

export function ruleGroupsToYaml(groups: RuleGroupDefinition[]): string {
  return stringify({ groups: groups.map(ruleGroupToObject) }, { lineWidth: 0 });
}
