// POST /loki/api/v1/push and /api/prom/push: decompress (gzip, deflate), decode (JSON, or
// snappy-compressed protobuf), then hand off to the distributor. 204 only after the store has the
// entries fsync'd in its WAL. Bodies arrive as raw Buffers from our own parser, so no JSON.parse or
// copy happens before we know the format (shared/reference/loki-api.md §1.1).

import { promisify } from 'node:util';
import { gunzip, gunzipSync, inflate, inflateSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Distributor, IngestError } from '../ingest/distributor.ts';
import { PushTooLargeError, type PushDecodeLimits } from '../push/decode-limits.ts';
import { decodeJsonPush, decodeLegacyJsonPush } from '../push/json.ts';
import { PushDecodeError } from '../push/protobuf.ts';
import { decodeSnappyPushRequestAsync, decodeSnappyPushRequestFast } from '../push/protobuf-decode.ts';
import { rawColumnsOf, RawPushStream } from '../push/raw-push-stream.ts';
import { RawLineEntry } from '../push/raw-line-entry.ts';
import type { PushStream } from '../push/types.ts';
import { releaseOwnedMemory } from '../store/owned-buffer.ts';
import { WalWriteError } from '../store/wal.ts';
import type { Counter } from './metrics.ts';
import { ownedBodyParser } from './owned-body.ts';
import { BadRequestError } from './query-params.ts';
import { resolveTenant } from './tenant.ts';
import { ClusterUnavailableError } from '../cluster/errors.ts';

export interface PushRoutesOptions {
  distributor: Distributor;
  authEnabled: boolean;
  maxRequestBodyBytes: number;
  maxDecompressedBodyBytes: number;
  /** Count limits checked while decoding (server.max_push_streams, server.max_push_entries). */
  decodeLimits: PushDecodeLimits;
  /** Decompressed push bytes being ingested at once over all requests (server.max_inflight_push_bytes). */
  maxInflightBytes: number;
  pushRequests: Counter;
}

export async function pushRoutes(app: FastifyInstance, options: PushRoutesOptions): Promise<void> {
  // Every content type arrives as the raw bytes; the route decides how to decode them.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { bodyLimit: options.maxRequestBodyBytes }, ownedBodyParser(options.maxRequestBodyBytes));

  const inflight = new InflightBytes(options.maxInflightBytes);
  const handle = (legacy: boolean) => async (request: FastifyRequest, reply: FastifyReply) => {
    let status = 204;
    const reservation = inflight.reservation();
    let body: Buffer | undefined;
    let streams: PushStream[] | undefined;
    try {
      const tenant = resolveTenant(request, options.authEnabled);
      const compressed = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      // What decompression will produce, when the body says (snappy); else the bytes as they came.
      reservation.grow(isJson(request) ? compressed.length : Math.max(compressed.length, snappyDeclaredLength(compressed)));
      body = await decompress(request, options.maxDecompressedBodyBytes);
      reservation.grow(body.length);
      streams = await decode(request, body, legacy, options.maxDecompressedBodyBytes, options.decodeLimits);
      // A protobuf push's body may go to the WAL as it came (see Distributor.push): it stays ours until the push is answered.
      const outcome = await options.distributor.push(tenant, streams, Date.now(), isJson(request) ? undefined : body);
      if (outcome.streamLimitMessage !== undefined) {
        status = 429;
        return sendText(reply, 429, outcome.streamLimitMessage);
      }
      if (outcome.errors.length > 0) {
        status = 400;
        return sendText(reply, 400, outcome.errors.join('\n'));
      }
      return reply.code(204).send();
    } catch (error) {
      if (error instanceof IngestError || error instanceof BadRequestError) {
        status = error.statusCode;
        return sendText(reply, error.statusCode, error.message);
      }
      if (error instanceof WalWriteError) {
        // 507 Insufficient Storage for a full disk (as WebDAV and object stores answer), 503 for any
        // other write failure: both tell a client nothing was stored and a retry may succeed.
        status = error.code === 'ENOSPC' || error.code === 'EDQUOT' ? 507 : 503;
        request.log.error({ err: error }, 'push not stored');
        return sendText(reply, status, `${error.message}; nothing from this push was stored, retry once the server has disk space again`);
      }
      if (error instanceof ClusterUnavailableError) {
        status = 503;
        request.log.warn({ err: error }, 'push not acknowledged by the cluster WAL');
        return sendText(reply, 503, error.message);
      }
      if (error instanceof PushTooLargeError) {
        status = error.statusCode;
        return sendText(reply, error.statusCode, error.message);
      }
      if (error instanceof PushDecodeError) {
        status = 400;
        return sendText(reply, 400, error.message);
      }
      status = 500;
      throw error;
    } finally {
      reservation.release();
      releasePushMemory(request.body, body, streams);
      options.pushRequests.inc({ status: String(status) });
    }
  };
  app.post('/loki/api/v1/push', handle(false));
  app.post('/api/prom/push', handle(true));
}

/**
 * Frees a finished push's bodies (as sent, decompressed, and the snappy-decoded one its raw lines
 * point into) now rather than at the next full garbage collection. They live through the WAL fsync,
 * so they are promoted out of the young generation, and the old generation is collected only every
 * ~64 MB of external memory: on the 244 MB bench log, ~1.4 MB a push piled up to tens of MB of RSS.
 * Nothing keeps them past the push: the WAL and the head copy line bytes, the run tracker and live
 * tail take strings.
 */
