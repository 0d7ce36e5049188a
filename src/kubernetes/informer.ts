// List-then-watch of one kind of object, kept as a cache keyed by namespace/name, as client-go's
// informers do: the list gives the objects and a resourceVersion, the watch applies ADDED, MODIFIED and
// DELETED from there; a watch that ends is resumed from the last version seen, and one the server
// answers with 410 Gone (the version was compacted away) starts over with a new list. Errors are
// retried with a doubling backoff (1 s to 30 s) until stop(). Every change calls `onChange` once the
// first list is in.

import { KubernetesApiError, type KubernetesClient, type WatchEvent } from './client.ts';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }>;
}

export interface KubeObject {
  metadata: ObjectMeta;
}

interface List<T> {
  metadata: { resourceVersion?: string };
  items: T[];
}

const MIN_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
const WATCH_TIMEOUT_S = 300;

export function objectKey(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

export class Informer<T extends KubeObject> {
  private readonly client: KubernetesClient;
  /** A list path such as `/api/v1/pods` or `/api/v1/namespaces/ns/endpoints`, with its own query (selectors) if any. */
  private readonly path: string;
  private readonly onChange: () => void;
  private readonly onError: (message: string) => void;
  private readonly objects = new Map<string, T>();
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private synced = false;

  constructor(client: KubernetesClient, path: string, onChange: () => void, onError: (message: string) => void) {
    this.client = client;
    this.path = path;
    this.onChange = onChange;
    this.onError = onError;
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }

  /** True once the first list has been applied. */
  hasSynced(): boolean {
    return this.synced;
  }

  list(): T[] {
    return [...this.objects.values()];
  }

  get(namespace: string, name: string): T | undefined {
    return this.objects.get(`${namespace}/${name}`);
  }

  private withQuery(extra: string): string {
    return `${this.path}${this.path.includes('?') ? '&' : '?'}${extra}`;
  }

  private async run(): Promise<void> {
    const signal = this.abort.signal;
    let backoffMs = MIN_BACKOFF_MS;
    let version: string | undefined;
    while (!signal.aborted) {
      try {
        if (version === undefined) {
          const list = await this.client.get<List<T>>(this.path, signal);
          this.objects.clear();
          for (const item of list.items ?? []) this.objects.set(objectKey(item), item);
          version = list.metadata?.resourceVersion ?? '';
          this.synced = true;
          this.onChange();
        }
        await this.client.watch<T>(
          this.withQuery(`watch=1&allowWatchBookmarks=true&timeoutSeconds=${WATCH_TIMEOUT_S}&resourceVersion=${encodeURIComponent(version)}`),
          (event) => {
            version = this.apply(event) ?? version;
          },
          signal,
        );
        backoffMs = MIN_BACKOFF_MS;
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof WatchExpired || (error instanceof KubernetesApiError && error.status === 410)) {
          version = undefined;
          continue;
        }
        this.onError(`${this.path}: ${(error as Error).message} (retrying in ${backoffMs / 1000} s)`);
        await delay(backoffMs, signal);
        backoffMs = Math.min(MAX_BACKOFF_MS, backoffMs * 2);
      }
    }
  }

  /** Applies one event; returns the resourceVersion it brings. */
  private apply(event: WatchEvent<T>): string | undefined {
    if (event.type === 'ERROR') {
      const status = event.object as unknown as { code?: number; message?: string };
      if (status.code === 410) throw new WatchExpired();
      throw new Error(`watch error ${status.code ?? ''}: ${status.message ?? ''}`);
    }
    const version = event.object.metadata?.resourceVersion;
    if (event.type === 'BOOKMARK') return version;
    const key = objectKey(event.object);
    if (event.type === 'DELETED') this.objects.delete(key);
    else this.objects.set(key, event.object);
    this.onChange();
    return version;
  }
}

class WatchExpired extends Error {}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
  });
}
