/**
 * Calls `attempt` until it resolves, at most `tries` times, waiting `initialMs` doubling in
 * between; rejects with the last error. For a write that a moment later will likely succeed
 * (a database connection lost in a failover), where giving up costs more than waiting.
 */
export async function retryWithBackoff<T>(attempt: () => Promise<T>, { tries, initialMs }: { tries: number; initialMs: number }): Promise<T> {
  let waitMs = initialMs;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (err) {
      if (n >= tries) throw err;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      waitMs *= 2;
    }
  }
}
