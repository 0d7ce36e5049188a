// The PromQL syntax tree as plain tagged data: no methods, no evaluation state. Positions are character
// offsets into the query text (start inclusive, end exclusive), as Prometheus' PositionRange. Durations
// and offsets are milliseconds, the resolution PromQL works in.

import type { MetricLabelMatcher } from '../../tsdb/types.ts';

export type ValueType = 'scalar' | 'vector' | 'matrix' | 'string';

export interface PositionRange {
  start: number;
  end: number;
}

export type BinaryOp =
  | '+' | '-' | '*' | '/' | '%' | '^' | 'atan2'
  | '==' | '!=' | '>' | '<' | '>=' | '<='
  | 'and' | 'or' | 'unless'
  /** Experimental histogram trim operators: keep observations below / above a cutoff. */
  | '</' | '>/';

export type AggregateOp =
  | 'sum' | 'avg' | 'count' | 'min' | 'max' | 'group' | 'stddev' | 'stdvar'
  | 'topk' | 'bottomk' | 'count_values' | 'quantile' | 'limitk' | 'limit_ratio';

/** `@ 123`, `@ start()`, `@ end()`. */
export type AtModifier = { kind: 'timestamp'; timestampMs: number } | { kind: 'start' } | { kind: 'end' };

/** A duration computed from arithmetic (`[26m+4m]`, `offset step()`), in seconds, resolved per query. */
export type DurationExpr =
  | { kind: 'literal'; seconds: number }
  | { kind: 'step' }
  | { kind: 'range' }
  | { kind: 'unary'; op: '-' | '+'; expr: DurationExpr }
  | { kind: 'binary'; op: '+' | '-' | '*' | '/' | '%' | '^'; lhs: DurationExpr; rhs: DurationExpr }
  | { kind: 'call'; func: 'min_of' | 'max_of'; args: [DurationExpr, DurationExpr] };

export interface NumberLiteral {
  type: 'NumberLiteral';
  value: number;
  pos: PositionRange;
}

export interface StringLiteral {
  type: 'StringLiteral';
  value: string;
  pos: PositionRange;
}

export interface VectorSelector {
  type: 'VectorSelector';
  /** The metric name written before the braces, if any (it is also among `matchers`). */
  name: string | undefined;
  matchers: MetricLabelMatcher[];
  offsetMs: number;
  /** Set when the offset depends on the query (`offset step()`); `offsetMs` is then resolved by the engine. */
  offsetExpr?: DurationExpr;
  at: AtModifier | undefined;
  /** Experimental `smoothed` modifier: the value is interpolated between the samples around each step. */
  smoothed?: boolean;
  pos: PositionRange;
}

export interface MatrixSelector {
  type: 'MatrixSelector';
  vector: VectorSelector;
  rangeMs: number;
  rangeExpr?: DurationExpr;
  /** Experimental range modifiers (`rate(x[5m] anchored)`). */
  modifier: 'anchored' | 'smoothed' | undefined;
  pos: PositionRange;
}

export interface SubqueryExpr {
  type: 'SubqueryExpr';
  expr: Expr;
  rangeMs: number;
  /** 0 when omitted (`[30m:]`): the engine's default subquery step then applies. */
  stepMs: number;
  offsetMs: number;
  rangeExpr?: DurationExpr;
  stepExpr?: DurationExpr;
  offsetExpr?: DurationExpr;
  at: AtModifier | undefined;
  pos: PositionRange;
}

export interface Call {
  type: 'Call';
  func: string;
  args: Expr[];
  pos: PositionRange;
}

export interface AggregateExpr {
  type: 'AggregateExpr';
  op: AggregateOp;
  expr: Expr;
  param: Expr | undefined;
  grouping: string[];
  without: boolean;
  /** `by ()` written explicitly (kept for printing). */
  hasGrouping: boolean;
  pos: PositionRange;
}

export interface VectorMatching {
  card: 'one-to-one' | 'many-to-one' | 'one-to-many' | 'many-to-many';
  /** Labels of `on(...)`/`ignoring(...)`. */
  matchingLabels: string[];
  on: boolean;
  /** Labels of `group_left(...)`/`group_right(...)`. */
  include: string[];
  /** Whether `on`/`ignoring` was written (for printing). */
  explicit: boolean;
  /** `fill(v)`, `fill_left(v)`, `fill_right(v)`: values for a missing side. */
  fillLeft: number | undefined;
  fillRight: number | undefined;
}

export interface BinaryExpr {
  type: 'BinaryExpr';
  op: BinaryOp;
  lhs: Expr;
  rhs: Expr;
  returnBool: boolean;
  /** Present only when both sides are instant vectors. */
  matching: VectorMatching | undefined;
  pos: PositionRange;
}

export interface UnaryExpr {
  type: 'UnaryExpr';
  op: '-' | '+';
  expr: Expr;
  pos: PositionRange;
}

export interface ParenExpr {
  type: 'ParenExpr';
  expr: Expr;
  pos: PositionRange;
}

export type Expr =
  | NumberLiteral
  | StringLiteral
  | VectorSelector
  | MatrixSelector
  | SubqueryExpr
  | Call
  | AggregateExpr
  | BinaryExpr
  | UnaryExpr
  | ParenExpr;
