// The log-volume panel above the lines: fetches count_over_time by level for the same query and range.
import { lazy, Suspense, useEffect, useState } from 'react';
import { ApiError, queryRange } from '../api/loki-client.ts';
import { msToNs, stepForRange, type ResolvedRange } from '../explore/time-range.ts';
import { bucketsFromMatrix, volumeQuery, type VolumeBuckets } from './volume-data.ts';

const VolumeHistogram = lazy(() => import('./VolumeHistogram.tsx'));

/** ~120 bars: wide enough to click, fine enough to see a burst of errors. */
const VOLUME_BARS = 120;

interface Props {
  query: string;
  range: ResolvedRange;
  onZoom(fromMs: number, toMs: number): void;
}

type State = { state: 'loading' } | { state: 'error'; message: string } | { state: 'ready'; buckets: VolumeBuckets };

export default function LogVolume({ query, range, onZoom }: Props) {
  const [volume, setVolume] = useState<State>({ state: 'loading' });

  useEffect(() => {
    const controller = new AbortController();
    setVolume({ state: 'loading' });
    const stepMs = stepForRange(range, VOLUME_BARS);
    const fetchVolume = (extractLevel: boolean) =>
      queryRange(
        {
          query: volumeQuery(query, stepMs, extractLevel),
          startNs: msToNs(range.fromMs),
          endNs: msToNs(range.toMs),
          limit: 1000,
          direction: 'backward',
          stepMs,
        },
        controller.signal,
      );
    // Levels read from the line text first; if the server rejects that stage, count by the level label only.
    fetchVolume(true)
      .catch((error: Error) => {
        if (controller.signal.aborted || !(error instanceof ApiError) || error.status !== 400) throw error;
        return fetchVolume(false);
      })
      .then((data) => {
        if (data.resultType !== 'matrix') throw new Error(`expected a matrix for the volume query, got ${data.resultType}`);
        setVolume({ state: 'ready', buckets: bucketsFromMatrix(data.result, range.fromMs, range.toMs, stepMs) });
      })
      .catch((error: Error) => {
        if (!controller.signal.aborted) setVolume({ state: 'error', message: error.message });
      });
    return () => controller.abort();
  }, [query, range.fromMs, range.toMs]);

  return (
    <section className="panel volume" data-testid="log-volume">
      <header className="panel-header">
        <span>Log volume by level{volume.state === 'ready' ? ` · ${volume.buckets.total} lines` : ''}</span>
        <span className="muted">drag across the bars to zoom</span>
      </header>
      {volume.state === 'loading' && <div className="status small">Loading volume…</div>}
      {volume.state === 'error' && <div className="error-banner small">Log volume unavailable: {volume.message}</div>}
      {volume.state === 'ready' && (
        <Suspense fallback={<div className="status small">Loading chart…</div>}>
          <VolumeHistogram buckets={volume.buckets} onZoom={onZoom} />
        </Suspense>
      )}
    </section>
  );
}
