// The cluster WAL on NATS JetStream: one stream, one subject per partition (`<name>.wal.<partition>`),
// replicated as `cluster.replicas` says. Appends carry a message id, so a push retried after a lost
// acknowledgement is stored once (JetStream's duplicate window, 2 minutes). Readers are ordered
// consumers filtered to one partition: they recreate themselves at the right sequence when the NATS
// node serving them goes away.

import type { NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type Consumer, type ConsumerMessages, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { Wal, WalAck, WalBatch, WalReader } from './wal.ts';

export interface JetStreamWalOptions {
  streamName: string;
  subjectPrefix: string;
  replicas: number;
  maxAgeMs: number;
  /** How long an append waits for the acknowledgement before it fails (the push gets a 503 and is retried). */
  appendTimeoutMs: number;
}

const NS_PER_MS = 1_000_000;
/** Pull expiry; the idle heartbeat is half of it (the client's rule). 30 s, the default, took a minute to fail over. */
const CONSUMER_EXPIRES_MS = 2000;
/** Attempts to create a partition's consumer when creation times out. */
const CONSUMER_START_ATTEMPTS = 4;

export class JetStreamWal implements Wal {
  readonly maxPayloadBytes: number;
  private readonly js: JetStreamClient;

  private readonly manager: JetStreamManager;
  private readonly options: JetStreamWalOptions;

  private constructor(connection: NatsConnection, manager: JetStreamManager, options: JetStreamWalOptions) {
    this.manager = manager;
    this.options = options;
    this.js = jetstream(connection);
    this.maxPayloadBytes = connection.info?.max_payload ?? 1024 * 1024;
  }

  /** Creates the stream when it does not exist yet; an existing one is used as it is. */
  static async open(connection: NatsConnection, options: JetStreamWalOptions): Promise<JetStreamWal> {
    const manager = await jetstreamManager(connection);
    try {
      await manager.streams.info(options.streamName);
    } catch (error) {
      if (!/stream not found/i.test((error as Error).message)) throw error;
      await manager.streams
        .add({
          name: options.streamName,
          subjects: [`${options.subjectPrefix}.*`],
          num_replicas: options.replicas,
          max_age: options.maxAgeMs * NS_PER_MS,
        })
        .catch(async (addError: unknown) => {
          // Another replica created it at the same moment.
          if (!/already in use|exists/i.test((addError as Error).message)) throw addError;
          await manager.streams.info(options.streamName);
        });
    }
    return new JetStreamWal(connection, manager, options);
  }

  subject(partition: number): string {
    return `${this.options.subjectPrefix}.${partition}`;
  }

  async append(partition: number, messageId: string, payload: Uint8Array): Promise<WalAck> {
    const ack = await this.js.publish(this.subject(partition), payload, { msgID: messageId, timeout: this.options.appendTimeoutMs });
    return { seq: ack.seq, duplicate: ack.duplicate };
  }

  async lastSeq(partition: number): Promise<number> {
    try {
      const message = await this.manager.streams.getMessage(this.options.streamName, { last_by_subj: this.subject(partition) });
      return message?.seq ?? 0;
    } catch (error) {
      if (/no message found/i.test((error as Error).message)) return 0;
      throw error;
    }
  }

  read(partition: number, fromSeq: number, handle: (batch: WalBatch) => Promise<void>, onError: (error: Error) => void): WalReader {
    let messages: ConsumerMessages | undefined;
    let stopped = false;
    let consumer: Consumer | undefined;
    const running = (async () => {
      // With a NATS node of three down, creating a consumer timed out in about half the attempts
      // (placed on the dead peer), so a timeout is retried before the reader gives up.
      for (let attempt = 1; ; attempt++) {
        try {
          consumer = await this.js.consumers.get(this.options.streamName, {
            filter_subjects: this.subject(partition),
            deliver_policy: DeliverPolicy.StartSequence,
            opt_start_seq: Math.max(1, fromSeq),
          });
          if (stopped) return;
          // Short pulls: a NATS node that dies under the consumer is noticed after two missed heartbeats
          // (half the expiry each), and the ordered consumer recreates itself elsewhere.
          messages = await consumer.consume({ expires: CONSUMER_EXPIRES_MS });
          break;
        } catch (error) {
          if (stopped) return;
          if (attempt >= CONSUMER_START_ATTEMPTS || !/timeout/i.test((error as Error).message)) throw error;
        }
      }
      if (stopped) messages.stop();
      for await (const message of messages) {
        if (stopped) break;
        await handle({ seq: message.seq, partition, payload: message.data });
      }
    })().catch((error: unknown) => {
      if (!stopped) onError(error instanceof Error ? error : new Error(String(error)));
    });
    return {
      stop: async () => {
        stopped = true;
        messages?.stop();
        await running;
      },
    };
  }
}
