/**
 * Side-by-side measurement. The bench machine is shared and noisy, so a single
 * absolute number means little: every benchmark runs its variants interleaved
 * (A, B, A, B, …) so that drift in machine load hits both alike, and reports
 * the ratio of the medians.
 */

export interface Trial {
  readonly ms: number;
  /** Highest resident set size sampled while the trial ran, in bytes. */
  readonly peakRss: number;
  /** CPU time of the measured process, when it reports one. */
  readonly cpuMs?: number;
}

export interface VariantResult {
  readonly name: string;
  readonly trials: readonly Trial[];
  readonly medianMs: number;
  readonly peakRss: number;
}

export interface Variant<T> {
  readonly name: string;
  /** Unmeasured per-trial setup, e.g. resetting the emulator. */
  readonly prepare?: () => Promise<T>;
  /**
   * The measured part. It may return its own measurement when only part of
   * the work counts or the work runs in a child process: a duration, or a
   * duration and that process's peak RSS.
   */
  readonly run: (prepared: T) => Promise<number | Trial | void>;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Samples this process's RSS every 50 ms, so that short allocation peaks are still seen. */
export function sampleRss(intervalMs = 50): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, process.memoryUsage().rss);
    },
  };
}

/**
 * Runs `rounds` rounds of every variant in turn, A, B, A, B, …; the first
 * variant is the baseline of the ratio. With `warmup`, one extra first round
 * is thrown away: it pays for lazy transpiling, first Packer start-up and
 * connection set-up, which would otherwise land on whichever variant ran first.
 */
export async function interleave<T>(variants: readonly Variant<T>[], rounds: number, options: { warmup?: boolean } = {}): Promise<VariantResult[]> {
  const trials = variants.map(() => [] as Trial[]);
  if (options.warmup) for (const variant of variants) await variant.run((await variant.prepare?.()) as T);
  for (let round = 0; round < rounds; round++) {
    for (const [index, variant] of variants.entries()) {
      const prepared = (await variant.prepare?.()) as T;
      const sampler = sampleRss();
      const started = performance.now();
      let reported: number | Trial | void = undefined;
      try {
        reported = await variant.run(prepared);
      } finally {
        const elapsed = performance.now() - started;
        const peakRss = sampler.stop();
        if (typeof reported === 'object') trials[index]!.push(reported);
        else trials[index]!.push({ ms: typeof reported === 'number' ? reported : elapsed, peakRss });
      }
    }
  }
  return variants.map((variant, index) => ({
    name: variant.name,
    trials: trials[index]!,
    medianMs: median(trials[index]!.map((trial) => trial.ms)),
    peakRss: Math.max(...trials[index]!.map((trial) => trial.peakRss)),
  }));
}
