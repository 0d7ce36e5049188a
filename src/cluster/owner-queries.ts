// The owner's side of query-protocol.ts: answers requests for its partitions from the partition's
// store. Part blocks go back as locations, head data inline, packed into frames that fit one NATS
// payload; a head larger than a frame goes as several slices of its entries.

import { headers, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import type { BlockData, BlockRef, LogStore, RequiredLiteral } from '../store/types.ts';
import { answerMetricRequest, type PartitionMetrics } from './metric-queries.ts';
import { encodeFrame, encodeInlineBlock, inlineBodyBytes, sliceBlockData, type PartitionRequest, type ReplyHeader, type WireBlockRef } from './query-protocol.ts';

/** Room kept in each frame for the JSON header's framing and the NATS headers. */
const FRAME_SLACK_BYTES = 16 * 1024;
/** A ref's JSON beyond its stream labels (times, counts, location). */
const REF_JSON_BYTES = 256;

export const OWNER_HEADER = 'Rankscope-Owner';

export function queryRequestSubject(subjectPrefix: string, partition: number): string {
  return `${subjectPrefix}.${partition}`;
}

/** Serves one partition's queries (log, and metrics when it keeps them) until the returned subscription is unsubscribed. */
export function serveOwnerQueries(
  connection: NatsConnection,
  subject: string,
  replicaId: string,
  store: LogStore,
  readBarrier: () => Promise<void>,
  onError: (error: Error) => void,
  metrics?: PartitionMetrics,
): Subscription {
  const frameBudgetBytes = Math.max(64 * 1024, (connection.info?.max_payload ?? 1024 * 1024) - FRAME_SLACK_BYTES);
  return connection.subscribe(subject, {
    callback: (error, message) => {
      if (error !== null) return onError(error);
      void answer(message, store, replicaId, frameBudgetBytes, readBarrier, metrics).catch((answerError: unknown) => onError(answerError as Error));
    },
  });
}

async function answer(message: Msg, store: LogStore, replicaId: string, frameBudgetBytes: number, readBarrier: () => Promise<void>, metrics: PartitionMetrics | undefined): Promise<void> {
  const replyHeaders = headers();
  replyHeaders.set(OWNER_HEADER, replicaId);
  const send = (data: Uint8Array): void => {
    message.respond(data, { headers: replyHeaders });
  };
  try {
    const request = JSON.parse(message.string()) as PartitionRequest;
    // Every push acknowledged before this query is applied before it is answered.
    await readBarrier();
    if (request.op === 'metricSelect' || request.op === 'metricSeries' || request.op === 'metricExemplars') {
      if (metrics === undefined) throw new Error('this replica keeps no metrics (tsdb.enabled: false)');
      await answerMetricRequest(request, metrics, frameBudgetBytes, send);
      send(new Uint8Array(0));
      return;
    }
    const startNs = BigInt(request.startNs);
    const endNs = BigInt(request.endNs);
    switch (request.op) {
      case 'series':
        send(encodeFrame({ kind: 'series', streams: await store.series(request.tenant, request.matchers, startNs, endNs) }));
        break;
      case 'labelNames':
        send(encodeFrame({ kind: 'names', names: await store.labelNames(request.tenant, startNs, endNs, request.matchers) }));
        break;
      case 'labelValues':
        send(encodeFrame({ kind: 'names', names: await store.labelValues(request.tenant, request.name, startNs, endNs, request.matchers) }));
        break;
      case 'stats':
        send(encodeFrame({ kind: 'stats', stats: await store.stats(request.tenant, request.matchers, startNs, endNs) }));
        break;
      case 'selectBlocks': {
        const refs = await store.selectBlocks({ tenant: request.tenant, matchers: request.matchers, startNs, endNs, ...(request.requiredLiterals === undefined ? {} : { requiredLiterals: request.requiredLiterals }) });
        await sendBlocks(refs, request.requiredLiterals ?? [], frameBudgetBytes, send);
        break;
      }
      default:
        send(encodeFrame({ kind: 'error', message: `unknown request ${JSON.stringify((request as { op?: unknown }).op)}` }));
    }
  } catch (error) {
    send(encodeFrame({ kind: 'error', message: (error as Error).message } satisfies ReplyHeader));
  }
  send(new Uint8Array(0));
}

async function sendBlocks(refs: BlockRef[], literals: RequiredLiteral[], frameBudgetBytes: number, send: (data: Uint8Array) => void): Promise<void> {
  let wireRefs: WireBlockRef[] = [];
  let bodies: Buffer[] = [];
  let frameBytes = 0;
  const flush = (): void => {
    if (wireRefs.length === 0) return;
    send(encodeFrame({ kind: 'blocks', refs: wireRefs }, bodies));
    wireRefs = [];
    bodies = [];
    frameBytes = 0;
  };
  const add = (ref: WireBlockRef, body: Buffer[], bodyBytes: number): void => {
    const cost = REF_JSON_BYTES + JSON.stringify(ref.stream.labels).length + bodyBytes;
    if (frameBytes + cost > frameBudgetBytes) flush();
    wireRefs.push(ref);
    bodies.push(...body);
    frameBytes += cost;
  };
  for (const ref of refs) {
    const meta = { stream: ref.stream, minTimeNs: String(ref.minTimeNs), maxTimeNs: String(ref.maxTimeNs), entryCount: ref.entryCount, rawBytes: ref.rawBytes };
    if (ref.location !== undefined) {
      add({ ...meta, location: ref.location }, [], 0);
      continue;
    }
    // Head data has no token filter to skip it by: ship only the lines that can match instead.
    const data = keepLinesWith(await ref.load(), literals);
    const entries = data.timestampsNs.length;
    if (entries === 0) continue;
    const whole = encodeInlineBlock(data);
    const bodyBytes = inlineBodyBytes(whole.inline);
    const pieces = Math.ceil((bodyBytes + REF_JSON_BYTES) / (frameBudgetBytes / 2));
    if (pieces <= 1) {
      add({ ...meta, entryCount: entries, rawBytes: data.lines.length, inline: whole.inline }, whole.body, bodyBytes);
      continue;
    }
    const perPiece = Math.ceil(entries / pieces);
    for (let from = 0; from < entries; from += perPiece) {
      const slice = sliceBlockData(data, from, Math.min(entries, from + perPiece));
      const encoded = encodeInlineBlock(slice);
      const count = slice.timestampsNs.length;
      add(
        { stream: ref.stream, minTimeNs: String(slice.timestampsNs[0]!), maxTimeNs: String(slice.timestampsNs[count - 1]!), entryCount: count, rawBytes: slice.lines.length, inline: encoded.inline },
        encoded.body,
        inlineBodyBytes(encoded.inline),
      );
    }
  }
  flush();
}

/**
 * The entries whose line holds every required literal (the query drops the others anyway). Measured
 * on a needle query over 6 MB of heads: the inline answer shrank to the matching lines.
 */
export function keepLinesWith(data: BlockData, literals: readonly RequiredLiteral[]): BlockData {
  const needles = literals.filter((literal) => literal.literal.length > 0);
  if (needles.length === 0) return data;
  const sensitive = needles.filter((literal) => !literal.caseInsensitive).map((literal) => Buffer.from(literal.literal, 'utf8'));
  const insensitive = needles.filter((literal) => literal.caseInsensitive).map((literal) => literal.literal.toLowerCase());
  const kept: number[] = [];
  let start = 0;
  for (let i = 0; i < data.lineEnds.length; i++) {
    const end = data.lineEnds[i]!;
    const line = data.lines.subarray(start, end);
    let matches = sensitive.every((needle) => line.indexOf(needle) >= 0);
    if (matches && insensitive.length > 0) {
      const lower = line.toString('utf8').toLowerCase();
      matches = insensitive.every((needle) => lower.includes(needle));
    }
    if (matches) kept.push(i);
    start = end;
  }
  if (kept.length === data.lineEnds.length) return data;
  const lineEnds = new Uint32Array(kept.length);
  const timestampsNs = new BigInt64Array(kept.length);
  const pieces: Buffer[] = [];
  let offset = 0;
  kept.forEach((index, k) => {
    const lineStart = index === 0 ? 0 : data.lineEnds[index - 1]!;
    const piece = data.lines.subarray(lineStart, data.lineEnds[index]!);
    pieces.push(piece);
    offset += piece.length;
    lineEnds[k] = offset;
    timestampsNs[k] = data.timestampsNs[index]!;
  });
  const filtered: BlockData = { stream: data.stream, timestampsNs, lines: Buffer.concat(pieces, offset), lineEnds };
  if (data.structuredMetadata !== undefined) filtered.structuredMetadata = kept.map((index) => data.structuredMetadata![index]);
  return filtered;
}
