// Errors a query can end with. The HTTP layer maps them: bad data or semantics → 422 (execution),
// timeout and cancellation → 503, as Prometheus' API does.

export type QueryErrorKind = 'execution' | 'timeout' | 'canceled' | 'too_many_samples';

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

/** Warnings and infos collected during evaluation (Prometheus annotations), deduplicated. */
export class Annotations {
  readonly warnings = new Set<string>();
  readonly infos = new Set<string>();

  warn(message: string): void {
    this.warnings.add(`PromQL warning: ${message}`);
  }

  info(message: string): void {
    this.infos.add(`PromQL info: ${message}`);
  }
}
