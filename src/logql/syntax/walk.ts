// Tree walking over the LogQL AST, for code that needs every selector, range or stage of a query
// (planning which streams to read, collecting literals for block pruning, limits on ranges).

import type { Expr, LogExpr, LogRange, SampleExpr, Stage } from './ast.ts';

export interface ExprVisitor {
  /** Every expression node, parents before children. */
  expr?: (expr: Expr) => void;
  /** Every log expression (selector + pipeline), including those inside ranges. */
  log?: (log: LogExpr) => void;
  range?: (range: LogRange) => void;
  stage?: (stage: Stage, log: LogExpr) => void;
}

function walkLog(log: LogExpr, visitor: ExprVisitor): void {
  visitor.log?.(log);
  if (visitor.stage !== undefined) for (const stage of log.pipeline) visitor.stage(stage, log);
}

function walkSample(expr: SampleExpr, visitor: ExprVisitor): void {
  visitor.expr?.(expr);
  switch (expr.kind) {
    case 'rangeAggregation':
      visitor.range?.(expr.range);
      walkLog(expr.range.log, visitor);
      return;
    case 'vectorAggregation':
    case 'labelReplace':
      walkSample(expr.expr, visitor);
      return;
    case 'binary':
      walkSample(expr.left, visitor);
      walkSample(expr.right, visitor);
      return;
    case 'literal':
    case 'vector':
      return;
  }
}

/** Visits the whole tree in source order. */
export function walkExpr(expr: Expr, visitor: ExprVisitor): void {
  if (expr.kind === 'log') {
    visitor.expr?.(expr);
    walkLog(expr, visitor);
  } else {
    walkSample(expr, visitor);
  }
}

/** Every log expression of a query, in source order (one per selector). */
export function logExprsOf(expr: Expr): LogExpr[] {
  const found: LogExpr[] = [];
  walkExpr(expr, { log: (log) => found.push(log) });
  return found;
}
