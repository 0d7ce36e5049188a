// Per-tenant ingestion rate limit: a token bucket refilled at `ratePerSecondBytes` holding at most
// `burstBytes`, like Loki's local rate limit strategy (`ingestion_rate_mb`, `ingestion_burst_size_mb`).

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class TenantRateLimiter {
  readonly ratePerSecondBytes: number;
  readonly burstBytes: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(ratePerSecondBytes: number, burstBytes: number) {
    this.ratePerSecondBytes = ratePerSecondBytes;
    this.burstBytes = burstBytes;
  }

  /** Takes `bytes` from the tenant's bucket if they are all there; otherwise takes nothing. */
  allow(tenant: string, bytes: number, nowMs: number): boolean {
    if (this.ratePerSecondBytes <= 0) return true;
    let bucket = this.buckets.get(tenant);
    if (bucket === undefined) {
      bucket = { tokens: this.burstBytes, updatedMs: nowMs };
      this.buckets.set(tenant, bucket);
    }
    const elapsedMs = Math.max(0, nowMs - bucket.updatedMs);
    bucket.tokens = Math.min(this.burstBytes, bucket.tokens + (elapsedMs / 1000) * this.ratePerSecondBytes);
    bucket.updatedMs = nowMs;
    if (bytes > bucket.tokens) return false;
    bucket.tokens -= bytes;
    return true;
  }
}
