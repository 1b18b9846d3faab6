/** Small helpers shared by the benchmarks: medians of several rounds, run side by side. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/**
 * Times `candidate` and `baseline` in alternating rounds (so machine noise hits both alike)
 * and returns the per-round times in milliseconds.
 */
export function sideBySide(rounds: number, candidate: () => void, baseline: () => void): { candidate: number[]; baseline: number[] } {
  const times = { candidate: [] as number[], baseline: [] as number[] };
  for (let i = 0; i < rounds; i++) {
    const order: ['candidate' | 'baseline', () => void][] = i % 2 ? [['baseline', baseline], ['candidate', candidate]] : [['candidate', candidate], ['baseline', baseline]];
    for (const [name, fn] of order) {
      const start = process.hrtime.bigint();
      fn();
      times[name].push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  }
  return times;
}
