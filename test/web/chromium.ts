// Debian's chromium driven by playwright-core, headless, with a fresh profile removed afterwards.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type BrowserContextOptions } from 'playwright-core';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export interface Chromium {
  context: BrowserContext;
  close(): Promise<void>;
}

/** `contextOptions`: e.g. httpCredentials, answered when the server asks for basic auth. */
export async function launchChromium(contextOptions: Pick<BrowserContextOptions, 'httpCredentials' | 'ignoreHTTPSErrors'> = {}): Promise<Chromium> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'rankscope-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    ...contextOptions,
    executablePath: CHROMIUM_PATH,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
