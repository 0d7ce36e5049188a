// The benchmark's data: one pass of the seeded generator writes the raw text file (what grep and
// zstd read) and, from the same entries, the encoded push batches and the answers each query must
// give. Encoding ahead of the ingest run keeps the client's work out of the server's measurement.

import { encodePushRequest } from '../src/push/protobuf.ts';
import { formatLabels } from '../src/push/labels.ts';
import type { PushStream } from '../src/push/types.ts';
import { syntheticLabels, writeSyntheticLogs, type SyntheticLogEntry } from './synthetic-log.ts';

export interface PushBatch {
  body: Buffer;
  entries: number;
  rawBytes: number;
}

/** What a correct engine must answer, counted entry by entry while generating. */
export interface ExpectedCounts {
  /** Entries containing `loss`. */
  loss: number;
  /** Entries matching (?i)(error|fail). */
  errorOrFail: number;
  /** Step lines (`| loss `), the loss-curve query's input. */
  stepLines: number;
  /** JSON metric lines with event=train_metrics and loss > JSON_LOSS_THRESHOLD. */
  jsonHighLoss: number;
}

export const JSON_LOSS_THRESHOLD = 2.5;

export interface Dataset {
  rawPath: string;
  rawBytes: number;
  /** UTF-8 bytes of the lines alone (what Loki counts as bytes), without the file's newlines. */
  lineBytes: number;
  entries: number;
  firstTimestampNs: bigint;
  lastTimestampNs: bigint;
  streams: number;
  uniqueTokens: string[];
  batches: PushBatch[];
  expected: ExpectedCounts;
  generateSeconds: number;
}

export interface DatasetOptions {
  dir: string;
  sizeBytes: number;
  seed: number;
  /** Raw bytes per push request; Promtail's default batch is 1 MiB. */
  batchBytes: number;
  startTimeNs: bigint;
}

const ERROR_OR_FAIL = /error|fail/i;

export async function buildDataset(options: DatasetOptions): Promise<Dataset> {
  const startedMs = performance.now();
  const batches: PushBatch[] = [];
  const expected: ExpectedCounts = { loss: 0, errorOrFail: 0, stepLines: 0, jsonHighLoss: 0 };
  const streamKeys = new Set<string>();
  const labelsByKey = new Map<string, string>();
  let pending = new Map<string, PushStream>();
  let pendingEntries = 0;
  let pendingBytes = 0;
  let lineBytes = 0;

  const cutBatch = (): void => {
    if (pendingEntries === 0) return;
    batches.push({ body: encodePushRequest([...pending.values()]), entries: pendingEntries, rawBytes: pendingBytes });
    pending = new Map();
    pendingEntries = 0;
    pendingBytes = 0;
  };

  const onEntry = (entry: SyntheticLogEntry): void => {
    const key = `${entry.host}/${entry.rank ?? 'launcher'}`;
    let stream = pending.get(key);
    if (stream === undefined) {
      stream = { labels: syntheticLabels(entry), entries: [] };
      pending.set(key, stream);
      if (!streamKeys.has(key)) {
        streamKeys.add(key);
        labelsByKey.set(key, formatLabels(stream.labels));
      }
    }
    stream.entries.push({ timestampNs: entry.timestampNs, line: entry.line });
    const bytes = Buffer.byteLength(entry.line);
    lineBytes += bytes;
    pendingEntries++;
    pendingBytes += bytes;
    const line = entry.line;
    if (line.includes('loss')) {
      expected.loss++;
      if (line.includes('| loss ')) expected.stepLines++;
    }
    if (ERROR_OR_FAIL.test(line)) expected.errorOrFail++;
    if (line.startsWith('{"') && line.includes('"event": "train_metrics"')) {
      const parsed = JSON.parse(line) as { loss?: number };
      if (typeof parsed.loss === 'number' && parsed.loss > JSON_LOSS_THRESHOLD) expected.jsonHighLoss++;
    }
    if (pendingBytes >= options.batchBytes) cutBatch();
  };

  const written = await writeSyntheticLogs({
    dir: options.dir,
    targetBytes: options.sizeBytes,
    layout: 'combined',
    seed: options.seed,
    startTimeNs: options.startTimeNs,
    onEntry,
  });
  cutBatch();
  return {
    rawPath: written.files[0]!,
    rawBytes: written.bytes,
    lineBytes,
    entries: written.entries,
    firstTimestampNs: written.firstTimestampNs,
    lastTimestampNs: written.lastTimestampNs,
    streams: streamKeys.size,
    uniqueTokens: written.uniqueTokens,
    batches,
    expected,
    generateSeconds: (performance.now() - startedMs) / 1000,
  };
}

/**
 * Bytes of generated text per second of simulated time: the default options give about 6,500
 * (50 MB span 2.1 h); the lower figure overestimates the span so the data never ends in the future.
 */
export const GENERATED_BYTES_PER_SIMULATED_SECOND = 4_500;
