// Leases in a JetStream KV bucket whose entries expire `ttlMs` after their last write (the bucket's
// max age), so a replica that stops renewing loses its leases on the NATS servers' clock, not on
// ours. Taking a lease is a create (fails when a live entry exists); renewing and releasing are
// compare-and-set on the revision the holder last wrote, so a replica that lost its lease to another
// cannot renew it back by mistake.

import type { NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV } from '@nats-io/kv';

export interface LeaseTableOptions {
  bucket: string;
  replicas: number;
  ttlMs: number;
}

/** A lease this replica holds: the revision it wrote last. */
export interface HeldLease {
  key: string;
  revision: number;
}

export class LeaseTable {
  private readonly kv: KV;

  private constructor(kv: KV) {
    this.kv = kv;
  }

  static async open(connection: NatsConnection, options: LeaseTableOptions): Promise<LeaseTable> {
    const manager = new Kvm(connection);
    const kv = await manager.create(options.bucket, { history: 1, ttl: options.ttlMs, replicas: options.replicas }).catch(async (error: unknown) => {
      // An existing bucket with other settings (another replica's config): use it as it is.
      if (!/already in use|exists/i.test((error as Error).message)) throw error;
      return manager.open(options.bucket);
    });
    return new LeaseTable(kv);
  }

  /** The lease's revision when this replica took it; undefined when someone holds it. */
  async tryAcquire(key: string, holder: string): Promise<HeldLease | undefined> {
    try {
      return { key, revision: await this.kv.create(key, holder) };
    } catch (error) {
      if (isConflict(error)) return undefined;
      throw error;
    }
  }

  /** The new revision, or undefined when the lease is no longer ours (it expired and was taken). */
  async renew(lease: HeldLease, holder: string): Promise<HeldLease | undefined> {
    try {
      return { key: lease.key, revision: await this.kv.update(lease.key, holder, lease.revision) };
    } catch (error) {
      if (isConflict(error)) return undefined;
      throw error;
    }
  }

  /** Gives the lease up at once (others need not wait for the TTL); a lease already lost is left alone. */
  async release(lease: HeldLease): Promise<void> {
    try {
      await this.kv.delete(lease.key, { previousSeq: lease.revision });
    } catch (error) {
      if (!isConflict(error)) throw error;
    }
  }

  /** Holder of a live lease, or undefined. */
  async holder(key: string): Promise<string | undefined> {
    const entry = await this.kv.get(key);
    return entry === null || entry.operation !== 'PUT' ? undefined : entry.string();
  }
}

function isConflict(error: unknown): boolean {
  return error instanceof Error && /wrong last sequence|key exists/i.test(error.message);
}
