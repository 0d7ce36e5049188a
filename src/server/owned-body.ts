// A request body read as one Buffer, like Fastify's `parseAs: 'buffer'`, except that the socket's
// chunks are freed as soon as they are copied into the body. Each chunk is its own allocation
// (Node copies a read's body bytes out of the socket buffer), lives through the parse and the
// decode after it, and so was promoted and waited for V8's next full collection: over the 244 MB
// bench log that is the whole compressed input (~80 MB) of garbage (bench/server-rss-ab.ts).

import type { IncomingMessage } from 'node:http';
import { errorCodes, type FastifyRequest } from 'fastify';
import { releaseOwnedMemory } from '../store/owned-buffer.ts';

type Done = (error: Error | null, body?: Buffer) => void;

/**
 * A content-type parser (`app.addContentTypeParser(type, ownedBodyParser(limit))`) that answers 413
 * past `bodyLimitBytes` and 400 when the body is shorter or longer than its Content-Length, with
 * Fastify's own errors, so error replies read the same as with Fastify's parser.
 */
export function ownedBodyParser(bodyLimitBytes: number): (request: FastifyRequest, payload: IncomingMessage, done: Done) => void {
  return (request, payload, done) => {
    const contentLength = Number(request.headers['content-length']);
    if (contentLength > bodyLimitBytes) {
      done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
      return;
    }
    const chunks: Buffer[] = [];
    let receivedBytes = 0;
    const stop = (): void => {
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onEnd);
    };
    function onData(chunk: Buffer | string): void {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      receivedBytes += bytes.length;
      if (receivedBytes > bodyLimitBytes) {
        stop();
        for (const spent of chunks.splice(0)) releaseOwnedMemory(spent);
        done(new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE());
        return;
      }
      chunks.push(bytes);
    }
    function onEnd(error?: Error & { statusCode?: number }): void {
      stop();
      if (error !== undefined && error !== null) {
        if (!(typeof error.statusCode === 'number' && error.statusCode >= 400)) error.statusCode = 400;
        done(error);
        return;
      }
      if (!Number.isNaN(contentLength) && receivedBytes !== contentLength) {
        done(new errorCodes.FST_ERR_CTP_INVALID_CONTENT_LENGTH());
        return;
      }
      if (chunks.length === 1) {
        done(null, chunks[0]!);
        return;
      }
      const body = Buffer.concat(chunks, receivedBytes);
      for (const spent of chunks) releaseOwnedMemory(spent);
      done(null, body);
    }
    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onEnd);
    payload.resume();
  };
}
