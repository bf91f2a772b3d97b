/** Polls `check` every `everyMs` until it returns something other than undefined, or fails at the deadline. */
export async function eventually<T>(check: () => Promise<T | undefined>, { withinMs = 5000, everyMs = 200, what = 'the condition' } = {}): Promise<T> {
  const deadline = performance.now() + withinMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`${what} did not hold within ${withinMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
