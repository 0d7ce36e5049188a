// A stand-in Kubernetes API server on 127.0.0.1 (no real one can run here): list and watch of core
// v1 resources and the Prometheus Operator's monitor objects, in the shapes the API server sends
// (List with metadata.resourceVersion; watch as one JSON event per line; 410 Gone as an ERROR event
// for a version older than the compaction point), with namespace paths, labelSelector equality and
// the spec.nodeName field selector. Tests add, change and delete objects while clients watch.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StoredObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [key: string]: unknown;
}

interface Watcher {
  resource: string;
  namespace: string | undefined;
  filter: (object: StoredObject) => boolean;
  response: ServerResponse;
}

const RESOURCE_PATH = /^\/(?:api\/v1|apis\/([^/]+)\/([^/]+))\/(?:namespaces\/([^/]+)\/)?([a-z]+)$/;

export class StandInKubeApi {
  private server: Server | undefined;
  private version = 100;
  /** Versions at or below this are "compacted": a watch from one gets 410 Gone. */
  private compactedVersion = 0;
  private readonly objects = new Map<string, Map<string, StoredObject>>();
  private readonly watchers = new Set<Watcher>();
  /** Requests seen, for tests that check what was asked (`GET /api/v1/pods?fieldSelector=…`). */
  readonly requests: string[] = [];
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => this.handle(request, response));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    for (const watcher of this.watchers) watcher.response.end();
    this.watchers.clear();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  /** Ends every open watch (as an API server does at its timeout); clients must resume. */
  dropWatches(): void {
    for (const watcher of this.watchers) watcher.response.end();
    this.watchers.clear();
  }

  /** Makes every version so far too old to watch from (etcd compaction). */
  compact(): void {
    this.compactedVersion = this.version;
  }

  watcherCount(): number {
    return this.watchers.size;
  }

  private store(resource: string): Map<string, StoredObject> {
    let map = this.objects.get(resource);
    if (map === undefined) this.objects.set(resource, (map = new Map()));
    return map;
  }

  /** Adds or replaces an object of `resource` (e.g. "pods", "servicemonitors"). */
  put(resource: string, object: StoredObject): void {
    const key = `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    const existed = this.store(resource).has(key);
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion: String(++this.version), uid: object.metadata.uid ?? `uid-${resource}-${object.metadata.name}` } };
    this.store(resource).set(key, stored);
    this.notify(resource, existed ? 'MODIFIED' : 'ADDED', stored);
  }

  delete(resource: string, namespace: string | undefined, name: string): void {
    const key = `${namespace ?? ''}/${name}`;
    const existing = this.store(resource).get(key);
    if (existing === undefined) return;
    this.store(resource).delete(key);
    this.notify(resource, 'DELETED', { ...existing, metadata: { ...existing.metadata, resourceVersion: String(++this.version) } });
  }

  private notify(resource: string, type: string, object: StoredObject): void {
    for (const watcher of this.watchers) {
      if (watcher.resource !== resource) continue;
      if (watcher.namespace !== undefined && object.metadata.namespace !== watcher.namespace) continue;
      if (!watcher.filter(object)) continue;
      watcher.response.write(`${JSON.stringify({ type, object })}\n`);
    }
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    this.requests.push(`${request.method} ${request.url}`);
    const url = new URL(request.url ?? '/', 'http://stand-in');
    const match = RESOURCE_PATH.exec(url.pathname);
    if (request.method !== 'GET' || match === null) {
      response.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', code: 404, message: `no route ${url.pathname}` }));
      return;
    }
    const namespace = match[3];
    const resource = match[4]!;
    const filter = selectorFilter(url.searchParams.get('labelSelector'), url.searchParams.get('fieldSelector'));
    const inScope = (object: StoredObject) => (namespace === undefined || object.metadata.namespace === namespace) && filter(object);
    if (url.searchParams.get('watch') === '1' || url.searchParams.get('watch') === 'true') {
      const from = Number(url.searchParams.get('resourceVersion') ?? '0');
      response.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      if (from > 0 && from <= this.compactedVersion) {
        response.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: `too old resource version: ${from} (${this.compactedVersion})` } })}\n`);
        return;
      }
      const watcher: Watcher = { resource, namespace, filter, response };
      this.watchers.add(watcher);
      request.on('close', () => this.watchers.delete(watcher));
      return;
    }
    const items = [...this.store(resource).values()].filter(inScope);
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: { resourceVersion: String(this.version) }, items }));
  }
}

/** `a=b,c=d` label selectors and the `spec.nodeName=x` / `metadata.name=x` field selectors. */
function selectorFilter(labelSelector: string | null, fieldSelector: string | null): (object: StoredObject) => boolean {
  const labels = (labelSelector ?? '').split(',').filter(Boolean).map((term) => term.split('=') as [string, string]);
  const fields = (fieldSelector ?? '').split(',').filter(Boolean).map((term) => term.split('=') as [string, string]);
  return (object) =>
    labels.every(([name, value]) => object.metadata.labels?.[name] === value) &&
    fields.every(([path, value]) => {
      let current: unknown = object;
      for (const part of path.split('.')) current = (current as Record<string, unknown> | undefined)?.[part];
      return current === value;
    });
}
