// Nearest-rank percentiles and the number formats the benchmark prints.

export interface Quantiles {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

export function quantiles(xs: readonly number[]): Quantiles {
  const s = [...xs].sort((a, b) => a - b);
  if (!s.length) return { n: 0, p50: NaN, p99: NaN, max: NaN, mean: NaN };
  const rank = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return { n: s.length, p50: rank(0.5), p99: rank(0.99), max: s[s.length - 1]!, mean: s.reduce((a, b) => a + b, 0) / s.length };
}

export function num(x: number, digits = 1): string {
  if (!Number.isFinite(x)) return "n/a";
  return x >= 100 ? x.toFixed(0) : x.toFixed(digits);
}

/** "p50 12.3 / p99 45.6 / max 78.9 ms" */
export function triple(q: Quantiles, unit = "ms"): string {
  return `p50 ${num(q.p50)} / p99 ${num(q.p99)} / max ${num(q.max)} ${unit}`;
}

export function ratio(a: number, b: number): string {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(a / b >= 10 ? 0 : 2)}×` : "n/a";
}

export const KiB = 1024;
export const MiB = 1024 * 1024;
