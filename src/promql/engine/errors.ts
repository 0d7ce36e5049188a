import type { PositionRange } from '../syntax/ast.ts';
import { positionText } from '../syntax/errors.ts';

// Errors a query can end with. The HTTP layer maps them as Prometheus' API does: bad_data → 400,
// execution and too_many_samples → 422, timeout and canceled → 503.

export type QueryErrorKind = 'bad_data' | 'execution' | 'timeout' | 'canceled' | 'too_many_samples';

export class PromQLQueryError extends Error {
  readonly kind: QueryErrorKind;

  constructor(message: string, kind: QueryErrorKind = 'execution') {
    super(message);
    this.name = 'PromQLQueryError';
    this.kind = kind;
  }
}

/** Prometheus' ErrTooManySamples text. */
export const TOO_MANY_SAMPLES_MESSAGE = 'query processing would load too many samples into memory in query execution';

/**
 * Warnings and infos collected during evaluation (Prometheus annotations), deduplicated. Like
 * Prometheus, each names the position of the expression it is about: `… (1:25)`.
 */
export class Annotations {
  readonly warnings = new Set<string>();
  readonly infos = new Set<string>();
  private readonly query: string | undefined;

  constructor(query?: string) {
    this.query = query;
  }

  warn(message: string, pos?: PositionRange): void {
    this.warnings.add(`PromQL warning: ${message}${this.suffix(pos)}`);
  }

  info(message: string, pos?: PositionRange): void {
    this.infos.add(`PromQL info: ${message}${this.suffix(pos)}`);
  }

  private suffix(pos: PositionRange | undefined): string {
    return pos === undefined || this.query === undefined ? '' : ` (${positionText(this.query, pos.start)})`;
  }
}
