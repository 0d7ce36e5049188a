// Prometheus remote write receiver: POST /api/v1/write and /prometheus/api/v1/write, 1.0 and 2.0
// (shared/reference/prometheus-api.md §4.2–4.4). 204 only after the TSDB has the samples fsync'd in
// its WAL; 400 naming the series for invalid samples (the valid ones of the request are kept, as the
// spec allows); 415 for a content type or encoding we do not speak. 2.0 answers carry the
// X-Prometheus-Remote-Write-{Samples,Histograms,Exemplars}-Written headers.

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { formatLabels } from '../push/labels.ts';
import {
  decodeWriteRequestV1Into,
  decodeWriteRequestV2Into,
  LabelCache,
  RemoteWriteColumns,
  RemoteWriteDecodeError,
  uncompressRemoteWrite,
} from '../push/remote-write-decode.ts';
import type { AppendColumns, AppendSeries, MetricsStore, RejectedSample } from '../tsdb/types.ts';
import type { MetricMetadata } from '../tsdb/tsdb.ts';
import { BadRequestError } from './query-params.ts';
import { resolveTenant } from './tenant.ts';
import { releaseOwnedMemory } from '../store/owned-buffer.ts';

/** What the receiver needs from the metrics store. */
export interface RemoteWriteTarget extends Pick<MetricsStore, 'append' | 'flush'> {
  /**
   * As `append`, from columns; `columns` may be reused once this returns (see Tsdb.appendColumns).
   * A store without it (cluster mode's, which batches series per partition) gets `append` with the
   * request as series objects.
   */
  appendColumns?(tenant: string, columns: AppendColumns): ReturnType<MetricsStore['append']>;
  setMetadata(tenant: string, family: string, metadata: MetricMetadata): void;
}

export interface RemoteWriteRoutesOptions {
  tsdb: RemoteWriteTarget;
  authEnabled: boolean;
  maxRequestBodyBytes: number;
  maxDecompressedBodyBytes: number;
}

const PROTO_V1 = 'prometheus.WriteRequest';
const PROTO_V2 = 'io.prometheus.write.v2.Request';
/** At most this many rejected series are named in a 400 body. */
const MAX_NAMED_REJECTIONS = 10;

const REASON_TEXT: Record<RejectedSample['reason'], string> = {
  out_of_order: 'out of order sample',
  too_old: 'too old sample (outside the out-of-order window)',
  duplicate_timestamp: 'duplicate sample for timestamp (a different value)',
  invalid_labels: 'invalid labels (empty set, bad name or bad metric name)',
};

/** The protobuf message a request's Content-Type names, or undefined when we do not support it. */
export function remoteWriteVersion(contentType: string | undefined): 1 | 2 | undefined {
  if (contentType === undefined || contentType.trim() === '') return 1;
  const [mediaType, ...parameters] = contentType.split(';').map((part) => part.trim());
  if (mediaType!.toLowerCase() !== 'application/x-protobuf') return undefined;
  let proto = PROTO_V1;
  for (const parameter of parameters) {
    const [name, value] = parameter.split('=').map((part) => part.trim());
    if (name!.toLowerCase() === 'proto' && value !== undefined) proto = value.replace(/^"|"$/g, '');
  }
  if (proto === PROTO_V1) return 1;
  if (proto === PROTO_V2) return 2;
  return undefined;
}

