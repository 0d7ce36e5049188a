// The LogQL abstract syntax tree: plain data, discriminated on `kind`, no classes and no methods, so
// the evaluator, the planner, the printer and tests can all walk it with a `switch`.
//
// Shape, top down:
//   Expr            = LogExpr | SampleExpr                    (what a query string parses to)
//   LogExpr         = stream selector + pipeline               `{app="x"} |= "err" | json`
//   SampleExpr      = range aggregation | vector aggregation | binary op | literal | vector()
//                     | label_replace()                         (anything that yields numbers)
//   RangeAggregation wraps a LogRange: a LogExpr plus `[range]`, `offset` and an optional unwrap.
//   Pipeline stages appear in source order; `Stage` covers line filters, parsers, label filters,
//   formatters, drop/keep and decolorize. `unwrap` is not a stage: it ends the pipeline of a LogRange.
//   LabelFilter is a small boolean tree (and/or) over typed leaf comparisons.
//
// Units: every duration (range, offset, duration label filters) is nanoseconds as `bigint`, so
// `1h15m30.918273645s` survives a round trip. Bytes are a plain number of bytes (exact up to 2^53).
// Numbers are float64. Strings are stored unquoted (escape sequences already resolved). Regex
// patterns are stored as text only; compiling them (RE2 semantics) is the evaluator's job.
// Parentheses are not kept: grouping is carried by the tree, and the printer adds them back.

import type { LabelMatcher, MatchType } from '../../store/types.ts';

export type { LabelMatcher, MatchType };

// ---------------------------------------------------------------------------------------------------
// Log queries

export interface LogExpr {
  kind: 'log';
  /** The stream selector's matchers, in source order. May be empty only for `{}` in `match[]`. */
  matchers: LabelMatcher[];
  pipeline: Stage[];
}

export type Stage =
  | LineFilterStage
  | JsonParserStage
  | LogfmtParserStage
  | RegexpParserStage
  | PatternParserStage
  | UnpackParserStage
  | LabelFilterStage
  | LineFormatStage
  | LabelFormatStage
  | DropLabelsStage
  | KeepLabelsStage
  | DecolorizeStage;

/** `|=` contains, `!=` not contains, `|~` regex search, `!~` negated, `|>` pattern, `!>` negated. */
export type LineFilterOp = '|=' | '!=' | '|~' | '!~' | '|>' | '!>';

export type LineFilterValue =
  | { kind: 'text'; value: string }
  /** `ip("…")`: a single address, a range `a-b` or a CIDR, v4 or v6. */
  | { kind: 'ip'; pattern: string };

/**
 * One line filter. `values` has more than one element when written with `or`
 * (`|= "a" or "b"`): the line must match any of them. The parser turns a negative filter written
 * with `or` (`!= "a" or "b"`, meaning "none of") into consecutive single-value stages, so for
 * `!=`, `!~` and `!>` `values` has exactly one element.
 */
export interface LineFilterStage {
  kind: 'lineFilter';
  op: LineFilterOp;
  values: LineFilterValue[];
}

/** `| json` or `| json a="x.y", b` (bare `b` is stored as { label: 'b', expression: 'b' }). */
export interface JsonParserStage {
  kind: 'json';
  params: ExtractionParam[];
}

export interface LogfmtParserStage {
  kind: 'logfmt';
  /** `--strict`: stop at the first malformed pair and set __error__. */
  strict: boolean;
  /** `--keep-empty`: standalone keys become labels with an empty value. */
  keepEmpty: boolean;
  params: ExtractionParam[];
}

/** A `label="expression"` parameter of json/logfmt. */
export interface ExtractionParam {
  label: string;
  expression: string;
}

export interface RegexpParserStage {
  kind: 'regexp';
  /** RE2 pattern with named groups `(?P<name>…)`. */
  pattern: string;
}

export interface PatternParserStage {
  kind: 'pattern';
  /** Pattern text such as `<ip> - <_> [<ts>]`. */
  pattern: string;
}

export interface UnpackParserStage {
  kind: 'unpack';
}

export interface LabelFilterStage {
  kind: 'labelFilter';
  filter: LabelFilter;
}

export type ComparisonOp = '==' | '=' | '!=' | '>' | '>=' | '<' | '<=';

export type LabelFilter =
  /** Prometheus-style string matcher on a label's current value (a missing label is ""). */
  | { kind: 'string'; matcher: LabelMatcher }
  | { kind: 'number'; name: string; op: ComparisonOp; value: number }
  | { kind: 'duration'; name: string; op: ComparisonOp; valueNs: bigint }
  | { kind: 'bytes'; name: string; op: ComparisonOp; valueBytes: number }
  | { kind: 'ip'; name: string; op: '=' | '!='; pattern: string }
  /** `a and b`, `a, b` and `a b` all parse to 'and'. */
  | { kind: 'and'; left: LabelFilter; right: LabelFilter }
  | { kind: 'or'; left: LabelFilter; right: LabelFilter };

export interface LineFormatStage {
  kind: 'lineFormat';
  /** Go text/template source. */
  template: string;
}

