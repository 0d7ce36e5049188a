// Line filters: `|=` `!=` `|~` `!~` `|>` `!>`, `ip(…)`, and `or` chains. A compiled filter is a plain
// predicate on the line text; the engine also asks `literalNeedles` for the substrings it can search
// in raw block bytes before any line is decoded.

import type { LineFilterStage } from '../syntax/ast.ts';
import { analyzeRegexLiterals, compileRegex, RegexSyntaxError } from '../../regex/index.ts';
import { compileIpMatcher } from './ip.ts';
import { parsePattern, testPattern } from './pattern.ts';
import type { PipelineEntry, PipelineStage } from './labels-builder.ts';

export class StageBuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StageBuildError';
  }
}

export type LinePredicate = (line: string) => boolean;

/** Null when the filter is a no-op (`|= ""`, `|~ ""`, `|~ ".*"`). */
export function compileLineFilter(stage: LineFilterStage): LinePredicate | null {
  const negative = stage.op === '!=' || stage.op === '!~' || stage.op === '!>';
  const alternatives: LinePredicate[] = [];
  for (const value of stage.values) {
    if (value.kind === 'ip') {
      if (stage.op !== '|=' && stage.op !== '!=') {
        throw new StageBuildError(`only '|=' and '!=' operations are allowed for ip filter`);
      }
      const matcher = compileIpMatcher(value.pattern);
      alternatives.push((line) => matcher.lineContains(line));
      continue;
    }
    const text = value.value;
    if (stage.op === '|=' || stage.op === '!=') {
      if (text === '' && stage.op === '|=') return stage.values.length === 1 ? null : () => true;
      alternatives.push((line) => line.includes(text));
    } else if (stage.op === '|~' || stage.op === '!~') {
      if ((text === '' || text === '.*') && stage.op === '|~') return stage.values.length === 1 ? null : () => true;
      alternatives.push(compileRegexPredicate(text));
    } else {
      const pattern = parsePatternFilter(text);
      alternatives.push((line) => testPattern(pattern, line));
    }
  }
  const any: LinePredicate =
    alternatives.length === 1 ? alternatives[0]! : (line) => alternatives.some((predicate) => predicate(line));
  return negative ? (line) => !any(line) : any;
}

function parsePatternFilter(text: string) {
  if (text === '') return { nodes: [], names: [] };
  const pattern = parsePattern(text);
  if (pattern.names.length > 0) throw new StageBuildError(`named captures are not allowed: found '<${pattern.names[0]}>'`);
  return pattern;
}

/** Regex search, with a literal fast path: plain alternations become indexOf scans. */
export function compileRegexPredicate(source: string): LinePredicate {
  const plan = analyzeRegexLiterals(source);
  if (plan.alternatives && !plan.caseInsensitive) {
    const needles = plan.alternatives;
    if (needles.length === 1) {
      const needle = needles[0]!;
      return (line) => line.includes(needle);
    }
    return (line) => needles.some((needle) => line.includes(needle));
  }
  let compiled;
  try {
    compiled = compileRegex(source);
  } catch (error) {
    if (error instanceof RegexSyntaxError) throw new StageBuildError(error.message);
    throw error;
  }
  const regexp = compiled.regexp;
  const required = plan.required && !plan.caseInsensitive ? plan.required : undefined;
  if (required) return (line) => line.includes(required) && regexp.test(line);
  return (line) => regexp.test(line);
}

/**
 * Literals a line must contain for a positive filter to pass, as alternatives (any of them).
 * Null when the filter can't be expressed as substrings. Used for raw-byte scans and block pruning.
 */
export function literalNeedles(stage: LineFilterStage): { needles: string[]; caseInsensitive: boolean } | null {
  if (stage.op === '|=') {
    if (stage.values.some((v) => v.kind !== 'text' || v.value === '')) return null;
    return { needles: stage.values.map((v) => (v as { value: string }).value), caseInsensitive: false };
  }
  if (stage.op === '|~') {
    const needles: string[] = [];
    let caseInsensitive = false;
    for (const value of stage.values) {
      if (value.kind !== 'text') return null;
      const plan = analyzeRegexLiterals(value.value);
      if (plan.alternatives) needles.push(...plan.alternatives);
      else if (plan.required) needles.push(plan.required);
      else return null;
      caseInsensitive ||= plan.caseInsensitive;
    }
    return { needles, caseInsensitive };
  }
  return null;
}

/** Whether the filter is exactly "line contains one of these literals" (no regex needed afterwards). */
export function isPureLiteralFilter(stage: LineFilterStage): boolean {
  if (stage.op === '|=' || stage.op === '!=') return stage.values.every((v) => v.kind === 'text' && v.value !== '');
  if (stage.op === '|~' || stage.op === '!~') {
    return stage.values.every((v) => {
      if (v.kind !== 'text') return false;
      const plan = analyzeRegexLiterals(v.value);
      return plan.alternatives !== undefined && !plan.caseInsensitive;
    });
  }
  return false;
}

export function lineFilterStage(predicate: LinePredicate): PipelineStage {
  return { process: (entry: PipelineEntry) => predicate(entry.line) };
}
