// Delivering one notification over HTTP with bounded retries: exponential backoff with jitter between
// attempts, a timeout per attempt, and counters per receiver that the ruler reports in /metrics.

export interface RetryPolicy {
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  timeoutMs: number;
}

export interface DeliveryCounters {
  receiver: string;
  kind: 'alertmanager' | 'webhook' | 'slack';
  /** Notifications delivered (one request that got a 2xx). */
  sent: number;
  /** Attempts that failed (each retry counts). */
  failedAttempts: number;
  /** Notifications given up on after the last attempt. */
  dropped: number;
  lastError: string;
}

export class DeliveryError extends Error {
  /** 4xx other than 429 means the receiver rejected the payload: retrying cannot help. */
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean) {
    super(message);
    this.name = 'DeliveryError';
    this.retryable = retryable;
  }
}

/** POSTs JSON; throws DeliveryError unless the answer is 2xx. */
export async function postJson(url: string, body: unknown, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const combined = signal === undefined ? timeout : AbortSignal.any([timeout, signal]);
  // fetch refuses URLs with credentials; `http://user:pass@am:9093` becomes a Basic auth header.
  const target = new URL(url);
  const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'rankscope-ruler' };
  if (target.username !== '' || target.password !== '') {
    const credentials = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
    headers.authorization = `Basic ${Buffer.from(credentials).toString('base64')}`;
    target.username = '';
    target.password = '';
  }
  let response: Response;
  try {
    response = await fetch(target, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      signal: combined,
    });
  } catch (error) {
    const reason = timeout.aborted ? `timed out after ${timeoutMs}ms` : ((error as Error).cause as Error | undefined)?.message ?? (error as Error).message;
    throw new DeliveryError(`POST ${redactUrl(url)}: ${reason}`, true);
  }
  if (response.status >= 200 && response.status < 300) {
    await response.arrayBuffer();
    return;
  }
  const text = (await response.text()).slice(0, 300).trim();
  throw new DeliveryError(
    `POST ${redactUrl(url)}: HTTP ${response.status}${text === '' ? '' : `: ${text}`}`,
    response.status >= 500 || response.status === 429,
  );
}

/** Webhook URLs (Slack's especially) carry secrets in the path: logs show only scheme and host. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const segments = parsed.pathname.split('/').filter((segment) => segment !== '');
    const path = segments.length === 0 ? '' : segments.length === 1 ? `/${segments[0]}` : `/${segments[0]}/…`;
    return `${parsed.protocol}//${parsed.host}${path}`;
  } catch {
    return '<invalid url>';
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Runs `attempt` until it succeeds, fails for good, runs out of attempts, or `signal` aborts. */
export async function deliverWithRetry(
  attempt: (signal: AbortSignal) => Promise<void>,
  policy: RetryPolicy,
  counters: DeliveryCounters,
  signal: AbortSignal,
): Promise<boolean> {
  let backoffMs = policy.initialBackoffMs;
  for (let attemptNumber = 1; attemptNumber <= policy.maxAttempts && !signal.aborted; attemptNumber++) {
    try {
      await attempt(signal);
      counters.sent++;
      return true;
    } catch (error) {
      counters.failedAttempts++;
      counters.lastError = (error as Error).message;
      if (error instanceof DeliveryError && !error.retryable) break;
      if (attemptNumber === policy.maxAttempts) break;
      // Full jitter keeps many groups that failed together from retrying in lockstep.
      await sleep(backoffMs / 2 + Math.random() * (backoffMs / 2), signal);
      backoffMs = Math.min(backoffMs * 2, policy.maxBackoffMs);
    }
  }
  counters.dropped++;
  return false;
}
