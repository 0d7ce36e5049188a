// Label filters (`| status >= 500`, `| level="error" or duration > 1s`, `| addr = ip("10.0.0.0/8")`).

import type { ComparisonOp, LabelFilter, LabelMatcher } from '../syntax/ast.ts';
import { compileRegex, RegexSyntaxError, type RegexEngine } from '../../regex/index.ts';
import { compileIpMatcher } from './ip.ts';
import { ErrorType, type LabelsBuilder, type PipelineEntry, type PipelineStage } from './labels-builder.ts';
import { StageBuildError } from './line-filter.ts';
import { ConversionError, parseGoDurationNs, parseGoFloat, parseHumanBytes } from './units.ts';

export type LabelPredicate = (labels: LabelsBuilder) => boolean;

/** Prometheus matcher semantics on a value ("" when the label is missing). */
export function compileMatcher(matcher: LabelMatcher): (value: string) => boolean {
  switch (matcher.type) {
    case '=':
      return (value) => value === matcher.value;
    case '!=':
      return (value) => value !== matcher.value;
    case '=~':
    case '!~': {
      let regexp: RegexEngine;
      try {
        regexp = compileRegex(matcher.value, 'matcher').regexp;
      } catch (error) {
        if (error instanceof RegexSyntaxError) throw new StageBuildError(error.message);
        throw error;
      }
      if (matcher.value === '.*') return () => matcher.type === '=~';
      return matcher.type === '=~' ? (value) => regexp.test(value) : (value) => !regexp.test(value);
    }
  }
}

function compare(op: ComparisonOp, left: number, right: number): boolean {
  switch (op) {
    case '==':
    case '=':
      return left === right;
    case '!=':
      return left !== right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
  }
}

function numericFilter(name: string, op: ComparisonOp, right: number, convert: (text: string) => number): LabelPredicate {
  return (labels) => {
    // With an error already set only string matchers may filter the entry (Loki keeps it).
    if (labels.hasError()) return true;
    const text = labels.get(name);
    if (text === undefined) return false;
    let value: number;
    try {
      value = convert(text);
    } catch (error) {
      labels.setError(ErrorType.labelFilter, error instanceof ConversionError ? error.message : String(error));
      return true;
    }
    return compare(op, value, right);
  };
}

export function compileLabelFilter(filter: LabelFilter): LabelPredicate {
  switch (filter.kind) {
    case 'string': {
      const test = compileMatcher(filter.matcher);
      const name = filter.matcher.name;
      return (labels) => test(labels.get(name) ?? '');
    }
    case 'number':
      return numericFilter(filter.name, filter.op, filter.value, parseGoFloat);
    case 'duration':
      return numericFilter(filter.name, filter.op, Number(filter.valueNs), parseGoDurationNs);
    case 'bytes':
      return numericFilter(filter.name, filter.op, filter.valueBytes, parseHumanBytes);
    case 'ip': {
      let matcher;
      try {
        matcher = compileIpMatcher(filter.pattern);
      } catch (error) {
        throw new StageBuildError((error as Error).message);
      }
      const name = filter.name;
      const equal = filter.op === '=';
      return (labels) => {
        const value = labels.get(name);
        if (value === undefined) return !equal;
        return matcher.matches(value) === equal;
      };
    }
    case 'and': {
      const left = compileLabelFilter(filter.left);
      const right = compileLabelFilter(filter.right);
      return (labels) => {
        const leftPassed = left(labels);
        const rightPassed = right(labels);
        return leftPassed && rightPassed;
      };
    }
    case 'or': {
      const left = compileLabelFilter(filter.left);
      const right = compileLabelFilter(filter.right);
      return (labels) => left(labels) || right(labels);
    }
  }
}

export function labelFilterStage(filter: LabelFilter): PipelineStage {
  const predicate = compileLabelFilter(filter);
  const process = (entry: PipelineEntry) => predicate(entry.labels);
  return { process, processRaw: process };
}
