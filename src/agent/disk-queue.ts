// A disk-backed FIFO of ready-to-send push bodies. Batches are encoded once (protobuf + snappy) and
// written as one file each, so a retry resends the identical bytes and a server outage of any length
// costs disk, not memory, until `maxBytes`; past the cap new batches are dropped and counted.
//
// Layout: <dir>/<owner>/<time>-<pid>-<seq>-<entries>.batch, where <owner> is one process's folder
// with an owner.json naming its pid and destination. A process that starts with the same queue dir
// and destination adopts the folders of owners that are no longer alive, so lines queued by a `run`
// whose server was down are sent by the next `run` or agent. A batch file is written to a temporary
// name and renamed, so a crash never leaves half a batch under a real name. Files are not fsync'd:
// this protects against the process dying, not against the machine losing power.

import { createReadStream, mkdirSync, readdirSync, readFileSync, type ReadStream, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface QueuedBatch {
  fileName: string;
  entryCount: number;
  sizeBytes: number;
}

interface OwnerRecord {
  pid: number;
  destination: string;
}

const BATCH_FILE_PATTERN = /^\d{13}-\d+-\d+-(\d+)\.batch$/;

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the pid exists but belongs to someone else, so it is alive.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class DiskQueue {
  readonly ownerDir: string;
  private readonly maxBytes: number;
  private readonly batches: QueuedBatch[] = [];
  private sequence = 0;
  private queuedBytes = 0;
  private queuedEntries = 0;
  droppedEntries = 0;
  droppedBatches = 0;
  adoptedBatches = 0;

  /**
   * Opens (creating) the queue under `dir` for `destination` (the push URL plus tenant), adopting
   * batches left by dead processes that shipped to the same destination.
   */
  constructor(dir: string, destination: string, maxBytes: number) {
    this.maxBytes = maxBytes;
    mkdirSync(dir, { recursive: true });
    this.ownerDir = join(dir, `${Date.now()}-${process.pid}-${randomBytes(4).toString('hex')}`);
    mkdirSync(this.ownerDir);
    const owner: OwnerRecord = { pid: process.pid, destination };
    writeFileSync(join(this.ownerDir, 'owner.json'), JSON.stringify(owner));
    this.adoptOrphans(dir, destination);
  }

  private adoptOrphans(dir: string, destination: string): void {
    for (const name of readdirSync(dir).sort()) {
      const folder = join(dir, name);
      if (folder === this.ownerDir) continue;
      let owner: OwnerRecord;
      try {
        if (!statSync(folder).isDirectory()) continue;
        owner = JSON.parse(readFileSync(join(folder, 'owner.json'), 'utf8')) as OwnerRecord;
      } catch {
        continue;
      }
      if (owner.destination !== destination || isAlive(owner.pid)) continue;
      for (const file of readdirSync(folder).sort()) {
        const match = BATCH_FILE_PATTERN.exec(file);
        if (match === null) continue;
        try {
          // rename is atomic: if two processes adopt at once, each batch goes to exactly one.
          renameSync(join(folder, file), join(this.ownerDir, file));
        } catch {
          continue;
        }
        const sizeBytes = statSync(join(this.ownerDir, file)).size;
        this.batches.push({ fileName: file, entryCount: Number(match[1]), sizeBytes });
        this.queuedBytes += sizeBytes;
        this.queuedEntries += Number(match[1]);
        this.adoptedBatches++;
      }
      rmSync(folder, { recursive: true, force: true });
    }
    this.batches.sort((a, b) => (a.fileName < b.fileName ? -1 : a.fileName > b.fileName ? 1 : 0));
  }

  /** Appends a batch. Returns false (and counts the entries as dropped) when the cap is reached. */
  append(body: Buffer, entryCount: number): boolean {
    if (this.queuedBytes + body.length > this.maxBytes) {
      this.droppedEntries += entryCount;
      this.droppedBatches++;
      return false;
    }
    const fileName = `${String(Date.now()).padStart(13, '0')}-${process.pid}-${this.sequence++}-${entryCount}.batch`;
    const temporary = join(this.ownerDir, `${fileName}.tmp`);
    writeFileSync(temporary, body);
    renameSync(temporary, join(this.ownerDir, fileName));
    this.batches.push({ fileName, entryCount, sizeBytes: body.length });
    this.queuedBytes += body.length;
    this.queuedEntries += entryCount;
    return true;
  }

  peek(): QueuedBatch | undefined {
    return this.batches[0];
  }

  /**
   * Opens the batch for sending, as a stream read from disk in small chunks: holding whole bodies
   * for the length of a request let V8 promote them, and their memory stayed until a rare full GC.
   * Throws when the file is gone.
   */
  openBody(batch: QueuedBatch): { sizeBytes: number; stream: () => ReadStream } {
    const path = join(this.ownerDir, batch.fileName);
    const sizeBytes = statSync(path).size;
    return { sizeBytes, stream: () => createReadStream(path) };
  }

  /** Removes the oldest batch after it was delivered (or rejected for good). */
  shift(): void {
    const batch = this.batches.shift();
    if (batch === undefined) return;
    try {
      unlinkSync(join(this.ownerDir, batch.fileName));
    } catch {
      // already gone: the goal is reached
    }
    this.queuedBytes -= batch.sizeBytes;
    this.queuedEntries -= batch.entryCount;
  }

  get depthBatches(): number {
    return this.batches.length;
  }
  get depthBytes(): number {
    return this.queuedBytes;
  }
  get depthEntries(): number {
    return this.queuedEntries;
  }

  /** Removes this process's folder when it holds nothing, so an empty queue leaves no litter. */
  close(): void {
    if (this.batches.length === 0) rmSync(this.ownerDir, { recursive: true, force: true });
  }
}
