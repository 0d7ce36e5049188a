// `rankscope agent`: tails files and Kubernetes pod logs, processes lines into entries and ships them
// through the disk queue. One poll loop drives everything: rescan globs (new files, rotation), read
// new bytes, close timed-out multiline entries, cut batches by age. Polling rather than fs.watch
// because watch events are unreliable for rotation across filesystems and on network mounts, and a
// 250 ms poll of a few dozen files costs little.

import { glob } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { Labels } from '../push/types.ts';
import { clientAuthOf, clientTlsOf, type AgentConfig, type SourceConfig } from './config.ts';
import { tlsConnectOptions } from './client-credentials.ts';
import { compileRegex } from '../regex/index.ts';
import { FileTail } from './file-tail.ts';
import { LineProcessor } from './line-processor.ts';
import { AgentMetrics, serveMetrics } from './metrics.ts';
import { parseContainerLogLine, PartialLineAssembler, podLabelsFromPath, podUidFromPath } from './pod-log.ts';
import { PodMetadata } from './pod-metadata.ts';
import { PositionsFile, type FilePosition } from './positions.ts';
import { Shipper } from './shipper.ts';
import { startAgentHostMetrics } from './host-metrics/agent-host-metrics.ts';
import type { HostMetricsHandle } from './host-metrics/host-metrics.ts';

// A file renamed away (rotation) is read for this long after it last grew, to catch lines the writer
// still wrote before reopening, then closed.
const ROTATED_FILE_GRACE_MS = 5000;
// The same bound as the CRI runtime's own 16 KiB pieces times a generous factor.
const MAX_ASSEMBLED_LINE_BYTES = 1024 * 1024;
// Globs are re-expanded at most this often (new files, rotation); known files are read every poll.
// Expanding globs and stat-ing every match 4× a second was a visible share of the agent's CPU.
const MIN_SCAN_INTERVAL_MS = 1000;

interface TrackedFile {
  tail: FileTail;
  source: SourceConfig;
  processor: LineProcessor;
  assembler: PartialLineAssembler | undefined;
  /** Whether the path still matches the source's globs (false once rotated away). */
  matched: boolean;
  lastGrowthAtMs: number;
}

export interface AgentHandle {
  metricsUrl: string | undefined;
  metrics: AgentMetrics;
  /** GPU and node collection, when `metrics.enabled`. */
  hostMetrics: HostMetricsHandle | undefined;
  /** Runs one poll now, including a glob scan (tests use it to avoid waiting for the timer). */
  pollNow(): Promise<void>;
  /** Flushes, saves positions, tries to deliver for up to `drainTimeoutMs`, and stops. */
  stop(drainTimeoutMs?: number): Promise<void>;
}

export interface AgentOptions {
  log?: (message: string) => void;
}

