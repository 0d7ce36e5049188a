// One entry point for both backends; usable from worker threads (the config is plain data).

import { FilesystemObjectStore } from './filesystem-store.ts';
import type { ObjectStore, ObjectStoreConfig } from './object-store.ts';
import { S3ObjectStore } from './s3-store.ts';

export type { ObjectStore, ObjectStoreConfig } from './object-store.ts';
export { ObjectNotFoundError } from './object-store.ts';

export function openObjectStore(config: ObjectStoreConfig): ObjectStore {
  switch (config.backend) {
    case 'filesystem':
      return new FilesystemObjectStore(config.directory);
    case 's3':
      return new S3ObjectStore(config);
  }
}
