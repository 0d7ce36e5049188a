// GET /loki/api/v1/tail (WebSocket): first the most recent `limit` entries since `start`, then every
// new matching entry as it is pushed, via the tail hub. Frames follow Loki:
// {"streams":[{"stream":{…},"values":[["<ns>","<line>"]]}],"dropped_entries":[{"labels":{…},"timestamp":"<ns>"}]}
// (shared/reference/loki-api.md §2.8).

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { DroppedEntry, TailedEntry, TailFilter, TailHub } from '../ingest/tail-hub.ts';
import type { QueryResult } from '../logql/api.ts';
import { encodeLabels } from './loki-json.ts';
import type { QueryEngine } from './query-routes.ts';
import { errorAnswer } from './query-routes.ts';
import type { QueryScheduler } from './query-scheduler.ts';
import { BadRequestError, nowNs, parseLimit, parseTimestampNs, requireQuery, RequestParams } from './query-params.ts';
import { resolveTenant } from './tenant.ts';

export interface TailRoutesOptions {
  hub: TailHub;
  engine: QueryEngine;
  compileTailFilter(query: string): TailFilter;
  authEnabled: boolean;
  maxConcurrentTailRequests: number;
  tailMaxDurationMs: number;
  /** The history query on connect waits its turn with the other queries. */
  scheduler?: QueryScheduler;
}

/** A subscriber whose socket has this much unsent data gets `dropped_entries` instead of lines. */
const MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
const MAX_DROPPED_PER_FRAME = 1000;
const NS_PER_MS = 1_000_000n;

interface TailRequest {
  tenant: string;
  query: string;
  filter: TailFilter;
  limit: number;
  startNs: bigint;
}

export async function tailRoutes(app: FastifyInstance, options: TailRoutesOptions): Promise<void> {
  const activeByTenant = new Map<string, number>();
  const prepared = new WeakMap<FastifyRequest, TailRequest>();

  // Validation runs before the upgrade so a bad query is a plain 400, as Loki answers it.
  const preValidation = async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      const params = RequestParams.from(request.url);
      const tenant = resolveTenant(request, options.authEnabled, params.get('orgId'));
      const query = requireQuery(params);
      const delayText = params.get('delay_for');
      if (delayText !== undefined && delayText !== '') {
        const delay = Number(delayText);
        if (!Number.isInteger(delay) || delay < 0) throw new BadRequestError(`invalid delay_for value: ${JSON.stringify(delayText)}`);
        if (delay > 5) throw new BadRequestError("delay_for can't be greater than 5");
      }
      const active = activeByTenant.get(tenant) ?? 0;
      if (active >= options.maxConcurrentTailRequests) {
        throw new BadRequestError(`max concurrent tail requests limit exceeded, count > limit (${active + 1} > ${options.maxConcurrentTailRequests})`);
      }
      const filter = options.compileTailFilter(query);
      const startNs = parseTimestampNs(params.get('start'), 'start', nowNs() - 3_600_000n * NS_PER_MS);
      prepared.set(request, { tenant, query, filter, limit: parseLimit(params), startNs });
    } catch (error) {
      const answer = errorAnswer(error, request.log);
      return reply.code(answer.statusCode).header('content-type', 'text/plain; charset=utf-8').send(answer.message);
    }
  };

  const handler = (socket: WebSocket, request: FastifyRequest) => {
    const tail = prepared.get(request);
    if (tail === undefined) {
      socket.close(1011, 'tail request was not prepared');
      return;
    }
    activeByTenant.set(tail.tenant, (activeByTenant.get(tail.tenant) ?? 0) + 1);
    let closed = false;
    // Live matches that arrive while the history query runs wait here, then skip what history sent.
    let backlog: TailedEntry[] | undefined = [];
    let historyKeys: Set<string> | undefined;

    const send = (entries: TailedEntry[], dropped: DroppedEntry[] = []) => {
      if (closed || (entries.length === 0 && dropped.length === 0)) return;
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        // The client is not reading: tell it what it missed instead of queueing without bound.
        options.hub.countDropped(entries.length);
        socket.send(encodeTailFrame([], [...dropped, ...entries].slice(0, MAX_DROPPED_PER_FRAME)));
        return;
      }
      socket.send(encodeTailFrame(entries, dropped.slice(0, MAX_DROPPED_PER_FRAME)));
    };

    const subscription = options.hub.subscribe(tail.tenant, tail.filter, (entries, dropped) => {
      if (backlog !== undefined) {
        backlog.push(...entries);
        return;
      }
      send(historyKeys === undefined ? entries : entries.filter((entry) => !historyKeys!.has(entryKey(entry))), dropped);
    });

    const finish = () => {
      if (closed) return;
      closed = true;
      clearTimeout(maxDurationTimer);
      subscription.close();
      const remaining = (activeByTenant.get(tail.tenant) ?? 1) - 1;
      if (remaining <= 0) activeByTenant.delete(tail.tenant);
      else activeByTenant.set(tail.tenant, remaining);
    };
    const maxDurationTimer = setTimeout(() => {
      if (!closed) socket.close(1000, 'tail max duration reached');
      finish();
    }, options.tailMaxDurationMs);
    maxDurationTimer.unref();
    socket.on('close', finish);
    socket.on('error', finish);

    void (async () => {
      let history: TailedEntry[] = [];
      try {
        const now = nowNs();
        const params = {
          tenant: tail.tenant,
          query: tail.query,
          startNs: tail.startNs < now ? tail.startNs : now,
          endNs: now + 1n,
          stepMs: 1000,
          intervalMs: 0,
          limit: tail.limit,
          direction: 'backward' as const,
          instant: false,
        };
        const result = options.scheduler === undefined ? await options.engine.query(params) : await options.scheduler.run(tail.tenant, undefined, () => options.engine.query(params));
        history = streamsOf(result);
      } catch (error) {
        const answer = errorAnswer(error, request.log);
        if (!closed) socket.close(answer.statusCode >= 500 ? 1011 : 1008, answer.message.slice(0, 120));
        finish();
        return;
      }
      historyKeys = new Set(history.map(entryKey));
      const waiting = backlog ?? [];
      backlog = undefined;
      send(history);
      send(waiting.filter((entry) => !historyKeys!.has(entryKey(entry))));
    })();
  };

  // A plain GET (no Upgrade) gets a 400 that says what to do instead of an empty 404.
  const notWebSocket = async (_request: FastifyRequest, reply: FastifyReply) =>
    reply.code(400).type('text/plain; charset=utf-8').send('live tail is a WebSocket: send the request with Connection: Upgrade and Upgrade: websocket');
  for (const url of ['/loki/api/v1/tail', '/api/prom/tail']) app.route({ method: 'GET', url, preValidation, handler: notWebSocket, wsHandler: handler });
}

