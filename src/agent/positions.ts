// The positions file: how far each tailed file has been read into the disk queue. Files are keyed by
// device and inode, not path, so a file renamed by rotation is still recognised after a restart. The
// file is rewritten (temp + rename) right after each batch reaches the disk queue, so a restart
// resumes exactly after the last queued line: nothing lost, nothing sent twice.

import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface FilePosition {
  path: string;
  /** `<dev>:<ino>` of the file. */
  identity: string;
  offsetBytes: number;
}

interface PositionsFileV1 {
  version: 1;
  files: FilePosition[];
}

export class PositionsFile {
  private readonly path: string;
  private readonly byIdentity = new Map<string, FilePosition>();

  constructor(path: string) {
    this.path = path;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    let parsed: PositionsFileV1;
    try {
      parsed = JSON.parse(text) as PositionsFileV1;
    } catch (error) {
      throw new Error(`positions file ${path} is not valid JSON (${(error as Error).message}); move it away to start over`);
    }
    for (const file of parsed.files ?? []) {
      if (typeof file.identity === 'string' && Number.isSafeInteger(file.offsetBytes)) this.byIdentity.set(file.identity, file);
    }
  }

  get(identity: string): FilePosition | undefined {
    return this.byIdentity.get(identity);
  }

  /** Replaces the whole set (files no longer tailed are forgotten) and writes it out. */
  save(files: FilePosition[]): void {
    this.byIdentity.clear();
    for (const file of files) this.byIdentity.set(file.identity, file);
    const body: PositionsFileV1 = { version: 1, files };
    mkdirSync(dirname(this.path), { recursive: true });
    const temporary = `${this.path}.tmp`;
    writeFileSync(temporary, JSON.stringify(body));
    renameSync(temporary, this.path);
  }
}
