// Child-process entry for the s3rver fixture: `node --openssl-legacy-provider s3rver-main.ts DIR BUCKET`.
// Runs in its own process because s3rver's ListObjectsV2 continuation tokens use DES, which
// OpenSSL 3 only offers through the legacy provider. Prints {"port":N} once listening.

import { createRequire } from 'node:module';

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: Array<{ name: string }>;
}) => S3rverInstance;

const [directory, bucket] = process.argv.slice(2);
if (directory === undefined || bucket === undefined) {
  console.error('usage: s3rver-main.ts DIRECTORY BUCKET');
  process.exit(2);
}
const S3rver = createRequire(import.meta.url)('s3rver') as S3rverConstructor;
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: process.env.S3RVER_LOG === undefined, directory, configureBuckets: [{ name: bucket }] });
const { port } = await server.run();
process.stdout.write(JSON.stringify({ port }) + '\n');
process.on('SIGTERM', () => {
  server.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
});
