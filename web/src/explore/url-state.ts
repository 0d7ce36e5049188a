// The Explore view's shareable state lives in the URL: ?query=…&from=now-1h&to=now&limit=1000&live=1.
import type { TimeRangeText } from './time-range.ts';

export interface ExploreUrlState {
  query: string;
  range: TimeRangeText;
  limit: number;
  live: boolean;
}

export const DEFAULT_LIMIT = 1000;
export const LIMIT_CHOICES = [100, 1000, 5000, 10000];

export function readUrlState(search: string = window.location.search): ExploreUrlState {
  const params = new URLSearchParams(search);
  const limit = Number(params.get('limit') ?? DEFAULT_LIMIT);
  return {
    query: params.get('query') ?? '',
    range: { from: params.get('from') ?? 'now-1h', to: params.get('to') ?? 'now' },
    limit: Number.isInteger(limit) && limit > 0 ? limit : DEFAULT_LIMIT,
    live: params.get('live') === '1',
  };
}

export function urlFor(state: ExploreUrlState): string {
  const params = new URLSearchParams({ query: state.query, from: state.range.from, to: state.range.to });
  if (state.limit !== DEFAULT_LIMIT) params.set('limit', String(state.limit));
  if (state.live) params.set('live', '1');
  return `${window.location.pathname}?${params.toString()}`;
}

/** Each run is a history entry, so Back returns to the previous query. */
export function pushUrlState(state: ExploreUrlState): void {
  const url = urlFor(state);
  if (url !== `${window.location.pathname}${window.location.search}`) window.history.pushState(null, '', url);
}
