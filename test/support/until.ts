// Waits for a condition rather than for time: polls `probe` until it returns a value (not
// undefined) and returns that value, or fails naming what it waited for (and, when given,
// `context()`: e.g. the tail of a peer's log).

export async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000, intervalMs = 50, context?: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}${context ? `\n${context()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