export type LabelFormatOp =
  /** `dst=src`: copy src's value to dst and remove src. */
  | { kind: 'rename'; dst: string; src: string }
  /** `dst="{{ template }}"`. */
  | { kind: 'template'; dst: string; template: string };

export interface LabelFormatStage {
  kind: 'labelFormat';
  ops: LabelFormatOp[];
}

/** A drop/keep entry: a bare label name, or a matcher that must hold for the label to be affected. */
export type LabelSelection = { name: string; matcher?: LabelMatcher };

export interface DropLabelsStage {
  kind: 'drop';
  labels: LabelSelection[];
}

export interface KeepLabelsStage {
  kind: 'keep';
  labels: LabelSelection[];
}

export interface DecolorizeStage {
  kind: 'decolorize';
}

// ---------------------------------------------------------------------------------------------------
// Metric queries

/** How an unwrapped label's text becomes a number. '' = plain float. */
export type UnwrapConversion = '' | 'duration' | 'duration_seconds' | 'bytes';

export interface Unwrap {
  label: string;
  conversion: UnwrapConversion;
  /** Label filters written after unwrap (`| unwrap x | __error__=""`), applied to samples. */
  postFilters: LabelFilter[];
}

/** A log expression over a time window: `{…} | … [5m] offset 1h`. */
export interface LogRange {
  kind: 'logRange';
  log: LogExpr;
  rangeNs: bigint;
  /** 0n when no offset was written. */
  offsetNs: bigint;
  unwrap?: Unwrap;
}

export type RangeAggregationOp =
  | 'count_over_time'
  | 'rate'
  | 'rate_counter'
  | 'bytes_over_time'
  | 'bytes_rate'
  | 'absent_over_time'
  | 'sum_over_time'
  | 'avg_over_time'
  | 'min_over_time'
  | 'max_over_time'
  | 'stddev_over_time'
  | 'stdvar_over_time'
  | 'quantile_over_time'
  | 'first_over_time'
  | 'last_over_time';

export interface Grouping {
  /** true for `without (…)`, false for `by (…)`. */
  without: boolean;
  /** May be empty: `by ()` groups everything into one series. */
  labels: string[];
}

export interface RangeAggregation {
  kind: 'rangeAggregation';
  op: RangeAggregationOp;
  range: LogRange;
  /** φ of quantile_over_time. */
  param?: number;
  grouping?: Grouping;
}

export type VectorAggregationOp =
  | 'sum'
  | 'avg'
  | 'min'
  | 'max'
  | 'count'
  | 'stddev'
  | 'stdvar'
  | 'topk'
  | 'bottomk'
  | 'sort'
  | 'sort_desc'
  | 'approx_topk';

export interface VectorAggregation {
  kind: 'vectorAggregation';
  op: VectorAggregationOp;
  expr: SampleExpr;
  /** k of topk/bottomk/approx_topk. */
  param?: number;
  /** Absent means `by ()`: everything aggregates into one series (the parser drops a written `by ()`). */
  grouping?: Grouping;
}

export type ArithmeticOp = '+' | '-' | '*' | '/' | '%' | '^';
export type BinaryComparisonOp = '==' | '!=' | '>' | '>=' | '<' | '<=';
export type SetOp = 'and' | 'or' | 'unless';
export type BinaryOp = ArithmeticOp | BinaryComparisonOp | SetOp;

/** Prometheus vector matching: `on(…)`/`ignoring(…)` with optional `group_left/right(…)`. */
export interface VectorMatching {
  /** 'many-to-one' = group_left, 'one-to-many' = group_right. */
  cardinality: 'one-to-one' | 'many-to-one' | 'one-to-many';
  /** true for `on(…)`, false for `ignoring(…)`. */
  on: boolean;
  labels: string[];
  /** Extra labels copied from the "one" side by group_left/group_right. */
  include: string[];
}

export interface BinaryExpr {
  kind: 'binary';
  op: BinaryOp;
  left: SampleExpr;
  right: SampleExpr;
  /** `bool` modifier on a comparison: return 0/1 instead of filtering. */
  returnBool: boolean;
  /** Absent when neither on() nor ignoring() was written. */
  matching?: VectorMatching;
}

/** A number such as `1`, `-1.5`, `0x1A`, `1e3`. Binary ops between two literals are folded. */
export interface LiteralExpr {
  kind: 'literal';
  value: number;
}

/** `vector(s)`: one sample with no labels. */
export interface VectorExpr {
  kind: 'vector';
  value: number;
}

export interface LabelReplaceExpr {
  kind: 'labelReplace';
  expr: SampleExpr;
  dst: string;
  replacement: string;
  src: string;
  /** RE2, fully anchored when evaluated (Prometheus semantics). */
  regex: string;
}

export type SampleExpr =
  | RangeAggregation
  | VectorAggregation
  | BinaryExpr
  | LiteralExpr
  | VectorExpr
  | LabelReplaceExpr;

export type Expr = LogExpr | SampleExpr;

/** True for the expressions that produce log lines rather than numbers. */
export function isLogExpr(expr: Expr): expr is LogExpr {
  return expr.kind === 'log';
}
