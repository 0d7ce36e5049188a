// Loki's canonical string form of a query (its `String()` methods): what the conformance `string`
// level checks, and the form the ruler and API echo back. Binary operations are fully
// parenthesised, durations use Prometheus/Go notation, strings use Go quoting.

import type {
  BinaryExpr,
  Expr,
  Grouping,
  LabelFilter,
  LabelMatcher,
  LabelSelection,
  LineFilterStage,
  LineFilterValue,
  LogExpr,
  LogRange,
  SampleExpr,
  Stage,
  Unwrap,
} from './ast.ts';
import { formatByteSize, formatGoDuration, formatPrometheusDuration } from './durations.ts';
import { formatFixed6, formatGoFloat, formatPlainFloat } from './numbers.ts';
import { quoteGoString } from './quoting.ts';
import { isSimplifiableLabelRegex } from './regex-syntax.ts';

export function matcherToString(matcher: LabelMatcher): string {
  return `${matcher.name}${matcher.type}${quoteGoString(matcher.value)}`;
}

export function selectorToString(matchers: LabelMatcher[]): string {
  return `{${matchers.map(matcherToString).join(', ')}}`;
}

function lineFilterValueToString(value: LineFilterValue): string {
  return value.kind === 'ip' ? `ip(${quoteGoString(value.pattern)})` : quoteGoString(value.value);
}

function lineFilterToString(stage: LineFilterStage): string {
  // Negative filters with `or` mean "none of", which Loki prints as a chain of filters.
  if (stage.op === '!=' || stage.op === '!~' || stage.op === '!>') {
    return stage.values.map((value) => `${stage.op} ${lineFilterValueToString(value)}`).join(' ');
  }
  return `${stage.op} ${stage.values.map(lineFilterValueToString).join(' or ')}`;
}

export function labelFilterToString(filter: LabelFilter): string {
  switch (filter.kind) {
    case 'string': {
      const { matcher } = filter;
      const isRegex = matcher.type === '=~' || matcher.type === '!~';
      // Loki shows regexes it cannot reduce to string comparisons verbatim between backticks.
      if (isRegex && !isSimplifiableLabelRegex(matcher.value)) {
        const quoted = matcher.value.includes('`') ? quoteGoString(matcher.value) : `\`${matcher.value}\``;
        return `${matcher.name}${matcher.type}${quoted}`;
      }
      return matcherToString(matcher);
    }
    case 'number':
      return `${filter.name}${filter.op === '=' ? '==' : filter.op}${formatPlainFloat(filter.value)}`;
    case 'duration':
      return `${filter.name}${filter.op === '=' ? '==' : filter.op}${formatGoDuration(filter.valueNs)}`;
    case 'bytes':
      return `${filter.name}${filter.op === '=' ? '==' : filter.op}${formatByteSize(filter.valueBytes)}`;
    case 'ip':
      return `${filter.name}${filter.op}ip(${quoteGoString(filter.pattern)})`;
    case 'and':
      return `( ${labelFilterToString(filter.left)} , ${labelFilterToString(filter.right)} )`;
    case 'or':
      return `( ${labelFilterToString(filter.left)} or ${labelFilterToString(filter.right)} )`;
  }
}

function labelSelectionsToString(labels: LabelSelection[]): string {
  return labels.map((label) => (label.matcher === undefined ? label.name : matcherToString(label.matcher))).join(',');
}

export function stageToString(stage: Stage): string {
  switch (stage.kind) {
    case 'lineFilter':
      return lineFilterToString(stage);
    case 'json':
      if (stage.params.length === 0) return '| json';
      return `| json ${stage.params.map((param) => `${param.label}=${quoteGoString(param.expression)}`).join(',')}`;
    case 'logfmt': {
      const flags = `${stage.strict ? ' --strict' : ''}${stage.keepEmpty ? ' --keep-empty' : ''}`;
      if (stage.params.length === 0) return `| logfmt${flags}`;
      return `| logfmt${flags} ${stage.params.map((param) => `${param.label}=${quoteGoString(param.expression)}`).join(',')}`;
    }
    case 'regexp':
      return `| regexp ${quoteGoString(stage.pattern)}`;
    case 'pattern':
      return `| pattern ${quoteGoString(stage.pattern)}`;
    case 'unpack':
      return '| unpack';
    case 'labelFilter':
      return `| ${labelFilterToString(stage.filter)}`;
    case 'lineFormat':
      return `| line_format ${quoteGoString(stage.template)}`;
    case 'labelFormat':
      return `| label_format ${stage.ops
        .map((op) => (op.kind === 'rename' ? `${op.dst}=${op.src}` : `${op.dst}=${quoteGoString(op.template)}`))
        .join(',')}`;
    case 'drop':
      return `| drop ${labelSelectionsToString(stage.labels)}`;
    case 'keep':
      return `| keep ${labelSelectionsToString(stage.labels)}`;
    case 'decolorize':
      return '| decolorize';
  }
}

