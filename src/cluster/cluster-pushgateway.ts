// The Pushgateway in cluster mode. Its consistency check compares a push with every group of the
// tenant, so group state needs one writer: the replica holding the `singleton.pushgateway` lease
// runs the embedded Pushgateway (src/pushgateway) unchanged, and every replica forwards pushes,
// deletes and group listings to it over NATS request-reply (`<name>.pushgateway`). The state lives
// in a JetStream KV bucket (`<name>-pushgateway`, replicated like the WAL): after each change the
// holder copies the group's file (the Pushgateway's own format) into the bucket, under the file's
// name, before it answers; a new holder writes the bucket's entries back as group files into its
// scratch directory and opens the Pushgateway over them. Samples go through the cluster metrics
// store (partition owners), so PromQL on any replica sees them.

import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { NoRespondersError, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { groupingKeyId } from '../pushgateway/grouping-key.ts';
import { PushRejectedError, type PushGroup, type PushMethod } from '../pushgateway/group-store.ts';
import { PushBodyError, Pushgateway, type PushBodyHeaders } from '../pushgateway/pushgateway.ts';
import type { MetricsAppender } from '../pushgateway/sampler.ts';
import type { Labels } from '../push/types.ts';
import { listKvKeys } from './kv-listing.ts';
import { ClusterUnavailableError } from './owner-client.ts';

export interface ClusterPushgatewayOptions {
  connection: NatsConnection;
  subject: string;
  bucket: string;
  replicas: number;
  requestTimeoutMs: number;
  /** Scratch directory of the holder's Pushgateway (wiped when it takes the lease). */
  localDir: string;
  metrics: MetricsAppender;
  sampleIntervalMs: number;
  defaultTtlMs: number;
  /** Runs the holder's side under the cluster's singleton lease (ClusterNode.runUnderLease). */
  runUnderLease(name: string, start: () => Promise<() => Promise<void>>): void;
  onError(error: Error): void;
}

type GatewayRequest =
  | { op: 'push'; tenant: string; method: PushMethod; groupLabels: Labels; headers: PushBodyHeaders; ttlMs?: number }
  | { op: 'delete'; tenant: string; groupLabels: Labels }
  | { op: 'groups'; tenant: string };

type GatewayReply = { ok: true; group?: PushGroup; groups?: PushGroup[] } | { ok: false; kind: 'body' | 'rejected' | 'error'; message: string };

/** Pause between forwards while no replica holds the lease (a takeover). */
const NO_HOLDER_RETRY_MS = 100;

export class ClusterPushgateway {
  readonly startTimeMs = Date.now();
  private readonly options: ClusterPushgatewayOptions;
  private readonly kv: KV;
  private readonly manager: JetStreamManager;

  private constructor(options: ClusterPushgatewayOptions, kv: KV, manager: JetStreamManager) {
    this.options = options;
    this.kv = kv;
    this.manager = manager;
  }

  static async open(options: ClusterPushgatewayOptions): Promise<ClusterPushgateway> {
    const manager = new Kvm(options.connection);
    const kv = await manager.create(options.bucket, { history: 1, replicas: options.replicas }).catch(async (error: unknown) => {
      if (!/already in use|exists/i.test((error as Error).message)) throw error;
      return manager.open(options.bucket);
    });
    const gateway = new ClusterPushgateway(options, kv, await jetstreamManager(options.connection));
    options.runUnderLease('pushgateway', () => gateway.startHolder());
    return gateway;
  }

  get sampleIntervalMs(): number {
    return this.options.sampleIntervalMs;
  }

  async push(tenant: string, method: PushMethod, groupLabels: Labels, body: Buffer, headers: PushBodyHeaders, ttlMs?: number): Promise<PushGroup> {
    const reply = await this.forward({ op: 'push', tenant, method, groupLabels, headers, ...(ttlMs === undefined ? {} : { ttlMs }) }, body);
    return reply.group!;
  }

  async delete(tenant: string, groupLabels: Labels): Promise<void> {
    await this.forward({ op: 'delete', tenant, groupLabels }, Buffer.alloc(0));
  }

  async groups(tenant: string): Promise<PushGroup[]> {
    return (await this.forward({ op: 'groups', tenant }, Buffer.alloc(0))).groups ?? [];
  }

  /** The holder's side stops with the lease (ClusterNode.close); nothing else runs here. */
  async stop(): Promise<void> {}

  private async forward(request: GatewayRequest, body: Buffer): Promise<Extract<GatewayReply, { ok: true }>> {
    const header = Buffer.from(JSON.stringify(request), 'utf8');
    const prefix = Buffer.allocUnsafe(4);
    prefix.writeUInt32LE(header.length, 0);
    const data = Buffer.concat([prefix, header, body]);
    const maxPayloadBytes = this.options.connection.info?.max_payload ?? 1024 * 1024;
    if (data.length > maxPayloadBytes) throw new PushBodyError(`push body of ${body.length} bytes is larger than cluster mode forwards to the Pushgateway's holder (NATS max_payload ${maxPayloadBytes} bytes)`);
    const deadlineMs = Date.now() + this.options.requestTimeoutMs;
    for (;;) {
      let message;
      try {
        message = await this.options.connection.request(this.options.subject, data, { timeout: Math.max(100, deadlineMs - Date.now()) });
      } catch (error) {
        const noHolder = error instanceof NoRespondersError || (error instanceof Error && (error.cause instanceof NoRespondersError || /no responders/i.test(error.message)));
        if (!noHolder || Date.now() + NO_HOLDER_RETRY_MS >= deadlineMs) throw new ClusterUnavailableError(`no replica runs the Pushgateway within ${this.options.requestTimeoutMs} ms (a takeover may be in progress): ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, NO_HOLDER_RETRY_MS));
        continue;
      }
      const reply = parseGroups(message.string()) as GatewayReply;
      if (reply.ok) return reply;
      if (reply.kind === 'body') throw new PushBodyError(reply.message);
      if (reply.kind === 'rejected') {
        const rejected = new PushRejectedError([]);
        rejected.message = reply.message;
        throw rejected;
      }
      throw new Error(`Pushgateway holder: ${reply.message}`);
    }
  }

  /** Takes the group state from the bucket, opens the Pushgateway over it, answers forwards. */
  private async startHolder(): Promise<() => Promise<void>> {
    const { localDir } = this.options;
    const groupsDir = join(localDir, 'pushgateway', 'groups');
    await rm(localDir, { recursive: true, force: true });
    await mkdir(groupsDir, { recursive: true });
    const stored = new Set<string>();
    // Listed by the bucket's stream, not keys(): see kv-listing.ts (keys() times out a third of the
    // time while a NATS node is down, and each failed takeover costs a lease round).
    for (const key of await listKvKeys(this.manager, this.options.bucket)) {
      const entry = await this.kv.get(key);
      if (entry === null || entry.operation !== 'PUT') continue;
      await writeFile(join(groupsDir, `${key}.json`), entry.value);
      stored.add(key);
    }
    const gateway = await Pushgateway.open({
      dataDir: localDir,
      metrics: this.options.metrics,
      sampleIntervalMs: this.options.sampleIntervalMs,
      defaultTtlMs: this.options.defaultTtlMs,
      onError: this.options.onError,
    });
    // One change at a time, so the bucket receives each group's states in order.
    let queue: Promise<unknown> = Promise.resolve();
    const serial = <T>(work: () => Promise<T>): Promise<T> => {
      const result = queue.then(work, work);
      queue = result.catch(() => undefined);
      return result;
    };
    const mirror = async (tenant: string, groupLabels: Labels, exists: boolean): Promise<void> => {
      const key = groupKey(tenant, groupLabels);
      if (exists) {
        // A missing file means group-file.ts names files differently now: fail loudly, never drop the group.
        const bytes = await readFile(join(groupsDir, `${key}.json`)).catch((error: unknown) => {
          throw new Error(`the Pushgateway's file of group ${groupingKeyId(groupLabels)} is not ${key}.json (${(error as Error).message})`);
        });
        await this.kv.put(key, bytes);
        stored.add(key);
      } else if (stored.has(key)) {
        await this.kv.delete(key);
        stored.delete(key);
      }
    };
    // Groups the Pushgateway expired (TTL) leave the bucket too.
    const reconcile = setInterval(() => {
      void serial(async () => {
        const files = new Set((await readdir(groupsDir)).filter((name) => name.endsWith('.json')).map((name) => name.slice(0, -'.json'.length)));
        for (const key of [...stored]) {
          if (files.has(key)) continue;
          await this.kv.delete(key);
          stored.delete(key);
        }
      }).catch((error: unknown) => this.options.onError(error as Error));
    }, this.options.sampleIntervalMs);
    reconcile.unref();

    const answer = async (data: Uint8Array): Promise<GatewayReply> => {
      const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      const headerBytes = bytes.readUInt32LE(0);
      const request = JSON.parse(bytes.toString('utf8', 4, 4 + headerBytes)) as GatewayRequest;
      const body = bytes.subarray(4 + headerBytes);
      if (request.op === 'groups') return { ok: true, groups: gateway.groups(request.tenant) };
      return serial(async () => {
        if (request.op === 'delete') {
          await gateway.delete(request.tenant, request.groupLabels);
          await mirror(request.tenant, request.groupLabels, false);
          return { ok: true };
        }
        try {
          const group = await gateway.push(request.tenant, request.method, request.groupLabels, Buffer.from(body), request.headers, request.ttlMs);
          await mirror(request.tenant, request.groupLabels, true);
          return { ok: true, group };
        } catch (error) {
          if (error instanceof PushRejectedError) {
            // The refused push still set the group's push_failure_time_seconds.
            await mirror(request.tenant, request.groupLabels, true);
            return { ok: false, kind: 'rejected', message: error.message };
          }
          if (error instanceof PushBodyError) return { ok: false, kind: 'body', message: error.message };
          throw error;
        }
      });
    };
    const subscription: Subscription = this.options.connection.subscribe(this.options.subject, {
      callback: (error, message) => {
        if (error !== null) return;
        answer(message.data)
          .catch((failure: unknown): GatewayReply => ({ ok: false, kind: 'error', message: (failure as Error).message }))
          .then((reply) => message.respond(Buffer.from(stringifyGroups(reply), 'utf8')))
          .catch((failure: unknown) => this.options.onError(failure as Error));
      },
    });
    return async () => {
      subscription.unsubscribe();
      clearInterval(reconcile);
      await queue;
      await gateway.stop();
    };
  }
}

/** The bucket key of a group: the name of its file (group-file.ts), without `.json`. */
function groupKey(tenant: string, groupLabels: Labels): string {
  return createHash('sha256').update(`${tenant}\u0000${groupingKeyId(groupLabels)}`).digest('hex');
}

/** Sample values may be NaN or ±Inf, which JSON has not: they travel as {"nonFinite": "NaN"}. */
function stringifyGroups(reply: GatewayReply): string {
  return JSON.stringify(reply, (_key, value: unknown) => (typeof value === 'number' && !Number.isFinite(value) ? { nonFinite: String(value) } : value));
}

function parseGroups(text: string): unknown {
  return JSON.parse(text, (_key, value: unknown) => {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
      const keys = Object.keys(value);
      if (keys.length === 1 && keys[0] === 'nonFinite') return Number((value as { nonFinite: string }).nonFinite);
    }
    return value;
  });
}
