// The object-store contract: the store writes immutable objects (parts and their indexes) through it.
// Backends: the local filesystem (default) and S3. Config is plain data so a worker thread can
// open its own instance with `openObjectStore(config)`.

export interface ObjectStore {
  /** Writes the whole object atomically: readers see the old object or the new one, never a mix. */
  put(key: string, data: Uint8Array): Promise<void>;
  /** Throws ObjectNotFoundError when the key does not exist. */
  get(key: string): Promise<Buffer>;
  getRange(key: string, offset: number, length: number): Promise<Buffer>;
  /** Keys starting with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Deleting a missing key is not an error. */
  delete(key: string): Promise<void>;
  close(): Promise<void>;
}

export class ObjectNotFoundError extends Error {
  readonly key: string;
  constructor(key: string) {
    super(`object not found: ${key}`);
    this.name = 'ObjectNotFoundError';
    this.key = key;
  }
}

export interface FilesystemObjectStoreConfig {
  backend: 'filesystem';
  directory: string;
}

export interface S3ObjectStoreConfig {
  backend: 's3';
  endpoint?: string;
  bucket: string;
  region: string;
  forcePathStyle: boolean;
  accessKeyId?: string;
  secretAccessKey?: string;
  /** Prepended to every key, e.g. "rankscope/". */
  prefix: string;
  /** Keys per ListObjectsV2 page (S3 caps it at 1000, the default). */
  listPageSize?: number;
}

export type ObjectStoreConfig = FilesystemObjectStoreConfig | S3ObjectStoreConfig;

/** Rejects keys that could escape the store's root or confuse S3 listing. */
export function validateObjectKey(key: string): void {
  if (key === '' || key.startsWith('/') || key.split('/').some((segment) => segment === '' || segment === '.' || segment === '..')) {
    throw new Error(`invalid object key ${JSON.stringify(key)}: use relative '/'-separated segments without '.' or '..'`);
  }
}
