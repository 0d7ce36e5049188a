// The default backend: objects are files under one directory. Writes go to a temp file, are fsync'd,
// renamed over the target and the directory is fsync'd, so a crash leaves the old or the new object.

import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, readFile } from 'node:fs/promises';
import { dirname, join, sep } from 'node:path';
import { ObjectNotFoundError, validateObjectKey, type ObjectStore } from './object-store.ts';

const TEMP_SUFFIX = '.tmp-';

export class FilesystemObjectStore implements ObjectStore {
  readonly directory: string;
  private readonly knownDirectories = new Set<string>();

  constructor(directory: string) {
    this.directory = directory;
  }

  private pathOf(key: string): string {
    validateObjectKey(key);
    return join(this.directory, ...key.split('/'));
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const path = this.pathOf(key);
    const directory = dirname(path);
    if (!this.knownDirectories.has(directory)) {
      await mkdir(directory, { recursive: true });
      this.knownDirectories.add(directory);
    }
    const tempPath = `${path}${TEMP_SUFFIX}${randomBytes(6).toString('hex')}`;
    const file = await open(tempPath, 'w');
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tempPath, path);
    await syncDirectory(directory);
  }

  async get(key: string): Promise<Buffer> {
    try {
      return await readFile(this.pathOf(key));
    } catch (error) {
      throw mapNotFound(error, key);
    }
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    let file;
    try {
      file = await open(this.pathOf(key), 'r');
    } catch (error) {
      throw mapNotFound(error, key);
    }
    try {
      const buffer = Buffer.allocUnsafe(length);
      let filled = 0;
      while (filled < length) {
        const { bytesRead } = await file.read(buffer, filled, length - filled, offset + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled === length ? buffer : buffer.subarray(0, filled);
    } finally {
      await file.close();
    }
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    await this.walk(this.directory, '', prefix, keys);
    return keys.sort();
  }

  private async walk(directory: string, keyPrefix: string, wanted: string, keys: string[]): Promise<void> {
    let entries;
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    for (const entry of entries) {
      const key = keyPrefix + entry.name;
      if (entry.isDirectory()) {
        const asDirectory = key + '/';
        // Only descend where the wanted prefix can still match.
        if (asDirectory.startsWith(wanted) || wanted.startsWith(asDirectory)) {
          await this.walk(directory + sep + entry.name, asDirectory, wanted, keys);
        }
      } else if (entry.isFile() && key.startsWith(wanted) && !entry.name.includes(TEMP_SUFFIX)) {
        keys.push(key);
      }
    }
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async close(): Promise<void> {}
}

export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function mapNotFound(error: unknown, key: string): unknown {
  return (error as NodeJS.ErrnoException).code === 'ENOENT' ? new ObjectNotFoundError(key) : error;
}
