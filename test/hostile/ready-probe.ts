// Probes /ready every 100 ms while a hostile request runs, so a test sees whether the server kept
// answering health checks (within `budgetMs` each) or froze. The default budget is generous (2 s):
// these tests share two cores with other suites, and what they guard against are the 10–14 s stalls
// and crashes hostile bodies once caused; bench/query-isolation-bench.ts measures latency properly.

export interface ReadinessReport {
  probes: number;
  /** Probes that failed, answered non-200, or took longer than the budget. */
  failures: number;
  slowestMs: number;
}

export function watchReady(url: string, budgetMs = 2000, intervalMs = 100): { stop(): Promise<ReadinessReport> } {
  const report: ReadinessReport = { probes: 0, failures: 0, slowestMs: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      const startedMs = performance.now();
      try {
        const response = await fetch(`${url}/ready`, { signal: AbortSignal.timeout(budgetMs * 5) });
        await response.arrayBuffer();
        const elapsedMs = performance.now() - startedMs;
        report.slowestMs = Math.max(report.slowestMs, elapsedMs);
        if (response.status !== 200 || elapsedMs > budgetMs) report.failures++;
      } catch {
        report.failures++;
      }
      report.probes++;
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return report;
    },
  };
}
