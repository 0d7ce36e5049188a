// The push data model shared by the agent (which encodes it) and the server (which decodes it).
// Nanosecond timestamps are bigint end to end: a JS number loses precision past 2^53 ns (~104 days).

/** A stream's label set, name → value. Canonical text form is produced by `formatLabels`. */
export type Labels = Record<string, string>;

/** One structured-metadata pair attached to an entry (Loki 2.9+). */
export interface LabelPair {
  name: string;
  value: string;
}

export interface PushEntry {
  timestampNs: bigint;
  line: string;
  structuredMetadata?: LabelPair[];
}

export interface PushStream {
  labels: Labels;
  entries: PushEntry[];
}
