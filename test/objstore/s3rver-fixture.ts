// Starts a real s3rver on 127.0.0.1 (OS-assigned port, fresh temp directory) in a child process;
// see s3rver-main.ts for why it is a separate process.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export interface RunningS3rver {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 20_000;

export async function startS3rver(bucket = 'rankscope-test'): Promise<RunningS3rver> {
  const directory = await mkdtemp(join(tmpdir(), 'rankscope-s3rver-'));
  const script = fileURLToPath(new URL('./s3rver-main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '--disable-warning=ExperimentalWarning', script, directory, bucket], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const timer = setTimeout(() => child.kill('SIGKILL'), STARTUP_TIMEOUT_MS);
  let listening = false;
  const exitedEarly = once(child, 'exit').then(([code]) => {
    if (!listening) throw new Error(`s3rver exited with code ${String(code)} before listening`);
    return [''];
  });
  exitedEarly.catch(() => undefined); // handled by the race below; later exits are expected
  try {
    const [firstLine] = (await Promise.race([once(lines, 'line'), exitedEarly])) as [string];
    listening = true;
    const { port } = JSON.parse(firstLine) as { port: number };
    return {
      endpoint: `http://127.0.0.1:${port}`,
      bucket,
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
      async stop() {
        if (child.exitCode === null) {
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          const killTimer = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exited;
          clearTimeout(killTimer);
        }
        await rm(directory, { recursive: true, force: true });
      },
    };
  } finally {
    clearTimeout(timer);
  }
}
