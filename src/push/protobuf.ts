// Loki's protobuf push body: a snappy block-compressed (not framed) `logproto.PushRequest`.
// Field numbers follow Loki's push.proto; see shared/reference/loki-api.md §1.1.

import protobuf from 'protobufjs';
import snappy from 'snappy';
import { formatLabels, parseLabels } from './labels.ts';
import type { LabelPair, PushStream } from './types.ts';

const root = protobuf.Root.fromJSON({
  nested: {
    logproto: {
      nested: {
        PushRequest: {
          fields: { streams: { rule: 'repeated', type: 'StreamAdapter', id: 1 }, format: { type: 'string', id: 2 } },
        },
        StreamAdapter: {
          fields: {
            labels: { type: 'string', id: 1 },
            entries: { rule: 'repeated', type: 'EntryAdapter', id: 2 },
            hash: { type: 'uint64', id: 3 },
          },
        },
        LabelPairAdapter: { fields: { name: { type: 'string', id: 1 }, value: { type: 'string', id: 2 } } },
        EntryAdapter: {
          fields: {
            timestamp: { type: 'Timestamp', id: 1 },
            line: { type: 'string', id: 2 },
            structuredMetadata: { rule: 'repeated', type: 'LabelPairAdapter', id: 3 },
            parsed: { rule: 'repeated', type: 'LabelPairAdapter', id: 4 },
          },
        },
        Timestamp: { fields: { seconds: { type: 'int64', id: 1 }, nanos: { type: 'int32', id: 2 } } },
      },
    },
  },
});

const PushRequest = root.lookupType('logproto.PushRequest');

const NS_PER_SECOND = 1_000_000_000n;

interface DecodedTimestamp {
  seconds?: number | { toString(): string };
  nanos?: number;
}
interface DecodedEntry {
  timestamp?: DecodedTimestamp;
  line?: string;
  structuredMetadata?: LabelPair[];
}
interface DecodedStream {
  labels?: string;
  entries?: DecodedEntry[];
}

export class PushDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PushDecodeError';
  }
}

/** Encodes streams as a snappy-compressed PushRequest, ready to POST as application/x-protobuf. */
export function encodePushRequest(streams: PushStream[]): Buffer {
  const message = PushRequest.fromObject({
    streams: streams.map((stream) => ({
      labels: formatLabels(stream.labels),
      entries: stream.entries.map((entry) => ({
        timestamp: {
          seconds: (entry.timestampNs / NS_PER_SECOND).toString(),
          nanos: Number(entry.timestampNs % NS_PER_SECOND),
        },
        line: entry.line,
        structuredMetadata: entry.structuredMetadata ?? [],
      })),
    })),
  });
  return snappy.compressSync(Buffer.from(PushRequest.encode(message).finish()));
}

/** Decodes an uncompressed PushRequest. Throws PushDecodeError naming what was wrong. */
export function decodePushRequestProto(body: Uint8Array): PushStream[] {
  let decoded: { streams?: DecodedStream[] };
  try {
    decoded = PushRequest.decode(body) as unknown as { streams?: DecodedStream[] };
  } catch (error) {
    throw new PushDecodeError(`malformed protobuf PushRequest: ${(error as Error).message}`);
  }
  const streams: PushStream[] = [];
  for (const [index, stream] of (decoded.streams ?? []).entries()) {
    let labels;
    try {
      labels = parseLabels(stream.labels ?? '');
    } catch (error) {
      throw new PushDecodeError(`error parsing labels '${stream.labels ?? ''}' of stream ${index} with error: ${(error as Error).message}`);
    }
    streams.push({
      labels,
      entries: (stream.entries ?? []).map((entry) => {
        const seconds = BigInt(entry.timestamp?.seconds?.toString() ?? '0');
        const nanos = BigInt(entry.timestamp?.nanos ?? 0);
        const metadata = entry.structuredMetadata;
        return {
          timestampNs: seconds * NS_PER_SECOND + nanos,
          line: entry.line ?? '',
          ...(metadata && metadata.length > 0
            ? { structuredMetadata: metadata.map((pair) => ({ name: pair.name ?? '', value: pair.value ?? '' })) }
            : {}),
        };
      }),
    });
  }
  return streams;
}

/** Decodes a snappy block-compressed PushRequest body. */
export function decodeSnappyPushRequest(body: Uint8Array): PushStream[] {
  let raw: Buffer;
  try {
    raw = snappy.uncompressSync(Buffer.from(body.buffer, body.byteOffset, body.byteLength)) as Buffer;
  } catch (error) {
    throw new PushDecodeError(`malformed snappy body: ${(error as Error).message}`);
  }
  return decodePushRequestProto(raw);
}
