// The keys of a JetStream KV bucket without KV keys(). keys() and watch() each create an ephemeral
// consumer, and with one nats-server of three down 2.9.10 places some of those on the dead peer:
// the call then times out (5 s) in about a third of the attempts (docs/cluster.md, "NATS node
// failover"). The bucket's stream can instead list its subjects itself (a stream info request with
// a subjects filter, answered by the stream leader, no consumer): one subject per key that has a
// message, deleted keys included (their last message is a delete marker; a get says so).

import type { JetStreamManager } from '@nats-io/jetstream';

/** Every key of `bucket` with a message (a value or a delete marker), in no particular order. */
export async function listKvKeys(manager: JetStreamManager, bucket: string): Promise<string[]> {
  const prefix = `$KV.${bucket}.`;
  const info = await manager.streams.info(`KV_${bucket}`, { subjects_filter: `${prefix}>` });
  return Object.keys(info.state.subjects ?? {}).map((subject) => subject.slice(prefix.length));
}
