// The replicated write-ahead log, as cluster mode needs it: append a batch to a partition and learn
// its sequence once it is durable; read a partition from a sequence on. Small on purpose, so a Kafka
// adapter (a topic with one partition per cluster partition, offsets as sequences) can follow.
// The JetStream implementation is jetstream-wal.ts.

export interface WalAck {
  /** Position of the batch in the log; sequences grow over the whole log, not per partition. */
  seq: number;
  /** The log already held a batch with this message id (a retried push); nothing was appended. */
  duplicate: boolean;
}

export interface WalBatch {
  seq: number;
  partition: number;
  payload: Uint8Array;
}

export interface WalReader {
  /** Stops delivering; resolves when no handler call is running any more. */
  stop(): Promise<void>;
}

export interface Wal {
  /** Largest payload one batch may carry (JetStream: the servers' max_payload). */
  readonly maxPayloadBytes: number;
  /**
   * Resolves once the batch is durable (replicated as the log is configured). A second append with
   * the same messageId inside the log's deduplication window is acknowledged without being stored.
   */
  append(partition: number, messageId: string, payload: Uint8Array): Promise<WalAck>;
  /**
   * Sequence of the partition's newest batch, 0 when it has none: a new owner reads up to it before
   * answering queries, and a read barrier waits until it is applied.
   */
  lastSeq(partition: number): Promise<number>;
  /**
   * Delivers the partition's batches with seq >= fromSeq, in order, one handler call at a time (the
   * next waits for the previous promise). A handler that throws stops the reader and reaches onError.
   */
  read(partition: number, fromSeq: number, handle: (batch: WalBatch) => Promise<void>, onError: (error: Error) => void): WalReader;
}
