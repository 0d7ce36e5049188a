// Prints an expression back as PromQL text, the way Prometheus' String() does (what format_query
// returns on one line and what rule files and the ruler show).

import { formatPrometheusDuration } from '../../logql/syntax/durations.ts';
import { formatGoFloat } from '../../logql/syntax/numbers.ts';
import { quoteGoString } from '../../logql/syntax/quoting.ts';
import type { MetricLabelMatcher } from '../../tsdb/types.ts';
import type { AtModifier, DurationExpr, Expr, VectorMatching } from './ast.ts';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

export function formatExpr(expr: Expr): string {
  switch (expr.type) {
    case 'NumberLiteral':
      return formatGoFloat(expr.value);
    case 'StringLiteral':
      return quoteGoString(expr.value);
    case 'ParenExpr':
      return `(${formatExpr(expr.expr)})`;
    case 'UnaryExpr':
      return `${expr.op}${formatExpr(expr.expr)}`;
    case 'VectorSelector': {
      let matchers = expr.matchers;
      let head = '';
      if (expr.name !== undefined && METRIC_NAME.test(expr.name)) {
        head = expr.name;
        matchers = matchers.filter((m) => !(m.name === '__name__' && m.type === '=' && m.value === expr.name));
      }
      const body = matchers.length > 0 || head === '' ? `{${matchers.map(formatMatcher).join(', ')}}` : '';
      return `${head}${body}${formatModifiers(expr.offsetMs, expr.offsetExpr, expr.at)}${expr.smoothed ? ' smoothed' : ''}`;
    }
    case 'MatrixSelector': {
      const vector = formatExpr({ ...expr.vector, offsetMs: 0, offsetExpr: undefined, at: undefined });
      const range = expr.rangeExpr ? formatDurationExpr(expr.rangeExpr) : formatMs(expr.rangeMs);
      const modifier = expr.modifier ? ` ${expr.modifier}` : '';
      return `${vector}[${range}]${modifier}${formatModifiers(expr.vector.offsetMs, expr.vector.offsetExpr, expr.vector.at)}`;
    }
    case 'SubqueryExpr': {
      const range = expr.rangeExpr ? formatDurationExpr(expr.rangeExpr) : formatMs(expr.rangeMs);
      const step = expr.stepExpr ? formatDurationExpr(expr.stepExpr) : expr.stepMs > 0 ? formatMs(expr.stepMs) : '';
      return `${formatExpr(expr.expr)}[${range}:${step}]${formatModifiers(expr.offsetMs, expr.offsetExpr, expr.at)}`;
    }
    case 'Call':
      return `${expr.func}(${expr.args.map(formatExpr).join(', ')})`;
    case 'AggregateExpr': {
      const args = expr.param ? `${formatExpr(expr.param)}, ${formatExpr(expr.expr)}` : formatExpr(expr.expr);
      return `${aggregationPrefix(expr)}(${args})`;
    }
    case 'BinaryExpr':
      return `${formatExpr(expr.lhs)} ${expr.op}${expr.returnBool ? ' bool' : ''}${formatMatching(expr.matching)} ${formatExpr(expr.rhs)}`;
  }
}

/** `sum by (job) ` / `sum without (a) ` / `sum`: the aggregation up to its argument list. */
export function aggregationPrefix(expr: Extract<Expr, { type: 'AggregateExpr' }>): string {
  if (expr.without) return `${expr.op} without (${expr.grouping.map(formatLabelName).join(', ')}) `;
  if (expr.grouping.length > 0) return `${expr.op} by (${expr.grouping.map(formatLabelName).join(', ')}) `;
  return expr.op;
}

/** ` on (a) group_left (b)` as Prometheus prints vector matching (nothing for a bare `ignoring ()`). */
export function formatMatching(matching: VectorMatching | undefined): string {
  if (matching === undefined) return '';
  let out = '';
  if (matching.matchingLabels.length > 0 || matching.on) {
    out += ` ${matching.on ? 'on' : 'ignoring'} (${matching.matchingLabels.map(formatLabelName).join(', ')})`;
    if (matching.card === 'many-to-one' || matching.card === 'one-to-many') {
      out += ` ${matching.card === 'many-to-one' ? 'group_left' : 'group_right'} (${matching.include.map(formatLabelName).join(', ')})`;
    }
  }
  if (matching.fillLeft !== undefined && matching.fillLeft === matching.fillRight) out += ` fill (${formatGoFloat(matching.fillLeft)})`;
  else {
    if (matching.fillLeft !== undefined) out += ` fill_left (${formatGoFloat(matching.fillLeft)})`;
    if (matching.fillRight !== undefined) out += ` fill_right (${formatGoFloat(matching.fillRight)})`;
  }
  return out;
}

function formatModifiers(offsetMs: number, offsetExpr: DurationExpr | undefined, at: AtModifier | undefined): string {
  let out = '';
  if (at !== undefined) {
    out += at.kind === 'timestamp' ? ` @ ${(at.timestampMs / 1000).toFixed(3)}` : ` @ ${at.kind}()`;
  }
  if (offsetExpr !== undefined) out += ` offset ${formatDurationExpr(offsetExpr)}`;
  else if (offsetMs > 0) out += ` offset ${formatMs(offsetMs)}`;
  else if (offsetMs < 0) out += ` offset -${formatMs(-offsetMs)}`;
  return out;
}

function formatMs(ms: number): string {
  return formatPrometheusDuration(BigInt(Math.round(ms)) * 1_000_000n);
}

function formatDurationExpr(expr: DurationExpr): string {
  switch (expr.kind) {
    case 'literal':
      return Number.isInteger(expr.seconds * 1000) && expr.seconds > 0 ? formatMs(expr.seconds * 1000) : formatGoFloat(expr.seconds);
    case 'step':
      return 'step()';
    case 'range':
      return 'range()';
    case 'unary':
      return `${expr.op}${formatDurationExpr(expr.expr)}`;
    case 'call':
      return `${expr.func}(${formatDurationExpr(expr.args[0])}, ${formatDurationExpr(expr.args[1])})`;
    case 'binary':
      return `(${formatDurationExpr(expr.lhs)} ${expr.op} ${formatDurationExpr(expr.rhs)})`;
  }
}

function formatLabelName(name: string): string {
  return LABEL_NAME.test(name) ? name : quoteGoString(name);
}

export function formatMatcher(matcher: MetricLabelMatcher): string {
  return `${formatLabelName(matcher.name)}${matcher.type}${quoteGoString(matcher.value)}`;
}
