// S3 backend (AWS SDK v3). Works with any S3-compatible server: set `endpoint` and
// `forcePathStyle` for MinIO, s3rver and the like. A PUT is atomic on S3 by definition.
// The SDK is loaded on first use: importing it costs ~50 MB of RSS (measured: a bare Node process
// 44 MB → 98 MB), which every server and scan worker paid even on the filesystem backend.

import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import { ObjectNotFoundError, validateObjectKey, type ObjectStore, type S3ObjectStoreConfig } from './object-store.ts';

type Sdk = typeof import('@aws-sdk/client-s3');

export class S3ObjectStore implements ObjectStore {
  private readonly clientConfig: S3ClientConfig;
  private connection: Promise<{ sdk: Sdk; client: S3Client }> | undefined;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly listPageSize: number | undefined;

  constructor(config: S3ObjectStoreConfig) {
    const clientConfig: S3ClientConfig = { region: config.region, forcePathStyle: config.forcePathStyle };
    if (config.endpoint !== undefined && config.endpoint !== '') clientConfig.endpoint = config.endpoint;
    if (config.accessKeyId !== undefined && config.accessKeyId !== '' && config.secretAccessKey !== undefined) {
      clientConfig.credentials = { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey };
    }
    this.clientConfig = clientConfig;
    this.bucket = config.bucket;
    this.prefix = config.prefix;
    this.listPageSize = config.listPageSize;
  }

  private connect(): Promise<{ sdk: Sdk; client: S3Client }> {
    this.connection ??= import('@aws-sdk/client-s3').then((sdk) => ({ sdk, client: new sdk.S3Client(this.clientConfig) }));
    return this.connection;
  }

  private fullKey(key: string): string {
    validateObjectKey(key);
    return this.prefix + key;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    const { sdk, client } = await this.connect();
    await client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Body: data }));
  }

  async get(key: string): Promise<Buffer> {
    return this.read(key, undefined);
  }

  async getRange(key: string, offset: number, length: number): Promise<Buffer> {
    if (length === 0) return Buffer.alloc(0);
    return this.read(key, `bytes=${offset}-${offset + length - 1}`);
  }

  private async read(key: string, range: string | undefined): Promise<Buffer> {
    const { sdk, client } = await this.connect();
    try {
      const response = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key), Range: range }));
      if (response.Body === undefined) return Buffer.alloc(0);
      return Buffer.from(await response.Body.transformToByteArray());
    } catch (error) {
      const name = (error as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'NotFound') throw new ObjectNotFoundError(key);
      throw error;
    }
  }

  async list(prefix: string): Promise<string[]> {
    const { sdk, client } = await this.connect();
    const keys: string[] = [];
    let continuationToken: string | undefined;
    // Bounded: each page advances the continuation token; S3 ends with IsTruncated=false.
    for (;;) {
      const page = await client.send(
        new sdk.ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: continuationToken, MaxKeys: this.listPageSize }),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key !== undefined) keys.push(object.Key.slice(this.prefix.length));
      }
      if (page.IsTruncated !== true || page.NextContinuationToken === undefined) break;
      continuationToken = page.NextContinuationToken;
    }
    return keys.sort();
  }

  async delete(key: string): Promise<void> {
    const { sdk, client } = await this.connect();
    await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: this.fullKey(key) }));
  }

  async close(): Promise<void> {
    if (this.connection === undefined) return;
    (await this.connection).client.destroy();
  }
}
