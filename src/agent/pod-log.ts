// Kubernetes pod log files: the kubelet writes /var/log/pods/<namespace>_<pod>_<uid>/<container>/<N>.log,
// each line in the CRI format `<RFC3339Nano> <stdout|stderr> <P|F> <text>` (containerd, CRI-O) or,
// under dockershim, the Docker json-file format `{"log":"text\n","stream":"stdout","time":"…"}`.
// A long line is split by the runtime: CRI marks the pieces `P` (partial) up to the final `F`; Docker
// leaves the trailing newline off every piece but the last.

import { basename, dirname } from 'node:path';
import { parseRfc3339Ns } from './timestamp.ts';

export interface PodLogPathLabels {
  namespace: string;
  pod: string;
  container: string;
  app: string;
  /** Present when the pod name ends like a PyTorchJob/MPIJob replica: …-master-0, …-worker-3. */
  rank?: string;
  replica_type?: string;
}

// Pod names end in generated suffixes: a ReplicaSet hash plus a 5-character id (Deployments), an
// ordinal (StatefulSets, training-operator replicas), or a 5-character id (Jobs). `app` is the stem.
const REPLICA_PATTERN = /^(.*)-(master|worker|launcher|chief|ps|evaluator)-(\d+)$/;
const DEPLOYMENT_PATTERN = /^(.*)-[a-f0-9]{8,10}-[a-z0-9]{5}$/;
const JOB_OR_STATEFULSET_PATTERN = /^(.*)-(?:[a-z0-9]{5}|\d+)$/;

export interface PodRankOptions {
  /** Added to N for `…-worker-N`; 1 matches PyTorchJob with a Master replica (master-0 is rank 0). */
  workerRankOffset: number;
}

export function podLabelsFromPath(path: string, options: PodRankOptions): PodLogPathLabels | undefined {
  const container = basename(dirname(path));
  const podDir = basename(dirname(dirname(path)));
  const parts = podDir.split('_');
  if (parts.length !== 3 || container === '' || !path.endsWith('.log')) return undefined;
  const [namespace, pod] = parts as [string, string, string];
  const labels: PodLogPathLabels = { namespace, pod, container, app: pod };
  const replica = REPLICA_PATTERN.exec(pod);
  if (replica !== null) {
    labels.app = replica[1]!;
    labels.replica_type = replica[2]!;
    const ordinal = Number(replica[3]);
    if (replica[2] === 'master') labels.rank = String(ordinal);
    else if (replica[2] === 'worker') labels.rank = String(ordinal + options.workerRankOffset);
    return labels;
  }
  const deployment = DEPLOYMENT_PATTERN.exec(pod);
  const stem = deployment ?? JOB_OR_STATEFULSET_PATTERN.exec(pod);
  if (stem !== null && stem[1] !== '') labels.app = stem[1]!;
  return labels;
}

/** The pod's uid, the third part of `<namespace>_<pod>_<uid>` in a pod log path. */
export function podUidFromPath(path: string): string | undefined {
  const parts = basename(dirname(dirname(path))).split('_');
  return parts.length === 3 ? parts[2] : undefined;
}

export interface ContainerLogLine {
  timestampNs: bigint;
  stream: 'stdout' | 'stderr';
  /** True when the runtime split a long line and more pieces follow. */
  partial: boolean;
  text: string;
}

export class ContainerLogFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ContainerLogFormatError';
  }
}

/** Parses one CRI or Docker json-file line (the format is told apart by a leading `{`). */
export function parseContainerLogLine(line: string): ContainerLogLine {
  return line.startsWith('{') ? parseDockerJsonLine(line) : parseCriLine(line);
}

