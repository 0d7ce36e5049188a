// Reads entries back from a real rankscope (or Loki) server through the query_range API.

export interface QueriedEntry {
  labels: Record<string, string>;
  timestampNs: bigint;
  line: string;
}

/** All entries matching `query` in the last day (oldest first, up to `limit`). */
export async function queryEntries(serverUrl: string, query: string, limit = 5000, headers: Record<string, string> = {}): Promise<QueriedEntry[]> {
  const endNs = BigInt(Date.now() + 60_000) * 1_000_000n;
  const startNs = endNs - 24n * 3_600_000_000_000n;
  const url = new URL('/loki/api/v1/query_range', serverUrl);
  url.searchParams.set('query', query);
  url.searchParams.set('start', startNs.toString());
  url.searchParams.set('end', endNs.toString());
  url.searchParams.set('limit', String(limit));
  url.searchParams.set('direction', 'forward');
  const response = await fetch(url, { headers });
  const text = await response.text();
  if (!response.ok) throw new Error(`query ${query} failed: HTTP ${response.status} ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as {
    status: string;
    data?: { resultType: string; result: { stream: Record<string, string>; values: [string, string][] }[] };
    error?: string;
  };
  if (!response.ok || body.data === undefined) throw new Error(`query ${query} failed: HTTP ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
  const entries: QueriedEntry[] = [];
  for (const stream of body.data.result) {
    for (const [timestamp, line] of stream.values) entries.push({ labels: stream.stream, timestampNs: BigInt(timestamp), line });
  }
  entries.sort((a, b) => (a.timestampNs < b.timestampNs ? -1 : a.timestampNs > b.timestampNs ? 1 : 0));
  return entries;
}
