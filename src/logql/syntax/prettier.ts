// Multi-line formatting for /loki/api/v1/format_query, following Loki's prettier: any node whose
// one-line form is longer than maxCharsPerLine is split, children indented by two spaces, pipeline
// stages one per line, binary operators on their own line between their operands.

import type { BinaryExpr, BinaryOp, Expr, Grouping, LineFilterStage, LogExpr, LogRange, SampleExpr, Stage } from './ast.ts';
import { formatPrometheusDuration } from './durations.ts';
import { formatGoFloat } from './numbers.ts';
import { parseExpr } from './parser.ts';
import {
  binaryOperatorText,
  labelFilterToString,
  logExprToString,
  sampleExprToString,
  selectorToString,
  stageToString,
} from './printer.ts';
import { quoteGoString } from './quoting.ts';

/** Loki's default for format_query. */
export const DEFAULT_MAX_CHARS_PER_LINE = 100;

/** Binding strength of binary operators, as the parser applies it. */
const BINARY_PRECEDENCE: Record<BinaryOp, number> = {
  or: 1,
  and: 2,
  unless: 2,
  '==': 3,
  '!=': 3,
  '>': 3,
  '>=': 3,
  '<': 3,
  '<=': 3,
  '+': 4,
  '-': 4,
  '*': 5,
  '/': 5,
  '%': 5,
  '^': 6,
};

function indent(level: number): string {
  return '  '.repeat(level);
}

/** Consecutive line filters are one pipeline element in Loki; others stand alone. */
type PipelineElement = { kind: 'lineFilters'; filters: LineFilterStage[] } | { kind: 'stage'; stage: Stage };

function groupPipeline(stages: Stage[]): PipelineElement[] {
  const elements: PipelineElement[] = [];
  for (const stage of stages) {
    const last = elements[elements.length - 1];
    if (stage.kind === 'lineFilter' && last?.kind === 'lineFilters') last.filters.push(stage);
    else if (stage.kind === 'lineFilter') elements.push({ kind: 'lineFilters', filters: [stage] });
    else elements.push({ kind: 'stage', stage });
  }
  return elements;
}

class Prettier {
  private readonly maxChars: number;

  constructor(maxChars: number) {
    this.maxChars = maxChars;
  }

  /** Loki measures in bytes (Go's len). */
  private needsSplit(oneLine: string): boolean {
    return Buffer.byteLength(oneLine, 'utf8') > this.maxChars;
  }

  /** A chain of line filters: split from the end until the head fits on a line. */
  private lineFilters(filters: LineFilterStage[], level: number): string {
    const oneLine = filters.map(stageToString).join(' ');
    if (!this.needsSplit(oneLine) || filters.length === 1) return indent(level) + oneLine;
    const last = filters[filters.length - 1] as LineFilterStage;
    return `${this.lineFilters(filters.slice(0, -1), level)}\n${indent(level)}${stageToString(last)}`;
  }

  private logExpr(expr: LogExpr, level: number): string {
    const oneLine = logExprToString(expr);
    if (expr.pipeline.length === 0 || !this.needsSplit(oneLine)) return indent(level) + oneLine;
    const stages = groupPipeline(expr.pipeline).map((element) =>
      element.kind === 'lineFilters' ? this.lineFilters(element.filters, level + 1) : indent(level + 1) + stageToString(element.stage),
    );
    return `${indent(level)}${selectorToString(expr.matchers)}\n${stages.join('\n')}`;
  }

  private logRange(range: LogRange, level: number): string {
    let out = this.logExpr(range.log, level);
    if (range.unwrap !== undefined) {
      const unwrap = range.unwrap;
      const target = unwrap.conversion === '' ? unwrap.label : `${unwrap.conversion}(${unwrap.label})`;
      out += `\n${indent(level + 1)}| unwrap ${target}`;
      for (const filter of unwrap.postFilters) out += `\n${indent(level + 1)}| ${labelFilterToString(filter)}`;
    }
    out += ` [${formatPrometheusDuration(range.rangeNs)}]`;
    if (range.offsetNs !== 0n) out += ` offset ${formatPrometheusDuration(range.offsetNs)}`;
    return out;
  }