export function parseCriLine(line: string): ContainerLogLine {
  const firstSpace = line.indexOf(' ');
  const secondSpace = firstSpace < 0 ? -1 : line.indexOf(' ', firstSpace + 1);
  if (firstSpace < 0 || secondSpace < 0) throw new ContainerLogFormatError(`not a CRI log line (want "<time> <stream> <P|F> <text>"): ${JSON.stringify(line.slice(0, 80))}`);
  const timestampNs = parseRfc3339Ns(line.slice(0, firstSpace));
  if (timestampNs === undefined) throw new ContainerLogFormatError(`bad CRI timestamp ${JSON.stringify(line.slice(0, firstSpace))}`);
  const stream = line.slice(firstSpace + 1, secondSpace);
  if (stream !== 'stdout' && stream !== 'stderr') throw new ContainerLogFormatError(`bad CRI stream ${JSON.stringify(stream)}`);
  // Older CRI writers omit the tag; then the text follows the stream directly.
  const tag = line.slice(secondSpace + 1, secondSpace + 2);
  const hasTag = (tag === 'P' || tag === 'F') && (line.length === secondSpace + 2 || line[secondSpace + 2] === ' ');
  const text = hasTag ? line.slice(secondSpace + 3) : line.slice(secondSpace + 1);
  return { timestampNs, stream, partial: hasTag && tag === 'P', text };
}

export function parseDockerJsonLine(line: string): ContainerLogLine {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (error) {
    throw new ContainerLogFormatError(`bad Docker json-file line: ${(error as Error).message}`);
  }
  const { log, stream, time } = (record ?? {}) as { log?: unknown; stream?: unknown; time?: unknown };
  if (typeof log !== 'string') throw new ContainerLogFormatError('Docker json-file line has no string "log" field');
  const timestampNs = typeof time === 'string' ? parseRfc3339Ns(time) : undefined;
  if (timestampNs === undefined) throw new ContainerLogFormatError(`Docker json-file line has a bad "time" field ${JSON.stringify(time)}`);
  const partial = !log.endsWith('\n');
  return {
    timestampNs,
    stream: stream === 'stderr' ? 'stderr' : 'stdout',
    partial,
    text: partial ? log : log.slice(0, -1),
  };
}

/** Joins runtime-split pieces per stream; a line's timestamp is that of its first piece. */
export class PartialLineAssembler {
  private readonly pendingByStream = new Map<string, { pieces: string[]; timestampNs: bigint; startPosition: number; bytes: number }>();
  private readonly maxLineBytes: number;

  constructor(maxLineBytes: number) {
    this.maxLineBytes = maxLineBytes;
  }

  /** Returns the complete line when `piece` finishes one, else undefined. */
  add(piece: ContainerLogLine, startPosition: number): { text: string; timestampNs: bigint; stream: string; startPosition: number } | undefined {
    const pending = this.pendingByStream.get(piece.stream);
    if (piece.partial) {
      if (pending === undefined) {
        this.pendingByStream.set(piece.stream, { pieces: [piece.text], timestampNs: piece.timestampNs, startPosition, bytes: piece.text.length });
        return undefined;
      }
      pending.pieces.push(piece.text);
      pending.bytes += piece.text.length;
      // A runaway line without an F is cut rather than held forever in memory.
      if (pending.bytes < this.maxLineBytes) return undefined;
      this.pendingByStream.delete(piece.stream);
      return { text: pending.pieces.join(''), timestampNs: pending.timestampNs, stream: piece.stream, startPosition: pending.startPosition };
    }
    if (pending === undefined) return { text: piece.text, timestampNs: piece.timestampNs, stream: piece.stream, startPosition };
    this.pendingByStream.delete(piece.stream);
    pending.pieces.push(piece.text);
    return { text: pending.pieces.join(''), timestampNs: pending.timestampNs, stream: piece.stream, startPosition: pending.startPosition };
  }

  pendingStartPosition(): number | undefined {
    let lowest: number | undefined;
    for (const pending of this.pendingByStream.values()) {
      if (lowest === undefined || pending.startPosition < lowest) lowest = pending.startPosition;
    }
    return lowest;
  }
}
