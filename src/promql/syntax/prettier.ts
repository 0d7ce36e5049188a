// format_query's layout, as Prometheus' prettier lays queries out: an expression that fits in 100
// characters stays on one line; a longer one is split at its top (binary operator on its own line,
// aggregation and function arguments indented by two spaces), recursively.

import type { Expr } from './ast.ts';
import { aggregationPrefix, formatExpr, formatMatching } from './printer.ts';

const MAX_CHARACTERS_PER_LINE = 100;
const INDENT = '  ';

function indent(level: number): string {
  return INDENT.repeat(level);
}

export function prettifyExpr(expr: Expr, level = 0): string {
  const oneLine = formatExpr(expr);
  if (oneLine.length <= MAX_CHARACTERS_PER_LINE) return indent(level) + oneLine;
  switch (expr.type) {
    case 'AggregateExpr': {
      let out = `${indent(level)}${aggregationPrefix(expr)}(\n`;
      if (expr.param !== undefined) out += `${prettifyExpr(expr.param, level + 1)},\n`;
      return `${out}${prettifyExpr(expr.expr, level + 1)}\n${indent(level)})`;
    }
    case 'BinaryExpr':
      return `${prettifyExpr(expr.lhs, level + 1)}\n${indent(level)}${expr.op}${expr.returnBool ? ' bool' : ''}${formatMatching(expr.matching)}\n${prettifyExpr(expr.rhs, level + 1)}`;
    case 'Call':
      return `${indent(level)}${expr.func}(\n${expr.args.map((arg) => prettifyExpr(arg, level + 1)).join(',\n')}\n${indent(level)})`;
    case 'ParenExpr':
      return `${indent(level)}(\n${prettifyExpr(expr.expr, level + 1)}\n${indent(level)})`;
    case 'UnaryExpr':
      return `${indent(level)}${expr.op}${prettifyExpr(expr.expr, level).trim()}`;
    case 'SubqueryExpr': {
      // The inner expression is split; the `[range:step] offset …` suffix stays on its last line.
      const inner = formatExpr(expr.expr);
      return prettifyExpr(expr.expr, level) + oneLine.slice(inner.length);
    }
    default:
      return indent(level) + oneLine;
  }
}