export async function remoteWriteRoutes(app: FastifyInstance, options: RemoteWriteRoutesOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: options.maxRequestBodyBytes }, (_request, body, done) => done(null, body));

  const labelCache = new LabelCache();
  // Every request is decoded into these and appended before the next one is decoded (both steps are
  // synchronous), so a request leaves no per-sample garbage (see RemoteWriteColumns).
  const columns = new RemoteWriteColumns();
  const write = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const version = remoteWriteVersion(request.headers['content-type']);
    if (version === undefined) {
      return text(reply, 415, `unsupported Content-Type ${JSON.stringify(request.headers['content-type'])}: expected application/x-protobuf with proto=${PROTO_V1} (1.0) or proto=${PROTO_V2} (2.0)`);
    }
    const encoding = String(request.headers['content-encoding'] ?? 'snappy').trim().toLowerCase();
    if (encoding !== 'snappy') return text(reply, 415, `unsupported Content-Encoding ${JSON.stringify(encoding)}: remote write bodies are snappy block-compressed`);
    let tenant: string;
    try {
      tenant = resolveTenant(request, options.authEnabled);
    } catch (error) {
      if (error instanceof BadRequestError) return text(reply, error.statusCode, error.message);
      throw error;
    }
    const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    let started: ReturnType<typeof startAppend>;
    try {
      // Decoded objects live only in this synchronous step; just the outcome waits for the fsync.
      const raw = uncompressRemoteWrite(body, options.maxDecompressedBodyBytes);
      if (version === 1) decodeWriteRequestV1Into(raw, columns, labelCache);
      else decodeWriteRequestV2Into(raw, columns);
      started = startAppend(options.tsdb, tenant, columns);
      // Decoded and appended (strings and columns are copies; the WAL frame is encoded): both bodies are
      // freed now. The request lives through the WAL fsync, so they would be promoted and wait for V8's
      // next full collection, every ~64 MB of external memory (as src/server/push-routes.ts does for logs).
      releaseOwnedMemory(raw);
      releaseOwnedMemory(body);
    } catch (error) {
      if (error instanceof RemoteWriteDecodeError) return text(reply, 400, error.message);
      throw error;
    }
    const { pending, problems } = started;
    let result: Awaited<typeof pending>;
    try {
      result = await pending;
    } catch (error) {
      // Cluster mode: the replicated WAL did not acknowledge (src/cluster/cluster-metrics.ts); Prometheus retries a 503.
      if ((error as { statusCode?: unknown }).statusCode === 503) return text(reply, 503, (error as Error).message);
      throw error;
    }
    const rejectedBySeries = new Map<string, { reason: RejectedSample['reason']; timestampMs: number; count: number }>();
    for (const rejected of result.rejected) {
      const key = formatLabels(rejected.labels);
      const seen = rejectedBySeries.get(key);
      if (seen === undefined) rejectedBySeries.set(key, { reason: rejected.reason, timestampMs: rejected.timestampMs, count: 1 });
      else seen.count++;
    }
    for (const [labels, { reason, timestampMs, count }] of [...rejectedBySeries].slice(0, MAX_NAMED_REJECTIONS)) {
      problems.push(`${REASON_TEXT[reason]} for series ${labels} at timestamp ${timestampMs}${count > 1 ? ` (and ${count - 1} more of this series)` : ''}`);
    }
    if (rejectedBySeries.size > MAX_NAMED_REJECTIONS) problems.push(`… and ${rejectedBySeries.size - MAX_NAMED_REJECTIONS} more series with rejected samples`);
    if (version === 2) {
      void reply.header('X-Prometheus-Remote-Write-Samples-Written', String(result.accepted));
      void reply.header('X-Prometheus-Remote-Write-Histograms-Written', '0');
      void reply.header('X-Prometheus-Remote-Write-Exemplars-Written', String(result.exemplarsAccepted ?? 0));
    }
    if (problems.length > 0) return text(reply, 400, problems.join('\n'));
    return reply.code(204).send();
  };
  for (const path of ['/api/v1/write', '/prometheus/api/v1/write']) app.post(path, write);
}

function startAppend(tsdb: RemoteWriteTarget, tenant: string, columns: RemoteWriteColumns): { pending: ReturnType<RemoteWriteTarget['append']>; problems: string[] } {
  for (const meta of columns.metadata) tsdb.setMetadata(tenant, meta.family, { type: meta.type, help: meta.help, unit: meta.unit });
  const problems: string[] = [];
  for (let i = 0; i < columns.seriesCount; i++) {
    if (columns.histograms[i]! > 0) problems.push(`native histogram samples are not supported yet (series ${formatLabels(columns.labels[i]!)})`);
  }
  const pending = tsdb.appendColumns !== undefined ? tsdb.appendColumns(tenant, columns) : tsdb.append(tenant, seriesOf(columns));
  columns.reset();
  return { pending, problems };
}

/** The decoded request as series objects (copies: `columns` is reused by the next request). */
function seriesOf(columns: RemoteWriteColumns): AppendSeries[] {
  const series: AppendSeries[] = [];
  for (const entry of columns.toRequest().series) {
    if (entry.samples.length === 0 && entry.exemplarList === undefined) continue;
    const appended: AppendSeries = entry.interned === true ? { labels: entry.labels, samples: entry.samples, labelsInterned: true } : { labels: entry.labels, samples: entry.samples };
    if (entry.exemplarList !== undefined) appended.exemplars = entry.exemplarList;
    series.push(appended);
  }
  return series;
}

function text(reply: FastifyReply, status: number, message: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(message);
}
