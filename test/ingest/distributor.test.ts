import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Distributor, type IngestLimits } from '../../src/ingest/distributor.ts';
import { decodeSnappyPushRequestFast } from '../../src/push/protobuf-decode.ts';
import { encodePushRequest } from '../../src/push/protobuf.ts';
import type { PushStream } from '../../src/push/types.ts';
import type { AppendOptions, AppendStream, LogStore } from '../../src/store/types.ts';
import { TIGHT_LIMITS } from './validation-limits-fixture.ts';

const LIMITS: IngestLimits = { ...TIGHT_LIMITS, ingestionRateBytesPerSecond: 1e9, ingestionBurstBytes: 1e9 };

test('the push body reaches the store only when every decoded stream is accepted as it came (table)', async () => {
  const nowMs = Date.now();
  const t = BigInt(nowMs) * 1_000_000n;
  const stream = (labels: Record<string, string>, lines: string[]): PushStream => ({ labels, entries: lines.map((line, i) => ({ timestampNs: t + BigInt(i), line })) });
  // Each case: the streams pushed, the limits, and whether the store is offered the body.
  const cases: Array<{ name: string; streams: PushStream[]; limits?: Partial<IngestLimits>; withBody?: boolean; offered: boolean }> = [
    { name: 'accepted as decoded', streams: [stream({ job: 'a' }, ['one', 'two']), stream({ job: 'b' }, ['three'])], offered: true },
    { name: 'no body given (a JSON push)', streams: [stream({ job: 'a' }, ['one'])], withBody: false, offered: false },
    { name: 'a line too long dropped', streams: [stream({ job: 'a' }, ['one', 'x'.repeat(40)])], offered: false },
    { name: 'a line too long cut', streams: [stream({ job: 'a' }, ['x'.repeat(40)])], limits: { maxLineSizeTruncate: true }, offered: false },
    { name: 'a stream refused for its labels', streams: [stream({ job: 'a' }, ['one']), stream({ job: 'b', a: '1', b: '2', c: '3' }, ['two'])], offered: false },
    { name: 'an empty label value dropped', streams: [stream({ job: 'a', gone: '' }, ['one'])], offered: false },
    { name: 'a stream without entries', streams: [stream({ job: 'a' }, ['one']), stream({ job: 'b' }, [])], offered: false },
    { name: 'service_name added', streams: [stream({ job: 'a' }, ['one'])], limits: { discoverServiceName: ['job'] }, offered: false },
    { name: 'detected_level added', streams: [stream({ job: 'a' }, ['level=error one'])], limits: { discoverLogLevels: true }, offered: false },
    { name: 'over the active stream limit', streams: [stream({ job: 'a' }, ['one']), stream({ job: 'b' }, ['two'])], limits: { maxStreamsPerTenant: 1 }, offered: false },
  ];
  for (const { name, streams, limits, withBody = true, offered } of cases) {
    const appended: Array<{ streams: AppendStream[]; options: AppendOptions | undefined }> = [];
    const store = { append: async (_tenant: string, accepted: AppendStream[], options?: AppendOptions) => void appended.push({ streams: accepted, options }) } as unknown as LogStore;
    const distributor = new Distributor({ store, limits: { ...LIMITS, ...limits } });
    const body = encodePushRequest(streams);
    await distributor.push('fake', decodeSnappyPushRequestFast(body, undefined, true), nowMs, withBody ? body : undefined).catch(() => undefined);
    assert.equal(appended.length, 1, `${name}: one append`);
    assert.equal(appended[0]!.options?.pushBody, offered ? body : undefined, name);
  }
});