export function logExprToString(expr: LogExpr): string {
  const selector = selectorToString(expr.matchers);
  if (expr.pipeline.length === 0) return selector;
  return `${selector} ${expr.pipeline.map(stageToString).join(' ')}`;
}

export function unwrapToString(unwrap: Unwrap): string {
  const target = unwrap.conversion === '' ? unwrap.label : `${unwrap.conversion}(${unwrap.label})`;
  return ` | unwrap ${target}${unwrap.postFilters.map((filter) => ` | ${labelFilterToString(filter)}`).join('')}`;
}

export function logRangeToString(range: LogRange): string {
  const unwrap = range.unwrap === undefined ? '' : unwrapToString(range.unwrap);
  const offset = range.offsetNs === 0n ? '' : ` offset ${formatGoDuration(range.offsetNs)}`;
  return `${logExprToString(range.log)}${unwrap}[${formatPrometheusDuration(range.rangeNs)}]${offset}`;
}

function groupingToString(grouping: Grouping): string {
  return `${grouping.without ? ' without ' : ' by '}(${grouping.labels.join(',')})`;
}

/**
 * Operator text with its modifiers, as Loki's BinOpExpr.String() writes it (`> bool on (a,b)
 * group_left (c)`, with Loki's trailing space when there is no group modifier). Loki omits an
 * `ignoring ()` even when `group_left`/`group_right` follows, which changes the meaning; it is kept
 * here in that case. `separator` is `,` for String() and `, ` for the pretty form.
 */
export function binaryOperatorText(expr: BinaryExpr, separator: string): string {
  let op: string = expr.op;
  if (expr.returnBool) op += ' bool';
  const matching = expr.matching;
  if (matching !== undefined && (matching.on || matching.labels.length > 0 || matching.cardinality !== 'one-to-one')) {
    let group = matching.cardinality === 'many-to-one' ? 'group_left' : matching.cardinality === 'one-to-many' ? 'group_right' : '';
    if (matching.include.length > 0) group = `${group} (${matching.include.join(separator)})`;
    op = `${op} ${matching.on ? 'on' : 'ignoring'} (${matching.labels.join(separator)}) ${group}`;
  }
  return op;
}

export function sampleExprToString(expr: SampleExpr): string {
  switch (expr.kind) {
    case 'rangeAggregation': {
      const param = expr.param === undefined ? '' : `${formatPlainFloat(expr.param)},`;
      const grouping = expr.grouping === undefined ? '' : groupingToString(expr.grouping);
      return `${expr.op}(${param}${logRangeToString(expr.range)})${grouping}`;
    }
    case 'vectorAggregation': {
      const takesParam = expr.op === 'topk' || expr.op === 'bottomk' || expr.op === 'approx_topk';
      const param = takesParam ? `${expr.param ?? 0},` : '';
      // `by ()` is Loki's default grouping and is not printed.
      const grouping = expr.grouping === undefined || (!expr.grouping.without && expr.grouping.labels.length === 0)
        ? ''
        : groupingToString(expr.grouping);
      return `${expr.op}${grouping}(${param}${sampleExprToString(expr.expr)})`;
    }
    case 'binary':
      return `(${sampleExprToString(expr.left)} ${binaryOperatorText(expr, ',')} ${sampleExprToString(expr.right)})`;
    case 'literal':
      return formatGoFloat(expr.value);
    case 'vector':
      return `vector(${formatFixed6(expr.value)})`;
    case 'labelReplace':
      return `label_replace(${sampleExprToString(expr.expr)},${[expr.dst, expr.replacement, expr.src, expr.regex]
        .map(quoteGoString)
        .join(',')})`;
  }
}

/** Loki's canonical `String()` form of a parsed query. */
export function exprToString(expr: Expr): string {
  return expr.kind === 'log' ? logExprToString(expr) : sampleExprToString(expr);
}