  /**
   * ` by (a, b)`. Loki prints nothing for `by ()` and a bare ` without` for `without ()`; the first
   * changes a range aggregation's meaning and the second does not parse, so both keep `()` here.
   */
  private grouping(grouping: Grouping | undefined): string {
    if (grouping === undefined) return '';
    return `${grouping.without ? ' without' : ' by'} (${grouping.labels.join(', ')})`;
  }

  /**
   * A split binary operand that is itself a binary operation needs parentheses when precedence
   * alone would regroup it (`10 / (a / 2)`). Loki's prettier drops them, changing the query; the
   * one-line form keeps them because String() parenthesises every binary operation.
   */
  private operand(parent: BinaryExpr, child: SampleExpr, side: 'left' | 'right', level: number): string {
    const text = this.sample(child, level);
    if (child.kind !== 'binary' || !text.includes('\n')) return text;
    const parentPrecedence = BINARY_PRECEDENCE[parent.op];
    const childPrecedence = BINARY_PRECEDENCE[child.op];
    const rightAssociative = parent.op === '^';
    const needsParens = childPrecedence < parentPrecedence
      || (childPrecedence === parentPrecedence && (side === 'right') !== rightAssociative);
    if (!needsParens) return text;
    return `${indent(level)}(\n${this.sample(child, level + 1)}\n${indent(level)})`;
  }

  private call(name: string, args: string[], level: number, suffix = ''): string {
    return `${indent(level)}${name}(\n${args.join(',\n')}\n${indent(level)})${suffix}`;
  }

  sample(expr: SampleExpr, level: number): string {
    const oneLine = sampleExprToString(expr);
    if (!this.needsSplit(oneLine)) return indent(level) + oneLine;
    switch (expr.kind) {
      case 'rangeAggregation': {
        const args = expr.param === undefined ? [] : [indent(level + 1) + formatGoFloat(expr.param)];
        args.push(this.logRange(expr.range, level + 1));
        return this.call(expr.op, args, level, this.grouping(expr.grouping));
      }
      case 'vectorAggregation': {
        const args = expr.param === undefined ? [] : [indent(level + 1) + String(expr.param)];
        args.push(this.sample(expr.expr, level + 1));
        return this.call(`${expr.op}${this.grouping(expr.grouping)}`, args, level);
      }
      case 'binary': {
        const op = binaryOperatorText(expr, ', ');
        return `${this.operand(expr, expr.left, 'left', level + 1)}\n${indent(level)}${op}\n${this.operand(expr, expr.right, 'right', level + 1)}`;
      }
      case 'labelReplace': {
        const strings = [expr.dst, expr.replacement, expr.src, expr.regex].map((text) => indent(level + 1) + quoteGoString(text));
        return this.call('label_replace', [this.sample(expr.expr, level + 1), ...strings], level);
      }
      case 'literal':
      case 'vector':
        return indent(level) + oneLine;
    }
  }

  expr(expr: Expr): string {
    return expr.kind === 'log' ? this.logExpr(expr, 0) : this.sample(expr, 0);
  }
}

/** Pretty-prints a parsed query. */
export function prettyPrint(expr: Expr, maxCharsPerLine = DEFAULT_MAX_CHARS_PER_LINE): string {
  return new Prettier(maxCharsPerLine).expr(expr);
}

/** /loki/api/v1/format_query: parse (with validation) then pretty-print. Throws QueryError. */
export function formatQuery(text: string, maxCharsPerLine = DEFAULT_MAX_CHARS_PER_LINE): string {
  return prettyPrint(parseExpr(text), maxCharsPerLine);
}