export async function startAgent(config: AgentConfig, options: AgentOptions = {}): Promise<AgentHandle> {
  const log = options.log ?? ((message: string) => console.error(`rankscope agent: ${message}`));
  const metrics = new AgentMetrics();
  const positions = new PositionsFile(config.positions.file);
  // Bound first: a taken port then fails the start before anything else is running.
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | undefined;
  if (config.metrics.listen !== undefined) {
    try {
      metricsServer = await serveMetrics(metrics, config.metrics.listen);
    } catch (error) {
      throw new Error(`cannot serve metrics on ${config.metrics.listen}: ${(error as Error).message}`);
    }
  }
  if (config.server.tls_config.insecure_skip_verify && config.server.url.startsWith('https:')) {
    log(`server.tls_config.insecure_skip_verify is set: the certificate of ${config.server.url} is not checked`);
  }
  let shipper: Shipper;
  try {
    shipper = new Shipper(
      {
        serverUrl: config.server.url,
        ...(config.server.tenant !== undefined ? { tenant: config.server.tenant } : {}),
        headers: config.server.headers,
        auth: clientAuthOf(config.server),
        ...(config.server.url.startsWith('https:') ? { tls: tlsConnectOptions(clientTlsOf(config.server)) } : {}),
        timeoutMs: config.server.timeout_ms,
        batchMaxBytes: config.batch.max_bytes,
        batchMaxWaitMs: config.batch.max_wait_ms,
        minBackoffMs: config.retry.min_backoff_ms,
        maxBackoffMs: config.retry.max_backoff_ms,
        queueDir: config.queue.dir,
        queueMaxBytes: config.queue.max_bytes,
        log,
      },
      metrics,
    );
  } catch (error) {
    await metricsServer?.close();
    throw error;
  }
  const hostMetrics = config.metrics.enabled ? startAgentHostMetrics(config, metrics, log) : undefined;
  const tracked = new Map<string, TrackedFile>();
  const countLines = metrics.counter('rankscope_agent_read_lines_total', 'Physical lines read from files.');
  const countParseErrors = metrics.counter('rankscope_agent_parse_errors_total', 'Container log lines in neither CRI nor Docker format (shipped as they are).');
  metrics.gauge('rankscope_agent_file_lag_bytes', 'Bytes written to a file but not read yet.', () =>
    [...tracked.values()].map((file) => ({ labels: { path: file.tail.path }, value: file.tail.lagBytes })),
  );
  metrics.gauge('rankscope_agent_files_tailed', 'Files being tailed.', () => [{ labels: {}, value: tracked.size }]);

  const savePositions = (): void => {
    const files: FilePosition[] = [];
    for (const file of tracked.values()) {
      let offset = file.tail.offsetBytes;
      const pending = [file.processor.pendingStartPosition(), file.assembler?.pendingStartPosition()];
      for (const start of pending) if (start !== undefined && start < offset) offset = start;
      files.push({ path: file.tail.path, identity: file.tail.identity, offsetBytes: offset });
    }
    positions.save(files);
  };
  shipper.onBatchWritten(savePositions);

  const sink = (streamKey: string, labels: Labels, timestampNs: bigint, line: string): void => shipper.add(streamKey, labels, timestampNs, line);

  // Pod sources that read pod labels and environment from the API; their files wait for the first list.
  const podMetadata = new Map<SourceConfig, PodMetadata>();
  for (const source of config.sources) {
    if (source.type !== 'kubernetes_pods' || !source.kubernetes_api.enabled) continue;
    const metadata = new PodMetadata({ apiServer: source.kubernetes_api.api_server, nodeName: source.kubernetes_api.node_name }, log);
    metadata.start();
    podMetadata.set(source, metadata);
  }
  const firstSeenAtMs = new Map<string, number>();

  /** A file's labels; undefined skips it, 'wait' leaves it for a later scan (its pod is not known yet). */
  function labelsFor(source: SourceConfig, path: string, nowMs: number): Labels | undefined | 'wait' {
    const labels: Labels = { ...config.labels, ...source.labels };
    if (source.type === 'file') labels.filename = path;
    else {
      const pod = podLabelsFromPath(path, { workerRankOffset: source.worker_rank_offset });
      if (pod === undefined) return undefined;
      if (source.namespaces.length > 0 && !source.namespaces.includes(pod.namespace)) return undefined;
      Object.assign(labels, pod);
      const metadata = podMetadata.get(source);
      if (metadata !== undefined) {
        const fromApi = metadata.ready() ? metadata.labelsFor(podUidFromPath(path) ?? '', pod.container) : undefined;
        if (fromApi === undefined) {
          const since = firstSeenAtMs.get(path) ?? nowMs;
          firstSeenAtMs.set(path, since);
          if (nowMs - since < source.kubernetes_api.wait_for_pod_ms) return 'wait';
          log(`${path}: pod not found in the Kubernetes API after ${source.kubernetes_api.wait_for_pod_ms} ms; reading it with the labels of its path only`);
        } else Object.assign(labels, fromApi);
        firstSeenAtMs.delete(path);
      }
    }
    if (source.path_labels !== undefined) {
      const groups = compileRegex(source.path_labels).regexp.exec(path)?.groups;
      for (const [name, value] of Object.entries(groups ?? {})) if (value !== undefined) labels[name] = value;
    }
    return labels;
  }

  async function scan(source: SourceConfig, nowMs: number, seen: Set<string>): Promise<void> {
    const patterns = source.type === 'file' ? source.paths : [join(source.root, '*', '*', '*.log')];
    const exclude = source.type === 'file' ? source.exclude : [];
    for (const pattern of patterns) {
      for await (const path of glob(pattern, { exclude })) {
        let identity: string;
        let sizeBytes: number;
        try {
          const stat = statSync(path, { bigint: true });
          if (!stat.isFile()) continue;
          identity = `${stat.dev}:${stat.ino}`;
          sizeBytes = Number(stat.size);
        } catch {
          continue; // vanished between glob and stat
        }
        seen.add(identity);
        const existing = tracked.get(identity);
        if (existing !== undefined) {
          existing.tail.path = path;
          existing.matched = true;
          continue;
        }
        const labels = labelsFor(source, path, nowMs);
        if (labels === undefined || labels === 'wait') continue;
        const saved = positions.get(identity);
        // An inode reused by a new, smaller file must not resume at the old offset.
        const offset = saved !== undefined && saved.offsetBytes <= sizeBytes ? saved.offsetBytes : 0;
        let tail: FileTail;
        try {
          tail = new FileTail(path, identity, offset);
        } catch (error) {
          log(`cannot open ${path}: ${(error as Error).message}`);
          continue;
        }
        tracked.set(identity, {
          tail,
          source,
          processor: new LineProcessor(source.processing, labels, sink),
          assembler: source.type === 'kubernetes_pods' ? new PartialLineAssembler(MAX_ASSEMBLED_LINE_BYTES) : undefined,
          matched: true,
          lastGrowthAtMs: nowMs,
        });
      }
    }
  }

  function readFile(file: TrackedFile, nowMs: number): void {
    const { processor, assembler } = file;
    const lines = file.tail.readLines(
      ({ text, startOffsetBytes }) => {
        if (assembler === undefined) {
          processor.push(text, {}, nowMs, startOffsetBytes);
          return;
        }
        let piece;
        try {
          piece = parseContainerLogLine(text);
        } catch {
          countParseErrors(1);
          processor.push(text, {}, nowMs, startOffsetBytes);
          return;
        }
        const whole = assembler.add(piece, startOffsetBytes);
        if (whole !== undefined) processor.push(whole.text, { stream: whole.stream, timestampNs: whole.timestampNs }, nowMs, whole.startPosition);
      },
      () => {
        log(`${file.tail.path} was truncated (copytruncate rotation); reading it again from the start`);
        processor.flushAll();
      },
    );
    if (lines > 0) {
      countLines(lines);
      file.lastGrowthAtMs = nowMs;
    }
  }

  let polling: Promise<void> | undefined;
  let stopped = false;
  let forceScan = false;

  let lastScanAtMs = 0;

  async function pollOnce(): Promise<void> {
    const nowMs = Date.now();
    let seen: Set<string> | undefined;
    if (nowMs - lastScanAtMs >= Math.max(MIN_SCAN_INTERVAL_MS, config.poll_interval_ms) || forceScan) {
      forceScan = false;
      lastScanAtMs = nowMs;
      seen = new Set<string>();
      for (const source of config.sources) await scan(source, nowMs, seen);
    }
    for (const [identity, file] of tracked) {
      if (seen !== undefined && !seen.has(identity)) file.matched = false;
      try {
        readFile(file, nowMs);
      } catch (error) {
        log(`reading ${file.tail.path} failed: ${(error as Error).message}`);
      }
      file.processor.tick(nowMs);
      if (!file.matched && nowMs - file.lastGrowthAtMs >= ROTATED_FILE_GRACE_MS) {
        file.processor.flushAll();
        file.tail.close();
        tracked.delete(identity);
      }
    }
    shipper.tick(nowMs);
  }

  function poll(): Promise<void> {
    // Polls never overlap: a slow scan delays the next one instead of racing it.
    polling ??= pollOnce()
      .catch((error: unknown) => log(`poll failed: ${(error as Error).message}`))
      .finally(() => {
        polling = undefined;
      });
    return polling;
  }

  const timer = setInterval(() => {
    if (!stopped) void poll();
  }, config.poll_interval_ms);
  await poll();

  return {
    metricsUrl: metricsServer?.url,
    metrics,
    hostMetrics,
    async pollNow(): Promise<void> {
      await polling;
      forceScan = true;
      await poll();
    },
    async stop(drainTimeoutMs = 5000): Promise<void> {
      stopped = true;
      clearInterval(timer);
      await polling;
      // Pending multiline entries stay pending: positions point before them, so the next start
      // re-reads and completes them instead of shipping half a traceback.
      shipper.flush();
      await Promise.all([shipper.close(drainTimeoutMs), hostMetrics?.stop(drainTimeoutMs), ...[...podMetadata.values()].map((metadata) => metadata.stop())]);
      for (const file of tracked.values()) file.tail.close();
      await metricsServer?.close();
    },
  };
}
