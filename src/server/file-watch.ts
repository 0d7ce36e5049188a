// Notices that files changed on disk (certificates, the tokens file) so they can be reloaded without
// a restart. It polls stat() rather than using fs.watch: the usual ways of replacing these files
// (cert-manager and Kubernetes secrets swap a symlink, editors and `mv` rename over the old file) leave
// an fs.watch handle watching the old inode, and one stat per file every few seconds costs nothing.

import { statSync } from 'node:fs';

export interface FileWatch {
  close(): void;
}

function signatureOf(path: string): string {
  try {
    const stats = statSync(path);
    return `${stats.ino}:${stats.size}:${stats.mtimeMs}`;
  } catch (error) {
    return `missing:${(error as NodeJS.ErrnoException).code ?? ''}`;
  }
}

/** Calls `onChange` once per poll in which any of `paths` changed (content, inode, or existence). */
export function watchFiles(paths: readonly string[], intervalMs: number, onChange: () => void): FileWatch {
  let signatures = paths.map(signatureOf);
  const timer = setInterval(() => {
    const next = paths.map(signatureOf);
    if (next.every((signature, i) => signature === signatures[i])) return;
    signatures = next;
    onChange();
  }, intervalMs);
  timer.unref();
  return { close: () => clearInterval(timer) };
}