function entryKey(entry: TailedEntry): string {
  return `${entry.timestampNs}\u0000${entry.line}\u0000${encodeLabels(entry.labels)}`;
}

function streamsOf(result: QueryResult): TailedEntry[] {
  if (result.resultType !== 'streams') throw new BadRequestError('tail supports log queries only, not metric queries');
  const entries: TailedEntry[] = [];
  for (const stream of result.streams) {
    for (const entry of stream.entries) entries.push({ labels: stream.labels, line: entry.line, timestampNs: entry.timestampNs });
  }
  entries.sort((a, b) => (a.timestampNs < b.timestampNs ? -1 : a.timestampNs > b.timestampNs ? 1 : 0));
  return entries;
}

/** One frame, entries grouped by their label set, each stream's values in time order. */
export function encodeTailFrame(entries: TailedEntry[], dropped: DroppedEntry[] = []): string {
  const groups = new Map<string, string[]>();
  for (const entry of entries) {
    const key = encodeLabels(entry.labels);
    let values = groups.get(key);
    if (values === undefined) {
      values = [];
      groups.set(key, values);
    }
    values.push(`["${entry.timestampNs}",${JSON.stringify(entry.line)}]`);
  }
  const streams = [...groups].map(([labels, values]) => `{"stream":${labels},"values":[${values.join(',')}]}`);
  const droppedText = dropped.map((entry) => `{"labels":${encodeLabels(entry.labels)},"timestamp":"${entry.timestampNs}"}`);
  // Both keys are omitempty in Loki's TailResponse.
  const parts: string[] = [];
  if (streams.length > 0) parts.push(`"streams":[${streams.join(',')}]`);
  if (droppedText.length > 0) parts.push(`"dropped_entries":[${droppedText.join(',')}]`);
  return `{${parts.join(',')}}`;
}