function releasePushMemory(received: unknown, decompressed: Buffer | undefined, streams: PushStream[] | undefined): void {
  if (Buffer.isBuffer(received)) releaseOwnedMemory(received);
  if (decompressed !== undefined && decompressed !== received) releaseOwnedMemory(decompressed);
  let released: Buffer | undefined;
  for (const stream of streams ?? []) {
    if (stream instanceof RawPushStream) stream.releaseColumnMemory();
    // A push decoded into columns: its lines are in one body (reading `entries` would build an object per line).
    const columns = rawColumnsOf(stream);
    if (columns !== undefined) {
      if (columns.source !== released) releaseOwnedMemory((released = columns.source));
      continue;
    }
    for (const entry of stream.entries) {
      // Every raw line of one push points into the same decoded body; the check is per entry all the same.
      if (!(entry instanceof RawLineEntry) || entry.lineSource === released) continue;
      released = entry.lineSource;
      releaseOwnedMemory(released);
    }
  }
}

/**
 * Bounds the decompressed push bytes held at once: each request's body expands up to
 * max_decompressed_body_size and its decoded entries take a few times that, so fifty concurrent
 * maximal pushes could otherwise take gigabytes. One push always fits when nothing else is in flight.
 */
class InflightBytes {
  private readonly maxBytes: number;
  private bytes = 0;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  reservation(): { grow(toBytes: number): void; release(): void } {
    let held = 0;
    return {
      grow: (toBytes: number) => {
        if (toBytes <= held) return;
        const more = toBytes - held;
        if (this.bytes - held > 0 && this.bytes + more > this.maxBytes) {
          throw new BadRequestError(
            `too many push bytes in flight: ${this.bytes} bytes are being ingested and this push needs ${toBytes}, limit ${this.maxBytes} (server.max_inflight_push_bytes); retry shortly`,
            429,
          );
        }
        this.bytes += more;
        held = toBytes;
      },
      release: () => {
        this.bytes -= held;
        held = 0;
      },
    };
  }
}

function isJson(request: FastifyRequest): boolean {
  return String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase() === 'application/json';
}

/** The uncompressed length a snappy body declares, or 0 when it has no valid header. */
function snappyDeclaredLength(body: Buffer): number {
  try {
    return snappyUncompressedLength(body);
  } catch {
    return 0;
  }
}

function sendText(reply: FastifyReply, statusCode: number, message: string): FastifyReply {
  return reply.code(statusCode).header('content-type', 'text/plain; charset=utf-8').header('x-content-type-options', 'nosniff').send(message);
}

/**
 * Bodies above these sizes are decompressed on libuv's thread pool, so a 95 KB gzip body that
 * expands to 45 MB does not hold the event loop (other pushes, /ready) for the ~150 ms it takes.
 * Smaller ones stay synchronous: the hop would cost more than the work (a 1 MB agent batch is ~3 ms).
 */
const ASYNC_GZIP_MIN_BYTES = 64 * 1024;
const ASYNC_SNAPPY_MIN_UNCOMPRESSED_BYTES = 4 * 1024 * 1024;
const gunzipAsync = promisify(gunzip);
const inflateAsync = promisify(inflate);

async function decompress(request: FastifyRequest, maxBytes: number): Promise<Buffer> {
  const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  const encoding = String(request.headers['content-encoding'] ?? '').trim().toLowerCase();
  if (encoding === '' || encoding === 'identity' || encoding === 'snappy') return body;
  if (encoding !== 'gzip' && encoding !== 'deflate') throw new BadRequestError(`Content-Encoding "${encoding}" not supported`);
  try {
    const options = { maxOutputLength: maxBytes };
    if (body.length >= ASYNC_GZIP_MIN_BYTES) return encoding === 'gzip' ? await gunzipAsync(body, options) : await inflateAsync(body, options);
    return encoding === 'gzip' ? gunzipSync(body, options) : inflateSync(body, options);
  } catch (error) {
    if (error instanceof RangeError || (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') {
      throw new BadRequestError(`request body too large: more than ${maxBytes} bytes after ${encoding} decompression`, 413);
    }
    throw new BadRequestError(`malformed ${encoding} body: ${(error as Error).message}`);
  }
}

async function decode(request: FastifyRequest, body: Buffer, legacy: boolean, maxDecompressedBytes: number, limits: PushDecodeLimits): Promise<PushStream[]> {
  const contentType = String(request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (contentType === '') throw new BadRequestError('mime: no media type (send Content-Type: application/json or application/x-protobuf)');
  if (contentType === 'application/json') return legacy ? decodeLegacyJsonPush(body, limits) : decodeJsonPush(body, limits);
  const uncompressedBytes = snappyUncompressedLength(body);
  if (uncompressedBytes > maxDecompressedBytes) {
    throw new BadRequestError(`request body too large: ${uncompressedBytes} bytes after snappy decompression, limit ${maxDecompressedBytes}`, 413);
  }
  // Lines stay bytes in the decoded body (RawLineEntry): the WAL and head copy them as they are.
  if (uncompressedBytes >= ASYNC_SNAPPY_MIN_UNCOMPRESSED_BYTES) return decodeSnappyPushRequestAsync(body, limits, true);
  return decodeSnappyPushRequestFast(body, limits, true);
}

/** Snappy block format starts with the uncompressed length as a little-endian base-128 varint. */
function snappyUncompressedLength(body: Buffer): number {
  let length = 0;
  for (let i = 0, shift = 1; i < Math.min(body.length, 5); i++, shift *= 128) {
    length += (body[i]! & 0x7f) * shift;
    if ((body[i]! & 0x80) === 0) return length;
  }
  throw new PushDecodeError('malformed snappy body: missing or invalid uncompressed-length header');
}
