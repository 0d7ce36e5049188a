// The asking side of query-protocol.ts: one request to a partition's owner over NATS request-reply,
// its answer as frames. While a partition has no owner (a takeover in progress) the ask is retried
// until the request timeout, so a query waits out a takeover instead of returning partial answers.

import { NoRespondersError, type NatsConnection } from '@nats-io/transport-node';
import { OWNER_HEADER, queryRequestSubject } from './owner-queries.ts';
import { decodeFrame, type PartitionRequest, type ReplyFrame } from './query-protocol.ts';
import { ClusterUnavailableError } from './errors.ts';

export { ClusterUnavailableError };

/** Pause between asks while a partition has no owner. */
const NO_OWNER_RETRY_MS = 100;

export class OwnerClient {
  private readonly connection: NatsConnection;
  private readonly subjectPrefix: string;
  private readonly requestTimeoutMs: number;

  constructor(connection: NatsConnection, subjectPrefix: string, requestTimeoutMs: number) {
    this.connection = connection;
    this.subjectPrefix = subjectPrefix;
    this.requestTimeoutMs = requestTimeoutMs;
  }

  /** Every partition's answer to one request, each from one owner. */
  askAll(partitions: number, request: PartitionRequest): Promise<ReplyFrame[][]> {
    const asks: Array<Promise<ReplyFrame[]>> = [];
    for (let partition = 0; partition < partitions; partition++) asks.push(this.ask(partition, request));
    return Promise.all(asks);
  }

  async ask(partition: number, request: PartitionRequest): Promise<ReplyFrame[]> {
    const deadlineMs = Date.now() + this.requestTimeoutMs;
    const data = Buffer.from(JSON.stringify(request), 'utf8');
    for (;;) {
      try {
        return await this.askOnce(partition, data, Math.max(100, deadlineMs - Date.now()));
      } catch (error) {
        const noOwner = error instanceof NoRespondersError || (error instanceof Error && (error.cause instanceof NoRespondersError || /no responders/i.test(error.message)));
        if (!noOwner && !(error instanceof IncompleteReplyError)) throw error;
        if (Date.now() + NO_OWNER_RETRY_MS >= deadlineMs) throw new ClusterUnavailableError(`partition ${partition} has no owner answering within ${this.requestTimeoutMs} ms (a takeover may be in progress): ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, NO_OWNER_RETRY_MS));
      }
    }
  }

  private async askOnce(partition: number, data: Buffer, maxWaitMs: number): Promise<ReplyFrame[]> {
    const replies = await this.connection.requestMany(queryRequestSubject(this.subjectPrefix, partition), data, { strategy: 'sentinel', maxWait: maxWaitMs });
    const frames: ReplyFrame[] = [];
    // Two replicas may both answer for a moment during a takeover: keep the first one's frames.
    let owner: string | undefined;
    let complete = false;
    for await (const message of replies) {
      if (message.data.length === 0) {
        if (message.headers?.get(OWNER_HEADER) === owner || owner === undefined) {
          complete = true;
          break;
        }
        continue;
      }
      const from = message.headers?.get(OWNER_HEADER) ?? '';
      owner ??= from;
      if (from !== owner) continue;
      const frame = decodeFrame(message.data);
      if (frame.header.kind === 'error') throw new Error(`partition ${partition} (owner ${owner}): ${frame.header.message}`);
      frames.push(frame);
    }
    if (!complete) throw new IncompleteReplyError(`partition ${partition}: the owner's answer ended before its last frame`);
    return frames;
  }
}

class IncompleteReplyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IncompleteReplyError';
  }
}
